"""The council's JSON API: public members, ballots with their live tally, resolutions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import Role, User, issue_api_token
from core.auth import now_utc
from council import adoption, ballots
from council.members import declare_interest, revise_interest
from council.models import Ballot, BallotRule, InterestType, Position
from tests.council.builders import seat_council, seat_member
from tests.factories import NOW, make_user
from tests.guidelines.builders import make_draft

Json = dict[str, Any]
CLOSES = NOW + dt.timedelta(days=7)
PRIVATE_NOTE = "Nota privada: monto de los honorarios"


@pytest.fixture(autouse=True)
def pinned_clock(app: FastAPI) -> None:
    """The API sees the same clock as the data built with the service verbs."""
    app.dependency_overrides[now_utc] = lambda: NOW


def bearer(db: Session, user: User) -> dict[str, str]:
    token = issue_api_token(db, user=user, name="pruebas", now=NOW)[1]
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def open_adoption(db: Session, actor: User, slug: str = "etica-ia") -> Ballot:
    ballot = adoption.open_adoption_ballot(
        db,
        actor=actor,
        version=make_draft(db, actor, slug=slug),
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=CLOSES,
        effective_on=dt.date(2027, 1, 1),
        consultation_skipped_reason="Versión de prueba sin consulta.",
        now=NOW,
    )
    db.commit()
    return ballot


def test_members_are_public_with_their_interests_but_no_notes(
    client: TestClient, db: Session
) -> None:
    secretariat, council = seat_council(db, 3)
    chair = council[0][0]
    gone, _ = seat_member(
        db, secretariat, starts_on=dt.date(2020, 1, 1), ends_on=dt.date(2023, 12, 31)
    )
    old = declare_interest(
        db,
        actor=chair,
        organisation="Instituto Antiguo",
        rfc="",
        interest_type=InterestType.collaboration,
        starts_on=None,
        ends_on=None,
        note=PRIVATE_NOTE,
        now=NOW,
    )
    revise_interest(
        db,
        actor=chair,
        declaration_id=old.id,
        organisation="DataSalud Analítica",
        rfc="DSA180523KL9",
        interest_type=InterestType.consulting,
        starts_on=dt.date(2025, 1, 1),
        ends_on=None,
        note=PRIVATE_NOTE,
        now=NOW,
    )
    db.commit()

    response = client.get("/api/v1/council/members")

    assert response.status_code == 200
    body: list[Json] = response.json()
    assert gone.full_name not in {m["full_name"] for m in body}
    assert [(m["full_name"], m["seat"]) for m in body[:2]] == [
        (chair.full_name, "chair"),
        (council[1][0].full_name, "secretary"),
    ]
    assert len(body) == 3
    assert body[0]["term_ends_on"] == "2028-12-31"
    assert body[0]["areas"] == ["ética"]
    assert body[0]["interests"] == [
        {
            "organisation": "DataSalud Analítica",
            "rfc": "DSA180523KL9",
            "type": "consulting",
            "starts_on": "2025-01-01",
            "ends_on": None,
        }
    ]
    assert [m["interests"] for m in body[1:]] == [[], []]
    assert PRIVATE_NOTE not in response.text
    assert "note" not in response.text


def test_member_reads_a_ballot_and_states_a_position(client: TestClient, db: Session) -> None:
    secretariat, council = seat_council(db, 5)
    ballot = open_adoption(db, secretariat)
    member = council[2][0]
    headers = bearer(db, member)
    names = sorted(user.full_name for user, _ in council)

    before = client.get(f"/api/v1/council/ballots/{ballot.id}", headers=headers)

    assert before.status_code == 200
    body: Json = before.json()
    assert (body["id"], body["status"], body["rule"], body["result"]) == (
        ballot.id,
        "open",
        "simple_majority",
        None,
    )
    assert body["title_en"] == "Adoption of “Ethics in AI”, version 1.0"
    assert (body["needs"], body["passes"]) == (3, False)
    assert sorted(body["not_voted"]) == names
    assert sorted(p["member"] for p in body["positions"]) == names
    assert {p["kind"] for p in body["positions"]} == {None}

    cast = client.post(
        f"/api/v1/council/ballots/{ballot.id}/positions", headers=headers, json={"kind": "yes"}
    )

    assert cast.status_code == 201
    after: Json = cast.json()
    assert after["needs"] == 2
    assert member.full_name not in after["not_voted"]
    assert len(after["not_voted"]) == 4
    mine = [p for p in after["positions"] if p["member"] == member.full_name]
    assert mine == [{"member": member.full_name, "kind": "yes", "text": ""}]
    again = client.get(f"/api/v1/council/ballots/{ballot.id}", headers=headers).json()
    assert again["needs"] == 2


def test_discuss_without_text_is_refused_with_the_field_named(
    client: TestClient, db: Session
) -> None:
    secretariat, council = seat_council(db, 3)
    ballot = open_adoption(db, secretariat)
    headers = bearer(db, council[2][0])

    response = client.post(
        f"/api/v1/council/ballots/{ballot.id}/positions",
        headers={**headers, "Accept-Language": "en"},
        json={"kind": "discuss", "text": "  "},
    )

    assert response.status_code == 422
    assert response.json() == {
        "error": "invalid",
        "detail": "Some of the information given is not valid.",
        "fields": {"text": "A discuss position must say what needs discussing."},
    }
    assert db.scalar(select(func.count()).select_from(Position)) == 0


def test_secretariat_reads_ballots_but_only_members_vote(client: TestClient, db: Session) -> None:
    secretariat, _council = seat_council(db, 3)
    ballot = open_adoption(db, secretariat)
    headers = bearer(db, secretariat)
    url = f"/api/v1/council/ballots/{ballot.id}"

    assert client.get(url, headers=headers).status_code == 200
    refused = client.post(f"{url}/positions", headers=headers, json={"kind": "yes"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"


@pytest.mark.parametrize("role", [Role.applicant, Role.expert])
def test_outsiders_may_not_see_or_vote(client: TestClient, db: Session, role: Role) -> None:
    secretariat, _council = seat_council(db, 3)
    ballot = open_adoption(db, secretariat)
    headers = bearer(db, make_user(db, role=role))
    url = f"/api/v1/council/ballots/{ballot.id}"

    assert client.get(url, headers=headers).status_code == 403
    refused = client.post(f"{url}/positions", headers=headers, json={"kind": "yes"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"
    assert db.scalar(select(func.count()).select_from(Position)) == 0


def test_anonymous_callers_must_authenticate(client: TestClient, db: Session) -> None:
    secretariat, _council = seat_council(db, 3)
    ballot = open_adoption(db, secretariat)
    url = f"/api/v1/council/ballots/{ballot.id}"

    read = client.get(url)
    vote = client.post(f"{url}/positions", json={"kind": "yes"})

    assert (read.status_code, vote.status_code) == (401, 401)
    assert vote.json()["error"] == "unauthenticated"
    assert vote.headers["www-authenticate"] == "Bearer"


def test_unknown_ballot_is_a_json_404(client: TestClient, db: Session) -> None:
    member = make_user(db, role=Role.council_member)
    headers = bearer(db, member)

    response = client.get("/api/v1/council/ballots/999999", headers=headers)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def _close_failed_ballots(db: Session, secretariat: User, count: int) -> list[str]:
    """Ballots nobody voted on, closed in turn a day apart: failed resolutions."""
    numbers = []
    for n in range(count):
        ballot = ballots.open_ballot(
            db,
            actor=secretariat,
            subject_type="test",
            subject_id=n + 1,
            title_es=f"Votación {n + 1}",
            title_en=f"Ballot {n + 1}",
            rule=BallotRule.simple_majority,
            quorum_percent=50,
            closes_at=CLOSES,
            parties=[],
            terms={},
            now=NOW,
        )
        resolution = ballots.close_ballot(
            db, actor=secretariat, ballot=ballot, now=CLOSES + dt.timedelta(days=n)
        )
        numbers.append(resolution.number)
    db.commit()
    return numbers


def test_resolutions_paginate_newest_first(client: TestClient, db: Session) -> None:
    secretariat, _council = seat_council(db, 3)
    numbers = _close_failed_ballots(db, secretariat, 3)
    assert numbers == ["CEIA-2026-001", "CEIA-2026-002", "CEIA-2026-003"]

    first = client.get("/api/v1/council/resolutions", params={"page_size": 2})
    second = client.get("/api/v1/council/resolutions", params={"page_size": 2, "page": 2})

    assert first.status_code == second.status_code == 200
    one: Json = first.json()
    two: Json = second.json()
    assert (one["total"], one["page"], one["page_size"]) == (3, 1, 2)
    assert [r["number"] for r in one["items"]] == ["CEIA-2026-003", "CEIA-2026-002"]
    assert [r["number"] for r in two["items"]] == ["CEIA-2026-001"]
    assert two["page"] == 2
    assert {r["result"] for r in one["items"] + two["items"]} == {"failed"}
    bad = client.get("/api/v1/council/resolutions", params={"page_size": 0})
    assert bad.status_code == 422


def test_one_resolution_and_an_unknown_one(client: TestClient, db: Session) -> None:
    secretariat, council = seat_council(db, 3)
    _close_failed_ballots(db, secretariat, 1)

    found = client.get("/api/v1/council/resolutions/CEIA-2026-001")
    missing = client.get(
        "/api/v1/council/resolutions/CEIA-2026-999", headers={"Accept-Language": "en"}
    )

    assert found.status_code == 200
    body: Json = found.json()
    assert (body["number"], body["result"]) == ("CEIA-2026-001", "failed")
    assert body["record"]["title_en"] == "Ballot 1"
    assert sorted(p["member"] for p in body["record"]["positions"]) == sorted(
        user.full_name for user, _ in council
    )
    assert {p["kind"] for p in body["record"]["positions"]} == {None}
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "not_found",
        "detail": "The page or object you asked for does not exist.",
    }
