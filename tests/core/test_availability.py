"""Faults: a database that cannot be reached answers 503 and keeps connections; readiness probes;
the client address that rate limits count."""

from __future__ import annotations

import datetime as dt
import http.client
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import make_url
from typer.testing import CliRunner

from core.accounts import Role
from core.db import make_engine, make_sessionmaker, utcnow
from core.settings import Settings
from council import cli
from council.app import create_app
from guidelines import service
from tests.core.live import free_port, run_server, server_settings
from tests.factories import make_user
from tests.guidelines.factories import SLUG, make_saved_draft

UNAVAILABLE_ES = "El servicio no está disponible por un momento."


def unreachable_database(database_url: str, tmp_path: Path) -> str:
    """A URL of the same kind as the suite's database that cannot be opened."""
    if database_url.startswith("postgresql"):
        return make_url(database_url).set(port=free_port()).render_as_string(hide_password=False)
    return f"sqlite:///{tmp_path}"  # a directory: SQLite cannot open it as a database


@pytest.fixture
def outage_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The test's settings pointed at a database that is down."""
    return settings.model_copy(
        update={"database_url": unreachable_database(settings.database_url, tmp_path)}
    )


@pytest.fixture
def outage_client(outage_settings: Settings) -> Iterator[TestClient]:
    """A client of an instance whose database is down."""
    app = create_app(outage_settings)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        yield client
    app.state.engine.dispose()


def test_pages_answer_503_with_retry_after_in_the_visitors_language(
    outage_client: TestClient,
) -> None:
    response = outage_client.get("/guidelines")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"].startswith("text/html")
    assert UNAVAILABLE_ES in response.text

    english = outage_client.get("/guidelines", headers={"Accept-Language": "en"})
    assert english.status_code == 503
    assert "The service is briefly unavailable." in english.text


def test_the_api_answers_503_as_json(outage_client: TestClient) -> None:
    response = outage_client.get(f"/api/v1/guidelines/{SLUG}")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"] == "unavailable"


def test_health_says_the_process_is_up_and_readiness_reports_the_database(
    outage_client: TestClient,
) -> None:
    assert outage_client.get("/healthz").status_code == 200

    ready = outage_client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json() == {
        "status": "unavailable",
        "checks": {"database": "unavailable", "file_store": "ok"},
    }


def test_readiness_is_ok_when_database_and_file_store_serve(client: TestClient) -> None:
    ready = client.get("/readyz")

    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "file_store": "ok"}}


def test_readiness_reports_a_file_store_that_cannot_be_written(
    settings: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    app = create_app(settings.model_copy(update={"storage_dir": blocker / "storage"}))
    with TestClient(app) as client:
        ready = client.get("/readyz")
    app.state.engine.dispose()

    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "ok", "file_store": "unavailable"}


def test_the_server_keeps_the_connection_open_during_an_outage(
    outage_settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    app = create_app(outage_settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = run_server(server)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        statuses, sockets = [], set()
        for _ in range(3):
            connection.request("GET", "/api/v1/guidelines")
            response = connection.getresponse()
            response.read()
            statuses.append((response.status, response.will_close))
            sockets.add(id(connection.sock))
    finally:
        connection.close()
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()

    assert statuses == [(503, False)] * 3
    assert len(sockets) == 1  # one connection served all three


# --- The client address behind proxies ----------------------------------------------------


def serve_like_the_cli(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, port: int
) -> tuple[uvicorn.Server, threading.Thread]:
    """Start the server with the options `council serve` gives uvicorn, in a thread."""
    for name in ("database_url", "secret_key", "var_dir", "storage_dir", "base_url"):
        monkeypatch.setenv(name.upper(), str(getattr(settings, name)))
    monkeypatch.setenv("TRUSTED_PROXIES", settings.trusted_proxies)
    options: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: options.update(kw, app=target))
    result = CliRunner().invoke(cli.app, ["serve", "--port", str(port)])
    assert result.exit_code == 0, result.output
    server = uvicorn.Server(uvicorn.Config(**options, log_level="warning"))  # type: ignore[arg-type]
    return server, run_server(server)


@pytest.mark.parametrize(
    ("trusted_proxies", "expected"),
    [("", [201] * 5 + [429]), ("127.0.0.1", [201] * 6)],
    ids=["nobody-trusted", "loopback-proxy-trusted"],
)
def test_forwarded_addresses_count_only_from_trusted_proxies(
    monkeypatch: pytest.MonkeyPatch,
    fresh_database_url: str,
    tmp_path: Path,
    trusted_proxies: str,
    expected: list[int],
) -> None:
    port = free_port()
    settings = server_settings(fresh_database_url, tmp_path, port).model_copy(
        update={"trusted_proxies": trusted_proxies}
    )
    engine = make_engine(fresh_database_url)
    with make_sessionmaker(engine)() as db:
        staff = make_user(db, role=Role.secretariat)
        draft = make_saved_draft(db, staff)
        today = utcnow()
        closes_on = (today + dt.timedelta(days=60)).date()
        service.open_consultation(
            db, actor=staff, version=draft, closes_on=closes_on, now=today, min_days=30
        )
        db.commit()
    engine.dispose()
    monkeypatch.chdir(tmp_path)
    server, thread = serve_like_the_cli(monkeypatch, settings, port)
    statuses = []
    try:
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for n in range(6):
                body = {
                    "target_code": "TR-1",
                    "email": f"rotando{n}@ejemplo.mx",
                    "commenter_type": "individual",
                    "body": "Un comentario suficientemente largo.",
                }
                statuses.append(
                    client.post(
                        f"/api/v1/guidelines/{SLUG}/versions/1.0/comments",
                        json=body,
                        headers={"X-Forwarded-For": f"198.51.100.{n + 1}"},
                    ).status_code
                )
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    assert statuses == expected
