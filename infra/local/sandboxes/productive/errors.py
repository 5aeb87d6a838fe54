"""Productive's JSON:API error answers: `{"errors": [{"status", "title", "detail", "source"}]}`."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

JSON_API = "application/vnd.api+json"


class ApiError(Exception):
    """An error answer raised inside request handling."""

    def __init__(self, status: int, title: str, detail: str, pointer: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.pointer = status, title, detail, pointer

    def response(self) -> Response:
        """The answer, in the error shape shown at https://developer.productive.io/ "Filtering"."""
        error: dict[str, Any] = {"status": self.status, "title": self.title, "detail": self.detail}
        if self.pointer:
            error["source"] = {"pointer": self.pointer}
        return json_response({"errors": [error]}, self.status)


def json_response(document: Any, status: int = 200) -> Response:
    """A JSON:API document answer."""
    return Response(json.dumps(document), status=status, content_type=JSON_API)
