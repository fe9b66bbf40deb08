"""Stored files handed back to the people who may read them: evidence, attachments, documents."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from core.auth import CSRF_SESSION_KEY
from core.documents import StoredDocument, content_etag
from core.errors import NotFound
from core.exports import MEDIA_TYPES
from core.storage import FileStore, clean_filename
from core.web import FLASH_KEY, render_page


def content_disposition(name: str) -> str:
    """An attachment header with an ASCII fallback name and the exact name (RFC 6266/5987)."""
    name = clean_filename(name)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r"[^A-Za-z0-9._() -]", "_", ascii_name).strip() or "archivo"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def stored_file(store: FileStore, key: str, name: str, content_type: str) -> FileResponse:
    """A stored file as an attachment browsers must not sniff; a file gone from the store is 404."""
    path = store.path_of(key)
    if not path.is_file():
        raise NotFound()
    return FileResponse(
        path,
        media_type=content_type or "application/octet-stream",
        headers={
            "Content-Disposition": content_disposition(name),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def pdf_download(pdf: bytes, *, name: str) -> Response:
    """A PDF made for one reader, as an attachment that no cache keeps."""
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": content_disposition(name),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def export_download(chunks: Iterator[bytes], *, fmt: str, name: str) -> StreamingResponse:
    """An export (CSV or JSON) streamed as an attachment, never cached: it holds working data."""
    return StreamingResponse(
        chunks,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": content_disposition(f"{name}.{fmt}"),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# How long a shared cache may serve a public document before asking again (with its ETag).
PUBLIC_MAX_AGE = 300
# The language of a page or PDF follows the cookie, then Accept-Language.
LANGUAGE_VARY = "Cookie, Accept-Language"


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names this ETag (or any)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    # Weak comparison, as If-None-Match asks (RFC 9110 13.1.2).
    return etag in {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}


def document_response(
    request: Request,
    content: bytes,
    *,
    etag: str,
    media_type: str,
    shared: bool,
    vary: str | None = LANGUAGE_VARY,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A document with a strong ETag, 304 when the reader has it, and the caching it allows.

    `shared`: the same bytes for every anonymous reader, so shared caches may keep them a while;
    otherwise only the reader's own browser may, revalidating each time.
    """
    tag = f'"{etag}"'
    cache_control = f"public, max-age={PUBLIC_MAX_AGE}" if shared else "private, no-cache"
    all_headers = {"ETag": tag, "Cache-Control": cache_control, **(headers or {})}
    if vary:
        all_headers["Vary"] = vary
    if etag_matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=all_headers)
    return Response(content, media_type=media_type, headers=all_headers)


def stored_document(
    request: Request,
    document: StoredDocument,
    *,
    shared: bool,
    vary: str | None = LANGUAGE_VARY,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A stored (or freshly drawn) document, with its ETag and the caching it allows."""
    return document_response(
        request,
        document.content,
        etag=document.etag,
        media_type=document.content_type,
        shared=shared,
        vary=vary,
        headers=headers,
    )


def document_page(
    request: Request, template: str, context: dict[str, Any], *, shareable: bool
) -> Response:
    """A page around a document, with an ETag of its bytes.

    Shared caches may keep it only when `shareable` (a stored document an anonymous reader
    asked for) and it carries nothing of the reader's own: no flash message, no CSRF token.
    """
    pending = "session" in request.scope and bool(request.session.get(FLASH_KEY))
    body = bytes(render_page(request, template, context).body)
    token = request.session.get(CSRF_SESSION_KEY) if "session" in request.scope else None
    personal = pending or (bool(token) and str(token).encode() in body)
    return document_response(
        request,
        body,
        etag=content_etag(body),
        media_type="text/html; charset=utf-8",
        shared=shareable and not personal,
    )
