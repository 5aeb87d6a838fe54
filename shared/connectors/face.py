"""A connector package's face (`build`, `receiver`, its connector class) imported on first use.

PEP 562: the package's `__getattr__` imports a name from the module that defines it when the name is
first read, so a webhook's `receiver` loads the verification module alone and not the API client.
https://peps.python.org/pep-0562/
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_face(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """The `__getattr__` of `package`: each name in `homes` is read from `package.<its module>`."""

    def __getattr__(name: str) -> Any:
        if name in homes:
            return getattr(importlib.import_module(f"{package}.{homes[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
