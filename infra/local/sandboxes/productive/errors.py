"""Productive's JSON:API error answers: `{"errors": [{"status", "title", "detail", "source"}]}`."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from infra.local.sandboxes.kit.answers import VendorError, json_answer

JSON_API = "application/vnd.api+json"


class ApiError(VendorError):
    """An error answer raised inside request handling."""

    def __init__(self, status: int, title: str, detail: str, pointer: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.pointer = status, title, detail, pointer

    content_type = JSON_API

    def body(self) -> dict[str, Any]:
        """The error shape shown at https://developer.productive.io/ "Filtering"."""
        error: dict[str, Any] = {"status": self.status, "title": self.title, "detail": self.detail}
        if self.pointer:
            error["source"] = {"pointer": self.pointer}
        return {"errors": [error]}


def json_response(document: Any, status: int = 200) -> Response:
    """A JSON:API document answer."""
    return json_answer(document, status=status, content_type=JSON_API)
