"""A Merkle tree over every event's hash, in recording order (RFC 6962, section 2.1).

The leaves are the events' hashes (32 bytes each, the SHA-256 of their canonical
record) in ``seq`` order. As in RFC 6962 (and RFC 9162, section 2.1):

- a leaf's hash is ``SHA-256(0x00 || leaf)``, an inner node's
  ``SHA-256(0x01 || left || right)``;
- a tree of ``n > 1`` leaves splits at ``k``, the largest power of two below
  ``n``: the first ``k`` leaves on the left, the rest on the right;
- the root of the empty tree is ``SHA-256()`` of nothing.

An inclusion proof (audit path) for leaf ``m`` of a tree of ``n`` is the list of
sibling hashes from the leaf up to the root; ``root_from_path`` checks it with
the algorithm of RFC 9162, section 2.1.3.2. ``docs/proofs.md`` states the format
for verifiers in other languages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n > 1``)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of ``leaves``."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = [leaf_hash(leaf) for leaf in leaves]
    return _root_of_hashes(level)


def _root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(_root_of_hashes(hashes[:k]), _root_of_hashes(hashes[k:]))


def audit_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of ``leaves`` (RFC 6962, 2.1.1)."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is not in a tree of {len(leaves)}")
    return _path(index, [leaf_hash(leaf) for leaf in leaves])


def _path(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if index < k:
        return [*_path(index, hashes[:k]), _root_of_hashes(hashes[k:])]
    return [*_path(index - k, hashes[k:]), _root_of_hashes(hashes[:k])]


def root_from_path(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root an inclusion proof leads to, or ``None`` when it cannot be a proof.

    RFC 9162, section 2.1.3.2: walk up from the leaf, taking each sibling on the
    left or the right as the leaf's index within the tree says.
    """
    if not 0 <= index < size:
        return None
    fn, sn = index, size - 1
    current = leaf_hash(leaf)
    for sibling in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            current = node_hash(sibling, current)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            current = node_hash(current, sibling)
        fn >>= 1
        sn >>= 1
    return current if sn == 0 else None
