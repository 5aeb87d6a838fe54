"""JSON answers, and the vendor errors that become them.

Every sandbox answers JSON and refuses with its vendor's error body. What differs per vendor is the
body's shape and the media type; the answer itself (encode, status, content type, headers) is the
same, and so is how a refusal raised deep in a handler reaches the client: the handler raises the
vendor's `VendorError`, the app answers `error.response()`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from werkzeug.wrappers import Response


def json_answer(
    body: Any,
    *,
    status: int = 200,
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
    dumps: Callable[[Any], str] = json.dumps,
) -> Response:
    """`body` encoded by `dumps` (a vendor's own encoder keeps its number format) as one answer."""
    return Response(dumps(body), status=status, content_type=content_type, headers=dict(headers or {}))


class VendorError(Exception):
    """A refusal answered as the vendor answers it: `status`, the vendor's `body()`, its media type."""

    content_type: ClassVar[str] = "application/json"
    status: int
    headers: Mapping[str, str] = {}

    def body(self) -> Any:
        """The vendor's error document."""
        raise NotImplementedError

    def response(self) -> Response:
        return json_answer(
            self.body(), status=self.status, content_type=self.content_type, headers=self.headers
        )
