"""Server-side sessions: sign-out, timeouts, sign-out everywhere, and the links and passwords
that end them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup, Tag
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.accounts import Role, User, UserSession
from core.audit import AuditEvent
from core.db import utcnow
from core.mail import OutboxMessage
from council.app import SESSION_COOKIE
from tests.conftest import csrf_of
from tests.factories import PASSWORD, make_user, sign_in_as

NEW_PASSWORD = "another-long-passphrase"
RESET_LINK_RE = re.compile(r"/account/reset/([A-Za-z0-9_-]+)")


def _browser(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


@pytest.fixture
def second_client(app: FastAPI) -> Iterator[TestClient]:
    """Another browser of the same person (a separate cookie jar)."""
    with _browser(app) as other:
        yield other


def _signed_in(client: TestClient) -> bool:
    status = client.get("/account").status_code
    assert status in {200, 303}
    return status == 200


def _sessions_of(db: Session, user: User) -> list[UserSession]:
    db.expire_all()
    return list(
        db.scalars(
            select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
        )
    )


def _post(client: TestClient, path: str, data: dict[str, str] | None = None, **kw: str) -> int:
    token = csrf_of(client, "/account" if _signed_in(client) else "/signin")
    response = client.post(path, data={**(data or {}), "csrf_token": token}, **kw)  # type: ignore[arg-type]
    return response.status_code


def _audit(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- sign-out and copied cookies ---------------------------------------------------------


def test_sign_out_ends_the_session_for_a_copied_cookie_too(
    client: TestClient, second_client: TestClient, db: Session
) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    stolen = client.cookies[SESSION_COOKIE]
    second_client.cookies.set(SESSION_COOKIE, stolen)
    assert _signed_in(second_client)

    assert _post(client, "/signout") == 303

    assert not _signed_in(client)
    assert not _signed_in(second_client)
    (record,) = _sessions_of(db, user)
    assert record.ended_at is not None
    assert [e.actor_id for e in _audit(db, "user.signout")] == [user.id]


def test_session_records_address_and_browser(client: TestClient, db: Session) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    (record,) = _sessions_of(db, user)
    assert record.ip == "testclient"
    assert record.user_agent == "testclient"
    assert record.role == user.role
    assert record.ended_at is None


# --- timeouts ------------------------------------------------------------------------------


def test_session_unused_past_the_idle_timeout_ends(client: TestClient, db: Session) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    (record,) = _sessions_of(db, user)
    record.last_seen_at = utcnow() - dt.timedelta(minutes=119)
    db.flush()
    assert _signed_in(client)  # two idle hours not reached yet

    record.last_seen_at = utcnow() - dt.timedelta(minutes=121)
    db.flush()
    assert not _signed_in(client)


def test_session_ends_after_the_absolute_timeout_however_used(
    client: TestClient, db: Session
) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    (record,) = _sessions_of(db, user)
    record.created_at = utcnow() - dt.timedelta(hours=11, minutes=59)
    db.flush()
    assert _signed_in(client)

    record.created_at = utcnow() - dt.timedelta(hours=12, minutes=1)
    db.flush()
    assert not _signed_in(client)


def test_timeouts_follow_the_settings(app: FastAPI, client: TestClient, db: Session) -> None:
    app.state.settings = app.state.settings.model_copy(update={"session_idle_minutes": 10})
    user = make_user(db)
    sign_in_as(client, user)
    (record,) = _sessions_of(db, user)
    record.last_seen_at = utcnow() - dt.timedelta(minutes=11)
    db.flush()
    assert not _signed_in(client)


def test_last_seen_is_written_at_most_every_few_minutes(client: TestClient, db: Session) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    (record,) = _sessions_of(db, user)
    recent = utcnow() - dt.timedelta(minutes=4)
    record.last_seen_at = recent
    db.flush()
    assert _signed_in(client)
    assert _sessions_of(db, user)[0].last_seen_at == recent  # no write on this request

    record = _sessions_of(db, user)[0]
    record.last_seen_at = utcnow() - dt.timedelta(minutes=6)
    db.flush()
    before = utcnow()
    assert _signed_in(client)
    assert _sessions_of(db, user)[0].last_seen_at >= before


def test_a_failed_last_seen_write_does_not_fail_the_page(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    (record,) = _sessions_of(db, user)
    record.last_seen_at = utcnow() - dt.timedelta(minutes=30)
    db.flush()

    def locked() -> None:
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    monkeypatch.setattr(db, "commit", locked)
    response = client.get("/account")

    assert response.status_code == 200
    assert user.email in response.text


# --- ending sessions at once ---------------------------------------------------------------


def test_administrator_signs_a_person_out_everywhere(
    app: FastAPI, client: TestClient, second_client: TestClient, db: Session
) -> None:
    person = make_user(db, role=Role.expert)
    sign_in_as(client, person)
    sign_in_as(second_client, person)
    staff = make_user(db, role=Role.secretariat)
    with _browser(app) as admin:
        sign_in_as(admin, staff)
        page = BeautifulSoup(admin.get("/admin/users").text, "html.parser")
        form = page.find("form", attrs={"action": f"/admin/users/{person.id}/signout"})
        assert isinstance(form, Tag)

        assert _post(admin, f"/admin/users/{person.id}/signout") == 303
        assert _signed_in(admin)

    assert not _signed_in(client)
    assert not _signed_in(second_client)
    (event,) = _audit(db, "user.sessions_end")
    assert (event.actor_id, event.object_id, event.summary) == (
        staff.id,
        str(person.id),
        {"ended": 2, "reason": "admin"},
    )


def test_only_staff_may_sign_others_out(client: TestClient, db: Session) -> None:
    person = make_user(db)
    other = make_user(db, role=Role.council_member)
    sign_in_as(client, other)
    assert _post(client, f"/admin/users/{person.id}/signout") == 403


def test_sign_out_other_sessions_keeps_this_one(
    client: TestClient, second_client: TestClient, db: Session
) -> None:
    user = make_user(db)
    sign_in_as(client, user)
    sign_in_as(second_client, user)
    page = BeautifulSoup(client.get("/account").text, "html.parser")
    rows = page.select("#sessions-heading ~ table tbody tr")
    assert len(rows) == 2
    assert sum("(esta sesión)" in row.get_text() for row in rows) == 1

    assert _post(client, "/account/sessions/end-others") == 303

    assert _signed_in(client)
    assert not _signed_in(second_client)
    assert [r.ended_at is None for r in _sessions_of(db, user)] == [True, False]


def test_a_change_of_role_ends_the_session(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.secretariat)
    sign_in_as(client, user)
    user.role = Role.expert
    db.flush()
    assert not _signed_in(client)
    sign_in_as(client, user)
    assert _signed_in(client)


# --- reset links end with a reset or a change ----------------------------------------------


def _reset_links(client: TestClient, db: Session, user: User, count: int) -> list[str]:
    for _ in range(count):
        token = csrf_of(client, "/account/reset")
        client.post("/account/reset", data={"email": user.email, "csrf_token": token})
    bodies = db.scalars(
        select(OutboxMessage.body_text)
        .where(OutboxMessage.to_address == user.email)
        .order_by(OutboxMessage.id)
    )
    return [match.group(1) for body in bodies if (match := RESET_LINK_RE.search(body))]


def _use_reset_link(client: TestClient, token: str, password: str) -> int:
    csrf = csrf_of(client, f"/account/reset/{token}")
    response = client.post(
        f"/account/reset/{token}", data={"password": password, "csrf_token": csrf}
    )
    return response.status_code


def _link_is_open(client: TestClient, token: str) -> bool:
    return client.get(f"/account/reset/{token}").status_code == 200


def test_a_reset_ends_every_other_reset_link(
    client: TestClient, second_client: TestClient, db: Session
) -> None:
    user = make_user(db)
    first, second = _reset_links(client, db, user, 2)

    assert _use_reset_link(client, second, NEW_PASSWORD) == 303

    assert not _link_is_open(second_client, first)
    assert _use_reset_link(second_client, first, "yet-another-passphrase") == 422
    second_client.cookies.clear()
    sign_in_as(second_client, user, NEW_PASSWORD)


def test_a_password_change_ends_outstanding_reset_links(
    client: TestClient, second_client: TestClient, db: Session
) -> None:
    user = make_user(db)
    (link,) = _reset_links(second_client, db, user, 1)
    sign_in_as(client, user)

    status = _post(
        client,
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert status == 303
    assert not _link_is_open(second_client, link)


def test_a_reset_signs_out_every_session(
    client: TestClient, second_client: TestClient, db: Session
) -> None:
    user = make_user(db)
    sign_in_as(second_client, user)
    (link,) = _reset_links(client, db, user, 1)
    assert _use_reset_link(client, link, NEW_PASSWORD) == 303
    assert not _signed_in(second_client)
    assert _signed_in(client)


def test_a_writing_request_holds_no_transaction_while_its_body_is_read(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    # On SQLite a writing transaction holds the database's write lock: it must not stay open
    # from the sign-in check until the route, across the reading of a (perhaps large) body.
    seen: list[bool] = []

    @app.post("/test-probe")
    def probe() -> dict[str, bool]:
        seen.append(db.in_transaction())
        return {"ok": True}

    user = make_user(db)
    sign_in_as(client, user)
    token = csrf_of(client, "/account")
    answer = client.post("/test-probe", data={"csrf_token": token, "padding": "x" * 100_000})
    assert answer.status_code == 200
    assert seen == [False]
