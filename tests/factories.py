"""Plain functions that build test data through the real service verbs."""

from __future__ import annotations

import datetime as dt
import itertools

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.accounts import Role, User, create_user
from tests.conftest import csrf_of

PASSWORD = "correct-horse-battery"
NOW = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC)
_counter = itertools.count(1)


def make_user(
    db: Session,
    *,
    role: Role = Role.applicant,
    email: str | None = None,
    full_name: str | None = None,
    password: str | None = PASSWORD,
    locale: str = "es_MX",
) -> User:
    """An account with a known password."""
    n = next(_counter)
    return create_user(
        db,
        email=email or f"persona{n}@ejemplo.mx",
        full_name=full_name or f"Persona de Prueba {n}",
        role=role,
        password=password,
        actor=None,
        now=NOW,
        locale=locale,
    )


def sign_in_as(client: TestClient, user: User, password: str = PASSWORD) -> None:
    """Sign the client in through the real sign-in form."""
    token = csrf_of(client, "/signin")
    response = client.post(
        "/signin", data={"email": user.email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
