"""Database plumbing: the declarative base, UTC timestamps, engines and sessions."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table of the service."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(dt.UTC)
        # SQLite stores text; keep it naive there so comparisons sort as text.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def normalize_url(url: str) -> str:
    """Route plain postgresql:// URLs to psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine: SQLite with WAL, foreign keys and real transactions; PostgreSQL via psycopg."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        on_disk = bool(path) and path != ":memory:"
        _configure_sqlite(engine, WriterTurns(path + "-writers" if on_disk else None))
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


# Execution option that marks a connection whose transactions will write.
WRITE_OPTION = "council_writes"
# How long SQLite waits for a lock before answering "database is locked".
BUSY_TIMEOUT_MS = 5000
# Address space SQLite may map per connection (reads only; writes still go through the journal).
SQLITE_MMAP_BYTES = 1 << 30
# Page cache per connection, in KiB.
SQLITE_CACHE_KIB = 16_384
# Attempts at taking SQLite's write lock (each waits up to the busy timeout) before giving up.
BEGIN_ATTEMPTS = 3
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_LOCKED = "database is locked"
_HOLDS_WRITERS = "council_holds_writers"
_WRITES_MARK = "__council_writes__"
_READS_ONLY_MARK = "__council_reads_only__"
EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])


class WriterTurns:
    """Writers to one SQLite file take turns: threads of a process on a lock, then processes on
    a file lock beside the database.

    SQLite's own busy handler polls with sleeps growing to 100 ms, so under load a waiting writer
    keeps losing to newcomers until its timeout runs out and the request fails.
    """

    POLL_SECONDS = 0.002

    def __init__(self, lock_path: str | None) -> None:
        self.threads = threading.Lock()
        self.lock_path = lock_path
        self.fd: int | None = None

    def acquire(self, timeout: float) -> bool:
        """Wait for this writer's turn, at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        if not self.threads.acquire(timeout=timeout):
            return False
        if self.lock_path is None:
            return True
        if self.fd is None:
            self.fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self.threads.release()
                    return False
                time.sleep(self.POLL_SECONDS)

    def release(self) -> None:
        """End this writer's turn."""
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.threads.release()


def _configure_sqlite(engine: Engine, turns: WriterTurns) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Reads through memory mapping skip a system call and a copy per page: a search joining
        # thousands of rows runs about ten times faster than through the default 2 MiB cache.
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    wait_seconds = BUSY_TIMEOUT_MS / 1000 * BEGIN_ATTEMPTS

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if not conn.get_execution_options().get(WRITE_OPTION):
            # Reads stay deferred so they never queue behind writers (WAL gives them a snapshot).
            conn.exec_driver_sql("BEGIN")
            return
        if not turns.acquire(timeout=wait_seconds):
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(_LOCKED))
        conn.info[_HOLDS_WRITERS] = True
        try:
            _begin_immediate(conn)
        except BaseException:
            _release(conn.info)
            raise

    def _release(info: dict[Any, Any]) -> None:
        if info.pop(_HOLDS_WRITERS, False):
            turns.release()

    # The turn ends when the connection goes back to the pool, after its COMMIT or ROLLBACK.
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        _release(record.info)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: Any, _error: Any) -> None:
        _release(record.info)


def _begin_immediate(conn: Connection) -> None:
    # A transaction that reads and then writes fails at once when another commit came in
    # between, whatever the busy timeout; taking the write lock first makes it wait instead.
    # Nothing has run yet when BEGIN fails, so trying again retries the whole unit of work.
    for attempt in range(1, BEGIN_ATTEMPTS + 1):
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as error:
            if attempt == BEGIN_ATTEMPTS or _LOCKED not in str(error.orig):
                raise


# SQLite's words for a database that is busy or cannot be reached (not a bug in a statement).
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk i/o error")


def is_unavailable(error: BaseException) -> bool:
    """Whether a database error means the database cannot serve now (down, unreachable, busy)."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    orig = error.orig
    module = type(orig).__module__
    if module.startswith("psycopg"):
        # psycopg raises OperationalError for refused, lost and shut-down connections.
        return isinstance(error, OperationalError) or "connection" in str(orig).lower()
    return isinstance(error, OperationalError) and any(
        words in str(orig).lower() for words in _SQLITE_UNAVAILABLE
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (pages render after the redirect)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def open_session(factory: sessionmaker[Session], *, writes: bool) -> Session:
    """A session; one that `writes` takes SQLite's write lock when each transaction begins."""
    if not writes:
        return factory(info={"writes": False})
    bind = factory.kw["bind"]
    return factory(bind=bind.execution_options(**{WRITE_OPTION: True}), info={"writes": True})


def side_session(session: Session) -> Session:
    """A writing session beside `session`, for bookkeeping that must not join its transaction."""
    bind = session.get_bind()
    if isinstance(bind, Engine):
        return Session(bind=bind.execution_options(**{WRITE_OPTION: True}), info={"writes": True})
    return Session(bind=bind)  # a test's connection: the write joins its open transaction


def reading_session(session: Session) -> Session:
    """A reading session beside `session`; on SQLite it does not take the write lock."""
    bind = session.get_bind()
    if isinstance(bind, Engine):
        return Session(bind=bind.execution_options(**{WRITE_OPTION: False}), info={"writes": False})
    return Session(bind=bind)  # a test's connection: the read joins its open transaction


def sibling_factory(session: Session) -> sessionmaker[Session]:
    """Sessions beside `session` for work that runs its own transactions (certificate issuance).

    In production they open their own connections; in a test joined to one connection they
    share it, their commits becoming savepoints of the test's transaction.
    """
    bind = session.get_bind()
    if isinstance(bind, Engine):
        # Reads stay reads: the write option is set again by open_session(writes=True).
        return make_sessionmaker(bind.execution_options(**{WRITE_OPTION: False}))
    return sessionmaker(bind=bind, join_transaction_mode="create_savepoint", expire_on_commit=False)


def writes(endpoint: EndpointT) -> EndpointT:
    """Mark a route that changes state although its method is safe (a link opened from a mail)."""
    setattr(endpoint, _WRITES_MARK, True)
    return endpoint


def reads_only(endpoint: EndpointT) -> EndpointT:
    """Mark a route whose request session only reads although its method is unsafe (a public
    upload that is checked, not stored): it gets a reading session, so on SQLite it holds no
    write lock while it works; what it must record goes through `side_session`."""
    setattr(endpoint, _READS_ONLY_MARK, True)
    return endpoint


def is_write_request(request: Request) -> bool:
    """Whether the request may change state: an unsafe method, or a route marked `writes`,
    unless the route is marked `reads_only`."""
    endpoint = request.scope.get("endpoint")
    if getattr(endpoint, _READS_ONLY_MARK, False):
        return False
    return request.method not in SAFE_METHODS or getattr(endpoint, _WRITES_MARK, False)


# Where the request's database session is kept: the request's state dict, which every copy of
# the ASGI scope made while routing shares.
_REQUEST_SESSION = "council_db_session"


async def get_session(request: Request) -> Session:
    """The request's one database session; the route commits, and closing rolls back the rest.

    The session takes a connection only when first used, so a request that never queries never
    begins a transaction. It is closed by `RequestSessions` once the response is sent: a plain
    function, not a dependency with `yield`, so it costs no exit stack or worker thread.
    """
    state: dict[str, Any] = request.scope.setdefault("state", {})
    session: Session | None = state.get(_REQUEST_SESSION)
    if session is None:
        factory: sessionmaker[Session] = request.app.state.sessionmaker
        session = open_session(factory, writes=is_write_request(request))
        state[_REQUEST_SESSION] = session
    return session


class RequestSessions:
    """Plain ASGI middleware closing the request's database session, if one was opened."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        try:
            await self.app(scope, receive, send)
        finally:
            session: Session | None = state.pop(_REQUEST_SESSION, None)
            if session is not None:
                # close() rolls back without expiring loaded objects. Ending a transaction is
                # I/O: done in a worker thread, off the event loop.
                if session.in_transaction():
                    await run_in_threadpool(session.close)
                else:
                    session.close()
