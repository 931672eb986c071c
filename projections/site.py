"""The whole register as a static site: ``ledger site -o DIR``.

Every page is a file that opens from disk (``file://``) with nothing fetched from
anywhere: one stylesheet and one script are written beside the pages, and the index
carries its rows in the page itself, so search, sorting and filtering work without a
server. The filter is kept in the address (``index.html#status=in_force&party=JP``),
so a filtered view can be bookmarked or sent.

Pages: the index (what is due, the verification summary, every agreement), a page per
agreement (the report, as ``ledger report`` writes it), a page per party ("what binds
Japan today?"), every flag, and the verification with the digest (also written as
``digest.json`` for ``ledger verify --digest``).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from agreement_ledger.ledger.durations import duration_words
from agreement_ledger.projections.chart import PERIODS
from agreement_ledger.projections.pages import environment, page_of_agreement, page_of_party

ASSETS = ("site.css", "site.js")

PARTY_STATUS_WORDS = {
    "in_force": "bound (in force)",
    "suspended": "bound, application suspended",
    "provisional": "applying it provisionally",
    "consented": "consent given, not yet in force",
    "signed": "signed, not bound",
    "pending": "named, no step yet",
    "withdrawn": "withdrew",
    "ended": "no longer bound (ended)",
    "succeeded": "succeeded by another state",
}
"""A party's status in words, for "what binds Japan today?"."""

BOUND = frozenset({"in_force", "suspended"})


@dataclass(frozen=True)
class Register:
    """What the site shows, read from the ledger at one moment."""

    states: list[dict[str, Any]]
    """``show`` of every agreement, by key."""
    flags: list[dict[str, Any]]
    due: list[dict[str, Any]]
    within: str
    """The window of the due section (an ISO 8601 duration)."""
    verification: dict[str, Any]
    digest: dict[str, Any]
    generated: str
    """When the site was written (UTC)."""
    report: Callable[[str], str]
    """The report page of an agreement (HTML), with the site's links."""


@dataclass
class Written:
    """What ``write_site`` wrote: the pages, by kind."""

    directory: Path
    agreements: int = 0
    parties: int = 0
    pages: list[Path] = field(default_factory=list)


def party_rows(states: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Every party code's participations: its entry in each agreement, with the agreement."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for state in states:
        for party in state["parties"]:
            rows.setdefault(party["code"], []).append(
                {
                    **party,
                    "agreement": state["agreement"],
                    "title": state["title"],
                    "kind": state["kind"],
                    "agreement_status": state["status"],
                    "bound": party["status"] in BOUND,
                    "status_words": PARTY_STATUS_WORDS.get(party["status"], party["status"]),
                    "flags": [
                        f["code"] for f in state.get("flags", []) if f.get("party") == party["code"]
                    ],
                }
            )
    for participations in rows.values():
        participations.sort(key=lambda r: (not r["bound"], r["agreement"]))
    return dict(sorted(rows.items()))


def index_rows(register: Register) -> list[dict[str, Any]]:
    """One row per agreement, with what the filters look at."""
    rows = []
    for state in register.states:
        codes = sorted({f["code"] for f in state.get("flags", [])})
        rows.append(
            {
                "key": state["agreement"],
                "title": state["title"],
                "kind": state["kind"] or "",
                "status": state["status"],
                "in_force": state["entered_into_force"] or "",
                "parties": [p["code"] for p in state["parties"]],
                "party_names": [p["name"] for p in state["parties"] if p.get("name")],
                "flags": codes,
                "flag_count": len(state.get("flags", [])),
            }
        )
    return rows


def write_site(directory: Path, register: Register) -> Written:
    """Write every page of the site into ``directory`` (made if missing; pages of an
    earlier site there are replaced, nothing else is touched).

    The pages are written into a hidden folder inside it first and moved in only when
    all of them are ready, so a failure (a full disk, a page that cannot be rendered)
    leaves an earlier site whole rather than half old and half new; a name in the way (a
    folder where a page goes, a file where a folder goes) is refused before anything
    moves.
    """
    directory.mkdir(parents=True, exist_ok=True)
    # Inside the folder, so that moving a page in is a rename on one file system (the
    # folder may be a mount point) and needs no right to write beside it.
    staging = Path(tempfile.mkdtemp(prefix=".ledger-site-", dir=directory))
    try:
        written = _render_into(staging, register)
        files = sorted(path.relative_to(staging) for path in staging.rglob("*") if path.is_file())
        for relative in files:
            _check_room(directory, relative)
        for relative in files:
            target = directory / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    written.directory = directory
    written.pages = [directory / page.relative_to(staging) for page in written.pages]
    return written


def _check_room(directory: Path, relative: Path) -> None:
    """Refuse (``OSError`` naming it) anything in the way of writing ``relative``."""
    target = directory / relative
    for folder in [directory, *(directory / parent for parent in reversed(relative.parents[:-1]))]:
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "a file is where a folder goes", str(folder))
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a folder is where a page goes", str(target))


def _render_into(directory: Path, register: Register) -> Written:
    """Write every page of the site into the empty folder ``directory``."""
    env = environment()
    env.globals["periods"] = PERIODS
    written = Written(directory)
    (directory / "agreements").mkdir(parents=True, exist_ok=True)
    (directory / "parties").mkdir(parents=True, exist_ok=True)
    for asset in ASSETS:
        source = files("agreement_ledger.projections").joinpath("templates", asset)
        with source.open("rb") as data, (directory / asset).open("wb") as out:
            shutil.copyfileobj(data, out)
    by_party = party_rows(register.states)
    common = {
        "generated": register.generated,
        "verification": register.verification,
        "digest": register.digest,
    }

    def page(path: str, template: str, **values: Any) -> None:
        depth = path.count("/")
        html = env.get_template(template).render(root="../" * depth, **common, **values)
        target = directory / path
        target.write_text(html, encoding="utf-8")
        written.pages.append(target)

    rows = index_rows(register)
    page(
        "index.html",
        "site_index.html.j2",
        rows=rows,
        statuses=sorted({r["status"] for r in rows}),
        kinds=sorted({r["kind"] for r in rows if r["kind"]}),
        party_codes=list(by_party),
        flag_codes=sorted({code for r in rows for code in r["flags"]}),
        due=register.due,
        within_words=duration_words(register.within),
        flag_count=len(register.flags),
    )
    page("parties.html", "site_parties.html.j2", by_party=by_party)  # not parties/index.html:
    # a party coded INDEX would overwrite it on a case-insensitive disk
    for code, participations in by_party.items():
        page(page_of_party(code), "site_party.html.j2", code=code, rows=participations)
        written.parties += 1
    page("flags.html", "site_flags.html.j2", flags=register.flags)
    digest_text = json.dumps(register.digest, indent=2, ensure_ascii=False) + "\n"
    page("verification.html", "site_verification.html.j2", digest_text=digest_text)
    (directory / "digest.json").write_text(digest_text, encoding="utf-8")
    for state in register.states:
        target = directory / page_of_agreement(state["agreement"])
        target.write_text(register.report(state["agreement"]), encoding="utf-8")
        written.pages.append(target)
        written.agreements += 1
    return written


__all__ = ["Register", "Written", "party_rows", "write_site"]
