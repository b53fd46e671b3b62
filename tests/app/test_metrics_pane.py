"""The dashboard's metrics pane: the chooser, step and epoch curves, a spike kept, the
log scale, the recent/all window and a readable x axis from 3 to 300 epochs, its place
in the roomy layout, and every Step of a live run reaching it through the bridge."""

from __future__ import annotations

import math
import re

import pytest
from app_helpers import app_training, epoch_events, until_trained, wait_for

from tui_trainer import events as ev
from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.app.widgets.braille_plot import BraillePlot
from tui_trainer.app.widgets.metrics import METRICS, MetricsPane, StepSeries, log_ticks

STEPS = 10  # steps an epoch, as run_started's


def steps(n_epochs: int, spike_at: int | None = None, grad: bool = True) -> list[ev.Step]:
    """A Step an optimizer step: loss falling, lr decaying, a loss spike at ``spike_at``."""
    out = []
    for s in range(1, n_epochs * STEPS + 1):
        loss = 50.0 if s == spike_at else 2.0 / (1 + s / STEPS)
        out.append(
            ev.Step(
                epoch=(s - 1) // STEPS + 1,
                step=s,
                batch=(s - 1) % STEPS + 1,
                batches=STEPS,
                loss=loss,
                lr=0.1 * 0.99**s,
                images_per_s=1000.0 + s,
                grad_norm=1.0 + s / 100 if grad else None,
            )
        )
    return out


def fed_run(n_epochs: int, **kw) -> list[ev.Event]:
    """RunStarted, then each epoch's Steps and its EpochEnd."""
    epochs = epoch_events(n_epochs, planned=max(n_epochs, 2))
    assert epochs[0].steps_per_epoch == STEPS
    all_steps = steps(n_epochs, **kw)
    out: list[ev.Event] = [epochs[0]]
    for i, end in enumerate(epochs[1:]):
        out += [*all_steps[i * STEPS : (i + 1) * STEPS], end]
    return out


async def open_metrics(app, pilot, events: list[ev.Event]) -> tuple[DashboardScreen, MetricsPane, BraillePlot]:
    dash = DashboardScreen()
    await app.push_screen(dash)
    await pilot.pause()
    dash.feed(events)
    await pilot.press("5")
    await pilot.pause()
    pane = dash.query_one(MetricsPane)
    return dash, pane, pane.query_one(BraillePlot)


def top_row(plot: BraillePlot) -> str:
    return plot.render_line(0).text


def chooser_text(pane: MetricsPane) -> str:
    return str(pane.query_one("#metric-chooser").render())


async def test_the_chooser_picks_each_curve_and_the_label_gives_its_latest_value():
    app = TrainerApp()
    async with app.run_test(size=(100, 30)) as pilot:
        _, pane, plot = await open_metrics(app, pilot, fed_run(3))
        assert pane.has_focus, "5 focuses the pane: its keys work at once"
        for label in ("loss", "lr", "grad", "img/s", "test loss", "test acc"):
            assert label in chooser_text(pane)
        expected = [
            "train loss 0.5000",  # 2 / (1 + 30/10)
            "learning rate",
            "gradient norm 1.3",
            "images/s",
            "loss by epoch",
            "acc % by epoch",
        ]
        for i, title in enumerate(expected):
            assert pane.metric is METRICS[i]
            assert top_row(plot).strip().startswith(title), (i, top_row(plot))
            await pilot.press("right")
            await pilot.pause()
        assert pane.metric is METRICS[0], "right wraps around"
        await pilot.press("left")
        await pilot.pause()
        assert pane.metric.key == "test_acc"
        # Epoch curves: train and test with their markers.
        assert len(plot._series) == 4 and {s.marker for s in plot._series} == {None, "+", "o"}


async def test_a_loss_spike_among_thousands_of_steps_is_drawn_at_any_width():
    app = TrainerApp()
    async with app.run_test(size=(60, 20)) as pilot:
        _, pane, plot = await open_metrics(app, pilot, fed_run(300, spike_at=1234))
        assert plot._ylimits[1] < 50, "epoch 124's spike is not in the recent window (the last 50 epochs)"
        await pilot.press("l")  # all 3000 steps
        await pilot.pause()
        line = plot._series[0]
        assert len(line.x) <= 2 * (plot.size.width - plot.margin_left), "downsampled to the plot's width"
        assert 50.0 in line.y.tolist(), "the spike survives the buckets"
        assert plot._ylimits[1] >= 50.0


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (120, 40)])
@pytest.mark.parametrize("n_epochs", [3, 30, 300])
async def test_the_x_axis_reads_in_epochs_from_3_to_300(size, n_epochs):
    app = TrainerApp()
    async with app.run_test(size=size) as pilot:
        _, pane, plot = await open_metrics(app, pilot, fed_run(n_epochs))
        for show_all in (False, True):
            labels = re.findall(r"\S+", plot.render_line(plot.size.height - 1).text)
            assert len(labels) >= 2, labels
            values = [float(v) for v in labels]
            assert values == sorted(set(values)), f"distinct, in order: {labels}"
            first, last = plot._xlimits
            assert last == pytest.approx(n_epochs), "the step curve ends at the latest step"
            expected_first = 0.0 if show_all or n_epochs <= 50 else n_epochs - 50
            assert first == pytest.approx(expected_first)
            assert first <= values[0] and values[-1] <= last
            await pilot.press("l")
            await pilot.pause()
            assert pane.show_all is not show_all


async def test_g_puts_losses_on_a_log_scale_and_leaves_accuracy_linear():
    app = TrainerApp()
    async with app.run_test(size=(100, 30)) as pilot:
        _, pane, plot = await open_metrics(app, pilot, fed_run(30))
        linear_top = plot._ylimits[1]
        await pilot.press("g")
        await pilot.pause()
        assert pane.log_scale and "log" in chooser_text(pane)
        assert plot._ylimits[1] == pytest.approx(math.log10(2.0 / 1.1), abs=0.2), "the logarithms are plotted"
        assert plot._ylimits[1] < linear_top
        labels = plot._y_formatter.get_labels_for_ticks(plot._yticks)
        assert all(float(label) > 0 for label in labels), "labels are the values, not their logarithms"
        for _ in range(5):  # to test acc
            await pilot.press("right")
        await pilot.pause()
        assert pane.metric.key == "test_acc"
        assert plot._ylimits[1] > 80, "accuracy stays linear"
        assert "log" not in chooser_text(pane)


def test_log_ticks_are_powers_of_ten_or_their_halves_and_fifths():
    assert log_ticks(-3.2, 0.1, 8) == [-3.0, -2.0, -1.0, 0.0]
    few = log_ticks(math.log10(0.15), math.log10(0.9), 8)
    assert [round(10**t, 6) for t in few] == [0.2, 0.5]
    within = log_ticks(math.log10(0.31), math.log10(0.39), 8)
    assert len(within) >= 2 and all(0.31 <= 10**t <= 0.39 for t in within)


def test_a_resume_forgets_the_steps_after_its_checkpoint():
    series = StepSeries(capacity=4)  # grows past its first capacity
    for s in steps(2):
        series.add(s)
    assert series.n == 20
    assert not series.add(steps(1)[3]), "a replayed step is not kept twice"
    series.rewind_to(12)
    x, loss = series.column("loss")
    assert x.tolist() == list(range(1, 13)) and len(loss) == 12


async def test_a_run_without_gradient_norms_says_so():
    app = TrainerApp()
    async with app.run_test(size=(100, 30)) as pilot:
        _, pane, plot = await open_metrics(app, pilot, fed_run(2, grad=False))
        pane.choose(2)
        await pilot.pause()
        assert "gradient norm: not in this run's events" in top_row(plot)


async def test_on_a_large_screen_the_chart_and_the_metrics_share_a_place():
    app = TrainerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        dash, pane, plot = await open_metrics(app, pilot, fed_run(3))
        shown = lambda name: dash.query_one(f"#pane-{name}").display  # noqa: E731
        assert shown("metrics") and not shown("chart")
        assert all(shown(name) for name in ("epochs", "checkpoints", "log"))
        await pilot.press("2")
        await pilot.pause()
        assert shown("chart") and not shown("metrics")
        await pilot.press("1")  # another pane: the chart keeps its place
        await pilot.pause()
        assert shown("chart") and not shown("metrics")


async def test_every_step_of_a_live_run_reaches_the_pane(runs_dir):
    """The bridge coalesces Steps for the UI but keeps each one for the curves: the
    pane has every Step the run wrote, learning rate and gradient norm included."""
    launch, app = app_training(runs_dir, epochs=2)
    async with app.run_test(size=(100, 30)) as pilot:
        dash = await until_trained(pilot, app)
        pane = dash.query_one(MetricsPane)
        written = [e for e in launch.run.read_events(0)[0] if isinstance(e, ev.Step)]
        await wait_for(pilot, lambda: pane.steps.n == len(written), what="every step in the pane")
        x, lr = pane.steps.column("lr")
        assert x.tolist() == [s.step for s in written]
        assert lr.tolist() == pytest.approx([s.lr for s in written])
        _, norms = pane.steps.column("grad_norm")
        assert all(n > 0 for n in norms.tolist())


async def test_steps_redraw_the_pane_only_while_it_is_on_screen(monkeypatch):
    """A Step alone waits for the epoch tier only when the metrics pane's place is
    shown: a hidden pane costs the UI thread no redraws."""
    flushes = []
    original = MetricsPane.flush
    monkeypatch.setattr(MetricsPane, "flush", lambda self: (flushes.append(1), original(self))[1])
    run = fed_run(3)
    head, tail = run[: STEPS + 1], [e for e in run[STEPS + 1 :] if isinstance(e, ev.Step)]
    app = TrainerApp()
    async with app.run_test(size=(100, 30)) as pilot:
        dash = DashboardScreen()
        await app.push_screen(dash)
        await pilot.pause()
        dash.feed(head)
        await pilot.pause()
        assert not dash.query_one("#pane-metrics").display
        flushes.clear()
        dash.feed(tail[:5])
        await pilot.pause()
        assert flushes == [], "steps redrew a hidden metrics pane"
        await pilot.press("5")
        await pilot.pause()
        flushes.clear()
        dash.feed(tail[5:])
        await pilot.pause()
        assert flushes, "steps did not redraw the metrics pane on screen"


async def test_coalesced_steps_all_reach_the_pane_in_their_order():
    """The bridge hands over its coalesced events (a batch's last Step) and every Step
    kept beside them: the last one must not go in first, or the earlier ones count as
    seen and are dropped (under load, when a drain holds several Steps)."""
    run = fed_run(1)
    started, batch = run[0], [e for e in run if isinstance(e, ev.Step)]
    app = TrainerApp()
    async with app.run_test(size=(100, 30)) as pilot:
        dash = DashboardScreen()
        await app.push_screen(dash)
        await pilot.pause()
        dash.feed([started], [])
        dash.feed([batch[-1]], batch)  # as EventBridge.drain gives them: one Step, all kept
        await pilot.pause()
        pane = dash.query_one(MetricsPane)
        assert pane.steps.column("lr")[0].tolist() == [s.step for s in batch]
