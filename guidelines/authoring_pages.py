"""The secretariat's authoring pages: guidelines and drafts started, and moved along their life."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from core.auth import Now, Staff
from core.errors import N_, Invalid
from core.forms import parse_input
from core.limits import accepts_uploads
from core.submissions import Once
from core.web import (
    SubmittedForm,
    field_text,
    flash,
    redirect,
    refuse_form,
    render_page,
    render_refused,
    service_settings,
)
from guidelines import service
from guidelines.documents import VersionDoc, load_version_tree, parse_document
from guidelines.editor_pages import EDIT_TEMPLATE, build_edit_page
from guidelines.schemas import ConsultationInput, GuidelineInput, NewDraftInput
from guidelines.versions_pages import (
    DbSession,
    Version,
    build_version_page,
    guideline_page_context,
    submitted_values,
    version_url,
)

pages = APIRouter(include_in_schema=False)

MAX_IMPORT_BYTES = 2 * 1024 * 1024


@pages.get("/guidelines/new")
def new_guideline_form(request: Request, user: Staff) -> HTMLResponse:
    """The form that starts a guideline."""
    return render_page(request, "guidelines/new.html", {"values": {}, "errors": {}})


@pages.post("/guidelines", response_model=None)
def create_guideline_page(
    request: Request, session: DbSession, once: Once, user: Staff, now: Now, form: SubmittedForm
) -> Response:
    """Start a guideline with an empty draft."""
    values = submitted_values(form)
    try:
        guideline = service.create_guideline(
            session, actor=user, data=parse_input(GuidelineInput, values), now=now
        )
    except Invalid as error:
        return render_refused(request, session, error, "guidelines/new.html", values)
    once.done(f"/guidelines/{guideline.slug}/1.0/edit", now=now)
    session.commit()
    flash(request, N_("The guideline has been created with an empty draft 1.0."))
    return redirect(f"/guidelines/{guideline.slug}/1.0/edit")


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
    values = submitted_values(form)
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
        refused = refuse_form(request, session, error, values)
        context = guideline_page_context(service.get_guideline(session, slug), user, now, refused)
        return render_page(request, "guidelines/guideline.html", context, status_code=422)
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


async def import_upload(form: SubmittedForm) -> VersionDoc | Invalid:
    """The uploaded version document of an import, or why it cannot be read."""
    try:
        upload = await _read_upload(form.get("document"))
        try:
            data = json.loads(upload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Invalid(fields={"document": N_("The file is not valid JSON.")}) from exc
        return parse_document(data)
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
    upload: Annotated[VersionDoc | Invalid, Depends(import_upload)],
) -> Response:
    """Load a version document authored elsewhere as a new draft."""
    guideline = service.get_guideline(session, slug)
    try:
        if isinstance(upload, Invalid):
            raise upload
        version = service.import_version(
            session, actor=user, guideline=guideline, document=upload, now=now
        )
    except Invalid as error:
        refused = refuse_form(request, session, error, {})
        refused.errors = {"document": refused.message, **refused.errors}
        context = guideline_page_context(service.get_guideline(session, slug), user, now, refused)
        return render_page(request, "guidelines/guideline.html", context, status_code=422)
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
    version: Version,
) -> Response:
    """Put a draft to public consultation."""
    values = submitted_values(form)
    try:
        service.open_consultation(
            session,
            actor=user,
            version=version,
            closes_on=parse_input(ConsultationInput, values).closes_on,
            min_days=service_settings(request).consultation_min_days,
            now=now,
        )
    except Invalid as error:
        refused = refuse_form(request, session, error, values)
        page = build_edit_page(load_version_tree(session, version.id), user, now, refused, [])
        return render_page(request, EDIT_TEMPLATE, page.context(), status_code=422)
    session.commit()
    flash(request, N_("The public consultation is open."))
    return redirect(version_url(version))


@pages.post("/guidelines/{slug}/{number}/return-to-draft")
def return_to_draft_page(
    request: Request, session: DbSession, user: Staff, now: Now, version: Version
) -> Response:
    """End a closed consultation and reopen the text for changes."""
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
    version: Version,
) -> Response:
    """Withdraw a draft."""
    values = submitted_values(form)
    slug = version.guideline.slug
    try:
        service.withdraw_version(
            session, actor=user, version=version, reason=field_text(form, "reason"), now=now
        )
    except Invalid as error:
        refused = refuse_form(request, session, error, values)
        page = build_version_page(
            session, load_version_tree(session, version.id), user, now, refused
        )
        return render_page(
            request, "guidelines/version.html", page.context(), status_code=error.status_code
        )
    session.commit()
    flash(request, N_("The draft has been withdrawn."))
    return redirect(f"/guidelines/{slug}")
