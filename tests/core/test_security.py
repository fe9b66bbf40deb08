"""Security findings of the outside review: sign-in work, password strength, cross-site
requests, one-line fields and the audit of security events."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher
from bs4 import BeautifulSoup, Tag
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import accounts
from core.accounts import Role, User, issue_api_token
from core.audit import AuditEvent
from core.db import utcnow
from core.errors import Invalid
from core.forms import parse_input
from core.i18n import LOCALE_COOKIE
from core.mail import OutboxMessage
from core.schemas import InvitationIn
from council.schemas import ConflictCheckInput, InterestInput
from guidelines.schemas import CommentIn, CriterionInput, GuidelineInput, PrincipleInput
from quality_marks.schemas import (
    ColleagueInput,
    LinkInput,
    OrganizationInput,
    ProductInput,
    SignUpInput,
)
from tests.conftest import CSRF_RE, csrf_of
from tests.factories import NOW, PASSWORD, make_user, sign_in_as

WRONG_CREDENTIALS = "El correo electrónico o la contraseña no son correctos."


def _page(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _field_error(html: str, name: str) -> str:
    error = _page(html).find(id=f"f-{name}-error")
    assert isinstance(error, Tag), f"no error shown for {name}"
    return error.get_text(strip=True)


def _signin(client: TestClient, email: str, password: str, **headers: str) -> Any:
    token = csrf_of(client, "/signin")
    return client.post(
        "/signin",
        data={"email": email, "password": password, "csrf_token": token},
        headers=headers,
    )


def _actions(db: Session) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).order_by(AuditEvent.id)))


# --- item 14: the same work for every address ----------------------------------------------


class CountingHasher(PasswordHasher):
    """The tests' fast argon2id hasher, counting verifications."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    """The password hasher in use, replaced by one that counts its verifications."""
    counting = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", counting)
    return counting


def _invited(db: Session) -> User:
    staff = make_user(db, role=Role.secretariat)
    return accounts.invite_user(
        db,
        actor=staff,
        email="invitada@ejemplo.mx",
        full_name="Invitada Núñez",
        role=Role.expert,
        locale="es_MX",
        base_url="http://testserver",
        now=NOW,
    )


def test_every_address_gets_the_same_answer_after_one_hash_verification(
    client: TestClient, db: Session, hasher: CountingHasher
) -> None:
    real = make_user(db)
    inactive = make_user(db)
    inactive.is_active = False
    invited = _invited(db)
    db.flush()
    answers = {}
    for label, email in [
        ("unknown", "nadie@ejemplo.mx"),
        ("invited", invited.email),
        ("inactive", inactive.email),
        ("wrong password", real.email),
    ]:
        before = hasher.verifications
        response = _signin(client, email, "a-guess-at-the-password")
        answers[label] = (
            response.status_code,
            _page(response.text).select_one('[role="alert"]').get_text(strip=True),  # type: ignore[union-attr]
            hasher.verifications - before,
        )
    assert set(answers.values()) == {(422, WRONG_CREDENTIALS, 1)}, answers


# --- item 15: password strength -------------------------------------------------------------


def _change(client: TestClient, current: str, new: str) -> Any:
    token = csrf_of(client, "/account")
    return client.post(
        "/account/password",
        data={"current_password": current, "new_password": new, "csrf_token": token},
    )


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("1234567890", "es una de las contraseñas más usadas"),
        (" " * 10, "repite caracteres o palabras"),
        ("password12", "es una de las contraseñas más usadas"),
        ("zxcvbnm,./", "patrones del teclado"),
        ("abcdefghijk", "secuencias como abc"),
    ],
)
def test_guessable_passwords_are_refused_with_the_reason(
    client: TestClient, db: Session, password: str, why: str
) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    response = _change(client, PASSWORD, password)
    assert response.status_code == 422
    message = _field_error(response.text, "new_password")
    assert message.startswith("La contraseña es demasiado fácil de adivinar")
    assert why in message


def test_a_password_built_on_ones_own_name_is_refused(client: TestClient, db: Session) -> None:
    user = make_user(db, full_name="Eduviges Tlacotalpan", email="eduviges@ejemplo.mx")
    sign_in_as(client, user)
    response = _change(client, PASSWORD, "Tlacotalpan2026")
    assert response.status_code == 422
    assert "su nombre o su correo" in _field_error(response.text, "new_password")


def test_the_current_password_cannot_be_chosen_again(client: TestClient, db: Session) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    response = _change(client, PASSWORD, PASSWORD)
    assert response.status_code == 422
    assert _field_error(response.text, "new_password") == (
        "Elija una contraseña distinta de la actual."
    )


def test_a_reset_refuses_a_guessable_password_in_english(client: TestClient, db: Session) -> None:
    user = make_user(db, locale="en")
    accounts.request_password_reset(
        db, email=user.email, client_ip="198.51.100.1", base_url="http://testserver", now=utcnow()
    )
    body = db.scalar(select(OutboxMessage.body_text).where(OutboxMessage.to_address == user.email))
    match = re.search(r"/account/reset/([A-Za-z0-9_-]+)", body or "")
    assert match
    path = f"/account/reset/{match.group(1)}"
    client.cookies.set(LOCALE_COOKIE, "en")
    csrf = csrf_of(client, path)
    response = client.post(path, data={"password": "password12", "csrf_token": csrf})
    assert response.status_code == 422
    assert _field_error(response.text, "password") == (
        "The password is too easy to guess: it is one of the most used passwords."
    )


def test_accounts_created_with_a_guessable_password_are_refused(db: Session) -> None:
    with pytest.raises(Invalid) as caught:
        make_user(db, password="password12")
    assert set(caught.value.fields) == {"password"}


def test_the_demo_password_passes_the_rule() -> None:
    from council.demo import DEMO_PASSWORD

    accounts.check_password_rules(DEMO_PASSWORD, user_inputs=("secretaria@ceia.gob.mx",))


# --- item 17: cross-site requests -----------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "http://testserver.evil.example"},
        {"referer": "https://evil.example/form.html"},
    ],
)
def test_unsafe_request_from_another_site_is_refused_despite_a_valid_token(
    client: TestClient, db: Session, headers: dict[str, str]
) -> None:
    user = make_user(db)
    response = _signin(client, user.email, PASSWORD, **headers)
    assert response.status_code == 403
    assert "se envió desde otro sitio" in response.text
    assert client.get("/account").status_code == 303


@pytest.mark.parametrize(
    "headers",
    [{"origin": "http://testserver"}, {"referer": "http://testserver/signin"}, {}],
)
def test_unsafe_request_from_this_site_passes(
    client: TestClient, db: Session, headers: dict[str, str]
) -> None:
    user = make_user(db)
    assert _signin(client, user.email, PASSWORD, **headers).status_code == 303


def test_bearer_api_requests_are_not_checked_for_origin(client: TestClient, db: Session) -> None:
    staff = make_user(db, role=Role.secretariat)
    _token, plain = issue_api_token(db, user=staff, name="ci", now=NOW)
    response = client.post(
        "/api/v1/users/invitations",
        json={"email": "nueva@ejemplo.mx", "full_name": "Nueva Persona", "role": "expert"},
        headers={"authorization": f"Bearer {plain}", "origin": "https://tool.example"},
    )
    assert response.status_code == 201


# --- issue 10: no session work for anonymous readers --------------------------------------

SESSION_COOKIE = "ceia_session"


@pytest.mark.parametrize("path", ["/", "/guidelines", "/council", "/council/resolutions"])
def test_an_anonymous_reader_of_a_public_page_gets_no_session_cookie(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert 'name="csrf_token"' not in response.text


def test_a_page_with_a_form_makes_the_token_its_form_needs(client: TestClient, db: Session) -> None:
    response = client.get("/signin")
    assert SESSION_COOKIE in response.headers["set-cookie"]
    token = CSRF_RE.search(response.text)
    assert token is not None
    # The same token on the next page: it belongs to the session, not to the page.
    assert csrf_of(client, "/account/reset") == token.group(1)
    user = make_user(db)
    assert _signin(client, user.email, PASSWORD).status_code == 303


def test_a_form_without_the_token_is_still_refused_after_reading_public_pages(
    client: TestClient, db: Session
) -> None:
    user = make_user(db)
    client.get("/")
    response = client.post("/signin", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 403
    response = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": "made-up"}
    )
    assert response.status_code == 403


def test_a_signed_in_reader_gets_the_sessions_token_on_every_page(
    client: TestClient, db: Session
) -> None:
    sign_in_as(client, make_user(db))
    home = client.get("/")
    token = CSRF_RE.search(home.text)  # the sign-out form needs it
    assert token is not None
    assert client.post("/signout", data={"csrf_token": token.group(1)}).status_code == 303


# --- item 6: one-line fields ----------------------------------------------------------------

SINGLE_LINE_FIELDS: list[tuple[type[BaseModel], str, dict[str, Any]]] = [
    (InvitationIn, "full_name", {"email": "a@ejemplo.mx", "role": "expert"}),
    (OrganizationInput, "legal_name", {}),
    (OrganizationInput, "contact_name", {}),
    (SignUpInput, "full_name", {}),
    (SignUpInput, "email", {}),
    (ColleagueInput, "full_name", {}),
    (ProductInput, "name", {}),
    (LinkInput, "label", {}),
    (GuidelineInput, "title_es", {}),
    (PrincipleInput, "title_en", {}),
    (CriterionInput, "title_es", {}),
    (InterestInput, "organisation", {}),
    (ConflictCheckInput, "email", {}),
    (CommentIn, "author_name", {}),
]


@pytest.mark.parametrize("bad", ["Evil Corp\r\nBcc: x@evil.example", "Evil\x00Corp", "A\u2028B"])
@pytest.mark.parametrize(("model", "name", "extra"), SINGLE_LINE_FIELDS)
def test_single_line_fields_refuse_line_breaks_and_control_characters(
    model: type[BaseModel], name: str, extra: dict[str, Any], bad: str
) -> None:
    with pytest.raises(Invalid) as caught:
        parse_input(model, {**extra, name: bad})
    assert caught.value.fields[name] == (
        "Write this on one line, without line breaks or control characters."
    )


def test_invitation_form_refuses_a_name_with_a_line_break(client: TestClient, db: Session) -> None:
    sign_in_as(client, make_user(db, role=Role.secretariat))
    token = csrf_of(client, "/admin/users")
    response = client.post(
        "/admin/users/invite",
        data={
            "email": "nueva@ejemplo.mx",
            "full_name": "Evil\r\nBcc: x@evil.example",
            "role": "expert",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    assert _field_error(response.text, "full_name") == (
        "Escríbalo en una sola línea, sin saltos de línea ni caracteres de control."
    )
    assert accounts.find_user_by_email(db, "nueva@ejemplo.mx") is None


def test_api_invitation_refuses_a_name_with_a_line_break(client: TestClient, db: Session) -> None:
    staff = make_user(db, role=Role.secretariat)
    _token, plain = issue_api_token(db, user=staff, name="ci", now=NOW)
    response = client.post(
        "/api/v1/users/invitations",
        json={"email": "nueva@ejemplo.mx", "full_name": "Evil\nCorp", "role": "expert"},
        headers={"authorization": f"Bearer {plain}"},
    )
    assert response.status_code == 422
    assert "full_name" in response.json()["fields"]


# --- item 18: security events are audited --------------------------------------------------


def test_failed_signins_and_the_lockout_are_audited_without_passwords(
    client: TestClient, db: Session
) -> None:
    user = make_user(db)
    for _ in range(6):
        _signin(client, user.email, "a-wrong-secret-guess")
    events = _actions(db)
    failed = [e for e in events if e.action == "user.signin_failed"]
    assert len(failed) == 5  # the sixth was refused by the lockout before any check
    assert failed[0].object_id == str(user.id)
    assert failed[0].summary == {"email": user.email, "ip": "testclient"}
    (lockout,) = [e for e in events if e.action == "user.signin_lockout"]
    assert lockout.summary == {"key": user.email, "minutes": 15}
    assert lockout.id > failed[-1].id
    for event in events:
        assert "a-wrong-secret-guess" not in str(event.summary)
        assert PASSWORD not in str(event.summary)


def test_failed_signin_of_an_unknown_address_is_audited(client: TestClient, db: Session) -> None:
    _signin(client, "nadie@ejemplo.mx", "whatever-guess")
    (event,) = [e for e in _actions(db) if e.action == "user.signin_failed"]
    assert (event.actor_id, event.object_id, event.summary["email"]) == (
        None,
        "",
        "nadie@ejemplo.mx",
    )


def test_sign_out_and_token_creation_are_audited(client: TestClient, db: Session) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    token = csrf_of(client, "/account")
    client.post("/account/tokens", data={"name": "ci", "csrf_token": token})
    client.post("/signout", data={"csrf_token": token})
    actions = [e.action for e in _actions(db) if e.actor_id == user.id]
    assert actions[-3:] == ["user.signin", "api_token.issue", "user.signout"]


@pytest.fixture
def far_client(app: FastAPI) -> Iterator[TestClient]:
    """A client calling from another network address."""
    with TestClient(app, base_url="http://testserver", client=("203.0.113.7", 4000)) as other:
        yield other


def test_token_use_from_a_new_address_is_audited_once(
    client: TestClient, far_client: TestClient, db: Session
) -> None:
    user = make_user(db)
    _token, plain = issue_api_token(db, user=user, name="ci", now=NOW)
    auth = {"authorization": f"Bearer {plain}"}
    for caller in (client, client, far_client, far_client):
        assert caller.get("/api/v1/me", headers=auth).status_code == 200
    events = [e for e in _actions(db) if e.action == "api_token.new_address"]
    assert [(e.summary["ip"], e.summary["previous_ip"]) for e in events] == [
        ("testclient", None),
        ("203.0.113.7", "testclient"),
    ]
    assert all(e.object_id == str(_token.id) for e in events)


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("http://localhost:8000", 303),
        ("http://127.0.0.1:8000", 303),
        ("http://[::1]:8000", 303),
        ("http://localhost:9000", 403),
        ("https://localhost:8000", 403),
    ],
)
def test_a_local_service_takes_forms_from_any_loopback_name_on_its_port(
    app: FastAPI, client: TestClient, db: Session, origin: str, status: int
) -> None:
    # The demo prints 127.0.0.1:8000; people often type localhost:8000.
    app.state.settings = app.state.settings.model_copy(update={"base_url": "http://127.0.0.1:8000"})
    user = make_user(db)
    assert _signin(client, user.email, PASSWORD, origin=origin).status_code == status
