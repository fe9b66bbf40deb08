"""Stored files handed back to the people who may read them: evidence and message attachments."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from fastapi.responses import FileResponse

from core.errors import NotFound
from core.storage import FileStore, clean_filename


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
