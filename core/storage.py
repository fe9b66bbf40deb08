"""The file store: uploads kept outside the web root under random keys, typed by their content.

Files follow the database transaction they belong to: a file stored for a session is removed
again when that session rolls back, and a file discarded for it is removed only after it commits,
so no row ever points at a missing file and no failed write leaves a file behind.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from core.errors import N_, Invalid

CHUNK = 64 * 1024
TEXT_SNIFF_BYTES = 256 * 1024
# Markup a browser would run (HTML, SVG, XML) is not text evidence, whatever the file is called.
MARKUP = re.compile(
    r"<\s*(!doctype|html|head|body|script|iframe|object|embed|svg|math|meta|form)\b|<\?xml",
    re.IGNORECASE,
)

# What the council accepts as evidence, decided from the bytes themselves.
PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TEXT = "text/plain"
CSV = "text/csv"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
OLE = "application/vnd.ms-office"  # legacy .doc/.xls/.ppt share one container format


class FileTooLarge(Invalid):
    """An upload over the size limit."""


@dataclass(frozen=True)
class StoredFile:
    """A file written to the store."""

    key: str
    size: int
    sha256: str
    content_type: str
    original_name: str


def clean_filename(name: str) -> str:
    """A display name for an upload: no directories, control characters or leading dots."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    return base[:200] or "archivo"


def _office_type(head: bytes, data_path: Path) -> str | None:
    try:
        with zipfile.ZipFile(data_path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mimetype = archive.read("mimetype").decode("ascii", "ignore").strip()
                return mimetype if mimetype in (ODT, ODS) else None
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for prefix, kind in (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX)):
        if any(n.startswith(prefix) for n in names):
            return kind
    return None


def _text_type(data: bytes) -> str | None:
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # older Windows exports; every byte decodes
    if sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\r\n\t\f") > 0:
        return None
    if MARKUP.search(text):
        return None
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) >= 2:
        try:
            dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t")
        except csv.Error:
            return TEXT
        widths = {len(row) for row in csv.reader(io.StringIO("\n".join(lines)), dialect)}
        if len(widths) == 1 and widths.pop() > 1:
            return CSV
    return TEXT


def sniff_content_type(path: Path) -> str | None:
    """The accepted type of a file judged by its content, or None when it is not accepted."""
    with path.open("rb") as handle:
        head = handle.read(8192)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"PK\x03\x04"):
        return _office_type(head, path)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return OLE
    with path.open("rb") as handle:
        return _text_type(handle.read(TEXT_SNIFF_BYTES))


class FileStore:
    """Uploaded files on disk under random keys; names given by users never touch the path."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, key: str) -> Path:
        """Where a stored file lives (keys are generated here, so they are safe path parts)."""
        if not re.fullmatch(r"[a-f0-9]{2}/[A-Za-z0-9_-]{20,60}", key):
            raise ValueError("not a store key")
        return self.root / key

    def save(
        self,
        stream: BinaryIO,
        *,
        original_name: str,
        max_bytes: int,
        session: Session | None = None,
    ) -> StoredFile:
        """Write an upload, refusing it when empty, too large or of a type not accepted.

        With a session, the file is removed again if that session's transaction rolls back.
        """
        token = secrets.token_urlsafe(24)
        key = f"{hashlib.sha256(token.encode()).hexdigest()[:2]}/{token}"
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        try:
            with target.open("wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooLarge(
                            N_("The file is larger than the limit of %(limit)s MB."),
                            limit=f"{max_bytes / 1024 / 1024:g}",
                        )
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise Invalid(N_("The file is empty."))
            content_type = sniff_content_type(target)
            if content_type is None:
                raise Invalid(
                    N_(
                        "This kind of file is not accepted. Send PDF, PNG, JPEG, plain text, "
                        "CSV or office documents."
                    )
                )
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        if session is not None:
            session.connection()  # begins the transaction whose end decides the file's fate
            _pending(session, SAVED).append((self, key))
        return StoredFile(
            key=key,
            size=size,
            sha256=digest.hexdigest(),
            content_type=content_type,
            original_name=clean_filename(original_name),
        )

    def delete(self, key: str) -> None:
        """Remove a stored file now."""
        self.path_of(key).unlink(missing_ok=True)

    def discard(self, session: Session, key: str) -> None:
        """Remove a stored file once the session's transaction commits (kept if it rolls back)."""
        _pending(session, DISCARDED).append((self, key))


# Keys in Session.info of the files waiting for the transaction's outcome.
SAVED = "storage.saved"
DISCARDED = "storage.discarded"


def _pending(session: Session, kind: str) -> list[tuple[FileStore, str]]:
    files: list[tuple[FileStore, str]] = session.info.setdefault(kind, [])
    return files


@event.listens_for(Session, "after_commit")
def _remove_discarded_files(session: Session) -> None:
    for store, key in session.info.pop(DISCARDED, ()):
        store.delete(key)
    session.info.pop(SAVED, None)


@event.listens_for(Session, "after_transaction_end")
def _remove_saved_files(session: Session, transaction: SessionTransaction) -> None:
    # Ends without a commit (rollback, close) leave the stored files unreferenced.
    if transaction.parent is not None:  # a savepoint: the outer transaction decides
        return
    for store, key in session.info.pop(SAVED, ()):
        store.delete(key)
    session.info.pop(DISCARDED, None)
