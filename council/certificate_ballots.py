"""Suspending, reinstating and withdrawing certificates by ballot; the chair's urgent suspension."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import User
from core.errors import N_, Conflict, Forbidden, Invalid
from core.i18n import local_date
from council.ballots import (
    BallotSubjectKind,
    SubjectLink,
    may_open_ballot,
    open_ballot,
    register_subject_kind,
)
from council.conflicts import KIND_LABELS as CONFLICT_LABELS
from council.conflicts import Party, check_conflicts, party_of
from council.members import holds_seat
from council.models import Ballot, BallotRule, BallotStatus, Resolution, Seat
from council.schemas import CertificateBallotInput, UrgentSuspensionInput
from guidelines.service import closing_moment
from quality_marks import certificate_history as history
from quality_marks import certificate_lifecycle as lifecycle
from quality_marks.certificate_history import certificate_history
from quality_marks.certificate_models import Certificate, CertificateStatus, WithdrawalReason
from quality_marks.models import Organization

SUBJECT_SUSPENSION = "certificate_suspension"
SUBJECT_REINSTATEMENT = "certificate_reinstatement"
SUBJECT_WITHDRAWAL = "certificate_withdrawal"
# The management page's action that opens each kind of ballot.
OPENING_ACTIONS = {
    SUBJECT_SUSPENSION: "open_suspension_ballot",
    SUBJECT_REINSTATEMENT: "open_reinstatement_ballot",
    SUBJECT_WITHDRAWAL: "open_withdrawal_ballot",
}
KIND_LABELS = {
    SUBJECT_SUSPENSION: N_("Suspension"),
    SUBJECT_REINSTATEMENT: N_("Reinstatement"),
    SUBJECT_WITHDRAWAL: N_("Withdrawal"),
}
_TITLES = {
    SUBJECT_SUSPENSION: ("Suspensión del certificado", "Suspension of certificate"),
    SUBJECT_REINSTATEMENT: ("Restitución del certificado", "Reinstatement of certificate"),
    SUBJECT_WITHDRAWAL: ("Retiro del certificado", "Withdrawal of certificate"),
}
_CONFIRMATION_TITLE = (
    "Confirmación de la suspensión urgente del certificado",
    "Confirmation of the urgent suspension of certificate",
)
CONFIRMATION_QUORUM = 50
NO_LONGER_VALID = N_("The certificate is no longer valid.")
NO_LONGER_SUSPENDED = N_("The certificate is no longer suspended.")
NO_LONGER_AWAITING = N_("The urgent suspension is no longer awaiting confirmation.")
NO_LONGER_LIVE = N_("The certificate is no longer valid nor suspended.")
ONLY_THE_CHAIR = N_("Only the council's chair suspends a certificate urgently.")
CONFLICTED_CHAIR = N_(
    "You have a conflict of interest with %(organisation)s: %(kind)s (%(detail)s). You may not "
    "suspend its certificate urgently; the secretary may put a suspension to the council."
)
# A certificate ballot settles a live matter; it closes within this many days of opening.
MAX_BALLOT_DAYS = 90
CLOSES_WITHIN = N_("Choose a closing day from today to 90 days ahead.")


def council_standing(
    session: Session, user: User, certificate: Certificate, now: dt.datetime
) -> lifecycle.Standing:
    """A person's standing towards a certificate, with their seat on the council."""
    return lifecycle.standing_of(
        session,
        user,
        certificate,
        staff=may_open_ballot(session, user, now),
        chair=holds_seat(session, user, Seat.chair, local_date(now)),
    )


def _title(certificate: Certificate, kind: str, *, confirmation: bool = False) -> tuple[str, str]:
    es, en = _CONFIRMATION_TITLE if confirmation else _TITLES[kind]
    product = certificate.payload.get("product_name", "")
    holder = certificate.payload.get("organization_name", "")
    return (
        f"{es} {certificate.number}: {product} ({holder})",
        f"{en} {certificate.number}: {product} ({holder})",
    )


def open_certificate_ballot(
    session: Session,
    *,
    actor: User,
    certificate: Certificate,
    kind: str,
    reason: dict[str, str],
    reason_code: WithdrawalReason | None,
    rule: BallotRule,
    quorum_percent: int,
    closes_at: dt.datetime,
    base_url: str,
    now: dt.datetime,
) -> Ballot:
    """Put a suspension, reinstatement or withdrawal of a certificate to the council."""
    standing = council_standing(session, actor, certificate, now)
    lifecycle.LIFE_CYCLE.require(
        OPENING_ACTIONS[kind],
        certificate.status,
        lifecycle.CertificateCase(certificate, standing, local_date(now)),
    )
    if kind == SUBJECT_WITHDRAWAL and reason_code is None:
        raise Invalid(fields={"reason_code": lifecycle.NO_REASON_CODE})
    title_es, title_en = _title(certificate, kind)
    return open_ballot(
        session,
        actor=actor,
        subject_type=kind,
        subject_id=certificate.id,
        title_es=title_es,
        title_en=title_en,
        rule=rule,
        quorum_percent=quorum_percent,
        closes_at=closes_at,
        parties=[],
        terms={
            "number": certificate.number,
            "reason": reason,
            "reason_code": reason_code.value
            if kind == SUBJECT_WITHDRAWAL and reason_code
            else None,
            "confirmation": False,
        },
        base_url=base_url,
        now=now,
    )


def put_certificate_to_ballot(
    session: Session,
    *,
    actor: User,
    number: str,
    terms: CertificateBallotInput,
    base_url: str,
    now: dt.datetime,
) -> Ballot:
    """Open a certificate ballot as the secretary's form or the API sets it.

    The closing day is bounded here, not in the schema: the bound counts from the service's
    `now`, and a day far ahead would overflow the closing moment.
    """
    today = local_date(now)
    if not today <= terms.closes_on <= today + dt.timedelta(days=MAX_BALLOT_DAYS):
        raise Invalid(fields={"closes_on": CLOSES_WITHIN})
    certificate = lifecycle.get_certificate_by_number(session, number)
    return open_certificate_ballot(
        session,
        actor=actor,
        certificate=certificate,
        kind=terms.kind,
        reason=lifecycle.public_reason(terms.reason_es, terms.reason_en),
        reason_code=terms.reason_code,
        rule=terms.rule,
        quorum_percent=terms.quorum_percent,
        closes_at=closing_moment(terms.closes_on),
        base_url=base_url,
        now=now,
    )


def suspend_urgently(
    session: Session,
    *,
    actor: User,
    number: str,
    terms: UrgentSuspensionInput,
    base_url: str,
    now: dt.datetime,
    rules: lifecycle.CertificateRules = lifecycle.DEFAULT_RULES,
) -> Ballot:
    """The chair suspends a certificate at once; a ballot to confirm it opens, closing at the
    end of the day to confirm it by.

    The suspension holds while that ballot is open; closing it confirms the suspension or ends
    it (`lifecycle.lapse_unconfirmed_suspensions` says why the daily job waits for it).
    """
    certificate = lifecycle.get_certificate_by_number(session, number)
    if not holds_seat(session, actor, Seat.chair, local_date(now)):
        raise Forbidden(ONLY_THE_CHAIR)
    # The chair acts alone here, so the conflict check that recuses voters applies to them.
    conflict = next(
        (
            c
            for c in check_conflicts(
                session,
                email=actor.email,
                user=actor,
                parties=_parties(session, certificate.id),
                on=local_date(now),
            )
            if c.blocking
        ),
        None,
    )
    if conflict is not None:
        raise Conflict(
            CONFLICTED_CHAIR,
            organisation=conflict.party.name,
            kind=CONFLICT_LABELS[conflict.kind],
            detail=conflict.detail,
        )
    reason = lifecycle.public_reason(terms.reason_es, terms.reason_en)
    lifecycle.suspend_certificate(
        session,
        certificate=certificate,
        reason=reason,
        resolution=None,
        actor=actor,
        now=now,
        urgent=True,
        rules=rules,
    )
    confirm_by = certificate.confirm_suspension_by
    assert confirm_by is not None
    title_es, title_en = _title(certificate, SUBJECT_SUSPENSION, confirmation=True)
    return open_ballot(
        session,
        actor=actor,
        subject_type=SUBJECT_SUSPENSION,
        subject_id=certificate.id,
        title_es=title_es,
        title_en=title_en,
        rule=BallotRule.simple_majority,
        quorum_percent=CONFIRMATION_QUORUM,
        closes_at=closing_moment(confirm_by),
        parties=[],
        terms={
            "number": certificate.number,
            "reason": reason,
            "reason_code": None,
            "confirmation": True,
            "confirm_by": confirm_by.isoformat(),
        },
        base_url=base_url,
        required_by_rule=True,
        now=now,
    )


def confirmations_open(session: Session) -> set[int]:
    """The certificates whose urgent suspension awaits a confirmation ballot still open."""
    open_ballots = session.scalars(
        select(Ballot).where(
            Ballot.subject_type == SUBJECT_SUSPENSION, Ballot.status == BallotStatus.open
        )
    )
    return {ballot.subject_id for ballot in open_ballots if ballot.terms.get("confirmation")}


# The subject kinds -------------------------------------------------------------------------


def _certificate_of(session: Session, ballot: Ballot) -> Certificate | None:
    return session.get(Certificate, ballot.subject_id)


def _describe(session: Session, ballot: Ballot) -> SubjectLink | None:
    certificate = _certificate_of(session, ballot)
    if certificate is None:
        return None
    return SubjectLink(label=certificate.number, href=f"/certificates/{certificate.number}/manage")


def _parties(session: Session, certificate_id: int) -> list[Party]:
    """The holder: members with an interest in it are recused."""
    certificate = session.get(Certificate, certificate_id)
    organization = session.get(Organization, certificate.organization_id) if certificate else None
    return [party_of(organization)] if organization else []


def _suspension_changed(session: Session, ballot: Ballot) -> str | None:
    certificate = _certificate_of(session, ballot)
    if ballot.terms.get("confirmation"):
        if (
            certificate is None
            or certificate.status != CertificateStatus.suspended
            or certificate.confirm_suspension_by is None
        ):
            return NO_LONGER_AWAITING
        return None
    if certificate is None or certificate.status != CertificateStatus.valid:
        return NO_LONGER_VALID
    return None


def _reinstatement_changed(session: Session, ballot: Ballot) -> str | None:
    certificate = _certificate_of(session, ballot)
    if certificate is None or certificate.status != CertificateStatus.suspended:
        return NO_LONGER_SUSPENDED
    return None


def _withdrawal_changed(session: Session, ballot: Ballot) -> str | None:
    certificate = _certificate_of(session, ballot)
    if certificate is None or certificate.status not in (
        CertificateStatus.valid,
        CertificateStatus.suspended,
    ):
        return NO_LONGER_LIVE
    return None


@dataclass(frozen=True)
class CertificateReview:
    """What members weigh on a certificate ballot: the certificate, the proposal, its history."""

    certificate: Certificate
    kind: str
    reason: dict[str, str]
    reason_code: str | None
    confirmation: bool
    confirm_by: dt.date | None
    history: list[Any]
    status_labels: dict[CertificateStatus, str] = field(
        default_factory=lambda: history.STATUS_LABELS
    )
    withdrawal_labels: dict[WithdrawalReason, str] = field(
        default_factory=lambda: history.WITHDRAWAL_LABELS
    )
    event_labels: dict[Any, str] = field(default_factory=lambda: history.EVENT_LABELS)
    kind_labels: dict[str, str] = field(default_factory=lambda: KIND_LABELS)


def _review(session: Session, ballot: Ballot, now: dt.datetime) -> CertificateReview | None:
    certificate = _certificate_of(session, ballot)
    if certificate is None:
        return None
    return CertificateReview(
        certificate=certificate,
        kind=ballot.subject_type,
        reason=ballot.terms.get("reason", {}),
        reason_code=ballot.terms.get("reason_code"),
        confirmation=bool(ballot.terms.get("confirmation")),
        confirm_by=dt.date.fromisoformat(by) if (by := ballot.terms.get("confirm_by")) else None,
        history=certificate_history(session, certificate.id),
    )


def _required(session: Session, ballot: Ballot) -> Certificate:
    certificate = _certificate_of(session, ballot)
    assert certificate is not None  # changed_since_opened voided the ballot otherwise
    return certificate


def _suspend(
    session: Session, ballot: Ballot, resolution: Resolution, actor: User, now: dt.datetime
) -> None:
    """A passed ballot suspends the certificate, or confirms the chair's urgent suspension."""
    certificate = _required(session, ballot)
    if ballot.terms.get("confirmation"):
        lifecycle.confirm_suspension(
            session, certificate=certificate, resolution=resolution.number, actor=actor, now=now
        )
        return
    lifecycle.suspend_certificate(
        session,
        certificate=certificate,
        reason=ballot.terms["reason"],
        resolution=resolution.number,
        actor=actor,
        now=now,
    )


def _suspension_failed(
    session: Session, ballot: Ballot, resolution: Resolution, actor: User, now: dt.datetime
) -> None:
    """A failed confirmation ends the urgent suspension; a failed proposal changes nothing."""
    if not ballot.terms.get("confirmation") or resolution.record.get("void_reason"):
        return
    lifecycle.lapse_suspension(
        session,
        certificate=_required(session, ballot),
        reason=history.reason_in_both(lifecycle.NOT_CONFIRMED_REASON),
        resolution=resolution.number,
        actor=actor,
        now=now,
    )


def _reinstate(
    session: Session, ballot: Ballot, resolution: Resolution, actor: User, now: dt.datetime
) -> None:
    """A passed ballot reinstates the suspended certificate."""
    lifecycle.reinstate_certificate(
        session,
        certificate=_required(session, ballot),
        reason=ballot.terms["reason"],
        resolution=resolution.number,
        actor=actor,
        now=now,
    )


def _withdraw(
    session: Session, ballot: Ballot, resolution: Resolution, actor: User, now: dt.datetime
) -> None:
    """A passed ballot withdraws the certificate for the reason proposed."""
    lifecycle.withdraw_certificate(
        session,
        certificate=_required(session, ballot),
        reason_code=WithdrawalReason(ballot.terms["reason_code"]),
        reason=ballot.terms["reason"],
        resolution=resolution.number,
        actor=actor,
        now=now,
    )


REVIEW_TEMPLATE = "council/_review_certificate_action.html"

CERTIFICATE_SUSPENSION = register_subject_kind(
    BallotSubjectKind(
        name=SUBJECT_SUSPENSION,
        describe=_describe,
        changed_since_opened=_suspension_changed,
        parties=_parties,
        review=_review,
        review_template=REVIEW_TEMPLATE,
        carry_out_passed=_suspend,
        carry_out_failed=_suspension_failed,
    )
)
CERTIFICATE_REINSTATEMENT = register_subject_kind(
    BallotSubjectKind(
        name=SUBJECT_REINSTATEMENT,
        describe=_describe,
        changed_since_opened=_reinstatement_changed,
        parties=_parties,
        review=_review,
        review_template=REVIEW_TEMPLATE,
        carry_out_passed=_reinstate,
    )
)
CERTIFICATE_WITHDRAWAL = register_subject_kind(
    BallotSubjectKind(
        name=SUBJECT_WITHDRAWAL,
        describe=_describe,
        changed_since_opened=_withdrawal_changed,
        parties=_parties,
        review=_review,
        review_template=REVIEW_TEMPLATE,
        carry_out_passed=_withdraw,
    )
)


def ballot_form_defaults(now: dt.datetime) -> dict[str, str]:
    """What a new certificate ballot's form proposes for the vote itself."""
    closes_on = local_date(now) + dt.timedelta(days=7)
    return {"rule": "simple_majority", "quorum_percent": "50", "closes_on": closes_on.isoformat()}
