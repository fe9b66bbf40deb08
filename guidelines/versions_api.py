"""The guidelines API: guidelines, version documents, drafts, revisions and differences."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from core.accounts import User
from core.api import ERROR_RESPONSES, Page, PageParams, page_params, parse_int
from core.auth import MaybeUser, Now, Staff
from core.downloads import stored_document
from core.web import service_settings
from guidelines import published, service
from guidelines.diff import diff_versions
from guidelines.documents import VersionDoc, version_json_schema
from guidelines.models import Guideline, GuidelineVersion
from guidelines.schemas import (
    ConsultationInput,
    GuidelineInput,
    GuidelineOut,
    NewDraftInput,
    RevisionOut,
    VersionSummaryOut,
)
from guidelines.versions_pages import DbSession, Published, Version, document_and_label

api = APIRouter(prefix="/api/v1", tags=["guidelines"], responses=ERROR_RESPONSES)


def _guideline_out(guideline: Guideline, user: User | None, now: dt.datetime) -> GuidelineOut:
    standings = service.standings(guideline.versions, now)
    in_force = service.version_in_force(guideline, now)
    return GuidelineOut(
        slug=guideline.slug,
        title_es=guideline.title_es,
        title_en=guideline.title_en,
        in_force=in_force.number if in_force else None,
        versions=[
            VersionSummaryOut.model_validate(v).model_copy(
                update={
                    "status": standings[v.id].status,
                    "in_force": standings[v.id].in_force,
                }
            )
            for v in service.visible_versions(guideline, user)
        ],
    )


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    cleaned = value.strip().strip('"').removeprefix("W/").strip('"')
    expected = parse_int(cleaned)
    return -1 if expected is None else expected


@api.get("/guidelines", response_model=Page[GuidelineOut])
def api_guidelines(
    session: DbSession,
    user: MaybeUser,
    now: Now,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[GuidelineOut]:
    """The council's guidelines with their visible versions."""
    guidelines, total = service.page_of_visible_guidelines(
        session, viewer=user, page=params.page, page_size=params.page_size
    )
    return Page[GuidelineOut](
        items=[_guideline_out(g, user, now) for g in guidelines],
        total=total,
        page=params.page,
        page_size=params.page_size,
    )


@api.post("/guidelines", response_model=GuidelineOut, status_code=201)
def api_create_guideline(
    session: DbSession, user: Staff, now: Now, body: GuidelineInput
) -> GuidelineOut:
    """Start a guideline with an empty draft 1.0."""
    guideline = service.create_guideline(session, actor=user, data=body, now=now)
    session.commit()
    return _guideline_out(service.get_guideline(session, guideline.slug), user, now)


@api.get("/guidelines/{slug}", response_model=GuidelineOut)
def api_guideline(session: DbSession, user: MaybeUser, now: Now, slug: str) -> GuidelineOut:
    """A guideline and its visible versions."""
    return _guideline_out(service.get_visible_guideline(session, slug, viewer=user), user, now)


@api.get("/guidelines/{slug}/versions/{number}", response_model=VersionDoc)
def api_version(
    request: Request, session: DbSession, user: MaybeUser, shown: Published
) -> Response:
    """A whole version as the published JSON document, with its ETag.

    A draft's ETag is its revision number, for If-Match on PUT; an adopted version's is the
    hash of its stored document, and If-None-Match answers 304 while it has not changed.
    """
    document = published.version_json(session, shown)
    if not shown.settled:
        etag = {"ETag": f'"{shown.version.revision_number}"'}
        return Response(document.content, media_type=document.content_type, headers=etag)
    return stored_document(request, document, shared=user is None, vary=None)


@api.put("/guidelines/{slug}/versions/{number}", response_model=RevisionOut)
def api_replace_version(
    session: DbSession,
    user: Staff,
    now: Now,
    slug: str,
    number: str,
    body: VersionDoc,
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    """Replace a draft's text with a document; send If-Match with the ETag to avoid overwrites."""
    # Looked up here, not as a dependency: a malformed body is refused before a missing version.
    version = service.get_version(session, slug=slug, number=number, viewer=user)
    revision = service.replace_draft(
        session,
        actor=user,
        version=version,
        document=body,
        expected_revision=_if_match(if_match),
        now=now,
    )
    session.commit()
    return revision


@api.post("/guidelines/{slug}/versions", response_model=VersionSummaryOut, status_code=201)
def api_import_version(
    session: DbSession, user: Staff, now: Now, slug: str, body: VersionDoc
) -> GuidelineVersion:
    """Import a version document as a new draft."""
    guideline = service.get_guideline(session, slug)
    version = service.import_version(
        session, actor=user, guideline=guideline, document=body, now=now
    )
    session.commit()
    return version


@api.post("/guidelines/{slug}/drafts", response_model=VersionSummaryOut, status_code=201)
def api_new_draft(
    session: DbSession, user: Staff, now: Now, slug: str, body: NewDraftInput
) -> GuidelineVersion:
    """Start a new draft copied from `source` (by default the version adopted last)."""
    guideline = service.get_guideline(session, slug)
    version = service.start_new_draft(
        session,
        actor=user,
        guideline=guideline,
        number=body.number,
        source_number=body.source,
        now=now,
    )
    session.commit()
    return version


@api.get("/guidelines/{slug}/versions/{number}/revisions", response_model=list[RevisionOut])
def api_revisions(session: DbSession, user: Staff, version: Version) -> Any:
    """The revision history of a version."""
    return service.list_revisions(session, version)


@api.post("/guidelines/{slug}/versions/{number}/consultation", response_model=VersionSummaryOut)
def api_open_consultation(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    slug: str,
    number: str,
    body: ConsultationInput,
) -> GuidelineVersion:
    """Put a draft to public consultation until the end of `closes_on` (Mexico City time)."""
    # Looked up here, not as a dependency: a malformed body is refused before a missing version.
    version = service.get_version(session, slug=slug, number=number, viewer=user)
    service.open_consultation(
        session,
        actor=user,
        version=version,
        closes_on=body.closes_on,
        min_days=service_settings(request).consultation_min_days,
        now=now,
    )
    session.commit()
    return version


@api.get("/guidelines/{slug}/diff")
def api_diff(
    session: DbSession,
    user: MaybeUser,
    slug: str,
    from_ref: Annotated[str, Query(alias="from")],
    to_ref: Annotated[str, Query(alias="to")],
) -> Any:
    """Criteria added, removed and changed between two versions, with word-level text diffs."""
    old, _ = document_and_label(session, slug, from_ref, user)
    new, _ = document_and_label(session, slug, to_ref, user)
    return diff_versions(old, new).model_dump(mode="json")


@api.get("/schemas/guideline-version.json")
def api_version_schema() -> dict[str, Any]:
    """The JSON Schema of a guideline version document (import and export)."""
    return version_json_schema()
