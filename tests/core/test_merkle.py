"""RFC 9162 Merkle trees: every proof verifies, any wrong leaf, hash or size fails, and the tree
agrees with the RFC's definition written out independently here (hashlib only)."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from core import merkle

# Distinct entries: two equal entries side by side have interchangeable proofs.
entries = st.lists(st.binary(max_size=12), min_size=1, max_size=70, unique=True)


def _largest_power_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(data: list[bytes]) -> bytes:
    """MTH as RFC 9162 2.1.1 writes it, recursively over the entries themselves."""
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = _largest_power_below(len(data))
    return hashlib.sha256(b"\x01" + mth(data[:k]) + mth(data[k:])).digest()


def path(m: int, data: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) as RFC 9162 2.1.3.1 writes it."""
    if len(data) == 1:
        return []
    k = _largest_power_below(len(data))
    if m < k:
        return [*path(m, data[:k]), mth(data[k:])]
    return [*path(m - k, data[k:]), mth(data[:k])]


def subproof(m: int, data: list[bytes], complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) as RFC 9162 2.1.4.1 writes it."""
    if m == len(data):
        return [] if complete else [mth(data)]
    k = _largest_power_below(len(data))
    if m <= k:
        return [*subproof(m, data[:k], complete), mth(data[k:])]
    return [*subproof(m - k, data[k:], False), mth(data[:k])]


def test_known_roots() -> None:
    # The empty tree and a one-entry tree, as RFC 9162 defines them.
    assert merkle.MemoryTree().root().hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert merkle.MemoryTree([merkle.leaf_hash(b"")]).root() == hashlib.sha256(b"\x00").digest()


@given(entries)
def test_roots_and_proofs_are_the_rfcs(data: list[bytes]) -> None:
    tree = merkle.MemoryTree()
    for n, entry in enumerate(data, start=1):
        tree.append(entry)
        assert tree.root() == mth(data[:n])
    n = len(data)
    for m in range(n):
        assert tree.inclusion(m) == path(m, data)
    for m in range(1, n + 1):
        assert tree.consistency(m) == subproof(m, data, True)


@given(entries, st.data())
def test_every_inclusion_proof_verifies_and_a_wrong_leaf_fails(
    data: list[bytes], draw: st.DataObject
) -> None:
    tree = merkle.MemoryTree()
    for entry in data:
        tree.append(entry)
    size = draw.draw(st.integers(1, len(data)))
    index = draw.draw(st.integers(0, size - 1))
    root, proof = tree.root(size), tree.inclusion(index, size)
    leaf = merkle.leaf_hash(data[index])

    assert merkle.verify_inclusion(leaf, index, size, proof, root)
    wrong = merkle.leaf_hash(data[index] + b"!")
    assert not merkle.verify_inclusion(wrong, index, size, proof, root)
    assert not merkle.verify_inclusion(leaf, index, size, proof, hashlib.sha256(root).digest())
    if size > 1:
        assert not merkle.verify_inclusion(leaf, (index + 1) % size, size, proof, root)
        altered = list(proof)
        spot = draw.draw(st.integers(0, len(altered) - 1))
        altered[spot] = hashlib.sha256(altered[spot]).digest()
        assert not merkle.verify_inclusion(leaf, index, size, altered, root)
        assert not merkle.verify_inclusion(leaf, index, size, proof[:-1], root)
    assert not merkle.verify_inclusion(leaf, index, size, [*proof, root], root)
    assert not merkle.verify_inclusion(leaf, size, size, proof, root)


@given(entries, st.data())
def test_every_consistency_proof_verifies_and_an_altered_history_fails(
    data: list[bytes], draw: st.DataObject
) -> None:
    tree = merkle.MemoryTree()
    for entry in data:
        tree.append(entry)
    second = draw.draw(st.integers(1, len(data)))
    first = draw.draw(st.integers(1, second))
    proof = tree.consistency(first, second)
    first_root, second_root = tree.root(first), tree.root(second)

    assert merkle.verify_consistency(first, second, first_root, second_root, proof)
    # A first tree whose entries were altered afterwards is not a prefix of the second.
    rewritten = list(data[:first])
    spot = draw.draw(st.integers(0, first - 1))
    rewritten[spot] += b"!"
    assert not merkle.verify_consistency(first, second, mth(rewritten), second_root, proof)
    assert not merkle.verify_consistency(
        first, second, first_root, hashlib.sha256(second_root).digest(), proof
    )
    if proof:
        altered = list(proof)
        at = draw.draw(st.integers(0, len(altered) - 1))
        altered[at] = hashlib.sha256(altered[at]).digest()
        assert not merkle.verify_consistency(first, second, first_root, second_root, altered)
    if first < second:
        assert not merkle.verify_consistency(first, second, first_root, second_root, [])
        assert not merkle.verify_consistency(second, first, second_root, first_root, proof)


def test_a_proof_reads_few_stored_nodes_of_a_large_tree() -> None:
    tree = merkle.MemoryTree()
    for index in range(100_000):
        tree.append_hash(hashlib.sha256(index.to_bytes(4, "big")).digest())
    read = merkle.needed_nodes(lambda get: merkle.inclusion_path(get, 31_337, 100_000))
    consistency = merkle.needed_nodes(lambda get: merkle.consistency_path(get, 77_777, 100_000))
    root = merkle.needed_nodes(lambda get: merkle.root_hash(get, 100_000))

    assert len(read) <= 17 * 17
    assert len(consistency) <= 17 * 17
    assert len(root) <= 17
    proof = merkle.reading(
        lambda wanted: {key: tree.nodes[key] for key in wanted},
        lambda get: merkle.inclusion_path(get, 31_337, 100_000),
    )
    leaf = hashlib.sha256((31_337).to_bytes(4, "big")).digest()
    assert merkle.verify_inclusion(leaf, 31_337, 100_000, proof, tree.root())
