"""The dashboard chart's plots (app/widgets/braille_plot.py): drawn as textual-plot drew
the chart, cell for cell, and only when painted."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from helpers import demo_events
from textual.app import App, ComposeResult
from textual.containers import Horizontal

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.app.widgets.braille_plot import BraillePlot, line_dots
from tui_trainer.app.widgets.epoch_chart import EpochChart, draw, make_plot


class Both(App):
    """textual-plot's plot as the chart made it (make_plot), and a BraillePlot."""

    CSS = "Horizontal > * { width: 1fr; height: 1fr; }"

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield make_plot("old")
            yield BraillePlot(id="new")


def screen_cells(app: App) -> list[list[tuple[str, object]]]:
    # The composed screen: textual-plot draws on child canvases, not in its own lines.
    return [
        [(c, (str(s.color), str(s.bgcolor), s.bold, s.italic)) for seg in strip for c in seg.text for s in [seg.style]]
        for strip in app.screen._compositor.render_strips()
    ]


async def settled(pilot) -> list[list[tuple[str, object]]]:
    """The screen once it stops changing (textual-plot draws its canvases a frame late)."""
    before = None
    while (cells := screen_cells(pilot.app)) != before:
        before = cells
        await pilot.pause()
    return cells


@pytest.mark.parametrize("size", [(92, 16), (60, 10), (150, 30)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_a_plot_looks_as_textual_plot_drew_it(size):
    rng = random.Random(size[0])
    app = Both()
    async with app.run_test(size=size) as pilot:
        old, new = app.query_one("#old"), app.query_one(BraillePlot)
        half = size[0] // 2
        await pilot.pause()
        for trial in range(12):
            n = rng.randint(1, 300)
            x = [float(i + 1) for i in range(n)]
            if trial % 2:
                train = [2 * math.exp(-i / 20) + rng.random() * 0.1 for i in range(n)]
            else:
                train = [rng.uniform(0, 100) for _ in range(n)]  # steep lines, every direction
            test = [v + rng.random() * 0.3 for v in train]
            series = [(x, train, "bright_cyan", "+"), (x, test, "bright_magenta", "o")]
            last = max(2, n + rng.randint(0, 200))
            for plot in (old, new):
                draw(plot, "loss", series, last, floor0=trial % 3 == 0)
            cells = await settled(pilot)
            assert [line[:half] for line in cells] == [line[half:] for line in cells], trial


def test_line_dots_are_bresenhams():
    from textual_hires_canvas import Canvas

    canvas = Canvas.__new__(Canvas)  # _get_line_coordinates uses nothing of a live canvas
    for dx in range(-12, 13):
        for dy in range(-12, 13):
            xs, ys = line_dots(np.array([3, 3 + dx]), np.array([5, 5 + dy]))
            assert sorted(zip(xs.tolist(), ys.tolist(), strict=True)) == sorted(
                canvas._get_line_coordinates(3, 5, 3 + dx, 5 + dy)
            ), (dx, dy)


class Hidden(App):
    CSS = "#new { height: 12; }"

    def compose(self) -> ComposeResult:
        yield BraillePlot(id="new")


async def test_a_plot_is_drawn_when_painted_once_per_change():
    app = Hidden()
    async with app.run_test(size=(60, 14)) as pilot:
        plot = app.query_one(BraillePlot)
        plot.display = False
        await pilot.pause()
        drawn = plot.draws  # the empty plot's, when it was first painted
        draw(plot, "loss", [([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], "red", "o")], 5)
        await pilot.pause()
        assert plot.draws == drawn, "hidden: not drawn"
        plot.display = True
        await pilot.pause()
        assert plot.draws == drawn + 1
        plot.refresh()
        await pilot.pause()
        assert plot.draws == drawn + 1, "painted again, not drawn again"
        draw(plot, "loss", [([1.0, 2.0, 3.0, 4.0], [3.0, 2.0, 1.0, 0.5], "red", "o")], 5)
        await pilot.pause()
        assert plot.draws == drawn + 2, "one drawing for the ~10 calls of a redraw"
        assert any("o" in plot.render_line(y).text for y in range(plot.size.height))


async def test_the_dashboard_draws_a_hidden_chart_when_it_is_shown():
    app = TrainerApp()
    async with app.run_test(size=(80, 24)) as pilot:  # narrow: one pane shows, the epochs
        dash = DashboardScreen()
        await app.push_screen(dash)
        await pilot.pause()
        plots = list(dash.query_one(EpochChart).query(BraillePlot))
        assert not dash.query_one(EpochChart).region, "hidden"
        drawn = [p.draws for p in plots]
        dash.feed(demo_events())
        await pilot.pause()
        assert [p.draws for p in plots] == drawn, "not drawn while hidden"
        await pilot.press("2")
        await pilot.pause()
        await pilot.pause()
        assert dash.query_one(EpochChart).region and all(p.draws > d for p, d in zip(plots, drawn, strict=True))
        texts = [plots[0].render_line(y).text for y in range(plots[0].size.height)]
        assert texts[0].strip() == "loss" and any("o" in t for t in texts), "the epochs fed while it was hidden"
