"""The council's transparency log: an append-only Merkle tree (RFC 9162) of registry events,
adopted guideline versions and checkpoints of the audit chain, with signed tree heads.

Tree heads are signed lazily: appending only adds leaves (in the caller's transaction, O(log n)
rows), and a head is signed when someone asks for the current one (`current_tree_head`: the
/transparency/sth page, `council transparency` commands, the daily checkpoint) and the log has
grown since the last. A head therefore never names leaves of a transaction that rolled back.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text, and_, func, or_, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import merkle
from core.audit import AuditEvent
from core.db import Base, UTCDateTime, side_session
from core.errors import N_, Invalid, NotFound
from core.signing import CouncilKeys, sign_bytes, verify_bytes

# What a signed tree head's signature covers names the log, so it means nothing elsewhere.
STH_TYPE = "council-transparency-sth/v1"

KIND_REGISTRY_EVENT = "registry_event"
KIND_GUIDELINE_ADOPTED = "guideline_adopted"
KIND_AUDIT_CHECKPOINT = "audit_checkpoint"


class LogLeaf(Base):
    """One entry of the transparency log: the exact bytes hashed, and what they are about."""

    __tablename__ = "log_leaves"

    index: Mapped[int] = mapped_column("leaf_index", Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    # Set for a certificate's events, so its inclusion proofs are found by number.
    certificate_number: Mapped[str | None] = mapped_column(String(40), index=True)
    # Canonical JSON (sorted keys, no spaces, UTF-8): the leaf input, byte for byte.
    data: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[str] = mapped_column(String(64))
    appended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LogNode(Base):
    """The hash of a complete subtree of 2**level leaves (level >= 1), kept so that a tree head
    or a proof reads a few rows instead of every leaf."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


class SignedTreeHead(Base):
    """The council's signed statement of the log's size and root hash at a moment."""

    __tablename__ = "signed_tree_heads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(Integer, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    # Milliseconds since the epoch, as signed (Certificate Transparency's unit).
    timestamp: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[str] = mapped_column(String(100))
    signature: Mapped[str] = mapped_column(String(200))  # base64


def canonical(data: dict[str, Any]) -> bytes:
    """The canonical JSON of a leaf or a tree head: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64(data: bytes) -> str:
    """Standard base64, as the log publishes hashes and signatures."""
    return base64.b64encode(data).decode("ascii")


def _lock_log(session: Session) -> None:
    # Two transactions appending at once would both take the same index.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(4242013)"))


def log_size(session: Session) -> int:
    """How many leaves the log holds."""
    last = session.scalar(select(func.max(LogLeaf.index)))
    return 0 if last is None else last + 1


def _fetch(session: Session, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored hashes of the complete subtrees named (level 0: the leaves)."""
    found: dict[tuple[int, int], bytes] = {}
    leaves = [index for level, index in wanted if level == 0]
    inner = [key for key in wanted if key[0] > 0]
    if leaves:
        for index, value in session.execute(
            select(LogLeaf.index, LogLeaf.leaf_hash).where(LogLeaf.index.in_(leaves))
        ):
            found[(0, index)] = bytes.fromhex(value)
    if inner:
        levels: dict[int, list[int]] = {}
        for level, position in inner:
            levels.setdefault(level, []).append(position)
        # One equality and one IN list per level: both databases walk the primary key for it
        # (a row-value IN makes SQLite scan the table).
        for level, position, value in session.execute(
            select(LogNode.level, LogNode.position, LogNode.hash).where(
                or_(
                    *(
                        and_(LogNode.level == level, LogNode.position.in_(positions))
                        for level, positions in levels.items()
                    )
                )
            )
        ):
            found[(level, position)] = bytes.fromhex(value)
    return found


def _reading(session: Session, compute: Any) -> Any:
    return merkle.reading(lambda wanted: _fetch(session, wanted), compute)


def append_leaf(
    session: Session,
    *,
    kind: str,
    data: dict[str, Any],
    now: dt.datetime,
    certificate_number: str | None = None,
) -> LogLeaf:
    """Append an entry to the log in the caller's transaction (O(log n) rows read and written)."""
    _lock_log(session)
    session.flush()
    index = log_size(session)
    entry = canonical({"kind": kind, **data})
    hashed = merkle.leaf_hash(entry)
    created: list[tuple[int, int, bytes]] = _reading(
        session, lambda get: merkle.nodes_to_append(get, index, hashed)
    )
    leaf = LogLeaf(
        index=index,
        kind=kind,
        certificate_number=certificate_number,
        data=entry.decode(),
        leaf_hash=hashed.hex(),
        appended_at=now,
    )
    session.add(leaf)
    session.add_all(
        LogNode(level=level, position=position, hash=value.hex())
        for level, position, value in created
        if level > 0
    )
    session.flush()
    return leaf


def checkpoint_audit(session: Session, *, now: dt.datetime) -> LogLeaf | None:
    """Append the audit chain's head (latest event id and hash) to the log, unless the last
    checkpoint already names it; None when there is nothing new to record."""
    session.flush()
    head = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if head is None:
        return None
    last = session.scalar(
        select(LogLeaf.data)
        .where(LogLeaf.kind == KIND_AUDIT_CHECKPOINT)
        .order_by(LogLeaf.index.desc())
        .limit(1)
    )
    data = {"audit_event_id": head.id, "audit_hash": head.hash}
    if last is not None and json.loads(last).get("audit_event_id") == head.id:
        return None
    return append_leaf(session, kind=KIND_AUDIT_CHECKPOINT, data=data, now=now)


def audit_checkpoints(session: Session) -> list[tuple[int, int, str]]:
    """Every checkpoint in the log: (leaf index, audit event id, audit hash), oldest first."""
    rows = session.execute(
        select(LogLeaf.index, LogLeaf.data)
        .where(LogLeaf.kind == KIND_AUDIT_CHECKPOINT)
        .order_by(LogLeaf.index)
    )
    found = []
    for index, raw in rows:
        data = json.loads(raw)
        found.append((index, int(data["audit_event_id"]), str(data["audit_hash"])))
    return found


# --- Tree heads and proofs ----------------------------------------------------------------------


def tree_root(session: Session, size: int) -> bytes:
    """The root hash of the log's first `size` leaves."""
    root: bytes = _reading(session, lambda get: merkle.root_hash(get, size))
    return root


def inclusion_proof(session: Session, *, index: int, size: int) -> list[bytes]:
    """The audit path of leaf `index` in the tree of the first `size` leaves."""
    path: list[bytes] = _reading(session, lambda get: merkle.inclusion_path(get, index, size))
    return path


def consistency_proof(session: Session, *, first: int, second: int) -> list[bytes]:
    """The proof that the tree of `first` leaves is a prefix of the tree of `second`."""
    path: list[bytes] = _reading(session, lambda get: merkle.consistency_path(get, first, second))
    return path


def tree_head_message(*, tree_size: int, root_hash: bytes, timestamp: int) -> bytes:
    """The bytes a tree head's signature covers (canonical JSON, documented in the README)."""
    return canonical(
        {
            "root_hash": b64(root_hash),
            "timestamp": timestamp,
            "tree_size": tree_size,
            "type": STH_TYPE,
        }
    )


def sign_tree_head(session: Session, keys: CouncilKeys, *, now: dt.datetime) -> SignedTreeHead:
    """Sign and store a head of the log as it stands."""
    size = log_size(session)
    root = tree_root(session, size)
    timestamp = int(now.timestamp() * 1000)
    signature = sign_bytes(
        keys, tree_head_message(tree_size=size, root_hash=root, timestamp=timestamp)
    )
    head = SignedTreeHead(
        tree_size=size,
        root_hash=root.hex(),
        timestamp=timestamp,
        key_id=keys.kid,
        signature=b64(signature),
    )
    session.add(head)
    session.flush()
    return head


def latest_tree_head(session: Session) -> SignedTreeHead | None:
    """The last head signed."""
    return session.scalar(select(SignedTreeHead).order_by(SignedTreeHead.id.desc()).limit(1))


def current_tree_head(session: Session, keys: CouncilKeys, *, now: dt.datetime) -> SignedTreeHead:
    """The head of the log as it stands, signing a new one (in a short transaction of its own,
    so a reading request can ask) when the log has grown since the last."""
    latest = latest_tree_head(session)
    size = log_size(session)
    if latest is not None and latest.tree_size == size:
        return latest
    with side_session(session) as writer:
        head = sign_tree_head(writer, keys, now=now)
        writer.expunge(head)  # before the commit, which would expire what the caller reads
        writer.commit()
    return head


def tree_head_document(head: SignedTreeHead) -> dict[str, Any]:
    """A signed tree head as published (/transparency/sth)."""
    return {
        "tree_size": head.tree_size,
        "root_hash": b64(bytes.fromhex(head.root_hash)),
        "timestamp": head.timestamp,
        "signature": head.signature,
        "key_id": head.key_id,
    }


def tree_head_history(session: Session, *, limit: int = 1000) -> list[SignedTreeHead]:
    """The heads signed, newest first."""
    return list(
        session.scalars(select(SignedTreeHead).order_by(SignedTreeHead.id.desc()).limit(limit))
    )


def tree_head_verifies(keys: CouncilKeys, document: dict[str, Any]) -> bool:
    """Whether a published tree head carries a valid signature by one of the council's keys."""
    try:
        message = tree_head_message(
            tree_size=int(document["tree_size"]),
            root_hash=base64.b64decode(document["root_hash"], validate=True),
            timestamp=int(document["timestamp"]),
        )
        signature = base64.b64decode(document["signature"], validate=True)
        kid = str(document["key_id"])
    except (KeyError, TypeError, ValueError):
        return False
    return verify_bytes(keys, message, signature, kid=kid)


def leaves(session: Session, *, start: int, end: int) -> list[LogLeaf]:
    """The leaves from `start` up to, not including, `end`."""
    return list(
        session.scalars(
            select(LogLeaf)
            .where(LogLeaf.index >= start, LogLeaf.index < end)
            .order_by(LogLeaf.index)
        )
    )


def certificate_leaves(session: Session, number: str) -> list[LogLeaf]:
    """The leaves recording a certificate's events, oldest first."""
    return list(
        session.scalars(
            select(LogLeaf).where(LogLeaf.certificate_number == number).order_by(LogLeaf.index)
        )
    )


def leaf_document(leaf: LogLeaf) -> dict[str, Any]:
    """A leaf as the API publishes it: the leaf input (base64) from which anyone recomputes its
    hash, and the same data parsed."""
    return {
        "index": leaf.index,
        "kind": leaf.kind,
        "data": json.loads(leaf.data),
        "leaf_input": b64(leaf.data.encode()),
        "leaf_hash": b64(bytes.fromhex(leaf.leaf_hash)),
        "appended_at": leaf.appended_at.isoformat(),
    }


# --- Checking the log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LogProblem:
    """Something the stored log does not agree with: a leaf, a node or a signed head."""

    where: str
    reason: str


def verify_log(session: Session, keys: CouncilKeys | None = None) -> list[LogProblem]:
    """Recompute the whole log from its leaf inputs: every leaf hash, every stored node, every
    signed head's root (and signature, given the keys). Linear; for operators, not requests."""
    tree = merkle.MemoryTree()
    problems: list[LogProblem] = []
    rows = session.scalars(
        select(LogLeaf).order_by(LogLeaf.index).execution_options(yield_per=1000)
    )
    for expected, leaf in enumerate(rows):
        if leaf.index != expected:
            return [*problems, LogProblem(f"leaf {expected}", "missing")]
        hashed = merkle.leaf_hash(leaf.data.encode())
        if hashed.hex() != leaf.leaf_hash:
            problems.append(LogProblem(f"leaf {leaf.index}", "data does not match its hash"))
        tree.append_hash(hashed)
    for node in session.scalars(select(LogNode).execution_options(yield_per=1000)):
        if tree.nodes.get((node.level, node.position), b"").hex() != node.hash:
            problems.append(
                LogProblem(f"node {node.level}/{node.position}", "does not match the leaves")
            )
    for head in session.scalars(select(SignedTreeHead).order_by(SignedTreeHead.id)):
        if head.tree_size > tree.size or tree.root(head.tree_size).hex() != head.root_hash:
            problems.append(
                LogProblem(f"tree head {head.id}", "the log no longer has the root it signed")
            )
        if keys is not None and not tree_head_verifies(keys, tree_head_document(head)):
            problems.append(LogProblem(f"tree head {head.id}", "signature does not verify"))
    return problems


def checkpoints_of(rows: Iterable[tuple[int, int, str]]) -> list[tuple[int, str]]:
    """(audit event id, hash) pairs from `audit_checkpoints` rows."""
    return [(event_id, event_hash) for _, event_id, event_hash in rows]


def event_fingerprint(value: dict[str, str]) -> str:
    """The SHA-256 of a public reason as the log records it (canonical JSON, hex)."""
    return hashlib.sha256(canonical(dict(value))).hexdigest()


def log_registry_event(
    session: Session,
    *,
    event_id: int,
    kind: str,
    certificate_number: str | None,
    public_reason: dict[str, str],
    resolution: str | None,
    public: bool,
    now: dt.datetime,
) -> LogLeaf | None:
    """Append a registry event to the log (its number, kind, time, the SHA-256 of its public
    reason, its resolution), then the audit chain's head; a number never issued (`public`
    false) is not the public's, and only the checkpoint is appended."""
    leaf = None
    if public:
        leaf = append_leaf(
            session,
            kind=KIND_REGISTRY_EVENT,
            data={
                "registry_event_id": event_id,
                "event": kind,
                "certificate": certificate_number,
                "occurred_at": now.astimezone(dt.UTC).isoformat(timespec="microseconds"),
                "public_reason_sha256": event_fingerprint(public_reason),
                "resolution": resolution,
            },
            certificate_number=certificate_number,
            now=now,
        )
    checkpoint_audit(session, now=now)
    return leaf


# --- Proofs as the API gives them ---------------------------------------------------------------

MAX_LEAVES = 1000  # per call of the leaves API

BAD_RANGE = N_("The log holds %(size)s entries: ask for entries within it.")
BAD_TREE_SIZE = N_("The tree size must be between 1 and %(size)s, the log's size.")
BAD_LEAF = N_("The entry must be in the tree: its index below the tree size.")
BAD_SIZES = N_("The first tree size must not be larger than the second.")


@dataclass(frozen=True)
class InclusionProof:
    """An audit path from a leaf to the root of a tree of a given size."""

    leaf: LogLeaf
    tree_size: int
    root_hash: bytes
    path: list[bytes]


def _tree_size(session: Session, requested: int | None) -> int:
    size = log_size(session)
    if requested is None:
        requested = size
    if not 1 <= requested <= size:
        raise Invalid(BAD_TREE_SIZE, fields={"tree_size": BAD_TREE_SIZE}, size=size)
    return requested


def leaf_range(session: Session, *, start: int, end: int | None) -> list[LogLeaf]:
    """At most MAX_LEAVES leaves from `start` (the API's page of the log)."""
    size = log_size(session)
    stop = min(size, start + MAX_LEAVES, size if end is None else end)
    if start > size or stop < start:
        raise Invalid(BAD_RANGE, fields={"start": BAD_RANGE}, size=size)
    return leaves(session, start=start, end=stop)


def prove_inclusion(
    session: Session, *, leaf_index: int, tree_size: int | None = None
) -> InclusionProof:
    """The inclusion proof of one leaf in the tree of `tree_size` leaves (the whole log)."""
    size = _tree_size(session, tree_size)
    leaf = session.get(LogLeaf, leaf_index)
    if leaf is None or leaf_index >= size:
        raise Invalid(BAD_LEAF, fields={"leaf_index": BAD_LEAF})
    return InclusionProof(
        leaf=leaf,
        tree_size=size,
        root_hash=tree_root(session, size),
        path=inclusion_proof(session, index=leaf_index, size=size),
    )


def prove_certificate(
    session: Session, *, number: str, tree_size: int | None = None
) -> list[InclusionProof]:
    """The inclusion proofs of every event of a certificate in the tree of `tree_size` leaves."""
    size = _tree_size(session, tree_size) if log_size(session) else 0
    found = [leaf for leaf in certificate_leaves(session, number) if leaf.index < size]
    if not found:
        raise NotFound()
    root = tree_root(session, size)
    return [
        InclusionProof(
            leaf=leaf,
            tree_size=size,
            root_hash=root,
            path=inclusion_proof(session, index=leaf.index, size=size),
        )
        for leaf in found
    ]


def prove_consistency(session: Session, *, first: int, second: int | None = None) -> list[bytes]:
    """The consistency proof between two tree sizes (the second: the whole log)."""
    size = _tree_size(session, second)
    if not 0 <= first <= size:
        raise Invalid(BAD_SIZES, fields={"first": BAD_SIZES})
    return consistency_proof(session, first=first, second=size)


def check_log(
    session: Session,
    keys: CouncilKeys,
    *,
    head: SignedTreeHead,
    earlier: dict[str, Any] | None = None,
    certificate: str | None = None,
) -> list[tuple[bool, str]]:
    """What `council transparency verify` checks, each a (passed, what) pair: the head's
    signature and root, that it extends an earlier head, a certificate's inclusion."""
    document = tree_head_document(head)
    root = bytes.fromhex(head.root_hash)
    results = [
        (tree_head_verifies(keys, document), f"tree head of size {head.tree_size} is signed"),
        (tree_root(session, head.tree_size) == root, "the stored log has the head's root"),
    ]
    problems = verify_log(session, keys)
    results.extend((False, f"{problem.where}: {problem.reason}") for problem in problems)
    if not problems:
        results.append((True, "every entry recomputes to the roots of every head signed"))
    if earlier is not None:
        results.append(_extends(session, keys, document, earlier))
    if certificate is not None:
        results.extend(_included(session, head, certificate))
    return results


def _extends(
    session: Session, keys: CouncilKeys, document: dict[str, Any], earlier: dict[str, Any]
) -> tuple[bool, str]:
    if not tree_head_verifies(keys, earlier):
        return False, "the earlier tree head's signature does not verify"
    first, second = int(earlier["tree_size"]), int(document["tree_size"])
    if first > second:
        return False, f"the log shrank from {first} to {second} entries"
    path = consistency_proof(session, first=first, second=second)
    consistent = merkle.verify_consistency(
        first,
        second,
        base64.b64decode(earlier["root_hash"]),
        base64.b64decode(document["root_hash"]),
        path,
    )
    return consistent, f"the head of size {second} extends the earlier one of size {first}"


def _included(session: Session, head: SignedTreeHead, number: str) -> list[tuple[bool, str]]:
    found = [leaf for leaf in certificate_leaves(session, number) if leaf.index < head.tree_size]
    if not found:
        return [(False, f"certificate {number} has no event in the log")]
    root = bytes.fromhex(head.root_hash)
    results = []
    for leaf in found:
        hashed = merkle.leaf_hash(leaf.data.encode())
        path = inclusion_proof(session, index=leaf.index, size=head.tree_size)
        event = json.loads(leaf.data).get("event")
        results.append(
            (
                merkle.verify_inclusion(hashed, leaf.index, head.tree_size, path, root),
                f"certificate {number}: event '{event}' (entry {leaf.index}) is in the log",
            )
        )
    return results
