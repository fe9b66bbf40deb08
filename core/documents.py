"""Documents rendered once and stored: an adopted version's page, JSON and PDF, a resolution.

A stored render is found by what it shows: its kind, a key naming the document and everything
that can change its content (a version's standing, say), the language, and the revision of the
templates and catalogs that drew it. A changed key or template revision renders again; rows are
never updated, so a stored render can be handed out without re-checking it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from markupsafe import Markup
from sqlalchemy import (
    Connection,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, side_session, utcnow
from core.i18n import Translator
from core.templating import TEMPLATE_DIR, environment

logger = logging.getLogger("council.documents")

PROJECT_ROOT = TEMPLATE_DIR.parent
# Bumped by hand when code that shapes a stored document changes (templates are hashed).
RENDERING_REVISION = 1
# What a stored document is drawn from besides its data: templates, catalogs, the print code.
_SOURCES = ("templates", "core/locale", "core/pdf.py", "core/markdown.py", "static")
_SOURCE_SUFFIXES = frozenset({".html", ".txt", ".mo", ".py", ".css"})


class StoredDocument(Base):
    """One render of a document in one language by one revision of the templates."""

    __tablename__ = "rendered_documents"
    __table_args__ = (
        UniqueConstraint("kind", "key", "language", "revision"),
        Index("ix_rendered_documents_kind_subject", "kind", "subject"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What is rendered: "version-pdf", "resolution-page"...
    kind: Mapped[str] = mapped_column(String(40))
    # The document itself, whatever its state ("12" for version 12): older renders of it go.
    subject: Mapped[str] = mapped_column(String(80))
    # The document and the state its content depends on ("12:superseded:2026-06-01").
    key: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(10))
    revision: Mapped[str] = mapped_column(String(64))
    # The strong validator: sha256 of the bytes, hex.
    etag: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    def text(self) -> Markup:
        """The stored bytes as trusted markup (a page fragment this service rendered)."""
        return Markup(self.content.decode("utf-8"))


class DocumentGeneration(Base):
    """How many times what the public documents say has changed (one row): adoptions, withdrawals.

    Every worker keeps copies of public documents in memory (core.fastpath) and drops them when
    this number moves; it reads the number at most once a second.
    """

    __tablename__ = "document_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# The one row of document_generation (the migration inserts it).
GENERATION_ROW = 1
# Set on a session whose transaction changed the generation: this process learns at commit.
_REPUBLISHED = "council_documents_republished"
# Generations this process committed: its copies go at once, without waiting for the next read.
_committed_here = 0


def republish_documents(session: Session, *, now: dt.datetime) -> None:
    """Record that public documents may now say something else (a version adopted or withdrawn)."""
    session.execute(
        update(DocumentGeneration)
        .where(DocumentGeneration.id == GENERATION_ROW)
        .values(generation=DocumentGeneration.generation + 1, changed_at=now)
    )
    session.info[_REPUBLISHED] = True


@event.listens_for(Session, "after_commit")
def _count_committed_generation(session: Session) -> None:
    global _committed_here
    if session.info.pop(_REPUBLISHED, False):
        _committed_here += 1


def generations_committed_here() -> int:
    """How many republications this process has committed (a local, immediate generation)."""
    return _committed_here


def current_generation(connection: Connection) -> int:
    """The generation of public documents every worker shares (0 before any republication)."""
    found = connection.scalar(
        select(DocumentGeneration.generation).where(DocumentGeneration.id == GENERATION_ROW)
    )
    return int(found or 0)


@functools.lru_cache(maxsize=1)
def template_revision() -> str:
    """The revision of what draws documents: a hash of the templates, catalogs and print code."""
    digest = hashlib.sha256(f"rendering {RENDERING_REVISION}".encode())
    for root in _SOURCES:
        path = PROJECT_ROOT / root
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and file.suffix in _SOURCE_SUFFIXES:
                digest.update(str(file.relative_to(PROJECT_ROOT)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:32]


def content_etag(content: bytes) -> str:
    """The strong validator of some bytes."""
    return hashlib.sha256(content).hexdigest()


def live_document(content: bytes, *, content_type: str) -> StoredDocument:
    """A document drawn for this request only (a draft's), served the way stored ones are."""
    return StoredDocument(content=content, content_type=content_type, etag=content_etag(content))


def _stored(
    session: Session, *, kind: str, key: str, language: str, revision: str
) -> StoredDocument | None:
    return session.scalar(
        select(StoredDocument).where(
            StoredDocument.kind == kind,
            StoredDocument.key == key,
            StoredDocument.language == language,
            StoredDocument.revision == revision,
        )
    )


def cached_document(
    session: Session,
    *,
    kind: str,
    subject: str,
    key: str,
    language: str,
    revision: str,
    content_type: str,
    render: Callable[[], bytes],
) -> StoredDocument:
    """The stored render of a document, rendered and stored now if there is none yet.

    The render is stored beside the request's own transaction, which only reads; older renders
    of the same subject and kind go. When two requests render at once, the first stored wins
    and the other reads it; when the database cannot take the write, the render is served
    unstored and the next request tries again.
    """
    found = _stored(session, kind=kind, key=key, language=language, revision=revision)
    if found is not None:
        return found
    content = render()
    document = StoredDocument(
        kind=kind,
        subject=subject,
        key=key,
        language=language,
        revision=revision,
        etag=content_etag(content),
        content_type=content_type,
        content=content,
        created_at=utcnow(),
    )
    if not session.info.get("writes"):
        # A reading request gives its connection back while the render is stored, as
        # core.auth does for a token's bookkeeping: a burst of first requests cannot exhaust
        # the pool, and on SQLite its snapshot does not outlive the write.
        session.commit()
    # Neither branch rolls the writer back: the savepoint already undid the failed insert, and
    # a test's writer shares the test's own transaction, which closing it leaves alone.
    with side_session(session) as writer:
        try:
            with writer.begin_nested():
                writer.execute(
                    delete(StoredDocument).where(
                        StoredDocument.kind == kind,
                        StoredDocument.subject == subject,
                        StoredDocument.key != key,
                    )
                )
                writer.add(document)
                writer.flush()
            writer.expunge(document)
            writer.commit()
        except IntegrityError:
            # Another request stored the same render first: theirs is the one served.
            first = _stored(writer, kind=kind, key=key, language=language, revision=revision)
            if first is not None:
                writer.expunge(first)
                return first
        except SQLAlchemyError:
            logger.warning("could not store the render of %s %s", kind, key, exc_info=True)
    return document


def forget_old_renders(session: Session) -> int:
    """Delete the stored renders drawn by older templates (never served again); how many went."""
    result = session.execute(
        delete(StoredDocument).where(StoredDocument.revision != template_revision())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def render_block(template: str, block: str, translator: Translator, **context: Any) -> str:
    """One block of a page template, without the layout around it (the part that is stored)."""
    tmpl = environment().get_template(template)
    ctx = tmpl.new_context({**translator.as_dict(), **context})
    return "".join(tmpl.blocks[block](ctx))
