"""Security and cache headers on every response, errors and crashes included (issue 8, item 13)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.accounts import Role
from core.settings import Settings
from council.app import create_app
from tests.factories import make_user, sign_in_as

EXPECTED = (
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
)


def _boom() -> None:
    raise RuntimeError("a bug")


@pytest.fixture
def crashing_client(app: FastAPI) -> Iterator[TestClient]:
    """A client of an app with one route that crashes, answered as the server would (a 500)."""
    app.add_api_route("/boom", _boom)
    app.add_api_route("/api/v1/boom", _boom)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/boom", "/api/v1/boom"])
def test_a_crash_still_carries_the_security_headers(crashing_client: TestClient, path: str) -> None:
    response = crashing_client.get(path)
    assert response.status_code == 500
    for name in EXPECTED:
        assert name in response.headers, name
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_error_pages_and_static_files_carry_the_security_headers(client: TestClient) -> None:
    for response in (client.get("/no-such-page"), client.get("/static/site.css")):
        for name in EXPECTED:
            assert name in response.headers, (response.url, name)


def test_the_api_and_signed_in_pages_are_not_stored(client: TestClient, db: Session) -> None:
    assert "no-store" not in client.get("/guidelines").headers.get("cache-control", "")
    assert client.get("/api/v1/guidelines").headers["cache-control"] == "no-store"
    assert client.get("/api/v1/nothing-here").headers["cache-control"] == "no-store"
    sign_in_as(client, make_user(db, role=Role.secretariat))
    assert client.get("/guidelines").headers["cache-control"] == "no-store"
    assert client.get("/account").headers["cache-control"] == "no-store"


def test_no_hsts_over_plain_http(client: TestClient) -> None:
    assert "strict-transport-security" not in client.get("/").headers


@pytest.fixture
def https_client(settings: Settings, db: Session) -> Iterator[TestClient]:
    """A client of the app deployed at an https address."""
    from core.db import get_session

    application = create_app(settings.model_copy(update={"base_url": "https://ceia.example.mx"}))

    def session_override() -> Iterator[Session]:
        db.expire_all()
        yield db

    application.dependency_overrides[get_session] = session_override
    with TestClient(application, base_url="https://testserver", follow_redirects=False) as c:
        yield c
    application.state.engine.dispose()


def test_https_deployments_send_hsts_and_a_secure_language_cookie(
    https_client: TestClient,
) -> None:
    home = https_client.get("/")
    assert home.headers["strict-transport-security"].startswith("max-age=31536000")
    assert "strict-transport-security" in https_client.get("/missing").headers
    response = https_client.post("/language", data={"locale": "en", "next": "/"})
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("lang=en")
    assert "secure" in cookie.lower()
