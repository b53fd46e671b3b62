"""The per-epoch table, with the best epoch marked."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from ... import events as ev
from ... import format as fmt
from ... import wording

COLUMNS = (
    ("ep", "epoch"),
    ("tr loss", "train_loss"),
    ("tr acc", "train_acc"),
    ("te loss", "test_loss"),
    ("te acc", "test_acc"),
    ("lr", "lr"),
    ("time", "seconds"),
    ("img/s", "images_per_s"),
    ("best", "best"),
)


def _epoch_of(key: RowKey) -> int:
    assert key.value is not None  # every row is added with key=str(epoch)
    return int(key.value)


class EpochTable(DataTable):
    """One row per epoch; the best test accuracy is recomputed here (a resumed run's
    EpochEnd.best only knows its own process)."""

    DEFAULT_CSS = """
    EpochTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.rows_by_epoch: dict[int, ev.EpochEnd] = {}
        self.best_epoch: int | None = None
        self._dirty = False
        self._changed: set[int] = set()

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            self.add_column(label, key=key)

    def apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            stale = [k for k in self.rows_by_epoch if k > event.start_epoch]
            for k in stale:
                del self.rows_by_epoch[k]
            self._dirty = self._dirty or bool(stale)
        elif isinstance(event, ev.EpochEnd):
            self.rows_by_epoch[event.epoch] = event
            self._changed.add(event.epoch)
            self._dirty = True

    def _best(self) -> int | None:
        best = None
        for epoch in sorted(self.rows_by_epoch):
            acc = self.rows_by_epoch[epoch].test_acc
            if acc == acc and (best is None or acc > self.rows_by_epoch[best].test_acc):
                best = epoch
        return best

    @staticmethod
    def _cells(e: ev.EpochEnd, best: bool) -> list[Text]:
        values = (str(e.epoch), *wording.epoch_figures(e))
        cells = [Text(v, justify="right") for v in values]
        cells.append(Text(fmt.BEST_MARK, style="bold green", justify="center") if best else Text(""))
        return cells

    def flush(self) -> None:
        """Bring the rows in line with the events seen (cheap: per epoch, not per step)."""
        if not self._dirty or not self.is_mounted:
            return
        self._dirty = False
        at_end = self.row_count == 0 or self.cursor_row >= self.row_count - 1
        best = self._best()
        wanted = sorted(self.rows_by_epoch)
        existing = [_epoch_of(k) for k in self.rows]
        if existing != wanted[: len(existing)]:
            self.clear()
            existing = []
        touched = set(existing) & (self._changed | {best, self.best_epoch})
        self._changed.clear()
        for epoch in sorted(touched):
            for (_, key), cell in zip(COLUMNS, self._cells(self.rows_by_epoch[epoch], epoch == best), strict=True):
                self.update_cell(str(epoch), key, cell)
        for epoch in wanted[len(existing) :]:
            self.add_row(*self._cells(self.rows_by_epoch[epoch], epoch == best), key=str(epoch))
        self.best_epoch = best
        if at_end and self.row_count:
            # Follow new epochs unless the user moved up to look at an older one.
            self.move_cursor(row=self.row_count - 1, animate=False)
