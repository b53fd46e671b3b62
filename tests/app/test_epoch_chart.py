"""The epoch chart's drawing: ticks, limits and how many markers a series gets."""

from __future__ import annotations

from tui_trainer.app.widgets.epoch_chart import MARKER_SPACING, draw, epoch_ticks, limits, marker_stride, nice_ticks


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
    lo, hi = limits([1.0, 2.0, float("nan")], floor0=True)
    assert lo < 1.0 < 2.0 < hi and lo >= 0
    assert limits([]) == (0.0, 1.0)
