"""The lines of a piped import's checking processes, put back in line order."""

from __future__ import annotations

import pickle

import pytest

from agreement_ledger.ledger.errors import InvalidField
from agreement_ledger.ledger.piping import FINAL, Checked, InOrder, Refused, share_of


def row(position: int) -> tuple[int, str, tuple[str, int, str, bytes]]:
    return position, f"e{position}", ("agr", position + 1, "topic", b"{}")


def refused(position: int) -> Refused:
    return Refused(position, pickle.dumps(InvalidField(f"bad line {position}", line=position)))


def test_lines_come_out_in_line_order_once_every_process_has_passed_them():
    lines = InOrder(2)
    lines.take(0, Checked([row(0), row(2), row(5)], through=5))
    assert list(lines.ready()) == []  # the second process may still send 1, 3 or 4
    lines.take(1, Checked([row(1), row(3)], through=3))
    assert [p for p, _, _ in lines.ready()] == [0, 1, 2, 3]
    lines.take(1, Checked([row(4), row(7)], through=FINAL))
    assert [p for p, _, _ in lines.ready()] == [4, 5]  # 7: the first may still send 6
    lines.take(0, Checked([row(6)], through=FINAL))
    assert [p for p, _, _ in lines.ready()] == [6, 7]


def test_a_refused_line_waits_until_no_process_can_refuse_a_lower_one():
    lines = InOrder(3)
    lines.take(2, refused(9))
    assert lines.refusal() is None  # the others have sent nothing yet
    lines.take(0, Checked([row(0)], through=12))
    assert lines.refusal() is None
    lines.take(1, refused(4))  # reached later, but lower
    error = lines.refusal()
    assert error is not None and pickle.loads(error).line == 4


def test_the_lowest_refusal_wins_whichever_arrives_first():
    for order in ([refused(3), refused(8)], [refused(8), refused(3)]):
        lines = InOrder(2)
        for index, message in enumerate(order):
            lines.take(index, message)
        error = lines.refusal()
        assert error is not None and pickle.loads(error).line == 3


def test_a_refusal_beyond_where_another_process_has_reached_waits_for_it():
    lines = InOrder(2)
    lines.take(0, Checked([], through=2))
    lines.take(1, refused(6))
    assert lines.refusal() is None
    lines.take(0, Checked([row(3)], through=6))
    error = lines.refusal()
    assert error is not None and pickle.loads(error).line == 6


def test_every_line_of_one_agreement_goes_to_one_process():
    keys = [f"agr-{n}" for n in range(200)]
    shares = [share_of(key, 3) for key in keys]
    assert set(shares) == {0, 1, 2}  # spread over all three
    assert shares == [share_of(key, 3) for key in keys]
    assert share_of(None, 3) == 0  # a line naming no agreement: the first process


def test_the_lines_are_complete_only_when_every_process_sent_its_last():
    lines = InOrder(2)
    lines.take(0, Checked([row(0)], through=FINAL))
    lines.take(1, Checked([row(1)], through=4))
    list(lines.ready())
    assert not lines.complete()  # the second process's last message never came
    lines.take(1, Checked([row(5)], through=FINAL))
    assert not lines.complete()  # taken, but not yet written
    list(lines.ready())
    assert lines.complete()


@pytest.mark.parametrize("block", [1, 2, 5, 64, 1 << 20])
def test_an_import_file_is_read_line_by_line_whatever_the_block(block, monkeypatch, tmp_path):
    """Lines across blocks, a line longer than many blocks, CRLF, blank lines and a last
    line without its newline read as ``json_lines`` reads the same bytes."""
    from agreement_ledger.ledger import application

    monkeypatch.setattr(application, "FILE_BLOCK", block)
    data = (
        b'{"agreement": "a", "n": 1}\r\n\n'
        + b'{"agreement": "b", "text": "'
        + b"x" * 300
        + b'"}\n'
        + b"   \n"
        + b'{"agreement": "c", "n": 3}'
    )
    path = tmp_path / "lines.jsonl"
    path.write_bytes(data)
    with path.open("rb") as file:
        read = list(application.file_lines(file)())
        again = list(application.file_lines(file)())  # read afresh from the start
    expected = list(application.json_lines(data.split(b"\n")))
    assert read == again == expected
    assert [s.line for s in read] == [1, 3, 5]
