"""The lean request path: an anonymous read takes no database connection it does not use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from core.db import get_session


@pytest.fixture
def checkouts(app: FastAPI) -> Iterator[list[Any]]:
    """Connections the application's own engine hands out (the test's session is set aside)."""
    app.dependency_overrides.pop(get_session)
    engine: Engine = app.state.engine
    taken: list[Any] = []

    def remember(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        taken.append(dbapi_connection)

    event.listen(engine, "checkout", remember)
    yield taken
    event.remove(engine, "checkout", remember)


def test_an_anonymous_page_without_data_takes_no_connection(
    client: TestClient, checkouts: list[Any]
) -> None:
    assert client.get("/").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/signin").status_code == 200
    assert client.get("/no-such-page").status_code == 404
    assert checkouts == []


def test_an_anonymous_api_read_without_a_token_takes_no_connection_before_the_route(
    client: TestClient, checkouts: list[Any]
) -> None:
    assert client.get("/api/v1/me").status_code == 401
    assert checkouts == []


def test_a_page_with_data_takes_one_connection(client: TestClient, checkouts: list[Any]) -> None:
    assert client.get("/council/resolutions").status_code == 200
    assert len(checkouts) == 1


@pytest.mark.parametrize("path", ["/council/resolutions", "/council/resolutions/CEIA-R-9999-999"])
def test_the_request_gives_its_connection_back_when_it_ends(
    client: TestClient, checkouts: list[Any], path: str
) -> None:
    client.get(path)
    assert len(checkouts) == 1
    pool: Any = client.app.state.engine.pool  # type: ignore[attr-defined]
    assert pool.checkedout() == 0
