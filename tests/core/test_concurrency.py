"""Concurrent requests against a live server: no 5xx, exact limits, every acknowledged write kept.

These need real concurrency, so the server runs in a thread on a database of its own, and every
request has its own session (the rolled-back test session cannot be shared between threads).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx2
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import db as core_db
from core.accounts import SIGNIN_BUCKET, Role, User, issue_api_token
from core.auth import now_utc
from core.db import make_engine, make_sessionmaker, open_session
from core.mail import OutboxMessage
from core.ratelimit import RateLimitHit
from core.schema import upgrade_database
from core.settings import Settings
from council.app import create_app
from guidelines.models import ConsultationComment
from tests.conftest import CSRF_RE
from tests.core.live import free_port, run_server, server_settings
from tests.factories import NOW, PASSWORD, make_user
from tests.guidelines.factories import SLUG, make_saved_draft, open_consultation
from tests.quality_marks.factories import (
    make_adopted_version,
    make_application,
    make_organization,
    make_product,
)

# Inside the consultation the factories open (30 days from NOW).
DURING = NOW + dt.timedelta(days=1)
T = TypeVar("T")


@dataclass
class Served:
    """A live server and a way to read what it stored."""

    url: str
    settings: Settings
    app: FastAPI

    def session(self) -> Session:
        """A session of its own on the server's database."""
        return make_sessionmaker(self.app.state.engine)()


@pytest.fixture
def served(fresh_database_url: str, tmp_path: Path) -> Iterator[Served]:
    """The service on a fresh database, served by uvicorn in a thread, its clock inside the
    consultation."""
    port = free_port()
    settings = server_settings(fresh_database_url, tmp_path, port)
    app = create_app(settings)
    app.dependency_overrides[now_utc] = lambda: DURING
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = run_server(server)
    yield Served(f"http://127.0.0.1:{port}", settings, app)
    server.should_exit = True
    thread.join(timeout=10)
    app.state.engine.dispose()


def at_once(count: int, served: Served, work: Callable[[int, httpx2.Client], T]) -> list[T]:
    """Run `work` in `count` threads released together, each with its own HTTP client."""
    barrier = threading.Barrier(count)

    def one(index: int) -> T:
        with httpx2.Client(base_url=served.url, timeout=60, follow_redirects=False) as client:
            barrier.wait()
            return work(index, client)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_parallel_comments_from_one_address_store_exactly_the_limit(served: Served) -> None:
    with served.session() as db:
        staff = make_user(db, role=Role.secretariat)
        version = open_consultation(db, staff, make_saved_draft(db, staff))
        path = f"/api/v1/guidelines/{SLUG}/versions/{version.number}/comments"

    def comment(index: int, client: httpx2.Client) -> int:
        body = {
            "target_code": "TR-1",
            "email": f"persona{index}@ejemplo.mx",
            "commenter_type": "individual",
            "body": f"Comentario número {index}, suficientemente largo.",
        }
        return client.post(path, json=body).status_code

    statuses = Counter(at_once(20, served, comment))

    assert statuses == {201: 5, 429: 15}
    with served.session() as db:
        assert db.scalar(select(func.count(ConsultationComment.id))) == 5
        links = [
            match.group(1)
            for body in db.scalars(select(OutboxMessage.body_text))
            if (match := re.search(r"https?://[^/\s]+(/consultation/confirm/\S+)", body))
        ]
    assert len(links) == 5

    # The e-mailed links are GET requests that write: opened at once, every one publishes.
    confirmed = at_once(5, served, lambda i, client: client.get(links[i]).status_code)

    assert confirmed == [200] * 5
    with served.session() as db:
        published = select(func.count(ConsultationComment.id)).where(
            ConsultationComment.confirmed_at.is_not(None)
        )
        assert db.scalar(published) == 5


def test_parallel_answer_saves_are_all_kept_and_read_back(served: Served) -> None:
    threads, rounds = 8, 4
    with served.session() as db:
        owner = make_user(db, role=Role.applicant)
        organization = make_organization(db, owner=owner)
        version = make_adopted_version(db)
        application_ids, tokens = [], []
        for index in range(threads):
            product = make_product(db, owner, organization, name=f"Producto {index}")
            application = make_application(db, actor=owner, product=product, version=version)
            application_ids.append(application.id)
            tokens.append(issue_api_token(db, user=owner, name=f"hilo {index}", now=NOW)[1])
        db.commit()

    def save(index: int, client: httpx2.Client) -> tuple[list[int], str, str]:
        headers = {"Authorization": f"Bearer {tokens[index]}"}
        url = f"/api/v1/applications/{application_ids[index]}"
        # A read with a token never used before records its use while others write.
        statuses = [client.get("/api/v1/me", headers=headers).status_code]
        read = client.get(url, headers=headers)
        statuses.append(read.status_code)
        code = read.json()["checklist"][0]["code"]
        last = ""
        for n in range(rounds):
            last = f"Hilo {index}, escritura {n}"
            answer = {"value": "meets", "justification": last}
            saved = client.put(f"{url}/answers/{code}", json=answer, headers=headers)
            statuses += [saved.status_code, client.get(url, headers=headers).status_code]
        final = client.get(url, headers=headers).json()["checklist"][0]["justification"]
        return statuses, last, final

    results = at_once(threads, served, save)

    assert Counter(s for statuses, _, _ in results for s in statuses) == {
        200: threads * (2 + 2 * rounds)
    }
    assert [final for _, _, final in results] == [last for _, last, _ in results]


def test_parallel_sign_ins_succeed_and_failures_count_exactly(served: Served) -> None:
    with served.session() as db:
        people = [make_user(db).email for _ in range(6)]
        target = make_user(db).email
        db.commit()
    limit = served.settings.signin_max_failures
    wrong = 10

    def sign_in(index: int, client: httpx2.Client) -> int:
        match = CSRF_RE.search(client.get("/signin").text)
        assert match
        email, password = (people[index], PASSWORD) if index < len(people) else (target, "mala")
        form = {"email": email, "password": password, "csrf_token": match.group(1)}
        return client.post("/signin", data=form).status_code

    statuses = at_once(len(people) + wrong, served, sign_in)

    assert statuses[: len(people)] == [303] * len(people)
    assert Counter(statuses[len(people) :]) == {422: limit, 429: wrong - limit}
    with served.session() as db:
        counted = db.scalar(
            select(func.count(RateLimitHit.id)).where(
                RateLimitHit.bucket == SIGNIN_BUCKET, RateLimitHit.key == target
            )
        )
    assert counted == limit


def test_a_writing_session_keeps_its_work_when_another_commits_between_read_and_write(
    fresh_database_url: str,
) -> None:
    engine = make_engine(fresh_database_url)
    factory = make_sessionmaker(engine)
    with factory() as db:
        person = make_user(db)
        db.commit()
        person_id = person.id
    errors: list[BaseException] = []

    def rename_elsewhere() -> None:
        try:
            with open_session(factory, writes=True) as other:
                other.get_one(type(person), person_id).full_name = "Nombre del otro"
                other.commit()
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    with open_session(factory, writes=True) as first:
        found = first.get_one(type(person), person_id)  # the unit of work reads first
        other = threading.Thread(target=rename_elsewhere)
        other.start()
        other.join(timeout=0.5)  # on SQLite it waits for our write lock; elsewhere it commits
        found.full_name = "Nombre del primero"
        first.commit()
    other.join(timeout=10)
    engine.dispose()

    assert errors == []


def test_a_write_waits_out_a_lock_held_longer_than_the_busy_timeout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # SQLite's own behaviour, so on its own SQLite file whatever database the suite runs on.
    monkeypatch.setattr(core_db, "BUSY_TIMEOUT_MS", 200)
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    holder = sqlite3.connect(
        tmp_path / "busy.db", isolation_level=None, check_same_thread=False
    )  # another program
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, holder.rollback)  # longer than one wait, shorter than three
    release.start()
    try:
        with open_session(factory, writes=True) as writer:
            make_user(writer)
            writer.commit()
            assert writer.scalar(select(func.count(User.id))) == 1
    finally:
        release.join()
        holder.close()
        engine.dispose()
