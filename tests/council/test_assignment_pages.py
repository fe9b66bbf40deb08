"""The assignment pages and API: the panel, the pool, my reviews, declining, in both languages."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User, issue_api_token
from council.models import ReviewerProfile
from quality_marks.models import Review, ReviewStatus
from tests.conftest import csrf_of
from tests.council.test_assignment import Case, automatic, expert, make_case, member
from tests.factories import NOW, make_user, sign_in_as

ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def case(db: Session) -> Case:
    return make_case(db)


def _page(response_text: str) -> BeautifulSoup:
    return BeautifulSoup(response_text, "html.parser")


def _reviews(db: Session, case: Case) -> list[Review]:
    db.expire_all()
    return list(
        db.scalars(
            select(Review).where(Review.application_id == case.application.id).order_by(Review.id)
        )
    )


def _panel_url(case: Case) -> str:
    return f"/applications/{case.application.id}/assignment"


def _token(db: Session, user: User) -> dict[str, str]:
    token = issue_api_token(db, user=user, name="pruebas", now=NOW)[1]
    db.commit()
    return {"Authorization": f"Bearer {token}"}


# The assignment panel ----------------------------------------------------------------------


def test_the_panel_explains_who_is_eligible_in_spanish_and_english(
    client: TestClient, db: Session, case: Case
) -> None:
    expert(db, case, sectors=["finanzas"])
    sign_in_as(client, case.staff)

    spanish = _page(client.get(_panel_url(case)).text)
    english = _page(client.get(_panel_url(case), headers=ENGLISH).text)

    chair_row = spanish.select_one(f"#candidate-{case.chair.id}")
    assert chair_row is not None
    assert "En su límite de carga (0 de 0)" in chair_row.get_text(" ", strip=True)
    assert "candidate-ineligible" in chair_row["class"]
    assert spanish.find("button", string="Asignar automáticamente") is not None
    english_row = english.select_one(f"#candidate-{case.chair.id}")
    assert english_row is not None
    assert "At the load limit (0 of 0)" in english_row.get_text(" ", strip=True)
    assert english.find("button", string="Assign automatically") is not None
    assert "Conoce el sector" in spanish.get_text()


def test_automatic_assignment_from_the_panel(client: TestClient, db: Session, case: Case) -> None:
    chosen_member = member(db, case)
    chosen_expert = expert(db, case)
    sign_in_as(client, case.staff)

    answer = client.post(
        f"{_panel_url(case)}/automatic", data={"csrf_token": csrf_of(client, _panel_url(case))}
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == _panel_url(case)
    assert [r.reviewer_id for r in _reviews(db, case)] == [chosen_member.id, chosen_expert.id]
    table = _page(client.get(_panel_url(case)).text).select_one("ul.round-reviews")
    assert table is not None
    assert chosen_member.full_name in table.get_text()


def test_the_panel_says_why_nobody_was_assigned(
    client: TestClient, db: Session, case: Case
) -> None:
    expert(db, case)
    expert(db, case)
    sign_in_as(client, case.staff)

    answer = client.post(
        f"{_panel_url(case)}/automatic", data={"csrf_token": csrf_of(client, _panel_url(case))}
    )

    assert answer.status_code == 409
    assert "faltan 1" in answer.text
    assert "No se asignó a nadie." in answer.text
    assert _reviews(db, case) == []


def test_assigning_by_hand_names_the_conflict(client: TestClient, db: Session, case: Case) -> None:
    domain = case.organization.contact_email.rsplit("@", 1)[1]
    insider = expert(db, case, email=f"interna@{domain}")
    expert(db, case)  # someone eligible, so the form is there to show the refusal
    sign_in_as(client, case.staff)

    answer = client.post(
        _panel_url(case),
        data={"csrf_token": csrf_of(client, _panel_url(case)), "reviewer_id": str(insider.id)},
    )

    assert answer.status_code == 409
    error = _page(answer.text).select_one("#f-reviewer_id-error")
    assert error is not None
    assert insider.full_name in error.get_text()
    assert "conflicto de interés" in error.get_text()
    assert _reviews(db, case) == []


def test_assigning_by_hand_with_a_due_date(client: TestClient, db: Session, case: Case) -> None:
    chosen = expert(db, case)
    sign_in_as(client, case.staff)

    answer = client.post(
        _panel_url(case),
        data={
            "csrf_token": csrf_of(client, _panel_url(case)),
            "reviewer_id": str(chosen.id),
            "due_on": "2026-12-20",
        },
    )

    assert answer.status_code == 303
    [review] = _reviews(db, case)
    assert (review.reviewer_id, review.due_on.isoformat()) == (chosen.id, "2026-12-20")


def test_releasing_needs_a_reason(client: TestClient, db: Session, case: Case) -> None:
    member(db, case)
    expert(db, case)
    first = automatic(db, case)[0]
    db.commit()
    sign_in_as(client, case.staff)
    url = f"/reviews/{first.id}/release"

    refused = client.post(url, data={"csrf_token": csrf_of(client, _panel_url(case))})
    done = client.post(
        url, data={"csrf_token": csrf_of(client, _panel_url(case)), "reason": "Reasignación."}
    )

    assert refused.status_code == 422
    error = _page(refused.text).select_one(f"#f-release-{first.id}-reason-error")
    assert error is not None
    assert error.get_text(strip=True) == "Indique el motivo."
    assert done.status_code == 303
    assert _reviews(db, case)[0].status == ReviewStatus.released


# The pool ----------------------------------------------------------------------------------


def test_the_pool_lists_reviewers_and_their_loads(
    client: TestClient, db: Session, case: Case
) -> None:
    person = expert(db, case, sectors=["salud"])
    sign_in_as(client, case.staff)

    spanish = _page(client.get("/council/reviewers").text)
    english = _page(client.get("/council/reviewers", headers=ENGLISH).text)

    rows = {row.th.get_text(strip=True): row for row in spanish.select("tbody tr") if row.th}
    cells = [td.get_text(strip=True) for td in rows[person.full_name].select("td")]
    assert cells[:4] == ["Persona experta", "salud", "0 de 4", "Sí"]
    assert english.find("h1", string="Reviewer pool") is not None


def test_the_secretariat_edits_a_profile(client: TestClient, db: Session, case: Case) -> None:
    person = make_user(db, role=Role.expert)
    sign_in_as(client, case.staff)
    url = f"/council/reviewers/{person.id}"

    refused = client.post(url, data={"csrf_token": csrf_of(client, url), "max_open_reviews": "x"})
    saved = client.post(
        url,
        data={
            "csrf_token": csrf_of(client, url),
            "sectors": ["salud", "finanzas"],
            "max_open_reviews": "2",
        },
    )

    assert refused.status_code == 422
    assert _page(refused.text).select_one("#f-max_open_reviews-error") is not None
    assert saved.status_code == 303
    db.expire_all()
    profile = db.scalar(select(ReviewerProfile).where(ReviewerProfile.user_id == person.id))
    assert profile is not None
    assert (profile.sectors, profile.max_open_reviews, profile.available) == (
        ["salud", "finanzas"],
        2,
        False,
    )


def test_a_profile_of_someone_outside_the_pool_does_not_exist(
    client: TestClient, db: Session, case: Case
) -> None:
    sign_in_as(client, case.staff)
    assert client.get(f"/council/reviewers/{case.staff.id}").status_code == 404


# The reviewer's side -----------------------------------------------------------------------


def test_a_reviewer_sees_and_declines_their_review(
    client: TestClient, db: Session, case: Case
) -> None:
    reviewer = member(db, case)
    expert(db, case)
    review = automatic(db, case)[0]
    db.commit()
    sign_in_as(client, reviewer)

    listing = _page(client.get("/reviews").text)
    row = listing.select_one(f"#review-{review.id}")
    assert row is not None
    assert f"Solicitud {case.application.id}" in row.get_text()
    url = f"/reviews/{review.id}/decline"
    refused = client.post(url, data={"csrf_token": csrf_of(client, "/reviews")})
    declined = client.post(
        url, data={"csrf_token": csrf_of(client, "/reviews"), "reason": "Conflicto familiar."}
    )

    assert refused.status_code == 422
    assert "Indique el motivo." in refused.text
    assert declined.status_code == 303
    assert _reviews(db, case)[0].status == ReviewStatus.declined


def test_someone_elses_review_cannot_be_declined(
    client: TestClient, db: Session, case: Case
) -> None:
    member(db, case)
    expert(db, case)
    review = automatic(db, case)[0]
    db.commit()
    sign_in_as(client, expert(db, case))

    answer = client.post(
        f"/reviews/{review.id}/decline",
        data={"csrf_token": csrf_of(client, "/reviews"), "reason": "No."},
    )

    assert answer.status_code == 404
    assert _reviews(db, case)[0].status == ReviewStatus.assigned


# The API -----------------------------------------------------------------------------------


def test_the_api_lists_candidates_and_assigns(client: TestClient, db: Session, case: Case) -> None:
    chosen_member = member(db, case, sectors=["finanzas"])
    chosen_expert = expert(db, case)
    staff = _token(db, case.staff)
    url = f"/api/v1/applications/{case.application.id}"

    candidates = client.get(f"{url}/candidates", headers=staff).json()
    assigned = client.post(f"{url}/reviewers", headers=staff, json={"automatic": True})
    again = client.post(f"{url}/reviewers", headers=staff, json={"automatic": True})

    assert [c["user_id"] for c in candidates][:2] == [chosen_member.id, chosen_expert.id]
    chair = next(c for c in candidates if c["user_id"] == case.chair.id)
    assert (chair["eligible"], chair["reasons"]) == (False, ["at_load_limit"])
    assert assigned.status_code == 201
    assert [r["reviewer_id"] for r in assigned.json()] == [chosen_member.id, chosen_expert.id]
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"


def test_the_api_refuses_a_conflicted_reviewer(client: TestClient, db: Session, case: Case) -> None:
    domain = case.organization.contact_email.rsplit("@", 1)[1]
    insider = expert(db, case, email=f"api@{domain}")
    staff = _token(db, case.staff)

    answer = client.post(
        f"/api/v1/applications/{case.application.id}/reviewers",
        headers={**staff, **ENGLISH},
        json={"reviewer_id": insider.id, "due_on": "2026-12-20"},
    )

    assert answer.status_code == 409
    assert "conflict of interest" in answer.json()["detail"]
    assert _reviews(db, case) == []


def test_a_reviewer_lists_and_declines_through_the_api(
    client: TestClient, db: Session, case: Case
) -> None:
    reviewer = member(db, case)
    expert(db, case)
    review = automatic(db, case)[0]
    db.commit()
    headers = _token(db, reviewer)

    mine = client.get("/api/v1/reviews", headers=headers).json()
    refused = client.post(f"/api/v1/reviews/{review.id}/decline", headers=headers, json={})
    declined = client.post(
        f"/api/v1/reviews/{review.id}/decline", headers=headers, json={"reason": "Viaje largo."}
    )

    assert (mine["total"], mine["items"][0]["review"]["id"]) == (1, review.id)
    assert mine["items"][0]["product"] == "Evaluador de crédito"
    assert refused.status_code == 422
    assert set(refused.json()["fields"]) == {"reason"}
    assert declined.status_code == 200
    assert (declined.json()["status"], declined.json()["declined_reason"]) == (
        "declined",
        "Viaje largo.",
    )
