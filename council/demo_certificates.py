"""Demo certificates: an issued certificate taken to each status through the council's verbs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import User
from core.errors import N_, Conflict
from council import ballots
from council import certificate_ballots as cb
from council.members import users_by_id
from council.models import CouncilMember, PositionKind
from council.schemas import CertificateBallotInput, UrgentSuspensionInput
from quality_marks import certificate_lifecycle as lifecycle
from quality_marks.certificate_models import Certificate, CertificateStatus

# The public reasons the demo's ballots state, and the reason code of its withdrawal.
_REASONS = {
    cb.SUBJECT_SUSPENSION: (
        "Una queja documentada indica que el modelo dejó de cumplir el criterio de "
        "explicabilidad; se suspende mientras se revisa.",
        "A documented complaint shows the model no longer meets the explainability criterion; "
        "suspended while it is reviewed.",
    ),
    cb.SUBJECT_WITHDRAWAL: (
        "La revisión confirmó un incumplimiento grave que el titular no corrigió.",
        "The review confirmed a serious nonconformity the holder did not correct.",
    ),
}
# Superseded comes from issuing a renewal (quality_marks/certificates.py), not from here.
DEMO_UNSUPPORTED = N_("The demo takes certificates to valid, suspended, withdrawn or expired.")
URGENT_REASON = (
    "Riesgo inmediato para las personas usuarias: suspensión urgente de la presidencia.",
    "Immediate risk to users: urgent suspension by the chair.",
)


def _vote_and_close(session: Session, *, ballot_id: int, secretary: User, now: dt.datetime) -> None:
    """Every voter not recused says yes; the ballot closes once all have voted."""
    ballot = ballots.get_ballot(session, ballot_id)
    voters = [v for v in ballot.voters if v.conflict is None]
    members = {
        m.id: m
        for m in session.scalars(
            select(CouncilMember).where(CouncilMember.id.in_([v.member_id for v in voters]))
        )
    }
    people = users_by_id(session, [m.user_id for m in members.values()])
    for offset, voter in enumerate(voters):
        ballots.cast_position(
            session,
            actor=people[members[voter.member_id].user_id],
            ballot=ballot,
            kind=PositionKind.yes,
            text="",
            now=now + dt.timedelta(minutes=offset + 1),
        )
    # Recused members count as voted: the ballot may close now.
    ballots.close_ballot(session, actor=secretary, ballot=ballot, now=now + dt.timedelta(hours=1))


def bring_certificate_to(
    session: Session,
    *,
    certificate: Certificate,
    status: CertificateStatus | str,
    secretary: User,
    chair: User | None = None,
    base_url: str = "",
    now: dt.datetime,
) -> Certificate:
    """Take a valid certificate to a status by the council's own verbs (for the demo).

    - valid: nothing to do.
    - suspended: a suspension ballot, voted and closed; with `chair` given, an urgent
      suspension by the chair instead (its confirmation ballot left open).
    - withdrawn: a withdrawal ballot (nonconformity), voted and closed.
    - expired: the daily job at `now`; the certificate's validity must be over by then
      (issue it with a past `valid_until`), since expiry never comes early.
    """
    target = CertificateStatus(status)
    if target == CertificateStatus.valid:
        return certificate
    if target == CertificateStatus.expired:
        lifecycle.expire_certificates(session, now=now)
        if certificate.status != CertificateStatus.expired:
            raise Conflict(lifecycle.NOT_EXPIRED)
        return certificate
    if target == CertificateStatus.suspended and chair is not None:
        es, en = URGENT_REASON
        cb.suspend_urgently(
            session,
            actor=chair,
            number=certificate.number,
            terms=UrgentSuspensionInput(reason_es=es, reason_en=en),
            base_url=base_url,
            now=now,
        )
        return certificate
    kind = {
        CertificateStatus.suspended: cb.SUBJECT_SUSPENSION,
        CertificateStatus.withdrawn: cb.SUBJECT_WITHDRAWAL,
    }.get(target)
    if kind is None:
        raise Conflict(DEMO_UNSUPPORTED)
    es, en = _REASONS[kind]
    ballot = cb.put_certificate_to_ballot(
        session,
        actor=secretary,
        number=certificate.number,
        terms=CertificateBallotInput.model_validate(
            {
                "kind": kind,
                "reason_es": es,
                "reason_en": en,
                "reason_code": "nonconformity" if kind == cb.SUBJECT_WITHDRAWAL else None,
                "closes_on": (now + dt.timedelta(days=7)).date(),
            }
        ),
        base_url=base_url,
        now=now,
    )
    _vote_and_close(session, ballot_id=ballot.id, secretary=secretary, now=now)
    return certificate
