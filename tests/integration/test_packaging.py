"""The wheel installs one import name, ``agreement_ledger``, and carries what it needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEFT_BEHIND = ("build", "dist", "*.egg-info")


def _copy_of_the_repository(target: Path) -> Path:
    """The tracked files, without what a checkout accumulates (venvs, caches, builds)."""
    ignore = shutil.ignore_patterns(
        ".git",
        ".venv",
        "__pycache__",
        "*.egg-info",
        "build",
        "dist",
        ".*_cache",
        ".hypothesis",
        "*.db",
        "*.db-wal",
        "*.db-shm",
        "artifacts",
    )
    shutil.copytree(ROOT, target, ignore=ignore)
    return target


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    before = {p.name for pattern in LEFT_BEHIND for p in ROOT.glob(pattern)}
    source = _copy_of_the_repository(folder / "source")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(source)],
        check=True,
        capture_output=True,
    )
    after = {p.name for pattern in LEFT_BEHIND for p in ROOT.glob(pattern)}
    assert after == before, "building the wheel left files in the checkout"
    return next(folder.glob("*.whl"))


def test_the_wheel_installs_a_single_top_level_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    dist_info = {entry for entry in top if entry.endswith(".dist-info")}
    assert len(dist_info) == 1
    assert top - dist_info == {"agreement_ledger"}  # no cli, ledger, projections, migrations


def test_the_wheel_carries_migrations_and_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "agreement_ledger/__init__.py",
        "agreement_ledger/ledger/domain.py",
        "agreement_ledger/projections/templates/report.html.j2",
        "agreement_ledger/cli/main.py",
        "agreement_ledger/migrations/env.py",
        "agreement_ledger/migrations/script.py.mako",
        "agreement_ledger/migrations/versions/0001_event_store.py",
    ):
        assert name in names, name
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert (
        "ledger = agreement_ledger.cli.main:main"
        in zipfile.ZipFile(wheel).read(entry_points).decode()
    )


def test_the_installed_package_creates_a_ledger_from_any_folder(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = [
        sys.executable,
        "-c",
        "import sys, agreement_ledger; from agreement_ledger.cli.main import main; "
        "print(agreement_ledger.__file__, file=sys.stderr); main()",
    ]
    env = {**os.environ, "PYTHONPATH": str(target)}
    example = ROOT / "examples" / "tisa-2014.jsonl"
    done = subprocess.run(
        [*run, "import", str(example)], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "appended 12, skipped 0\n"
    assert str(target) in done.stderr  # the installed copy, not the checkout
    assert (elsewhere / "ledger.db").exists()
