"""Request size limits: bodies are counted as they arrive and refused with 413 past their cap."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.auth import SESSION_KEY
from core.errors import N_, Unauthenticated

EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])

# Endpoints that take files; filled by the @accepts_uploads marker at import time.
_UPLOAD_ENDPOINTS: set[Callable[..., Any]] = set()


def accepts_uploads(endpoint: EndpointT) -> EndpointT:
    """Mark a route that receives files: the upload cap applies, and only to the signed-in."""
    _UPLOAD_ENDPOINTS.add(endpoint)
    return endpoint


class RequestTooLarge(HTTPException):
    """A request body over the cap of its kind (form, JSON or upload)."""

    message: ClassVar[str] = N_(
        "The request is too large: this address accepts at most %(size)s MB. "
        "Send less text or smaller files."
    )

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail="too_large")
        self.limit = limit

    @property
    def size_mb(self) -> str:
        """The cap in megabytes, as people read it."""
        return f"{self.limit / (1024 * 1024):.1f}".removesuffix(".0")


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return str(value.decode("latin-1").split(";", 1)[0].strip().lower())
    return ""


def _has_bearer(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return scheme.lower() == "bearer" and bool(token.strip())
    return False


_JSON_TYPE = re.compile(r"^application/([a-z0-9.+-]+\+)?json$")


class RequestLimits:
    """Plain ASGI middleware capping request bodies per kind of route, before anything reads them.

    The cap is chosen when the body is first asked for: routing has then named the endpoint, and
    no byte has been read. A declared Content-Length over the cap is refused at once; otherwise
    bytes are counted as they arrive. Sits inside the session middleware, so a file upload from
    someone not signed in is refused before its body is read. Refusals are raised as errors, and
    the application's handlers render them (a page in the visitor's language, or JSON).
    """

    def __init__(
        self, app: ASGIApp, *, form_bytes: int, json_bytes: int, upload_bytes: int
    ) -> None:
        self.app = app
        self.form_bytes = form_bytes
        self.json_bytes = json_bytes
        self.upload_bytes = upload_bytes

    def _limit(self, scope: Scope, content_type: str) -> int:
        if content_type == "multipart/form-data" and scope.get("endpoint") in _UPLOAD_ENDPOINTS:
            if not _signed_in(scope):
                # Files are for the signed-in only: refuse before reading a byte of the body.
                raise Unauthenticated()
            return self.upload_bytes
        if _JSON_TYPE.match(content_type):
            return self.json_bytes
        return self.form_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit: int | None = None
        received = 0

        async def counting_receive() -> Message:
            nonlocal limit, received
            if limit is None:
                limit = self._limit(scope, _content_type(scope))
                declared = _declared_length(scope)
                if declared is not None and declared > limit:
                    raise RequestTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)


def _signed_in(scope: Scope) -> bool:
    """Whether the request carries a signed-in session (pages) or a bearer token (the API)."""
    if scope["path"].startswith("/api/"):
        return _has_bearer(scope)
    session = scope.get("session") or {}
    return session.get(SESSION_KEY) is not None
