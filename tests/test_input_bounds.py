"""Out-of-range numbers and overlong text are refused with 422 before the database (item 12)."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.accounts import Role, issue_api_token
from tests.conftest import csrf_of
from tests.factories import NOW, make_user, sign_in_as

HUGE = "99999999999999999999"
LONG_EMAIL = "a" * 330 + "@ejemplo.mx"


def _staff_token(db: Session) -> dict[str, str]:
    user = make_user(db, role=Role.secretariat)
    return {"Authorization": f"Bearer {issue_api_token(db, user=user, name='t', now=NOW)[1]}"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/council/resolutions",
        "/api/v1/guidelines/etica/versions/1.0/comments",
        "/api/v1/applications",
        "/api/v1/organisations",
        "/api/v1/users",
        "/api/v1/guidelines",
    ],
)
@pytest.mark.parametrize("query", [f"page={HUGE}", "page=100001", f"page_size={HUGE}"])
def test_an_absurd_page_is_a_422(client: TestClient, db: Session, path: str, query: str) -> None:
    response = client.get(f"{path}?{query}", headers=_staff_token(db))
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid"
    assert set(body["fields"]) <= {"page", "page_size"}


def test_the_last_allowed_page_is_answered(client: TestClient, db: Session) -> None:
    response = client.get("/api/v1/council/resolutions?page=100000", headers=_staff_token(db))
    assert response.status_code == 200
    assert response.json()["items"] == []


def _field_error(html: str) -> tuple[str, str]:
    page = BeautifulSoup(html, "html.parser")
    error = page.select_one("#f-email-error")
    field = page.select_one("input[name=email]")
    assert error is not None
    assert field is not None
    return error.get_text(strip=True), str(field.get("value"))


def test_an_overlong_email_at_sign_in_is_refused_with_the_form_filled(client: TestClient) -> None:
    token = csrf_of(client, "/signin")
    response = client.post(
        "/signin", data={"email": LONG_EMAIL, "password": "x", "csrf_token": token}
    )
    assert response.status_code == 422
    assert _field_error(response.text) == ("Este texto es demasiado largo.", LONG_EMAIL)


def test_an_overlong_email_for_a_reset_is_refused_with_the_form_filled(
    client: TestClient,
) -> None:
    token = csrf_of(client, "/account/reset")
    response = client.post("/account/reset", data={"email": LONG_EMAIL, "csrf_token": token})
    assert response.status_code == 422
    assert _field_error(response.text) == ("Este texto es demasiado largo.", LONG_EMAIL)


def test_an_out_of_range_id_in_a_form_is_a_field_error(client: TestClient, db: Session) -> None:
    make_user(db, role=Role.council_member)  # someone to seat, so the form is shown
    sign_in_as(client, make_user(db, role=Role.secretariat))
    token = csrf_of(client, "/council/members")
    response = client.post(
        "/council/members",
        data={
            "csrf_token": token,
            "user_id": HUGE,
            "seat": "member",
            "starts_on": "2026-01-01",
            "ends_on": "2027-01-01",
        },
    )
    assert response.status_code == 422
    error = BeautifulSoup(response.text, "html.parser").select_one("#f-user_id-error")
    assert error is not None


def test_an_overlong_locale_in_an_invitation_is_a_422(client: TestClient, db: Session) -> None:
    response = client.post(
        "/api/v1/users/invitations",
        json={"email": "x@ejemplo.mx", "full_name": "X", "role": "expert", "locale": "e" * 400},
        headers=_staff_token(db),
    )
    assert response.status_code == 422
    assert "locale" in response.json()["fields"]
