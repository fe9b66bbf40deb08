"""API tokens on the account page and the /api/v1 account endpoints."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import ApiToken, Role, User, find_user_by_email, issue_api_token
from core.audit import AuditEvent
from core.mail import OutboxMessage
from core.settings import Settings
from council.app import create_app
from tests.conftest import csrf_of
from tests.factories import NOW, make_user, sign_in_as

INVALID_TOKEN_TEXT = "El token de API no es válido o fue revocado."


def _create_token(client: TestClient, name: str = "canal de cumplimiento") -> tuple[str, str]:
    """Create a token on the account page; returns the plain token and the page shown."""
    csrf = csrf_of(client, "/account")
    response = client.post("/account/tokens", data={"name": name, "csrf_token": csrf})
    assert response.status_code == 201, response.text
    shown = BeautifulSoup(response.text, "html.parser").find(id="new-token")
    assert isinstance(shown, Tag)
    return shown.get_text(strip=True), response.text


def _token_for(db: Session, role: Role) -> tuple[User, str]:
    user = make_user(db, role=role)
    _row, plain = issue_api_token(db, user=user, name="pruebas", now=NOW)
    return user, plain


def _bearer(plain: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plain}"}


def _assert_unauthenticated(response: Any, detail: str) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"error": "unauthenticated", "detail": detail}


# --- tokens on the account page ----------------------------------------------------------


def test_new_token_is_shown_once_then_only_its_prefix(client: TestClient, db: Session) -> None:
    user = make_user(db)
    sign_in_as(client, user)

    plain, _html = _create_token(client, "canal de cumplimiento")

    assert plain.startswith("ceia_")
    assert len(plain) > 40
    row = db.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row is not None
    assert (row.name, row.prefix) == ("canal de cumplimiento", plain[:12])
    listing = client.get("/account")
    assert listing.status_code == 200
    page = BeautifulSoup(listing.text, "html.parser")
    assert page.find(id="new-token") is None
    assert plain not in listing.text
    cells = [td.get_text(strip=True) for td in page.select("table tbody tr td")]
    assert "canal de cumplimiento" in cells
    assert f"{row.prefix}…" in cells
    actions = db.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "api_token")
    ).all()
    assert actions == ["api_token.issue"]


def test_token_without_a_name_is_refused(client: TestClient, db: Session) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    csrf = csrf_of(client, "/account")
    response = client.post("/account/tokens", data={"name": "   ", "csrf_token": csrf})
    assert response.status_code == 422
    page = BeautifulSoup(response.text, "html.parser")
    assert page.find(id="new-token") is None
    field = page.find("input", attrs={"name": "name"})
    assert isinstance(field, Tag)
    assert field.get("aria-invalid") == "true"
    error = page.find(id="f-name-error")
    assert isinstance(error, Tag)
    assert error.get_text(strip=True) == "Asigne un nombre al token."
    assert db.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_token_is_stored_only_as_a_hash(client: TestClient, db: Session) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    plain, _html = _create_token(client)

    row = db.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row is not None
    assert row.token_hash != plain
    assert row.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    stored = [
        str(value)
        for table_row in db.execute(select(ApiToken.__table__)).all()
        for value in table_row
    ]
    assert stored
    assert all(plain not in value for value in stored)


def test_bearer_token_identifies_its_user(client: TestClient, db: Session) -> None:
    user = make_user(db, full_name="Dra. Elena Ríos")
    sign_in_as(client, user)
    plain, _html = _create_token(client)
    client.cookies.clear()  # the token alone must suffice

    response = client.get("/api/v1/me", headers=_bearer(plain))

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("id", "email", "full_name", "role", "is_active")} == {
        "id": user.id,
        "email": user.email,
        "full_name": "Dra. Elena Ríos",
        "role": "applicant",
        "is_active": True,
    }
    assert "password_hash" not in body


def test_revoked_token_is_refused(client: TestClient, db: Session) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    plain, _html = _create_token(client)
    assert client.get("/api/v1/me", headers=_bearer(plain)).status_code == 200
    row = db.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row is not None

    csrf = csrf_of(client, "/account")
    response = client.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 303

    _assert_unauthenticated(client.get("/api/v1/me", headers=_bearer(plain)), INVALID_TOKEN_TEXT)
    db.refresh(row)
    assert row.revoked_at is not None
    revokes = db.scalars(select(AuditEvent).where(AuditEvent.action == "api_token.revoke")).all()
    assert [(e.actor_id, e.object_id) for e in revokes] == [(user.id, str(row.id))]
    page = BeautifulSoup(client.get("/account").text, "html.parser")
    assert "Revocado" in [td.get_text(strip=True) for td in page.select("table tbody td")]


def test_revoking_someone_elses_token_is_not_found(client: TestClient, db: Session) -> None:
    _owner, plain = _token_for(db, Role.applicant)
    other_row = db.scalar(select(ApiToken))
    assert other_row is not None
    sign_in_as(client, make_user(db))

    csrf = csrf_of(client, "/account")
    response = client.post(f"/account/tokens/{other_row.id}/revoke", data={"csrf_token": csrf})

    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=_bearer(plain)).status_code == 200


def test_garbage_token_is_refused(client: TestClient, db: Session) -> None:
    _token_for(db, Role.secretariat)
    response = client.get("/api/v1/me", headers=_bearer("ceia_not-a-real-token"))
    _assert_unauthenticated(response, INVALID_TOKEN_TEXT)


def test_api_without_token_is_refused_even_with_a_session(client: TestClient, db: Session) -> None:
    anonymous = client.get("/api/v1/me")
    _assert_unauthenticated(anonymous, "Necesita iniciar sesión para continuar.")
    sign_in_as(client, make_user(db))  # a session cookie does not authenticate the API
    _assert_unauthenticated(client.get("/api/v1/me"), "Necesita iniciar sesión para continuar.")


def test_token_of_a_deactivated_account_is_refused(client: TestClient, db: Session) -> None:
    user, plain = _token_for(db, Role.secretariat)
    user.is_active = False
    db.flush()
    _assert_unauthenticated(client.get("/api/v1/me", headers=_bearer(plain)), INVALID_TOKEN_TEXT)


def test_api_call_records_when_the_token_was_last_used(
    settings: Settings, fresh_database_url: str
) -> None:
    # Committed data and the app's own sessions: a read-only call must still persist last use.
    app = create_app(settings.model_copy(update={"database_url": fresh_database_url}))
    try:
        with app.state.sessionmaker() as session:
            row, plain = issue_api_token(session, user=make_user(session), name="pruebas", now=NOW)
            session.commit()
            token_id = row.id
        with TestClient(app, base_url="http://testserver") as fresh_client:
            assert fresh_client.get("/api/v1/me", headers=_bearer(plain)).status_code == 200
        with app.state.sessionmaker() as session:
            stored = session.get(ApiToken, token_id)
            assert stored is not None
            assert stored.last_used_at is not None
    finally:
        app.state.engine.dispose()


# --- /api/v1/users -----------------------------------------------------------------------


def test_users_are_paginated(client: TestClient, db: Session) -> None:
    _staff, plain = _token_for(db, Role.secretariat)
    for _ in range(7):
        make_user(db)
    all_ids = list(db.scalars(select(User.id).order_by(User.id)))
    assert len(all_ids) >= 8

    response = client.get("/api/v1/users?page_size=3&page=2", headers=_bearer(plain))

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["page_size"]) == (len(all_ids), 2, 3)
    assert [item["id"] for item in body["items"]] == all_ids[3:6]
    assert set(body["items"][0]) == {
        "id",
        "email",
        "full_name",
        "role",
        "is_active",
        "created_at",
        "locale",
    }


def test_last_page_of_users_is_partial(client: TestClient, db: Session) -> None:
    _staff, plain = _token_for(db, Role.secretariat)
    for _ in range(7):
        make_user(db)
    total = db.scalar(select(func.count()).select_from(User)) or 0
    last_page = -(-total // 3)

    body = client.get(f"/api/v1/users?page_size=3&page={last_page}", headers=_bearer(plain)).json()
    beyond = client.get(
        f"/api/v1/users?page_size=3&page={last_page + 1}", headers=_bearer(plain)
    ).json()

    assert len(body["items"]) == total - 3 * (last_page - 1)
    assert (beyond["items"], beyond["total"]) == ([], total)


@pytest.mark.parametrize(
    ("query", "field"),
    [("page_size=0", "page_size"), ("page_size=500", "page_size"), ("page=0", "page")],
)
def test_out_of_range_paging_is_invalid(
    client: TestClient, db: Session, query: str, field: str
) -> None:
    _staff, plain = _token_for(db, Role.secretariat)
    response = client.get(f"/api/v1/users?{query}", headers=_bearer(plain))
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid"
    assert body["detail"] == "Parte de la información proporcionada no es válida."
    assert field in body["fields"]


@pytest.mark.parametrize("role", [Role.applicant, Role.council_member, Role.expert])
def test_users_list_is_forbidden_to_non_staff(client: TestClient, db: Session, role: Role) -> None:
    _user, plain = _token_for(db, role)
    response = client.get("/api/v1/users", headers=_bearer(plain))
    assert response.status_code == 403
    assert response.json() == {
        "error": "forbidden",
        "detail": "No tiene permiso para realizar esta acción.",
    }


# --- /api/v1/users/invitations -----------------------------------------------------------


def test_api_invitation_creates_account_and_mail(client: TestClient, db: Session) -> None:
    staff, plain = _token_for(db, Role.secretariat)
    payload = {
        "email": "Experta@Ejemplo.mx",
        "full_name": "Experta Invitada",
        "role": "expert",
        "locale": "en",
    }

    response = client.post("/api/v1/users/invitations", json=payload, headers=_bearer(plain))

    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["full_name"], body["role"]) == (
        "experta@ejemplo.mx",
        "Experta Invitada",
        "expert",
    )
    invitee = find_user_by_email(db, "experta@ejemplo.mx")
    assert invitee is not None
    assert body["id"] == invitee.id
    assert invitee.password_hash is None
    message = db.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == "experta@ejemplo.mx")
    )
    assert message is not None
    assert (message.locale, message.subject) == ("en", "Invitation to the AI Ethics Council system")
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.invite"))
    assert event is not None
    assert (event.actor_id, event.object_id) == (staff.id, str(invitee.id))


def test_api_invitation_with_invalid_email_names_the_field(client: TestClient, db: Session) -> None:
    _staff, plain = _token_for(db, Role.secretariat)
    users_before = db.scalar(select(func.count()).select_from(User))
    payload = {"email": "no-es-correo", "full_name": "Alguien", "role": "expert"}

    response = client.post("/api/v1/users/invitations", json=payload, headers=_bearer(plain))

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid"
    assert set(body["fields"]) == {"email"}
    assert db.scalar(select(func.count()).select_from(User)) == users_before


def test_api_invitation_refuses_roles_that_cannot_be_invited(
    client: TestClient, db: Session
) -> None:
    _staff, plain = _token_for(db, Role.secretariat)
    payload = {"email": "admin@ejemplo.mx", "full_name": "Quiere Ser Admin", "role": "admin"}
    response = client.post("/api/v1/users/invitations", json=payload, headers=_bearer(plain))
    assert response.status_code == 422
    assert response.json()["fields"] == {
        "role": "Este rol no se puede asignar mediante invitación."
    }
    assert find_user_by_email(db, "admin@ejemplo.mx") is None


def test_api_invitation_of_existing_address_conflicts(client: TestClient, db: Session) -> None:
    _staff, plain = _token_for(db, Role.secretariat)
    existing = make_user(db)
    payload = {"email": existing.email, "full_name": "Duplicada", "role": "expert"}
    response = client.post("/api/v1/users/invitations", json=payload, headers=_bearer(plain))
    assert response.status_code == 409
    assert response.json() == {
        "error": "conflict",
        "detail": "Ya existe una cuenta con este correo electrónico.",
    }


def test_api_invitation_is_forbidden_to_applicants(client: TestClient, db: Session) -> None:
    _user, plain = _token_for(db, Role.applicant)
    payload = {"email": "colado@ejemplo.mx", "full_name": "Colado", "role": "secretariat"}
    response = client.post("/api/v1/users/invitations", json=payload, headers=_bearer(plain))
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert find_user_by_email(db, "colado@ejemplo.mx") is None


# --- the API as a whole ------------------------------------------------------------------


def test_openapi_document_lists_account_endpoints(client: TestClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert "accounts" in [tag["name"] for tag in document["tags"]]
    paths = document["paths"]
    assert {"/api/v1/me", "/api/v1/users", "/api/v1/users/invitations"} <= set(paths)
    assert paths["/api/v1/me"]["get"]["tags"] == ["accounts"]
    assert "/account" not in paths  # HTML pages stay out of the API document


def test_unknown_api_path_answers_json_not_html(client: TestClient) -> None:
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"error": "not_found", "detail": "Página no encontrada"}


def test_wrong_method_on_api_answers_json(client: TestClient) -> None:
    response = client.delete("/api/v1/me")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "method_not_allowed"
