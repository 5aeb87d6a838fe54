"""Tokens and a parser's cursor over them: what the sandboxes' query languages (SOQL, SuiteQL, the
QuickBooks query) read alike. Each language keeps its own token pattern, grammar and error wording;
this holds the scanning loop and the moves every recursive-descent parser makes (look ahead, take a
keyword, expect a punctuation mark).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Token:
    """One lexical token: the pattern's group that matched, and its text."""

    kind: str
    text: str


def tokenize(pattern: re.Pattern[str], text: str, refuse: Callable[[int, str], Exception]) -> list[Token]:
    """`text` cut by `pattern` (named groups, leading whitespace allowed); `refuse(position, rest)` is
    raised at the first character no group matches."""
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        found = pattern.match(text, position)
        if found is None or found.end() == position:
            raise refuse(position, text[position:])
        kind = found.lastgroup or ""
        tokens.append(Token(kind, found.group(kind)))
        position = found.end()
    return tokens


class TokenCursor:
    """A parser's place in its tokens. `expected(what, found)` builds the language's error for a
    keyword or mark that is not there (`what`: the keyword, or the mark in quotes); `end` names the
    end of the text in those errors."""

    def __init__(self, tokens: list[Token], *, expected: Callable[[str, str], Exception], end: str) -> None:
        self._tokens = tokens
        self._at = 0
        self._expected = expected
        self._end = end

    def at_end(self) -> bool:
        return self._at >= len(self._tokens)

    def peek(self, ahead: int = 0) -> Token:
        index = self._at + ahead
        return self._tokens[index] if index < len(self._tokens) else Token("end", "")

    def found(self) -> str:
        """The next token's text as an error shows it."""
        return self.peek().text or self._end

    def _is_keyword(self, word: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "name" and token.text.upper() == word

    def _keyword(self, *words: str) -> bool:
        """Take the keywords `words` when they come next."""
        if all(self._is_keyword(word, offset) for offset, word in enumerate(words)):
            self._at += len(words)
            return True
        return False

    def _expect_keyword(self, word: str) -> None:
        if not self._keyword(word):
            raise self._expected(word, self.found())

    def _expect(self, text: str) -> None:
        if self.peek().text != text:
            raise self._expected(f"'{text}'", self.found())
        self._at += 1
