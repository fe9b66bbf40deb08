"""The decisions API under /api/v1: an application's decision and the appeal against a refusal."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from core.api import ERROR_RESPONSES, ObjectId
from core.auth import Now, SignedIn, Staff
from core.db import get_session, sibling_factory
from core.settings import Settings
from core.web import council_keys, service_settings
from quality_marks import applications, certificates, decisions
from quality_marks.schemas import (
    AppealInput,
    AppealOut,
    CertificateIssuedOut,
    DecisionDetailOut,
    DecisionFindingOut,
    DecisionOut,
)

api = APIRouter(prefix="/api/v1", tags=["quality_marks"], responses=ERROR_RESPONSES)

DbSession = Annotated[Session, Depends(get_session)]


def _decision_out(view: decisions.DecisionView) -> DecisionOut:
    decision = view.decision
    detail = None
    if decision is not None:
        detail = DecisionDetailOut(
            outcome=decision.outcome,
            resolution=decision.resolution,
            round=decision.round,
            level=decision.level,
            rule=decision.rule,
            reasons=decision.reasons,
            conditions=decision.conditions,
            valid_from=decision.valid_from,
            valid_until=decision.valid_until,
            appeal_until=decision.appeal_until,
            decided_at=decision.decided_at,
            findings=[
                DecisionFindingOut(code=f.code, finding=f.finding, comments_html=list(f.comments))
                for f in view.findings
            ],
        )
    return DecisionOut(
        application_id=view.application.id,
        status=view.application.status,
        decision=detail,
        appeal=AppealOut.model_validate(view.appeal) if view.appeal else None,
        may_appeal=view.may_appeal,
    )


@api.get("/applications/{application_id}/decision", response_model=DecisionOut)
def api_decision(
    session: DbSession, user: SignedIn, now: Now, application_id: ObjectId
) -> DecisionOut:
    """Where an application stands with the council: its latest decision (if any), the appeal."""
    return _decision_out(decisions.decision_view(session, user, application_id, now))


@api.post("/applications/{application_id}/appeal", response_model=DecisionOut, status_code=201)
def api_file_appeal(
    request: Request,
    session: DbSession,
    user: SignedIn,
    now: Now,
    application_id: ObjectId,
    body: AppealInput,
) -> DecisionOut:
    """Appeal a refusal within the appeal period; answers the decision with the appeal on it."""
    settings: Settings = service_settings(request)
    decisions.file_appeal(
        session,
        actor=user,
        application=applications.get_application(session, user, application_id),
        grounds=body.grounds,
        base_url=settings.base_url,
        now=now,
    )
    session.commit()
    return _decision_out(decisions.decision_view(session, user, application_id, now))


@api.post(
    "/applications/{application_id}/certificate",
    response_model=CertificateIssuedOut,
    status_code=201,
)
def api_issue_certificate(
    request: Request, session: DbSession, user: Staff, now: Now, application_id: ObjectId
) -> CertificateIssuedOut:
    """Issue the certificate of a granted mark, or answer the one issued (idempotent)."""
    settings: Settings = service_settings(request)
    certificate = certificates.issue_for_application(
        sibling_factory(session),
        application_id=application_id,
        keys=council_keys(request),
        store=request.app.state.file_store,
        base_url=settings.base_url,
        prefix=settings.certificate_prefix,
        actor=user,
        now=now,
    )
    return CertificateIssuedOut.of(certificate)
