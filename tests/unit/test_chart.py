"""Layout arithmetic of the timeline pictures: spans by precision, zones on the axis."""

from __future__ import annotations

import pytest

from agreement_ledger.ledger.worldtime import as_utc_text, parse_occurred
from agreement_ledger.projections.chart import AGREEMENT_LANE, Axis, columns, layout, track


def entry(event_id: str, occurred: str, zone: str | None = None, party: str | None = None) -> dict:
    interval = parse_occurred(occurred, zone)
    return {
        "id": event_id,
        "occurred": occurred,
        "precision": interval.precision.value,
        "start": as_utc_text(interval.start),
        "end": as_utc_text(interval.end),
        "party": party,
        "flags": [],
    }


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
    assert (year.x0, year.x1) == (0.0, 1.0)  # the year contains every other boundary


def test_nested_spans_nest_on_the_axis():
    timeline = [entry("month", "2014-12"), entry("day", "2014-12-29")]
    _axis, _lanes, marks = layout(timeline, [], "UTC")
    month, day = marks
    assert month.x0 <= day.x0 < day.x1 <= month.x1


def test_axis_labels_are_dates_in_the_agreements_zone():
    # 23 Dec in New York begins at 14:00 on 23 Dec in Seoul and ends at 14:00 on the 24th.
    timeline = [
        entry("us", "2014-12-23", "America/New_York"),
        entry("kr", "2014-12-26", "Asia/Seoul"),
    ]
    axis, _lanes, _marks = layout(timeline, [], "Asia/Seoul")
    assert [label for _x, label in axis.ticks()] == [
        "2014-12-23",
        "2014-12-24",
        "2014-12-26",
        "2014-12-27",
    ]
    axis_utc, _lanes, _marks = layout(timeline, [], "UTC")
    assert [label for _x, label in axis_utc.ticks()] == [
        "2014-12-23",
        "2014-12-24",
        "2014-12-25",
        "2014-12-26",
    ]


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


def test_a_single_boundary_axis_does_not_divide_by_zero():
    axis = Axis([], "UTC")
    assert axis.ticks() == []
