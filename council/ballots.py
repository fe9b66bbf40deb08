"""Ballots of the council: opening, positions, the pass rule, closing into a numbered resolution."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.accounts import Role, User
from core.audit import record_event
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound
from core.i18n import local_date
from core.mail import queue_mail
from council.conflicts import Party, check_conflicts
from council.members import holds_seat, in_term, member_of, members_in_term, users_by_id
from council.models import (
    Ballot,
    BallotResult,
    BallotRule,
    BallotStatus,
    BallotVoter,
    CouncilMember,
    Position,
    PositionKind,
    Resolution,
    Seat,
)
from guidelines import service as guidelines
from guidelines.diff import VersionDiff, diff_versions
from guidelines.documents import load_version_tree, version_document
from guidelines.models import GuidelineVersion, VersionStatus

SUBJECT_GUIDELINE_VERSION = "guideline_version"
FAVOURABLE = frozenset({PositionKind.yes, PositionKind.no_objection})
REMINDER_LEAD = dt.timedelta(days=1)
RULE_LABELS = {
    BallotRule.simple_majority: N_("Simple majority"),
    BallotRule.two_thirds: N_("Two thirds"),
}
POSITION_LABELS = {
    PositionKind.yes: N_("Yes"),
    PositionKind.no_objection: N_("No objection"),
    PositionKind.abstain: N_("Abstain"),
    PositionKind.discuss: N_("Discuss"),
    PositionKind.recuse: N_("Recuse"),
}
RESULT_LABELS = {BallotResult.passed: N_("Passed"), BallotResult.failed: N_("Not passed")}


@dataclass(frozen=True)
class Tally:
    """The state of a ballot under its rule, computed in one place and shown to everyone."""

    eligible: int
    recused: int
    in_favour: int
    abstain: int
    discuss: int
    required: int
    quorum: int
    cast: int
    not_voted: list[int] = field(default_factory=list)

    @property
    def counted(self) -> int:
        """Members whose position counts: the eligible, recusals subtracted."""
        return self.eligible - self.recused

    @property
    def passes(self) -> bool:
        """Enough favourable positions, quorum met, and no standing discuss."""
        return (
            self.counted > 0
            and self.discuss == 0
            and self.in_favour >= self.required
            and self.cast >= self.quorum
        )

    @property
    def needs(self) -> int:
        """How many more favourable positions the ballot needs to pass (discusses aside)."""
        return max(self.required - self.in_favour, self.quorum - self.cast, 0)


def required_in_favour(rule: BallotRule, counted: int) -> int:
    """Favourable positions needed among the members who count."""
    if rule == BallotRule.two_thirds:
        return math.ceil(2 * counted / 3)
    return counted // 2 + 1


def compute_tally(
    *,
    rule: BallotRule,
    quorum_percent: int,
    voters: Sequence[BallotVoter],
    positions: Sequence[Position],
) -> Tally:
    """The pass rule: favourable = yes + no objection; recusals and conflicts leave the count."""
    current = {p.member_id: p.kind for p in positions if p.superseded_at is None}
    eligible = [v.member_id for v in voters]
    conflicted = {v.member_id for v in voters if v.conflict}
    recused = conflicted | {m for m, kind in current.items() if kind == PositionKind.recuse}
    counted = len(eligible) - len(recused)
    kinds = [current[m] for m in eligible if m in current and m not in recused]
    return Tally(
        eligible=len(eligible),
        recused=len(recused),
        in_favour=sum(1 for k in kinds if k in FAVOURABLE),
        abstain=kinds.count(PositionKind.abstain),
        discuss=kinds.count(PositionKind.discuss),
        required=required_in_favour(rule, counted),
        quorum=math.ceil(counted * quorum_percent / 100),
        cast=len(kinds),
        not_voted=[m for m in eligible if m not in current and m not in recused],
    )


def _require_secretary(session: Session, actor: User, now: dt.datetime) -> None:
    # The council's secretary runs ballots; the technical secretariat may act for them.
    if not (
        actor.has_role(Role.secretariat)
        or holds_seat(session, actor, Seat.secretary, local_date(now))
    ):
        raise Forbidden(N_("Only the council's secretary opens and closes ballots."))


def get_ballot(session: Session, ballot_id: int) -> Ballot:
    """A ballot with its voters."""
    ballot = session.scalar(
        select(Ballot)
        .where(Ballot.id == ballot_id)
        .options(selectinload(Ballot.voters))
        .execution_options(populate_existing=True)
    )
    if ballot is None:
        raise NotFound()
    return ballot


def ballot_positions(session: Session, ballot: Ballot) -> list[Position]:
    """Every position ever cast on a ballot, oldest first (the history)."""
    return list(
        session.scalars(
            select(Position).where(Position.ballot_id == ballot.id).order_by(Position.id)
        )
    )


def tally_ballot(session: Session, ballot: Ballot) -> Tally:
    """The live tally of a ballot."""
    return compute_tally(
        rule=ballot.rule,
        quorum_percent=ballot.quorum_percent,
        voters=ballot.voters,
        positions=ballot_positions(session, ballot),
    )


def list_ballots(session: Session) -> list[Ballot]:
    """All ballots, open ones first, newest first."""
    return list(
        session.scalars(
            select(Ballot)
            .options(selectinload(Ballot.voters))
            .order_by(Ballot.status.desc(), Ballot.opened_at.desc())
        )
    )


def open_ballot(
    session: Session,
    *,
    actor: User,
    subject_type: str,
    subject_id: int,
    title_es: str,
    title_en: str,
    rule: BallotRule,
    quorum_percent: int,
    closes_at: dt.datetime,
    parties: list[Party],
    terms: dict[str, Any],
    now: dt.datetime,
) -> Ballot:
    """Open a ballot; the voters are the members in term now, conflicted ones recused."""
    _require_secretary(session, actor, now)
    if closes_at <= now:
        raise Invalid(fields={"closes_on": N_("The ballot must close in the future.")})
    if not 0 <= quorum_percent <= 100:
        raise Invalid(fields={"quorum_percent": N_("The quorum is a percentage from 0 to 100.")})
    already = session.scalar(
        select(Ballot.id).where(
            Ballot.subject_type == subject_type,
            Ballot.subject_id == subject_id,
            Ballot.status == BallotStatus.open,
        )
    )
    if already is not None:
        raise Conflict(N_("A ballot on this subject is already open."))
    members = members_in_term(session, local_date(now))
    if not members:
        raise Conflict(N_("No council member is in term; nobody could vote."))
    ballot = Ballot(
        subject_type=subject_type,
        subject_id=subject_id,
        title_es=title_es,
        title_en=title_en or title_es,
        rule=rule,
        quorum_percent=quorum_percent,
        terms=terms,
        status=BallotStatus.open,
        opened_by_id=actor.id,
        opened_at=now,
        closes_at=closes_at,
    )
    session.add(ballot)
    session.flush()
    people = users_by_id(session, [m.user_id for m in members])
    for member in members:
        user = people[member.user_id]
        conflicts = [
            c
            for c in check_conflicts(
                session, email=user.email, user=user, parties=parties, on=local_date(now)
            )
            if c.blocking
        ]
        note = "; ".join(f"{c.kind}: {c.party.name}" for c in conflicts) or None
        session.add(BallotVoter(ballot_id=ballot.id, member_id=member.id, conflict=note))
    session.flush()
    record_event(
        session,
        actor=actor,
        action="ballot.open",
        object_type="ballot",
        object_id=ballot.id,
        summary={
            "subject": f"{subject_type}:{subject_id}",
            "rule": rule.value,
            "closes_at": closes_at.isoformat(),
            "voters": len(members),
        },
        now=now,
    )
    return get_ballot(session, ballot.id)


def open_adoption_ballot(
    session: Session,
    *,
    actor: User,
    version: GuidelineVersion,
    rule: BallotRule,
    quorum_percent: int,
    closes_at: dt.datetime,
    effective_on: dt.date,
    replaces_newer: bool = False,
    consultation_skipped_reason: str = "",
    now: dt.datetime,
) -> Ballot:
    """Open a ballot on adopting a guideline version.

    A draft that misses versions adopted after its base is put to a vote only rebased, or with
    `replaces_newer`: the ballot then states that it replaces their changes. A draft that never
    went to public consultation needs the reason, which the resolution prints.
    """
    if version.status not in (VersionStatus.draft, VersionStatus.consultation):
        raise Conflict(N_("Only a draft or a version in consultation can be put to adoption."))
    if guidelines.days_left(version, now) > 0:
        raise Conflict(N_("The consultation is still open; wait until it closes."))
    pending = guidelines.count_undisposed_comments(session, version)
    if pending:
        raise Conflict(
            N_("%(count)s consultation comments still have no disposition."), count=pending
        )
    replaces = [v.number for v in guidelines.newer_adopted(session, version)]
    if not replaces_newer:
        guidelines.ensure_builds_on_latest(session, version)
    reason = consultation_skipped_reason.strip()
    if version.consultation_opened_at is None and not reason:
        raise Invalid(fields={"consultation_skipped_reason": guidelines.NO_CONSULTATION_REASON})
    tree = load_version_tree(session, version.id)
    title = tree.guideline
    return open_ballot(
        session,
        actor=actor,
        subject_type=SUBJECT_GUIDELINE_VERSION,
        subject_id=version.id,
        title_es=f"Adopción de «{title.title_es}», versión {version.number}",
        title_en=f"Adoption of “{title.title_en}”, version {version.number}",
        rule=rule,
        quorum_percent=quorum_percent,
        closes_at=closes_at,
        parties=[],
        # The text voted on: a ballot adopts this revision and no other.
        terms={
            "effective_on": effective_on.isoformat(),
            "revision": version.revision_number,
            # Versions whose changes this one replaces, as the ballot states.
            "replaces": replaces,
            "consultation_skipped_reason": (
                reason if version.consultation_opened_at is None else ""
            ),
        },
        now=now,
    )


def cast_position(
    session: Session,
    *,
    actor: User,
    ballot: Ballot,
    kind: PositionKind,
    text: str,
    now: dt.datetime,
) -> Position:
    """A member states (or changes) their position; the earlier one stays in the history."""
    if ballot.status != BallotStatus.open or now >= ballot.closes_at:
        raise Conflict(N_("This ballot is closed."))
    member = member_of(session, actor)
    voter = next((v for v in ballot.voters if member and v.member_id == member.id), None)
    if member is None or voter is None:
        raise Forbidden(N_("You are not a voter on this ballot."))
    if not in_term(member, local_date(now)):
        raise Forbidden(N_("Your term is not current; you cannot vote."))
    if voter.conflict and kind != PositionKind.recuse:
        raise Conflict(N_("You have a conflict of interest on this subject and are recused."))
    if kind == PositionKind.discuss and not text.strip():
        raise Invalid(fields={"text": N_("A discuss position must say what needs discussing.")})
    previous = session.scalar(
        select(Position).where(
            Position.ballot_id == ballot.id,
            Position.member_id == member.id,
            Position.superseded_at.is_(None),
        )
    )
    if previous is not None:
        previous.superseded_at = now
    position = Position(
        ballot_id=ballot.id, member_id=member.id, kind=kind, text=text.strip(), cast_at=now
    )
    session.add(position)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="ballot.position",
        object_type="ballot",
        object_id=ballot.id,
        summary={"kind": kind.value, "replaces": previous.kind.value if previous else None},
        now=now,
    )
    return position


def _next_resolution_number(session: Session, year: int) -> tuple[int, str]:
    last = session.scalar(select(func.max(Resolution.sequence)).where(Resolution.year == year))
    sequence = (last or 0) + 1
    return sequence, f"CEIA-{year}-{sequence:03d}"


def _record(session: Session, ballot: Ballot, tally: Tally) -> dict[str, Any]:
    positions = ballot_positions(session, ballot)
    members = {
        m.id: m
        for m in session.scalars(
            select(CouncilMember).where(CouncilMember.id.in_([v.member_id for v in ballot.voters]))
        )
    }
    people = users_by_id(session, [m.user_id for m in members.values()])
    current = {p.member_id: p for p in positions if p.superseded_at is None}
    return {
        "title_es": ballot.title_es,
        "title_en": ballot.title_en,
        "rule": ballot.rule.value,
        "quorum_percent": ballot.quorum_percent,
        "tally": {
            "eligible": tally.eligible,
            "recused": tally.recused,
            "counted": tally.counted,
            "in_favour": tally.in_favour,
            "abstain": tally.abstain,
            "discuss": tally.discuss,
            "required": tally.required,
            "quorum": tally.quorum,
            "cast": tally.cast,
        },
        "positions": [
            {
                "member": people[members[v.member_id].user_id].full_name,
                "seat": members[v.member_id].seat.value,
                "kind": (
                    PositionKind.recuse.value
                    if v.conflict
                    else (current[v.member_id].kind.value if v.member_id in current else None)
                ),
                "text": current[v.member_id].text if v.member_id in current else "",
                "conflict": bool(v.conflict),
            }
            for v in ballot.voters
        ],
        "history": [
            {
                "member": people[members[p.member_id].user_id].full_name,
                "kind": p.kind.value,
                "cast_at": p.cast_at.isoformat(),
            }
            for p in positions
        ],
        "terms": ballot.terms,
    }


def _subject_changed(session: Session, ballot: Ballot) -> str | None:
    """Why the subject is no longer what the members voted on, if it changed while they voted."""
    if ballot.subject_type != SUBJECT_GUIDELINE_VERSION:
        return None
    version = session.get(GuidelineVersion, ballot.subject_id)
    if version is None or version.status not in (VersionStatus.draft, VersionStatus.consultation):
        return N_("The version is no longer a draft awaiting adoption.")
    if version.revision_number != ballot.terms.get("revision"):
        return N_("The text of the version changed after the ballot opened.")
    replaced = ballot.terms.get("replaces", [])
    if any(v.number not in replaced for v in guidelines.newer_adopted(session, version)):
        return N_("A newer version was adopted while the ballot was open; the draft misses it.")
    if (
        version.consultation_opened_at is None
        and not ballot.terms.get("consultation_skipped_reason", "").strip()
    ):
        # Ballots opened before a reason was required could otherwise never be closed.
        return N_("The version skipped public consultation and the ballot gives no reason.")
    return None


def _carry_out(
    session: Session, ballot: Ballot, resolution: Resolution, actor: User, now: dt.datetime
) -> None:
    """What a passed ballot does to its subject."""
    if ballot.subject_type == SUBJECT_GUIDELINE_VERSION:
        version = session.get(GuidelineVersion, ballot.subject_id)
        if version is None:
            raise NotFound()
        guidelines.adopt_version(
            session,
            version=version,
            resolution=resolution.number,
            effective_on=dt.date.fromisoformat(ballot.terms["effective_on"]),
            replaces=ballot.terms.get("replaces", []),
            consultation_skipped_reason=ballot.terms.get("consultation_skipped_reason", ""),
            actor=actor,
            now=now,
        )


def close_ballot(session: Session, *, actor: User, ballot: Ballot, now: dt.datetime) -> Resolution:
    """Close a ballot at or after its closing time (or once all have voted) into a resolution."""
    _require_secretary(session, actor, now)
    if ballot.status != BallotStatus.open:
        raise Conflict(N_("This ballot is already closed."))
    tally = tally_ballot(session, ballot)
    if now < ballot.closes_at and tally.not_voted:
        raise Conflict(
            N_("The ballot closes at its closing time, or earlier once every member has voted.")
        )
    changed = _subject_changed(session, ballot)
    ballot.status = BallotStatus.closed
    ballot.closed_at = now
    passed = tally.passes and changed is None
    ballot.result = BallotResult.passed if passed else BallotResult.failed
    year = local_date(now).year
    sequence, number = _next_resolution_number(session, year)
    resolution = Resolution(
        number=number,
        year=year,
        sequence=sequence,
        ballot_id=ballot.id,
        result=ballot.result,
        record={**_record(session, ballot, tally), "void_reason": changed},
        issued_at=now,
    )
    session.add(resolution)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="ballot.close",
        object_type="ballot",
        object_id=ballot.id,
        summary={"result": ballot.result.value, "resolution": number},
        now=now,
    )
    if passed:
        _carry_out(session, ballot, resolution, actor, now)
    return resolution


@dataclass(frozen=True)
class AdoptionReview:
    """What members weigh on an adoption: its changes from the text in force, its consultation."""

    version: GuidelineVersion
    slug: str
    in_force: str | None
    diff: VersionDiff | None
    consulted: bool
    consultation_closed: bool
    skipped_reason: str
    replaces: list[str]


def adoption_review(session: Session, ballot: Ballot, now: dt.datetime) -> AdoptionReview | None:
    """The adoption a ballot is about, compared with the version in force now."""
    if ballot.subject_type != SUBJECT_GUIDELINE_VERSION:
        return None
    version = session.get(GuidelineVersion, ballot.subject_id)
    if version is None:
        return None
    guideline = guidelines.get_guideline(session, guidelines.slug_of(session, version))
    in_force = guidelines.version_in_force(guideline, now)
    slug = guideline.slug
    diff = None
    if in_force is not None and in_force.id != version.id:
        old = version_document(load_version_tree(session, in_force.id))
        diff = diff_versions(old, version_document(load_version_tree(session, version.id)))
    version = load_version_tree(session, version.id)
    return AdoptionReview(
        version=version,
        slug=slug,
        in_force=in_force.number if in_force else None,
        diff=diff,
        consulted=version.consultation_opened_at is not None,
        consultation_closed=guidelines.consultation_closed(version, now),
        skipped_reason=ballot.terms.get("consultation_skipped_reason", ""),
        replaces=list(ballot.terms.get("replaces", [])),
    )


def list_resolutions(session: Session) -> list[Resolution]:
    """Every resolution, newest first."""
    return list(session.scalars(select(Resolution).order_by(Resolution.issued_at.desc())))


def get_resolution(session: Session, number: str) -> Resolution:
    """A resolution by its number."""
    resolution = session.scalar(select(Resolution).where(Resolution.number == number))
    if resolution is None:
        raise NotFound()
    return resolution


def send_ballot_reminders(session: Session, *, base_url: str, now: dt.datetime) -> int:
    """E-mail members who have not voted on ballots closing within a day; once per ballot."""
    due = session.scalars(
        select(Ballot)
        .where(
            Ballot.status == BallotStatus.open,
            Ballot.reminder_sent_at.is_(None),
            Ballot.closes_at > now,
            Ballot.closes_at <= now + REMINDER_LEAD,
        )
        .options(selectinload(Ballot.voters))
    ).all()
    sent = 0
    for ballot in due:
        tally = tally_ballot(session, ballot)
        members = {
            m.id: m
            for m in session.scalars(
                select(CouncilMember).where(CouncilMember.id.in_(tally.not_voted))
            )
        }
        people = users_by_id(session, [m.user_id for m in members.values()])
        for member in members.values():
            user = people[member.user_id]
            queue_mail(
                session,
                to=user.email,
                template="mail/ballot_reminder.txt",
                locale=user.locale,
                context={
                    "user_name": user.full_name,
                    "title": ballot.title_en if user.locale == "en" else ballot.title_es,
                    "closes_at": ballot.closes_at,
                    "link": f"{base_url.rstrip('/')}/council/ballots/{ballot.id}",
                },
                now=now,
            )
            sent += 1
        ballot.reminder_sent_at = now
        record_event(
            session,
            actor=None,
            action="ballot.remind",
            object_type="ballot",
            object_id=ballot.id,
            summary={"recipients": len(members)},
            now=now,
        )
    return sent
