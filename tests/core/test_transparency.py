"""The transparency log in the database: what is appended, the signed heads, the proofs the API
gives (checked here with hashlib alone), and tampering with the log or the audit chain detected."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session

from core import merkle, transparency
from core.accounts import Role
from core.audit import AuditEvent, compute_hash, record_event, verify_chain, verify_checkpoints
from core.auth import now_utc
from core.settings import Settings
from core.signing import CouncilKeys
from core.transparency import LogLeaf, LogNode, SignedTreeHead
from council import ballots
from council.models import PositionKind
from guidelines.models import GuidelineVersion
from guidelines.service import slug_of
from quality_marks.certificate_lifecycle import suspend_certificate
from tests.council.test_ballots import CLOSES, _adoption_ballot
from tests.factories import NOW, make_user
from tests.quality_marks.certificate_builders import decision_of, granted
from tests.quality_marks.certificate_issuance import ISSUED_AT, issue

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


# --- An independent reading of RFC 9162, hashlib only ----------------------------------------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def independent_root(inputs: list[bytes]) -> bytes:
    """MTH over the leaf inputs (RFC 9162 2.1.1)."""
    if not inputs:
        return _h(b"")
    if len(inputs) == 1:
        return _h(b"\x00" + inputs[0])
    k = 1
    while k * 2 < len(inputs):
        k *= 2
    return _h(b"\x01" + independent_root(inputs[:k]) + independent_root(inputs[k:]))


def independent_inclusion(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """The root an audit path leads to (RFC 9162 2.1.3.2), or b"" when it is malformed."""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return b""
        if fn % 2 == 1 or fn == sn:
            r = _h(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            r = _h(b"\x01" + r + p)
        fn, sn = fn // 2, sn // 2
    return r if sn == 0 else b""


def _b(text: str) -> bytes:
    return base64.b64decode(text)


# --- Building a log ---------------------------------------------------------------------------


def _append(db: Session, count: int, *, start: int = 0) -> list[bytes]:
    inputs = []
    for number in range(start, start + count):
        leaf = transparency.append_leaf(db, kind="test", data={"n": number}, now=NOW)
        inputs.append(leaf.data.encode())
    return inputs


@pytest.fixture
def statements(db: Session) -> Iterator[list[str]]:
    """The SQL statements the session runs while the test watches."""
    seen: list[str] = []
    connection = db.connection()

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(connection, "before_cursor_execute", count)
    yield seen
    event.remove(connection, "before_cursor_execute", count)


def test_the_stored_tree_is_the_rfcs_and_its_proofs_verify(db: Session) -> None:
    inputs = _append(db, 37)
    tree = merkle.MemoryTree([merkle.leaf_hash(entry) for entry in inputs])

    for size in (1, 2, 5, 16, 37):
        root = transparency.tree_root(db, size)
        assert root == independent_root(inputs[:size])
        for index in {0, size // 2, size - 1}:
            path = transparency.inclusion_proof(db, index=index, size=size)
            assert independent_inclusion(_h(b"\x00" + inputs[index]), index, size, path) == root
        for first in {1, min(3, size), size}:
            proof = transparency.consistency_proof(db, first=first, second=size)
            assert proof == tree.consistency(first, size)
            assert merkle.verify_consistency(
                first, size, independent_root(inputs[:first]), root, proof
            )


def test_appending_costs_a_few_statements_however_long_the_log(
    db: Session, statements: list[str]
) -> None:
    _append(db, 63)
    statements.clear()
    _append(db, 1, start=63)  # the 64th leaf completes six subtrees at once
    writes_at_most = len(statements)
    statements.clear()
    transparency.inclusion_proof(db, index=5, size=64)
    reads = len(statements)

    # Size, the left siblings (one query), the leaf and its nodes: never the whole tree.
    assert writes_at_most <= 6
    assert db.scalar(select(LogNode.hash).where(LogNode.level == 6)) is not None
    assert reads <= 2


def test_a_signed_tree_head_verifies_and_a_forged_one_does_not(
    db: Session, council_keys: CouncilKeys
) -> None:
    inputs = _append(db, 5)
    head = transparency.current_tree_head(db, council_keys, now=NOW)
    document = transparency.tree_head_document(head)
    again = transparency.current_tree_head(db, council_keys, now=NOW + dt.timedelta(hours=1))

    assert again.id == head.id  # nothing appended since: the same head
    assert document["tree_size"] == 5
    assert _b(document["root_hash"]) == independent_root(inputs)
    assert transparency.tree_head_verifies(council_keys, document)
    for field, value in (("tree_size", 6), ("root_hash", base64.b64encode(_h(b"x")).decode())):
        assert not transparency.tree_head_verifies(council_keys, {**document, field: value})


def test_an_altered_or_deleted_entry_is_detected(db: Session, council_keys: CouncilKeys) -> None:
    _append(db, 9)
    transparency.current_tree_head(db, council_keys, now=NOW)
    assert transparency.verify_log(db, council_keys) == []

    db.execute(update(LogLeaf).where(LogLeaf.index == 4).values(data='{"kind":"test","n":40}'))
    altered = transparency.verify_log(db, council_keys)
    db.execute(update(LogLeaf).where(LogLeaf.index == 4).values(data='{"kind":"test","n":4}'))
    db.execute(delete(LogLeaf).where(LogLeaf.index == 8))
    deleted = transparency.verify_log(db, council_keys)

    # The altered leaf first; the nodes above it and the signed head no longer match either.
    assert [p.where for p in altered][:1] == ["leaf 4"]
    assert altered[-1].reason == "the log no longer has the root it signed"
    assert [p.where for p in deleted][-1] == f"tree head {db.scalar(select(SignedTreeHead.id))}"


def _truncate_audit(db: Session, keep: int) -> None:
    db.execute(delete(AuditEvent).where(AuditEvent.id > keep))


def test_truncating_or_recomputing_the_audit_chain_is_caught_by_the_checkpoints(
    db: Session,
) -> None:
    user = make_user(db, role=Role.secretariat)
    for number in range(4):
        record_event(db, actor=user, action="test.step", object_type="t", object_id=number, now=NOW)
    checkpoint = transparency.checkpoint_audit(db, now=NOW)
    assert checkpoint is not None
    assert transparency.checkpoint_audit(db, now=NOW) is None  # nothing new since
    last = json.loads(checkpoint.data)["audit_event_id"]
    checkpoints = transparency.checkpoints_of(transparency.audit_checkpoints(db))
    assert verify_checkpoints(db, checkpoints) is None

    # Recomputed: the last event rewritten with a hash that chains correctly.
    row = db.get(AuditEvent, last)
    assert row is not None
    row.summary = {"rewritten": True}
    row.hash = compute_hash(
        prev_hash=row.prev_hash,
        occurred_at=row.occurred_at,
        actor_id=row.actor_id,
        actor_label=row.actor_label,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        summary=row.summary,
    )
    db.flush()
    assert verify_chain(db)[1] is None  # the chain alone cannot tell
    recomputed = verify_checkpoints(db, checkpoints)
    _truncate_audit(db, last - 1)
    assert verify_chain(db)[1] is None
    truncated = verify_checkpoints(db, checkpoints)

    assert recomputed is not None
    assert (recomputed.event_id, "recomputed" in recomputed.reason) == (last, True)
    assert truncated is not None
    assert (truncated.event_id, "truncated" in truncated.reason) == (last, True)


def test_registry_events_enter_the_log_with_public_fields_only(
    db: Session, council_keys: CouncilKeys, settings: Settings
) -> None:
    certificate = issue(db, council_keys, settings.storage_dir, decision_of(db, granted(db)).id)
    reason = {"es": "Motivo público", "en": "Public reason"}
    suspend_certificate(
        db, certificate=certificate, reason=reason, resolution="R-1", actor=None, now=ISSUED_AT
    )
    entries = transparency.certificate_leaves(db, certificate.number)
    data = [json.loads(leaf.data) for leaf in entries]
    kinds = [leaf.kind for leaf in db.scalars(select(LogLeaf).order_by(LogLeaf.index))]

    assert [d["event"] for d in data] == ["issued", "suspended"]
    assert set(data[1]) == {
        "kind",
        "registry_event_id",
        "event",
        "certificate",
        "occurred_at",
        "public_reason_sha256",
        "resolution",
    }
    assert data[1]["resolution"] == "R-1"
    assert (
        data[1]["public_reason_sha256"]
        == hashlib.sha256(
            json.dumps(reason, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
    )
    # Each registry event is followed by the audit chain's head.
    assert transparency.KIND_AUDIT_CHECKPOINT in kinds
    assert kinds.index(transparency.KIND_REGISTRY_EVENT) < len(kinds) - 1


# --- The published log --------------------------------------------------------------------------


def test_the_api_proofs_verify_with_hashlib_alone(
    client: TestClient, app: FastAPI, db: Session, council_keys: CouncilKeys, settings: Settings
) -> None:
    app.dependency_overrides[now_utc] = lambda: ISSUED_AT
    certificate = issue(db, council_keys, settings.storage_dir, decision_of(db, granted(db)).id)
    _append(db, 6)
    db.commit()
    saved = client.get("/transparency/sth").json()
    _append(db, 5, start=6)
    db.commit()

    sth = client.get("/transparency/sth").json()
    size = sth["tree_size"]
    leaves = client.get("/api/v1/transparency/leaves", params={"start": 0, "end": size}).json()
    inputs = [_b(leaf["leaf_input"]) for leaf in leaves["leaves"]]
    proofs = client.get(f"/api/v1/transparency/proof/certificate/{certificate.number}").json()
    one = client.get(
        "/api/v1/transparency/proof/inclusion", params={"leaf_index": 3, "tree_size": size}
    ).json()
    consistency = client.get(
        "/api/v1/transparency/proof/consistency",
        params={"first": saved["tree_size"], "second": size},
    ).json()
    history = client.get("/transparency/sth/history").json()["tree_heads"]

    root = _b(sth["root_hash"])
    assert len(inputs) == size
    assert independent_root(inputs) == root
    assert transparency.tree_head_verifies(council_keys, sth)
    assert [h["tree_size"] for h in history] == [size, saved["tree_size"]]
    assert proofs["tree_size"] == size
    for proof in [one, *proofs["proofs"]]:
        leaf = _h(b"\x00" + _b(proof["leaf"]["leaf_input"]))
        path = [_b(node) for node in proof["audit_path"]]
        assert independent_inclusion(leaf, proof["leaf_index"], size, path) == root
        assert independent_inclusion(_h(b"\x00x"), proof["leaf_index"], size, path) != root
    assert merkle.verify_consistency(
        saved["tree_size"],
        size,
        _b(saved["root_hash"]),
        root,
        [_b(node) for node in consistency["consistency"]],
    )


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/v1/transparency/proof/inclusion", {"leaf_index": 3, "tree_size": 3}, 422),
        ("/api/v1/transparency/proof/inclusion", {"leaf_index": 0, "tree_size": 9}, 422),
        ("/api/v1/transparency/proof/consistency", {"first": 5, "second": 3}, 422),
        ("/api/v1/transparency/leaves", {"start": 9}, 422),
        ("/api/v1/transparency/proof/certificate/MX-0", {}, 404),
    ],
)
def test_requests_outside_the_log_are_refused(
    client: TestClient,
    db: Session,
    path: str,
    params: dict[str, int],
    status: int,
) -> None:
    _append(db, 4)
    db.commit()
    assert client.get(path, params=params).status_code == status


def test_the_tree_head_is_cached_by_its_etag(
    client: TestClient, db: Session, council_keys: CouncilKeys
) -> None:
    _append(db, 2)
    db.commit()
    first = client.get("/transparency/sth")
    again = client.get("/transparency/sth", headers={"If-None-Match": first.headers["etag"]})
    assert first.status_code == 200
    assert again.status_code == 304


def test_an_adopted_guideline_version_enters_the_log(db: Session) -> None:
    ballot, people = _adoption_ballot(db)
    for user, _member in people[1:]:
        ballots.cast_position(
            db, actor=user, ballot=ballot, kind=PositionKind.yes, text="", now=NOW
        )
    resolution = ballots.close_ballot(db, actor=people[0], ballot=ballot, now=CLOSES)
    version = db.get(GuidelineVersion, ballot.subject_id)
    assert version is not None

    adopted = db.scalars(
        select(LogLeaf).where(LogLeaf.kind == transparency.KIND_GUIDELINE_ADOPTED)
    ).all()

    assert [json.loads(leaf.data) for leaf in adopted] == [
        {
            "kind": "guideline_adopted",
            "guideline": slug_of(db, version),
            "version": version.number,
            "resolution": resolution.number,
            "effective_on": "2027-01-01",
            "adopted_at": CLOSES.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        }
    ]
