"""The certificates' actions in the API: what may be done, ballots, urgent suspension, renewal."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from core.accounts import User
from core.api import ERROR_RESPONSES
from core.auth import Now, SignedIn, Staff
from core.web import service_settings
from council import certificate_ballots as cb
from council.home_pages import DbSession
from council.schemas import (
    CertificateActionsOut,
    CertificateBallotInput,
    CertificateRenewalOut,
    UrgentSuspensionInput,
)
from quality_marks import certificate_lifecycle as lifecycle

api = APIRouter(prefix="/api/v1", tags=["council"], responses=ERROR_RESPONSES)


def _actions(session: Session, user: User, number: str, now: dt.datetime) -> CertificateActionsOut:
    certificate = lifecycle.get_certificate_by_number(session, number)
    standing = cb.council_standing(session, user, certificate, now)
    view = lifecycle.certificate_view(session, user, number, standing, now)
    return CertificateActionsOut(
        number=certificate.number,
        status=certificate.status.value,
        confirm_suspension_by=certificate.confirm_suspension_by,
        renewal_application_id=certificate.renewal_application_id,
        actions=view.actions,
    )


@api.get("/certificates/{number}/actions", response_model=CertificateActionsOut)
def api_certificate_actions(
    session: DbSession, user: SignedIn, now: Now, number: str
) -> CertificateActionsOut:
    """A certificate's status and what the caller may do with it next."""
    return _actions(session, user, number, now)


@api.post("/certificates/{number}/ballots", response_model=CertificateActionsOut, status_code=201)
def api_open_certificate_ballot(
    request: Request,
    session: DbSession,
    user: Staff,
    now: Now,
    number: str,
    body: CertificateBallotInput,
) -> CertificateActionsOut:
    """Put a suspension, reinstatement or withdrawal of the certificate to the council."""
    cb.put_certificate_to_ballot(
        session,
        actor=user,
        number=number,
        terms=body,
        base_url=service_settings(request).base_url,
        now=now,
    )
    session.commit()
    return _actions(session, user, number, now)


@api.post(
    "/certificates/{number}/urgent-suspension",
    response_model=CertificateActionsOut,
    status_code=201,
)
def api_suspend_urgently(
    request: Request,
    session: DbSession,
    user: SignedIn,
    now: Now,
    number: str,
    body: UrgentSuspensionInput,
) -> CertificateActionsOut:
    """The chair suspends the certificate at once; the ballot to confirm it opens."""
    cb.suspend_urgently(
        session,
        actor=user,
        number=number,
        terms=body,
        base_url=service_settings(request).base_url,
        now=now,
        rules=lifecycle.CertificateRules.from_settings(service_settings(request)),
    )
    session.commit()
    return _actions(session, user, number, now)


@api.post("/certificates/{number}/renewal", response_model=CertificateRenewalOut, status_code=201)
def api_start_renewal(
    session: DbSession, user: SignedIn, now: Now, number: str
) -> CertificateRenewalOut:
    """The holder starts the renewal: a new draft application pre-filled from the last one."""
    certificate = lifecycle.get_certificate_by_number(session, number)
    application = lifecycle.start_renewal(session, actor=user, certificate=certificate, now=now)
    session.commit()
    return CertificateRenewalOut(number=number, application_id=application.id)
