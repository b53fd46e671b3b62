"""Per-epoch curves with axes: train/test loss and train/test accuracy.

A plot has one y axis, and loss and accuracy have unrelated scales, so there are two
plots. They sit side by side when the pane is wide or short, stacked when it is narrow
and tall enough for two.
Train and test differ by marker as well as by colour, so the chart still reads with
NO_COLOR.

The x axis spans the epochs trained so far, not the run's planned total (epoch 5 of
300 fills the plot, not a sixtieth of it), in one of two windows, as the loss
sparkline's: the most recent ``RECENT_EPOCHS`` epochs (the y axis then fits them:
a long run's late epochs are not flattened by its first) or all of them. ``l``
switches; a run no longer than the window looks the same in both.

The dashboard's chart and the runs screen's comparison are BraillePlots
(``braille_plot.py``: drawn when painted, a tenth of textual-plot's cost, and every
character of a plot redrawn, so a shorter label leaves nothing of a longer one).
``make_plot`` (textual-plot's PlotWidget) is the reference its look is tested
against; ``draw`` draws on either.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from contextlib import ExitStack

from textual.app import ComposeResult, RenderResult
from textual.containers import Container
from textual.events import Resize
from textual.geometry import Size
from textual.reactive import reactive
from textual_hires_canvas import Canvas
from textual_plot import HiResMode, PlotWidget
from textual_plot.axis_formatter import NumericAxisFormatter

from ... import events as ev
from .braille_plot import BraillePlot

TRAIN_STYLE = "bright_cyan"
TEST_STYLE = "bright_magenta"
TRAIN_MARKER = "+"
TEST_MARKER = "o"
# Runs in a comparison: a colour and a marker each (the marker is what NO_COLOR keeps).
SERIES = [
    ("bright_cyan", "o"),
    ("bright_magenta", "x"),
    ("bright_yellow", "+"),
    ("bright_green", "*"),
    ("bright_red", "#"),
    ("bright_blue", "@"),
    ("white", "%"),
    ("cyan", "&"),
]
MARKER_SPACING = 3  # columns between a series' markers, at the least
RECENT_EPOCHS = 50  # the epochs the "recent" window shows
SIDE_BY_SIDE_WIDTH = 70  # the chart's plots side by side from this width on, or when
STACKED_HEIGHT = 16  # the pane is shorter than this: each stacked plot gets 8 rows
LEGEND = f"[{TRAIN_STYLE}]─{TRAIN_MARKER}─ train[/]  [{TEST_STYLE}]─{TEST_MARKER}─ test[/]"


def nice_ticks(lo: float, hi: float, max_ticks: int) -> list[float]:
    """At most ``max_ticks`` round ticks in [lo, hi] (1, 2, 5 × 10^k steps)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo or max_ticks < 2:
        return [lo] if math.isfinite(lo) else []
    span = hi - lo
    for step in (m * 10**p for p in range(math.floor(math.log10(span / max_ticks)) - 1, 12) for m in (1, 2, 5)):
        first = math.ceil(lo / step - 1e-9)
        last = math.floor(hi / step + 1e-9)
        if last - first + 1 <= max_ticks:
            # Rounded to the step's own digits (a fixed 10 made 1e-12 steps all 0).
            digits = max(0, 2 - math.floor(math.log10(step)))
            return [round(k * step, digits) for k in range(first, last + 1)]
    return [lo, hi]


def epoch_ticks(last: int, max_ticks: int, first: int = 1) -> list[float]:
    """Whole epochs only (a tick at 1.5 epochs means nothing)."""
    ticks = [t for t in nice_ticks(first, max(first + 1, last), max(2, max_ticks)) if float(t).is_integer()]
    return ticks or [float(first)]


def epoch_window(last: int, show_all: bool) -> tuple[int, int]:
    """The first and last epoch the x axis spans: every epoch so far, or the most
    recent ``RECENT_EPOCHS``; two at the least (an axis needs a span)."""
    last = max(2, last)
    return (1 if show_all else max(1, last - RECENT_EPOCHS + 1)), last


def window_note(last: int, show_all: bool) -> str:
    """What the plot says of its window, once the two windows differ (``l`` switches)."""
    if last <= RECENT_EPOCHS:
        return ""
    return f"all {last} · l: recent" if show_all else f"last {RECENT_EPOCHS} of {last} · l: all"


def limits(values: Iterable[float], floor0: bool = False) -> tuple[float, float]:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return (0.0, 1.0)
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.08 or max(abs(hi) * 0.05, 0.01)
    lo, hi = lo - pad, hi + pad
    if floor0:
        lo = max(lo, 0.0)
    return lo, hi


class CompactPlot(PlotWidget, can_focus=False):
    """A PlotWidget with thin margins (rows are scarce at 80x24) that Tab skips over:
    the chart is not zoomed or panned here, it follows the run."""

    margin_top = reactive(1)
    margin_bottom = reactive(1)
    margin_left = reactive(7)

    def render(self) -> RenderResult:
        # PlotWidget draws on its canvases here, and a canvas refreshes itself for every
        # pixel and label it is given (a Widget.refresh each: a third of a redraw's
        # time): each canvas refreshes once, when the drawing is done.
        with ExitStack() as stack:
            for canvas in self.query(Canvas):
                stack.enter_context(canvas.batch_refresh())
            return super().render()


def make_plot(id: str) -> CompactPlot:
    return CompactPlot(id=id, allow_pan_and_zoom=False)


def draw(
    plot: PlotWidget | BraillePlot,
    label: str,
    series: Sequence[tuple[list[float], list[float], str, str]],
    x_last: int,
    floor0: bool = False,
    x_first: int = 1,
) -> None:
    """Redraw ``plot``: each series is (x, y, style, marker), its points from epoch
    ``x_first`` on drawn (the y axis fits them); axes sized to the plot."""
    plot.clear()
    plot.set_ylabel(label)
    first, last = x_first, max(x_first + 1, x_last)
    series = [_from(x, y, first) + (style, marker) for x, y, style, marker in series]
    ys = [y for _, ys, _, _ in series for y in ys]
    lo, hi = limits(ys, floor0)
    plot.set_xlimits(first, last)
    plot.set_ylimits(lo, hi)
    rows = max(1, plot.size.height - plot.margin_top - plot.margin_bottom)
    cols = max(1, plot.size.width - plot.margin_left)
    plot.set_yticks(nice_ticks(lo, hi, max(2, rows // 2)))
    # A label (up to len(str(last)) characters, centred on its tick) and two blanks
    # between labels: 300 epochs in 40 columns must not run "100200300" together.
    plot.set_xticks(epoch_ticks(last, max(2, cols // max(6, len(str(last)) + 3)), first))
    plot.set_y_formatter(NumericAxisFormatter())
    every = marker_stride(last - first + 1, cols)
    for x, y, style, marker in series:
        if len(x) >= 2:
            plot.plot(x, y, line_style=style, hires_mode=HiResMode.BRAILLE)
        if x:
            keep = range((len(x) - 1) % every, len(x), every)  # counted so that the newest has its marker
            plot.scatter([x[i] for i in keep], [y[i] for i in keep], marker=marker, marker_style=style)


def _from(x: list[float], y: list[float], first: int) -> tuple[list[float], list[float]]:
    """The points from epoch ``first`` on (``x`` is in order)."""
    start = next((i for i, v in enumerate(x) if v >= first), len(x))
    return x[start:], y[start:]


def marker_stride(x_last: int, cols: int) -> int:
    """Mark every n-th point so markers stand about 3 columns apart: one per epoch of a
    200-epoch run in 60 columns would be a solid bar of markers hiding the lines."""
    columns_per_epoch = cols / max(1, x_last - 1)
    return max(1, math.ceil(MARKER_SPACING / columns_per_epoch))


class EpochChart(Container):
    """Loss and accuracy per epoch; fed with events."""

    DEFAULT_CSS = """
    EpochChart { layout: horizontal; }
    EpochChart.-stacked { layout: vertical; }
    EpochChart BraillePlot { width: 1fr; height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: dict[int, ev.EpochEnd] = {}
        self.show_all = False  # the x axis' window: the recent epochs (as the sparkline's) or all
        self._dirty = True
        self._drawn_size: Size | None = None

    def compose(self) -> ComposeResult:
        yield BraillePlot(id="loss-plot")
        yield BraillePlot(id="acc-plot")

    def apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.rows = {k: v for k, v in self.rows.items() if k <= event.start_epoch}
            self._dirty = True
        elif isinstance(event, ev.EpochEnd):
            self.rows[event.epoch] = event
            self._dirty = True

    def toggle_view(self) -> None:
        """Recent epochs or all (``l``, with the loss sparkline's window)."""
        self.show_all = not self.show_all
        self._dirty = True
        self.flush()

    def on_resize(self, event: Resize) -> None:
        # Side by side needs room for two y axes; one above the other needs room for two
        # boxes: a pane of 7 rows (60x20) stacked gave each plot 3 or 4 rows, too few
        # for a box (nothing was drawn), so a short pane keeps them side by side.
        self.set_class(event.size.width < SIDE_BY_SIDE_WIDTH and event.size.height >= STACKED_HEIGHT, "-stacked")
        if event.size != self._drawn_size:
            # Ticks depend on the size; a pane shown again at the same size needs no redraw.
            self._dirty = True
            self.call_after_refresh(self.flush)

    def on_show(self) -> None:
        self.flush()  # what came while it was hidden

    def flush(self) -> None:
        # Drawn when it changed and is on screen: a pane hidden in the narrow layout is
        # drawn when it is shown (the dashboard flushes the pane the user turns to).
        if not self._dirty or not self.is_mounted or not self.size.area or not self.region:
            return
        self._dirty = False
        self._drawn_size = self.size
        rows = [self.rows[k] for k in sorted(self.rows)]
        x = [float(r.epoch) for r in rows]
        # The epochs so far, not the run's planned total: those are no data yet.
        first, last = epoch_window(int(x[-1]) if x else 1, self.show_all)
        note = window_note(last, self.show_all)
        for plot_id, label, train, test, floor0 in (
            ("#loss-plot", "loss", "train_loss", "test_loss", True),
            ("#acc-plot", "acc %", "train_acc", "test_acc", False),
        ):
            plot = self.query_one(plot_id, BraillePlot)
            series = [
                (x, [getattr(r, train) for r in rows], TRAIN_STYLE, TRAIN_MARKER),
                (x, [getattr(r, test) for r in rows], TEST_STYLE, TEST_MARKER),
            ]
            draw(plot, label, series, last, floor0=floor0, x_first=first)
            plot.set_note(note)
