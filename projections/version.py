"""Which projection code wrote the read models, and where that is tracked.

Kept apart from the table definitions so that the lean read path can check it
without loading SQLAlchemy.
"""

PROJECTION_VERSION = 6
"""Bump whenever projected rows change shape or meaning: stored read models written
by another version are rebuilt on the next catch-up (so an upgrade never leaves
drift behind). 2: timeline entries name the zone their date was read in.
3: ``show`` lists notifications and the state of each required notification.
4: treaty practice of the contract's version 2: succession, provisional application,
statements, consent steps and instruments per party; notifications say what they are
about; date fields read in their event's zone. 5: every notice of termination or
withdrawal (``notices``), and the last day of each required notification (``deadline``),
for the compliance calendar (``ledger due``). 6: the timeline stored as one row per
agreement (migration 0004). Migration 0005 stopped storing the timeline at all; the rows
of the other read models did not change, so the version did not either."""

TRACKING_NAME = "read_models"
"""The ``read_tracking`` row holding the position of the newest event projected."""
VERSION_NAME = "projection_version"
"""The ``read_tracking`` row holding the ``PROJECTION_VERSION`` that wrote the rows."""
