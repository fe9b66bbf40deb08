"""The fast path: anonymous reads of public documents answered from this process's memory.

A stored document (an adopted version's page, JSON and PDF, a resolution, a settled report) is
the same for every anonymous reader in one language, so the first normal answer is kept whole,
as sent (security headers included), and later anonymous GET requests for the same address
and language get it back before routing, with 304 for a reader who has it (HEAD goes to the
routes, which answer it as they always have). The copies
go when the generation of public documents moves (core.documents.republish_documents: at once
in the process that committed it, within a second in the others) or the day changes (standings
depend on it). Nobody who sends a session cookie or credentials takes this path, and only
answers the service itself marked for shared caches (`Cache-Control: public`) are kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import documents
from core.downloads import etag_matches
from core.i18n import LOCALE_COOKIE, local_date, negotiate_locale

# Seconds between two reads of the shared generation: how late another worker's change is seen.
GENERATION_READ_SECONDS = 1.0
# Bytes of answers kept per process (the oldest go first).
MEMORY_BYTES = 64 * 1024 * 1024
# The headers the language of a page is negotiated from.
_LANGUAGE_HEADERS = frozenset({b"cookie", b"accept-language"})
# Headers a 304 leaves out: they describe a body it does not carry.
_BODY_HEADERS = frozenset({b"content-length", b"content-type"})

# (path, query string, language)
Key = tuple[str, bytes, str]
# (shared generation, generations committed here, the day on the Mexico City calendar,
# the revision of the templates)
Stamp = tuple[int, int, dt.date, str]


@dataclass(frozen=True)
class KeptAnswer:
    """A public document's whole answer as first sent, and its 304 form."""

    headers: list[tuple[bytes, bytes]]
    not_modified_headers: list[tuple[bytes, bytes]]
    etag: str
    body: bytes


def _kept_answer(start: Message, body: bytes) -> KeptAnswer | None:
    """The answer to keep, if it is a whole public document for any anonymous reader."""
    if start["status"] != 200:
        return None
    headers: list[tuple[bytes, bytes]] = list(start.get("headers", []))
    names = {name.lower(): value for name, value in headers}
    public = names.get(b"cache-control", b"").startswith(b"public")
    etag = names.get(b"etag")
    if not public or etag is None or b"set-cookie" in names:
        return None
    return KeptAnswer(
        headers=headers,
        not_modified_headers=[(n, v) for n, v in headers if n.lower() not in _BODY_HEADERS],
        etag=etag.decode("latin-1"),
        body=body,
    )


class PublicDocuments:
    """Plain ASGI middleware, outermost: kept public documents for anonymous GET requests."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        engine: Engine,
        session_cookie: str,
        default_locale: str,
        clock: Callable[[], dt.datetime],
        memory_bytes: int = MEMORY_BYTES,
    ) -> None:
        self.app = app
        self.engine = engine
        self.session_cookie = session_cookie
        self.default_locale = default_locale
        self.clock = clock
        self.memory_bytes = memory_bytes
        self._kept: OrderedDict[Key, KeptAnswer] = OrderedDict()
        self._kept_bytes = 0
        self._generation = 0
        self._read_at = -GENERATION_READ_SECONDS
        self._committed_seen = -1
        self._stamp: Stamp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        cookies: dict[str, str] = {}
        accept_language = if_none_match = None
        seen: set[bytes] = set()
        for name, value in scope["headers"]:
            # Sent twice, a header might be read otherwise by the page than here (Starlette
            # reads the first): such a request takes the application's path, and nothing kept.
            if name == b"authorization" or (name in _LANGUAGE_HEADERS and name in seen):
                await self.app(scope, receive, send)
                return
            seen.add(name)
            if name == b"cookie":
                cookies.update(cookie_parser(value.decode("latin-1")))
            elif name == b"accept-language":
                accept_language = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        if self.session_cookie in cookies:  # possibly signed in: their own variant, always
            await self.app(scope, receive, send)
            return
        language = negotiate_locale(
            cookies.get(LOCALE_COOKIE), accept_language, self.default_locale
        )
        key: Key = (scope["path"], scope["query_string"], language)
        kept = self._kept.get(key)
        # Checked only when something kept could be served: other requests take no connection.
        if kept is not None and await self._still_current():
            await self._answer(kept, if_none_match, send)
            return
        await self.app(scope, receive, self._keeping(key, self._stamp, send))

    async def _answer(self, kept: KeptAnswer, if_none_match: str | None, send: Send) -> None:
        if etag_matches(if_none_match, kept.etag):
            await send(
                {"type": "http.response.start", "status": 304, "headers": kept.not_modified_headers}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": kept.headers})
        await send({"type": "http.response.body", "body": kept.body})

    def _keeping(self, key: Key, stamp: Stamp | None, send: Send) -> Send:
        """`send`, keeping the answer if it is a public document."""
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0

        async def send_and_keep(message: Message) -> None:
            nonlocal start, size
            if message["type"] == "http.response.start":
                # Only a public document can be kept: other answers (a streamed download of
                # the whole registry, say) pass through without their body being held.
                start = message if _kept_answer(message, b"") is not None else None
            elif message["type"] == "http.response.body" and start is not None:
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.memory_bytes // 4:
                    start, chunks[:] = None, []  # too large to keep: stop holding it
                else:
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        self._keep(key, stamp, start, b"".join(chunks))
            await send(message)

        return send_and_keep

    def _keep(self, key: Key, stamp: Stamp | None, start: Message, body: bytes) -> None:
        kept = _kept_answer(start, body)
        # An answer drawn while the stamp moved may say something old. One kept under an older
        # stamp than the database's goes at the next check, before it is ever served.
        if kept is None or stamp != self._stamp or len(body) > self.memory_bytes // 4:
            return
        previous = self._kept.pop(key, None)
        if previous is not None:
            self._kept_bytes -= len(previous.body)
        self._kept[key] = kept
        self._kept_bytes += len(body)
        while self._kept_bytes > self.memory_bytes:
            _key, oldest = self._kept.popitem(last=False)
            self._kept_bytes -= len(oldest.body)

    async def _still_current(self) -> bool:
        """Whether the kept answers were drawn under today's stamp; if not, they are forgotten."""
        now = time.monotonic()
        committed = documents.generations_committed_here()
        if committed != self._committed_seen or now - self._read_at >= GENERATION_READ_SECONDS:
            self._committed_seen = committed
            self._read_at = now  # one read at a time: the others keep the last generation
            # The database away: the documents kept stay right, and the read is retried.
            with contextlib.suppress(SQLAlchemyError):
                self._generation = await run_in_threadpool(self._read_generation)
        stamp = (
            self._generation,
            committed,
            local_date(self.clock()),
            documents.template_revision(),
        )
        if stamp == self._stamp:
            return True
        self._kept.clear()
        self._kept_bytes = 0
        self._stamp = stamp
        return False

    def _read_generation(self) -> int:
        with self.engine.connect() as connection:
            return documents.current_generation(connection)
