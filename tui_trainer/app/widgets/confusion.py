"""The confusion matrix as a table of counts or of row shares, drawn only where it fits.

A row is a true class and a column a predicted one, numbered as the rows are (a column
of 100 class names would not fit anything). The diagonal is in bold, not only a colour,
so it reads without colour too. With many classes (cifar100: 100 columns of 4 cells or
more) the matrix is wider than the dialog: it is then replaced by a line saying so, and
the worst confusions listed above it carry the figures."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual.widgets import Static


def matrix_table(names: list[str], matrix: list[list[int]], shares: bool) -> Table:
    """The matrix with a row header "i name"; ``shares``: each cell in percent of its
    row (the true class's images), rounded, otherwise the counts; a zero is "·"."""
    table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False, collapse_padding=True)
    table.add_column("true \\ predicted", no_wrap=True, max_width=18, overflow="ellipsis")
    for i in range(len(names)):
        table.add_column(str(i), justify="right", no_wrap=True)
    for t, row in enumerate(matrix):
        total = sum(row) or 1
        cells = [_cell(n, 100 * n / total if shares else None, bold=p == t) for p, n in enumerate(row)]
        table.add_row(Text(f"{t} {names[t]}"), *cells)
    return table


def _cell(count: int, share: float | None, bold: bool) -> Text:
    text = "·" if count == 0 else str(count) if share is None else f"{share:.0f}"
    return Text(text, style="bold" if bold else "")


class ConfusionMatrix(Static):
    """The matrix at the widget's width: the table where it fits, else a line that says
    how wide it would be. Checked again on each resize (the dialog follows the terminal)."""

    DEFAULT_CSS = """
    ConfusionMatrix { height: auto; margin: 0 0 1 0; }
    """

    def __init__(self, names: list[str], matrix: list[list[int]], shares: bool, **kw: Any) -> None:
        super().__init__(**kw)
        self.table = matrix_table(names, matrix, shares)
        self.classes_count = len(names)
        self.fits = False

    def on_resize(self) -> None:
        self.update(self.drawing(self.content_size.width))

    def needed_width(self) -> int:
        console = self.app.console
        return Measurement.get(console, console.options.update_width(10_000), self.table).maximum

    def drawing(self, width: int) -> RenderableType:
        needed = self.needed_width()
        self.fits = needed <= width
        if self.fits:
            return self.table
        n = self.classes_count
        return Text(
            f"The {n}x{n} matrix needs {needed} columns, {width} here: see the worst confusions"
            " (a wider terminal, or eval --json, has it all)."
        )
