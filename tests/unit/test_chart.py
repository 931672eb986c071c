"""The picture of an agreement's life: a proportional axis with breaks, spans by
precision, zones on the axis, each party's periods and the changes fixed in advance."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from agreement_ledger.ledger.worldtime import as_utc_text, parse_occurred
from agreement_ledger.projections.chart import (
    AGREEMENT_LANE,
    BREAK_GLYPH,
    PERIOD_GLYPHS,
    TimeAxis,
    axis_line,
    columns,
    period_track,
    picture,
    track,
)


def entry(
    event_id: str,
    occurred: str,
    zone: str | None = None,
    party: str | None = None,
    kind: str = "noted",
) -> dict:
    interval = parse_occurred(occurred, zone)
    return {
        "id": event_id,
        "type": kind,
        "occurred": occurred,
        "precision": interval.precision.value,
        "start": as_utc_text(interval.start),
        "end": as_utc_text(interval.end),
        "party": party,
        "flags": [],
        "retracted": False,
    }


def layout(timeline: list[dict], parties: list[str], zone: str):
    """The axis, lanes and events of a picture of parties with no steps of their own."""
    found = picture({"parties": [{"code": c} for c in parties], "tz": zone}, timeline)
    return found.axis, found.lanes, found.marks


def at(text: str) -> datetime:
    return parse_occurred(text, "UTC").start


def test_each_precision_is_a_span_of_its_length_and_a_time_is_a_point():
    timeline = [
        entry("year", "2014"),
        entry("month", "2014-12"),
        entry("day", "2014-12-29"),
        entry("minute", "2014-12-29T10:00"),
    ]
    _axis, _lanes, marks = layout(timeline, [], "UTC")
    widths = {m.id: m.x1 - m.x0 for m in marks}
    assert widths["year"] > widths["month"] > widths["day"] > widths["minute"] == 0
    assert {m.id for m in marks if m.point} == {"minute"}
    year = next(m for m in marks if m.id == "year")
    assert year.x0 == min(m.x0 for m in marks) and year.x1 == max(m.x1 for m in marks)


def test_nested_spans_nest_on_the_axis():
    timeline = [entry("month", "2014-12"), entry("day", "2014-12-29")]
    _axis, _lanes, marks = layout(timeline, [], "UTC")
    month, day = marks
    assert month.x0 <= day.x0 < day.x1 <= month.x1


def test_within_a_stretch_equal_times_get_equal_widths():
    axis = TimeAxis([at("2014-12-20"), at("2014-12-21"), at("2014-12-23")], "UTC")
    assert axis.breaks == []
    first, second, third = (axis.x(at(d)) for d in ("2014-12-20", "2014-12-21", "2014-12-23"))
    assert (first, third) == (0.0, 1.0)
    assert third - second == pytest.approx(2 * (second - first))


def test_long_empty_stretches_become_labelled_breaks_and_the_busy_years_keep_their_room():
    """Open Skies: signed 1992, in force 2002, left 2020 — 28 years, three moments."""
    days = ["1992-03-24", "1993-12-03", "2001-11-02", "2002-01-01", "2020-05-22", "2020-11-22"]
    axis = TimeAxis([at(d) for d in days], "UTC")
    assert [b.words for b in axis.breaks] == ["20 months", "8 years", "18 years"]
    xs = [axis.x(at(d)) for d in days]
    assert xs == sorted(set(xs)) and 0.0 <= xs[0] < 0.05 and 0.95 < xs[-1] <= 1.0
    # Six months of 2020 get far more room than the 18 years before them.
    assert xs[5] - xs[4] > 3 * (xs[4] - xs[3])
    line = axis_line(axis, 60)
    assert len(line) == 60 and line.count(BREAK_GLYPH) == 3 and "2020" in line


def test_a_single_moment_and_no_moment_do_not_divide_by_zero():
    assert TimeAxis([], "UTC").ticks() == []
    lone = TimeAxis([at("2014-12-29")], "UTC")
    assert lone.x(at("2014-12-29")) == 0.5 and lone.ticks() == [(0.5, "2014-12-29")]


def test_tick_labels_are_dates_in_the_agreements_zone():
    # The first moment, 05:00 UTC on 23 December, is still the 22nd in Honolulu.
    moments = [parse_occurred("2014-12-23", "America/New_York").start, at("2014-12-27")]
    assert TimeAxis(moments, "Pacific/Honolulu").label(moments[0]) == "2014-12-22"
    assert TimeAxis(moments, "Asia/Seoul").label(moments[0]) == "2014-12-23"
    seoul = [label for _x, label in TimeAxis(moments, "Asia/Seoul").ticks()]
    assert seoul == ["2014-12-24", "2014-12-25", "2014-12-26", "2014-12-27"]


def test_events_go_to_their_partys_lane_and_the_rest_to_the_agreements():
    timeline = [
        entry("kr", "2014-12-26", party="KR"),
        entry("eif", "2014-12-29"),
        entry("stranger", "2014-12-27", party="CN"),
    ]
    _axis, lanes, marks = layout(timeline, ["KR", "US"], "UTC")
    assert lanes == [AGREEMENT_LANE, "KR", "US"]
    assert {m.id: m.lane for m in marks} == {
        "kr": "KR",
        "eif": AGREEMENT_LANE,
        "stranger": AGREEMENT_LANE,
    }


def test_undated_events_are_not_placed():
    timeline = [
        {"id": "registered", "occurred": None, "start": None, "end": None},
        entry("d", "2014-12-29"),
    ]
    assert [m.id for m in layout(timeline, [], "UTC")[2]] == ["d"]


@pytest.mark.parametrize("width", [10, 40])
def test_tracks_draw_spans_and_points_within_their_width(width):
    timeline = [
        entry("month", "2014-12"),
        entry("day", "2014-12-29"),
        entry("t", "2014-12-29T10:00"),
    ]
    _axis, _lanes, marks = layout(timeline, [], "UTC")
    drawn = {m.id: track(m, width) for m in marks}
    assert all(len(line) == width for line in drawn.values())
    assert drawn["t"].count("●") == 1 and "━" not in drawn["t"]
    assert drawn["month"].count("━") > drawn["day"].count("━") >= 1
    first, last = columns(next(m for m in marks if m.id == "day"), width)
    assert 0 <= first <= last < width


OPEN_SKIES = {
    "tz": "UTC",
    "status": "in_force",
    "entered_into_force": "2002-01-01",
    "expires": None,
    "termination": None,
    "notices": [
        {"party": "US", "notified": "2020-05-22", "effective": "2020-11-22", "status": "effective"}
    ],
    "parties": [
        {
            "code": "US",
            "signed": "1992-03-24",
            "consented": "1993-12-03",
            "in_force": "2002-01-01",
            "withdrawn": "2020-11-22",
        },
        {"code": "CA", "signed": "1992-03-24", "consented": "1992-07-21", "in_force": "2002-01-01"},
        {
            "code": "RU",
            "signed": "1992-03-24",
            "provisional": "1992-03-24",
            "provisional_until": "2001-11-02",
        },
    ],
}
TODAY = datetime(2026, 11, 27, tzinfo=UTC)
ENDED = PERIOD_GLYPHS["ended"]


def test_each_party_shows_its_periods_one_after_another_and_its_notice_taking_effect():
    found = picture(
        OPEN_SKIES, [entry("us-signed", "1992-03-24", party="US", kind="signed")], TODAY
    )
    us = found.lane_periods("US")
    assert [(p.kind, p.start, p.end) for p in us] == [
        ("signed", "1992-03-24", "1993-12-03"),
        ("consented", "1993-12-03", "2002-01-01"),
        ("bound", "2002-01-01", "2020-11-22"),
        ("ended", "2020-11-22", None),
    ]
    assert all(a.x1 == b.x0 for a, b in itertools.pairwise(us))  # contiguous bars
    assert us[-1].x1 == found.axis.x(TODAY) > 0.95  # still no longer bound today
    assert [(s.lane, s.day) for s in found.scheduled] == [
        ("US", "2020-11-22"),
        ("RU", "2001-11-02"),
    ]
    assert [p.kind for p in found.lane_periods("RU")] == ["signed", "provisional"]
    assert [(p.kind, p.end) for p in found.lane_periods(AGREEMENT_LANE)] == [("bound", None)]
    assert found.axis.last == TODAY  # bars still running reach the day of the picture


def test_a_suspension_and_its_resumption_make_a_period_on_their_lane():
    timeline = [
        entry("s", "2010-03-01", kind="suspended"),
        entry("r", "2010-09-01", kind="resumed"),
        entry("s-ca", "2011-01-01", party="CA", kind="suspended"),
    ]
    found = picture(OPEN_SKIES, timeline, TODAY)
    suspended = [(p.lane, p.start, p.end) for p in found.periods if p.kind == "suspended"]
    assert suspended == [(AGREEMENT_LANE, "2010-03-01", "2010-09-01"), ("CA", "2011-01-01", None)]
    assert "░" in period_track(found, AGREEMENT_LANE, 60)


def test_period_tracks_draw_each_period_and_the_scheduled_change():
    found = picture(OPEN_SKIES, [], TODAY)
    drawn = period_track(found, "US", 60)
    assert len(drawn) == 60
    for glyph in ("─", "▒", "█", ENDED, "◆"):
        assert glyph in drawn
    assert (
        drawn.index("─")
        < drawn.index("▒")
        < drawn.index("█")
        < drawn.index("◆")
        <= drawn.index(ENDED)
    )


def test_a_partys_bars_start_where_its_events_are_drawn_in_its_own_zone():
    """American Samoa is 25 hours behind Kiritimati, the agreement's zone: its signature
    of 1 January is drawn in its own zone, and so is the bar the signature begins."""
    state = {
        "tz": "Pacific/Kiritimati",
        "parties": [{"code": "AS", "signed": "2020-01-01", "consented": "2020-01-03"}],
    }
    timeline = [
        {
            **entry("as-signed", "2020-01-01", "Pacific/Pago_Pago", party="AS", kind="signed"),
            "zone": "Pacific/Pago_Pago",
        },
        {
            **entry("as-ratified", "2020-01-03", "Pacific/Pago_Pago", party="AS", kind="ratified"),
            "zone": "Pacific/Pago_Pago",
        },
    ]
    found = picture(state, timeline, TODAY)
    marks = {m.id: m for m in found.marks}
    signed, consented = found.lane_periods("AS")
    assert signed.x0 == marks["as-signed"].x0
    assert consented.x0 == marks["as-ratified"].x0


def test_a_resumed_lane_does_not_read_as_suspended():
    timeline = [
        entry("s", "2010-03-01", kind="suspended"),
        entry("r", "2010-09-01", kind="resumed"),
    ]
    found = picture(OPEN_SKIES, timeline, TODAY)
    assert [p.short for p in found.lane_periods(AGREEMENT_LANE)] == [
        "bound 2002-01-01",
        "suspended 2010-03-01 to 2010-09-01",
    ]
