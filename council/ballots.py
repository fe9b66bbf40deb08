"""Ballots of the council: opening, positions, the pass rule, closing into a numbered resolution."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from core.accounts import Role, User
from core.api import PageParams, paginate
from core.audit import record_event
from core.documents import republish_documents
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound
from core.i18n import in_both_languages, local_date
from core.mail import closing_words, queue_mail
from core.pagination import PageOf, page_of
from council.conflicts import KIND_LABELS, Party, check_conflicts
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
# Why a voter is recused, stored on the ballot in both languages.
CONFLICT_NOTE = N_("%(kind)s: %(party)s")


@dataclass(frozen=True)
class SubjectLink:
    """How pages name a ballot's subject: its full name and where the subject lives."""

    label: str
    href: str
    # The name in English, when it differs from the Spanish `label` (pages pick by language).
    label_en: str = ""


# What a resolution does to a ballot's subject.
CarryOut = Callable[[Session, Ballot, Resolution, User, dt.datetime], None]


def _nothing_to_carry_out(
    session: Session, ballot: Ballot, resolution: Resolution, actor: User, now: dt.datetime
) -> None:
    """A ballot whose result changes nothing in its subject."""


def _nobody_excluded(session: Session, subject_id: int) -> dict[int, str]:
    """A subject from which no one is excluded beyond their conflicts of interest."""
    return {}


@dataclass(frozen=True)
class BallotSubjectKind:
    """A kind of matter the council votes on, and what its ballots mean for the matter."""

    name: str
    # How pages name and link the subject (None: it no longer exists).
    describe: Callable[[Session, Ballot], SubjectLink | None]
    # Why the subject is no longer what the members voted on (None: unchanged); voids the ballot.
    changed_since_opened: Callable[[Session, Ballot], str | None]
    # The organisations involved: members with a standing conflict with one are recused.
    parties: Callable[[Session, int], list[Party]]
    # What members weigh before voting, shown on the ballot page (None: nothing more), and the
    # partial template that shows it (it reads `review`).
    review: Callable[[Session, Ballot, dt.datetime], object | None]
    review_template: str
    # What the resolution does to the subject when the ballot passes, and when it fails.
    carry_out_passed: CarryOut
    carry_out_failed: CarryOut = _nothing_to_carry_out
    # People recused whatever their declared interests (the reviewers of an appealed decision,
    # say): user id -> the reason recorded on the ballot.
    excluded: Callable[[Session, int], dict[int, str]] = _nobody_excluded


# The subject kinds by `Ballot.subject_type`; each kind's module registers it on import.
SUBJECT_KINDS: dict[str, BallotSubjectKind] = {}


def register_subject_kind(kind: BallotSubjectKind) -> BallotSubjectKind:
    """Let ballots be opened on a kind of subject."""
    SUBJECT_KINDS[kind.name] = kind
    return kind


def describe_subject(session: Session, ballot: Ballot) -> SubjectLink | None:
    """The label and link of a ballot's subject, if its kind names it."""
    kind = SUBJECT_KINDS.get(ballot.subject_type)
    return kind.describe(session, ballot) if kind else None


def subject_review(session: Session, ballot: Ballot, now: dt.datetime) -> object | None:
    """What members weigh on a ballot's subject, if its kind shows anything."""
    kind = SUBJECT_KINDS.get(ballot.subject_type)
    return kind.review(session, ballot, now) if kind else None


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


def may_open_ballot(session: Session, actor: User, now: dt.datetime) -> bool:
    """Whether a person runs ballots: opens and closes them."""
    # The council's secretary runs ballots; the technical secretariat may act for them.
    return actor.has_role(Role.secretariat) or holds_seat(
        session, actor, Seat.secretary, local_date(now)
    )


def _require_secretary(session: Session, actor: User, now: dt.datetime) -> None:
    if not may_open_ballot(session, actor, now):
        raise Forbidden(N_("Only the council's secretary opens and closes ballots."))


def is_open(ballot: Ballot, now: dt.datetime) -> bool:
    """Whether members may still state positions on a ballot."""
    return ballot.status == BallotStatus.open and now < ballot.closes_at


def _closing_due(ballot: Ballot, tally: Tally, now: dt.datetime) -> bool:
    # A ballot closes at its closing time, or earlier once every member has voted.
    return now >= ballot.closes_at or not tally.not_voted


def can_close(
    session: Session, ballot: Ballot, tally: Tally, actor: User, now: dt.datetime
) -> bool:
    """Whether a person may close a ballot now (`close_ballot` would not refuse)."""
    return (
        ballot.status == BallotStatus.open
        and _closing_due(ballot, tally, now)
        and may_open_ballot(session, actor, now)
    )


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
    base_url: str = "",
    required_by_rule: bool = False,
    now: dt.datetime,
) -> Ballot:
    """Open a ballot; the voters are the members in term now, conflicted ones recused.

    The parties checked for conflicts are those given and those the subject's kind names. Every
    voter is told by e-mail (a recused one, that they are recused); links start at `base_url`.
    A ballot the rules require (confirming the chair's urgent suspension) opens without the
    secretary: `required_by_rule`.
    """
    if not required_by_rule:
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
    kind = SUBJECT_KINDS.get(subject_type)
    parties = [*parties, *(kind.parties(session, subject_id) if kind else [])]
    excluded = kind.excluded(session, subject_id) if kind else {}
    people = users_by_id(session, [m.user_id for m in members])
    for member in members:
        user = people[member.user_id]
        conflicts = [
            in_both_languages(CONFLICT_NOTE, {"kind": KIND_LABELS[c.kind]}, party=c.party.name)
            for c in check_conflicts(
                session, email=user.email, user=user, parties=parties, on=local_date(now)
            )
            if c.blocking
        ]
        if member.user_id in excluded:
            conflicts.append(excluded[member.user_id])
        note = "; ".join(conflicts) or None
        session.add(BallotVoter(ballot_id=ballot.id, member_id=member.id, conflict=note))
        _mail_voter(session, ballot, user, recused=note is not None, base_url=base_url, now=now)
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


def _mail_voter(
    session: Session, ballot: Ballot, user: User, *, recused: bool, base_url: str, now: dt.datetime
) -> None:
    queue_mail(
        session,
        to=user.email,
        template="mail/ballot_opened.txt",
        locale=user.locale,
        context={
            "user_name": user.full_name,
            "title": ballot.title_en if user.locale == "en" else ballot.title_es,
            **closing_words(ballot.closes_at),
            "recused": recused,
            "link": f"{base_url.rstrip('/')}/council/ballots/{ballot.id}",
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
    if not is_open(ballot, now):
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


@dataclass(frozen=True)
class VoterName:
    """A voter as ballots and resolutions name them: the member's name and seat."""

    name: str
    seat: Seat


def voters_by_member(session: Session, member_ids: Sequence[int]) -> dict[int, VoterName]:
    """The names and seats of council members, by member id, in one query."""
    if not member_ids:
        return {}
    rows = session.execute(
        select(CouncilMember.id, CouncilMember.seat, User.full_name)
        .join(User, User.id == CouncilMember.user_id)
        .where(CouncilMember.id.in_(member_ids))
    )
    return {member_id: VoterName(name, seat) for member_id, seat, name in rows}


def _record(session: Session, ballot: Ballot, tally: Tally) -> dict[str, Any]:
    positions = ballot_positions(session, ballot)
    voters = voters_by_member(session, [v.member_id for v in ballot.voters])
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
                "member": voters[v.member_id].name,
                "seat": voters[v.member_id].seat.value,
                "kind": (
                    PositionKind.recuse.value
                    if v.conflict
                    else (current[v.member_id].kind.value if v.member_id in current else None)
                ),
                "text": current[v.member_id].text if v.member_id in current else "",
                # Only whether the member was recused: the reason may name a reviewer of the
                # application, whom the public record must not identify (the ballot page,
                # for the council, gives it).
                "conflict": bool(v.conflict),
            }
            for v in ballot.voters
        ],
        "history": [
            {
                "member": voters[p.member_id].name,
                "kind": p.kind.value,
                "cast_at": p.cast_at.isoformat(),
            }
            for p in positions
        ],
        "terms": ballot.terms,
    }


def close_ballot(session: Session, *, actor: User, ballot: Ballot, now: dt.datetime) -> Resolution:
    """Close a ballot at or after its closing time (or once all have voted) into a resolution."""
    _require_secretary(session, actor, now)
    if ballot.status != BallotStatus.open:
        raise Conflict(N_("This ballot is already closed."))
    tally = tally_ballot(session, ballot)
    if not _closing_due(ballot, tally, now):
        raise Conflict(
            N_("The ballot closes at its closing time, or earlier once every member has voted.")
        )
    kind = SUBJECT_KINDS.get(ballot.subject_type)
    changed = kind.changed_since_opened(session, ballot) if kind else None
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
    # The public lists of resolutions change: kept copies of public documents are renewed.
    republish_documents(session, now=now)
    record_event(
        session,
        actor=actor,
        action="ballot.close",
        object_type="ballot",
        object_id=ballot.id,
        summary={"result": ballot.result.value, "resolution": number},
        now=now,
    )
    if kind is not None:
        carry_out = kind.carry_out_passed if passed else kind.carry_out_failed
        carry_out(session, ballot, resolution, actor, now)
    return resolution


@dataclass(frozen=True)
class BallotView:
    """A ballot as a voter or the secretary sees it: the tally, the positions, what they may do."""

    ballot: Ballot
    tally: Tally
    names: dict[int, str]
    current: dict[int, Position]
    history: list[Position]
    my_voter: BallotVoter | None
    my_position: Position | None
    is_open: bool
    can_close: bool
    subject: SubjectLink | None
    review: object | None
    review_template: str
    # The number of the resolution a closed ballot issued (None while it is open).
    resolution: str | None = None

    @property
    def voters(self) -> list[BallotVoter]:
        """Everyone called to vote, recused ones included."""
        return self.ballot.voters

    def context(self) -> dict[str, Any]:
        """The names the ballot page's template reads."""
        return {
            "ballot": self.ballot,
            "tally": self.tally,
            "voters": self.voters,
            "names": self.names,
            "current": self.current,
            "history": self.history,
            "my_voter": self.my_voter,
            "my_position": self.my_position,
            "is_open": self.is_open,
            "can_close": self.can_close,
            "subject": self.subject,
            "review": self.review,
            "review_template": self.review_template,
            "resolution": self.resolution,
        }


def ballot_view(
    session: Session, ballot_id: int, viewer: User, now: dt.datetime, *, review: bool = True
) -> BallotView:
    """A ballot with its tally and positions as `viewer` sees it now (`review`: the subject's)."""
    ballot = get_ballot(session, ballot_id)
    tally = tally_ballot(session, ballot)
    positions = ballot_positions(session, ballot)
    voters = voters_by_member(session, [v.member_id for v in ballot.voters])
    current = {p.member_id: p for p in positions if p.superseded_at is None}
    me = member_of(session, viewer)
    mine = next((v for v in ballot.voters if me and v.member_id == me.id), None)
    recused = mine is not None and mine.conflict is not None
    return BallotView(
        ballot=ballot,
        tally=tally,
        names={member_id: voter.name for member_id, voter in voters.items()},
        current=current,
        history=positions,
        my_voter=mine,
        my_position=current.get(me.id) if me else None,
        is_open=is_open(ballot, now),
        can_close=can_close(session, ballot, tally, viewer, now),
        subject=describe_subject(session, ballot),
        # A recused member does not weigh the subject: its review stays hidden from them.
        review=subject_review(session, ballot, now) if review and not recused else None,
        review_template=kind.review_template
        if (kind := SUBJECT_KINDS.get(ballot.subject_type))
        else "",
        resolution=None
        if ballot.status == BallotStatus.open
        else session.scalar(select(Resolution.number).where(Resolution.ballot_id == ballot.id)),
    )


def _resolutions_newest_first() -> Select[Resolution]:
    return select(Resolution).order_by(Resolution.issued_at.desc(), Resolution.id.desc())


def resolutions_list(session: Session, *, page: int = 1) -> PageOf[Resolution]:
    """One page of the resolutions, newest first."""
    return page_of(session, _resolutions_newest_first(), page=page)


def resolutions_page(session: Session, params: PageParams) -> tuple[list[Resolution], int]:
    """One page of the resolutions, newest first, and how many there are."""
    return paginate(session, _resolutions_newest_first(), params)


def get_resolution(session: Session, number: str) -> Resolution:
    """A resolution by its number."""
    resolution = session.scalar(select(Resolution).where(Resolution.number == number))
    if resolution is None:
        raise NotFound()
    return resolution


@dataclass(frozen=True)
class ResolutionView:
    """A resolution with the ballot it closed, its subject and the day it takes effect."""

    resolution: Resolution
    ballot: Ballot
    subject: SubjectLink | None
    effective_on: dt.date | None

    def context(self) -> dict[str, Any]:
        """The names the resolution's page and PDF templates read."""
        return {
            "resolution": self.resolution,
            "ballot": self.ballot,
            "subject": self.subject,
            "effective_on": self.effective_on,
        }


def resolution_view(session: Session, number: str) -> ResolutionView:
    """A resolution by its number, with what its page shows beside the record."""
    resolution = get_resolution(session, number)
    ballot = get_ballot(session, resolution.ballot_id)
    effective_on = resolution.record.get("terms", {}).get("effective_on")
    return ResolutionView(
        resolution=resolution,
        ballot=ballot,
        subject=describe_subject(session, ballot),
        effective_on=dt.date.fromisoformat(effective_on) if effective_on else None,
    )


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
                    **closing_words(ballot.closes_at),
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
