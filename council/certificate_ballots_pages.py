"""Managing certificates: the list, a certificate's page, ballots, urgent suspension, renewal."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from core.accounts import User
from core.auth import Now, SignedIn, Staff
from core.errors import N_, Conflict, Invalid
from core.forms import parse_input
from core.submissions import Once
from core.web import (
    PageForm,
    SubmittedForm,
    flash,
    redirect,
    refuse_form,
    render_page,
    service_settings,
)
from council import certificate_ballots as cb
from council.home_pages import LABELS, DbSession
from council.schemas import CertificateBallotInput, UrgentSuspensionInput
from quality_marks import certificate_lifecycle as lifecycle
from quality_marks.certificate_history import EVENT_LABELS, STATUS_LABELS, WITHDRAWAL_LABELS

pages = APIRouter(include_in_schema=False)

BALLOT_FIELDS = (
    "kind",
    "reason_es",
    "reason_en",
    "reason_code",
    "rule",
    "quorum_percent",
    "closes_on",
)
URGENT_FIELDS = ("reason_es", "reason_en")


def _labels() -> dict[str, Any]:
    return {
        **LABELS,
        "status_labels": STATUS_LABELS,
        "withdrawal_labels": WITHDRAWAL_LABELS,
        "event_labels": EVENT_LABELS,
        "action_labels": lifecycle.ACTION_LABELS,
        "kind_labels": cb.KIND_LABELS,
    }


@pages.get("/certificates")
def certificates_page(
    request: Request,
    session: DbSession,
    user: Staff,
    status: str = Query("", max_length=20),
    page: int = Query(1, ge=1, le=100_000),
) -> HTMLResponse:
    """The secretariat's list of certificates, by status or those asked to re-assess."""
    listed = lifecycle.certificates_list(session, viewer=user, filter_by=status, page=page)
    context = {**_labels(), "listed": listed, "status": status, "filters": lifecycle.LIST_FILTERS}
    return render_page(request, "quality_marks/certificates.html", context)


def _manage_page(
    request: Request,
    session: Session,
    user: User,
    number: str,
    now: dt.datetime,
    form: PageForm | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    certificate = lifecycle.get_certificate_by_number(session, number)
    standing = cb.council_standing(session, user, certificate, now)
    view = lifecycle.certificate_view(session, user, number, standing, now)
    form = form or PageForm(values=cb.ballot_form_defaults(now))
    kinds = [kind for kind, action in cb.OPENING_ACTIONS.items() if action in view.actions]
    context = {
        **_labels(),
        **form.context(),
        "view": view,
        "kinds": kinds,
        "confirm_days": service_settings(request).suspension_confirm_days,
    }
    return render_page(
        request, "quality_marks/certificate_manage.html", context, status_code=status_code
    )


@pages.get("/certificates/{number}/manage")
def manage_page(
    request: Request, session: DbSession, user: SignedIn, now: Now, number: str
) -> HTMLResponse:
    """A certificate for its holder and the council: status, history, what the person may do."""
    return _manage_page(request, session, user, number, now)


@pages.post("/certificates/{number}/ballots", response_model=None)
def open_ballot_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: Staff,
    now: Now,
    form: SubmittedForm,
    number: str,
) -> Response:
    """Put a suspension, reinstatement or withdrawal of the certificate to the council."""
    values = {name: str(form.get(name) or "") for name in BALLOT_FIELDS}
    try:
        data = parse_input(CertificateBallotInput, {k: v for k, v in values.items() if v})
        ballot = cb.put_certificate_to_ballot(
            session,
            actor=user,
            number=number,
            terms=data,
            base_url=service_settings(request).base_url,
            now=now,
        )
    except (Invalid, Conflict) as error:
        refused = refuse_form(request, session, error, values, on_field="kind")
        return _manage_page(
            request, session, user, number, now, refused, status_code=error.status_code
        )
    once.done(f"/council/ballots/{ballot.id}", now=now)
    session.commit()
    flash(request, N_("The ballot is open."))
    return redirect(f"/council/ballots/{ballot.id}")


@pages.post("/certificates/{number}/urgent-suspension", response_model=None)
def urgent_suspension_page(
    request: Request,
    session: DbSession,
    once: Once,
    user: SignedIn,
    now: Now,
    form: SubmittedForm,
    number: str,
) -> Response:
    """The chair suspends the certificate at once; the ballot to confirm it opens."""
    values = {name: str(form.get(name) or "") for name in URGENT_FIELDS}
    try:
        data = parse_input(UrgentSuspensionInput, values)
        ballot = cb.suspend_urgently(
            session,
            actor=user,
            number=number,
            terms=data,
            base_url=service_settings(request).base_url,
            now=now,
            rules=lifecycle.CertificateRules.from_settings(service_settings(request)),
        )
    except (Invalid, Conflict) as error:
        refused = refuse_form(request, session, error, values, on_field="reason_es")
        return _manage_page(
            request, session, user, number, now, refused, status_code=error.status_code
        )
    once.done(f"/council/ballots/{ballot.id}", now=now)
    session.commit()
    flash(request, N_("The certificate is suspended; the ballot to confirm it is open."))
    return redirect(f"/certificates/{number}/manage")


@pages.post("/certificates/{number}/renewal", response_model=None)
def renewal_page(
    request: Request, session: DbSession, once: Once, user: SignedIn, now: Now, number: str
) -> Response:
    """The holder starts the renewal: a new draft application pre-filled from the last one."""
    certificate = lifecycle.get_certificate_by_number(session, number)
    application = lifecycle.start_renewal(session, actor=user, certificate=certificate, now=now)
    once.done(f"/applications/{application.id}", now=now)
    session.commit()
    flash(request, N_("The renewal has started: review the answers copied from the last one."))
    return redirect(f"/applications/{application.id}")
