"""A pool of forked workers fed while an import writes: results in order per worker,
results held back no further than asked, failures and deaths as one line, never a hang."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from agreement_ledger.ledger.errors import StorageError
from agreement_ledger.ledger.workers import Pool


def square(item: int) -> int:
    if item < 0:
        raise ValueError("negative")
    return item * item


def test_results_come_back_in_the_order_sent_to_each_worker() -> None:
    with Pool(lambda item: item, 2) as pool:
        for n in range(40):
            pool.send(n % 2, n)
        results = [*pool.ready(keep=10), *pool.finish()]
    assert sorted(results) == list(range(40))
    for worker in (0, 1):
        mine = [n for n in results if n % 2 == worker]
        assert mine == sorted(mine)


def test_ready_waits_until_no_more_than_keep_are_in_hand() -> None:
    with Pool(lambda item: (time.sleep(0.01), item)[1], 2) as pool:
        for n in range(30):
            pool.send(n % 2, n)
        first = list(pool.ready(keep=4))
        assert len(first) >= 26  # the rest may still be in the workers' hands
        rest = list(pool.finish())
    assert sorted(first + rest) == list(range(30))


def test_a_failing_item_is_one_line() -> None:
    with Pool(square, 1) as pool:
        pool.send(0, -1)
        with pytest.raises(StorageError, match=r"a worker process failed \(ValueError: negative\)"):
            list(pool.finish())


def test_a_killed_worker_is_one_line_not_a_hang() -> None:
    with Pool(lambda item: (time.sleep(0.2), item)[1], 1) as pool:
        os.kill(pool._workers[0].pid, signal.SIGKILL)  # the death under test
        with pytest.raises(StorageError, match="stopped unexpectedly"):
            for n in range(200):  # its inbox fills: sending notices the death
                pool.send(0, n)
            list(pool.finish())


def test_a_worker_killed_with_a_full_inbox_does_not_hang_the_finish() -> None:
    with Pool(lambda item: (time.sleep(5), item)[1], 1) as pool:
        for n in range(9):  # the inbox is full: one in hand, eight waiting
            pool.send(0, n)
        os.kill(pool._workers[0].pid, signal.SIGKILL)  # the death under test
        with pytest.raises(StorageError, match="stopped unexpectedly"):
            list(pool.finish())


def test_a_worker_interrupted_alone_is_one_line_not_a_hang(ctrl_c_as_at_a_terminal) -> None:
    """Ctrl-C that reaches a worker only (a server handling SIGINT itself): it stops
    without finishing, and exits 0; that is a failure, not a wait for ever."""
    with Pool(lambda item: (time.sleep(0.5), item)[1], 1) as pool:
        pool.send(0, 1)
        time.sleep(0.2)
        os.kill(pool._workers[0].pid, signal.SIGINT)  # the interruption under test
        with pytest.raises(StorageError, match="stopped unexpectedly"):
            list(pool.finish())


def test_a_result_that_cannot_be_sent_is_a_failure() -> None:
    with Pool(lambda item: lambda: item, 1) as pool:  # a function cannot be pickled
        pool.send(0, 1)
        with pytest.raises(StorageError, match="a worker process failed"):
            list(pool.finish())


def test_workers_stop_by_themselves_when_their_caller_dies() -> None:
    """A caller killed outright (the OOM killer, SIGKILL) leaves no worker, and no spilled
    file, behind."""
    script = (
        "import os, sys\n"
        "from agreement_ledger.ledger.workers import Pool\n"
        "pool = Pool(lambda item: item, 2)\n"
        "print(pool._folder, ' '.join(str(w.pid) for w in pool._workers), flush=True)\n"
        "os._exit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    folder, *pids = done.stdout.split()
    assert len(pids) == 2
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(int(pid)) for pid in pids):
        time.sleep(0.2)
    assert not any(_alive(int(pid)) for pid in pids)
    assert not os.path.exists(folder)  # and what was spilled for them is gone


def test_a_spread_worker_stops_by_itself_when_its_caller_dies() -> None:
    """A worker with more to send (a piped import's checking process, a rebuild's worker)
    does not wait for ever on a caller killed outright."""
    script = (
        "import itertools, os\n"
        "from agreement_ledger.ledger.workers import spread\n"
        "def work(share, send):\n"
        "    for n in itertools.count():\n"
        "        send(os.getpid())\n"
        "messages = spread(work, [None], backlog=2)\n"
        "print(next(messages)[1], flush=True)\n"
        "os._exit(0)\n"
    )
    caller = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert caller.stdout is not None
    pid = int(caller.stdout.readline())  # not to the end: the worker holds the pipe too
    caller.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    alive = _alive(pid)
    if alive:
        os.kill(pid, signal.SIGKILL)
    caller.stdout.close()
    assert not alive


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("way", ["spread", "pool"])
def test_a_worker_reads_through_its_own_connection_not_the_callers_transaction(db_url, way) -> None:
    """The event store library joins the transaction in progress in the current context
    (a context variable, inherited by a fork): a worker that did would read the caller's
    uncommitted rows through the caller's connection, which the caller is using."""
    from agreement_ledger.ledger.application import Ledger, Submission
    from agreement_ledger.ledger.domain import agreement_id
    from agreement_ledger.ledger.workers import spread
    from tests.conftest import example_lines

    def stored_events(_share: object, send: object = None) -> int:
        own = Ledger(db_url, check_schema=False)
        try:
            found = len(own.recorder.select_events(agreement_id("tisa-2014")))
        finally:
            own.close()
        if callable(send):
            send(found)
        return found

    ledger = Ledger(db_url)
    lines = example_lines()
    ledger.append([Submission(lines[0])])  # committed: one event
    seen: list[int] = []
    with pytest.raises(RuntimeError), ledger.recorder.transaction(commit=True):
        ledger.append([Submission(line) for line in lines[1:4]])  # joins: not committed
        if way == "spread":
            seen.extend(found for _, found in spread(stored_events, [None]))
        else:
            with Pool(stored_events, 1) as pool:
                pool.send(0, None)
                seen.extend(pool.finish())
        raise RuntimeError("roll back")
    assert seen == [1]
    assert len(ledger.recorder.select_events(agreement_id("tisa-2014"))) == 1
    ledger.close()
