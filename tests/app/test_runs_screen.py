"""The runs screen: listing, opening and comparing runs (app/screens/runs.py)."""

from __future__ import annotations

import json

import pytest
from app_helpers import (
    SIZE,
    press_live,
    screen_text,
    train_tiny,
    wait_for,
)
from textual.binding import Binding

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.app.screens.runs import RunsScreen


async def test_runs_screen_lists_opens_and_compares(runs_dir):
    first = train_tiny(runs_dir, epochs=2)
    second = train_tiny(runs_dir, epochs=3)
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        await press_live(pilot, "f3")
        # Mounted too: app.screen is the runs screen before its on_mount has filled the table.
        await wait_for(
            pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.is_mounted, what="the runs screen"
        )
        screen = app.screen
        table = screen.query_one("#runs-table")
        assert table.row_count == 2
        assert {r.id: r.status for r in screen.runs} == {first.id: "finished", second.id: "finished"}
        table.focus()
        await press_live(pilot, "space", "down", "space")
        await wait_for(pilot, lambda: len(screen.curves) == 2, what="the curves")
        legend = str(screen.query_one("#compare-legend").content)
        assert first.id in legend and second.id in legend
        assert [len(c) for c in (screen.curves[first.id], screen.curves[second.id])] == [2, 3]
        await press_live(pilot, "t")
        assert screen.metric == 1

        await press_live(pilot, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
        dash = app.screen
        assert dash.mode == "watch"
        await wait_for(pilot, lambda: dash.query_one("#epochs").row_count in (2, 3), what="epoch rows")
        await press_live(pilot, "escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back to the runs")


async def test_runs_chart_shows_the_cursor_run_until_runs_are_marked_and_follows_new_epochs(runs_dir):
    from helpers import write_run_folder

    write_run_folder(runs_dir, "20240101-000000-a", "digits-cnn", "finished", [50.0, 60.0], 2)
    live = write_run_folder(runs_dir, "20240102-000000-b", "digits-cnn", "running", [40.0], 5)
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs screen")
        screen = app.screen
        legend = lambda: str(screen.query_one("#compare-legend").content)  # noqa: E731
        # Nothing marked: the chart is the run under the cursor (the newest, first).
        await wait_for(pilot, lambda: list(screen.curves) == ["20240102-000000-b"], what="the cursor's curve")
        assert "20240102-000000-b" in legend() and "space marks" in legend()
        screen.query_one("#runs-table").focus()
        await press_live(pilot, "down")
        await wait_for(pilot, lambda: list(screen.curves) == ["20240101-000000-a"], what="the next run's curve")
        assert len(screen.curves["20240101-000000-a"]) == 2
        # Marked runs replace the preview; moving the cursor no longer changes the chart.
        await press_live(pilot, "space", "up", "space")
        await wait_for(
            pilot, lambda: set(screen.curves) == {"20240101-000000-a", "20240102-000000-b"}, what="both curves"
        )
        await press_live(pilot, "down")
        await pilot.pause(0.2)
        assert set(screen.curves) == {"20240101-000000-a", "20240102-000000-b"}
        # The live run ends an epoch: its curve grows at the next refresh.
        write_run_folder(runs_dir, live.name, "digits-cnn", "running", [40.0, 45.0], 5)
        screen.refresh_runs()
        await wait_for(pilot, lambda: len(screen.curves["20240102-000000-b"]) == 2, what="the new epoch")


async def test_the_runs_chart_says_why_a_run_failed(runs_dir):

    from helpers import write_run_folder

    failed = write_run_folder(runs_dir, "20240103-000000-c", "digits-cnn", "failed", [], 5)
    status = json.loads((failed / "status.json").read_text())
    (failed / "status.json").write_text(json.dumps({**status, "reason": "imagefolder: /data/x does not exist"}))
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs screen")
        screen = app.screen
        await wait_for(pilot, lambda: "20240103-000000-c" in screen.curves, what="the failed run's chart")
        legend = str(screen.query_one("#compare-legend").content)
        assert "failed: imagefolder: /data/x does not exist" in legend and "no epochs yet" not in legend, legend


async def test_the_runs_table_shows_each_run_s_ranks_and_its_figures_within_80_columns(runs_dir):
    """The world size of each run (4 for a data-parallel one, 1 for the rest, and for
    old status files without it); the mark, id, status (a failure's reason cut to the
    room left), epochs and best fit 80 columns, with the scrollbar of a list longer than
    the screen; resume, ranks, time and preset scroll in."""
    from helpers import write_run_folder

    ddp = write_run_folder(
        runs_dir, "20240103-110000-resnet-small-cifar10", "resnet-small-cifar10", "failed", [41.2], 300
    )
    status = json.loads((ddp / "status.json").read_text())
    reason = "loss became NaN/inf at epoch 2, step 3 of 32 (step 35 of the run); resume it"
    (ddp / "status.json").write_text(json.dumps({**status, "world_size": 4, "reason": reason}))
    for i in range(8):
        write_run_folder(runs_dir, f"20240101-00000{i}-digits-cnn", "digits-cnn", "finished", [50.0], 5)
    app = TrainerApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs screen")
        table = app.screen.query_one("#runs-table")
        await wait_for(pilot, lambda: table.row_count == 9, what="the runs")
        await pilot.pause()
        assert str(table.get_cell(ddp.name, "ranks")) == "4"
        assert str(table.get_cell("20240101-000000-digits-cnn", "ranks")) == "1"
        assert str(table.get_cell(ddp.name, "status")).startswith("failed: loss")
        assert str(table.get_cell(ddp.name, "resume")) == "no"
        assert table.show_vertical_scrollbar
        keys = [c.key.value for c in table.ordered_columns]
        widths = [c.get_render_width(table) for c in table.ordered_columns]
        up_to_best = sum(widths[: keys.index("best") + 1])
        assert up_to_best <= table.scrollable_content_region.width, (up_to_best, widths)


async def test_o_sorts_and_f_and_p_filter_the_runs_and_the_border_says_so(runs_dir):
    from helpers import write_run_folder

    write_run_folder(runs_dir, "20240101-000000-digits-cnn", "digits-cnn", "finished", [97.0], 1)
    write_run_folder(runs_dir, "20240102-000000-cnn-cifar10", "cnn-cifar10", "failed", [40.0], 10)
    write_run_folder(runs_dir, "20240103-000000-digits-cnn", "digits-cnn", "stopped", [90.0], 10)
    app = TrainerApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.runs, what="the runs")
        screen = app.screen
        table = screen.query_one("#runs-table")
        table.focus()
        shown = lambda: [table.coordinate_to_cell_key((row, 0)).row_key.value[-14:] for row in range(table.row_count)]  # noqa: E731
        border = lambda: str(screen.query_one("#runs-top").border_subtitle)  # noqa: E731
        assert shown() == ["000-digits-cnn", "00-cnn-cifar10", "000-digits-cnn"]
        assert screen.runs[0].id == "20240103-000000-digits-cnn" and "sorted by started" in border()
        await press_live(pilot, "o")  # by status: the failed run first
        assert [r.id for r in screen.runs][0] == "20240102-000000-cnn-cifar10" and "sorted by status" in border()
        await press_live(pilot, "o")  # by best accuracy
        assert [r.best_acc for r in screen.runs] == [97.0, 90.0, 40.0] and "sorted by best" in border()
        await press_live(pilot, "f")  # the first status there is, in the status order
        assert [r.status for r in screen.runs] == ["failed"] and table.row_count == 1
        assert "status failed" in border()
        await press_live(pilot, "f", "f", "f")  # stopped, finished, then all again
        assert table.row_count == 3 and "status all" in border()
        await press_live(pilot, "p")
        assert {r.preset for r in screen.runs} == {"cnn-cifar10"} and "preset cnn-cifar10" in border()
        await press_live(pilot, "p")
        assert [r.preset for r in screen.runs] == ["digits-cnn", "digits-cnn"]
        # Bindings with ids and descriptions: the help screen and the palette are made of them.
        bound = {b.id: b.description for b in RunsScreen.BINDINGS if isinstance(b, Binding)}
        assert bound["runs.sort"] == "Sort" and bound["runs.status"] and bound["runs.preset"]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_marked_runs_show_the_config_keys_that_differ_beside_the_chart(runs_dir, size):
    from helpers import write_run_folder

    write_run_folder(
        runs_dir,
        "20240101-000000-a",
        "digits-cnn",
        "finished",
        [90.0, 95.0],
        2,
        config={"optim": {"lr": 0.05, "momentum": 0.9}, "data": {"batch_size": 128}},
    )
    write_run_folder(
        runs_dir,
        "20240102-000000-b",
        "digits-cnn",
        "finished",
        [80.0, 85.0],
        2,
        config={"optim": {"lr": 0.01, "momentum": 0.9}, "data": {"batch_size": 64}},
    )
    app = TrainerApp()
    async with app.run_test(size=size) as pilot:
        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.runs, what="the runs")
        screen = app.screen
        differences = screen.query_one("#compare-config")
        screen.query_one("#runs-table").focus()
        await press_live(pilot, "space")
        await wait_for(pilot, lambda: len(screen.configs) == 1, what="one run's config")
        assert not differences.display  # one run: nothing to compare
        await press_live(pilot, "down", "space")
        await wait_for(pilot, lambda: differences.display and differences.row_count == 2, what="the differences")
        await pilot.pause()
        text = "\n".join(screen_text(app))
        # Each run's value under its mark's number, beside the chart, whole at 80 columns.
        for line in ("data.batch_size  64    128", "optim.lr         0.01  0.05"):
            assert line in text, text
        assert "optim.momentum" not in text  # the same in both
        plot, table = screen.query_one("#compare-plot"), differences
        assert plot.region.right <= table.region.x and plot.region.width >= 38, (plot.region, table.region)
        assert table.region.right <= size[0]
        await press_live(pilot, "space")  # one marked again
        await wait_for(pilot, lambda: not differences.display, what="the differences hidden")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_compare_chart_s_label_and_legend_follow_the_metric(runs_dir, size):
    """Each metric's label exactly, with nothing left of the one before ("ttrain loss"
    was a longer label's first letter), and the legend's best: the highest accuracy as
    a percentage, the lowest loss as a loss (it said "best 99.72%" for a loss)."""
    from helpers import write_run_folder

    # write_run_folder: test_loss 1.8/epoch, train_loss 2.0/epoch, train_acc test_acc - 3.
    write_run_folder(runs_dir, "20240101-000000-a", "digits-cnn", "finished", [50.0, 62.5, 61.0], 3)
    write_run_folder(runs_dir, "20240102-000000-b", "digits-cnn", "finished", [40.0, 45.25], 2)
    app = TrainerApp()
    async with app.run_test(size=size) as pilot:
        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.is_mounted, what="the runs")
        screen = app.screen
        screen.query_one("#runs-table").focus()
        await press_live(pilot, "space", "down", "space")
        await wait_for(pilot, lambda: len(screen.curves) == 2, what="the curves")
        plot = screen.query_one("#compare-plot")
        expected = {
            "test acc %": ("best test acc 45.25%", "best test acc 62.50%"),
            "test loss": ("best test loss 0.9000", "best test loss 0.6000"),
            "train acc %": ("best train acc 42.25%", "best train acc 59.50%"),
            "train loss": ("best train loss 1.0000", "best train loss 0.6667"),
        }
        for label, (best_b, best_a) in [*expected.items(), next(iter(expected.items()))]:
            await pilot.pause()
            region = plot.region
            label_row = screen_text(app)[region.y][region.x : region.right]
            assert label_row.strip() == label, label_row
            legend = str(screen.query_one("#compare-legend").content).splitlines()
            assert legend == [f"─o─ 20240102-000000-b  {best_b}", f"─x─ 20240101-000000-a  {best_a}"], legend
            await press_live(pilot, "t")


@pytest.mark.parametrize("width", [80, 120])
async def test_the_legend_s_hint_is_never_cut_mid_phrase(runs_dir, width):
    """At 80 columns a run's line and the hint beside it overflowed, and "compare)" wrapped
    onto a line of its own: the hint goes whole beside the line, or whole below it."""
    from helpers import write_run_folder

    write_run_folder(runs_dir, "20261206-002337-digits-cnn", "digits-cnn", "finished", [90.0, 99.72], 2)
    app = TrainerApp()
    async with app.run_test(size=(width, 24 if width == 80 else 40)) as pilot:
        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs screen")
        screen = app.screen
        await wait_for(pilot, lambda: list(screen.curves), what="the cursor's curve")
        await pilot.pause()
        rows = [row.strip("│ ") for row in screen_text(app)]
        (at,) = [i for i, row in enumerate(rows) if "20261206-002337-digits-cnn  best test acc 99.72%" in row]
        beside = rows[at].endswith("(space marks runs to compare)")
        assert beside == (width == 120), rows[at]
        assert beside or rows[at + 1] == "(space marks runs to compare)", rows[at : at + 2]
