"""`show` names every notice of termination or withdrawal, not only the latest."""

from __future__ import annotations

from pathlib import Path

HISTORY = Path(__file__).resolve().parents[1] / "fixtures" / "histories"


def test_every_withdrawal_from_a_multilateral_treaty_is_in_the_header(cli):
    imported = cli("import", str(HISTORY / "open-skies-us-withdrawal.jsonl"))
    assert imported.exit_code == 0, imported.stderr
    shown = cli("show", "open-skies-1992")
    assert shown.exit_code == 0
    header = shown.stdout.split("Parties")[0]
    assert "termination notice by US (2020-05-22), effective 2020-11-22: effective" in header
    assert "termination notice by RU (2021-06-18), effective 2021-12-18: effective" in header
