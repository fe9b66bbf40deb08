"""Guideline pages for reading: the list, a guideline, a version, its downloads and comparisons."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core.accounts import User
from core.api import parse_int
from core.auth import MaybeUser, Now, Staff
from core.db import get_session
from core.documents import render_block
from core.downloads import document_page, stored_document
from core.errors import Conflict, Invalid, NotFound, RateLimited
from core.web import PageForm, render_page, translator_for
from guidelines import published, service
from guidelines.diff import diff_versions, render_change_html, render_segments_html
from guidelines.documents import VersionDoc
from guidelines.models import Guideline, GuidelineVersion, RiskLevel
from guidelines.published import PublishedVersion

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]
# Refusals a form answers in place, with what was typed: bad input, a changed state, too many
# attempts. A missing object or a forbidden action keeps its own error page.
FORM_REFUSALS = (Invalid, Conflict, RateLimited)


def viewed_version(session: DbSession, user: MaybeUser, slug: str, number: str) -> GuidelineVersion:
    """The version the path names, with its whole tree, if the viewer may read it."""
    return service.get_version(session, slug=slug, number=number, viewer=user)


def editable_draft(session: DbSession, user: Staff, slug: str, number: str) -> GuidelineVersion:
    """The draft the path names, for the secretariat's editing forms; Conflict once adopted."""
    return service.get_editable_draft(session, slug=slug, number=number, editor=user)


def published_version(
    session: DbSession, user: MaybeUser, now: Now, slug: str, number: str
) -> PublishedVersion:
    """The version the path names, without its text but with its standing, if the viewer may."""
    return published.find_published(session, slug=slug, number=number, viewer=user, now=now)


# The version of a `/guidelines/{slug}/{number}` address, and the draft its editor works on.
Version = Annotated[GuidelineVersion, Depends(viewed_version)]
# The same version for its documents, whose text is loaded only when one must be drawn.
Published = Annotated[PublishedVersion, Depends(published_version)]
EditableDraft = Annotated[GuidelineVersion, Depends(editable_draft)]


def submitted_values(form: FormData) -> dict[str, Any]:
    """A submitted form's fields as sent, empty ones included, to validate and to show again."""
    return {key: form.get(key) for key in form if key not in {"csrf_token", "risk_levels"}}


def version_url(version: GuidelineVersion, suffix: str = "") -> str:
    """The page address of a version."""
    return f"/guidelines/{version.guideline.slug}/{version.number}{suffix}"


def guideline_context(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What every guideline template reads besides its own page: labels and the address maker."""
    return {
        "status_labels": service.STATUS_LABELS,
        "badge_labels": service.BADGE_LABELS,
        "risk_labels": service.RISK_LABELS,
        "risk_levels": list(RiskLevel),
        "version_url": version_url,
        **(extra or {}),
    }


def guideline_page_context(
    guideline: Guideline, user: User | None, now: dt.datetime, form: PageForm | None = None
) -> dict[str, Any]:
    """The page of a guideline: its version in force, its history, the new-draft form."""
    latest = service.latest_adopted(guideline.versions)
    form = form or PageForm()
    return guideline_context(
        {
            "guideline": guideline,
            "versions": service.visible_versions(guideline, user),
            "in_force": service.version_in_force(guideline, now),
            "standings": service.standings(guideline.versions, now),
            "can_author": service.is_staff(user),
            **form.context(),
            "values": {"source": latest.number if latest else "", **form.values},
        }
    )


@dataclass(frozen=True)
class VersionPage:
    """The page of one version: its text and standing, the other versions, the viewer's actions."""

    version: GuidelineVersion
    guideline: Guideline
    versions: list[GuidelineVersion]
    previous: str | None
    standing: service.Standing
    actions: list[str]
    days_left: int
    form: PageForm = field(default_factory=PageForm)

    def context(self) -> dict[str, Any]:
        """The names the version template reads."""
        return guideline_context(
            {
                "version": self.version,
                "guideline": self.guideline,
                "versions": self.versions,
                "previous": self.previous,
                "standing": self.standing,
                "actions": self.actions,
                "days_left": self.days_left,
                **self.form.context(),
            }
        )


def build_version_page(
    session: Session,
    version: GuidelineVersion,
    user: User | None,
    now: dt.datetime,
    form: PageForm | None = None,
) -> VersionPage:
    """The version page of a loaded version tree, with a refused form when there is one."""
    guideline = service.get_guideline(session, version.guideline.slug)
    versions = service.visible_versions(guideline, user)
    return VersionPage(
        version=version,
        guideline=guideline,
        versions=versions,
        previous=service.previous_number(version, versions),
        standing=service.standings(guideline.versions, now)[version.id],
        actions=service.available_actions(version, user, now=now),
        days_left=service.days_left(version, now),
        form=form or PageForm(),
    )


def public_version_page(
    request: Request, session: Session, shown: PublishedVersion, now: dt.datetime
) -> Response:
    """An adopted version's page for anonymous readers: the stored document in today's layout."""
    tr = translator_for(request)

    def render() -> str:
        page = build_version_page(session, shown.tree(session), None, now)
        return render_block("guidelines/version.html", "document", tr, **page.context())

    document = published.version_page(session, shown, language=tr.locale, render=render)
    context = guideline_context(
        {
            "version": shown.version,
            "guideline": shown.guideline,
            "actions": [],
            "document_html": document.text(),
        }
    )
    return document_page(request, "guidelines/version.html", context, shareable=True)


@pages.get("/guidelines")
def guidelines_page(
    request: Request, session: DbSession, user: MaybeUser, now: Now
) -> HTMLResponse:
    """The list of the council's guidelines."""
    guidelines = service.list_visible_guidelines(session, viewer=user)
    items = [
        (g, service.version_in_force(g, now), service.visible_versions(g, user)) for g in guidelines
    ]
    standings = {
        key: value for g in guidelines for key, value in service.standings(g.versions, now).items()
    }
    return render_page(
        request,
        "guidelines/list.html",
        guideline_context(
            {"items": items, "standings": standings, "can_author": service.is_staff(user)}
        ),
    )


@pages.get("/guidelines/{slug}")
def guideline_page(
    request: Request, session: DbSession, user: MaybeUser, now: Now, slug: str
) -> Response:
    """A guideline: its version in force and the history of its versions."""
    guideline = service.get_visible_guideline(session, slug, viewer=user)
    return render_page(
        request, "guidelines/guideline.html", guideline_page_context(guideline, user, now)
    )


@pages.get("/guidelines/{slug}/{number}")
def version_page(
    request: Request, session: DbSession, user: MaybeUser, now: Now, shown: Published
) -> Response:
    """A version: status, principles and criteria with anchors, downloads and comparisons."""
    if user is None and shown.settled:
        return public_version_page(request, session, shown, now)
    page = build_version_page(session, shown.tree(session), user, now)
    return document_page(request, "guidelines/version.html", page.context(), shareable=False)


@pages.get("/guidelines/{slug}/{number}/pdf")
def version_pdf(
    request: Request, session: DbSession, user: MaybeUser, now: Now, shown: Published
) -> Response:
    """The version as an A4 PDF in the reader's language."""
    tr = translator_for(request)
    document = published.version_pdf(session, shown, tr=tr, now=now)
    filename = f"{shown.guideline.slug}-{shown.version.number}-{tr.locale}.pdf"
    return stored_document(
        request,
        document,
        shared=user is None and shown.settled,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@pages.get("/guidelines/{slug}/{number}/json")
def version_json(
    request: Request, session: DbSession, user: MaybeUser, shown: Published
) -> Response:
    """The version as a JSON document following the published schema."""
    filename = f"{shown.guideline.slug}-{shown.version.number}.json"
    return stored_document(
        request,
        published.version_json(session, shown),
        shared=user is None and shown.settled,
        vary=None,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def document_and_label(
    session: Session, slug: str, ref: str, user: User | None
) -> tuple[VersionDoc, str]:
    """A text by reference, a version number (1.1) or a revision of it (1.1r3), and its label."""
    number, _, revision = ref.partition("r")
    revision_number = parse_int(revision) if revision else None
    if revision and revision_number is None:
        raise NotFound()  # not a revision number: no such document
    document = service.document_at(
        session, slug=slug, number=number, revision=revision_number, viewer=user
    )
    return document, ref if revision else number


@pages.get("/guidelines/{slug}/compare/versions")
def compare_page(
    request: Request,
    session: DbSession,
    user: MaybeUser,
    slug: str,
    from_ref: Annotated[str, Query(alias="from")],
    to_ref: Annotated[str, Query(alias="to")],
) -> HTMLResponse:
    """The differences between two versions (or revisions) of a guideline."""
    old, old_label = document_and_label(session, slug, from_ref, user)
    new, new_label = document_and_label(session, slug, to_ref, user)
    # After the version trees: reloading them (populate_existing) unloads Guideline.versions.
    guideline = service.get_guideline(session, slug)
    return render_page(
        request,
        "guidelines/compare.html",
        guideline_context(
            {
                "guideline": guideline,
                "versions": service.visible_versions(guideline, user),
                "diff": diff_versions(old, new),
                "old": old,
                "new": new,
                "old_label": old_label,
                "new_label": new_label,
                "segments_html": render_segments_html,
                "change_html": render_change_html,
            }
        ),
    )
