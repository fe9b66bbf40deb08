"""Sign-in, sign-out, lockout, CSRF and the session cookie."""

from __future__ import annotations

from collections.abc import Iterator

from argon2 import Type
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role
from core.audit import AuditEvent
from core.db import get_session
from core.settings import Settings
from council.app import create_app
from tests.conftest import PRODUCTION_HASHER, csrf_of
from tests.factories import PASSWORD, make_user, sign_in_as


def _post_signin(client: TestClient, email: str, password: str) -> str:
    token = csrf_of(client, "/signin")
    response = client.post(
        "/signin", data={"email": email, "password": password, "csrf_token": token}
    )
    return response.text if response.status_code != 303 else ""


def test_signin_starts_session_and_records_audit_event(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.secretariat)
    sign_in_as(client, user)
    page = BeautifulSoup(client.get("/account").text, "html.parser")
    assert page.h1 is not None
    assert user.email in page.get_text()
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == user.id)).all()
    assert "user.signin" in actions


def test_session_cookie_is_httponly_and_samesite_lax(client: TestClient, db: Session) -> None:
    user = make_user(db)
    token = csrf_of(client, "/signin")
    response = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # base_url is http in tests


def test_wrong_password_keeps_email_and_says_why(client: TestClient, db: Session) -> None:
    user = make_user(db)
    html = _post_signin(client, user.email, "wrong-password")
    page = BeautifulSoup(html, "html.parser")
    email_input = page.select_one('input[name="email"]')
    assert email_input is not None
    assert email_input["value"] == user.email
    alert = page.select_one('[role="alert"]')
    assert alert is not None
    assert "contraseña" in alert.get_text()
    assert client.get("/account").status_code == 303


def test_repeated_failures_lock_the_address(client: TestClient, db: Session) -> None:
    user = make_user(db)
    for _ in range(5):
        _post_signin(client, user.email, "wrong-password")
    html = _post_signin(client, user.email, PASSWORD)  # correct, but locked now
    page = BeautifulSoup(html, "html.parser")
    alert = page.select_one('[role="alert"]')
    assert alert is not None
    assert "15 minutos" in alert.get_text()
    assert client.get("/account").status_code == 303


def test_successful_signin_resets_failure_count(client: TestClient, db: Session) -> None:
    user = make_user(db)
    for _ in range(4):
        _post_signin(client, user.email, "wrong-password")
    assert _post_signin(client, user.email, PASSWORD) == ""
    client.cookies.clear()
    for _ in range(4):
        _post_signin(client, user.email, "wrong-password")
    assert _post_signin(client, user.email, PASSWORD) == ""


def test_signout_ends_session(client: TestClient, db: Session) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    token = csrf_of(client, "/account")
    response = client.post("/signout", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get("/account").status_code == 303


def test_form_post_without_csrf_token_is_refused(client: TestClient, db: Session) -> None:
    user = make_user(db)
    client.get("/signin")
    response = client.post("/signin", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/account").status_code == 303


def test_form_post_with_wrong_csrf_token_is_refused(client: TestClient, db: Session) -> None:
    user = make_user(db)
    client.get("/signin")
    response = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403
    page = BeautifulSoup(response.text, "html.parser")
    assert page.h1 is not None
    assert page.h1.get_text(strip=True) == "Acceso denegado"


def test_csrf_token_from_another_session_is_refused(
    client: TestClient, app: object, db: Session
) -> None:
    user = make_user(db)
    token = csrf_of(client, "/signin")
    client.cookies.clear()
    client.get("/signin")  # a new session with its own token
    response = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 403


def test_unauthenticated_page_redirects_to_signin_with_next(client: TestClient) -> None:
    response = client.get("/account?tab=tokens")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/account%3Ftab%3Dtokens"


def test_signin_follows_only_local_next(client: TestClient, db: Session) -> None:
    user = make_user(db)
    token = csrf_of(client, "/signin")
    response = client.post(
        "/signin",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
    )
    assert response.headers["location"] == "/"


def test_inactive_account_cannot_sign_in(client: TestClient, db: Session) -> None:
    user = make_user(db)
    user.is_active = False
    db.flush()
    assert "contraseña" in _post_signin(client, user.email, PASSWORD)


def test_passwords_are_stored_as_argon2id_with_production_cost(db: Session) -> None:
    user = make_user(db)
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    hasher = PRODUCTION_HASHER
    assert hasher.type is Type.ID
    # RFC 9106's second recommendation: 3 passes over 64 MiB.
    assert (hasher.time_cost, hasher.memory_cost) >= (3, 65536)


def test_session_cookie_is_secure_when_served_over_https(settings: Settings, db: Session) -> None:
    secure_app = create_app(settings.model_copy(update={"base_url": "https://ceia.example.mx"}))

    def session_override() -> Iterator[Session]:
        yield db

    secure_app.dependency_overrides[get_session] = session_override
    user = make_user(db)
    with TestClient(secure_app, base_url="https://testserver", follow_redirects=False) as client:
        token = csrf_of(client, "/signin")
        response = client.post(
            "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
        )
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()
    secure_app.state.engine.dispose()
