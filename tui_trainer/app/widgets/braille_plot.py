"""A line plot drawn in braille, cheap enough to redraw at every epoch render.

Why not textual-plot's PlotWidget: it redraws a plot
pixel by pixel in Python through four canvas widgets, each pixel and label a
``Widget.refresh``, and renders every canvas line through ``self.rich_style``. The
dashboard's chart redraws both its plots at every epoch render (every new epoch moves
the curves and usually the y axis), and that was about 10 ms of the UI thread's CPU a
render at 120x40 (``benchmarks/render_cost.py``), half of all a render then cost.

Here a plot keeps what it was asked to draw (the calls ``epoch_chart.draw`` makes of a
PlotWidget: limits, ticks, lines, markers) and draws it when it is painted, only then
(a hidden pane costs nothing) and once per change: the lines are rasterized with numpy
(Bresenham's dots, for all segments at once), then each row becomes a strip.

It looks as PlotWidget did with the chart's margins: the y label above, tick labels
left of and below a heavy box, tick marks on the box, braille lines, a marker
character per point kept (the marker, not only the colour, tells the series apart
without colour). As in PlotWidget, a series drawn later covers the cells it shares
with earlier ones, and the box and ticks are drawn last.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual_plot.axis_formatter import AxisFormatter, NumericAxisFormatter

# Braille dots: bit of the dot at (column, row) of a cell's 2x4 grid (Unicode's order).
DOT_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint8)
BRAILLE = [chr(0x2800 + bits) for bits in range(256)]
# Heavy box pieces by (up, right, down, left) arms: the box and its tick marks.
Arms = tuple[int, int, int, int]
BOX: dict[Arms, str] = {
    (0, 1, 1, 0): "┏",
    (0, 0, 1, 1): "┓",
    (1, 1, 0, 0): "┗",
    (1, 0, 0, 1): "┛",
    (0, 1, 0, 1): "━",
    (1, 0, 1, 0): "┃",
    (1, 1, 0, 1): "┻",
    (0, 1, 1, 1): "┳",
    (1, 0, 1, 1): "┫",
    (1, 1, 1, 0): "┣",
    (1, 1, 1, 1): "╋",
}
ARMS = {char: arms for arms, char in BOX.items()}
_V = TypeVar("_V", float, NDArray[np.float64])
Limits = tuple[float, float]  # (lo, hi) of an axis
TICK_UP: Arms = (1, 0, 0, 0)
TICK_RIGHT: Arms = (0, 1, 0, 0)
TICK_DOWN: Arms = (0, 0, 1, 0)
TICK_LEFT: Arms = (0, 0, 0, 1)


@dataclass
class Series:
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    style: str
    marker: str | None  # None: a line through the points; else this character at each


def _finite(x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(xs) & np.isfinite(ys)
    return xs[keep], ys[keep]


def line_dots(hx: NDArray[np.int64], hy: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The dots of the polyline through the dots (hx[i], hy[i]): each segment stepped
    along its longer axis, one dot a step, its ends included, the other axis rounded
    half away from the start: the dots of Bresenham's line (textual-plot's canvas
    draws with it), computed for every segment at once."""
    if len(hx) == 1:
        return hx, hy
    dx, dy = np.diff(hx), np.diff(hy)
    steps = np.maximum(np.abs(dx), np.abs(dy))
    counts = steps + 1
    segment = np.repeat(np.arange(len(steps)), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    n = np.maximum(steps, 1)[segment]
    px = hx[:-1][segment] + np.sign(dx)[segment] * ((2 * k * np.abs(dx)[segment] + n) // (2 * n))
    py = hy[:-1][segment] + np.sign(dy)[segment] * ((2 * k * np.abs(dy)[segment] + n) // (2 * n))
    return px, py


class BraillePlot(Widget, can_focus=False):
    """One plot: axes with ticks and labels, lines in braille, markers.

    Drawn with the methods ``epoch_chart.draw`` calls (PlotWidget's names): ``clear``,
    ``set_xlimits``, ``set_ylimits``, ``set_xticks``, ``set_yticks``, ``set_ylabel``,
    ``set_y_formatter``, ``plot`` and ``scatter``; ``set_note`` is its own.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"plot--axis", "plot--tick", "plot--label"}
    DEFAULT_CSS = """
    BraillePlot {
        & > .plot--axis { color: $secondary; }
        & > .plot--tick { color: $secondary; text-style: bold; }
        & > .plot--label { color: $primary; text-style: bold italic; }
    }
    """

    # The chart's margins (rows are scarce at 80x24): the y label's row above, the x
    # tick labels' row below, the y tick labels' columns on the left.
    margin_top = 1
    margin_bottom = 1
    margin_left = 7
    # The y label centred over the y axis (a short one: "loss"), or from the left edge
    # (a longer one with a value: the metrics pane's "train loss 0.4321").
    label_at_left = False

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._series: list[Series] = []
        self._xlimits = (0.0, 1.0)
        self._ylimits = (0.0, 1.0)
        self._xticks: list[float] = []
        self._yticks: list[float] = []
        self._ylabel = ""
        self._note = ""
        self._x_formatter: AxisFormatter = NumericAxisFormatter()
        self._y_formatter: AxisFormatter = NumericAxisFormatter()
        self._lines: list[Strip] = []
        self._drawn_for: tuple[object, ...] | None = None  # what the lines were drawn for
        self._repaint_asked = False
        self.draws = 0  # times drawn (for tests)

    # -- what to draw (PlotWidget's methods, those the chart uses) ------------------------
    def _changed(self) -> None:
        self._drawn_for = None
        if not self._repaint_asked:  # one refresh until painted (a redraw makes ~10 calls)
            self._repaint_asked = True
            self.refresh()

    def clear(self) -> None:
        self._series.clear()
        self._changed()

    def set_xlimits(self, xmin: float, xmax: float) -> None:
        self._xlimits = (float(xmin), float(xmax))
        self._changed()

    def set_ylimits(self, ymin: float, ymax: float) -> None:
        self._ylimits = (float(ymin), float(ymax))
        self._changed()

    def set_xticks(self, ticks: Sequence[float]) -> None:
        self._xticks = [float(t) for t in ticks]
        self._changed()

    def set_yticks(self, ticks: Sequence[float]) -> None:
        self._yticks = [float(t) for t in ticks]
        self._changed()

    def set_ylabel(self, label: str) -> None:
        self._ylabel = label
        self._changed()

    def set_note(self, note: str) -> None:
        """A note at the right end of the y label's row (the chart's window), if it fits."""
        if note != self._note:
            self._note = note
            self._changed()

    def set_y_formatter(self, formatter: AxisFormatter) -> None:
        self._y_formatter = formatter
        self._changed()

    def plot(
        self, x: ArrayLike, y: ArrayLike, line_style: str = "white", hires_mode: object = None, label: str | None = None
    ) -> None:
        """A line through the points (always in braille: ``hires_mode`` is PlotWidget's)."""
        self._series.append(Series(*_finite(x, y), line_style, None))
        self._changed()

    def scatter(
        self,
        x: ArrayLike,
        y: ArrayLike,
        marker: str = "o",
        marker_style: str = "white",
        hires_mode: object = None,
        label: str | None = None,
    ) -> None:
        self._series.append(Series(*_finite(x, y), marker_style, marker))
        self._changed()

    # -- rendering ------------------------------------------------------------------------
    def render_lines(self, crop: Region) -> list[Strip]:
        self._ensure_drawn()  # once a paint, not once a line (rich_style walks the DOM)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if self._drawn_for is None:
            self._ensure_drawn()
        if y < len(self._lines):
            return self._lines[y]
        return Strip.blank(self.size.width, self.rich_style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn_for = None

    def _ensure_drawn(self) -> None:
        """Draw if something changed since the last drawing: the data, the size, the
        styles (the component styles follow the widget's own, its pseudo-classes and
        the theme: not read again at every paint)."""
        base = self.rich_style
        key = (self.size, base, self.get_pseudo_class_state(), self.app.theme)
        self._repaint_asked = False
        if key != self._drawn_for:
            self._drawn_for = key
            self._lines = self._draw(base)

    def _draw(self, base: Style) -> list[Strip]:
        """The plot's rows: the box and what it holds drawn in cells (the series, then the
        box, then its tick marks), the labels in the margins around it, each row a strip."""
        self.draws += 1
        width, height = self.size
        left = self.margin_left
        w, h = width - left, height - self.margin_top - self.margin_bottom  # the box and what it holds
        if w < 3 or h < 3:
            return [Strip.blank(width, base)] * height
        axis = self.get_component_rich_style("plot--axis")
        tick = self.get_component_rich_style("plot--tick")
        label = self.get_component_rich_style("plot--label")
        xlimits, ylimits = _widened(self._xlimits), _widened(self._ylimits)
        box = _Cells(w, h)
        for series in self._series:  # in order: a later series covers the cells it shares
            if len(series.x):
                _draw_series(box, series, xlimits, ylimits)
        box.draw_frame(axis)
        top_row, left_margin, bottom_row = _Cells(width, 1), _Cells(left, h), _Cells(width, 1)
        self._draw_x_ticks(box, bottom_row, xlimits, tick)
        self._draw_y_ticks(box, left_margin, ylimits, tick)
        self._write_label_and_note(top_row, label, tick)
        return _strips(top_row, left_margin, box, bottom_row, height, base)

    def _draw_x_ticks(self, box: _Cells, below: _Cells, xlimits: Limits, style: Style) -> None:
        """Each x tick within the limits: a mark on the box's top and bottom edges, its label
        in the row below, centred on it. As textual-plot placed them, a tick at xmin moves
        a cell left, onto the box's corner, and the label of one at xmax ends at it."""
        xmin, xmax = xlimits
        labels = self._x_formatter.get_labels_for_ticks(self._xticks)
        for value, text in zip(self._xticks, labels, strict=True):
            if not xmin <= value <= xmax:
                continue
            col = math.floor(_linear(value, xmin, xmax, 1, box.width - 1))
            align = "center"
            if value == xmin:
                col -= 1
            elif value == xmax:
                align = "right"
            box.join_tick(0, col, TICK_UP)
            box.join_tick(box.height - 1, col, TICK_DOWN)
            below.write(0, col + self.margin_left, text, style, align)

    def _draw_y_ticks(self, box: _Cells, margin: _Cells, ylimits: Limits, style: Style) -> None:
        """Each y tick within the limits: a mark on the box's left and right edges, its label
        in the left margin, ending a cell clear of the box (cut to fit the margin). As
        textual-plot placed them, a tick at ymin moves a row down, onto the box's corner."""
        left = self.margin_left
        ymin, ymax = ylimits
        labels = [text[: left - 1] for text in self._y_formatter.get_labels_for_ticks(self._yticks)]
        for value, text in zip(self._yticks, labels, strict=True):
            if not ymin <= value <= ymax:
                continue
            row = math.ceil(_linear(value, ymin, ymax, box.height - 2, 0))
            if value == ymin:
                row += 1
            box.join_tick(row, 0, TICK_LEFT)
            box.join_tick(row, box.width - 1, TICK_RIGHT)
            if 0 <= row < box.height:
                margin.write(row, left - 2, text, style, "right")

    def _write_label_and_note(self, top: _Cells, label: Style, note: Style) -> None:
        """The y label (centred over the y axis, or from the left edge) and the note at the
        right end of its row, only where the note stays clear of the label."""
        if self.label_at_left:
            top.write(0, 0, self._ylabel, label, "left")
            label_end = len(self._ylabel)
        else:
            top.write(0, self.margin_left - 2, self._ylabel, label, "center")
            label_end = self.margin_left + len(self._ylabel)
        if self._note and len(self._note) + 2 <= top.width - label_end:  # clear of the label
            top.write(0, top.width - 1, self._note, note, "right")


@dataclass
class _Cells:
    """A block of cells, row by row: a character and a style each (None: the widget's own,
    the base every strip's segments are drawn on)."""

    width: int
    height: int
    chars: list[list[str]] = field(init=False)
    styles: list[list[Style | None]] = field(init=False)

    def __post_init__(self) -> None:
        self.chars = [[" "] * self.width for _ in range(self.height)]
        self.styles = [[None] * self.width for _ in range(self.height)]

    def draw_line(self, x: NDArray[np.float64], y: NDArray[np.float64], style: Style) -> None:
        """The polyline through the points (x[i], y[i]), in cells (their fractions pick a
        dot of a cell's 2x4), in braille: each cell it passes through gets its dots there
        (those of the series drawn before are covered) and ``style``."""
        w, h = self.width, self.height
        hx = np.floor(np.clip(x, 0, w - 1) * 2).astype(np.int64)
        hy = np.floor(np.clip(y, 0, h - 1) * 4).astype(np.int64)
        px, py = line_dots(hx, hy)
        inside = (px >= 0) & (px < 2 * w) & (py >= 0) & (py < 4 * h)
        px, py = px[inside], py[inside]
        cells = (py // 4) * w + px // 2
        bits = np.zeros(w * h, dtype=np.uint8)  # each cell's dots, all segments at once
        np.bitwise_or.at(bits, cells, DOT_BITS[py % 4, px % 2])
        for cell in np.flatnonzero(bits).tolist():  # Python work only for the cells drawn
            row, col = divmod(cell, w)
            self.chars[row][col] = BRAILLE[bits[cell]]
            self.styles[row][col] = style

    def draw_markers(self, cols: list[int], rows: list[int], marker: str, style: Style) -> None:
        """``marker`` in ``style`` at each cell (cols[i], rows[i]) within the block."""
        for col, row in zip(cols, rows, strict=True):
            if 0 <= col < self.width and 0 <= row < self.height:
                self.chars[row][col] = marker
                self.styles[row][col] = style

    def draw_frame(self, style: Style) -> None:
        """A heavy box around the block's edge cells, in ``style``: it covers the series there
        (the top and bottom rows take ``style`` whole, as the box's corners do)."""
        chars, w, h = self.chars, self.width, self.height
        for col in range(1, w - 1):
            chars[0][col] = chars[h - 1][col] = BOX[0, 1, 0, 1]
        for row in range(1, h - 1):
            chars[row][0] = chars[row][w - 1] = BOX[1, 0, 1, 0]
        chars[0][0], chars[0][w - 1] = BOX[0, 1, 1, 0], BOX[0, 0, 1, 1]
        chars[h - 1][0], chars[h - 1][w - 1] = BOX[1, 1, 0, 0], BOX[1, 0, 0, 1]
        for row in (0, h - 1):
            self.styles[row] = [style] * w
        for row in range(1, h - 1):
            self.styles[row][0] = self.styles[row][w - 1] = style

    def join_tick(self, row: int, col: int, arm: Arms) -> None:
        """A tick mark: ``arm`` joined to the box's piece at (row, col) (not a box piece
        there, or off the block: nothing drawn)."""
        if 0 <= row < self.height and 0 <= col < self.width and self.chars[row][col] in ARMS:
            (up, right, down, left), (up2, right2, down2, left2) = ARMS[self.chars[row][col]], arm
            joined = (up or up2, right or right2, down or down2, left or left2)
            self.chars[row][col] = BOX.get(joined, self.chars[row][col])

    def write(self, row: int, x: int, text: str, style: Style, align: str) -> None:
        """``text`` in row ``row`` (see ``_write``)."""
        _write(self.chars[row], self.styles[row], x, text, style, align)


def _widened(limits: Limits) -> Limits:
    """Limits that span something: equal ones a little apart (a mapping divides by the span)."""
    lo, hi = limits
    if lo == hi:
        return lo - 1e-6, hi + 1e-6
    return lo, hi


def _draw_series(box: _Cells, series: Series, xlimits: Limits, ylimits: Limits) -> None:
    """One series in the box. Data to cells: x in [xmin, xmax] to [1, w - 1], y in [ymin,
    ymax] to [h - 1, 1] for a line (in cells, fractions kept: the dots), to [h - 2, 0]
    for markers (whole cells; the ticks are mapped so too)."""
    (xmin, xmax), (ymin, ymax) = xlimits, ylimits
    style = Style.parse(series.style)
    cx = _linear(series.x, xmin, xmax, 1, box.width - 1)
    if series.marker is None:
        box.draw_line(cx, _linear(series.y, ymin, ymax, box.height - 1, 1), style)
    else:
        cols = np.floor(cx).astype(np.int64).tolist()
        rows = np.ceil(_linear(series.y, ymin, ymax, box.height - 2, 0)).astype(np.int64).tolist()
        box.draw_markers(cols, rows, series.marker, style)


def _strips(top: _Cells, margin: _Cells, box: _Cells, bottom: _Cells, height: int, base: Style) -> list[Strip]:
    """The widget's rows: the top row (the y label's), each of the box's rows after its
    left margin, the bottom row (the x tick labels'); blank rows after, to ``height``,
    or cut at it."""
    lines = [_strip(top.chars[0], top.styles[0], base)]
    for row in range(box.height):
        lines.append(_strip(margin.chars[row] + box.chars[row], margin.styles[row] + box.styles[row], base))
    lines.append(_strip(bottom.chars[0], bottom.styles[0], base))
    while len(lines) < height:
        lines.append(Strip.blank(top.width, base))
    return lines[:height]


def _linear(value: _V, lo: float, hi: float, to_lo: float, to_hi: float) -> _V:
    """``value`` in [lo, hi] mapped to [to_lo, to_hi], in textual-plot's order of
    operations (its linear_mapper): a value on a cell's edge falls in the same cell."""
    mapped: _V = to_lo + (value - lo) * (to_hi - to_lo) / (hi - lo)
    return mapped


def _write(chars: list[str], styles: list[Style | None], x: int, text: str, style: Style, align: str) -> None:
    """``text`` placed at ``x`` (its left end, its right end or its middle; an even
    length's middle is the right one of its two), cut at the row's ends."""
    if not text:
        return
    if align == "right":
        x -= len(text) - 1
    elif align == "center":
        half, odd = divmod(len(text), 2)
        x -= half - (0 if odd else 1)
    for i, char in enumerate(text):
        if 0 <= x + i < len(chars):
            chars[x + i] = char
            styles[x + i] = style


def _strip(chars: list[str], styles: list[Style | None], base: Style) -> Strip:
    """A row of cells as segments, one per run of one style."""
    segments: list[Segment] = []
    start = 0
    for i in range(1, len(chars) + 1):
        if i == len(chars) or styles[i] is not styles[start]:
            style = styles[start]
            segments.append(Segment("".join(chars[start:i]), base + style if style is not None else base))
            start = i
    return Strip(segments, len(chars))
