"""The council assigns reviewers: the pool, who is eligible and why, automatic assignment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from core.accounts import Role, User
from core.audit import record_event
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound
from core.i18n import in_both_languages, local_date
from core.pagination import PageOf, page_of
from core.settings import Settings
from council.conflicts import KIND_LABELS, DetectedConflict, check_conflicts, party_of
from council.members import in_term
from council.models import CouncilMember, ReviewerProfile
from quality_marks.assignments import (
    REVIEWER_ROLES,
    assign_reviewer,
    declined_by,
    open_review_counts,
    remind_reviewer,
    reviews_due_for_reminder,
    reviews_of_round,
)
from quality_marks.decisions import excluded_reviewers
from quality_marks.geography import SECTORS
from quality_marks.models import (
    ACTIVE_REVIEWS,
    Application,
    ApplicationStatus,
    Organization,
    Product,
    Review,
)

KIND_MEMBER = "member"
KIND_EXPERT = "expert"
POOL_KIND_LABELS = {KIND_MEMBER: N_("Council member"), KIND_EXPERT: N_("Expert")}
# The most open reviews a profile may allow one person.
MOST_OPEN_REVIEWS = 50


@dataclass(frozen=True)
class AssignmentRules:
    """The council's settings that assignment follows."""

    reviewers_per_application: int
    max_open_reviews: int
    review_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> AssignmentRules:
        """The rules as the service is configured."""
        return cls(
            reviewers_per_application=settings.reviewers_per_application,
            max_open_reviews=settings.max_open_reviews,
            review_days=settings.review_days,
        )


@dataclass(frozen=True)
class Reason:
    """Why a person may not review now: a stable code, a catalog msgid and its parameters."""

    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """A person of the pool as a possible reviewer of one application, and why (not)."""

    user: User
    kind: str | None  # KIND_MEMBER, KIND_EXPERT, or None when neither in term nor an expert
    load: int
    limit: int
    available: bool
    sectors: list[str]
    sector_match: bool
    conflicts: list[DetectedConflict]
    reasons: list[Reason]

    @property
    def eligible(self) -> bool:
        """Whether the person may be assigned now."""
        return not self.reasons and not any(c.blocking for c in self.conflicts)


@dataclass(frozen=True)
class PoolEntry:
    """One person of the reviewer pool with their profile and open load."""

    user: User
    kind: str | None
    profile: ReviewerProfile | None
    load: int
    limit: int

    @property
    def sectors(self) -> list[str]:
        """The sectors the person knows."""
        return self.profile.sectors if self.profile else []

    @property
    def available(self) -> bool:
        """Whether the person takes new reviews."""
        return self.profile.available if self.profile else True


def _require_secretariat(actor: User) -> None:
    if not actor.has_role(Role.secretariat):
        raise Forbidden()


def default_due_on(now: dt.datetime, rules: AssignmentRules) -> dt.date:
    """The due date of a review assigned now: the council's review period, Mexico City days."""
    return local_date(now) + dt.timedelta(days=rules.review_days)


def _pool_query() -> Any:
    return (
        select(User, ReviewerProfile)
        .outerjoin(ReviewerProfile, ReviewerProfile.user_id == User.id)
        .where(User.is_active.is_(True), User.role.in_(REVIEWER_ROLES))
        .order_by(User.id)
    )


def _members_in_term(session: Session, user_ids: list[int], on: dt.date) -> set[int]:
    members = session.scalars(
        select(CouncilMember)
        .where(CouncilMember.user_id.in_(user_ids))
        .options(selectinload(CouncilMember.terms))
    )
    return {m.user_id for m in members if in_term(m, on)}


def _kind(user: User, seated: set[int]) -> str | None:
    if user.role == Role.expert:
        return KIND_EXPERT
    return KIND_MEMBER if user.id in seated else None


def _limit(profile: ReviewerProfile | None, rules: AssignmentRules) -> int:
    if profile is None or profile.max_open_reviews is None:
        return rules.max_open_reviews
    return profile.max_open_reviews


def _entries(
    session: Session, rows: list[Any], rules: AssignmentRules, on: dt.date
) -> list[PoolEntry]:
    ids = [user.id for user, _profile in rows]
    seated = _members_in_term(session, ids, on)
    loads = open_review_counts(session, ids)
    return [
        PoolEntry(user, _kind(user, seated), profile, loads[user.id], _limit(profile, rules))
        for user, profile in rows
    ]


def reviewer_pool(
    session: Session, *, rules: AssignmentRules, now: dt.datetime, page: int = 1
) -> PageOf[PoolEntry]:
    """One page of the council members and experts who may review, with their open loads."""
    found = page_of(session, _pool_query(), page=page, tuples=True, counted=True)
    entries = _entries(session, [tuple(row) for row in found.items], rules, local_date(now))
    by_id = {entry.user.id: entry for entry in entries}
    return found.map(lambda row: by_id[row[0].id])


def application_for_assignment(session: Session, actor: User, application_id: int) -> Application:
    """An application as the secretariat assigns its reviewers: with product and organisation."""
    _require_secretariat(actor)
    application = session.scalar(
        select(Application)
        .where(Application.id == application_id)
        .options(joinedload(Application.product), joinedload(Application.organization))
    )
    if application is None:
        raise NotFound()
    return application


def _reasons(
    entry: PoolEntry, *, assigned: set[int], declined: set[int], appealed: set[int]
) -> list[Reason]:
    reasons = []
    if entry.kind is None:
        reasons.append(Reason("not_a_reviewer", N_("Not a council member in term or an expert")))
    if entry.user.id in assigned:
        reasons.append(Reason("already_assigned", N_("Already reviews this round")))
    if entry.user.id in declined:
        reasons.append(Reason("declined_before", N_("Declined this application before")))
    if entry.user.id in appealed:
        reasons.append(Reason("reviewed_appealed", N_("Reviewed the decision under appeal")))
    if not entry.available:
        reasons.append(Reason("unavailable", N_("Not available")))
    if entry.load >= entry.limit:
        limit = {"load": entry.load, "limit": entry.limit}
        reasons.append(
            Reason("at_load_limit", N_("At the load limit (%(load)s of %(limit)s)"), limit)
        )
    return reasons


def reviewer_candidates(
    session: Session, application: Application, now: dt.datetime, *, rules: AssignmentRules
) -> list[Candidate]:
    """Everyone of the pool as a reviewer of the application: eligible first, best first."""
    rows = [tuple(row) for row in session.execute(_pool_query())]
    entries = _entries(session, rows, rules, local_date(now))
    assigned = {
        r.reviewer_id
        for r in reviews_of_round(session, application.id, application.revision)
        if r.status in ACTIVE_REVIEWS
    }
    declined = declined_by(session, application.id)
    # An upheld appeal is reviewed afresh: not by those whose review led to the refusal.
    appealed = excluded_reviewers(session, application)
    # Loaded here: callers may hold the application without its organisation and product.
    organization = session.get(Organization, application.organization_id)
    product = session.get(Product, application.product_id)
    assert organization is not None
    assert product is not None
    party = party_of(organization)
    product_sectors = set(product.sectors)
    candidates = [
        Candidate(
            user=entry.user,
            kind=entry.kind,
            load=entry.load,
            limit=entry.limit,
            available=entry.available,
            sectors=entry.sectors,
            sector_match=bool(product_sectors & set(entry.sectors)),
            conflicts=check_conflicts(
                session,
                email=entry.user.email,
                user=entry.user,
                parties=[party],
                on=local_date(now),
            ),
            reasons=_reasons(entry, assigned=assigned, declined=declined, appealed=appealed),
        )
        for entry in entries
    ]
    # Expertise first, then the lightest load, then the oldest account: the same every time.
    return sorted(candidates, key=lambda c: (not c.eligible, not c.sector_match, c.load, c.user.id))


# Why a person was assigned, stored with the review in Spanish and English.
ASSIGNED_AUTOMATICALLY = N_("Assigned automatically: %(expertise)s; load %(load)s of %(limit)s.")
ASSIGNED_BY_HAND = N_("Assigned by hand: %(expertise)s; load %(load)s of %(limit)s.")
KNOWS_THE_SECTOR = N_("knows the product's sector")
NO_COMMON_SECTOR = N_("no sector in common")


def _note(candidate: Candidate, *, automatic: bool) -> str:
    return in_both_languages(
        ASSIGNED_AUTOMATICALLY if automatic else ASSIGNED_BY_HAND,
        {"expertise": KNOWS_THE_SECTOR if candidate.sector_match else NO_COMMON_SECTOR},
        load=candidate.load,
        limit=candidate.limit,
    )


def _choose(candidates: list[Candidate], needed: int, member_assigned: bool) -> list[Candidate]:
    chosen: list[Candidate] = []
    for candidate in candidates:
        if len(chosen) == needed:
            break
        has_member = member_assigned or any(c.kind == KIND_MEMBER for c in chosen)
        # The last place goes to a council member when none reviews yet.
        if needed - len(chosen) == 1 and not has_member and candidate.kind != KIND_MEMBER:
            continue
        chosen.append(candidate)
    return chosen


def assign_automatically(
    session: Session,
    *,
    actor: User,
    application: Application,
    rules: AssignmentRules,
    base_url: str,
    now: dt.datetime,
) -> list[Review]:
    """Fill the round's reviewers from the eligible pool, all of them or none."""
    _require_secretariat(actor)
    candidates = reviewer_candidates(session, application, now, rules=rules)
    active = [
        r
        for r in reviews_of_round(session, application.id, application.revision)
        if r.status in ACTIVE_REVIEWS
    ]
    needed = rules.reviewers_per_application - len(active)
    if needed <= 0:
        raise Conflict(N_("This round already has the reviewers it needs."))
    kinds = {c.user.id: c.kind for c in candidates}
    member_assigned = any(kinds.get(r.reviewer_id) == KIND_MEMBER for r in active)
    chosen = _choose([c for c in candidates if c.eligible], needed, member_assigned)
    if len(chosen) < needed:
        raise Conflict(
            N_(
                "Not enough eligible reviewers: %(needed)s needed, %(missing)s missing (at least "
                "one must be a council member in term). Nobody was assigned."
            ),
            needed=needed,
            missing=needed - len(chosen),
        )
    due_on = default_due_on(now, rules)
    return [
        assign_reviewer(
            session,
            actor=actor,
            application=application,
            reviewer=candidate.user,
            due_on=due_on,
            note=_note(candidate, automatic=True),
            base_url=base_url,
            now=now,
        )
        for candidate in chosen
    ]


def _refusal(candidate: Candidate) -> Conflict:
    blocking = next((c for c in candidate.conflicts if c.blocking), None)
    if blocking is not None:
        return Conflict(
            N_(
                "%(name)s has a conflict of interest with %(organisation)s: %(kind)s (%(detail)s). "
                "Only the chair's dismissal of the conflict allows the assignment."
            ),
            name=candidate.user.full_name,
            organisation=blocking.party.name,
            kind=KIND_LABELS[blocking.kind],
            detail=blocking.detail,
        )
    reason = candidate.reasons[0]
    if reason.params:  # the load limit
        return Conflict(
            N_("%(name)s cannot be assigned: at the load limit (%(load)s of %(limit)s)."),
            name=candidate.user.full_name,
            **reason.params,
        )
    return Conflict(
        N_("%(name)s cannot be assigned: %(reason)s."),
        name=candidate.user.full_name,
        reason=reason.message,
    )


def assign_by_hand(
    session: Session,
    *,
    actor: User,
    application: Application,
    reviewer_id: int | None,
    due_on: dt.date | None,
    rules: AssignmentRules,
    base_url: str,
    now: dt.datetime,
) -> Review:
    """The secretariat chooses one reviewer; the same checks as automatic assignment apply."""
    _require_secretariat(actor)
    candidates = reviewer_candidates(session, application, now, rules=rules)
    candidate = next((c for c in candidates if c.user.id == reviewer_id), None)
    if candidate is None:
        raise Invalid(fields={"reviewer_id": N_("Choose a council member or expert of the pool.")})
    if not candidate.eligible:
        raise _refusal(candidate)
    return assign_reviewer(
        session,
        actor=actor,
        application=application,
        reviewer=candidate.user,
        due_on=due_on or default_due_on(now, rules),
        note=_note(candidate, automatic=False),
        base_url=base_url,
        now=now,
    )


def assign_reviewers(
    session: Session,
    *,
    actor: User,
    application: Application,
    automatic: bool,
    reviewer_id: int | None,
    due_on: dt.date | None,
    rules: AssignmentRules,
    base_url: str,
    now: dt.datetime,
) -> list[Review]:
    """Assign the round's reviewers automatically, or the one person the secretariat chose."""
    if automatic:
        return assign_automatically(
            session, actor=actor, application=application, rules=rules, base_url=base_url, now=now
        )
    review = assign_by_hand(
        session,
        actor=actor,
        application=application,
        reviewer_id=reviewer_id,
        due_on=due_on,
        rules=rules,
        base_url=base_url,
        now=now,
    )
    return [review]


def send_review_reminders(session: Session, *, base_url: str, now: dt.datetime) -> int:
    """Mail reviewers whose open reviews are due within a day (once) or overdue (once a day)."""
    due = reviews_due_for_reminder(session, now)
    for review in due:
        remind_reviewer(session, review=review, base_url=base_url, now=now)
    return len(due)


# Profiles ----------------------------------------------------------------------------------


def pool_member(session: Session, actor: User, user_id: int) -> User:
    """A council member or expert whose reviewer profile the secretariat keeps."""
    _require_secretariat(actor)
    user = session.get(User, user_id)
    if user is None or user.role not in REVIEWER_ROLES:
        raise NotFound()
    return user


def update_reviewer_profile(
    session: Session,
    *,
    actor: User,
    user: User,
    sectors: list[str],
    max_open_reviews: int | None,
    available: bool,
    now: dt.datetime,
) -> ReviewerProfile:
    """The secretariat records the sectors a reviewer knows and how much they take on."""
    _require_secretariat(actor)
    if user.role not in REVIEWER_ROLES:
        raise Invalid(N_("Only council members and experts have a reviewer profile."))
    unknown = sorted(set(sectors) - set(SECTORS))
    if unknown:
        raise Invalid(fields={"sectors": N_("Choose sectors from the list.")})
    if max_open_reviews is not None and not 0 <= max_open_reviews <= MOST_OPEN_REVIEWS:
        raise Invalid(
            fields={"max_open_reviews": N_("Give a number from 0 to %(most)s.")},
            most=MOST_OPEN_REVIEWS,
        )
    profile = session.scalar(select(ReviewerProfile).where(ReviewerProfile.user_id == user.id))
    if profile is None:
        profile = ReviewerProfile(user_id=user.id)
        session.add(profile)
    profile.sectors = [s for s in SECTORS if s in sectors]
    profile.max_open_reviews = max_open_reviews
    profile.available = available
    profile.updated_at = now
    session.flush()
    record_event(
        session,
        actor=actor,
        action="reviewer_profile.update",
        object_type="user",
        object_id=user.id,
        summary={
            "sectors": profile.sectors,
            "max_open_reviews": max_open_reviews,
            "available": available,
        },
        now=now,
    )
    return profile


def reviewer_profile(session: Session, user: User) -> ReviewerProfile | None:
    """The profile the secretariat keeps of a reviewer, if any yet."""
    return session.scalar(select(ReviewerProfile).where(ReviewerProfile.user_id == user.id))


def profile_values(profile: ReviewerProfile | None) -> dict[str, Any]:
    """A profile as its form shows it (a new profile: available, the council's default load)."""
    if profile is None:
        return {"sectors": [], "max_open_reviews": "", "available": "on"}
    return {
        "sectors": profile.sectors,
        "max_open_reviews": ""
        if profile.max_open_reviews is None
        else str(profile.max_open_reviews),
        "available": "on" if profile.available else "",
    }


# The assignment panel ----------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentPanel:
    """What the secretariat sees when assigning an application's reviewers."""

    application: Application
    candidates: list[Candidate]
    reviews: list[Review]
    needed: int
    due_on: dt.date
    open_for_assignment: bool

    def context(self) -> dict[str, Any]:
        """The names the assignment template reads."""
        return {
            "application": self.application,
            "candidates": self.candidates,
            "reviews": self.reviews,
            "needed": self.needed,
            "default_due_on": self.due_on,
            "open_for_assignment": self.open_for_assignment,
            "eligible": [c for c in self.candidates if c.eligible],
        }


def assignment_panel(
    session: Session,
    actor: User,
    application_id: int,
    *,
    now: dt.datetime,
    rules: AssignmentRules,
) -> AssignmentPanel:
    """An application's candidates with their reasons, and the reviews of its current round."""
    application = application_for_assignment(session, actor, application_id)
    reviews = reviews_of_round(session, application.id, application.revision)
    active = sum(1 for r in reviews if r.status in ACTIVE_REVIEWS)
    return AssignmentPanel(
        application=application,
        candidates=reviewer_candidates(session, application, now, rules=rules),
        reviews=reviews,
        needed=max(rules.reviewers_per_application - active, 0),
        due_on=default_due_on(now, rules),
        open_for_assignment=application.status == ApplicationStatus.under_review,
    )


def review_to_release(session: Session, actor: User, review_id: int) -> Review:
    """A review the secretariat may take back from its reviewer."""
    _require_secretariat(actor)
    review = session.get(Review, review_id)
    if review is None:
        raise NotFound()
    return review
