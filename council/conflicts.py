"""Conflicts of interest: declared ties and detected ones, checked whenever people are counted."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import User
from core.audit import record_event
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound
from core.i18n import local_date
from core.identifiers import normalize_rfc
from council.members import current_interests, holds_seat
from council.models import ConflictDismissal, InterestDeclaration, InterestType, Seat
from quality_marks.models import Organization

ConflictKind = Literal["declared", "email_domain", "past_employer"]
# A declared tie that ended less than this long ago still conflicts.
COOLING_OFF = dt.timedelta(days=2 * 365)
KIND_LABELS = {
    "declared": N_("Declared interest"),
    "email_domain": N_("Same e-mail domain as the organisation"),
    "past_employer": N_("Declared past employer"),
}
DISMISSIBLE: frozenset[ConflictKind] = frozenset({"email_domain", "past_employer"})


@dataclass(frozen=True)
class Party:
    """An organisation involved in a decision (an applicant company, say)."""

    name: str
    rfc: str = ""
    email_domain: str = ""

    @property
    def key(self) -> str:
        """How dismissals refer to the organisation: its RFC, else its normalised name."""
        return normalize_rfc(self.rfc) or _normal_name(self.name)


def party_of(organization: Organization) -> Party:
    """An applying organisation as conflict checks see it: its name, RFC and mail domain."""
    domain = (
        organization.contact_email.rsplit("@", 1)[-1].lower()
        if "@" in organization.contact_email
        else ""
    )
    return Party(name=organization.legal_name, rfc=organization.rfc, email_domain=domain)


@dataclass(frozen=True)
class DetectedConflict:
    """A reason a person should not assess or vote on a matter involving a party."""

    kind: ConflictKind
    party: Party
    detail: str
    dismissed: bool = False

    @property
    def blocking(self) -> bool:
        """Whether the conflict still bars the person."""
        return not self.dismissed


def _normal_name(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = "".join(c if c.isalnum() else " " for c in folded).split()
    legal_forms = {"sa", "de", "cv", "sapi", "sc", "ac", "s", "a", "c", "v", "rl", "srl"}
    return " ".join(w for w in words if w not in legal_forms)


def _matches(declaration: InterestDeclaration, party: Party) -> bool:
    rfc = normalize_rfc(party.rfc)
    if rfc and declaration.rfc:
        return rfc == declaration.rfc
    return bool(_normal_name(party.name)) and _normal_name(party.name) == _normal_name(
        declaration.organisation
    )


def _from_declaration(
    declaration: InterestDeclaration, party: Party, on: dt.date
) -> DetectedConflict | None:
    if not _matches(declaration, party):
        return None
    if declaration.ends_on is None or on - declaration.ends_on <= COOLING_OFF:
        return DetectedConflict("declared", party, declaration.organisation)
    if declaration.interest_type == InterestType.employment:
        return DetectedConflict("past_employer", party, declaration.organisation)
    return None


def _dismissed_keys(session: Session, user_id: int) -> set[tuple[str, str]]:
    rows = session.execute(
        select(ConflictDismissal.organisation_key, ConflictDismissal.kind).where(
            ConflictDismissal.user_id == user_id
        )
    )
    return {(key, kind) for key, kind in rows}


def check_conflicts(
    session: Session,
    *,
    email: str,
    user: User | None,
    parties: list[Party],
    on: dt.date,
) -> list[DetectedConflict]:
    """Every conflict between a person (known or about to be invited) and the parties."""
    found: list[DetectedConflict] = []
    domain = email.rsplit("@", 1)[-1].lower() if "@" in email else ""
    declarations = current_interests(session, [user.id]) if user else []
    dismissed = _dismissed_keys(session, user.id) if user else set()
    for party in parties:
        if domain and party.email_domain and domain == party.email_domain.lower().lstrip("@"):
            found.append(DetectedConflict("email_domain", party, domain))
        for declaration in declarations:
            conflict = _from_declaration(declaration, party, on)
            if conflict:
                found.append(conflict)
    return [
        DetectedConflict(c.kind, c.party, c.detail, dismissed=(c.party.key, c.kind) in dismissed)
        if c.kind in DISMISSIBLE
        else c
        for c in found
    ]


@dataclass(frozen=True)
class ConflictCheck:
    """The answer to "may this person take part in a matter of this organisation?"."""

    person: User | None
    party: Party
    conflicts: list[DetectedConflict]


def check_person(session: Session, *, email: str, party: Party, on: dt.date) -> ConflictCheck:
    """Conflicts between whoever holds an e-mail address (known or not) and an organisation."""
    person = session.scalar(select(User).where(User.email == email.strip().lower()))
    conflicts = check_conflicts(session, email=email, user=person, parties=[party], on=on)
    return ConflictCheck(person=person, party=party, conflicts=conflicts)


def conflicted_person(session: Session, user_id: int | None) -> User:
    """The person whose conflict is being ruled on."""
    person = session.get(User, user_id) if user_id else None
    if person is None:
        raise NotFound()
    return person


def may_dismiss_conflicts(session: Session, actor: User, on: dt.date) -> bool:
    """Whether a person rules on detected conflicts: the chair, in term."""
    return holds_seat(session, actor, Seat.chair, on)


def dismiss_conflict(
    session: Session,
    *,
    actor: User,
    user: User,
    party: Party,
    kind: str,
    reason: str,
    now: dt.datetime,
) -> ConflictDismissal:
    """The chair rules that a detected conflict does not bar the person, giving the reason."""
    if not may_dismiss_conflicts(session, actor, local_date(now)):
        raise Forbidden(N_("Only the chair of the council can dismiss a conflict."))
    if kind not in DISMISSIBLE:
        raise Invalid(N_("A declared interest cannot be dismissed; the person must recuse."))
    if not reason.strip():
        raise Invalid(fields={"reason": N_("Give the reason for dismissing the conflict.")})
    standing = check_conflicts(
        session, email=user.email, user=user, parties=[party], on=local_date(now)
    )
    if not any(c.kind == kind and c.blocking for c in standing):
        raise Conflict(N_("There is no standing conflict of this kind to dismiss."))
    dismissal = ConflictDismissal(
        user_id=user.id,
        organisation_key=party.key,
        kind=kind,
        reason=reason.strip(),
        dismissed_by_id=actor.id,
        dismissed_at=now,
    )
    session.add(dismissal)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="conflict.dismiss",
        object_type="user",
        object_id=user.id,
        summary={"organisation": party.key, "kind": kind, "reason": dismissal.reason},
        now=now,
    )
    return dismissal
