"""The mark rule: levels from findings, the consolidated findings of a round, the published rule."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from council import adoption, ballots
from council.models import BallotRule, PositionKind
from quality_marks import decisions
from quality_marks.models import Finding, MarkRule, ReviewStatus
from tests.council.builders import seat_council
from tests.factories import NOW
from tests.guidelines.builders import make_draft
from tests.quality_marks.decision_builders import add_review, under_review

F = Finding
C, MINOR, MAJOR, NA = (
    F.conforms,
    F.minor_nonconformity,
    F.major_nonconformity,
    (F.not_applicable_confirmed),
)


def _findings(*found: Finding) -> dict[str, Finding]:
    return {f"TR-{i}": finding for i, finding in enumerate(found, 1)}


@pytest.mark.parametrize(
    ("findings", "level"),
    [
        (_findings(C, C, C), "A"),
        (_findings(NA, NA, NA), "A"),  # every criterion confirmed not applicable: nothing fails
        (_findings(), "A"),
        (_findings(C, MINOR), "B"),
        (_findings(MINOR, MINOR, MINOR, C), "B"),  # three minors: the edge of level B
        (_findings(MINOR, MINOR, MINOR, MINOR), None),  # four minors: no level
        (_findings(MAJOR, C, C), None),  # one major: no level
        (_findings(MAJOR, MINOR), None),
    ],
)
def test_the_level_is_the_best_whose_limits_the_findings_keep(
    findings: dict[str, Finding], level: str | None
) -> None:
    assert decisions.mark_level(findings, decisions.DEFAULT_RULE) == level


def test_a_rule_is_read_best_level_first() -> None:
    lenient_first = {
        "levels": [
            {"code": "B", "max_major": 0, "max_minor": 3},
            {"code": "A", "max_major": 0, "max_minor": 0},
        ]
    }
    assert decisions.mark_level(_findings(C, C), lenient_first) == "B"
    tolerant = {"levels": [{"code": "X", "max_major": 1, "max_minor": 0}]}
    assert decisions.mark_level(_findings(MAJOR), tolerant) == "X"
    assert decisions.mark_level(_findings(MAJOR, MAJOR), tolerant) is None


def test_the_consolidated_finding_is_the_most_severe_of_the_submitted_reviews(
    db: Session,
) -> None:
    case = under_review(db)
    # A review not yet submitted does not count, however severe (nor stops the others counting).
    add_review(db, case, {"TR-5": MAJOR, "TR-1": MAJOR}, status=ReviewStatus.in_progress)
    add_review(db, case, {"TR-1": C, "TR-2": MINOR, "TR-3": NA, "TR-4": C})
    # A criterion left without a finding counts for nothing; the review's others still count.
    add_review(db, case, {"TR-1": None, "TR-2": MAJOR, "TR-3": C, "TR-4": NA})
    add_review(db, case, {"TR-4": MINOR, "TR-3": NA})
    found = decisions.consolidated_findings(db, case.application, case.application.revision)
    assert found == {"TR-1": C, "TR-2": MAJOR, "TR-3": C, "TR-4": MINOR}
    assert (
        decisions.consolidated_findings(db, case.application, case.application.revision + 1) == {}
    )


def test_versions_adopted_before_rules_existed_use_the_default_rule(db: Session) -> None:
    case = under_review(db)
    version_id = case.application.guideline_version_id
    assert decisions.rule_for(db, version_id) == decisions.DEFAULT_RULE
    db.add(MarkRule(guideline_version_id=version_id, rule={"levels": []}, published_at=NOW))
    db.flush()
    assert decisions.rule_for(db, version_id) == {"levels": []}


def test_adopting_a_version_by_ballot_publishes_its_mark_rule(db: Session) -> None:
    secretariat, council = seat_council(db)
    version = make_draft(db, secretariat)
    ballot = adoption.open_adoption_ballot(
        db,
        actor=secretariat,
        version=version,
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=NOW + dt.timedelta(days=7),
        effective_on=dt.date(2027, 1, 1),
        consultation_skipped_reason="Versión de prueba sin consulta.",
        now=NOW,
    )
    for user, _member in council:
        ballots.cast_position(
            db, actor=user, ballot=ballot, kind=PositionKind.yes, text="", now=NOW
        )
    assert db.scalar(select(MarkRule).where(MarkRule.guideline_version_id == version.id)) is None
    ballots.close_ballot(db, actor=secretariat, ballot=ballot, now=NOW + dt.timedelta(hours=1))
    published = db.scalar(select(MarkRule).where(MarkRule.guideline_version_id == version.id))
    assert published is not None
    assert published.rule == decisions.DEFAULT_RULE


@pytest.mark.parametrize(
    ("language", "heading", "level_a"),
    [
        ("es_MX", "Niveles del distintivo de calidad", "Nivel A: conformidad plena"),
        ("en", "Levels of the quality mark", "Level A: full conformity"),
    ],
)
def test_the_public_page_explains_each_adopted_versions_rule(
    client: TestClient, db: Session, language: str, heading: str, level_a: str
) -> None:
    under_review(db)
    db.commit()
    client.cookies.set("lang", language)
    page = client.get("/marks/levels")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    h1 = soup.find("h1")
    assert h1 is not None
    assert h1.get_text(strip=True) == heading
    items = [li.get_text(" ", strip=True) for li in soup.select("main section li")]
    assert any(level_a in item for item in items)
    assert len(items) == 2  # the one adopted version's two levels
