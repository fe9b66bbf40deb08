"""A version's documents rendered once: its page, JSON and PDF, stored per standing and language.

An adopted text never changes, but what its documents say about it does: in force, superseded
from a day, adopted and waiting for its day. The key of each stored render names the version and
that standing, so a new adoption or a day passing renders again; anything else is read back.
A draft's PDF is stored per revision of its text and per day (it carries the day it was made).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from core import documents
from core.accounts import User
from core.documents import StoredDocument, cached_document
from core.errors import NotFound
from core.i18n import Translator
from guidelines import consultation, service
from guidelines.documents import load_version_tree, version_document
from guidelines.exports import render_version_pdf
from guidelines.models import Guideline, GuidelineVersion, VersionStatus

PDF = "application/pdf"
JSON = "application/json"
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class PublishedVersion:
    """A version without its text, and what its documents say about it at one moment."""

    version: GuidelineVersion
    guideline: Guideline
    standing: service.Standing
    # The number the public's page compares it with.
    previous: str | None

    @property
    def settled(self) -> bool:
        """Whether the text is adopted for good (its documents are stored, not drawn live)."""
        return self.version.status in service.ADOPTED_STATUSES

    @property
    def subject(self) -> str:
        """The document's name among stored renders, whatever its state."""
        return str(self.version.id)

    def key(self) -> str:
        """The version and everything its documents say that can change."""
        s = self.standing
        state = f"{s.status}:{s.in_force}:{s.in_force_from}:{s.superseded_on}:{s.badge}"
        if self.settled:
            return f"{self.version.id}:{state}"
        return f"{self.version.id}:r{self.version.revision_number}:{state}"

    def tree(self, session: Session) -> GuidelineVersion:
        """The version with its principles and criteria, loaded now."""
        return load_version_tree(session, self.version.id)


def find_published(
    session: Session, *, slug: str, number: str, viewer: User | None, now: dt.datetime
) -> PublishedVersion:
    """A version without its text, if the viewer may read it, with its standing at `now`."""
    versions = list(
        session.scalars(
            select(GuidelineVersion)
            .join(GuidelineVersion.guideline)
            .where(Guideline.slug == slug)
            .options(contains_eager(GuidelineVersion.guideline))
            .order_by(GuidelineVersion.id)
        )
    )
    version = next((v for v in versions if v.number == number), None)
    if version is None or not service.can_view(version, viewer):
        raise NotFound()
    public = [v for v in versions if service.can_view(v, None)]
    return PublishedVersion(
        version=version,
        guideline=version.guideline,
        standing=service.standings(versions, now)[version.id],
        previous=service.previous_number(version, public),
    )


def _stored(
    session: Session,
    published: PublishedVersion,
    *,
    kind: str,
    key: str,
    language: str,
    content_type: str,
    render: Callable[[], bytes],
) -> StoredDocument:
    return cached_document(
        session,
        kind=kind,
        subject=published.subject,
        key=key,
        language=language,
        revision=documents.template_revision(),
        content_type=content_type,
        render=render,
    )


def version_pdf(
    session: Session, published: PublishedVersion, *, tr: Translator, now: dt.datetime
) -> StoredDocument:
    """The version as an A4 PDF in one language, rendered once per standing (drafts: per day)."""
    key = published.key() if published.settled else f"{published.key()}:{now.date()}"

    def render() -> bytes:
        version = published.tree(session)
        return render_version_pdf(
            version_document(version, status=published.standing.status),
            locale=tr.locale,
            status_label=tr.gettext(service.BADGE_LABELS[published.standing.badge]),
            is_draft=service.is_proposal(version),
            generated_on=now.date(),
        )

    return _stored(
        session,
        published,
        kind="version-pdf",
        key=key,
        language=tr.locale,
        content_type=PDF,
        render=render,
    )


def version_json_bytes(version: GuidelineVersion, status: VersionStatus) -> bytes:
    """The published JSON document of a loaded version tree, as the API sends it."""
    body = version_document(version, status=status).model_dump(mode="json", by_alias=True)
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def version_json(session: Session, published: PublishedVersion) -> StoredDocument:
    """The version's JSON document (in both languages): stored once adopted, live for a draft."""

    def render() -> bytes:
        return version_json_bytes(published.tree(session), published.standing.status)

    if not published.settled:
        return documents.live_document(render(), content_type=JSON)
    return _stored(
        session,
        published,
        kind="version-json",
        key=published.key(),
        language="",
        content_type=JSON,
        render=render,
    )


def version_page(
    session: Session, published: PublishedVersion, *, language: str, render: Callable[[], str]
) -> StoredDocument:
    """The public's part of an adopted version's page (no layout, no forms), stored."""
    return _stored(
        session,
        published,
        kind="version-page",
        key=f"{published.key()}:{published.previous}",
        language=language,
        content_type=HTML,
        render=lambda: render().encode(),
    )


def report_settled(version: GuidelineVersion) -> bool:
    """Whether a consultation's record is closed for good: no more hiding or dispositions."""
    return version.status not in consultation.DISPOSABLE_STATUSES


def report_document(
    session: Session,
    version: GuidelineVersion,
    *,
    kind: str,
    language: str,
    content_type: str,
    render: Callable[[], bytes],
    variant: str = "",
) -> StoredDocument:
    """A consultation report (page part or PDF), stored once its record is closed for good."""
    # Until then the secretariat may still hide comments and record dispositions: drawn live.
    if not report_settled(version):
        return documents.live_document(render(), content_type=content_type)
    return cached_document(
        session,
        kind=kind,
        subject=str(version.id),
        key=f"{version.id}:{version.status}:r{version.revision_number}:{variant}",
        language=language,
        revision=documents.template_revision(),
        content_type=content_type,
        render=render,
    )
