"""The loss sparkline: training loss over recent steps, mean per column.

Drawn here rather than with Textual's Sparkline widget: that one blends a colour per
column and row, and it is repainted with every Step, so its cost comes out of the
UI thread's budget (pacing.py); plain block characters in one style cost a fraction.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from statistics import fmean

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Static

from ... import format as fmt

RECENT = 240  # Step events shown in "recent" view (about a minute at 4 per second)
BARS = "▁▂▃▄▅▆▇█"


def column_means(values: list[float], width: int) -> list[float]:
    """``values`` in at most ``width`` columns, each the mean of its share of them;
    fewer values than columns keep one column each (the line grows with the run)."""
    n = len(values)
    if n <= width:
        return list(values)
    return [fmean(values[i * n // width : (i + 1) * n // width]) for i in range(width)]


def spark_rows(values: list[float], width: int, height: int) -> list[str]:
    """The sparkline as ``height`` rows of block characters, top row first: each
    column's mean on a scale from the lowest to the highest, in 8 steps per row. Every
    column shows at least the lowest bar, so a flat line is still visible."""
    if width < 1 or height < 1:
        return []
    cols = column_means(values, width)
    if not cols:
        return [" " * width] * (height - 1) + ["▁" * width]
    lo, hi = min(cols), max(cols)
    steps = height * len(BARS)
    levels = [1 + round((v - lo) / (hi - lo) * (steps - 1)) if hi > lo else 1 for v in cols]
    rows = []
    for row in range(height):
        base = (height - 1 - row) * len(BARS)
        line = []
        for level in levels:
            fill = level - base
            line.append(" " if fill <= 0 else "█" if fill >= len(BARS) else BARS[fill - 1])
        rows.append("".join(line).ljust(width))
    return rows


class SparkBars(Widget):
    """A sparkline of ``data`` filling the widget (mean per column)."""

    DEFAULT_CSS = """
    SparkBars { color: $success; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data: list[float] = []

    def set_data(self, data: list[float]) -> None:
        self.data = data
        self.refresh()  # a fixed size: repaint only

    def render(self) -> Text:
        return Text("\n".join(spark_rows(self.data, self.size.width, self.size.height)), no_wrap=True)


class HalvingBuffer:
    """A whole run's values in fixed memory.

    When full, adjacent pairs are averaged (the resolution halves) and later values
    are averaged in groups of the new stride, so the buffer always spans the run.
    """

    def __init__(self, capacity: int = 1024) -> None:
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self.capacity = capacity
        self.stride = 1
        self.values: list[float] = []
        self.total = 0  # values appended, ever
        self._sum = 0.0
        self._n = 0

    def append(self, value: float) -> None:
        self.total += 1
        self._sum += value
        self._n += 1
        if self._n < self.stride:
            return
        self.values.append(self._sum / self._n)
        self._sum, self._n = 0.0, 0
        if len(self.values) >= self.capacity:
            v = self.values
            self.values = [(v[i] + v[i + 1]) / 2 for i in range(0, len(v) - 1, 2)]
            self.stride *= 2

    def points(self) -> list[float]:
        """The values, plus the mean of the group still filling up."""
        return self.values + ([self._sum / self._n] if self._n else [])

    def __len__(self) -> int:
        return len(self.values) + (1 if self._n else 0)


class LossSparkline(Horizontal):
    """Label (latest loss, view) on the left, the sparkline on the right."""

    DEFAULT_CSS = """
    LossSparkline { height: auto; }
    LossSparkline > #loss-label { width: 16; height: 100%; }
    LossSparkline > SparkBars { width: 1fr; height: 100%; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.recent: deque[tuple[int, float]] = deque(maxlen=RECENT)
        self.history = HalvingBuffer(1024)
        self.show_all = False
        self.last_step: int | None = None
        self._dirty = False

    def compose(self) -> ComposeResult:
        yield Static("loss\nwaiting…", id="loss-label")
        # Mean per column: max would turn every noisy batch into a spike.
        yield SparkBars(id="loss-spark")

    def add(self, points: Iterable[tuple[int, float]]) -> None:
        for step, value in points:
            if self.last_step is not None and step <= self.last_step:
                continue  # already shown (replayed history)
            self.last_step = step
            if not math.isfinite(value):
                continue  # a NaN ends the run as Failed; it must not break the scale
            self.recent.append((step, value))
            self.history.append(value)
            self._dirty = True

    def rewind_to(self, step: int) -> None:
        """A resumed run continues from ``step``: later points are trained again."""
        while self.recent and self.recent[-1][0] > step:
            self.recent.pop()
        self.last_step = step
        self._dirty = True

    def toggle_view(self) -> None:
        self.show_all = not self.show_all
        self._dirty = True
        self.flush()

    def flush(self) -> None:
        if not self._dirty or not self.is_mounted:
            return
        self._dirty = False
        data = self.history.points() if self.show_all else [v for _, v in self.recent]
        self.query_one("#loss-spark", SparkBars).set_data(data)
        if data:
            latest = self.recent[-1][1] if self.recent else data[-1]
            if self.show_all:
                view = f"all {fmt.plural(self.last_step or 0, 'step')}"
            else:
                view = f"steps {fmt.number(self.recent[0][0])}+" if self.recent else ""
            text = f"loss {fmt.loss(latest)}\nmin  {fmt.loss(min(data))}\n{view}"
        else:
            text = "loss\nwaiting…"
        self.query_one("#loss-label", Static).update(text, layout=False)  # fixed size: repaint only
