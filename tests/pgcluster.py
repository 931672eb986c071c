"""A throwaway PostgreSQL cluster for the tests: private port, socket and data.

``initdb`` refuses to run as root, so as root the cluster runs as the
``postgres`` system user (``runuser``). Run as ``python -m tests.pgcluster`` to
check that a cluster can be started here.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def find_bin(name: str) -> str | None:
    """A PostgreSQL server program, from Debian's versioned folder or PATH."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    folder: Path
    port: int
    as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        pg_ctl = find_bin("pg_ctl")
        subprocess.run(
            [
                *self.as_user,
                str(pg_ctl),
                "-D",
                str(self.folder / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def unavailable_reason() -> str | None:
    """Why a local cluster cannot be started here, or ``None`` if it can."""
    for name in ("initdb", "pg_ctl"):
        if find_bin(name) is None:
            return f"PostgreSQL server programs not found ({name}); install Debian's postgresql"
    if os.geteuid() == 0 and (shutil.which("runuser") is None or _uid("postgres") is None):
        return "running as root without a 'postgres' user to run the cluster as"
    return None


def _uid(user: str) -> int | None:
    import pwd

    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


def start() -> Cluster:
    """Start a private cluster on loopback; the caller stops it."""
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    folder = Path(tempfile.mkdtemp(prefix="ledger-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        uid = _uid("postgres")
        assert uid is not None
        os.chown(folder, uid, -1)
        folder.chmod(0o700)
    port = _free_port()
    data = folder / "data"
    subprocess.run(
        [
            *as_user,
            str(find_bin("initdb")),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        ],
        capture_output=True,
        check=True,
    )
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    _pg_start(as_user, folder, options)
    return Cluster(folder, port, as_user)


def _pg_start(as_user: list[str], folder: Path, options: str) -> None:
    """Start the server of ``folder/data`` with ``options``, logging to ``folder/log``."""
    subprocess.run(
        [
            *as_user,
            str(find_bin("pg_ctl")),
            "-D",
            str(folder / "data"),
            "-o",
            options,
            "-l",
            str(folder / "log"),
            "-w",
            "start",
        ],
        capture_output=True,
        check=True,
    )


def start_standby(primary: Cluster) -> Cluster:
    """A streaming hot standby of ``primary`` (``pg_basebackup -R``); the caller stops it."""
    folder = Path(tempfile.mkdtemp(prefix="ledger-pg-standby-"))
    if primary.as_user:
        uid = _uid("postgres")
        assert uid is not None
        os.chown(folder, uid, -1)
        folder.chmod(0o700)
    data = folder / "data"
    subprocess.run(
        [
            *primary.as_user,
            str(find_bin("pg_basebackup")),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            str(data),
            "-R",
            "-X",
            "stream",
        ],
        capture_output=True,
        check=True,
    )
    port = _free_port()
    # A hot standby needs at least the primary's max_connections.
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c hot_standby=on "
        "-c max_connections=200"
    )
    _pg_start(primary.as_user, folder, options)
    return Cluster(folder, port, primary.as_user)


if __name__ == "__main__":
    cluster = start()
    print(cluster.url)
    cluster.stop()
