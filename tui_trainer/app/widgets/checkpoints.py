"""The checkpoints pane: saved files, updated as the engine saves and prunes them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from ... import events as ev
from ... import format as fmt

# The file name last: it is the longest (and repeats epoch and accuracy), so a narrow
# pane cuts it rather than the columns that tell the checkpoints apart.
COLUMNS = (("epoch", "epoch"), ("acc", "acc"), ("kind", "kind"), ("best", "best"), ("size", "size"), ("file", "file"))


@dataclass
class CheckpointRow:
    path: str
    epoch: int
    step: int
    acc: float | None
    size: int
    reason: str


class CheckpointsTable(DataTable):
    """Select a row, then ``e`` evaluates it or ``r`` resumes training from it."""

    BINDINGS = [
        Binding("e", "evaluate", "Evaluate", id="checkpoint.evaluate"),
        Binding("r", "resume", "Resume", id="checkpoint.resume"),
    ]

    class Chosen(Message):
        """The user asked to evaluate or resume a checkpoint."""

        def __init__(self, action: str, row: CheckpointRow) -> None:
            super().__init__()
            self.action = action
            self.row = row

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row")
        self.entries: dict[str, CheckpointRow] = {}
        self._dirty = False

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            self.add_column(label, key=key)

    def apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.CheckpointSaved):
            self.entries[event.path] = CheckpointRow(
                event.path, event.epoch, event.step, event.test_acc, event.size, event.reason
            )
            self._dirty = True
        elif isinstance(event, ev.CheckpointRemoved):
            if self.entries.pop(event.path, None) is not None:
                self._dirty = True

    def best_path(self) -> str | None:
        """The checkpoint with the highest test accuracy among those still on disk; of
        equals, the first (the one best.pt points to: see CheckpointSaver.best)."""
        scored = [r for r in self.entries.values() if r.acc is not None and r.acc == r.acc]

        def rank(r: CheckpointRow) -> tuple[float, int]:
            assert r.acc is not None  # only the scored ones are ranked
            return (round(r.acc, 2), -r.step)

        return max(scored, key=rank).path if scored else None

    def flush(self) -> None:
        # A few rows at most (keep_last + keep_best): rebuilding them is simplest.
        if not self._dirty or not self.is_mounted:
            return
        self._dirty = False
        selected = self.selected()
        best = self.best_path()
        self.clear()
        for row in sorted(self.entries.values(), key=lambda r: (r.step, r.path)):
            self.add_row(
                Text(str(row.epoch), justify="right"),
                Text(fmt.pct(row.acc), justify="right"),
                Text(row.reason),
                Text(fmt.BEST_MARK, style="bold green", justify="center") if row.path == best else Text(""),
                Text(fmt.size(row.size), justify="right"),
                Text(Path(row.path).name),
                key=row.path,
            )
        if self.row_count:
            keys = [k.value for k in self.rows]
            self.move_cursor(
                row=keys.index(selected.path) if selected and selected.path in keys else len(keys) - 1, animate=False
            )

    def selected(self) -> CheckpointRow | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - no valid cursor
            return None
        return self.entries.get(key) if key is not None else None

    def _choose(self, action: str) -> None:
        row = self.selected()
        if row is None:
            self.app.notify("No checkpoint selected", severity="warning")
            return
        self.post_message(self.Chosen(action, row))

    def action_evaluate(self) -> None:
        self._choose("evaluate")

    def action_resume(self) -> None:
        self._choose("resume")
