"""Crash consistency: issuance killed (kill -9) at every step, then the reconciler.

A forked child (everything already imported) counts each statement sent to the database (before
and after it runs), each commit and each write of the file store, and SIGKILLs itself at point k.
The parent then runs the reconciler (itself killed at some point first, for good measure) and in
the end every number given is a certificate either fully issued (PDF present, hash right, audit
and registry events present) or void; no application has two live certificates and no number is
skipped.
"""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.audit import AuditEvent
from core.db import make_engine, make_sessionmaker
from core.signing import CouncilKeys
from core.storage import FileStore
from quality_marks import certificates
from quality_marks.certificate_models import (
    LIVE_CERTIFICATES,
    Certificate,
    CertificateCounter,
    CertificateStatus,
    RegistryEvent,
    RegistryEventKind,
)
from quality_marks.models import ApplicationDecision
from tests.quality_marks.certificate_builders import decision_of, granted
from tests.quality_marks.certificate_issuance import ISSUED_AT, PREFIX
from tests.quality_marks.decision_builders import URL

# Kill points over the whole run, issuance and reconciler kills together.
MIN_POINTS = 200


class _Armed:
    """Counts the points a child passes and kills it at the chosen one."""

    def __init__(self, kill_at: int | None) -> None:
        self.kill_at = kill_at
        self.passed = 0

    def point(self, *_: Any, **__: Any) -> None:
        self.passed += 1
        if self.passed == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


def _armed_factory(url: str, armed: _Armed) -> sessionmaker[Session]:
    engine = make_engine(url)
    for name in ("before_cursor_execute", "after_cursor_execute", "commit"):
        event.listen(engine, name, armed.point)
    return make_sessionmaker(engine)


def _armed_store(root: Path, armed: _Armed) -> FileStore:
    store = FileStore(root)
    save = store.save

    def saving(*args: Any, **kwargs: Any) -> Any:
        armed.point()
        stored = save(*args, **kwargs)
        armed.point()  # written, not yet committed
        return stored

    store.save = saving  # type: ignore[method-assign]
    return store


def _in_child(work: Callable[[], int]) -> tuple[bool, int]:
    """Run `work` in a forked child: (killed, points passed when it finished)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        code = 0
        try:
            os.write(write, str(work()).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read) as answer:
        passed = answer.read()
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True, 0
    assert os.WEXITSTATUS(status) == 0, "the child failed without being killed"
    return False, int(passed)


@pytest.fixture
def setup(fresh_database_url: str) -> tuple[str, int]:
    engine = make_engine(fresh_database_url)
    with make_sessionmaker(engine)() as db:
        decision_id = decision_of(db, granted(db)).id
        db.commit()
    engine.dispose()  # no connection crosses a fork
    return fresh_database_url, decision_id


def test_killed_at_every_point_every_certificate_ends_issued_or_void(
    setup: tuple[str, int], council_keys: CouncilKeys, tmp_path: Path
) -> None:
    url, decision_id = setup
    root = tmp_path / "store"
    # A decision gives one certificate: each round issues under a decision of its own.
    decisions = [decision_id]

    def issuing(kill_at: int | None) -> Callable[[], int]:
        def work() -> int:
            armed = _Armed(kill_at)
            factory = _armed_factory(url, armed)
            certificates.issue_certificate(
                factory,
                decision_id=decisions[-1],
                keys=council_keys,
                store=_armed_store(root, armed),
                base_url=URL,
                prefix=PREFIX,
                actor_id=None,
                now=ISSUED_AT,
            )
            factory.kw["bind"].dispose()
            return armed.passed

        return work

    def reconciling(kill_at: int | None) -> Callable[[], int]:
        def work() -> int:
            armed = _Armed(kill_at)
            certificates.reconcile_certificates(
                _armed_factory(url, armed),
                keys=council_keys,
                store=_armed_store(root, armed),
                base_url=URL,
                now=ISSUED_AT,
            )
            return armed.passed

        return work

    engine = make_engine(url)
    factory = make_sessionmaker(engine)

    def settle() -> bool:
        """Reconcile for good in this process; end the issued certificate and decide anew, so
        the next issuance allocates a new number. Whether one was left issuing."""
        with factory() as db:
            pending = db.scalar(
                select(func.count(Certificate.id)).where(
                    Certificate.status == CertificateStatus.issuing
                )
            )
        summary = certificates.reconcile_certificates(
            factory, keys=council_keys, store=FileStore(root), base_url=URL, now=ISSUED_AT
        )
        assert summary.failed == []
        with factory() as db:
            db.execute(
                update(Certificate)
                .where(Certificate.status == CertificateStatus.valid)
                .values(status=CertificateStatus.withdrawn)
            )
            decided = db.get(ApplicationDecision, decisions[-1])
            assert decided is not None
            again = ApplicationDecision(
                **{
                    column.key: getattr(decided, column.key)
                    for column in ApplicationDecision.__table__.columns
                    if column.key != "id"
                }
            )
            db.add(again)
            db.flush()
            decisions.append(again.id)
            db.commit()
        engine.dispose()  # no connection crosses a fork
        return bool(pending)

    # Counted in this process: it also warms the fonts and templates every child inherits.
    issue_points = issuing(None)()
    settle()
    kills = 0
    for point in range(1, issue_points + 1):
        killed, _ = _in_child(issuing(point))
        kills += killed
        with factory() as db:
            left = db.scalar(
                select(func.count(Certificate.id)).where(
                    Certificate.status == CertificateStatus.issuing
                )
            )
        engine.dispose()
        # The reconciler dies too, twice, at points of its own, before this process finishes.
        span = issue_points // 2 if left else 2
        for turn in (1, 2):
            killed, _ = _in_child(reconciling(1 + (point * 7 + turn * 13) % span))
            kills += killed
        settle()
    print(f"{kills} kill points ({issue_points} in one issuance)")
    assert kills >= MIN_POINTS, f"only {kills} kill points"

    with factory() as db:
        _every_number_issued_or_void(db, FileStore(root))
    engine.dispose()


def _every_number_issued_or_void(db: Session, store: FileStore) -> None:
    rows = db.scalars(select(Certificate).order_by(Certificate.serial)).all()
    last = db.scalar(select(CertificateCounter.last))
    assert [c.serial for c in rows] == list(range(1, (last or 0) + 1))  # no gap, no duplicate
    assert (
        db.scalar(
            select(func.count(Certificate.id)).where(Certificate.status.in_(LIVE_CERTIFICATES))
        )
        == 0
    )
    for certificate in rows:
        kinds = [
            e.kind
            for e in db.scalars(
                select(RegistryEvent).where(RegistryEvent.certificate_id == certificate.id)
            )
        ]
        actions = set(
            db.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.object_type == "certificate",
                    AuditEvent.object_id == certificate.number,
                )
            )
        )
        if certificate.status == CertificateStatus.void:
            assert kinds == [RegistryEventKind.voided]
            assert "certificate.lint_failed" in actions
            continue
        assert certificate.issued_at is not None
        assert certificate.credential
        data = store.path_of(certificate.pdf_key or "").read_bytes()
        assert hashlib.sha256(data).hexdigest() == certificate.pdf_sha256
        assert kinds == [RegistryEventKind.issued]
        assert {"certificate.allocated", "certificate.issued"} <= actions
