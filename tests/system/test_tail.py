"""SystemTail: system.jsonl read as it grows, by byte offset; a partial last line
waits for its end, a truncated or replaced file is read again from its start."""

from __future__ import annotations

import json
import os

from tui_trainer.system.tail import SystemTail


def line(i: int) -> str:
    return json.dumps({"time": float(i), "cpu_percent": i, "gpus": []}) + "\n"


def append(path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)


def times(samples: list[dict]) -> list[float]:
    return [s["time"] for s in samples]


def test_a_file_not_there_yet_reads_as_nothing_then_its_lines(tmp_path):
    path = tmp_path / "system.jsonl"
    tail = SystemTail(path)
    assert tail.read() == []
    append(path, line(1) + line(2))
    assert times(tail.read()) == [1.0, 2.0]
    assert tail.read() == []  # nothing new
    append(path, line(3))
    assert times(tail.read()) == [3.0]


def test_a_partial_last_line_is_taken_whole_at_the_next_read(tmp_path):
    path = tmp_path / "system.jsonl"
    tail = SystemTail(path)
    whole = line(2)
    append(path, line(1) + whole[:10])
    assert times(tail.read()) == [1.0]
    assert tail.offset == len(line(1))
    assert tail.read() == []  # still no end to it
    append(path, whole[10:])
    assert times(tail.read()) == [2.0]


def test_bad_lines_are_skipped(tmp_path):
    path = tmp_path / "system.jsonl"
    cut = line(2)[:15]  # a kill cut it short; the next process appended after it
    append(path, line(1) + cut + line(3) + "[1, 2]\n" + "\n" + "not json\n" + line(4))
    with open(path, "ab") as f:
        f.write(b"\xff\xfe{\n")  # not UTF-8
    append(path, line(5))
    assert times(SystemTail(path).read()) == [1.0, 4.0, 5.0]


def test_a_truncated_file_is_read_from_its_start(tmp_path):
    path = tmp_path / "system.jsonl"
    tail = SystemTail(path)
    append(path, line(1) + line(2) + line(3))
    assert len(tail.read()) == 3
    path.write_text(line(7))  # shorter than the offset: rewritten in place
    assert times(tail.read()) == [7.0]


def test_a_replaced_file_is_read_from_its_start_even_when_longer(tmp_path):
    path = tmp_path / "system.jsonl"
    tail = SystemTail(path)
    append(path, line(1))
    assert len(tail.read()) == 1
    other = tmp_path / "other.jsonl"
    other.write_text(line(7) + line(8) + line(9))
    os.replace(other, path)  # another inode at the same path
    assert times(tail.read()) == [7.0, 8.0, 9.0]


def test_the_backlog_bounds_the_first_read_to_the_file_s_end(tmp_path):
    path = tmp_path / "system.jsonl"
    append(path, "".join(line(i) for i in range(100, 200)))
    size = len(line(100))  # every line is as long
    tail = SystemTail(path, backlog_bytes=3 * size + 5)  # the last 3 lines and part of one
    assert times(tail.read()) == [197.0, 198.0, 199.0]
    append(path, line(200))
    assert times(tail.read()) == [200.0]
    # A backlog that starts exactly at a line's start keeps that line.
    assert times(SystemTail(path, backlog_bytes=2 * size).read()) == [199.0, 200.0]
    # A file within the backlog is read whole.
    assert len(SystemTail(path, backlog_bytes=10**9).read()) == 101


def test_a_backlog_inside_one_long_partial_line_waits_for_the_next(tmp_path):
    path = tmp_path / "system.jsonl"
    append(path, line(1) + line(2)[:12])
    tail = SystemTail(path, backlog_bytes=8)  # inside the partial line: nothing whole yet
    assert tail.read() == []
    append(path, line(2)[12:] + line(3))
    assert times(tail.read()) == [3.0]  # line 2 began before the backlog: cut, skipped
