"""Reading a growing ``system.jsonl`` (:mod:`.sampler`) as it is written: the samples
added since the previous read.

The file is appended to by another thread or process while it is read, so a read may
end in the middle of a line: only whole lines are taken, and the byte offset stays at
the start of the partial one, which the next read takes whole. A run resumed from
scratch or a folder copied over may leave a shorter or another file at the same path:
a file smaller than the offset, or another inode, is read again from its start.

The dashboard needs the last few minutes of samples, not a long run's whole history
(a day of samples is about 15 MB, parsed in the UI thread): ``backlog_bytes`` bounds
the first read to the end of the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class SystemTail:
    """The samples appended to ``path`` since the previous :meth:`read`; a file that
    does not exist yet reads as no samples (the sampler creates it at its first)."""

    def __init__(self, path: Path | str, backlog_bytes: int | None = None) -> None:
        """``backlog_bytes``: where the file is longer than this at the first read (or
        a re-read from the start), only its last whole lines within that many bytes."""
        self.path = Path(path)
        self.backlog_bytes = backlog_bytes
        self.offset = 0  # the start of the first line not taken yet
        self._file_id: tuple[int, int] | None = None  # (st_dev, st_ino) of the file read

    def read(self) -> list[dict[str, Any]]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return []
        file_id = (st.st_dev, st.st_ino)
        if file_id != self._file_id or st.st_size < self.offset:
            self._file_id, self.offset = file_id, 0  # replaced or truncated: from its start
        if st.st_size == self.offset:
            return []  # the usual case between samples: no open, no read
        start, skip_partial = self._start(st.st_size)
        try:
            with open(self.path, "rb") as f:
                f.seek(start)
                data = f.read()
        except FileNotFoundError:
            return []  # removed between the stat and the open
        return self._take(data, start, skip_partial)

    def _start(self, size: int) -> tuple[int, bool]:
        """Where to read from, and whether the bytes up to the first newline there are
        the tail of a line before it (a backlog start lands anywhere in a line)."""
        if self.offset or self.backlog_bytes is None or size <= self.backlog_bytes:
            return self.offset, False
        # One byte before the backlog: if it is a newline, the backlog starts a line.
        return size - self.backlog_bytes - 1, True

    def _take(self, data: bytes, start: int, skip_partial: bool) -> list[dict[str, Any]]:
        first = data.find(b"\n") + 1 if skip_partial else 0
        end = data.rfind(b"\n") + 1
        if end <= first:
            # No whole line yet after the skipped part: the next read starts there.
            self.offset = start + first
            return []
        self.offset = start + end
        return parse_lines(data[first:end])


def parse_lines(data: bytes) -> list[dict[str, Any]]:
    """The JSON objects of whole lines; anything else (a line two writers or a kill cut
    short, a stray non-object) is skipped, not an error: a figure is not worth one."""
    out = []
    for line in data.splitlines():
        try:
            item = json.loads(line)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
            continue
        if isinstance(item, dict):
            out.append(item)
    return out
