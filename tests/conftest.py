"""Test fixtures: a migrated database per worker, a rolled-back transaction per test, a client."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session

from core import accounts
from core.db import get_session, make_engine, normalize_url
from core.schema import upgrade_database
from core.settings import Settings
from core.signing import CouncilKeys, init_keys
from council.app import create_app

TEST_SECRET = "test-secret-key-that-is-long-enough-for-signing"
PRODUCTION_HASHER = accounts._hasher


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """Argon2id at minimal cost: tests check behaviour, and the production cost is 0.3 s a hash."""
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts._hasher = PRODUCTION_HASHER


def _postgres_base() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL", "")
    return normalize_url(url) if url.startswith("postgres") else None


def create_database(name: str, tmp_dir: Path) -> str:
    """Create an empty, migrated database: SQLite file by default, PostgreSQL when asked."""
    base = _postgres_base()
    if base is None:
        url = f"sqlite:///{tmp_dir / (name + '.db')}"
    else:
        admin = make_engine(
            str(make_url(base).set(database="postgres")), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    upgrade_database(url)
    return url


def drop_database(url: str) -> None:
    """Remove a PostgreSQL test database (SQLite files go with the temporary directory)."""
    if not url.startswith("postgresql"):
        return
    name = make_url(url).database
    admin = make_engine(str(make_url(url).set(database="postgres")), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[str]:
    """The worker's own database, built by running the migrations."""
    url = create_database(f"ceia_test_{worker_id}_{os.getpid()}", tmp_path_factory.mktemp("db"))
    yield url
    drop_database(url)


@pytest.fixture
def fresh_database_url(tmp_path: Path, worker_id: str) -> Iterator[str]:
    """A separate migrated database that a test may commit to (CLI and live-server tests)."""
    url = create_database(f"ceia_fresh_{worker_id}_{os.getpid()}", tmp_path)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The worker's engine."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction rolled back after the test; commits become savepoints."""
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield session
    session.close()
    transaction.rollback()
    connection.close()


TEST_COUNCIL_NAME = "Consejo de Ética de la Inteligencia Artificial"


@pytest.fixture(scope="session")
def council_keys(tmp_path_factory: pytest.TempPathFactory) -> CouncilKeys:
    """The council's keys (a self-signed demo authority), made once per test session.

    Tests must not rotate them: a test that rotates makes its own with `init_keys`.
    """
    return init_keys(
        tmp_path_factory.mktemp("keys") / "keys",
        council_name=TEST_COUNCIL_NAME,
        now=dt.datetime.now(dt.UTC),
    )


@pytest.fixture
def settings(tmp_path: Path, database_url: str, council_keys: CouncilKeys) -> Settings:
    """Settings for one test: its own state directory, a fixed secret, the session's keys."""
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET,
        var_dir=tmp_path / "var",
        storage_dir=tmp_path / "storage",
        keys_dir=council_keys.directory,
        base_url="http://testserver",
        _env_file=None,
    )


@pytest.fixture
def app(settings: Settings, db: Session) -> Iterator[FastAPI]:
    """The application wired to the test's session."""
    application = create_app(settings)

    def session_override() -> Iterator[Session]:
        db.expire_all()  # each request starts from the database, as in production
        yield db

    application.dependency_overrides[get_session] = session_override
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A browser-like client (cookies kept, redirects not followed)."""
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        yield test_client


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: TestClient, path: str = "/") -> str:
    """The session's CSRF token, as the page at `path` hands it to its forms.

    A page makes the token only when it shows a form needing it; for a page without one (an
    anonymous reader's home page, a used link) the session's token is taken from the sign-in form.
    """
    match = CSRF_RE.search(client.get(path).text) or CSRF_RE.search(client.get("/signin").text)
    assert match, f"no CSRF token on {path} nor on the sign-in page"
    return match.group(1)


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember skipped tests (xfails aside)."""
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under COUNCIL_FORBID_SKIPS=1 (CI) a skipped test fails the run: skipped is not passed."""
    if os.environ.get("COUNCIL_FORBID_SKIPS") == "1" and _skipped and exitstatus == 0:
        print(f"\n{len(_skipped)} test(s) skipped, which CI does not allow: {_skipped[:5]}")
        session.exitstatus = 1
