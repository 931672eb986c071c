"""The time model of §3: forms, precision, zones, intervals, and order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreement_ledger.ledger.errors import InvalidOccurred, InvalidTimeZone
from agreement_ledger.ledger.worldtime import (
    Chronology,
    Dated,
    Order,
    Precision,
    as_utc_text,
    iso_text,
    parse_occurred,
    read_instant,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "zone", "precision", "start", "end"),
    [
        ("2014", None, Precision.YEAR, utc(2014, 1, 1), utc(2015, 1, 1)),
        ("2014-12", None, Precision.MONTH, utc(2014, 12, 1), utc(2015, 1, 1)),
        ("2014-02", None, Precision.MONTH, utc(2014, 2, 1), utc(2014, 3, 1)),
        ("2014-12-29", None, Precision.DAY, utc(2014, 12, 29), utc(2014, 12, 30)),
        # the spec's own example: a Seoul day is 15:00Z to 15:00Z
        ("2014-12-29", "Asia/Seoul", Precision.DAY, utc(2014, 12, 28, 15), utc(2014, 12, 29, 15)),
        (
            "2014-12-29T10:30",
            "Asia/Seoul",
            Precision.MINUTE,
            utc(2014, 12, 29, 1, 30),
            utc(2014, 12, 29, 1, 31),
        ),
        (
            "2014-12-29T10:30:15",
            "Asia/Seoul",
            Precision.SECOND,
            utc(2014, 12, 29, 1, 30, 15),
            utc(2014, 12, 29, 1, 30, 16),
        ),
        # an explicit offset wins over the zone
        (
            "2014-12-29T10:30Z",
            "Asia/Seoul",
            Precision.MINUTE,
            utc(2014, 12, 29, 10, 30),
            utc(2014, 12, 29, 10, 31),
        ),
        (
            "2014-12-29T10:30:00-05:00",
            "Asia/Seoul",
            Precision.SECOND,
            utc(2014, 12, 29, 15, 30),
            utc(2014, 12, 29, 15, 30, 1),
        ),
        ("2014", "Asia/Seoul", Precision.YEAR, utc(2013, 12, 31, 15), utc(2014, 12, 31, 15)),
        # a day on which New York springs forward is 23 hours long
        ("2015-03-08", "America/New_York", Precision.DAY, utc(2015, 3, 8, 5), utc(2015, 3, 9, 4)),
    ],
)
def test_occurred_denotes_an_interval_of_instants(text, zone, precision, start, end):
    occurred = parse_occurred(text, zone)
    assert occurred.text == text
    assert occurred.precision is precision
    assert (occurred.start, occurred.end) == (start, end)


@pytest.mark.parametrize(
    "text",
    [
        "29 Dec 2014",
        "2014-1-5",
        "2014-12-29 10:00",
        "2014-12-29T10",
        "2014-12-29T10:00:00.5",
        "20141229",
        "",
        "2014-12-29T10:00+0900",
        "yesterday",
    ],
)
def test_unreadable_forms_are_rejected(text):
    with pytest.raises(InvalidOccurred, match="cannot read occurred"):
        parse_occurred(text)


@pytest.mark.parametrize("text", ["2014-02-30", "2014-13", "2014-12-29T24:00", "2014-12-29T10:61"])
def test_impossible_times_are_rejected(text):
    with pytest.raises(InvalidOccurred, match="impossible"):
        parse_occurred(text)


def test_wall_time_skipped_by_daylight_saving_is_impossible():
    with pytest.raises(InvalidOccurred, match="does not exist in America/New_York"):
        parse_occurred("2015-03-08T02:30", "America/New_York")


def test_ambiguous_wall_time_covers_both_readings():
    occurred = parse_occurred("2015-11-01T01:30", "America/New_York")
    assert occurred.start == utc(2015, 11, 1, 5, 30)  # EDT reading
    assert occurred.end == utc(2015, 11, 1, 6, 31)  # EST reading plus its minute


@pytest.mark.parametrize("name", ["Asia/Nowhere", "Asia", "America/Argentina", "A" * 300])
def test_unknown_zone_is_rejected(name):
    """Also a folder of the zone database, and a name too long for a file: the typo a
    person makes, refused in words rather than by the file system."""
    with pytest.raises(InvalidTimeZone, match="unknown IANA time zone"):
        parse_occurred("2014-12-29", name)


def test_non_string_occurred_is_rejected():
    with pytest.raises(InvalidOccurred):
        parse_occurred(20141229)


ZONES = st.sampled_from(
    [
        "UTC",
        "Asia/Seoul",
        "Asia/Tokyo",
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "Pacific/Kiritimati",
        "America/St_Johns",
        "Asia/Kathmandu",
        "America/Santiago",
        "Africa/Casablanca",
    ]
)
INSTANTS = st.datetimes(
    min_value=datetime(1950, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


@given(instant=INSTANTS, zone=ZONES)
def test_the_local_day_of_an_instant_contains_it(instant, zone):
    local = instant.astimezone(ZoneInfo(zone))
    day = parse_occurred(local.date().isoformat(), zone)
    assert day.start <= instant < day.end
    assert timedelta(hours=22) <= day.end - day.start <= timedelta(hours=26)


@given(instant=INSTANTS, zone=ZONES)
def test_nested_precisions_nest_their_intervals(instant, zone):
    local = instant.astimezone(ZoneInfo(zone))
    forms = [
        local.strftime("%Y"),
        local.strftime("%Y-%m"),
        local.strftime("%Y-%m-%d"),
        local.strftime("%Y-%m-%dT%H:%M"),
        local.strftime("%Y-%m-%dT%H:%M:%S"),
    ]
    intervals = [parse_occurred(f, zone) for f in forms]
    for outer, inner in pairwise(intervals):
        assert outer.start <= inner.start < inner.end <= outer.end
    assert intervals[-1].start <= instant < intervals[-1].end + timedelta(hours=1)


@given(instant=INSTANTS, zone=ZONES)
def test_an_offset_makes_the_zone_irrelevant(instant, zone):
    text = instant.replace(microsecond=0).isoformat()
    assert parse_occurred(text, zone).start == instant.replace(microsecond=0)


@given(d=st.dates(min_value=date(1950, 1, 1), max_value=date(2030, 12, 30)), zone=ZONES)
def test_consecutive_days_abut(d, zone):
    today = parse_occurred(d.isoformat(), zone)
    tomorrow = parse_occurred((d + timedelta(days=1)).isoformat(), zone)
    assert today.end == tomorrow.start
    assert today.definitely_before(tomorrow)
    assert not tomorrow.definitely_before(today)


def _dated(
    event_id: str, text: str | None, zone: str | None = None, after: tuple[str, ...] = ()
) -> Dated:
    return Dated(event_id, parse_occurred(text, zone) if text else None, after)


def test_same_day_events_without_a_link_are_only_possibly_ordered():
    chronology = Chronology([_dated("eif", "2014-12-29"), _dated("notified", "2014-12-29")])
    assert chronology.order("eif", "notified") is Order.POSSIBLE


def test_an_after_link_makes_same_day_order_definite():
    chronology = Chronology(
        [_dated("eif", "2014-12-29"), _dated("notified", "2014-12-29", after=("eif",))]
    )
    assert chronology.order("eif", "notified") is Order.BEFORE
    assert chronology.order("notified", "eif") is Order.AFTER


def test_after_links_are_transitive_and_mix_with_interval_order():
    chronology = Chronology(
        [
            _dated("delivered", "2014-12-29"),
            _dated("eif", "2014-12-29", after=("delivered",)),
            _dated("notified", "2014-12-29", after=("eif",)),
            _dated("signed", "2014-12-26"),
            _dated("month", "2014-12"),
            _dated("later", "2015-01-02"),
        ]
    )
    assert chronology.order("delivered", "notified") is Order.BEFORE
    assert chronology.order("signed", "notified") is Order.BEFORE
    assert chronology.order("month", "signed") is Order.POSSIBLE  # December contains the 26th
    assert chronology.order("month", "later") is Order.BEFORE


def test_order_depends_on_zones_near_midnight():
    # 29 Dec in Seoul ends at 15:00Z; 29 Dec in New York starts at 05:00Z: they overlap.
    seoul = _dated("seoul", "2014-12-29", "Asia/Seoul")
    new_york = _dated("new-york", "2014-12-29", "America/New_York")
    assert Chronology([seoul, new_york]).order("seoul", "new-york") is Order.POSSIBLE
    # 28 Dec in Seoul ended before 29 Dec started in New York.
    earlier = _dated("seoul-28", "2014-12-28", "Asia/Seoul")
    assert Chronology([earlier, new_york]).order("seoul-28", "new-york") is Order.BEFORE


@given(a=INSTANTS, b=INSTANTS, zone=ZONES)
def test_definite_order_is_antisymmetric_and_matches_the_instants(a, b, zone):
    events = [
        Dated(
            "a", parse_occurred(a.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S"), zone)
        ),
        Dated(
            "b", parse_occurred(b.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S"), zone)
        ),
    ]
    chronology = Chronology(events)
    order = chronology.order("a", "b")
    if order is Order.BEFORE:
        assert a < b + timedelta(hours=1)  # an ambiguous wall time may cover a second reading
        assert chronology.order("b", "a") is Order.AFTER
    if a.replace(microsecond=0) + timedelta(hours=2) <= b.replace(microsecond=0):
        assert order is Order.BEFORE


OCCURRED_TEXTS = st.sampled_from(
    [None, "2014", "2014-12", "2014-12-26", "2014-12-29", "2014-12-29T10:00", "2015-01-02"]
)


@given(
    texts=st.lists(OCCURRED_TEXTS, min_size=1, max_size=8),
    zones=st.lists(st.sampled_from(["UTC", "Asia/Seoul", "America/New_York"]), min_size=8),
)
def test_order_without_links_is_the_closure_of_interval_order(texts, zones):
    """Without ``after`` links, order comes from intervals alone (answered without a
    search): it is what following interval steps one by one would find."""
    events = [_dated(f"e{i}", text, zones[i]) for i, text in enumerate(texts)]
    chronology = Chronology(events)

    def after(event: Dated) -> set[str]:
        return {
            other.id
            for other in events
            if event.occurred and other.occurred and other.occurred.start >= event.occurred.end
        }

    for a in events:
        reach, frontier = set(), [a]
        while frontier:
            for found in after(frontier.pop()) - reach:
                reach.add(found)
                frontier.append(next(e for e in events if e.id == found))
        for b in events:
            expected = Order.BEFORE if b.id in reach else None
            if expected is Order.BEFORE:
                assert chronology.order(a.id, b.id) is Order.BEFORE
            elif chronology.order(a.id, b.id) is Order.BEFORE:  # pragma: no cover
                raise AssertionError(f"{a} before {b} without a step")


@given(
    texts=st.lists(OCCURRED_TEXTS, min_size=1, max_size=7),
    zones=st.lists(st.sampled_from(["UTC", "Asia/Seoul", "America/New_York"]), min_size=7),
    links=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=8),
)
def test_order_with_links_is_the_closure_of_every_step(texts, zones, links):
    """With ``after`` links, even ones the rules would refuse (a link against the
    intervals, a cycle), ``a`` is before ``b`` when a chain of steps leads there (checked
    first), after it when a chain leads back, possibly either otherwise."""
    count = len(texts)
    named = {i: tuple(f"e{j}" for k, j in links if k == i and j < count) for i in range(count)}
    events = [
        Dated(f"e{i}", parse_occurred(text, zones[i]) if text else None, named[i])
        for i, text in enumerate(texts)
    ]
    chronology = Chronology(events)

    def steps(event: Dated) -> set[str]:
        linked = {other.id for other in events if event.id in other.after}
        timed = {
            other.id
            for other in events
            if event.occurred and other.occurred and other.occurred.start >= event.occurred.end
        }
        return linked | timed

    def reach(event: Dated) -> set[str]:
        found: set[str] = set()
        frontier = [event]
        while frontier:
            for step in steps(frontier.pop()) - found:
                found.add(step)
                frontier.append(next(e for e in events if e.id == step))
        return found

    for a in events:
        for b in events:
            if b.id in reach(a):
                expected = Order.BEFORE
            elif a.id in reach(b):
                expected = Order.AFTER
            else:
                expected = Order.POSSIBLE
            assert chronology.order(a.id, b.id) is expected, (a, b)


@given(
    st.lists(
        st.datetimes(timezones=st.sampled_from([UTC, ZoneInfo("Pacific/Apia"), None])),
        min_size=1,
    )
)
def test_each_instants_text_is_its_own_however_often_it_is_asked(instants):
    """``iso_text`` remembers the last instant's text: asking again, or for another
    instant (equal or not), never gives a text other than its own."""
    for instant in [*instants, *instants[::-1], instants[0]]:
        assert iso_text(instant) == instant.isoformat()
        if instant.tzinfo is not None:
            assert as_utc_text(instant) == instant.astimezone(UTC).isoformat().replace(
                "+00:00", "Z"
            )


def test_an_equal_instant_in_another_zone_has_its_own_text():
    in_utc = datetime(2011, 12, 30, 10, 0, tzinfo=UTC)
    in_apia = in_utc.astimezone(ZoneInfo("Pacific/Apia"))
    assert in_utc == in_apia
    assert iso_text(in_utc) == "2011-12-30T10:00:00+00:00"
    assert iso_text(in_apia) == "2011-12-31T00:00:00+14:00"


@given(
    st.datetimes(timezones=st.sampled_from([UTC, ZoneInfo("Pacific/Apia"), None])),
    st.sampled_from(["isoformat", "microseconds", "space", "milliseconds"]),
)
def test_a_read_instant_has_the_text_isoformat_gives_it(instant, form):
    """``read_instant`` remembers its text as the instant's own only when it is: a
    recording time as stored (UTC, to the microsecond), not a whole second written with
    a fraction, another zone, another separator or another precision."""
    text = {
        "isoformat": instant.isoformat(),
        "microseconds": instant.isoformat(timespec="microseconds"),
        "space": instant.isoformat(sep=" "),
        "milliseconds": instant.isoformat(timespec="milliseconds"),
    }[form]
    read = read_instant(text)
    assert read == datetime.fromisoformat(text)
    assert iso_text(read) == read.isoformat()
    if read.tzinfo is not None:
        assert as_utc_text(read) == read.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_a_recording_time_as_stored_is_remembered_as_read():
    stored = "2026-11-28T18:30:00.123456+00:00"
    read = read_instant(stored)
    assert iso_text(read) is stored  # not written again
    assert as_utc_text(read) == "2026-11-28T18:30:00.123456Z"
    whole = read_instant("2026-11-28T18:30:00.000000+00:00")
    assert iso_text(whole) == "2026-11-28T18:30:00+00:00"  # as isoformat writes it
