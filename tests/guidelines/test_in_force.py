"""Which version is in force: decided by effective dates, on every page, export and application."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.audit import AuditEvent
from core.auth import now_utc
from guidelines import service
from guidelines.models import GuidelineVersion, VersionStatus
from quality_marks.applications import accepted_versions
from tests.factories import make_user, sign_in_as
from tests.guidelines.builders import make_staff
from tests.guidelines.factories import load_version, make_adopted, start_draft
from tests.quality_marks.factories import make_organization, make_product

S = VersionStatus
ADOPTED_AT = dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.UTC)
EFFECTIVE_ON = dt.date(2027, 1, 6)
# 23:00 on 5 January and 01:00 on 6 January in Mexico City.
EVE = dt.datetime(2027, 1, 6, 5, 0, tzinfo=dt.UTC)
ON_THE_DAY = dt.datetime(2027, 1, 6, 7, 0, tzinfo=dt.UTC)
ENGLISH = {"Accept-Language": "en"}


@dataclass
class Clock:
    """The time every request sees."""

    now: dt.datetime


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    """Requests see the clock's time, the day 1.1 was adopted at first."""
    pinned = Clock(ADOPTED_AT + dt.timedelta(hours=1))
    app.dependency_overrides[now_utc] = lambda: pinned.now
    return pinned


@pytest.fixture
def staff(db: Session) -> User:
    """A member of the secretariat."""
    return make_staff(db)


@pytest.fixture
def adopted_for_later(db: Session, staff: User) -> tuple[GuidelineVersion, GuidelineVersion]:
    """1.0 in force; 1.1 adopted on 1 December 2026, in force from 6 January 2027."""
    make_adopted(db, staff)
    draft = start_draft(db, staff, "1.1")
    service.adopt_version(
        db,
        version=draft,
        resolution="CEIA-2026-002",
        effective_on=EFFECTIVE_ON,
        consultation_skipped_reason="Versión de prueba sin consulta.",
        actor=None,
        now=ADOPTED_AT,
    )
    db.commit()
    return load_version(db, "1.0"), load_version(db, "1.1")


def _standings(db: Session, now: dt.datetime) -> dict[str, service.Standing]:
    guideline = service.get_guideline(db, "etica-ia")
    standing = service.standings(guideline.versions, now)
    return {v.number: standing[v.id] for v in guideline.versions}


def test_a_version_adopted_for_a_later_day_waits_and_the_old_one_stays_in_force(
    db: Session, adopted_for_later: tuple[GuidelineVersion, GuidelineVersion]
) -> None:
    for moment in (ADOPTED_AT, EVE):
        standing = _standings(db, moment)
        assert standing["1.0"] == service.Standing(status=S.adopted, in_force=True)
        assert standing["1.1"] == service.Standing(status=S.adopted, in_force_from=EFFECTIVE_ON)
        assert standing["1.1"].badge == "pending"
    standing = _standings(db, ON_THE_DAY)
    assert standing["1.1"] == service.Standing(status=S.adopted, in_force=True)
    assert standing["1.0"] == service.Standing(status=S.superseded, superseded_on=EFFECTIVE_ON)
    # Nothing was written at adoption that says otherwise.
    assert load_version(db, "1.0").status == S.adopted


def _page(client: TestClient, path: str) -> BeautifulSoup:
    response = client.get(path, headers=ENGLISH)
    assert response.status_code == 200, response.text
    return BeautifulSoup(response.text, "html.parser")


def _badges(page: BeautifulSoup) -> dict[str, str]:
    return {
        row.a.get_text(strip=True): row.select_one(".badge").get_text(strip=True)  # type: ignore[union-attr]
        for row in page.select("tbody tr")
    }


def test_pages_api_and_exports_follow_the_effective_date(
    client: TestClient, clock: Clock, adopted_for_later: tuple[GuidelineVersion, GuidelineVersion]
) -> None:
    page = _page(client, "/guidelines/etica-ia")
    lead = page.select_one("p.lead")
    assert lead is not None
    assert lead.get_text(" ", strip=True).startswith("In force: version 1.0")
    assert _badges(page) == {"1.1": "Adopted, not yet in force", "1.0": "Adopted"}
    assert "Version 1.1 is adopted and in force from January 6, 2027." in page.get_text(" ")
    version_page = _page(client, "/guidelines/etica-ia/1.1").get_text(" ")
    assert "Adopted, in force from January 6, 2027" in " ".join(version_page.split())
    api = client.get("/api/v1/guidelines/etica-ia").json()
    assert api["in_force"] == "1.0"
    assert {v["number"]: (v["status"], v["in_force"]) for v in api["versions"]} == {
        "1.0": ("adopted", True),
        "1.1": ("adopted", False),
    }
    assert client.get("/guidelines/etica-ia/1.0/json").json()["status"] == "adopted"

    clock.now = ON_THE_DAY
    page = _page(client, "/guidelines/etica-ia")
    assert _badges(page) == {"1.1": "Adopted", "1.0": "Superseded"}
    assert client.get("/api/v1/guidelines/etica-ia").json()["in_force"] == "1.1"
    assert client.get("/guidelines/etica-ia/1.0/json").json()["status"] == "superseded"
    exported = client.get("/api/v1/guidelines/etica-ia/versions/1.0").json()
    assert exported["status"] == "superseded"


def test_applications_start_on_the_version_in_force_until_the_effective_date(
    db: Session, adopted_for_later: tuple[GuidelineVersion, GuidelineVersion]
) -> None:
    def accepted(now: dt.datetime) -> list[str]:
        guideline = service.get_guideline(db, "etica-ia")
        return sorted(v.number for v in accepted_versions(guideline, now))

    assert accepted(ADOPTED_AT) == ["1.0"]
    assert accepted(EVE) == ["1.0"]
    # From the day 1.1 takes effect, 1.0 is still accepted during the transition period.
    assert accepted(ON_THE_DAY) == ["1.0", "1.1"]
    assert accepted(ON_THE_DAY + dt.timedelta(days=91)) == ["1.1"]


def test_the_adoption_record_names_the_version_it_succeeds(
    db: Session, adopted_for_later: tuple[GuidelineVersion, GuidelineVersion]
) -> None:
    events = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "guideline_version.adopt")
        .order_by(AuditEvent.id)
    ).all()
    assert [event.summary["succeeds"] for event in events] == [None, "1.0"]


def test_the_application_form_labels_a_version_in_its_transition_period_superseded(
    db: Session,
    client: TestClient,
    clock: Clock,
    adopted_for_later: tuple[GuidelineVersion, GuidelineVersion],
) -> None:
    owner = make_user(db, role=Role.applicant)
    organization = make_organization(db, owner=owner)
    product = make_product(db, owner, organization)
    db.commit()
    sign_in_as(client, owner)
    clock.now = ON_THE_DAY
    page = BeautifulSoup(client.get(f"/products/{product.id}", headers=ENGLISH).text, "html.parser")
    options = [option.get_text(" ", strip=True) for option in page.select("option")]
    assert any("version 1.0 (Superseded)" in option for option in options), options
    assert any("version 1.1 (Adopted)" in option for option in options), options
