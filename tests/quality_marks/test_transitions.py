"""An application's life cycle: every (from, to) pair, what may be edited, the 90-day period."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.errors import Conflict
from core.i18n import translator
from guidelines.models import Criterion, Guideline, GuidelineVersion, Principle, RiskLevel
from guidelines.models import VersionStatus as V
from quality_marks import applications, decisions
from quality_marks.models import (
    Answer,
    AnswerValue,
    Appeal,
    AppealStatus,
    Application,
    ApplicationDecision,
    Decision,
    Organization,
    OrgRole,
    OrgVerification,
)
from quality_marks.models import ApplicationStatus as S
from quality_marks.organizations import members_of
from quality_marks.schemas import AnswerInput
from tests.factories import NOW, make_user
from tests.quality_marks.factories import (
    make_adopted_version,
    make_application,
    make_member,
    make_organization,
    make_product,
)

# The rule, written out: from each status, where an application may go next.
ALLOWED: dict[S, set[S]] = {
    S.draft: {S.submitted, S.withdrawn},
    S.submitted: {S.screening, S.withdrawn},
    S.screening: {S.under_review, S.draft, S.withdrawn},
    S.under_review: {S.information_requested, S.decided, S.withdrawn},
    S.information_requested: {S.under_review, S.withdrawn},
    S.decided: {S.appealed},
    # Back under review only by the appeal ballot's resolution, never by a person's verb.
    S.appealed: {S.decided},
    S.withdrawn: set(),
}
EDITABLE = {S.draft, S.information_requested}
LAYOUT = {"TR": {"TR-1": [RiskLevel.minimal, RiskLevel.limited, RiskLevel.high]}}
URL = "http://testserver"


@dataclass
class Case:
    """An application with a complete self-assessment and the people around it."""

    application: Application
    owner: User
    viewer: User
    staff: User


@pytest.fixture
def case(db: Session) -> Case:
    staff = make_user(db, role=Role.secretariat)
    version = make_adopted_version(db, staff, layout=LAYOUT)
    organization = make_organization(db)
    owner = next(p for p, r in members_of(db, organization.id) if r == OrgRole.owner)
    viewer = make_member(db, organization, OrgRole.viewer)
    product = make_product(db, owner, organization)
    application = make_application(db, actor=owner, product=product, version=version)
    applications.save_answers(
        db,
        actor=owner,
        application=application,
        answers={"TR-1": AnswerInput(value=AnswerValue.meets)},
        now=NOW,
    )
    return Case(application, owner, viewer, staff)


Move = Callable[[Session, Case], object]


def _decide(db: Session, case: Case) -> object:
    """Reach `decided` as the council does: a decision from review, a dismissed appeal from one."""
    if case.application.status == S.appealed:
        return _dismiss_appeal(db, case)
    return decisions.record_decision(
        db,
        application=case.application,
        outcome=Decision.granted,
        resolution="CEIA-2026-010",
        round=case.application.revision,
        rule=decisions.DEFAULT_RULE,
        reasons="Cumple los criterios.",
        conditions="",
        validity_years=2,
        appeal_days=30,
        decision_url=URL,
        actor=None,
        now=NOW,
    )


def _dismiss_appeal(db: Session, case: Case) -> object:
    """The appeal ballot fails: the refusal under appeal stands (its records built directly)."""
    refusal = ApplicationDecision(
        application_id=case.application.id,
        outcome=Decision.refused,
        resolution="CEIA-2026-011",
        round=case.application.revision,
        findings={},
        rule=decisions.DEFAULT_RULE,
        reasons="No cumple.",
        appeal_until=NOW.date() + dt.timedelta(days=30),
        decided_at=NOW,
    )
    db.add(refusal)
    db.flush()
    db.add(
        Appeal(
            application_id=case.application.id,
            decision_id=refusal.id,
            grounds="La revisión omitió evidencia.",
            filed_by_id=case.owner.id,
            filed_at=NOW,
            status=AppealStatus.filed,
        )
    )
    db.flush()
    return decisions.settle_appeal(
        db,
        application=case.application,
        upheld=False,
        resolution="CEIA-2026-012",
        reason="No procede.",
        decision_url=URL,
        actor=None,
        now=NOW,
    )


def _appeal_a_refusal(db: Session, case: Case) -> object:
    """The organisation appeals a refusal of the day (built directly: only ballots decide)."""
    db.add(
        ApplicationDecision(
            application_id=case.application.id,
            outcome=Decision.refused,
            resolution="CEIA-2026-011",
            round=case.application.revision,
            findings={},
            rule=decisions.DEFAULT_RULE,
            reasons="No cumple.",
            appeal_until=NOW.date() + dt.timedelta(days=30),
            decided_at=NOW,
        )
    )
    db.flush()
    return decisions.file_appeal(
        db,
        actor=case.owner,
        application=case.application,
        grounds="La revisión omitió evidencia.",
        base_url=URL,
        now=NOW,
    )


MOVES: dict[S, Move] = {
    S.submitted: lambda db, c: applications.submit_application(
        db, actor=c.owner, application=c.application, base_url=URL, now=NOW
    ),
    S.screening: lambda db, c: applications.start_screening(
        db, actor=c.staff, application=c.application, now=NOW
    ),
    S.under_review: lambda db, c: applications.accept_application(
        db, actor=c.staff, application=c.application, base_url=URL, now=NOW
    ),
    S.draft: lambda db, c: applications.return_application(
        db,
        actor=c.staff,
        application=c.application,
        reason="Falta evidencia.",
        base_url=URL,
        now=NOW,
    ),
    S.information_requested: lambda db, c: applications.request_information(
        db, actor=c.staff, application=c.application, body="¿Quién revisa?", base_url=URL, now=NOW
    ),
    S.decided: lambda db, c: _decide(db, c),
    S.appealed: lambda db, c: _appeal_a_refusal(db, c),
    S.withdrawn: lambda db, c: applications.withdraw_application(
        db, actor=c.owner, application=c.application, reason="Cambio de planes.", now=NOW
    ),
}


def _refusal(change: Callable[[], object]) -> Conflict | None:
    """The conflict a change is refused with, or None when it is made."""
    try:
        change()
    except Conflict as refused:
        return refused
    return None


def _put_in(db: Session, application: Application, status: S) -> None:
    application.status = status
    db.flush()


@pytest.mark.parametrize("start", list(S))
def test_each_move_is_refused_exactly_when_the_life_cycle_forbids_it(
    db: Session, case: Case, start: S
) -> None:
    # Every target from this status, each in a savepoint so the next starts from `start` again
    # (one application per status keeps the 49 pairs fast).
    _put_in(db, case.application, start)
    done = set()
    for target in S:
        savepoint = db.begin_nested()
        refused = _refusal(lambda: MOVES[target](db, case))  # noqa: B023
        if refused is None:
            assert case.application.status == target
            done.add(target)
        else:
            assert refused.message == "The application is %(status)s; it cannot become %(target)s."
            assert refused.params == {
                "status": applications.STATUS_LABELS[start],
                "target": applications.STATUS_LABELS[target],
            }
        savepoint.rollback()
        assert case.application.status == start
    assert done == ALLOWED[start]


def test_refused_move_reads_well_in_both_languages(db: Session, case: Case) -> None:
    _put_in(db, case.application, S.decided)
    with pytest.raises(Conflict) as refused:
        MOVES[S.draft](db, case)
    error = refused.value
    shown = {}
    for locale in ("es_MX", "en"):
        tr = translator(locale)
        params = {key: tr.gettext(value) for key, value in error.params.items()}
        shown[locale] = tr.gettext(error.message, **params)
    assert shown == {
        "es_MX": "La solicitud está en estado «Resuelta»; no puede pasar a «Borrador».",
        "en": "The application is Decided; it cannot become Draft.",
    }


def test_the_self_assessment_may_change_only_in_a_draft_or_on_request(
    db: Session, case: Case
) -> None:
    editable = set()
    for status in S:
        _put_in(db, case.application, status)
        savepoint = db.begin_nested()
        refused = _refusal(
            lambda: applications.save_answers(
                db,
                actor=case.owner,
                application=case.application,
                answers={"TR-1": AnswerInput(value=AnswerValue.meets)},
                now=NOW,
            )
        )
        savepoint.rollback()
        if refused is None:
            editable.add(status)
        else:
            assert refused.params == {"status": applications.STATUS_LABELS[status]}
            assert refused.message == (
                "The application is %(status)s and its self-assessment is frozen; "
                "it can change only when the secretariat returns it or asks for information."
            )
    assert editable == EDITABLE


ACTIONS: dict[S, tuple[list[str], list[str]]] = {
    # status: (what an editor of the organisation may do, what the secretariat may do)
    S.draft: (["edit", "submit", "withdraw"], []),
    S.submitted: (["withdraw"], ["start_screening"]),
    S.screening: (["withdraw"], ["accept", "return"]),
    S.under_review: (["withdraw"], ["request_information"]),
    S.information_requested: (["edit", "answer_request", "withdraw"], []),
    S.decided: ([], []),
    S.appealed: ([], []),
    S.withdrawn: ([], []),
}


def test_next_actions_follow_the_status_and_the_person(db: Session, case: Case) -> None:
    for status in S:
        _put_in(db, case.application, status)
        editor_actions, staff_actions = ACTIONS[status]
        assert applications.next_actions(db, case.application, case.owner) == editor_actions
        assert applications.next_actions(db, case.application, case.staff) == staff_actions
        assert applications.next_actions(db, case.application, case.viewer) == []


# The transition period ---------------------------------------------------------------------

PERIOD_START = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _guideline() -> tuple[Guideline, GuidelineVersion, GuidelineVersion]:
    """1.0 in force until 2.0 took effect on PERIOD_START's day; 1.5 withdrawn."""
    old = GuidelineVersion(
        id=1,
        number="1.0",
        status=V.adopted,
        adopted_at=PERIOD_START - dt.timedelta(days=400),
        effective_on=(PERIOD_START - dt.timedelta(days=400)).date(),
    )
    withdrawn = GuidelineVersion(id=2, number="1.5", status=V.withdrawn)
    in_force = GuidelineVersion(
        id=3,
        number="2.0",
        status=V.adopted,
        adopted_at=PERIOD_START - dt.timedelta(days=10),
        effective_on=PERIOD_START.date(),
    )
    guideline = Guideline(slug="etica-ia", versions=[old, withdrawn, in_force])
    return guideline, old, in_force


@pytest.mark.parametrize(
    ("elapsed_days", "accepted"),
    [(0, True), (89, True), (90, True), (91, False), (365, False)],
)
def test_a_superseded_version_is_accepted_for_90_days(elapsed_days: int, accepted: bool) -> None:
    guideline, old, in_force = _guideline()
    now = PERIOD_START + dt.timedelta(days=elapsed_days)
    versions = applications.accepted_versions(guideline, now)
    assert versions == ([in_force, old] if accepted else [in_force])


def test_before_its_effective_day_the_newer_version_is_not_accepted() -> None:
    guideline, old, _in_force = _guideline()
    assert applications.accepted_versions(guideline, PERIOD_START - dt.timedelta(days=1)) == [old]


# What a checklist item still needs -----------------------------------------------------------


def _item(value: AnswerValue | None, justification: str) -> applications.ChecklistItem:
    answer = Answer(criterion_code="TR-1", value=value, justification=justification)
    return applications.ChecklistItem(Principle(code="TR"), Criterion(code="TR-1"), answer)


@pytest.mark.parametrize(
    ("value", "justification", "missing"),
    [
        (None, "Texto.", ["Choose an answer."]),
        (AnswerValue.meets, "", []),
        (AnswerValue.meets, "   ", []),
        (AnswerValue.partly_meets, "Falta la auditoría externa.", []),
        (AnswerValue.partly_meets, " \t\n ", ["Give a justification for this answer."]),
        (AnswerValue.does_not_meet, "", ["Give a justification for this answer."]),
        (AnswerValue.not_applicable, "  ", ["Give a justification for this answer."]),
        (AnswerValue.not_applicable, "No trata datos personales.", []),
    ],
)
def test_answers_other_than_meets_need_a_justification_that_is_not_blank(
    value: AnswerValue | None, justification: str, missing: list[str]
) -> None:
    assert _item(value, justification).missing == missing


def test_an_unanswered_criterion_needs_an_answer() -> None:
    item = applications.ChecklistItem(Principle(code="TR"), Criterion(code="TR-1"), None)
    assert item.missing == ["Choose an answer."]


def test_a_draft_of_an_unverified_organisation_offers_no_submit(db: Session, case: Case) -> None:
    organization = db.get(Organization, case.application.organization_id)
    assert organization is not None
    organization.verification = OrgVerification.unverified
    db.flush()
    assert applications.next_actions(db, case.application, case.owner) == ["edit", "withdraw"]
