"""Security headers on every response, error pages and crashes included."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.auth import SESSION_KEY

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """Plain ASGI middleware, outermost, so even a 500 from the server error layer carries them.

    The API and pages seen by a signed-in person are never stored by caches (`no-store`), but
    for a public document an anonymous caller asked for and its handler marked `public`.
    """

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if self.https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                cache_control = headers.get("Cache-Control", "")
                shared = cache_control.startswith("public") and _anonymous(scope)
                if _private(scope) and not shared and "no-store" not in cache_control:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _private(scope: Scope) -> bool:
    """Whether the response is for one caller only: the API, or a page for a signed-in person."""
    if scope["path"].startswith("/api/"):
        return True
    # The session middleware puts the decoded session into this same scope as the request runs.
    session = scope.get("session") or {}
    return session.get(SESSION_KEY) is not None


def _anonymous(scope: Scope) -> bool:
    """Whether the caller sent no credentials: no bearer token, no signed-in session."""
    if any(name == b"authorization" for name, _ in scope["headers"]):
        return False
    session = scope.get("session") or {}
    return session.get(SESSION_KEY) is None
