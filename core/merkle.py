"""Merkle tree hashing as RFC 9162 (Certificate Transparency 2.0) defines it: tree heads,
inclusion and consistency proofs, and the algorithms that verify them.

A tree is read through a `NodeGetter`: `get(level, index)` is the hash of the complete subtree of
2**level leaves starting at leaf `index * 2**level` (level 0: the leaf hashes). Every subtree the
RFC's recursions meet is either such a complete subtree or a right edge made of at most
log2(n) of them, so a tree head or a proof reads O(log n) (a proof O(log² n)) stored nodes, and
appending a leaf writes O(1) nodes amortised (at most log2(n)).

`needed_nodes` runs a computation once with placeholder hashes to learn which nodes it reads,
so a caller backed by a database fetches them all in one query and runs it again for real.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TypeVar

NodeGetter = Callable[[int, int], bytes]
T = TypeVar("T")

EMPTY_ROOT = hashlib.sha256(b"").digest()
_PLACEHOLDER = bytes(32)


def leaf_hash(data: bytes) -> bytes:
    """The hash of one log entry: SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than `size` (size > 1), where RFC 9162 splits a tree."""
    return 1 << ((size - 1).bit_length() - 1)


def subtree_hash(get: NodeGetter, start: int, size: int) -> bytes:
    """MTH(D[start:start+size]) for a subtree the RFC's recursion reaches (start aligned)."""
    if size & (size - 1) == 0:  # complete: one stored node
        level = size.bit_length() - 1
        return get(level, start >> level)
    k = _split(size)
    return node_hash(get(k.bit_length() - 1, start // k), subtree_hash(get, start + k, size - k))


def root_hash(get: NodeGetter, size: int) -> bytes:
    """The tree head's root hash of the first `size` leaves."""
    if size == 0:
        return EMPTY_ROOT
    return subtree_hash(get, 0, size)


def inclusion_path(get: NodeGetter, index: int, size: int) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `size` leaves (RFC 9162 2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError("leaf index outside the tree")
    path: list[bytes] = []
    start = 0
    while size > 1:
        k = _split(size)
        if index < k:
            path.append(subtree_hash(get, start + k, size - k))
            size = k
        else:
            path.append(subtree_hash(get, start, k))
            start, index, size = start + k, index - k, size - k
    path.reverse()  # the recursion appends from the root down; the path runs leaf to root
    return path


def consistency_path(get: NodeGetter, first: int, second: int) -> list[bytes]:
    """The proof that the tree of `first` leaves is a prefix of the one of `second` (2.1.4.1)."""
    if not 0 <= first <= second:
        raise ValueError("tree sizes out of order")
    if first in (0, second):
        return []
    path: list[bytes] = []
    start, m, n, complete = 0, first, second, True
    while m != n:
        k = _split(n)
        if m <= k:
            path.append(subtree_hash(get, start + k, n - k))
            n = k
        else:
            path.append(subtree_hash(get, start, k))
            start, m, n, complete = start + k, m - k, n - k, False
    if not complete:
        path.append(subtree_hash(get, start, m))
    path.reverse()
    return path


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """Whether `path` proves leaf hash `leaf` at `index` in the tree of `size` with `root`
    (RFC 9162 2.1.3.2)."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> bool:
    """Whether `path` proves the tree of `first` leaves with `first_root` a prefix of the tree of
    `second` leaves with `second_root` (RFC 9162 2.1.4.2)."""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path
    if not path:
        return False
    nodes = list(path)
    if first & (first - 1) == 0:
        nodes.insert(0, first_root)
    return _consistency_roots(first, second, nodes) == (first_root, second_root, 0)


def _consistency_roots(first: int, second: int, nodes: list[bytes]) -> tuple[bytes, bytes, int]:
    """The two roots a consistency proof yields, and what is left of `sn` (0 when well formed)."""
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return fr, sr, -1
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr, sr, sn


def nodes_to_append(get: NodeGetter, index: int, leaf: bytes) -> list[tuple[int, int, bytes]]:
    """The nodes (level, index, hash) that appending leaf hash `leaf` at `index` completes:
    the leaf itself, then each parent whose right child it closes."""
    created = [(0, index, leaf)]
    level, position, current = 0, index, leaf
    while position & 1:
        current = node_hash(get(level, position - 1), current)
        level, position = level + 1, position >> 1
        created.append((level, position, current))
    return created


def needed_nodes(compute: Callable[[NodeGetter], object]) -> set[tuple[int, int]]:
    """The nodes `compute` reads: the proofs' shapes depend on sizes only, never on hashes."""
    seen: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        seen.add((level, index))
        return _PLACEHOLDER

    compute(record)
    return seen


class MemoryTree:
    """A Merkle tree held in memory: for tests and for a verifier recomputing a downloaded log."""

    def __init__(self, leaves: Sequence[bytes] = ()) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.size = 0
        for leaf in leaves:
            self.append_hash(leaf)

    def get(self, level: int, index: int) -> bytes:
        """A complete subtree's hash."""
        return self.nodes[(level, index)]

    def append_hash(self, leaf: bytes) -> None:
        """Append a leaf by its hash."""
        for level, index, value in nodes_to_append(self.get, self.size, leaf):
            self.nodes[(level, index)] = value
        self.size += 1

    def append(self, data: bytes) -> None:
        """Append a log entry."""
        self.append_hash(leaf_hash(data))

    def root(self, size: int | None = None) -> bytes:
        """The root hash of the first `size` leaves (all by default)."""
        return root_hash(self.get, self.size if size is None else size)

    def inclusion(self, index: int, size: int | None = None) -> list[bytes]:
        """An audit path."""
        return inclusion_path(self.get, index, self.size if size is None else size)

    def consistency(self, first: int, second: int | None = None) -> list[bytes]:
        """A consistency proof."""
        return consistency_path(self.get, first, self.size if second is None else second)


def reading(
    fetch: Callable[[set[tuple[int, int]]], dict[tuple[int, int], bytes]],
    compute: Callable[[NodeGetter], T],
) -> T:
    """Run `compute` over stored nodes, fetching every node it needs in one call of `fetch`."""
    nodes = fetch(needed_nodes(compute))
    return compute(lambda level, index: nodes[(level, index)])
