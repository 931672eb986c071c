"""The hash chain that makes each agreement's stream tamper-evident.

Every stored event carries ``prev_hash`` (the ``hash`` of the event before it in
the same stream; ``GENESIS`` for ``registered``) and its own ``hash``: the
SHA-256 hex digest of the canonical serialisation of its record, which is the
event as ``export`` writes it without ``seq`` (assigned by the store at insert),
``hash`` itself and ``corrected_by`` (known only later).

Canonical serialisation: JSON with keys sorted, no insignificant white space
(separators ``,`` and ``:``), non-ASCII characters written as themselves,
encoded as UTF-8. ``recorded_at`` is ISO-8601 UTC with microseconds and ``Z``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64
UNHASHED_KEYS = frozenset({"seq", "hash", "corrected_by"})


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """The canonical serialisation of a record (see module docstring)."""
    return json.dumps(
        {k: v for k, v in record.items() if k not in UNHASHED_KEYS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 over the canonical serialisation of ``record``."""
    return hashlib.sha256(canonical_bytes(record)).hexdigest()
