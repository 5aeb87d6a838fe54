"""Reads a landscape file (TOML) from a path or text and reports every problem in it at once.

Each problem names the file, the path inside it (`mappings.tax_codes[3].target`) and what is
expected, so that whoever edits the file can fix all of it in one go rather than one error per run.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from shared.domain.errors import ConfigurationError
from shared.governance.landscape import Landscape


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a landscape file: where it is and what is expected instead."""

    file: str
    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f": line {self.line}" + (f", column {self.column}" if self.column is not None else "")
        if self.path:
            where += f": {self.path}"
        return f"{where}: {self.message}"


class LandscapeInvalid(ConfigurationError):
    """A landscape file that cannot be used; `problems` lists everything wrong with it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the landscape file:\n{lines}")


def load_landscape(path: str | os.PathLike[str]) -> Landscape:
    """The landscape in the TOML file at `path`; LandscapeInvalid lists every problem in it."""
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problem = Problem(file, "", f"cannot be read ({error}); expected a UTF-8 TOML file")
        raise LandscapeInvalid([problem]) from None
    return parse_landscape(text, file=file)


def parse_landscape(text: str, *, file: str = "<landscape>") -> Landscape:
    """The landscape in `text` (TOML); `file` is the name problems are reported against."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LandscapeInvalid([_syntax_problem(file, error)]) from None
    try:
        return Landscape.model_validate(raw)
    except ValidationError as error:
        raise LandscapeInvalid([_problem(file, detail) for detail in error.errors()]) from None


# tomllib puts the position at the end of its message until Python 3.14 adds attributes for it.
_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _syntax_problem(file: str, error: tomllib.TOMLDecodeError) -> Problem:
    message = str(error)
    line: int | None = getattr(error, "lineno", None)
    column: int | None = getattr(error, "colno", None)
    found = _POSITION.search(message)
    if found:
        line, column = int(found[1]), int(found[2])
        message = message[: found.start()]
    elif message.endswith("(at end of document)"):
        message = message.removesuffix("(at end of document)").rstrip() + " at the end of the file"
    first_line = message.splitlines()[0] if message else "invalid TOML"
    return Problem(file, "", f"not valid TOML: {first_line}", line=line, column=column)


def dotted(loc: tuple[int | str, ...]) -> str:
    """An error location as a path in the file: ('mappings', 'tax_codes', 3) -> mappings.tax_codes[3]."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]":
            path += f".{part}" if path else part
    return path


def _problem(file: str, detail: ErrorDetails) -> Problem:
    loc = tuple(detail["loc"])
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    given = detail.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _keys_at(loc[:-1])
        message = f"unknown key {key!r}"
        if allowed:
            message += f"; expected one of: {', '.join(allowed)}" + _did_you_mean(key, allowed)
        return Problem(file, dotted(loc), message)
    if kind == "missing":
        return Problem(file, dotted(loc), "is missing; expected a value here")
    if kind == "value_error":
        return Problem(file, dotted(loc), str(ctx.get("error", detail["msg"])))
    if kind == "enum":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        what = "key" if loc and loc[-1] == "[key]" else "value"
        message = f"{what} {given!r} is not allowed; expected {ctx.get('expected')}"
        return Problem(file, dotted(loc), message + _did_you_mean(str(given), options))
    message = detail["msg"]
    if message.startswith("Input should be "):
        message = "expected " + message.removeprefix("Input should be ")
    return Problem(file, dotted(loc), f"{message}; got {given!r}")


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _keys_at(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model at `loc` accepts: what an unknown key there should have been."""
    kind: Any = Landscape
    for part in loc:
        kind = _unwrap(kind)
        origin = get_origin(kind)
        if isinstance(part, int) and origin is list:
            kind = get_args(kind)[0]
        elif isinstance(part, str) and origin is dict:
            kind = get_args(kind)[1]
        elif isinstance(part, str) and isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(part)
            if field is None:
                return []
            kind = field.annotation
        else:
            return []
    kind = _unwrap(kind)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return list(kind.model_fields)
    return []


def _unwrap(kind: Any) -> Any:
    """The type under Annotated[...] and Optional[...]."""
    while True:
        origin = get_origin(kind)
        if origin is Annotated:
            kind = get_args(kind)[0]
        elif origin in (Union, types.UnionType):
            others = [arg for arg in get_args(kind) if arg is not type(None)]
            if len(others) != 1:
                return kind
            kind = others[0]
        else:
            return kind
