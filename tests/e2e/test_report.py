"""The HTML report, rendered in a real browser (headless Chromium), and the terminal chart."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import EXAMPLE

ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"
HISTORIES = Path(__file__).resolve().parents[1] / "fixtures" / "histories"


def test_the_seed_report_loads_in_a_browser_with_every_event_and_the_flag(
    cli, tmp_path, chromium, backend
):
    cli("import", str(EXAMPLE))
    report = tmp_path / "tisa.html"
    result = cli("report", "tisa-2014", "-o", str(report))
    assert result.exit_code == 0, result.stderr
    html = report.read_text()
    assert "http://" not in html and "https://" not in html  # self-contained: nothing to fetch

    dom = chromium("--dump-dom", report.as_uri())
    assert 'data-ready="yes"' in dom and "data-errors" not in dom
    assert 'data-events="11"' in dom  # every dated event of the seed case is drawn
    for event_id in (
        "us-signed",
        "kr-signed",
        "jp-signed",
        "delivered-to-us",
        "entered-into-force",
        "assembly-notified",
    ):
        assert f'id="event-{event_id}"' in dom
    notified = re.search(r'<g class="([^"]*)" id="event-assembly-notified"', dom)
    assert notified and "flagged" in notified.group(1).split()
    assert "⚑ notified_after_entry_into_force" in dom
    assert 'id="status">in_force<' in dom and "intact" in dom

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"tisa-report-{backend}.png"
    chromium("--window-size=1200,1600", f"--screenshot={screenshot}", report.as_uri())
    assert screenshot.stat().st_size > 20_000  # a real picture, kept for people to look at


def test_the_report_as_of_a_day_before_entry_into_force(cli, tmp_path):
    cli("import", str(EXAMPLE))
    report = tmp_path / "then.html"
    assert cli("report", "tisa-2014", "-o", str(report), "--as-of", "2014-12-27").exit_code == 0
    html = report.read_text()
    assert 'id="status">signed<' in html
    assert "notified_after_entry_into_force" not in html
    assert 'id="event-entered-into-force"' not in html


def test_the_report_links_corrections_in_the_history(cli, tmp_path):
    cli("import", str(EXAMPLE))
    cli(
        "append",
        "tisa-2014",
        "corrected",
        "--field",
        "target=us-signed",
        "--field",
        'replacement={"occurred": "2014-12-22"}',
        "--field",
        "id=fix-us-date",
    )
    report = tmp_path / "fixed.html"
    cli("report", "tisa-2014", "-o", str(report))
    html = report.read_text()
    assert '<a href="#history-fix-us-date" class="mono">fix-us-date</a>' in html
    assert '→ <a href="#history-us-signed" class="mono">us-signed</a>' in html


def test_the_terminal_chart_draws_lanes_periods_spans_and_flags(cli):
    cli("import", str(EXAMPLE))
    out = cli("timeline", "tisa-2014", "--chart", env={"COLUMNS": "100"}).stdout
    lines = out.splitlines()
    assert all(len(line) <= 100 for line in lines)
    for lane in ("agreement", "KR", "US", "JP"):
        assert any(line.startswith(f"{lane} ") for line in lines), lane
    us = next(line for line in lines if line.startswith("US "))
    assert "─" in us and "█" in us and us.index("─") < us.index("█")  # signed, then bound
    assert "signed 2014-12-23, bound 2014-12-29" in us
    assert "⚑" in out and "notified_after_entry_into_force" in out.split()  # never cut
    assert "2014-12-29 entered into force" in out and "2012 noted" in out
    assert "≈" in lines[1]  # the years between 2012 and December 2014 are cut short
    assert "Axis in Asia/Seoul" in out and "█ bound (in force)" in out


def test_a_long_lived_multilateral_report_draws_periods_breaks_and_marks(
    cli, tmp_path, chromium, backend
):
    """Open Skies: 1992 to 2021, seven parties, two withdrawals taking effect by time."""
    cli("import", str(HISTORIES / "open-skies-us-withdrawal.jsonl"))
    report = tmp_path / "open-skies.html"
    assert cli("report", "open-skies-1992", "-o", str(report)).exit_code == 0
    dom = chromium("--window-size=1200,900", "--dump-dom", report.as_uri())
    assert 'data-ready="yes"' in dom and "data-errors" not in dom and "data-wide" not in dom
    assert "data-broken-ids" not in dom  # every id in the history and the flags on one line
    breaks = re.findall(r'<g class="break" data-length="([^"]+)"', dom)
    assert "18 years" in breaks  # 2002 to 2020, cut short
    us = dom.split('data-lane="US"', 1)[1].split("</g>", 1)[0]
    assert [kind for kind in re.findall(r'class="period period-(\w+)"', us)] == [
        "signed",
        "consented",
        "bound",
        "ended",
    ]
    assert "2020-11-22 notice of US takes effect" in us  # the withdrawal taking effect, marked
    for words in ("notice of termination or withdrawal", "entered into force", "consent of a body"):
        assert f"· {words}" in dom
    assert 'data-kind="ending"' in dom and 'data-kind="consent"' in dom
    assert 'id="legend"' in dom
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"open-skies-report-{backend}.png"
    chromium("--window-size=1200,2600", f"--screenshot={screenshot}", report.as_uri())
    assert screenshot.stat().st_size > 20_000


def test_the_chart_keeps_a_long_party_code_whole_and_its_descriptions_readable(cli):
    code = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"  # the longest code the ledger takes
    assert (
        cli("register", "long-1", "--title", "t", "--party", code, "--party", "KR").exit_code == 0
    )
    assert cli("sign", "long-1", code, "--occurred", "2020-01-01").exit_code == 0
    assert cli("timeline", "long-1", "--chart", env={"COLUMNS": "60"}).exit_code == 0
    lines = cli("timeline", "long-1", "--chart", env={"COLUMNS": "60"}).stdout.splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert any(line.startswith(code + " ") for line in lines)
    assert any(line.strip() == "2020-01-01 signed" for line in lines)  # under its track, whole


def test_an_agreement_with_no_dated_event_has_no_chart_to_draw(cli):
    assert cli("register", "bare-1", "--title", "t", "--party", "KR").exit_code == 0
    result = cli("timeline", "bare-1", "--chart")
    assert (result.exit_code, result.stdout) == (0, "no dated events to draw\n")
