"""``ledger site``: the whole register as static pages, loaded in headless Chromium as a
reader would — every page without a console error, every link resolving, the filter and
the sort working from the address, and every page printing within the paper."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.conftest import EXAMPLE

HISTORIES = Path(__file__).resolve().parents[1] / "fixtures" / "histories"
ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"


class Links(HTMLParser):
    """Every href and src of a page, and every id it defines."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.targets.append(value)
            if name == "id" and value:
                self.ids.add(value)


def parsed(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text(encoding="utf-8"))
    return links


@pytest.fixture
def site(cli, tmp_path) -> Path:
    """A site of the seed case and the four real histories."""
    for source in [EXAMPLE, *sorted(HISTORIES.glob("*.jsonl"))]:
        assert cli("import", str(source)).exit_code == 0
    out = tmp_path / "site"
    result = cli("site", "-o", str(out), "--within", "P100Y")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"site of 5 agreements and 19 parties written to {out / 'index.html'}\n"
    return out


def test_every_page_loads_in_a_browser_without_an_error_and_fits_its_window(
    site, chromium, backend
):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) == 1 + 1 + 1 + 1 + 5 + 19  # index, parties, flags, verification, …

    def load(page: Path) -> tuple[Path, str, list[str]]:
        console: list[str] = []
        dom = chromium("--window-size=1200,900", "--dump-dom", page.as_uri(), console=console)
        return page, dom, console

    with ThreadPoolExecutor(max_workers=4) as pool:
        for page, dom, console in pool.map(load, pages):
            html = re.search(r"<html[^>]*>", dom)
            assert html, page
            assert 'data-ready="yes"' in html.group(0), page  # the page's script ran to its end
            assert "data-errors" not in html.group(0), page  # no script or resource failed
            assert "data-wide" not in html.group(0), page  # nothing wider than the window
            assert console == [], (page, console)
    if backend == "sqlite":  # pictures for people to look at (one backend draws the same)
        ARTIFACTS.mkdir(exist_ok=True)
        for name, page, height in (
            ("site-index.png", "index.html", 1100),
            ("site-party-us.png", "parties/US.html", 700),
        ):
            screenshot = ARTIFACTS / name
            chromium(
                f"--window-size=1200,{height}", f"--screenshot={screenshot}", (site / page).as_uri()
            )
            assert screenshot.stat().st_size > 20_000


def test_every_link_resolves_to_a_page_and_an_anchor_of_the_site(site):
    for page in site.rglob("*.html"):
        for target in parsed(page).targets:
            address = urlsplit(target)
            assert not address.scheme and not address.netloc, (page, target)  # nothing fetched
            file = (page.parent / unquote(address.path)).resolve() if address.path else page
            assert file.is_file() and file.is_relative_to(site.resolve()), (page, target)
            if address.fragment and file.suffix == ".html":
                assert address.fragment in parsed(file).ids, (page, target)


def rows_shown(dom: str, table: str = "agreements") -> list[str]:
    body = dom.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return [
        key
        for attributes, key in re.findall(r"<tr ([^>]*)>\s*<td[^>]*><a[^>]*>([^<]+)</a>", body)
        if " hidden" not in f" {attributes}"
    ]


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("", ["ect-1994", "iccpr-1966", "open-skies-1992", "tisa-2014", "wipo-convention-1967"]),
        ("#parties=US", ["iccpr-1966", "open-skies-1992", "tisa-2014"]),
        ("#parties=US&flags=notified_late", ["open-skies-1992"]),
        ("#kind=mou", ["tisa-2014"]),
        ("#q=skies", ["open-skies-1992"]),
        ("#q=SLOVAK", ["wipo-convention-1967"]),  # a party's name is not searched: its code is
        ("#parties=CZ&sort=key&order=desc", ["wipo-convention-1967"]),
        (
            "#sort=in_force&order=desc",
            ["tisa-2014", "open-skies-1992", "ect-1994", "iccpr-1966", "wipo-convention-1967"],
        ),
        ("#status=terminated", []),
    ],
)
def test_the_index_filters_and_sorts_from_its_address(site, chromium, address, shown):
    dom = chromium("--dump-dom", (site / "index.html").as_uri() + address)
    assert rows_shown(dom) == shown
    assert f'id="shown">{len(shown)} of 5<' in dom


def test_a_party_page_says_what_binds_it_today(site):
    us = (site / "parties" / "US.html").read_text(encoding="utf-8")
    binds = re.search(r'<p id="binds">(.*?)</p>', us, re.S).group(1)
    assert re.sub(r"<[^>]+>|\s+", " ", binds).split() == [
        "Bound",
        "today",
        "by",
        "2",
        "of",
        "the",
        "3",
        "agreements",
        "it",
        "takes",
        "part",
        "in:",
        "iccpr-1966",
        ",",
        "tisa-2014",
        ".",
    ]
    assert "withdrew" in us and "withdrawn 2020-11-22" in us
    cs = (site / "parties" / "CS.html").read_text(encoding="utf-8")
    assert "Bound today by none of the 1 agreements" in cs and "succeeded by another state" in cs


def test_the_index_leads_with_what_is_due_and_the_verification(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    assert (
        index.index('id="due"')
        < index.index('id="verification-summary"')
        < index.index('id="agreements"')
    )
    digest = json.loads((site / "digest.json").read_text())
    assert digest["verified"] is True and digest["events"] == 86
    assert digest["merkle_root"][:16] in index and "intact" in index
    verification = (site / "verification.html").read_text(encoding="utf-8")
    assert digest["digest"] in verification


def test_the_digest_written_with_the_site_verifies_the_ledger(site, cli):
    result = cli("verify", "--digest", str(site / "digest.json"))
    assert result.exit_code == 0, result.stdout + result.stderr


def test_an_agreements_page_is_its_report_with_the_way_back(site):
    page = (site / "agreements" / "open-skies-1992.html").read_text(encoding="utf-8")
    assert '<a href="../index.html">Agreements</a>' in page
    assert '<a href="../parties/RU.html">RU Russian Federation</a>' in page
    assert 'id="timeline"' in page and "notified_late" in page


@pytest.fixture
def pdf_tools():
    if shutil.which("pdftotext") is None:
        import os

        if os.environ.get("LEDGER_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail("pdftotext is required (poppler-utils) but not installed")
        pytest.skip("no pdftotext here: apt-get install poppler-utils")


@pytest.mark.parametrize(
    "name", ["index.html", "parties/US.html", "flags.html", "agreements/open-skies-1992.html"]
)
def test_pages_print_within_the_paper_without_their_controls(
    site, chromium, pdf_tools, tmp_path, name
):
    pdf = tmp_path / (name.replace("/", "-") + ".pdf")
    chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", (site / name).as_uri())
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    widths = [float(w) for w in re.findall(r'<page width="([\d.]+)"', boxes)]
    right_edges = [
        float(x) for x in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"', boxes)
    ]
    assert widths and right_edges
    assert max(right_edges) <= min(widths)  # no word runs off the paper
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert (
        "Show all" not in text and "Verification" not in text.split("\n", 3)[0]
    )  # no controls, no menu
    if name == "index.html":
        for key in (
            "ect-1994",
            "iccpr-1966",
            "open-skies-1992",
            "tisa-2014",
            "wipo-convention-1967",
        ):
            assert key in text
    if name == "parties/US.html":
        assert "notified_late" in text and "withdrawn 2020-11-22" in text


def test_the_site_refuses_a_file_for_a_folder_and_writes_nothing(cli, tmp_path):
    assert cli("import", str(EXAMPLE)).exit_code == 0
    blocker = tmp_path / "taken"
    blocker.write_text("mine")
    result = cli("site", "-o", str(blocker))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "is a file, not a folder" in result.stderr
    assert blocker.read_text() == "mine"
    bad = cli("site", "-o", str(tmp_path / "s"), "--within", "soon")
    assert bad.exit_code == 2 and not (tmp_path / "s").exists()


@pytest.mark.parametrize("out", ["", "-"])
def test_a_site_needs_a_folder_not_standard_output(cli, tmp_path, out, monkeypatch):
    assert cli("import", str(EXAMPLE)).exit_code == 0
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    result = cli("site", "-o", out)
    assert result.exit_code == 2 and "name a folder for the site" in result.stderr
    assert list(here.iterdir()) == []  # nothing scattered where the clerk stands


def test_a_name_in_the_way_is_refused_before_an_earlier_site_is_touched(cli, tmp_path):
    assert cli("import", str(EXAMPLE)).exit_code == 0
    out = tmp_path / "site"
    assert cli("site", "-o", str(out)).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (out / "flags.html").unlink()
    (out / "flags.html").mkdir()  # a folder where a page goes
    (out / "notes.txt").write_text("the office's own")
    result = cli("site", "-o", str(out))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert f"a folder is where a page goes: {out / 'flags.html'}" in result.stderr
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == {
        **{p: b for p, b in before.items() if p.name != "flags.html"},
        out / "notes.txt": b"the office's own",
    }
    assert not [p for p in out.iterdir() if p.name.startswith(".ledger-site-")]  # no leftovers


def test_a_long_unbroken_title_does_not_widen_the_pages(cli, tmp_path, chromium):
    url = "https://treaties.example.org/" + "x" * 160
    assert (
        cli(
            "register",
            "url-1",
            "--title",
            f"Pact recorded at {url}",
            "--party",
            "AA",
            "--party-name",
            f"AA={url}",
        ).exit_code
        == 0
    )
    out = tmp_path / "site"
    assert cli("site", "-o", str(out)).exit_code == 0
    for page in ("index.html", "parties/AA.html", "agreements/url-1.html", "parties.html"):
        dom = chromium("--window-size=1200,900", "--dump-dom", (out / page).as_uri())
        assert 'data-ready="yes"' in dom and "data-wide" not in dom, page


def test_the_index_opens_on_what_is_due_overdue_first(cli, tmp_path, chromium):
    from tests.integration.test_due import NOTIFY_KR, pact, register

    register(cli, pact("owed", -10, **NOTIFY_KR))  # the notification is due in 19 days
    register(cli, pact("missed", -60, **NOTIFY_KR))  # it was due 31 days ago
    register(cli, pact("quiet", -60))
    out = tmp_path / "site"
    assert cli("site", "-o", str(out)).exit_code == 0
    dom = chromium("--dump-dom", (out / "index.html").as_uri())
    due = dom.split('id="due-table"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r"agreements/([a-z-]+)\.html", due) == ["missed", "owed"]
    assert due.count("overdue</span>") == 1 and "National Assembly" in due
    assert "Due within 90 days, and overdue" in dom
