"""A draft's base: starting from any version, the guard against undoing a newer one, rebasing."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.accounts import User
from core.auth import now_utc
from core.errors import Conflict
from guidelines import service
from guidelines.diff import merge_versions
from guidelines.documents import load_version_tree, version_document
from guidelines.models import GuidelineVersion, VersionStatus
from guidelines.schemas import PrincipleInput
from tests.conftest import csrf_of
from tests.factories import NOW, sign_in_as
from tests.guidelines.builders import make_criterion_input, make_staff
from tests.guidelines.factories import (
    criterion_id,
    load_version,
    make_adopted,
    start_draft,
)

ADOPTED_AT = NOW + dt.timedelta(days=6)
FIVE_DAY_RULE = "El proveedor debe responder en 5 días hábiles."


@pytest.fixture
def staff(db: Session) -> User:
    """A member of the secretariat."""
    return make_staff(db)


def _reword(db: Session, staff: User, draft: GuidelineVersion, code: str, text: str) -> None:
    principle = code.split("-")[0]
    service.update_criterion(
        db,
        actor=staff,
        version=load_version_tree(db, draft.id),
        criterion_id=criterion_id(load_version_tree(db, draft.id), code),
        data=make_criterion_input(code, principle, text),
        expected_revision=None,
        now=NOW,
    )
    db.commit()


@pytest.fixture
def story(db: Session, staff: User) -> tuple[GuidelineVersion, GuidelineVersion]:
    """1.0 in force; 1.1 and 1.2 both copied from it; 1.1 (TR-2 reworded, SG-5 added) adopted."""
    make_adopted(db, staff)
    first = start_draft(db, staff, "1.1")
    second = start_draft(db, staff, "1.2")
    _reword(db, staff, first, "TR-2", FIVE_DAY_RULE)
    service.add_principle(
        db,
        actor=staff,
        version=load_version_tree(db, first.id),
        data=PrincipleInput(code="SG", title_es="Seguimiento"),
        expected_revision=None,
        now=NOW,
    )
    service.add_criterion(
        db,
        actor=staff,
        version=load_version_tree(db, first.id),
        data=make_criterion_input("SG-5", "SG"),
        expected_revision=None,
        now=NOW,
    )
    _reword(db, staff, second, "EQ-1", "El proveedor debe medir EQ-1 cada año.")
    service.adopt_version(
        db,
        version=load_version_tree(db, first.id),
        resolution="CEIA-2026-002",
        effective_on=dt.date(2027, 1, 6),
        consultation_skipped_reason="Versión de prueba sin consulta.",
        actor=None,
        now=ADOPTED_AT,
    )
    db.commit()
    return load_version(db, "1.1"), load_version(db, "1.2")


def _texts(version: GuidelineVersion) -> dict[str, str]:
    return {c.code: c.requirement_es for p in version.principles for c in p.criteria}


def test_a_draft_records_its_base_and_may_start_from_any_version(
    db: Session, staff: User, story: tuple[GuidelineVersion, GuidelineVersion]
) -> None:
    newer, draft = story
    assert draft.base_version_id == load_version(db, "1.0").id
    # By default a new draft copies the version adopted last, in force yet or not.
    latest = start_draft(db, staff, "1.3")
    assert latest.base_version_id == newer.id
    assert _texts(latest)["TR-2"] == FIVE_DAY_RULE
    guideline = service.get_guideline(db, "etica-ia")
    older = service.start_new_draft(
        db, actor=staff, guideline=guideline, number="2.0", source_number="1.0", now=ADOPTED_AT
    )
    assert older.base_version_id == load_version(db, "1.0").id
    assert "SG-5" not in _texts(load_version_tree(db, older.id))
    from_draft = service.start_new_draft(
        db,
        actor=staff,
        guideline=service.get_guideline(db, "etica-ia"),
        number="2.1",
        source_number="1.2",
        now=ADOPTED_AT,
    )
    assert from_draft.based_on_id == draft.id
    # A copy of a draft builds on what that draft built on, so it still misses 1.1.
    assert from_draft.base_version_id == load_version(db, "1.0").id
    assert [v.number for v in service.newer_adopted(db, from_draft)] == ["1.1"]


def test_adopting_a_draft_that_misses_a_newer_version_is_refused(
    db: Session, story: tuple[GuidelineVersion, GuidelineVersion]
) -> None:
    _newer, draft = story
    with pytest.raises(Conflict) as caught:
        service.adopt_version(
            db,
            version=draft,
            resolution="CEIA-2026-003",
            effective_on=dt.date(2027, 2, 1),
            consultation_skipped_reason="Prueba.",
            actor=None,
            now=ADOPTED_AT,
        )
    assert caught.value.params == {"numbers": "1.1"}
    assert load_version(db, "1.2").status == VersionStatus.draft
    # Stating that it replaces 1.1's changes is a choice the council may make.
    service.adopt_version(
        db,
        version=draft,
        resolution="CEIA-2026-003",
        effective_on=dt.date(2027, 2, 1),
        replaces=["1.1"],
        consultation_skipped_reason="Prueba.",
        actor=None,
        now=ADOPTED_AT,
    )
    assert load_version(db, "1.2").status == VersionStatus.adopted


def test_rebase_takes_the_newer_changes_and_keeps_the_drafts(
    db: Session, staff: User, story: tuple[GuidelineVersion, GuidelineVersion]
) -> None:
    newer, draft = story
    conflicts = service.rebase_draft(
        db, actor=staff, version=draft, expected_revision=None, now=ADOPTED_AT
    )
    assert conflicts == []
    rebased = load_version(db, "1.2")
    texts = _texts(rebased)
    assert texts["TR-2"] == FIVE_DAY_RULE
    assert texts["EQ-1"] == "El proveedor debe medir EQ-1 cada año."
    assert "SG-5" in texts
    assert rebased.base_version_id == newer.id
    assert service.newer_adopted(db, rebased) == []
    service.ensure_builds_on_latest(db, rebased)  # no longer refused


def test_rebase_keeps_the_drafts_text_where_both_changed_and_names_it(
    db: Session, staff: User, story: tuple[GuidelineVersion, GuidelineVersion]
) -> None:
    _newer, draft = story
    _reword(db, staff, draft, "TR-2", "El proveedor debe responder en 10 días.")
    conflicts = service.rebase_draft(
        db, actor=staff, version=load_version(db, "1.2"), expected_revision=None, now=ADOPTED_AT
    )
    assert conflicts == ["TR-2"]
    assert _texts(load_version(db, "1.2"))["TR-2"] == "El proveedor debe responder en 10 días."


def test_merge_respects_removals_on_either_side(
    db: Session, story: tuple[GuidelineVersion, GuidelineVersion]
) -> None:
    base = version_document(load_version(db, "1.0"))
    theirs = version_document(load_version(db, "1.1"))
    ours = version_document(load_version(db, "1.2"))
    ours.principles[0].criteria = [c for c in ours.principles[0].criteria if c.code != "TR-1"]
    theirs_without_eq = theirs.model_copy(
        update={"principles": [p for p in theirs.principles if p.code != "EQ"]}
    )
    merged, conflicts = merge_versions(base, ours, theirs_without_eq)
    codes = [c.code for _, c in merged.criteria()]
    # The draft removed TR-1 (1.1 left it alone); 1.1 removed EQ but the draft changed EQ-1,
    # so EQ-1 and the principle holding it stay, named for review.
    assert "TR-1" not in codes
    assert "EQ-1" in codes
    assert conflicts == ["EQ-1", "EQ"]
    assert merged.number == "1.2"


@pytest.fixture
def pinned(app: FastAPI) -> None:
    """Pages see the moment after 1.1 was adopted."""
    app.dependency_overrides[now_utc] = lambda: ADOPTED_AT


def test_the_rebase_page_shows_both_sides_and_rebases(
    client: TestClient,
    db: Session,
    staff: User,
    pinned: None,
    story: tuple[GuidelineVersion, GuidelineVersion],
) -> None:
    sign_in_as(client, staff)
    edit = BeautifulSoup(client.get("/guidelines/etica-ia/1.2/edit").text, "html.parser")
    link = edit.select_one('a[href="/guidelines/etica-ia/1.2/rebase"]')
    assert link is not None
    page = BeautifulSoup(client.get(link["href"]).text, "html.parser")  # type: ignore[arg-type]
    theirs = page.select_one("section[aria-labelledby=theirs-heading]")
    ours = page.select_one("section[aria-labelledby=ours-heading]")
    assert theirs is not None
    assert ours is not None
    assert theirs.select_one("#theirs-added-SG-5") is not None
    assert theirs.select_one("#theirs-changed-TR-2") is not None
    assert ours.select_one("#ours-changed-EQ-1") is not None
    assert ours.select_one("#ours-added-SG-5") is None
    response = client.post(
        "/guidelines/etica-ia/1.2/rebase",
        data={
            "revision": str(load_version(db, "1.2").revision_number),
            "csrf_token": csrf_of(client, "/guidelines/etica-ia/1.2/rebase"),
        },
    )
    assert response.status_code == 303
    assert "SG-5" in _texts(load_version(db, "1.2"))
    edit = BeautifulSoup(client.get("/guidelines/etica-ia/1.2/edit").text, "html.parser")
    assert edit.select_one('a[href="/guidelines/etica-ia/1.2/rebase"]') is None
