"""Assigning reviewers: eligibility and why, automatic choice, declining, releasing, reminders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.accounts import Role, User
from core.audit import AuditEvent
from core.db import make_engine, make_sessionmaker, utcnow
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.i18n import local_date
from core.mail import OutboxMessage
from council import assignment
from council.cli import app as cli_app
from council.conflicts import dismiss_conflict, party_of
from council.members import declare_interest
from council.models import InterestType, Seat
from guidelines.models import GuidelineVersion
from quality_marks import applications, assignments
from quality_marks.models import (
    AnswerValue,
    Application,
    ApplicationStatus,
    Organization,
    OrgRole,
    Review,
    ReviewStatus,
)
from quality_marks.organizations import members_of
from quality_marks.schemas import AnswerInput
from tests.council.builders import TERM_END, TERM_START, seat_member
from tests.factories import NOW, make_user
from tests.quality_marks.factories import (
    make_adopted_version,
    make_application,
    make_organization,
    make_product,
)

URL = "http://testserver"
RULES = assignment.AssignmentRules(reviewers_per_application=2, max_open_reviews=4, review_days=21)


def put_under_review(
    db: Session, staff: User, version: GuidelineVersion, organization: Organization
) -> Application:
    """An application of the organisation, submitted, screened and accepted for review."""
    owner = next(p for p, r in members_of(db, organization.id) if r == OrgRole.owner)
    product = make_product(db, owner, organization, risk="minimal")
    application = make_application(db, actor=owner, product=product, version=version)
    applications.save_answers(
        db,
        actor=owner,
        application=application,
        answers={
            item.criterion.code: AnswerInput(value=AnswerValue.meets)
            for item in applications.checklist(db, application)
        },
        now=NOW,
    )
    applications.submit_application(db, actor=owner, application=application, base_url=URL, now=NOW)
    applications.start_screening(db, actor=staff, application=application, now=NOW)
    applications.accept_application(db, actor=staff, application=application, base_url=URL, now=NOW)
    db.commit()
    return application


@dataclass
class Case:
    """An application under review (product sector "finanzas"), the secretariat and the chair."""

    staff: User
    chair: User
    application: Application
    organization: Organization
    version: GuidelineVersion


def make_case(db: Session) -> Case:
    """The story most assignment tests start from; the pool is theirs to add."""
    staff = make_user(db, role=Role.secretariat)
    chair, _seat = seat_member(db, staff, seat=Seat.chair)
    # The chair knows nothing of the sector and is busy elsewhere: not a natural pick.
    assignment.update_reviewer_profile(
        db, actor=staff, user=chair, sectors=[], max_open_reviews=0, available=True, now=NOW
    )
    version = make_adopted_version(db, staff)
    organization = make_organization(db)
    application = put_under_review(db, staff, version, organization)
    return Case(staff, chair, application, organization, version)


@pytest.fixture
def case(db: Session) -> Case:
    return make_case(db)


def member(
    db: Session,
    case: Case,
    *,
    sectors: list[str] | None = None,
    starts_on: dt.date = TERM_START,
    ends_on: dt.date = TERM_END,
) -> User:
    """A council member with a term (in term unless told) and a reviewer profile."""
    user, _seat = seat_member(db, case.staff, starts_on=starts_on, ends_on=ends_on)
    profile(db, case, user, sectors or [])
    return user


def expert(
    db: Session, case: Case, *, sectors: list[str] | None = None, email: str | None = None
) -> User:
    """An expert with a reviewer profile."""
    user = make_user(db, role=Role.expert, email=email)
    profile(db, case, user, sectors or [])
    return user


def profile(
    db: Session, case: Case, user: User, sectors: list[str], limit: int | None = None
) -> None:
    assignment.update_reviewer_profile(
        db,
        actor=case.staff,
        user=user,
        sectors=sectors,
        max_open_reviews=limit,
        available=True,
        now=NOW,
    )
    db.commit()


def automatic(db: Session, case: Case, rules: assignment.AssignmentRules = RULES) -> list[Review]:
    return assignment.assign_automatically(
        db, actor=case.staff, application=case.application, rules=rules, base_url=URL, now=NOW
    )


def candidate(db: Session, case: Case, user: User) -> assignment.Candidate:
    found = assignment.reviewer_candidates(db, case.application, NOW, rules=RULES)
    return next(c for c in found if c.user.id == user.id)


def count(db: Session, model: Any) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


# Automatic assignment ----------------------------------------------------------------------


def test_automatic_assignment_prefers_the_sector_then_mails_and_records(
    db: Session, case: Case
) -> None:
    plain_member = member(db, case)
    sector_member = member(db, case, sectors=["finanzas"])
    sector_expert = expert(db, case, sectors=["finanzas", "salud"])
    expert(db, case, sectors=["salud"])
    events_before = count(db, AuditEvent)

    reviews = automatic(db, case)

    assert [r.reviewer_id for r in reviews] == [sector_member.id, sector_expert.id]
    assert plain_member.id not in {r.reviewer_id for r in reviews}
    assert {r.status for r in reviews} == {ReviewStatus.assigned}
    assert {r.round for r in reviews} == {case.application.revision}
    assert {r.due_on for r in reviews} == {local_date(NOW) + dt.timedelta(days=21)}
    assert all(r.assignment_note.startswith("Asignación automática: conoce") for r in reviews)
    assert all("Assigned automatically" in r.assignment_note for r in reviews)
    mails = db.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "mail/review_assigned.txt")
    ).all()
    assert {m.to_address for m in mails} == {sector_member.email, sector_expert.email}
    assert all(f"{URL}/applications/{case.application.id}" in m.body_text for m in mails)
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.id > events_before)).all()
    assert actions.count("review.assign") == 2


def test_a_lighter_load_wins_among_equals(db: Session, case: Case) -> None:
    busy = expert(db, case, sectors=["finanzas"])
    free = expert(db, case, sectors=["finanzas"])
    chosen_member = member(db, case)
    other = put_under_review(db, case.staff, case.version, make_organization(db))
    assignments.assign_reviewer(
        db,
        actor=case.staff,
        application=other,
        reviewer=busy,
        due_on=local_date(NOW) + dt.timedelta(days=5),
        note="",
        base_url=URL,
        now=NOW,
    )
    assert assignments.open_review_counts(db, [busy.id, free.id]) == {busy.id: 1, free.id: 0}

    reviews = automatic(db, case)

    assert [r.reviewer_id for r in reviews] == [free.id, chosen_member.id]


def test_a_person_at_their_limit_is_never_chosen(db: Session, case: Case) -> None:
    full = expert(db, case, sectors=["finanzas"])
    profile(db, case, full, ["finanzas"], limit=0)
    fallback = member(db, case)
    spare = expert(db, case)

    reviews = automatic(db, case)

    assert full.id not in {r.reviewer_id for r in reviews}
    assert {r.reviewer_id for r in reviews} == {fallback.id, spare.id}
    reasons = [r.message for r in candidate(db, case, full).reasons]
    assert reasons == ["At the load limit (%(load)s of %(limit)s)"]


def test_one_reviewer_at_least_is_a_council_member(db: Session, case: Case) -> None:
    experts = [expert(db, case, sectors=["finanzas"]) for _ in range(3)]
    only_member = member(db, case)

    reviews = automatic(db, case)

    assert [r.reviewer_id for r in reviews] == [experts[0].id, only_member.id]


def test_a_member_out_of_term_does_not_count(db: Session, case: Case) -> None:
    out = member(db, case, starts_on=dt.date(2020, 1, 1), ends_on=dt.date(2021, 1, 1))
    expert(db, case)

    found = candidate(db, case, out)

    assert not found.eligible
    assert found.kind is None
    assert [r.message for r in found.reasons] == ["Not a council member in term or an expert"]


def test_too_few_eligible_refuses_and_assigns_nobody(db: Session, case: Case) -> None:
    for _ in range(3):
        expert(db, case, sectors=["finanzas"])
    reviews, mails, events = count(db, Review), count(db, OutboxMessage), count(db, AuditEvent)

    with pytest.raises(Conflict) as refused:
        automatic(db, case)

    assert refused.value.params == {"needed": 2, "missing": 1}
    assert "Nobody was assigned" in refused.value.message
    assert (count(db, Review), count(db, OutboxMessage), count(db, AuditEvent)) == (
        reviews,
        mails,
        events,
    )


def test_a_full_round_is_not_filled_again(db: Session, case: Case) -> None:
    member(db, case)
    expert(db, case)
    automatic(db, case)
    with pytest.raises(Conflict):
        automatic(db, case)


# Conflicts ---------------------------------------------------------------------------------


def test_a_declared_interest_bars_the_person(db: Session, case: Case) -> None:
    tied = member(db, case, sectors=["finanzas"])
    declare_interest(
        db,
        actor=tied,
        organisation=case.organization.legal_name,
        rfc=case.organization.rfc,
        interest_type=InterestType.consulting,
        starts_on=dt.date(2025, 1, 1),
        ends_on=None,
        note="",
        now=NOW,
    )
    untied = member(db, case)
    expert(db, case)

    found = candidate(db, case, tied)
    reviews = automatic(db, case)

    assert not found.eligible
    assert [c.kind for c in found.conflicts] == ["declared"]
    assert tied.id not in {r.reviewer_id for r in reviews}
    assert untied.id in {r.reviewer_id for r in reviews}


def test_an_email_domain_conflict_bars_until_the_chair_dismisses_it(
    db: Session, case: Case
) -> None:
    domain = case.organization.contact_email.rsplit("@", 1)[1]
    insider = expert(db, case, sectors=["finanzas"], email=f"revisora@{domain}")
    assert [c.kind for c in candidate(db, case, insider).conflicts] == ["email_domain"]
    assert not candidate(db, case, insider).eligible

    dismiss_conflict(
        db,
        actor=case.chair,
        user=insider,
        party=party_of(case.organization),
        kind="email_domain",
        reason="Cuenta de correo personal en un dominio compartido.",
        now=NOW,
    )
    member(db, case)

    found = candidate(db, case, insider)
    assert found.eligible
    assert [c.dismissed for c in found.conflicts] == [True]
    assert insider.id in {r.reviewer_id for r in automatic(db, case)}


def test_assignment_by_hand_is_refused_on_a_conflict(db: Session, case: Case) -> None:
    domain = case.organization.contact_email.rsplit("@", 1)[1]
    insider = expert(db, case, email=f"otra@{domain}")

    with pytest.raises(Conflict) as refused:
        assignment.assign_by_hand(
            db,
            actor=case.staff,
            application=case.application,
            reviewer_id=insider.id,
            due_on=None,
            rules=RULES,
            base_url=URL,
            now=NOW,
        )

    assert refused.value.params["name"] == insider.full_name
    assert refused.value.params["detail"] == domain
    assert count(db, Review) == 0


def test_assignment_by_hand_takes_the_due_date_given(db: Session, case: Case) -> None:
    chosen = expert(db, case)
    due = local_date(NOW) + dt.timedelta(days=10)

    review = assignment.assign_by_hand(
        db,
        actor=case.staff,
        application=case.application,
        reviewer_id=chosen.id,
        due_on=due,
        rules=RULES,
        base_url=URL,
        now=NOW,
    )

    assert (review.reviewer_id, review.due_on) == (chosen.id, due)
    assert review.assignment_note.startswith("Asignación manual")


# The rules of one assignment ----------------------------------------------------------------


def _assign(
    db: Session,
    case: Case,
    reviewer: User,
    *,
    application: Application | None = None,
    due_on: dt.date | None = None,
) -> Review:
    return assignments.assign_reviewer(
        db,
        actor=case.staff,
        application=application or case.application,
        reviewer=reviewer,
        due_on=due_on or local_date(NOW) + dt.timedelta(days=3),
        note="",
        base_url=URL,
        now=NOW,
    )


def test_only_council_members_and_experts_review(db: Session, case: Case) -> None:
    with pytest.raises(Invalid) as refused:
        _assign(db, case, make_user(db, role=Role.applicant))
    assert set(refused.value.fields) == {"reviewer_id"}


def test_nobody_reviews_a_round_twice(db: Session, case: Case) -> None:
    person = expert(db, case)
    _assign(db, case, person)
    with pytest.raises(Conflict):
        _assign(db, case, person)


def test_reviewers_are_assigned_only_under_review(db: Session, case: Case) -> None:
    applications.request_information(
        db,
        actor=case.staff,
        application=case.application,
        body="¿Y el DPIA?",
        base_url=URL,
        now=NOW,
    )
    assert case.application.status == ApplicationStatus.information_requested
    with pytest.raises(Conflict):
        _assign(db, case, expert(db, case))


def test_only_the_secretariat_assigns(db: Session, case: Case) -> None:
    person = expert(db, case)
    with pytest.raises(Forbidden):
        assignments.assign_reviewer(
            db,
            actor=person,
            application=case.application,
            reviewer=person,
            due_on=local_date(NOW) + dt.timedelta(days=3),
            note="",
            base_url=URL,
            now=NOW,
        )


def test_a_due_date_in_the_past_is_refused(db: Session, case: Case) -> None:
    with pytest.raises(Invalid) as refused:
        _assign(db, case, expert(db, case), due_on=local_date(NOW))
    assert set(refused.value.fields) == {"due_on"}


# Declining and releasing -------------------------------------------------------------------


def test_a_declined_review_is_reassigned_to_someone_else(db: Session, case: Case) -> None:
    first_member = member(db, case, sectors=["finanzas"])
    member(db, case)
    first_expert = expert(db, case)
    reviews = automatic(db, case)
    declined = next(r for r in reviews if r.reviewer_id == first_member.id)

    assignments.decline_review(
        db,
        actor=first_member,
        review=assignments.assigned_review(db, first_member, declined.id),
        reason="Asesoré a un competidor el año pasado.",
        base_url=URL,
        now=NOW,
    )

    assert declined.status == ReviewStatus.declined
    assert declined.declined_reason == "Asesoré a un competidor el año pasado."
    staff_mail = db.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "mail/review_declined.txt")
    ).all()
    assert case.staff.email in {m.to_address for m in staff_mail}
    assert all("Asesoré a un competidor" in m.body_text for m in staff_mail)
    assert [r.message for r in candidate(db, case, first_member).reasons] == [
        "Declined this application before"
    ]
    again = automatic(db, case)
    assert len(again) == 1
    assert again[0].reviewer_id == first_expert.id


def test_declining_needs_a_reason_and_the_reviewer(db: Session, case: Case) -> None:
    person = expert(db, case)
    review = _assign(db, case, person)
    with pytest.raises(Invalid) as refused:
        assignments.decline_review(
            db, actor=person, review=review, reason=" ", base_url=URL, now=NOW
        )
    assert set(refused.value.fields) == {"reason"}
    with pytest.raises(Forbidden):
        assignments.decline_review(
            db, actor=case.staff, review=review, reason="No.", base_url=URL, now=NOW
        )
    with pytest.raises(NotFound):
        assignments.assigned_review(db, expert(db, case), review.id)


def test_a_declined_review_cannot_be_declined_again(db: Session, case: Case) -> None:
    person = expert(db, case)
    review = _assign(db, case, person)
    assignments.decline_review(
        db, actor=person, review=review, reason="Viaje.", base_url=URL, now=NOW
    )
    with pytest.raises(Conflict):
        assignments.decline_review(
            db, actor=person, review=review, reason="Viaje.", base_url=URL, now=NOW
        )


def test_the_secretariat_releases_a_review_and_the_reviewer_is_told(
    db: Session, case: Case
) -> None:
    person = expert(db, case)
    review = _assign(db, case, person)
    version = review.version

    assignments.release_review(
        db, actor=case.staff, review=review, reason="Reasignación por carga.", base_url=URL, now=NOW
    )

    assert review.status == ReviewStatus.released
    assert review.version == version + 1
    mail = db.scalar(
        select(OutboxMessage).where(OutboxMessage.template == "mail/review_released.txt")
    )
    assert mail is not None
    assert mail.to_address == person.email
    assert "Reasignación por carga." in mail.body_text
    assert assignments.open_review_counts(db, [person.id]) == {person.id: 0}
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "review.release"))
    assert event is not None
    assert event.summary["reason"] == "Reasignación por carga."


# Reminders ---------------------------------------------------------------------------------


def _reminders(db: Session) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == "mail/review_reminder.txt")
            .order_by(OutboxMessage.id)
        )
    )


def test_a_reminder_goes_out_once_the_day_before(db: Session, case: Case) -> None:
    soon = expert(db, case)
    later = expert(db, case)
    _assign(db, case, soon, due_on=local_date(NOW) + dt.timedelta(days=1))
    _assign(db, case, later, due_on=local_date(NOW) + dt.timedelta(days=5))

    assert assignment.send_review_reminders(db, base_url=URL, now=NOW) == 1
    assert assignment.send_review_reminders(db, base_url=URL, now=NOW + dt.timedelta(hours=2)) == 0

    assert [m.to_address for m in _reminders(db)] == [soon.email]


@pytest.mark.usefixtures("app")  # the app compiles the catalogs the Spanish subjects come from
def test_overdue_reviews_are_reminded_once_a_day(db: Session, case: Case) -> None:
    late = expert(db, case, email="tarde@ejemplo.mx")
    review = _assign(db, case, late, due_on=local_date(NOW) + dt.timedelta(days=1))
    assignment.send_review_reminders(db, base_url=URL, now=NOW)
    overdue = NOW + dt.timedelta(days=3)

    assert assignment.send_review_reminders(db, base_url=URL, now=overdue) == 1
    assert assignment.send_review_reminders(db, base_url=URL, now=overdue) == 0
    assert (
        assignment.send_review_reminders(db, base_url=URL, now=overdue + dt.timedelta(days=1)) == 1
    )
    assert review.reminded_at == overdue + dt.timedelta(days=1)
    subjects = [m.subject for m in _reminders(db)]
    assert subjects[0].startswith("Recordatorio")
    assert subjects[1].startswith("Vencida")


def test_ended_reviews_get_no_reminder(db: Session, case: Case) -> None:
    person = expert(db, case)
    review = _assign(db, case, person, due_on=local_date(NOW) + dt.timedelta(days=1))
    assignments.decline_review(
        db, actor=person, review=review, reason="Viaje.", base_url=URL, now=NOW
    )
    assert assignment.send_review_reminders(db, base_url=URL, now=NOW) == 0


# Profiles and the pool ---------------------------------------------------------------------


def test_a_profile_takes_only_known_sectors(db: Session, case: Case) -> None:
    person = expert(db, case)
    with pytest.raises(Invalid) as refused:
        assignment.update_reviewer_profile(
            db,
            actor=case.staff,
            user=person,
            sectors=["astrología"],
            max_open_reviews=None,
            available=True,
            now=NOW,
        )
    assert set(refused.value.fields) == {"sectors"}


def test_an_unavailable_person_is_not_eligible(db: Session, case: Case) -> None:
    person = expert(db, case, sectors=["finanzas"])
    assignment.update_reviewer_profile(
        db,
        actor=case.staff,
        user=person,
        sectors=["finanzas"],
        max_open_reviews=None,
        available=False,
        now=NOW,
    )
    assert [r.message for r in candidate(db, case, person).reasons] == ["Not available"]


def test_the_pool_shows_kind_load_and_limit(db: Session, case: Case) -> None:
    person = expert(db, case, sectors=["salud"])
    _assign(db, case, person)

    pool = assignment.reviewer_pool(db, rules=RULES, now=NOW)

    entries = {e.user.id: e for e in pool.items}
    assert (entries[person.id].kind, entries[person.id].load, entries[person.id].limit) == (
        "expert",
        1,
        4,
    )
    assert (entries[case.chair.id].kind, entries[case.chair.id].limit) == ("member", 0)
    assert case.staff.id not in entries


def test_my_reviews_lists_the_nearest_due_first(db: Session, case: Case) -> None:
    person = expert(db, case)
    other = put_under_review(db, case.staff, case.version, make_organization(db))
    later = _assign(db, case, person, due_on=local_date(NOW) + dt.timedelta(days=9))
    sooner = _assign(
        db, case, person, application=other, due_on=local_date(NOW) + dt.timedelta(days=2)
    )

    work = assignments.review_work(db, person)

    assert [w.review.id for w in work.items] == [sooner.id, later.id]
    assert work.items[0].application.id == other.id


def test_the_command_queues_each_reminder_once(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    engine = make_engine(fresh_database_url)
    now = utcnow()  # the command reads the real clock
    with make_sessionmaker(engine)() as session:
        story = make_case(session)
        assignments.assign_reviewer(
            session,
            actor=story.staff,
            application=story.application,
            reviewer=expert(session, story),
            due_on=local_date(now) + dt.timedelta(days=1),
            note="",
            base_url=URL,
            now=now,
        )
        session.commit()

    first = CliRunner().invoke(cli_app, ["reviews", "remind"])
    again = CliRunner().invoke(cli_app, ["reviews", "remind"])

    assert first.exit_code == 0, first.output
    assert "Queued 1 review reminders" in first.output
    assert "Queued 0 review reminders" in again.output
    engine.dispose()
