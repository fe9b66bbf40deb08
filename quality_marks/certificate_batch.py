"""Issuing many certificates at once: numbers given in order, PDFs rendered and signed in parallel.

Numbers are allocated one after another, oldest decision first, each in its own short
transaction, exactly as a single issue does; rendering and signing, the slow part that holds no
lock, then runs in worker processes, each with its own connection, keys and font configuration.
A batch stopped half way leaves certificates `issuing`, which the reconciler finishes.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_sessionmaker, open_session
from core.errors import DomainError
from core.i18n import translator
from core.signing import CouncilKeys, load_keys
from core.storage import FileStore
from quality_marks.certificates import allocate_certificate, finish_certificate


@dataclass(frozen=True)
class BatchTerms:
    """What every certificate of a batch is issued with."""

    database_url: str
    keys_dir: Path
    storage_dir: Path
    base_url: str
    prefix: str
    now: dt.datetime


@dataclass(frozen=True)
class BatchOutcome:
    """One decision of a batch: the certificate it got, or why it got none."""

    decision_id: int
    number: str | None
    status: str
    refused: str = ""


# Each worker process's own connection, keys and store, made once when the worker starts.
_worker: dict[str, object] = {}


def _start_worker(terms: BatchTerms) -> None:
    _worker["factory"] = make_sessionmaker(make_engine(terms.database_url))
    _worker["keys"] = load_keys(terms.keys_dir)
    _worker["store"] = FileStore(terms.storage_dir)
    _worker["terms"] = terms


def _finish(certificate_id: int) -> tuple[int, str, str]:
    terms = _worker["terms"]
    factory = _worker["factory"]
    keys = _worker["keys"]
    store = _worker["store"]
    assert isinstance(terms, BatchTerms)
    assert isinstance(factory, sessionmaker)
    assert isinstance(keys, CouncilKeys)
    assert isinstance(store, FileStore)
    certificate = finish_certificate(
        factory,
        certificate_id=certificate_id,
        keys=keys,
        store=store,
        base_url=terms.base_url,
        actor_id=None,
        now=terms.now,
    )
    return certificate.id, certificate.number, certificate.status.value


def _allocate(
    factory: sessionmaker[Session], terms: BatchTerms, decision_id: int
) -> tuple[BatchOutcome, int | None]:
    with open_session(factory, writes=True) as session:
        try:
            certificate = allocate_certificate(
                session,
                decision_id=decision_id,
                base_url=terms.base_url,
                prefix=terms.prefix,
                actor=None,
                now=terms.now,
            )
        except DomainError as refused:
            session.rollback()
            why = translator("en").gettext(refused.message, **refused.params)
            return BatchOutcome(decision_id, None, "refused", why), None
        session.commit()
        outcome = BatchOutcome(decision_id, certificate.number, certificate.status.value)
        return outcome, certificate.id if certificate.status.value == "issuing" else None


def issue_in_batch(
    decision_ids: list[int], *, terms: BatchTerms, workers: int | None = None
) -> list[BatchOutcome]:
    """Issue the certificates of granted decisions, in the order given; one outcome each."""
    engine = make_engine(terms.database_url)
    factory = make_sessionmaker(engine)
    allocated = [_allocate(factory, terms, decision_id) for decision_id in decision_ids]
    engine.dispose()
    to_finish = [certificate_id for _outcome, certificate_id in allocated if certificate_id]
    finished: dict[int, tuple[str, str]] = {}
    if to_finish:
        count = max(1, min(workers or os.cpu_count() or 1, len(to_finish)))
        # Fork: the workers start from this process's imports and warm caches, not from scratch.
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            max_workers=count, mp_context=context, initializer=_start_worker, initargs=(terms,)
        ) as pool:
            for done_id, number, status in pool.map(_finish, to_finish):
                finished[done_id] = (number, status)
    outcomes = []
    for outcome, pending_id in allocated:
        if pending_id is not None:
            number, status = finished[pending_id]
            outcome = BatchOutcome(outcome.decision_id, number, status)
        outcomes.append(outcome)
    return outcomes
