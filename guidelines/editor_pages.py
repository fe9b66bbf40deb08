"""The secretariat's editor of a draft: summary, principles, criteria, revisions and rebasing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core.accounts import User
from core.api import ObjectId, parse_int
from core.auth import Now, Staff
from core.errors import N_, DomainError
from core.forms import parse_input
from core.web import PageForm, SubmittedForm, flash, redirect, refuse_form, render_page
from guidelines import service
from guidelines.diff import render_change_html, render_segments_html
from guidelines.documents import VersionDoc, load_version_tree
from guidelines.models import GuidelineVersion, RiskLevel
from guidelines.schemas import CriterionInput, PrincipleInput, SummaryInput
from guidelines.versions_pages import (
    FORM_REFUSALS,
    DbSession,
    EditableDraft,
    Version,
    guideline_context,
    submitted_values,
    version_url,
)

pages = APIRouter(include_in_schema=False)

EDIT_TEMPLATE = "guidelines/edit.html"
PRINCIPLE_TEMPLATE = "guidelines/principle_form.html"
CRITERION_TEMPLATE = "guidelines/criterion_form.html"
PRINCIPLE_FIELDS = ("code", "title_es", "title_en", "description_es", "description_en")


@dataclass(frozen=True)
class EditPage:
    """The editor of a draft: its text, the summary form, what may happen to it next."""

    version: GuidelineVersion
    actions: list[str]
    # Versions adopted after the draft's base, which adopting it as it is would undo.
    newer: list[str] = field(default_factory=list)
    form: PageForm = field(default_factory=PageForm)

    def context(self) -> dict[str, Any]:
        """The names the editor template reads."""
        return guideline_context(
            {
                "version": self.version,
                "actions": self.actions,
                "newer": self.newer,
                **self.form.context(),
            }
        )


def build_edit_page(
    version: GuidelineVersion, user: User, now: dt.datetime, form: PageForm, newer: list[str]
) -> EditPage:
    """The editor of a loaded draft, its summary in the form unless the form says otherwise."""
    summary = {"summary_es": version.summary_es, "summary_en": version.summary_en}
    return EditPage(
        version=version,
        actions=service.available_actions(version, user, now=now),
        newer=newer,
        form=PageForm(form.name, {**form.values, **summary}, form.errors, form.message),
    )


@dataclass(frozen=True)
class EditForm:
    """A form of the editor shown again when its change is refused: template, input, context."""

    template: str
    values: Mapping[str, Any]
    extra: dict[str, Any]


def _expected_revision(form: FormData) -> int | None:
    return parse_int(form.get("revision"))


def _criterion_values(form: FormData) -> dict[str, Any]:
    values = submitted_values(form)
    values["risk_levels"] = [v for v in form.getlist("risk_levels") if isinstance(v, str)]
    return values


def _direction(form: FormData) -> Literal["up", "down"]:
    return "up" if form.get("direction") == "up" else "down"


def _edit(
    request: Request,
    session: Session,
    version: GuidelineVersion,
    change: Callable[[], object],
    *,
    message: str,
    form: EditForm | None = None,
) -> Response:
    """Run an editing verb: commit and go back to the editor, or show the form with its errors."""
    try:
        change()
    except DomainError as error:
        if form is None or not isinstance(error, FORM_REFUSALS):
            session.rollback()
            raise
        refused = refuse_form(request, session, error, form.values)
        # A stale edit (409) comes back typed too; the reloaded tree puts the current revision
        # in the form, so sending it again applies the change on top of the one named.
        load_version_tree(session, version.id)  # the rollback expired the tree the form shows
        context = guideline_context({**form.extra, **refused.context()})
        return render_page(request, form.template, context, status_code=error.status_code)
    session.commit()
    flash(request, message)
    return redirect(version_url(version, "/edit"))


@pages.get("/guidelines/{slug}/{number}/edit")
def edit_page(
    request: Request, session: DbSession, user: Staff, now: Now, version: EditableDraft
) -> HTMLResponse:
    """The secretariat's editor of a draft: summary, principles and criteria."""
    newer = [v.number for v in service.newer_adopted(session, version)]
    page = build_edit_page(version, user, now, PageForm(), newer)
    return render_page(request, EDIT_TEMPLATE, page.context())


@pages.post("/guidelines/{slug}/{number}/summary", response_model=None)
def save_summary(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    version: Version,
) -> Response:
    """Save a draft's summary."""
    values = submitted_values(form)
    return _edit(
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
        form=EditForm(EDIT_TEMPLATE, values, {"version": version, "actions": []}),
    )


@pages.get("/guidelines/{slug}/{number}/principles/new")
def new_principle_form(request: Request, user: Staff, version: EditableDraft) -> HTMLResponse:
    """The form that adds a principle."""
    return render_page(
        request,
        PRINCIPLE_TEMPLATE,
        guideline_context({"version": version, "principle": None, "values": {}, "errors": {}}),
    )


@pages.post("/guidelines/{slug}/{number}/principles", response_model=None)
def add_principle_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    version: Version,
) -> Response:
    """Add a principle to a draft."""
    values = submitted_values(form)
    return _edit(
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
        form=EditForm(PRINCIPLE_TEMPLATE, values, {"version": version, "principle": None}),
    )


@pages.get("/guidelines/{slug}/{number}/principles/{principle_id}/edit")
def edit_principle_form(
    request: Request, user: Staff, version: EditableDraft, principle_id: ObjectId
) -> HTMLResponse:
    """The form that changes a principle."""
    principle = service.find_principle(version, principle_id)
    values = {name: getattr(principle, name) for name in PRINCIPLE_FIELDS}
    context = {"version": version, "principle": principle, "values": values, "errors": {}}
    return render_page(request, PRINCIPLE_TEMPLATE, guideline_context(context))


@pages.post("/guidelines/{slug}/{number}/principles/{principle_id}", response_model=None)
def update_principle_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    version: Version,
    principle_id: ObjectId,
) -> Response:
    """Save a principle."""
    values = submitted_values(form)
    principle = service.principle_of(version, principle_id)
    return _edit(
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
        form=EditForm(PRINCIPLE_TEMPLATE, values, {"version": version, "principle": principle}),
    )


@pages.post("/guidelines/{slug}/{number}/principles/{principle_id}/move", response_model=None)
def move_principle_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    version: Version,
    principle_id: ObjectId,
) -> Response:
    """Move a principle up or down."""
    return _edit(
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
    version: Version,
    principle_id: ObjectId,
) -> Response:
    """Remove a principle and its criteria."""
    return _edit(
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


@pages.get("/guidelines/{slug}/{number}/criteria/new")
def new_criterion_form(
    request: Request, user: Staff, version: EditableDraft, principle: str = ""
) -> HTMLResponse:
    """The form that adds a criterion."""
    values = {"principle_code": principle, "risk_levels": [r.value for r in RiskLevel]}
    context = {"version": version, "criterion": None, "values": values, "errors": {}}
    return render_page(request, CRITERION_TEMPLATE, guideline_context(context))


@pages.post("/guidelines/{slug}/{number}/criteria", response_model=None)
def add_criterion_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    version: Version,
) -> Response:
    """Add a criterion to a draft."""
    values = _criterion_values(form)
    return _edit(
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
        form=EditForm(CRITERION_TEMPLATE, values, {"version": version, "criterion": None}),
    )


@pages.get("/guidelines/{slug}/{number}/criteria/{criterion_id}/edit")
def edit_criterion_form(
    request: Request, user: Staff, version: EditableDraft, criterion_id: ObjectId
) -> HTMLResponse:
    """The form that changes a criterion."""
    criterion = service.find_criterion(version, criterion_id)
    values = {
        name: getattr(criterion, name)
        for name in CriterionInput.model_fields
        if name not in {"principle_code"}
    }
    values["principle_code"] = service.find_principle(version, criterion.principle_id).code
    context = {"version": version, "criterion": criterion, "values": values, "errors": {}}
    return render_page(request, CRITERION_TEMPLATE, guideline_context(context))


@pages.post("/guidelines/{slug}/{number}/criteria/{criterion_id}", response_model=None)
def update_criterion_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    version: Version,
    criterion_id: ObjectId,
) -> Response:
    """Save a criterion."""
    values = _criterion_values(form)
    criterion = service.find_criterion(version, criterion_id)
    return _edit(
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
        form=EditForm(CRITERION_TEMPLATE, values, {"version": version, "criterion": criterion}),
    )


@pages.post("/guidelines/{slug}/{number}/criteria/{criterion_id}/move", response_model=None)
def move_criterion_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    version: Version,
    criterion_id: ObjectId,
) -> Response:
    """Move a criterion up or down within its principle."""
    return _edit(
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
    version: Version,
    criterion_id: ObjectId,
) -> Response:
    """Remove a criterion from a draft."""
    return _edit(
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
    request: Request, session: DbSession, user: Staff, version: Version
) -> HTMLResponse:
    """The revision history of a version."""
    revisions = service.list_revisions(session, version)
    return render_page(
        request,
        "guidelines/revisions.html",
        guideline_context({"version": version, "revisions": revisions}),
    )


@pages.get("/guidelines/{slug}/{number}/revisions/{revision_number}")
def revision_page(
    request: Request, session: DbSession, user: Staff, version: Version, revision_number: ObjectId
) -> HTMLResponse:
    """One saved state of a version's text."""
    revision = service.get_revision(session, version, revision_number)
    doc = VersionDoc.model_validate(revision.document)
    return render_page(
        request,
        "guidelines/revision.html",
        guideline_context({"version": version, "revision": revision, "doc": doc}),
    )


@pages.get("/guidelines/{slug}/{number}/rebase")
def rebase_page(
    request: Request, session: DbSession, user: Staff, version: EditableDraft
) -> HTMLResponse:
    """A three-way view of a draft: what newer adopted versions changed beside its own changes."""
    view = service.rebase_view(session, version)
    return render_page(
        request,
        "guidelines/rebase.html",
        guideline_context(
            {
                "view": view,
                "version": view.version,
                "segments_html": render_segments_html,
                "change_html": render_change_html,
            }
        ),
    )


@pages.post("/guidelines/{slug}/{number}/rebase", response_model=None)
def rebase_draft_page(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    version: Version,
) -> Response:
    """Bring the changes of the versions adopted since the draft's base into the draft."""
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
