"""The epoch chart's drawing: ticks, limits and how many markers a series gets; its x
axis on the dashboard, from 3 to 300 epochs, in the recent and the all window."""

from __future__ import annotations

import re

import pytest
from app_helpers import epoch_events

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.app.widgets.braille_plot import BraillePlot
from tui_trainer.app.widgets.epoch_chart import (
    MARKER_SPACING,
    RECENT_EPOCHS,
    EpochChart,
    draw,
    epoch_ticks,
    epoch_window,
    limits,
    marker_stride,
    nice_ticks,
)


class RecordingPlot:
    """What `draw` asks of a PlotWidget, recorded (a real one needs a running app)."""

    margin_top = margin_bottom = 1
    margin_left = 7

    def __init__(self, width: int, height: int) -> None:
        self.size = type("Size", (), {"width": width, "height": height})()
        self.lines: list[tuple[list[float], list[float]]] = []
        self.markers: list[tuple[list[float], list[float], str]] = []
        self.xticks: list[float] = []

    def clear(self):
        self.lines.clear()
        self.markers.clear()

    def set_ylabel(self, label):
        pass

    def set_xlimits(self, lo, hi):
        pass

    def set_ylimits(self, lo, hi):
        pass

    def set_yticks(self, ticks):
        pass

    def set_xticks(self, ticks):
        self.xticks = list(ticks)

    def set_y_formatter(self, f):
        pass

    def plot(self, x, y, **kw):
        self.lines.append((list(x), list(y)))

    def scatter(self, x, y, marker, **kw):
        self.markers.append((list(x), list(y), marker))


def test_a_short_run_marks_every_epoch():
    plot = RecordingPlot(67, 12)  # 60 columns of plot
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    draw(plot, "loss", [(x, [5, 4, 3, 2, 1], "red", "o")], x_last=10)
    assert plot.lines == [(x, [5, 4, 3, 2, 1])]
    assert plot.markers == [(x, [5, 4, 3, 2, 1], "o")]


def test_a_long_run_thins_its_markers_but_not_its_line():
    plot = RecordingPlot(67, 12)
    x = [float(e) for e in range(1, 201)]
    y = [1 / e for e in range(1, 201)]
    draw(plot, "loss", [(x, y, "red", "o"), (x, [v / 2 for v in y], "blue", "+")], x_last=200)
    assert [len(xs) for xs, _ in plot.lines] == [200, 200], "every epoch is on the line"
    for (mx, my, _), scale in zip(plot.markers, (1, 0.5), strict=False):
        assert mx[-1] == 200.0, "the newest epoch keeps its marker"
        assert my == [scale / e for e in mx], "markers sit on their points"
        gaps = {b - a for a, b in zip(mx, mx[1:], strict=False)}
        assert len(gaps) == 1, "evenly spaced"
        columns_apart = gaps.pop() * 60 / 199
        assert MARKER_SPACING <= columns_apart < 2 * MARKER_SPACING, columns_apart
    assert [m[2] for m in plot.markers] == ["o", "+"]


def test_marker_stride():
    assert marker_stride(10, 60) == 1
    assert marker_stride(200, 60) == 10  # 0.3 columns an epoch: every 10th is 3 columns apart
    assert marker_stride(2, 1) == 3


def test_ticks_and_limits():
    assert nice_ticks(0, 10, 6) == [0, 2, 4, 6, 8, 10]
    assert all(float(t).is_integer() for t in epoch_ticks(7, 10))
    assert epoch_ticks(300, 6, first=251) == [260, 270, 280, 290, 300]
    lo, hi = limits([1.0, 2.0, float("nan")], floor0=True)
    assert lo < 1.0 < 2.0 < hi and lo >= 0
    assert limits([]) == (0.0, 1.0)


def test_the_window_is_the_epochs_so_far_recent_or_all():
    assert epoch_window(5, show_all=False) == (1, 5), "5 of 300 planned: the axis ends at 5"
    assert epoch_window(1, show_all=True) == (1, 2), "an axis needs a span"
    assert epoch_window(RECENT_EPOCHS, show_all=False) == (1, RECENT_EPOCHS), "short runs: both windows alike"
    assert epoch_window(300, show_all=False) == (301 - RECENT_EPOCHS, 300)
    assert epoch_window(300, show_all=True) == (1, 300)


def x_labels(plot: BraillePlot) -> list[str]:
    """The x tick labels as painted: the plot's last row, split at blanks (two labels
    run together would read as one number and match no tick)."""
    return re.findall(r"\S+", plot.render_line(plot.size.height - 1).text)


def assert_readable(plot: BraillePlot, first: int, last: int) -> None:
    labels = x_labels(plot)
    assert plot._xlimits == (first, last)
    assert len(labels) >= 2, labels
    assert all(label.isdigit() for label in labels), labels
    epochs = [int(label) for label in labels]
    assert epochs == sorted(set(epochs)), f"distinct, in order: {labels}"
    assert first <= epochs[0] and epochs[-1] <= last, (labels, first, last)
    assert epochs == [int(t) for t in plot._xticks if first <= t <= last], "every tick labelled, none cut"
    row = plot.render_line(plot.size.height - 1).text
    assert len(row) == plot.size.width, "the labels fit the plot"


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (120, 40)])
@pytest.mark.parametrize("epochs", [3, 30, 300])
async def test_the_chart_s_x_axis_reads_from_3_to_300_epochs(size, epochs):
    app = TrainerApp()
    async with app.run_test(size=size) as pilot:
        dash = DashboardScreen()
        await app.push_screen(dash)
        await pilot.pause()
        dash.feed(epoch_events(epochs, planned=300))
        await pilot.press("2")  # the chart pane (the only one shown below 110x34)
        await pilot.pause()
        chart = dash.query_one(EpochChart)
        plots = list(chart.query(BraillePlot))
        for show_all in (False, True):
            first, last = epoch_window(epochs, show_all)
            for plot in plots:
                assert_readable(plot, first, last)
                top = plot.render_line(0).text
                assert top.split()[: len(plot._ylabel.split())] == plot._ylabel.split(), top
                # The window says what it shows and which key changes it, where it fits.
                note = ("all 300 · l: recent" if show_all else f"last {RECENT_EPOCHS} of 300 · l: all") * (
                    epochs > RECENT_EPOCHS and plot.size.width >= 39
                )
                assert top.strip().removeprefix(plot._ylabel).strip() == note, top
            await pilot.press("l")  # recent -> all, with the loss sparkline's window
            await pilot.pause()
            assert chart.show_all is not show_all
