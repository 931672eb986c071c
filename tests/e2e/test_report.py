"""The HTML report, rendered in a real browser (headless Chromium), and the terminal chart."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE

ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium(tmp_path):
    program = shutil.which("chromium") or shutil.which("chromium-browser")
    if program is None:
        if os.environ.get("LEDGER_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (LEDGER_TEST_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("no Chromium here: apt-get install chromium")

    def run(*args: str) -> str:
        profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
        result = subprocess.run(
            [program, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return result.stdout

    return run


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


def test_the_terminal_chart_draws_lanes_spans_and_flags(cli):
    cli("import", str(EXAMPLE))
    out = cli("timeline", "tisa-2014", "--chart").stdout
    assert "━" in out and "⚑ notified_after_entry_into_force" in out
    for lane in ("agreement", "KR", "US", "JP"):
        assert re.search(rf"│ {lane}\s+│", out)
    assert "2014-12-29 (day)" in out and "2012 (year)" in out and "2014-12 (month)" in out
    assert "axis dates in Asia/Seoul" in out
