"""The projection's output is pinned to its version.

Read models written by another ``PROJECTION_VERSION`` are rebuilt on the next
catch-up; a change to what the projection produces without a bump would leave
stale rows in every existing ledger. This test fingerprints the seed case's
projection, recorded at a fixed instant and evaluated at a fixed instant: if
the fingerprint changes, bump ``PROJECTION_VERSION`` and add the new one here.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from agreement_ledger.ledger.domain import Agreement
from agreement_ledger.ledger.vocabulary import read_envelope
from agreement_ledger.projections.project import project
from agreement_ledger.projections.version import PROJECTION_VERSION
from tests.conftest import example_lines

RECORDED = datetime(2015, 1, 5, 9, 0, tzinfo=UTC)
EVALUATED = datetime(2026, 1, 1, tzinfo=UTC)

FINGERPRINTS = {
    3: "7489185c35f2b5797430f91b5807e31f042cce6a009b9375000256854ae0f585",
    4: "c00fe6da3be4bed526c666eea0ff40749bc572d56f6000f4cfea087170bdc872",
    5: "35a87caf2c5ab2641f6ff0d974977253b1f1affca65cc6a512277191fd0f12b2",
    # 6: the same projection; the timeline's rows are laid out per agreement (0004).
    6: "35a87caf2c5ab2641f6ff0d974977253b1f1affca65cc6a512277191fd0f12b2",
}


def seed_projection_fingerprint() -> str:
    lines = example_lines()
    agreement = Agreement.register(read_envelope(lines[0]), recorded_by="clerk", now=RECORDED)
    for line in lines[1:]:
        agreement.record(read_envelope(line), recorded_by="clerk", now=RECORDED)
    projection = project(agreement.collect_events(), as_of=EVALUATED)
    assert projection is not None
    document = {
        "show": projection.show,
        "flags": projection.flag_rows,
        "timeline": projection.timeline,
        "changes_at": projection.changes_at.isoformat() if projection.changes_at else None,
    }
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_seed_projection_matches_the_fingerprint_of_its_version():
    assert PROJECTION_VERSION in FINGERPRINTS, (
        f"add the fingerprint of projection version {PROJECTION_VERSION}: "
        f"{seed_projection_fingerprint()}"
    )
    assert seed_projection_fingerprint() == FINGERPRINTS[PROJECTION_VERSION], (
        "the projection's output changed: bump PROJECTION_VERSION and record "
        f"{seed_projection_fingerprint()} for it"
    )
