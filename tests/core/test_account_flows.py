"""Password reset, invitations and password change, through the pages and the outbox."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup, Tag
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import (
    Role,
    User,
    find_user_by_email,
    invitation_role,
    may_manage_accounts,
    request_password_reset,
)
from core.audit import AuditEvent
from core.auth import now_utc
from core.errors import Invalid
from core.mail import OutboxMessage
from tests.conftest import csrf_of
from tests.factories import NOW, PASSWORD, make_user, sign_in_as

NEW_PASSWORD = "another-long-passphrase"
RESET_LINK_RE = re.compile(r"/account/reset/([A-Za-z0-9_-]+)")
INVITE_LINK_RE = re.compile(r"/account/invitation/([A-Za-z0-9_-]+)")

INVALID_LINK_TITLE = "Enlace no válido"
INVALID_LINK_TEXT = "Este enlace no es válido: ya se utilizó o venció."
SHORT_PASSWORD_TEXT = "La contraseña debe tener al menos 10 caracteres."


# --- helpers ---------------------------------------------------------------------------


def _page(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _h1(html: str) -> str:
    heading = _page(html).h1
    assert heading is not None
    return heading.get_text(strip=True)


def _input(html: str, name: str) -> Tag:
    # The posted form's field: a page's GET filter form (the users list) may share its names.
    forms = _page(html).find_all("form", attrs={"method": "post"})
    found = (form.find(["input", "select"], attrs={"name": name}) for form in forms)
    element = next((tag for tag in found if tag is not None), None)
    assert isinstance(element, Tag), f"no field {name}"
    return element


def _field_error(html: str, name: str) -> str:
    error = _page(html).find(id=f"f-{name}-error")
    assert isinstance(error, Tag), f"no error shown for {name}"
    return error.get_text(strip=True)


def _flashes(client: TestClient, path: str) -> list[str]:
    page = _page(client.get(path).text)
    return [p.get_text(strip=True) for p in page.select(".flashes .flash")]


def _signin_status(client: TestClient, email: str, password: str) -> int:
    token = csrf_of(client, "/signin")
    response = client.post(
        "/signin", data={"email": email, "password": password, "csrf_token": token}
    )
    return response.status_code


def _mails_to(db: Session, address: str) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.to_address == address)
            .order_by(OutboxMessage.id)
        )
    )


def _link_token(message: OutboxMessage, pattern: re.Pattern[str]) -> str:
    match = pattern.search(message.body_text)
    assert match, message.body_text
    return match.group(1)


def _audit_actions(db: Session, *, object_id: int) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "user", AuditEvent.object_id == str(object_id))
            .order_by(AuditEvent.id)
        )
    )


def _request_reset(client: TestClient, email: str) -> str:
    token = csrf_of(client, "/account/reset")
    response = client.post("/account/reset", data={"email": email, "csrf_token": token})
    assert response.status_code == 303
    location: str = response.headers["location"]
    return location


def _reset_token_for(client: TestClient, db: Session, user: User) -> str:
    _request_reset(client, user.email)
    (message,) = _mails_to(db, user.email)
    return _link_token(message, RESET_LINK_RE)


def _post_password(client: TestClient, path: str, password: str) -> tuple[int, str]:
    token = csrf_of(client, path)
    response = client.post(path, data={"password": password, "csrf_token": token})
    return response.status_code, response.text


@pytest.fixture
def second_client(app: FastAPI) -> Iterator[TestClient]:
    """Another browser of the same person (a separate cookie jar)."""
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as other:
        yield other


@pytest.fixture
def pinned_clock(app: FastAPI) -> dt.datetime:
    """Requests see NOW as the current time."""
    app.dependency_overrides[now_utc] = lambda: NOW
    return NOW


# --- password reset ----------------------------------------------------------------------


def test_reset_request_mails_a_single_use_link(client: TestClient, db: Session) -> None:
    user = make_user(db)
    location = _request_reset(client, "  " + user.email.upper() + " ")
    assert location == "/signin"
    (message,) = _mails_to(db, user.email)
    assert message.template == "mail/password_reset.txt"
    assert message.locale == "es_MX"
    assert message.subject == "Elija una nueva contraseña para el Consejo de Ética de la IA"
    assert "Alguien solicitó restablecer la contraseña de su cuenta" in message.body_text
    assert f"http://testserver/account/reset/{_link_token(message, RESET_LINK_RE)}" in (
        message.body_text
    )
    assert "user.reset_requested" in _audit_actions(db, object_id=user.id)


def test_reset_request_answers_the_same_for_an_unknown_address(
    client: TestClient, db: Session
) -> None:
    user = make_user(db)
    mails_before = db.scalar(select(func.count()).select_from(OutboxMessage))

    known_location = _request_reset(client, user.email)
    known_flashes = _flashes(client, known_location)
    unknown_location = _request_reset(client, "nadie@ejemplo.mx")
    unknown_flashes = _flashes(client, unknown_location)

    assert known_location == unknown_location == "/signin"
    assert known_flashes == [
        f"Si existe una cuenta para {user.email}, en breve recibirá un enlace para elegir una "
        "nueva contraseña."
    ]
    assert unknown_flashes == [known_flashes[0].replace(user.email, "nadie@ejemplo.mx")]
    mails_after = db.scalar(select(func.count()).select_from(OutboxMessage))
    assert mails_after == (mails_before or 0) + 1
    assert _mails_to(db, "nadie@ejemplo.mx") == []


def test_reset_link_shows_the_password_form(client: TestClient, db: Session) -> None:
    user = make_user(db)
    token = _reset_token_for(client, db, user)
    response = client.get(f"/account/reset/{token}")
    assert response.status_code == 200
    assert _h1(response.text) == "Elija una nueva contraseña"
    assert user.email in response.text
    assert _input(response.text, "password")["type"] == "password"


def test_reset_sets_the_new_password_and_records_it(
    client: TestClient, second_client: TestClient, db: Session
) -> None:
    user = make_user(db)
    sign_in_as(second_client, user)  # a session opened with the old password
    token = _reset_token_for(client, db, user)

    status, _html = _post_password(client, f"/account/reset/{token}", NEW_PASSWORD)
    assert status == 303
    assert client.get("/account").status_code == 200  # signed in by the reset
    assert second_client.get("/account").status_code == 303  # old session ended

    client.cookies.clear()
    assert _signin_status(client, user.email, PASSWORD) == 422
    assert _signin_status(client, user.email, NEW_PASSWORD) == 303
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.password_reset")).all()
    assert [(e.actor_id, e.object_id) for e in events] == [(user.id, str(user.id))]


def test_reset_link_works_only_once(client: TestClient, db: Session) -> None:
    user = make_user(db)
    token = _reset_token_for(client, db, user)
    path = f"/account/reset/{token}"
    assert _post_password(client, path, NEW_PASSWORD)[0] == 303

    client.cookies.clear()
    response = client.get(path)
    assert _h1(response.text) == INVALID_LINK_TITLE
    assert INVALID_LINK_TEXT in response.text
    status, html = _post_password(client, path, "a-third-password-for-it")
    assert 400 <= status < 500
    assert _h1(html) == INVALID_LINK_TITLE
    assert _signin_status(client, user.email, "a-third-password-for-it") == 422
    assert _signin_status(client, user.email, NEW_PASSWORD) == 303
    assert _audit_actions(db, object_id=user.id).count("user.password_reset") == 1


def test_expired_reset_link_is_refused(
    client: TestClient, db: Session, pinned_clock: dt.datetime
) -> None:
    user = make_user(db)
    request_password_reset(
        db,
        email=user.email,
        client_ip="203.0.113.9",
        base_url="http://testserver",
        now=pinned_clock - dt.timedelta(hours=3),
    )
    (message,) = _mails_to(db, user.email)
    path = f"/account/reset/{_link_token(message, RESET_LINK_RE)}"

    response = client.get(path)
    assert _h1(response.text) == INVALID_LINK_TITLE
    status, html = _post_password(client, path, NEW_PASSWORD)
    assert 400 <= status < 500
    assert _h1(html) == INVALID_LINK_TITLE
    assert client.get("/account").status_code == 303  # not signed in
    assert "user.password_reset" not in _audit_actions(db, object_id=user.id)
    assert _signin_status(client, user.email, PASSWORD) == 303  # password unchanged


def test_reset_link_still_valid_just_before_it_expires(
    client: TestClient, db: Session, pinned_clock: dt.datetime
) -> None:
    user = make_user(db)
    request_password_reset(
        db,
        email=user.email,
        client_ip="203.0.113.9",
        base_url="http://testserver",
        now=pinned_clock - dt.timedelta(hours=1, minutes=59),
    )
    (message,) = _mails_to(db, user.email)
    response = client.get(f"/account/reset/{_link_token(message, RESET_LINK_RE)}")
    assert response.status_code == 200
    assert _h1(response.text) == "Elija una nueva contraseña"


def test_reset_token_cannot_accept_an_invitation(client: TestClient, db: Session) -> None:
    user = make_user(db)
    token = _reset_token_for(client, db, user)
    response = client.get(f"/account/invitation/{token}")
    assert _h1(response.text) == INVALID_LINK_TITLE


def test_too_short_reset_password_shows_field_error(client: TestClient, db: Session) -> None:
    user = make_user(db)
    token = _reset_token_for(client, db, user)
    path = f"/account/reset/{token}"

    status, html = _post_password(client, path, "corta")
    assert status == 422
    assert _input(html, "password").get("aria-invalid") == "true"
    assert _field_error(html, "password") == SHORT_PASSWORD_TEXT
    assert client.get("/account").status_code == 303
    assert "user.password_reset" not in _audit_actions(db, object_id=user.id)
    # The link was not spent by the refused attempt.
    assert _post_password(client, path, NEW_PASSWORD)[0] == 303


# --- invitations -------------------------------------------------------------------------


def _invite(
    client: TestClient,
    *,
    email: str = "invitada@ejemplo.mx",
    full_name: str = "Invitada Núñez",
    role: str = "council_member",
    locale: str = "es_MX",
) -> tuple[int, str]:
    token = csrf_of(client, "/account")
    response = client.post(
        "/admin/users/invite",
        data={
            "email": email,
            "full_name": full_name,
            "role": role,
            "locale": locale,
            "csrf_token": token,
        },
    )
    return response.status_code, response.text


@pytest.mark.parametrize(
    ("locale", "subject", "greeting"),
    [
        (
            "es_MX",
            "Invitación al sistema del Consejo de Ética de la Inteligencia Artificial",
            "Para aceptar, elija su contraseña en este enlace:",
        ),
        (
            "en",
            "Invitation to the AI Ethics Council system",
            "To accept, choose your password at this link:",
        ),
    ],
)
def test_invitation_is_mailed_in_the_chosen_language(
    client: TestClient, db: Session, locale: str, subject: str, greeting: str
) -> None:
    staff = make_user(db, role=Role.secretariat, full_name="Secretaria Técnica")
    sign_in_as(client, staff)

    status, _html = _invite(client, email="Invitada@Ejemplo.mx", locale=locale)
    assert status == 303

    invitee = find_user_by_email(db, "invitada@ejemplo.mx")
    assert invitee is not None
    assert (invitee.role, invitee.full_name, invitee.locale) == (
        Role.council_member,
        "Invitada Núñez",
        locale,
    )
    assert invitee.password_hash is None
    (message,) = _mails_to(db, "invitada@ejemplo.mx")
    assert message.locale == locale
    assert message.subject == subject
    assert greeting in message.body_text
    assert "Secretaria Técnica" in message.body_text
    assert INVITE_LINK_RE.search(message.body_text)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.invite"))
    assert event is not None
    assert (event.actor_id, event.object_id) == (staff.id, str(invitee.id))
    assert event.summary == {"email": "invitada@ejemplo.mx", "role": "council_member"}


def test_invitee_sets_password_and_is_signed_in(
    client: TestClient, second_client: TestClient, db: Session
) -> None:
    staff = make_user(db, role=Role.secretariat)
    sign_in_as(client, staff)
    assert _invite(client, role="expert")[0] == 303
    (message,) = _mails_to(db, "invitada@ejemplo.mx")
    path = f"/account/invitation/{_link_token(message, INVITE_LINK_RE)}"

    form = second_client.get(path)
    assert form.status_code == 200
    assert _h1(form.text) == "Acepte su invitación"
    assert "invitada@ejemplo.mx" in form.text
    status, _html = _post_password(second_client, path, NEW_PASSWORD)
    assert status == 303

    account = second_client.get("/account")
    assert account.status_code == 200
    assert "invitada@ejemplo.mx" in _page(account.text).get_text()
    invitee = find_user_by_email(db, "invitada@ejemplo.mx")
    assert invitee is not None
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.invitation_accept"))
    assert event is not None
    assert (event.actor_id, event.object_id) == (invitee.id, str(invitee.id))
    # The link is spent.
    assert _h1(second_client.get(path).text) == INVALID_LINK_TITLE


@pytest.mark.parametrize("role", [Role.applicant, Role.council_member, Role.expert])
def test_only_secretariat_may_invite(client: TestClient, db: Session, role: Role) -> None:
    sign_in_as(client, make_user(db, role=role))
    status, html = _invite(client)
    assert status == 403
    assert _h1(html) == "Acceso denegado"
    assert find_user_by_email(db, "invitada@ejemplo.mx") is None
    assert _mails_to(db, "invitada@ejemplo.mx") == []


def test_invite_form_requires_csrf_token(client: TestClient, db: Session) -> None:
    sign_in_as(client, make_user(db, role=Role.secretariat))
    response = client.post(
        "/admin/users/invite",
        data={"email": "invitada@ejemplo.mx", "full_name": "Invitada", "role": "expert"},
    )
    assert response.status_code == 403
    assert find_user_by_email(db, "invitada@ejemplo.mx") is None


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"full_name": "  ", "email": "nueva@ejemplo.mx", "role": "expert"},
            "full_name",
            "Escriba el nombre de la persona.",
        ),
        (
            {"full_name": "Rolando Admin", "email": "nueva@ejemplo.mx", "role": "admin"},
            "role",
            "Elija un rol.",
        ),
        (
            {"full_name": "Solicitante Falsa", "email": "nueva@ejemplo.mx", "role": "applicant"},
            "role",
            "Elija un rol.",
        ),
        (
            {"full_name": "Sin Arroba", "email": "sin-arroba", "role": "expert"},
            "email",
            "Escriba un correo electrónico válido.",
        ),
    ],
)
def test_invalid_invitation_keeps_values_and_marks_the_field(
    client: TestClient, db: Session, values: dict[str, str], field: str, message: str
) -> None:
    sign_in_as(client, make_user(db, role=Role.secretariat))
    users_before = db.scalar(select(func.count()).select_from(User))

    status, html = _invite(client, locale="en", **values)

    assert 400 <= status < 500
    assert _input(html, "full_name")["value"] == values["full_name"]
    assert _input(html, "email")["value"] == values["email"]
    selected = _input(html, "locale").find("option", selected=True)
    assert isinstance(selected, Tag)
    assert selected["value"] == "en"
    assert _input(html, field).get("aria-invalid") == "true"
    assert _field_error(html, field) == message
    assert db.scalar(select(func.count()).select_from(User)) == users_before
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "user.invite")) is None


def test_inviting_an_existing_address_is_refused_with_values_kept(
    client: TestClient, db: Session
) -> None:
    sign_in_as(client, make_user(db, role=Role.secretariat))
    existing = make_user(db, role=Role.applicant)

    status, html = _invite(client, email=existing.email.upper(), full_name="Otra Persona")

    assert status == 409
    assert _input(html, "full_name")["value"] == "Otra Persona"
    assert _input(html, "email")["value"] == existing.email.upper()
    alert = _page(html).select_one('[role="alert"]')
    assert isinstance(alert, Tag)
    assert alert.get_text(strip=True) == "Ya existe una cuenta con este correo electrónico."
    refreshed = db.get(User, existing.id)
    assert refreshed is not None
    assert (refreshed.full_name, refreshed.role) == (existing.full_name, Role.applicant)
    assert _mails_to(db, existing.email) == []


@pytest.mark.parametrize(
    ("full_name", "role", "field"),
    [
        (" ", "expert", "full_name"),
        ("", "", "full_name"),
        ("Ana Ruiz", "admin", "role"),
        ("Ana Ruiz", "applicant", "role"),
        ("Ana Ruiz", "", "role"),
    ],
)
def test_an_invitation_needs_a_name_and_an_invitable_role(
    full_name: str, role: str, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        invitation_role(full_name=full_name, role=role)
    assert list(refused.value.fields) == [field]


def test_an_invitation_form_asks_for_the_role_it_names() -> None:
    assert invitation_role(full_name="Ana Ruiz", role="council_member") is Role.council_member


@pytest.mark.parametrize("role", list(Role))
def test_only_the_secretariat_manages_other_peoples_accounts(role: Role) -> None:
    expected = role in {Role.secretariat, Role.admin}
    assert may_manage_accounts(User(role=role)) is expected


# --- password change ---------------------------------------------------------------------


def _change_password(client: TestClient, current: str, new: str) -> tuple[int, str]:
    token = csrf_of(client, "/account")
    response = client.post(
        "/account/password",
        data={"current_password": current, "new_password": new, "csrf_token": token},
    )
    return response.status_code, response.text


def test_wrong_current_password_is_marked_on_its_field(client: TestClient, db: Session) -> None:
    user = make_user(db)
    sign_in_as(client, user)

    status, html = _change_password(client, "not-my-password", NEW_PASSWORD)

    assert status == 422
    assert _input(html, "current_password").get("aria-invalid") == "true"
    assert _input(html, "new_password").get("aria-invalid") is None
    assert _field_error(html, "current_password") == "La contraseña actual no es correcta."
    assert "user.password_change" not in _audit_actions(db, object_id=user.id)
    client.cookies.clear()
    assert _signin_status(client, user.email, NEW_PASSWORD) == 422
    assert _signin_status(client, user.email, PASSWORD) == 303


def test_too_short_new_password_is_marked_on_its_field(client: TestClient, db: Session) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    status, html = _change_password(client, PASSWORD, "corta")
    assert status == 422
    assert _input(html, "new_password").get("aria-invalid") == "true"
    assert _field_error(html, "new_password") == SHORT_PASSWORD_TEXT
    assert "user.password_change" not in _audit_actions(db, object_id=user.id)


def test_password_change_signs_out_other_sessions_only(
    client: TestClient, second_client: TestClient, db: Session
) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    sign_in_as(second_client, user)
    assert second_client.get("/account").status_code == 200

    status, _html = _change_password(client, PASSWORD, NEW_PASSWORD)

    assert status == 303
    assert client.get("/account").status_code == 200
    assert second_client.get("/account").status_code == 303
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.password_change")).all()
    assert [(e.actor_id, e.object_id) for e in events] == [(user.id, str(user.id))]
    second_client.cookies.clear()
    assert _signin_status(second_client, user.email, PASSWORD) == 422
    assert _signin_status(second_client, user.email, NEW_PASSWORD) == 303


def test_password_change_confirms_with_a_flash(client: TestClient, db: Session) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    _flashes(client, "/account")  # consume the welcome message
    assert _change_password(client, PASSWORD, NEW_PASSWORD)[0] == 303
    assert _flashes(client, "/account") == ["Su contraseña se cambió."]


def test_reset_mail_is_rate_limited_without_revealing_the_account(
    client: TestClient, db: Session
) -> None:
    user = make_user(db)
    for _ in range(8):
        token = csrf_of(client, "/account/reset")
        response = client.post("/account/reset", data={"email": user.email, "csrf_token": token})
        assert response.status_code == 303
    assert len(_mails_to(db, user.email)) == 5


def test_reset_requests_from_one_address_are_limited(client: TestClient, db: Session) -> None:
    for index in range(20):
        token = csrf_of(client, "/account/reset")
        email = f"nadie{index}@ejemplo.mx"
        response = client.post("/account/reset", data={"email": email, "csrf_token": token})
        assert response.status_code == 303
    token = csrf_of(client, "/account/reset")
    response = client.post("/account/reset", data={"email": "otro@ejemplo.mx", "csrf_token": token})
    assert response.status_code == 429
