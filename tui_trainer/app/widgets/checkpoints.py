"""The checkpoints pane: saved files, updated as the engine saves and prunes them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from ... import events as ev
from ... import format as fmt
from .row_table import RowTable

# The file name last: it is the longest (and repeats epoch and accuracy), so a narrow
# pane cuts it rather than the columns that tell the checkpoints apart.
COLUMNS = (("epoch", "epoch"), ("acc", "acc"), ("kind", "kind"), ("best", "best"), ("size", "size"), ("file", "file"))


@dataclass
class CheckpointRow:
    path: str
    epoch: int  # the position it holds, as events.py words positions
    step: int  # global: the order of the saves
    acc: float | None
    size: int
    reason: str
    epoch_step: int = 0
    epoch_steps: int = 0  # 0: an older run's event, whose epoch is the epochs done

    @property
    def epochs_done(self) -> int:
        """The epochs trained: what a resume from this checkpoint continues after."""
        return self.epoch - 1 if self.epoch_step < self.epoch_steps else self.epoch

    def where(self) -> str:
        """The epoch column: "2" at the end of epoch 2, "2 (13/32)" at step 13 inside it."""
        if self.epoch_step < self.epoch_steps:
            return f"{self.epoch} ({self.epoch_step}/{self.epoch_steps})"
        return str(self.epoch)


class CheckpointsTable(RowTable):
    """Select a row, then ``e`` (or enter, in the table) evaluates it or ``r`` resumes
    training from it."""

    BINDINGS = [
        Binding("e,enter", "evaluate", "Evaluate", id="checkpoint.evaluate"),
        Binding("r", "resume", "Resume", id="checkpoint.resume"),
    ]

    class Chosen(Message):
        """The user asked to evaluate or resume a checkpoint."""

        def __init__(self, action: str, row: CheckpointRow) -> None:
            super().__init__()
            self.action = action
            self.row = row

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__([label for label, _ in COLUMNS], id=id, classes=classes)
        self.entries: dict[str, CheckpointRow] = {}
        self._dirty = False

    def apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.CheckpointSaved):
            self.entries[event.path] = CheckpointRow(
                event.path,
                event.epoch,
                event.step,
                event.test_acc,
                event.size,
                event.reason,
                event.epoch_step,
                event.epoch_steps,
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
        if not self._dirty or not self.is_mounted:
            return
        self._dirty = False
        selected = self.selected()
        best = self.best_path()
        self.set_rows(
            [
                (
                    row.path,
                    (
                        Text(row.where(), justify="right"),
                        Text(fmt.pct(row.acc), justify="right"),
                        Text(row.reason),
                        Text(fmt.BEST_MARK, style="bold green", justify="center") if row.path == best else Text(""),
                        Text(fmt.size(row.size), justify="right"),
                        Text(Path(row.path).name),
                    ),
                )
                for row in sorted(self.entries.values(), key=lambda r: (r.step, r.path))
            ]
        )
        if self.row_count:
            # The selected checkpoint stays selected while it is on disk; else the newest.
            index = self.row_count - 1
            if selected is not None and selected.path in self:
                index = self.get_row_index(selected.path)
            self.move_cursor(index)

    def selected(self) -> CheckpointRow | None:
        key = self.cursor_key
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
