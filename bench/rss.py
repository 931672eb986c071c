"""Run one ledger operation and print its peak resident set size (for the benchmark).

python -m bench.rss rebuild|verify|export|open DB_URL
python -m bench.rss child PROGRAM ARGS...     # a program's own peak, from its exit
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

from agreement_ledger.ledger.application import Ledger
from agreement_ledger.projections.projector import Projector


def child(args: list[str]) -> None:
    """Run a program to its end and print its time and its own peak RSS (the largest
    child's ``ru_maxrss``: this process has only the one)."""
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_kib / 1024}))


def main(operation: str, db: str) -> None:
    ledger = Ledger(db)
    started = time.perf_counter()
    if operation == "rebuild":
        Projector(ledger).rebuild()
    elif operation == "verify":
        assert ledger.verify().ok
    elif operation == "open":
        pass
    elif operation == "export":
        with open("/dev/null", "w") as sink:
            for stored in ledger.store.records():
                sink.write(json.dumps(stored.as_json(), ensure_ascii=False) + "\n")
    else:
        raise SystemExit(f"unknown operation {operation}")
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_rss_kib() / 1024}))


def peak_rss_kib() -> int:
    """This process's own peak resident set (VmHWM).

    ``getrusage``'s ``ru_maxrss`` survives ``exec``: a child of a large parent
    would report the parent's size. ``VmHWM`` belongs to this program alone.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(sys.argv[2:])
    else:
        main(sys.argv[1], sys.argv[2])
