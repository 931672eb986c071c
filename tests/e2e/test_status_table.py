"""The depositary's status table (`ledger parties`) and CSV for every listing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE

HISTORIES = Path(__file__).resolve().parents[1] / "fixtures" / "histories"


@pytest.fixture
def register(cli):
    for name in ("czechoslovak-succession", "energy-charter-russia", "open-skies-us-withdrawal"):
        assert cli("import", str(HISTORIES / f"{name}.jsonl")).exit_code == 0
    assert cli("import", str(EXAMPLE)).exit_code == 0
    return cli


def rows_of(result):
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_the_status_table_marks_each_consent_by_its_instrument(register):
    table = register("parties", "wipo-convention-1967").stdout
    assert "1970-09-22 a" in table  # Czechoslovakia's accession
    assert "1992-12-18 d" in table and "1992-12-30 d" in table  # the successions
    assert "succeeded 1993-01-01" in table
    ect = register("parties", "ect-1994", "--format", "json").stdout
    nl = next(p for p in json.loads(ect) if p["code"] == "NL")
    assert (nl["agreement"], nl["consented"], nl["instrument"]) == (
        "ect-1994",
        "1997-12-16",
        "acceptance",
    )


def test_the_status_table_as_json_is_the_party_objects_of_show(register):
    rows = json.loads(register("parties", "tisa-2014", "--format", "json").stdout)
    shown = json.loads(register("show", "tisa-2014", "--format", "json").stdout)
    assert rows == [{"agreement": "tisa-2014", **p} for p in shown["parties"]]


def test_every_agreement_of_one_party(register):
    rows = rows_of(register("parties", "--party", "RU", "--format", "csv"))
    assert [(r["agreement"], r["status"]) for r in rows] == [
        ("ect-1994", "signed"),
        ("open-skies-1992", "withdrawn"),
    ]
    assert rows[0]["provisional"] == "1994-12-17 to 2009-10-19"
    then = rows_of(register("parties", "--party", "RU", "--as-of", "2005-01-01", "--format", "csv"))
    assert [(r["agreement"], r["status"]) for r in then] == [
        ("ect-1994", "provisional"),
        ("open-skies-1992", "in_force"),
    ]


def test_a_party_no_agreement_has_is_a_usage_error(register):
    result = register("parties", "--party", "ZZ")
    assert result.exit_code == 2 and "'--party'" in result.stderr
    assert register("parties").exit_code == 2


def test_csv_for_every_listing_has_a_header_and_rfc_4180_quoting(register):
    listing = rows_of(register("list", "--format", "csv"))
    assert {r["agreement"] for r in listing} >= {"tisa-2014", "ect-1994"}
    flags = rows_of(register("flags", "--format", "csv"))
    late = next(r for r in flags if r["code"] == "notified_late")
    assert late["events"] == "os-us-congress-notified, os-us-notice"
    timeline = register("timeline", "tisa-2014", "--format", "csv")
    assert timeline.stdout_bytes.startswith(
        b"occurred,precision,event,what,flags,recorded_at,by\r\n"
    )
    assert '"' in timeline.stdout  # a summary with a comma is quoted
    history = rows_of(register("history", "tisa-2014", "--format", "csv"))
    assert [r["version"] for r in history] == [str(n) for n in range(1, 13)]
    assert register("show", "tisa-2014", "--format", "csv").exit_code == 2  # not a listing


def test_the_report_s_parties_table_is_the_status_table(register, cli, tmp_path):
    assert cli("import", str(HISTORIES / "iccpr-us-reservations.jsonl")).exit_code == 0
    page = tmp_path / "wipo.html"
    assert register("report", "wipo-convention-1967", "-o", str(page)).exit_code == 0
    html = page.read_text(encoding="utf-8")
    for text in (
        "1992-12-18 d",
        "1970-09-22 a",
        "succeeded 1993-01-01",
        "successor of CS",
        "cs-declaration-art5",
    ):
        assert text in html, text
    iccpr = tmp_path / "iccpr.html"
    assert cli("report", "iccpr-1966", "-o", str(iccpr), "--as-of", "1994-01-01").exit_code == 0
    html = iccpr.read_text(encoding="utf-8")
    assert "Senate: approved 1992-04-02" in html
    assert "objection" in html and "iccpr-us-res-2" in html
    ect = tmp_path / "ect.html"
    assert register("report", "ect-1994", "-o", str(ect)).exit_code == 0
    assert "1994-12-17 to 2009-10-19" in ect.read_text(encoding="utf-8")
