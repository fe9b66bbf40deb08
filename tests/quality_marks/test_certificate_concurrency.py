"""Twenty requests at once for one application's certificate, from threads and from processes.

These commit for real, so they run on a fresh database of their own (a file on SQLite).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_sessionmaker
from core.signing import CouncilKeys
from core.storage import FileStore
from quality_marks.certificate_models import Certificate, CertificateCounter, CertificateStatus
from quality_marks.certificates import issue_certificate
from tests.quality_marks.certificate_builders import decision_of, granted
from tests.quality_marks.certificate_issuance import ISSUED_AT, PREFIX
from tests.quality_marks.decision_builders import URL

REQUESTS = 20


@dataclass
class Granted:
    """A committed database holding one granted decision."""

    url: str
    factory: sessionmaker[Session]
    decision_id: int


@pytest.fixture
def committed(fresh_database_url: str) -> Iterator[Granted]:
    engine = make_engine(fresh_database_url)
    factory = make_sessionmaker(engine)
    with factory() as db:
        decision_id = decision_of(db, granted(db)).id
        db.commit()
    yield Granted(fresh_database_url, factory, decision_id)
    engine.dispose()


def _issue(factory: sessionmaker[Session], decision_id: int, keys: CouncilKeys, store: Path) -> str:
    certificate = issue_certificate(
        factory,
        decision_id=decision_id,
        keys=keys,
        store=FileStore(store),
        base_url=URL,
        prefix=PREFIX,
        actor_id=None,
        now=ISSUED_AT,
    )
    return f"{certificate.number} {certificate.status.value}"


def _exactly_one(granted: Granted, answers: list[str]) -> None:
    with granted.factory() as db:
        certificate = db.scalars(select(Certificate)).one()
        assert certificate.status == CertificateStatus.valid
        assert db.scalar(select(func.count(CertificateCounter.year))) == 1
        assert db.scalar(select(CertificateCounter.last)) == 1  # no number spent on a loser
    # Every request answers the one certificate; those that came early may see it unfinished.
    assert {answer.split()[0] for answer in answers} == {certificate.number}
    assert f"{certificate.number} valid" in answers


def test_twenty_threads_at_once_give_one_certificate(
    committed: Granted, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    barrier = threading.Barrier(REQUESTS)

    def one(_: int) -> str:
        barrier.wait()
        return _issue(committed.factory, committed.decision_id, council_keys, tmp_path)

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        answers = list(pool.map(one, range(REQUESTS)))
    _exactly_one(committed, answers)


def _in_process(
    url: str,
    decision_id: int,
    keys: CouncilKeys,
    store: Path,
    barrier: threading.Barrier,
    answers: multiprocessing.Queue[str],
) -> None:
    engine = make_engine(url)  # a process of its own: its own connections
    barrier.wait()
    answers.put(_issue(make_sessionmaker(engine), decision_id, keys, store))
    engine.dispose()


def test_twenty_processes_at_once_give_one_certificate(
    committed: Granted, council_keys: CouncilKeys, tmp_path: Path
) -> None:
    committed.factory.kw["bind"].dispose()  # no connection crosses a fork
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(REQUESTS)
    answers: multiprocessing.Queue[str] = context.Queue()
    workers = [
        context.Process(
            target=_in_process,
            args=(committed.url, committed.decision_id, council_keys, tmp_path, barrier, answers),
        )
        for _ in range(REQUESTS)
    ]
    for worker in workers:
        worker.start()
    collected = [answers.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    _exactly_one(committed, collected)
