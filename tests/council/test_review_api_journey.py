"""From assignment to decision through /api/v1 alone, on the demo's ScoreMX application."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import User, find_user_by_email, issue_api_token
from core.auth import now_utc
from core.storage import FileStore
from council.demo import seed_demo
from quality_marks import applications
from quality_marks.models import Application, Product
from tests.factories import NOW

URL = "http://testserver"
LATER = NOW + dt.timedelta(days=3)


@pytest.fixture
def demo(db: Session, app: FastAPI, tmp_path: Path) -> Application:
    """The demo, with ScoreMX accepted for review by the secretariat."""
    app.dependency_overrides[now_utc] = lambda: LATER
    seed_demo(db, store=FileStore(tmp_path / "store"), base_url=URL, now=NOW)
    application = db.scalar(
        select(Application)
        .join(Product, Product.id == Application.product_id)
        .where(Product.identifier == "MX-IA-FSF-SCORE")
    )
    assert application is not None
    staff = _person(db, "secretaria@ceia.gob.mx")
    applications.start_screening(db, actor=staff, application=application, now=NOW)
    applications.accept_application(db, actor=staff, application=application, base_url=URL, now=NOW)
    db.commit()
    return application


def _person(db: Session, email: str) -> User:
    person = find_user_by_email(db, email)
    assert person is not None
    return person


def _token(db: Session, email: str) -> dict[str, str]:
    token = issue_api_token(db, user=_person(db, email), name="integración", now=NOW)[1]
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def _submit_review(
    client: TestClient, headers: dict[str, str], application_id: int, review_id: int
) -> None:
    """The reviewer reads the whole application, records a finding on each criterion, submits."""
    application = client.get(f"/api/v1/applications/{application_id}", headers=headers)
    assert application.status_code == 200, "a reviewer reads the application"
    codes = [item["code"] for item in application.json()["checklist"]]
    review = client.get(f"/api/v1/reviews/{review_id}", headers=headers).json()
    findings = {code: {"finding": "conforms"} for code in codes}
    findings["DM-2"] = {
        "finding": "minor_nonconformity",
        "comment": "Expliquen en el aviso cómo impugnar una línea de crédito.",
        "private_note": "Solo para el Consejo.",
    }
    saved = client.put(
        f"/api/v1/reviews/{review_id}",
        headers=headers,
        json={
            "version": review["version"],
            "findings": findings,
            "recommendation": "grant",
            "summary": "Cumple, con una observación menor.",
        },
    )
    assert saved.status_code == 200, saved.text
    stale = client.put(
        f"/api/v1/reviews/{review_id}",
        headers=headers,
        json={"version": review["version"], "summary": "Otra cosa."},
    )
    assert stale.status_code == 409
    submitted = client.post(
        f"/api/v1/reviews/{review_id}/submit",
        headers=headers,
        json={"version": saved.json()["version"]},
    )
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"


def test_the_journey_from_assignment_to_decision_works_through_the_api(
    client: TestClient, db: Session, demo: Application
) -> None:
    staff = _token(db, "secretaria@ceia.gob.mx")
    app_id = demo.id

    candidates = client.get(f"/api/v1/applications/{app_id}/candidates", headers=staff)
    assert candidates.status_code == 200
    assigned = client.post(
        f"/api/v1/applications/{app_id}/reviewers", headers=staff, json={"automatic": True}
    )
    assert assigned.status_code == 201, assigned.text
    reviewer_ids = {review["reviewer_id"] for review in assigned.json()}
    assert len(reviewer_ids) == 2

    reviewers = list(db.scalars(select(User).where(User.id.in_(reviewer_ids))))
    for review in assigned.json():
        person = next(p for p in reviewers if p.id == review["reviewer_id"])
        _submit_review(client, _token(db, person.email), app_id, review["id"])

    opened = client.post(
        f"/api/v1/council/applications/{app_id}/decision-ballot",
        headers=staff,
        json={
            "proposal": "grant",
            "reasons": "Las revisiones respaldan otorgar la marca.",
            "closes_on": (LATER + dt.timedelta(days=7)).date().isoformat(),
        },
    )
    assert opened.status_code == 201, opened.text
    ballot = opened.json()
    recused = [p for p in ballot["positions"] if p["kind"] == "recuse"]
    assert recused, "a reviewer on the council sits out of the decision"

    for email in ("presidencia@ceia.gob.mx", "jgarcia@ceia.gob.mx", "lhernandez@ceia.gob.mx"):
        if _person(db, email).id in reviewer_ids:
            continue
        cast = client.post(
            f"/api/v1/council/ballots/{ballot['id']}/positions",
            headers=_token(db, email),
            json={"kind": "yes"},
        )
        assert cast.status_code == 201, cast.text
    # A member in term with ties to another company votes too; Martínez has none with FinIntel.
    cast = client.post(
        f"/api/v1/council/ballots/{ballot['id']}/positions",
        headers=_token(db, "rmartinez@ceia.gob.mx"),
        json={"kind": "no_objection"},
    )
    assert cast.status_code == 201, cast.text

    closed = client.post(f"/api/v1/council/ballots/{ballot['id']}/close", headers=staff)
    assert closed.status_code == 201, closed.text
    number = closed.json()["number"]

    applicant = _token(db, "legal@finintel.example.mx")
    decision = client.get(f"/api/v1/applications/{app_id}/decision", headers=applicant)
    assert decision.status_code == 200
    body = decision.json()
    assert body["status"] == "decided"
    assert body["decision"]["outcome"] == "granted"
    assert body["decision"]["resolution"] == number
    assert body["decision"]["level"] == "B"
    text = decision.text
    assert "Expliquen en el aviso" in text
    assert "Solo para el Consejo." not in text
    for person in reviewers:
        assert person.full_name not in text
