"""Guideline pages (public reading, secretariat authoring) and the guidelines API."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from core.accounts import User
from core.api import ERROR_RESPONSES, ObjectId, Page, PageParams, page_params, parse_int
from core.auth import MaybeUser, Now, Staff
from core.db import get_session
from core.errors import N_, Conflict, DomainError, Invalid, NotFound, RateLimited
from core.forms import parse_input
from core.limits import accepts_uploads
from core.submissions import Once
from core.web import (
    SubmittedForm,
    error_fields,
    error_message,
    flash,
    redirect,
    render_page,
    translator_for,
)
from guidelines import service
from guidelines.diff import diff_versions, render_segments_html
from guidelines.documents import (
    VersionDoc,
    load_version_tree,
    parse_document,
    version_document,
    version_json_schema,
)
from guidelines.exports import render_version_pdf
from guidelines.models import GuidelineVersion, RiskLevel, VersionStatus
from guidelines.schemas import (
    ConsultationInput,
    CriterionInput,
    GuidelineInput,
    GuidelineOut,
    NewDraftInput,
    PrincipleInput,
    RevisionOut,
    SummaryInput,
    VersionSummaryOut,
)

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["guidelines"], responses=ERROR_RESPONSES)

DbSession = Annotated[Session, Depends(get_session)]
MAX_IMPORT_BYTES = 2 * 1024 * 1024
# Refusals a form answers in place, with what was typed: bad input, a changed state, too many
# attempts. A missing object or a forbidden action keeps its own error page.
FORM_REFUSALS = (Invalid, Conflict, RateLimited)


def version_url(version: GuidelineVersion, suffix: str = "") -> str:
    """The page address of a version."""
    return f"/guidelines/{version.guideline.slug}/{version.number}{suffix}"


def _common(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "status_labels": service.STATUS_LABELS,
        "badge_labels": service.BADGE_LABELS,
        "risk_labels": service.RISK_LABELS,
        "risk_levels": list(RiskLevel),
        "version_url": version_url,
        **(extra or {}),
    }


def _expected_revision(form: FormData) -> int | None:
    return parse_int(form.get("revision"))


def _form_dict(form: FormData) -> dict[str, Any]:
    return {key: form.get(key) for key in form if key not in {"csrf_token", "risk_levels"}}


# Public reading ----------------------------------------------------------------------------


@pages.get("/guidelines")
def guidelines_page(
    request: Request, session: DbSession, user: MaybeUser, now: Now
) -> HTMLResponse:
    """The list of the council's guidelines."""
    guidelines = service.list_guidelines(session)
    items = [
        (g, service.version_in_force(g, now), service.visible_versions(g, user)) for g in guidelines
    ]
    items = [item for item in items if item[2]]
    standings = {
        key: value for g in guidelines for key, value in service.standings(g.versions, now).items()
    }
    return render_page(
        request,
        "guidelines/list.html",
        _common({"items": items, "standings": standings, "can_author": service.is_staff(user)}),
    )


@pages.get("/guidelines/new")
def new_guideline_form(request: Request, user: Staff) -> HTMLResponse:
    """The form that starts a guideline."""
    return render_page(request, "guidelines/new.html", {"values": {}, "errors": {}})


@pages.post("/guidelines", response_model=None)
def create_guideline_page(
    request: Request, session: DbSession, once: Once, user: Staff, now: Now, form: SubmittedForm
) -> Response:
    """Start a guideline with an empty draft."""
    values = _form_dict(form)
    try:
        guideline = service.create_guideline(
            session, actor=user, data=parse_input(GuidelineInput, values), now=now
        )
    except Invalid as error:
        return render_page(
            request,
            "guidelines/new.html",
            {"values": values, "errors": error_fields(request, error)},
            status_code=422,
        )
    once.done(f"/guidelines/{guideline.slug}/1.0/edit", now=now)
    session.commit()
    flash(request, N_("The guideline has been created with an empty draft 1.0."))
    return redirect(f"/guidelines/{guideline.slug}/1.0/edit")


def _guideline_context(
    guideline: Any,
    user: User | None,
    now: dt.datetime,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    in_force = service.version_in_force(guideline, now)
    latest = service.latest_adopted(guideline.versions)
    return _common(
        {
            "guideline": guideline,
            "versions": service.visible_versions(guideline, user),
            "in_force": in_force,
            "standings": service.standings(guideline.versions, now),
            "can_author": service.is_staff(user),
            "values": {"source": latest.number if latest else "", **(values or {})},
            "errors": errors or {},
        }
    )


@pages.get("/guidelines/{slug}")
def guideline_page(
    request: Request, session: DbSession, user: MaybeUser, now: Now, slug: str
) -> Response:
    """A guideline: its version in force and the history of its versions."""
    guideline = service.get_guideline(session, slug)
    if not service.visible_versions(guideline, user):
        raise NotFound()
    return render_page(
        request, "guidelines/guideline.html", _guideline_context(guideline, user, now)
    )


def _previous_visible(version: GuidelineVersion, versions: list[GuidelineVersion]) -> str | None:
    older = [
        v.number
        for v in versions
        if service.version_key(v.number) < service.version_key(version.number)
    ]
    return max(older, key=service.version_key) if older else None


@pages.get("/guidelines/{slug}/{number}")
def version_page(
    request: Request, session: DbSession, user: MaybeUser, now: Now, slug: str, number: str
) -> HTMLResponse:
    """A version: status, principles and criteria with anchors, downloads and comparisons."""
    return _version_page(request, session, user, now, slug, number)


def _version_page(
    request: Request,
    session: Session,
    user: User | None,
    now: dt.datetime,
    slug: str,
    number: str,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    version = service.get_version(session, slug=slug, number=number, viewer=user)
    guideline = service.get_guideline(session, slug)
    versions = service.visible_versions(guideline, user)
    return render_page(
        request,
        "guidelines/version.html",
        _common(
            {
                "version": version,
                "guideline": guideline,
                "versions": versions,
                "previous": _previous_visible(version, versions),
                "standing": service.standings(guideline.versions, now)[version.id],
                "actions": service.available_actions(version, user, now=now),
                "days_left": service.days_left(version, now),
                "values": values or {},
                "errors": errors or {},
            }
        ),
        status_code=status_code,
    )


@pages.get("/guidelines/{slug}/{number}/pdf")
def version_pdf(
    request: Request, session: DbSession, user: MaybeUser, now: Now, slug: str, number: str
) -> Response:
    """The version as an A4 PDF in the reader's language."""
    version = service.get_version(session, slug=slug, number=number, viewer=user)
    standing = service.standing_of(session, version, now)
    tr = translator_for(request)
    data = render_version_pdf(
        version_document(version, status=standing.status),
        locale=tr.locale,
        status_label=tr.gettext(service.BADGE_LABELS[standing.badge]),
        is_draft=version.status in (VersionStatus.draft, VersionStatus.consultation),
        generated_on=now.date(),
    )
    filename = f"{slug}-{number}-{tr.locale}.pdf"
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@pages.get("/guidelines/{slug}/{number}/json")
def version_json(session: DbSession, user: MaybeUser, now: Now, slug: str, number: str) -> Response:
    """The version as a JSON document following the published schema."""
    version = service.get_version(session, slug=slug, number=number, viewer=user)
    status = service.standing_of(session, version, now).status
    body = version_document(version, status=status).model_dump(mode="json", by_alias=True)
    return JSONResponse(
        body,
        headers={"Content-Disposition": f'attachment; filename="{slug}-{number}.json"'},
    )


def _document_at(
    session: Session, slug: str, ref: str, user: User | None
) -> tuple[VersionDoc, str]:
    """A document by reference: a version number (1.1) or a revision of it (1.1r3)."""
    number, _, revision = ref.partition("r")
    version = service.get_version(session, slug=slug, number=number, viewer=user)
    if revision:
        revision_number = parse_int(revision)
        if not service.is_staff(user) or revision_number is None:
            raise NotFound()
        stored = service.get_revision(session, version, revision_number)
        return VersionDoc.model_validate(stored.document), ref
    return version_document(version), number


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
    old, old_label = _document_at(session, slug, from_ref, user)
    new, new_label = _document_at(session, slug, to_ref, user)
    # After the version trees: reloading them (populate_existing) unloads Guideline.versions.
    guideline = service.get_guideline(session, slug)
    return render_page(
        request,
        "guidelines/compare.html",
        _common(
            {
                "guideline": guideline,
                "versions": service.visible_versions(guideline, user),
                "diff": diff_versions(old, new),
                "old": old,
                "new": new,
                "old_label": old_label,
                "new_label": new_label,
                "segments_html": render_segments_html,
            }
        ),
    )


# Authoring ---------------------------------------------------------------------------------


def _draft(session: Session, slug: str, number: str, user: User) -> GuidelineVersion:
    return service.get_version(session, slug=slug, number=number, viewer=user)


@pages.get("/guidelines/{slug}/{number}/edit")
def edit_page(
    request: Request, session: DbSession, user: Staff, now: Now, slug: str, number: str
) -> HTMLResponse:
    """The secretariat's editor of a draft: summary, principles and criteria."""
    version = _draft(session, slug, number, user)
    service.ensure_draft(version)
    return render_page(
        request,
        "guidelines/edit.html",
        _common(
            {
                "version": version,
                "values": {"summary_es": version.summary_es, "summary_en": version.summary_en},
                "errors": {},
                "actions": service.available_actions(version, user, now=now),
                "newer": [v.number for v in service.newer_adopted(session, version)],
            }
        ),
    )


def _run_edit(
    request: Request,
    session: Session,
    version: GuidelineVersion,
    action: Callable[[], object],
    *,
    message: str,
    form_template: str | None = None,
    form_context: dict[str, Any] | None = None,
) -> Response:
    """Run an editing verb: commit and go back to the editor, or show the form with its errors."""
    try:
        action()
    except DomainError as error:
        session.rollback()
        if form_template is None or not isinstance(error, FORM_REFUSALS):
            raise
        # A stale edit (409) comes back typed too; the reloaded tree puts the current revision
        # in the form, so sending it again applies the change on top of the one named.
        load_version_tree(session, version.id)  # the rollback expired the tree the form shows
        fields = error_fields(request, error) if isinstance(error, Invalid) else {}
        context = {**(form_context or {}), "errors": fields}
        if not fields:
            context["form_error"] = error_message(request, error)
        return render_page(request, form_template, _common(context), status_code=error.status_code)
    session.commit()
    flash(request, message)
    return redirect(version_url(version, "/edit"))


@pages.post("/guidelines/{slug}/{number}/summary", response_model=None)
def save_summary(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
) -> Response:
    """Save a draft's summary."""
    version = _draft(session, slug, number, user)
    values = _form_dict(form)
    return _run_edit(
        request,
        session,
        version,
        lambda: service.update_summary(
            session,
            actor=user,
            version=version,
            data=parse_input(SummaryInput, values),
            expected_revision=_expected_revision(form),
            now=now,
        ),
        message=N_("The summary has been saved."),
        form_template="guidelines/edit.html",
        form_context={"version": version, "values": values, "actions": []},
    )


@pages.get("/guidelines/{slug}/{number}/principles/new")
def new_principle_form(
    request: Request, session: DbSession, user: Staff, slug: str, number: str
) -> HTMLResponse:
    """The form that adds a principle."""
    version = _draft(session, slug, number, user)
    service.ensure_draft(version)
    return render_page(
        request,
        "guidelines/principle_form.html",
        _common({"version": version, "principle": None, "values": {}, "errors": {}}),
    )


@pages.post("/guidelines/{slug}/{number}/principles", response_model=None)
def add_principle_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
) -> Response:
    """Add a principle to a draft."""
    version = _draft(session, slug, number, user)
    values = _form_dict(form)
    return _run_edit(
        request,
        session,
        version,
        lambda: service.add_principle(
            session,
            actor=user,
            version=version,
            data=parse_input(PrincipleInput, values),
            expected_revision=_expected_revision(form),
            now=now,
        ),
        message=N_("The principle has been added."),
        form_template="guidelines/principle_form.html",
        form_context={"version": version, "principle": None, "values": values},
    )


@pages.get("/guidelines/{slug}/{number}/principles/{principle_id}/edit")
def edit_principle_form(
    request: Request,
    session: DbSession,
    user: Staff,
    slug: str,
    number: str,
    principle_id: ObjectId,
) -> HTMLResponse:
    """The form that changes a principle."""
    version = _draft(session, slug, number, user)
    service.ensure_draft(version)
    principle = next((p for p in version.principles if p.id == principle_id), None)
    if principle is None:
        raise NotFound()
    values = {
        "code": principle.code,
        "title_es": principle.title_es,
        "title_en": principle.title_en,
        "description_es": principle.description_es,
        "description_en": principle.description_en,
    }
    return render_page(
        request,
        "guidelines/principle_form.html",
        _common({"version": version, "principle": principle, "values": values, "errors": {}}),
    )


@pages.post("/guidelines/{slug}/{number}/principles/{principle_id}", response_model=None)
def update_principle_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
    principle_id: ObjectId,
) -> Response:
    """Save a principle."""
    version = _draft(session, slug, number, user)
    values = _form_dict(form)
    principle = next((p for p in version.principles if p.id == principle_id), None)
    return _run_edit(
        request,
        session,
        version,
        lambda: service.update_principle(
            session,
            actor=user,
            version=version,
            principle_id=principle_id,
            data=parse_input(PrincipleInput, values),
            expected_revision=_expected_revision(form),
            now=now,
        ),
        message=N_("The principle has been saved."),
        form_template="guidelines/principle_form.html",
        form_context={"version": version, "principle": principle, "values": values},
    )


def _direction(form: FormData) -> Literal["up", "down"]:
    return "up" if form.get("direction") == "up" else "down"


@pages.post("/guidelines/{slug}/{number}/principles/{principle_id}/move", response_model=None)
def move_principle_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
    principle_id: ObjectId,
) -> Response:
    """Move a principle up or down."""
    version = _draft(session, slug, number, user)
    return _run_edit(
        request,
        session,
        version,
        lambda: service.move_principle(
            session,
            actor=user,
            version=version,
            principle_id=principle_id,
            direction=_direction(form),
            expected_revision=_expected_revision(form),
            now=now,
        ),
        message=N_("The order has been saved."),
    )


@pages.post("/guidelines/{slug}/{number}/principles/{principle_id}/delete", response_model=None)
def delete_principle_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
    principle_id: ObjectId,
) -> Response:
    """Remove a principle and its criteria."""
    version = _draft(session, slug, number, user)
    return _run_edit(
        request,
        session,
        version,
        lambda: service.delete_principle(
            session,
            actor=user,
            version=version,
            principle_id=principle_id,
            expected_revision=_expected_revision(form),
            now=now,
        ),
        message=N_("The principle has been removed."),
    )


def _criterion_values(form: FormData) -> dict[str, Any]:
    values = _form_dict(form)
    values["risk_levels"] = [v for v in form.getlist("risk_levels") if isinstance(v, str)]
    return values


@pages.get("/guidelines/{slug}/{number}/criteria/new")
def new_criterion_form(
    request: Request,
    session: DbSession,
    user: Staff,
    slug: str,
    number: str,
    principle: str = "",
) -> HTMLResponse:
    """The form that adds a criterion."""
    version = _draft(session, slug, number, user)
    service.ensure_draft(version)
    values = {"principle_code": principle, "risk_levels": [r.value for r in RiskLevel]}
    return render_page(
        request,
        "guidelines/criterion_form.html",
        _common({"version": version, "criterion": None, "values": values, "errors": {}}),
    )


@pages.post("/guidelines/{slug}/{number}/criteria", response_model=None)
def add_criterion_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
) -> Response:
    """Add a criterion to a draft."""
    version = _draft(session, slug, number, user)
    values = _criterion_values(form)
    return _run_edit(
        request,
        session,
        version,
        lambda: service.add_criterion(
            session,
            actor=user,
            version=version,
            data=parse_input(CriterionInput, values),
            expected_revision=_expected_revision(form),
            now=now,
        ),
        message=N_("The criterion has been added."),
        form_template="guidelines/criterion_form.html",
        form_context={"version": version, "criterion": None, "values": values},
    )


def _find_criterion(version: GuidelineVersion, criterion_id: int) -> Any:
    for principle in version.principles:
        for criterion in principle.criteria:
            if criterion.id == criterion_id:
                return principle, criterion
    raise NotFound()


@pages.get("/guidelines/{slug}/{number}/criteria/{criterion_id}/edit")
def edit_criterion_form(
    request: Request,
    session: DbSession,
    user: Staff,
    slug: str,
    number: str,
    criterion_id: ObjectId,
) -> HTMLResponse:
    """The form that changes a criterion."""
    version = _draft(session, slug, number, user)
    service.ensure_draft(version)
    principle, criterion = _find_criterion(version, criterion_id)
    values = {
        name: getattr(criterion, name)
        for name in CriterionInput.model_fields
        if name not in {"principle_code"}
    }
    values["principle_code"] = principle.code
    return render_page(
        request,
        "guidelines/criterion_form.html",
        _common({"version": version, "criterion": criterion, "values": values, "errors": {}}),
    )


@pages.post("/guidelines/{slug}/{number}/criteria/{criterion_id}", response_model=None)
def update_criterion_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
    criterion_id: ObjectId,
) -> Response:
    """Save a criterion."""
    version = _draft(session, slug, number, user)
    values = _criterion_values(form)
    _principle, criterion = _find_criterion(version, criterion_id)
    return _run_edit(
        request,
        session,
        version,
        lambda: service.update_criterion(
            session,
            actor=user,
            version=version,
            criterion_id=criterion_id,
            data=parse_input(CriterionInput, values),
            expected_revision=_expected_revision(form),
            now=now,
        ),
        message=N_("The criterion has been saved."),
        form_template="guidelines/criterion_form.html",
        form_context={"version": version, "criterion": criterion, "values": values},
    )


@pages.post("/guidelines/{slug}/{number}/criteria/{criterion_id}/move", response_model=None)
def move_criterion_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
    criterion_id: ObjectId,
) -> Response:
    """Move a criterion up or down within its principle."""
    version = _draft(session, slug, number, user)
    return _run_edit(
        request,
        session,
        version,
        lambda: service.move_criterion(
            session,
            actor=user,
            version=version,
            criterion_id=criterion_id,
            direction=_direction(form),
            expected_revision=_expected_revision(form),
            now=now,
        ),
        message=N_("The order has been saved."),
    )


@pages.post("/guidelines/{slug}/{number}/criteria/{criterion_id}/delete", response_model=None)
def delete_criterion_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
    criterion_id: ObjectId,
) -> Response:
    """Remove a criterion from a draft."""
    version = _draft(session, slug, number, user)
    return _run_edit(
        request,
        session,
        version,
        lambda: service.delete_criterion(
            session,
            actor=user,
            version=version,
            criterion_id=criterion_id,
            expected_revision=_expected_revision(form),
            now=now,
        ),
        message=N_("The criterion has been removed."),
    )


@pages.get("/guidelines/{slug}/{number}/revisions")
def revisions_page(
    request: Request, session: DbSession, user: Staff, slug: str, number: str
) -> HTMLResponse:
    """The revision history of a version."""
    version = _draft(session, slug, number, user)
    return render_page(
        request,
        "guidelines/revisions.html",
        _common({"version": version, "revisions": service.list_revisions(session, version)}),
    )


@pages.get("/guidelines/{slug}/{number}/revisions/{revision_number}")
def revision_page(
    request: Request,
    session: DbSession,
    user: Staff,
    slug: str,
    number: str,
    revision_number: ObjectId,
) -> HTMLResponse:
    """One saved state of a version's text."""
    version = _draft(session, slug, number, user)
    revision = service.get_revision(session, version, revision_number)
    return render_page(
        request,
        "guidelines/revision.html",
        _common(
            {
                "version": version,
                "revision": revision,
                "doc": VersionDoc.model_validate(revision.document),
            }
        ),
    )


@pages.get("/guidelines/{slug}/{number}/rebase")
def rebase_page(
    request: Request, session: DbSession, user: Staff, slug: str, number: str
) -> HTMLResponse:
    """A three-way view of a draft: what newer adopted versions changed beside its own changes."""
    version = _draft(session, slug, number, user)
    service.ensure_draft(version)
    view = service.rebase_view(session, version)
    return render_page(
        request,
        "guidelines/rebase.html",
        _common({"view": view, "version": view.version, "segments_html": render_segments_html}),
    )


@pages.post("/guidelines/{slug}/{number}/rebase", response_model=None)
def rebase_draft_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
) -> Response:
    """Bring the changes of the versions adopted since the draft's base into the draft."""
    version = _draft(session, slug, number, user)
    conflicts = service.rebase_draft(
        session, actor=user, version=version, expected_revision=_expected_revision(form), now=now
    )
    session.commit()
    if conflicts:
        flash(
            request,
            N_(
                "The draft has been rebased. Both it and the newer version changed %(codes)s: "
                "the draft's text was kept there; review it."
            ),
            "info",
            codes=", ".join(conflicts),
        )
    else:
        flash(request, N_("The draft has been rebased onto the newer version."))
    return redirect(version_url(version, "/edit"))


@pages.post("/guidelines/{slug}/drafts", response_model=None)
def new_draft_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
) -> Response:
    """Start a new draft copied from a chosen version (by default the one adopted last)."""
    guideline = service.get_guideline(session, slug)
    values = _form_dict(form)
    try:
        data = parse_input(NewDraftInput, {**values, "source": values.get("source") or None})
        version = service.start_new_draft(
            session,
            actor=user,
            guideline=guideline,
            number=data.number,
            source_number=data.source,
            now=now,
        )
    except Invalid as error:
        session.rollback()
        guideline = service.get_guideline(session, slug)
        return render_page(
            request,
            "guidelines/guideline.html",
            _guideline_context(
                guideline, user, now, values=values, errors=error_fields(request, error)
            ),
            status_code=422,
        )
    once.done(f"/guidelines/{slug}/{version.number}/edit", now=now)
    session.commit()
    flash(request, N_("Draft %(number)s has been started."), number=version.number)
    return redirect(f"/guidelines/{slug}/{version.number}/edit")


async def _read_upload(upload: object) -> bytes:
    if not isinstance(upload, UploadFile):
        raise Invalid(fields={"document": N_("Choose a JSON file.")})
    data = await upload.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise Invalid(fields={"document": N_("The file is larger than 2 MB.")})
    return data


async def import_upload(form: SubmittedForm) -> bytes | Invalid:
    """The uploaded JSON document of an import, or why it cannot be read."""
    try:
        return await _read_upload(form.get("document"))
    except Invalid as error:
        return error


@pages.post("/guidelines/{slug}/import", response_model=None)
@accepts_uploads
def import_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: Staff,
    now: Now,
    slug: str,
    upload: Annotated[bytes | Invalid, Depends(import_upload)],
) -> Response:
    """Load a version document authored elsewhere as a new draft."""
    guideline = service.get_guideline(session, slug)
    try:
        if isinstance(upload, Invalid):
            raise upload
        try:
            data = json.loads(upload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Invalid(fields={"document": N_("The file is not valid JSON.")}) from exc
        version = service.import_version(
            session, actor=user, guideline=guideline, document=parse_document(data), now=now
        )
    except Invalid as error:
        session.rollback()
        guideline = service.get_guideline(session, slug)
        fields = error_fields(request, error)
        return render_page(
            request,
            "guidelines/guideline.html",
            _guideline_context(
                guideline,
                user,
                now,
                errors={"document": error_message(request, error), **fields},
            ),
            status_code=422,
        )
    once.done(f"/guidelines/{slug}/{version.number}/edit", now=now)
    session.commit()
    flash(request, N_("Draft %(number)s has been imported."), number=version.number)
    return redirect(f"/guidelines/{slug}/{version.number}/edit")


@pages.post("/guidelines/{slug}/{number}/consultation/open", response_model=None)
def open_consultation_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
) -> Response:
    """Put a draft to public consultation."""
    version = _draft(session, slug, number, user)
    values = _form_dict(form)
    try:
        data = parse_input(ConsultationInput, values)
        service.open_consultation(
            session,
            actor=user,
            version=version,
            closes_on=data.closes_on,
            min_days=request.app.state.settings.consultation_min_days,
            now=now,
        )
    except Invalid as error:
        session.rollback()
        version = _draft(session, slug, number, user)
        return render_page(
            request,
            "guidelines/edit.html",
            _common(
                {
                    "version": version,
                    "values": {
                        **values,
                        "summary_es": version.summary_es,
                        "summary_en": version.summary_en,
                    },
                    "errors": error_fields(request, error),
                    "actions": service.available_actions(version, user, now=now),
                }
            ),
            status_code=422,
        )
    session.commit()
    flash(request, N_("The public consultation is open."))
    return redirect(version_url(version))


@pages.post("/guidelines/{slug}/{number}/return-to-draft")
def return_to_draft_page(
    request: Request, session: DbSession, user: Staff, now: Now, slug: str, number: str
) -> Response:
    """End a closed consultation and reopen the text for changes."""
    version = _draft(session, slug, number, user)
    service.return_to_draft(session, actor=user, version=version, now=now)
    session.commit()
    flash(request, N_("The version is a draft again and can be edited."))
    return redirect(version_url(version, "/edit"))


@pages.post("/guidelines/{slug}/{number}/withdraw")
def withdraw_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    slug: str,
    number: str,
) -> Response:
    """Withdraw a draft."""
    version = _draft(session, slug, number, user)
    values = _form_dict(form)
    reason = values.get("reason")
    try:
        service.withdraw_version(
            session,
            actor=user,
            version=version,
            reason=reason if isinstance(reason, str) else "",
            now=now,
        )
    except Invalid as error:
        session.rollback()
        return _version_page(
            request,
            session,
            user,
            now,
            slug,
            number,
            values=values,
            errors=error_fields(request, error),
            status_code=error.status_code,
        )
    session.commit()
    flash(request, N_("The draft has been withdrawn."))
    return redirect(f"/guidelines/{slug}")


# API ---------------------------------------------------------------------------------------


def _guideline_out(guideline: Any, user: User | None, now: dt.datetime) -> GuidelineOut:
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


@api.get("/guidelines", response_model=Page[GuidelineOut])
def api_guidelines(
    session: DbSession,
    user: MaybeUser,
    now: Now,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[GuidelineOut]:
    """The council's guidelines with their visible versions."""
    items = [
        _guideline_out(g, user, now)
        for g in service.list_guidelines(session)
        if service.visible_versions(g, user)
    ]
    start = (params.page - 1) * params.page_size
    return Page[GuidelineOut](
        items=items[start : start + params.page_size],
        total=len(items),
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
    guideline = service.get_guideline(session, slug)
    if not service.visible_versions(guideline, user):
        raise NotFound()
    return _guideline_out(guideline, user, now)


@api.get("/guidelines/{slug}/versions/{number}", response_model=VersionDoc)
def api_version(
    session: DbSession, user: MaybeUser, now: Now, slug: str, number: str
) -> JSONResponse:
    """A whole version as the published JSON document; the ETag is its revision number."""
    version = service.get_version(session, slug=slug, number=number, viewer=user)
    status = service.standing_of(session, version, now).status
    return JSONResponse(
        version_document(version, status=status).model_dump(mode="json", by_alias=True),
        headers={"ETag": f'"{version.revision_number}"'},
    )


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    cleaned = value.strip().strip('"').removeprefix("W/").strip('"')
    expected = parse_int(cleaned)
    return -1 if expected is None else expected


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
def api_revisions(session: DbSession, user: Staff, slug: str, number: str) -> Any:
    """The revision history of a version."""
    version = service.get_version(session, slug=slug, number=number, viewer=user)
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
    version = service.get_version(session, slug=slug, number=number, viewer=user)
    service.open_consultation(
        session,
        actor=user,
        version=version,
        closes_on=body.closes_on,
        min_days=request.app.state.settings.consultation_min_days,
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
    old, _ = _document_at(session, slug, from_ref, user)
    new, _ = _document_at(session, slug, to_ref, user)
    return diff_versions(old, new).model_dump(mode="json")


@api.get("/schemas/guideline-version.json")
def api_version_schema() -> dict[str, Any]:
    """The JSON Schema of a guideline version document (import and export)."""
    return version_json_schema()
