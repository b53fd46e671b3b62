"""The per-epoch table, with the best epoch marked."""

from __future__ import annotations

from rich.text import Text

from ... import events as ev
from ... import format as fmt
from ... import wording
from .row_table import RowTable

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


class EpochTable(RowTable):
    """One row per epoch; the best test accuracy is recomputed here (a resumed run's
    EpochEnd.best only knows its own process)."""

    DEFAULT_CSS = """
    EpochTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__([label for label, _ in COLUMNS], id=id, classes=classes, zebra_stripes=True)
        self.rows_by_epoch: dict[int, ev.EpochEnd] = {}
        self.best_epoch: int | None = None
        self._dirty = False
        self._changed: set[int] = set()

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
        existing = [int(k) for k in self.row_keys]  # every row's key is str(epoch)
        if existing != wanted[: len(existing)]:
            self.clear()
            existing = []
        touched = set(existing) & (self._changed | {best, self.best_epoch})
        self._changed.clear()
        for epoch in sorted(touched):
            self.update_row(str(epoch), self._cells(self.rows_by_epoch[epoch], epoch == best))
        self.add_rows(
            (str(epoch), self._cells(self.rows_by_epoch[epoch], epoch == best)) for epoch in wanted[len(existing) :]
        )
        self.best_epoch = best
        if at_end and self.row_count:
            # Follow new epochs unless the user moved up to look at an older one.
            self.move_cursor(self.row_count - 1)
