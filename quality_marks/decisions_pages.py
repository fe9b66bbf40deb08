"""Pages of decisions: the applicant's view of a decision, the appeal, the public mark levels."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from core.accounts import User
from core.api import ObjectId
from core.auth import Now, SignedIn, Staff
from core.db import get_session, sibling_factory
from core.errors import N_, Conflict, Invalid
from core.settings import Settings
from core.submissions import Once
from core.web import (
    PageForm,
    SubmittedForm,
    council_keys,
    field_text,
    flash,
    redirect,
    refuse_form,
    render_page,
    service_settings,
)
from quality_marks import applications, certificates, decisions
from quality_marks.applications import DECISION_LABELS, STATUS_LABELS
from quality_marks.certificate_history import STATUS_LABELS as CERTIFICATE_STATUS_LABELS
from quality_marks.organizations_pages import file_store

pages = APIRouter(include_in_schema=False)

DbSession = Annotated[Session, Depends(get_session)]


def _labels() -> dict[str, Any]:
    return {
        "decision_labels": DECISION_LABELS,
        "status_labels": STATUS_LABELS,
        "finding_labels": decisions.FINDING_LABELS,
        "level_labels": decisions.LEVEL_LABELS,
        "appeal_labels": decisions.APPEAL_LABELS,
        "certificate_labels": CERTIFICATE_STATUS_LABELS,
    }


def _decision_page(
    request: Request,
    session: Session,
    user: User,
    application_id: int,
    now: dt.datetime,
    form: PageForm | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    view = decisions.decision_view(session, user, application_id, now)
    context = {**_labels(), **(form or PageForm()).context(), "view": view}
    return render_page(request, "quality_marks/decision.html", context, status_code=status_code)


@pages.get("/applications/{application_id}/decision")
def decision_page(
    request: Request, session: DbSession, user: SignedIn, now: Now, application_id: ObjectId
) -> HTMLResponse:
    """The council's decision on an application: outcome, level, reasons, findings, appeal."""
    return _decision_page(request, session, user, application_id, now)


@pages.post("/applications/{application_id}/appeal", response_model=None)
def appeal_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: SignedIn,
    now: Now,
    form: SubmittedForm,
    application_id: ObjectId,
) -> Response:
    """The organisation appeals a refusal, giving its grounds."""
    grounds = field_text(form, "grounds")
    settings: Settings = service_settings(request)
    try:
        decisions.file_appeal(
            session,
            actor=user,
            application=applications.get_application(session, user, application_id),
            grounds=grounds,
            base_url=settings.base_url,
            now=now,
        )
    except (Invalid, Conflict) as error:
        refused = refuse_form(request, session, error, {"grounds": grounds}, on_field="grounds")
        return _decision_page(
            request, session, user, application_id, now, refused, status_code=error.status_code
        )
    once.done(f"/applications/{application_id}/decision", now=now)
    session.commit()
    flash(request, N_("Your appeal has been filed. The council will hear it."))
    return redirect(f"/applications/{application_id}/decision")


@pages.post("/applications/{application_id}/certificate", response_model=None)
def issue_certificate_page(
    request: Request, session: DbSession, user: Staff, now: Now, application_id: ObjectId
) -> Response:
    """The secretariat issues the certificate of a granted mark, or retries one (idempotent)."""
    settings: Settings = service_settings(request)
    try:
        certificate = certificates.issue_for_application(
            sibling_factory(session),
            application_id=application_id,
            keys=council_keys(request),
            store=file_store(request),
            base_url=settings.base_url,
            prefix=settings.certificate_prefix,
            actor=user,
            now=now,
        )
    except Conflict as error:
        flash(request, error.message, "error", **error.params)
        return redirect(f"/applications/{application_id}/decision")
    flash(request, N_("Certificate %(number)s is issued."), number=certificate.number)
    return redirect(f"/applications/{application_id}/decision")


@pages.get("/marks/levels")
def mark_levels_page(request: Request, session: DbSession, now: Now) -> HTMLResponse:
    """The published rules that turn review findings into a level of the quality mark."""
    context = {
        **_labels(),
        "rules": decisions.published_rules(session, now),
        "default_rule": decisions.DEFAULT_RULE,
    }
    return render_page(request, "quality_marks/mark_levels.html", context)
