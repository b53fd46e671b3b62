"""The metrics pane (issue 20): one curve at a time, picked from a chooser row, as in
W&B's terminal viewer: the step-level train loss, learning rate, gradient norm and
images/s, and the test loss and accuracy per epoch (beside the train ones).

A plot of a long run has far more points than dots across: averaging them into columns
would hide a loss spike or a gradient-norm blow-up, the very thing worth seeing. So
each bucket of points keeps its lowest and its highest, in their order
(:func:`minmax_buckets`): a spike survives at any width.

The x axis is in epochs (a step's x is its fraction of the run's epochs), so step and
epoch curves share it and it reads the same from 3 to 300+ epochs: the window is the
epoch chart's (the most recent ``RECENT_EPOCHS`` or all: ``l``), whole-epoch ticks
spaced for their labels, fractional ones within a first epoch. ``g`` puts the curves
that are positive by nature (losses, learning rate, gradient norm) on a log scale.

Steps come from the dashboard as the engine sent them (the bridge keeps every Step
while it coalesces them); they are kept in growing numpy arrays (a 10-hour run at four
Steps a second is 150k points, a few MB) and drawn only when the pane is on screen and
something changed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static
from textual_plot.axis_formatter import AxisFormatter, NumericAxisFormatter

from ... import events as ev
from ... import format as fmt
from .braille_plot import BraillePlot
from .epoch_chart import (
    RECENT_EPOCHS,
    TEST_MARKER,
    TEST_STYLE,
    TRAIN_MARKER,
    TRAIN_STYLE,
    epoch_ticks,
    epoch_window,
    nice_ticks,
    window_note,
)

STEP_STYLE = TRAIN_STYLE


def minmax_buckets(x: ArrayLike, y: ArrayLike, buckets: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """At most ``2 * buckets`` of the points (x in order): split into ``buckets`` runs of
    equal length (the last shorter), each keeps its minimum and maximum in x order.
    Non-finite values are dropped first (they have no place on a scale)."""
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    n, buckets = len(ys), max(1, buckets)
    if n <= 2 * buckets:
        return xs, ys
    size = -(-n // buckets)  # points a bucket
    rows = -(-n // size)
    padded = np.full(rows * size, np.nan)
    padded[:n] = ys
    grid = padded.reshape(rows, size)  # only the last row has padding, and a real value
    base = np.arange(rows) * size
    lo, hi = np.nanargmin(grid, axis=1) + base, np.nanargmax(grid, axis=1) + base
    index = np.unique(np.concatenate([lo, hi]))  # sorted: each bucket's two in x order
    return xs[index], ys[index]


@dataclass(frozen=True)
class Metric:
    key: str
    label: str  # the chooser's word
    title: str  # the plot's y label
    per_step: bool  # a Step field (else: EpochEnd's train_ and test_ fields)
    positive: bool  # may go on a log scale


METRICS = (
    Metric("loss", "loss", "train loss", True, True),
    Metric("lr", "lr", "learning rate", True, True),
    Metric("grad_norm", "grad", "gradient norm", True, True),
    Metric("images_per_s", "img/s", "images/s", True, False),
    Metric("test_loss", "test loss", "loss by epoch", False, True),
    Metric("test_acc", "test acc", "acc % by epoch", False, False),
)
STEP_FIELDS = tuple(m.key for m in METRICS if m.per_step)


class StepSeries:
    """Each Step's global step and fields, in growing arrays (doubled when full)."""

    def __init__(self, capacity: int = 1024) -> None:
        self._data = np.full((1 + len(STEP_FIELDS), capacity), np.nan)
        self.n = 0

    @property
    def last_step(self) -> float:
        return float(self._data[0, self.n - 1]) if self.n else -math.inf

    def add(self, step: ev.Step) -> bool:
        """Keep ``step`` if it is newer than the last kept (a replayed one is not)."""
        if step.step <= self.last_step:
            return False
        if self.n == self._data.shape[1]:
            self._data = np.concatenate([self._data, np.full_like(self._data, np.nan)], axis=1)
        values = [getattr(step, f) for f in STEP_FIELDS]
        self._data[:, self.n] = [step.step, *(np.nan if v is None else v for v in values)]
        self.n += 1
        return True

    def rewind_to(self, step: int) -> None:
        """A resume trains the steps after ``step`` again: forget them."""
        self.n = int(np.searchsorted(self._data[0, : self.n], step, side="right"))

    def column(self, key: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(global steps, values) of a field, views of the kept points."""
        return self._data[0, : self.n], self._data[1 + STEP_FIELDS.index(key), : self.n]


class CompactFormatter(NumericAxisFormatter):
    """Tick labels that fit the axis' 6 columns: a learning rate of 3e-05 in exponent
    form (decimals would need 7), other values as the chart's."""

    def get_labels_for_ticks(self, ticks: Sequence[float]) -> list[str]:
        top = max((abs(t) for t in ticks), default=0.0)
        if 0 < top < 1e-3 or top >= 1e6:
            return [f"{t:.2g}".replace("e-0", "e-").replace("e+0", "e") for t in ticks]
        return super().get_labels_for_ticks(ticks)


def span(values: NDArray[np.float64], floor0: bool) -> tuple[float, float]:
    """The y axis' limits: the values with a margin (a flat curve gets one of its own
    size, not the chart's 0.01, which would flatten a learning rate of 1e-5)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    pad = (hi - lo) * 0.08 or abs(hi) * 0.05 or 0.01
    return (max(lo - pad, 0.0) if floor0 else lo - pad), hi + pad


class LogFormatter(AxisFormatter):
    """Tick labels of a log10 axis: the values, not their logarithms."""

    def get_ticks(self, min_: float, max_: float, max_ticks: int = 8) -> list[float]:
        return log_ticks(min_, max_, max_ticks)

    def get_labels_for_ticks(self, ticks: Sequence[float]) -> list[str]:
        return [f"{10**t:.2g}" for t in ticks]


def log_ticks(lo: float, hi: float, max_ticks: int) -> list[float]:
    """Ticks of a log10 axis from ``lo`` to ``hi`` (logarithms): the powers of ten in
    range, or with 2 and 5 between them when there are too few; round values in range
    when the span is under a decade."""
    for multiples in ((1,), (1, 2, 5)):
        ticks = [
            math.log10(m) + k
            for k in range(math.floor(lo), math.ceil(hi) + 1)
            for m in multiples
            if lo <= math.log10(m) + k <= hi
        ]
        if len(ticks) >= 2:
            stride = max(1, math.ceil(len(ticks) / max(2, max_ticks)))
            return ticks[::stride]
    return [math.log10(v) for v in nice_ticks(10**lo, 10**hi, max_ticks) if v > 0]


def x_ticks(first: float, last: float, cols: int) -> list[float]:
    """Epoch ticks spaced for their labels: whole epochs once the window spans two."""
    width = len(str(math.ceil(last))) + 3
    most = max(2, cols // max(6, width))
    if last - first >= 2:
        return epoch_ticks(math.ceil(last), most, math.floor(first))
    return nice_ticks(first, last, most)


class Chooser(Static):
    """The row of metric names, the chosen one in reverse video (readable without
    colour); a click picks one. Too narrow for them all, it shows the chosen one
    between arrows."""

    DEFAULT_CSS = "Chooser { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chosen, self.log_scale = 0, False
        self.spans: list[tuple[int, int]] = []  # each name's columns (the whole row only)

    def show(self, chosen: int, log_scale: bool) -> None:
        self.chosen, self.log_scale = chosen, log_scale
        log = "  log" if log_scale and METRICS[chosen].positive else ""
        text, spans = Text(), []
        for i, metric in enumerate(METRICS):
            start = len(text.plain)
            text.append(f" {metric.label} ", style="reverse bold" if i == chosen else "")
            spans.append((start, len(text.plain)))
        if self.size.width and len(text.plain) + len(log) > self.size.width:
            text = Text.assemble("◀ ", (METRICS[chosen].label, "reverse bold"), f" ▶ {chosen + 1}/{len(METRICS)}")
            spans = []
        self.spans = spans
        self.update(text + log)

    def on_resize(self) -> None:
        self.show(self.chosen, self.log_scale)

    def on_click(self, event: events.Click) -> None:
        for i, (start, end) in enumerate(self.spans):
            if start <= event.x < end:
                pane = self.parent
                if isinstance(pane, MetricsPane):
                    pane.choose(i)


class MetricsPane(Vertical, can_focus=True):
    """The chooser row and one plot; fed with events like the other panes."""

    DEFAULT_CSS = """
    MetricsPane BraillePlot { height: 1fr; }
    """
    BINDINGS = [
        # Not in the footer (the pane's border says them): the run's controls stay there.
        Binding("left", "choose(-1)", "Previous metric", show=False, id="metrics.previous", tooltip="Previous curve"),
        Binding("right", "choose(1)", "Next metric", show=False, id="metrics.next", tooltip="Next curve"),
        Binding(
            "g", "log_scale", "Log scale", show=False, id="metrics.log", tooltip="Log scale: losses, lr, gradient norm"
        ),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.steps = StepSeries()
        self.epochs: dict[int, ev.EpochEnd] = {}
        self.steps_per_epoch = 0
        self.chosen = 0
        self.log_scale = False
        self.show_all = False  # the window: the recent epochs (as the chart's) or all
        self._dirty = True
        self._drawn_size: tuple[int, int] | None = None

    def compose(self) -> ComposeResult:
        yield Chooser(id="metric-chooser")
        plot = BraillePlot(id="metric-plot")
        plot.label_at_left = True
        yield plot

    def on_mount(self) -> None:
        self.query_one(Chooser).show(self.chosen, self.log_scale)

    # -- state --------------------------------------------------------------------------
    def apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.steps_per_epoch = event.steps_per_epoch
            self.steps.rewind_to(event.start_step)
            self.epochs = {k: v for k, v in self.epochs.items() if k <= event.start_epoch}
            self._dirty = True
        elif isinstance(event, ev.Step):
            self.add_steps([event])
        elif isinstance(event, ev.EpochEnd):
            self.epochs[event.epoch] = event
            self._dirty = True

    def add_steps(self, steps: Iterable[ev.Step]) -> None:
        """Steps the bridge kept while it coalesced them (a Step seen already is skipped)."""
        for step in steps:
            if self.steps.add(step):
                self.steps_per_epoch = self.steps_per_epoch or step.batches
                self._dirty = True

    @property
    def metric(self) -> Metric:
        return METRICS[self.chosen]

    def choose(self, index: int) -> None:
        self.chosen = index % len(METRICS)
        self._changed_view()

    def action_choose(self, delta: int) -> None:
        self.choose(self.chosen + delta)

    def action_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        if not self.metric.positive:
            self.notify(f"{self.metric.title} stays linear; the log scale is for losses, lr and gradient norm")
        self._changed_view()

    def toggle_view(self) -> None:
        """Recent epochs or all (``l``, with the sparkline and the chart)."""
        self.show_all = not self.show_all
        self._changed_view()

    def _changed_view(self) -> None:
        self._dirty = True
        self.query_one(Chooser).show(self.chosen, self.log_scale)
        self.flush()

    # -- drawing --------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        if (event.size.width, event.size.height) != self._drawn_size:
            self._dirty = True  # ticks and buckets depend on the size
            self.call_after_refresh(self.flush)

    def on_show(self) -> None:
        self.flush()  # what came while it was hidden

    def flush(self) -> None:
        # Drawn when it changed and is on screen (the narrow layout hides it in a tab).
        if not self._dirty or not self.is_mounted or not self.size.area or not self.region:
            return
        plot = self.query_one(BraillePlot)
        if not plot.size.area:
            return
        self._dirty = False
        self._drawn_size = (self.size.width, self.size.height)
        self._draw(plot)

    def _curves(self) -> list[tuple[NDArray[np.float64], NDArray[np.float64], str, str | None]]:
        """(x in epochs, y, style, marker) of the chosen metric: one line for a step
        metric, train and test with their markers for an epoch one."""
        metric = self.metric
        if metric.per_step:
            steps, values = self.steps.column(metric.key)
            return [(steps / max(1, self.steps_per_epoch), values, STEP_STYLE, None)]
        rows = [self.epochs[k] for k in sorted(self.epochs)]
        x = np.array([float(r.epoch) for r in rows])
        name = metric.key.removeprefix("test_")
        return [
            (x, np.array([getattr(r, f"train_{name}") for r in rows]), TRAIN_STYLE, TRAIN_MARKER),
            (x, np.array([getattr(r, f"test_{name}") for r in rows]), TEST_STYLE, TEST_MARKER),
        ]

    def _window(self, metric: Metric, last_x: float) -> tuple[float, float]:
        """The x axis' span in epochs: an epoch metric's as the chart's; a step metric's
        from the run's start (0) to its latest step, or its last ``RECENT_EPOCHS``."""
        if not metric.per_step:
            first, last = epoch_window(math.ceil(last_x), self.show_all)
            return float(first), float(last)
        end = max(last_x, 1e-3)
        return (0.0 if self.show_all or end <= RECENT_EPOCHS else end - RECENT_EPOCHS), end

    def _draw(self, plot: BraillePlot) -> None:
        metric, curves = self.metric, self._curves()
        last_x = max((float(c[0][-1]) for c in curves if len(c[0])), default=1.0)
        first, last = self._window(metric, last_x)
        cols = max(1, plot.size.width - plot.margin_left)
        log = self.log_scale and metric.positive
        plot.clear()
        shown: list[tuple[NDArray[np.float64], NDArray[np.float64], str, str | None]] = []
        for x, y, style, marker in curves:
            keep = x >= first
            x, y = x[keep], y[keep]
            if log:
                x, y = x[y > 0], np.log10(y[y > 0])
            if marker is None:
                x, y = minmax_buckets(x, y, cols)  # two dots a cell across: min and max of each
            shown.append((x, y, style, marker))
        lo, hi = span(np.concatenate([y for _, y, _, _ in shown]), floor0=not log)
        plot.set_xlimits(first, last)
        plot.set_ylimits(lo, hi)
        rows = max(2, (plot.size.height - plot.margin_top - plot.margin_bottom) // 2)
        plot.set_y_formatter(LogFormatter() if log else CompactFormatter())
        plot.set_yticks(log_ticks(lo, hi, rows) if log else nice_ticks(lo, hi, rows))
        plot.set_xticks(x_ticks(first, last, cols))
        for x, y, style, marker in shown:
            if marker is None:
                if len(x) >= 2:
                    plot.plot(x, y, line_style=style)
                elif len(x):
                    plot.scatter(x, y, marker="·", marker_style=style)
            else:
                if len(x) >= 2:
                    plot.plot(x, y, line_style=style)
                plot.scatter(x, y, marker=marker, marker_style=style)
        plot.set_ylabel(self._label(metric, curves))
        plot.set_note(window_note(math.ceil(last_x), self.show_all))

    def _label(
        self, metric: Metric, curves: list[tuple[NDArray[np.float64], NDArray[np.float64], str, str | None]]
    ) -> str:
        """The y label with the latest value: "train loss 0.4321", "lr 1.2e-03"."""
        y = curves[-1][1]
        finite = y[np.isfinite(y)]
        if not len(finite):
            if metric.key == "grad_norm" and self.steps.n:
                return "gradient norm: not in this run's events"  # written before it was recorded
            return f"{metric.title}: no data yet"
        say = LATEST.get(metric.key, lambda v: f"{v:.3g}")
        return f"{metric.title} {say(float(finite[-1]))}"


LATEST = {"loss": fmt.loss, "test_loss": fmt.loss, "lr": fmt.lr, "test_acc": fmt.pct, "images_per_s": fmt.rate}
