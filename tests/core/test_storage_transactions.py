"""Stored files follow their transaction: removed on rollback, deleted only after commit."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from core.errors import Invalid
from core.storage import FileStore


def _text_file() -> io.BytesIO:
    return io.BytesIO(b"An evidence note of the applicant.\n")


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


@pytest.fixture
def session(engine: Engine) -> Session:
    return Session(engine)


def _save(store: FileStore, session: Session) -> str:
    session.execute(text("select 1"))
    return store.save(_text_file(), original_name="nota.txt", max_bytes=1024, session=session).key


def test_a_file_stored_for_a_transaction_that_rolls_back_is_removed(
    store: FileStore, session: Session
) -> None:
    key = _save(store, session)
    assert store.path_of(key).exists()
    session.rollback()
    assert not store.path_of(key).exists()


def test_a_file_stored_for_a_session_closed_without_commit_is_removed(
    store: FileStore, session: Session
) -> None:
    key = _save(store, session)
    session.close()
    assert not store.path_of(key).exists()


def test_a_file_stored_before_any_query_still_follows_the_transaction(
    store: FileStore, session: Session
) -> None:
    key = store.save(_text_file(), original_name="a.txt", max_bytes=1024, session=session).key
    session.close()
    assert not store.path_of(key).exists()


def test_a_committed_file_stays_and_later_rollbacks_leave_it(
    store: FileStore, session: Session
) -> None:
    key = _save(store, session)
    session.commit()
    session.execute(text("select 1"))
    session.rollback()
    assert store.path_of(key).exists()


def test_a_discarded_file_is_removed_only_when_the_transaction_commits(
    store: FileStore, session: Session
) -> None:
    key = _save(store, session)
    session.commit()
    store.discard(session, key)
    session.execute(text("select 1"))
    assert store.path_of(key).exists()
    session.commit()
    assert not store.path_of(key).exists()


def test_a_discarded_file_survives_a_rollback(store: FileStore, session: Session) -> None:
    key = _save(store, session)
    session.commit()
    session.execute(text("select 1"))
    store.discard(session, key)
    session.rollback()
    session.execute(text("select 1"))
    session.commit()
    assert store.path_of(key).exists()


def test_the_test_sessions_savepoint_mode_keeps_the_same_rules(
    store: FileStore, db: Session
) -> None:
    rolled_back = _save(store, db)
    db.rollback()
    committed = _save(store, db)
    db.commit()
    assert not store.path_of(rolled_back).exists()
    assert store.path_of(committed).exists()
    store.discard(db, committed)
    db.commit()
    assert not store.path_of(committed).exists()


def test_a_refused_upload_leaves_nothing_to_remove_later(
    store: FileStore, session: Session
) -> None:
    session.execute(text("select 1"))
    with pytest.raises(Invalid):
        store.save(io.BytesIO(b""), original_name="empty.txt", max_bytes=1024, session=session)
    session.commit()
    assert list(store.root.rglob("*.*")) == []
