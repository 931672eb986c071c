"""A pool of forked workers fed while an import writes: results in order per worker,
results held back no further than asked, failures and deaths as one line, never a hang."""

from __future__ import annotations

import os
import signal
import time

import pytest

from agreement_ledger.ledger.errors import StorageError
from agreement_ledger.ledger.workers import Pool


def square(item: int) -> int:
    if item < 0:
        raise ValueError("negative")
    return item * item


def test_results_come_back_in_the_order_sent_to_each_worker() -> None:
    pool = Pool(lambda item: item, 2)
    try:
        for n in range(40):
            pool.send(n % 2, n)
        results = [*pool.ready(keep=10), *pool.finish()]
    finally:
        pool.close()
    assert sorted(results) == list(range(40))
    for worker in (0, 1):
        mine = [n for n in results if n % 2 == worker]
        assert mine == sorted(mine)


def test_ready_waits_until_no_more_than_keep_are_in_hand() -> None:
    pool = Pool(lambda item: (time.sleep(0.01), item)[1], 2)
    try:
        for n in range(30):
            pool.send(n % 2, n)
        first = list(pool.ready(keep=4))
        assert len(first) >= 26  # the rest may still be in the workers' hands
        rest = list(pool.finish())
    finally:
        pool.close()
    assert sorted(first + rest) == list(range(30))


def test_a_failing_item_is_one_line() -> None:
    pool = Pool(square, 1)
    try:
        pool.send(0, -1)
        with pytest.raises(StorageError, match=r"a worker process failed \(ValueError: negative\)"):
            list(pool.finish())
    finally:
        pool.close()


def test_a_killed_worker_is_one_line_not_a_hang() -> None:
    pool = Pool(lambda item: (time.sleep(0.2), item)[1], 1)
    try:
        os.kill(pool._workers[0].pid, signal.SIGKILL)  # the death under test
        with pytest.raises(StorageError, match="stopped unexpectedly"):
            for n in range(200):  # its inbox fills: sending notices the death
                pool.send(0, n)
            list(pool.finish())
    finally:
        pool.close()


def test_a_worker_killed_with_a_full_inbox_does_not_hang_the_finish() -> None:
    pool = Pool(lambda item: (time.sleep(5), item)[1], 1)
    try:
        for n in range(9):  # the inbox is full: one in hand, eight waiting
            pool.send(0, n)
        os.kill(pool._workers[0].pid, signal.SIGKILL)  # the death under test
        with pytest.raises(StorageError, match="stopped unexpectedly"):
            list(pool.finish())
    finally:
        pool.close()
