"""The dashboard's render pacing: the UI thread stays within its CPU budget while
training, and what the user waits for is still shown at once.

The pacer is driven by a simulated clock and a simulated UI-thread CPU counter, so
these tests are exact; the measured effect on the engine's images/s is in
BENCHMARKS.md (`tui-trainer bench`, c/b).
"""

from __future__ import annotations

import pytest
from helpers import demo_events

from tui_trainer import events as ev
from tui_trainer.app.app import TrainerApp
from tui_trainer.app.bridge import EventBridge
from tui_trainer.app.pacing import EPOCH, LIVE, MAX_STEP, MIN_TAKE_S, RenderPacer, is_urgent
from tui_trainer.app.screens.dashboard import DashboardScreen


class FakeTime:
    """A clock and a CPU counter that only move when told to."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.cpu_s = 0.0

    def clock(self) -> float:
        return self.now

    def cpu(self) -> float:
        return self.cpu_s


def pacer_with(t: FakeTime, **kwargs) -> RenderPacer:
    return RenderPacer(clock=t.clock, cpu=t.cpu, **kwargs)


def fastest(p: RenderPacer) -> RenderPacer:
    p.live.interval, p.epoch.interval = p.live.min_interval, p.epoch.min_interval
    return p


def test_a_new_pacer_starts_slow_and_speeds_up_only_under_budget():
    """A run's first seconds render at the freshness bounds: renders the budget would
    refuse are never paid for while the share is still unmeasured."""
    t = FakeTime()
    p = pacer_with(t)
    assert (p.live.interval, p.epoch.interval) == (LIVE[1], EPOCH[1]) == (1.0, 1.0)
    for _ in range(20):  # a UI at 1 ms a second
        p.rendering(epoch=True)
        t.now += 1.0
        t.cpu_s += 0.001
    assert (p.live.interval, p.epoch.interval) == (LIVE[0], EPOCH[0])


def test_a_tier_waits_its_interval_after_rendering():
    t = FakeTime()
    p = fastest(pacer_with(t))
    assert p.due(live=True, epoch=True) == (True, True)  # nothing rendered yet
    p.rendering(epoch=True)
    assert p.due(live=True, epoch=True) == (False, False)
    assert p.next_due(live=True, epoch=True) == t.now + p.live.interval
    t.now += p.live.interval
    assert p.due(live=True, epoch=True) == (True, False)  # the epoch tier waits longer
    assert p.next_due(live=False, epoch=True) == t.now - p.live.interval + p.epoch.interval
    assert p.next_due(live=False, epoch=False) is None
    t.now += p.epoch.interval
    # An epoch render takes the live panes with it, even with no Step waiting.
    assert p.due(live=False, epoch=True) == (True, True)


def test_over_budget_slows_the_live_tier_to_a_second_then_the_epoch_tier_to_its_longest():
    t = FakeTime()
    p = fastest(pacer_with(t))
    live0, epoch0 = p.live.interval, p.epoch.interval
    p.steer(p.budget * 10)
    assert p.live.interval == pytest.approx(live0 * MAX_STEP)  # bounded step
    assert p.epoch.interval == epoch0
    for _ in range(3):
        p.steer(p.budget * 10)
    assert p.live.interval == LIVE[1] == 1.0, "the progress still moves once a second"
    assert p.epoch.interval > epoch0, "then the epoch tier slows"
    for _ in range(20):
        p.steer(p.budget * 10)
    # Freshness bounds the budget: an epoch's row is on screen within 1 s of its end.
    assert (p.live.interval, p.epoch.interval) == (LIVE[1], EPOCH[1]) == (1.0, 1.0)


def test_under_budget_speeds_up_the_same_rungs_in_reverse():
    t = FakeTime()
    p = pacer_with(t)
    p.live.interval, p.epoch.interval = p.live.max_interval, p.epoch.max_interval
    p.steer(0.0)
    assert p.live.interval == LIVE[1] and p.epoch.interval == pytest.approx(p.epoch.max_interval / MAX_STEP)
    for _ in range(20):
        p.steer(0.0)
    assert (p.live.interval, p.epoch.interval) == (p.live.min_interval, p.epoch.min_interval)
    p.steer(p.budget * 0.9)  # within budget, not far under: nothing changes
    assert (p.live.interval, p.epoch.interval) == (p.live.min_interval, p.epoch.min_interval)


def test_the_ui_takes_events_when_a_tier_may_next_render():
    t = FakeTime()
    p = pacer_with(t)
    assert p.next_take() == MIN_TAKE_S  # nothing rendered yet: at once
    p.rendering(epoch=True)
    assert p.next_take() == pytest.approx(min(p.live.interval, p.epoch.interval))
    t.now += 10
    assert p.next_take() == MIN_TAKE_S  # overdue: at once, but never a busy loop


def simulate(
    render_live: float, render_epoch: float, epoch_s: float, seconds: float = 300.0, base: float = 0.005
) -> tuple[RenderPacer, float]:
    """A run whose Steps arrive 4 times a second and epochs every ``epoch_s``, on a UI
    whose renders cost ``render_live``/``render_epoch`` CPU seconds (benchmarks/
    render_cost.py measures them: about 5 ms and 35-70 ms on the two-core build machines)
    and idles at ``base`` of a core. Returns the pacer and the UI's CPU share over the
    last third of the run."""
    t = FakeTime()
    p = pacer_with(t)
    dt = 0.05
    live_waiting = epoch_waiting = False
    next_step, next_epoch = 0.25, epoch_s
    elapsed = 0.0
    mark = None
    while elapsed < seconds:
        elapsed += dt
        t.now += dt
        t.cpu_s += base * dt
        if elapsed >= next_step:
            live_waiting, next_step = True, next_step + 0.25
        if elapsed >= next_epoch:
            epoch_waiting, next_epoch = True, next_epoch + epoch_s
        live, epoch = p.due(live_waiting, epoch_waiting)
        if live or epoch:
            p.rendering(epoch)
            t.cpu_s += render_epoch if epoch else render_live
            live_waiting = live_waiting and not live
            epoch_waiting = epoch_waiting and not epoch
        if mark is None and elapsed >= seconds * 2 / 3:
            mark = (t.now, t.cpu_s)
    return p, (t.cpu_s - mark[1]) / (t.now - mark[0])


@pytest.mark.parametrize("epoch_s", [0.25, 0.6, 2.0, 30.0])
@pytest.mark.parametrize("render_epoch", [0.014, 0.035, 0.07])  # measured: ~14 ms (render_cost.py)
def test_the_ui_stays_fresh_and_within_its_budget_where_freshness_allows(epoch_s, render_epoch):
    p, share = simulate(render_live=0.005, render_epoch=render_epoch, epoch_s=epoch_s)
    assert p.live.interval <= 1.0 and p.epoch.interval <= 1.0  # the bounds hold, whatever the cost
    # The least the UI can spend at those bounds: renders at the longest intervals.
    floor = 0.005 + 0.005 / LIVE[1] + render_epoch / max(EPOCH[1], epoch_s)
    assert share <= max(p.budget, floor) * 1.15, (share, p.live.interval, p.epoch.interval)
    if epoch_s >= 30:
        assert p.epoch.interval <= epoch_s  # epochs far apart: each shown as it ends


def test_a_cheap_ui_renders_everything_at_once():
    p, share = simulate(render_live=0.0002, render_epoch=0.002, epoch_s=1.0)
    assert (p.live.interval, p.epoch.interval) == (p.live.min_interval, p.epoch.min_interval)
    assert share < p.budget


def test_urgent_events_post_through_the_bridge_s_hold():
    """Held, the bridge posts nothing for Steps or later epochs; a state change or the
    run's first epoch posts at once (the dashboard renders those at once too)."""
    posted: list = []
    target = type("T", (), {"post_message": lambda self, m: posted.append(m)})()
    bridge = EventBridge(target)
    epoch = demo_events(epochs_done=2)
    started = next(e for e in epoch if isinstance(e, ev.RunStarted))
    step = next(e for e in epoch if isinstance(e, ev.Step))
    first, second = [e for e in epoch if isinstance(e, ev.EpochEnd)][:2]
    bridge(started)
    bridge.drain(hold=True)
    bridge(step)
    assert len(posted) == 1, "a Step waits for the UI's timer"
    bridge(first)
    assert len(posted) == 2, "the first epoch posts through the hold"
    bridge.drain(hold=True)
    bridge(second)
    assert len(posted) == 2, "later epochs wait"
    bridge(ev.Paused(epoch=3, step=80))
    assert len(posted) == 3, "a pause posts through the hold"
    assert is_urgent(first, first_epoch=True) and not is_urgent(second, first_epoch=False)


# -- the dashboard -------------------------------------------------------------------------


class PacedApp(TrainerApp):
    """A fed dashboard with a pacer on simulated time (a live one has a real pacer)."""

    def __init__(self, t: FakeTime) -> None:
        super().__init__()
        self.t = t

    async def show_first_screen(self) -> None:
        screen = DashboardScreen()
        screen.pacer = pacer_with(self.t)
        await self.push_screen(screen)


def split_demo():
    events = demo_events(epochs_done=6, epochs=8)
    start = next(i for i, e in enumerate(events) if isinstance(e, ev.RunStarted)) + 1
    return events[:start], events[start:]


async def test_dashboard_defers_epoch_renders_and_shows_everything_at_the_end():
    t = FakeTime()
    app = PacedApp(t)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = app.screen
        table = dash.query_one("#epochs")
        head, rest = split_demo()
        dash.feed(head)  # RunStarted: rendered at once
        await pilot.pause()
        assert dash.progress.state == "training"
        for e in rest:  # the run's events, faster than the epoch tier's interval
            dash.feed([e])
        await pilot.pause()
        epochs_fed = sum(isinstance(e, ev.EpochEnd) for e in rest)
        assert epochs_fed == 6
        assert 1 <= table.row_count < epochs_fed  # the first epoch at once, then paced
        assert dash.progress.step == max(e.step for e in rest if isinstance(e, ev.Step))  # state is current
        # The pacer's timer renders what waits once the interval has passed.
        t.now += dash.pacer.epoch.interval
        dash.render_waiting()
        await pilot.pause()
        assert table.row_count == epochs_fed
        dash.feed(
            [
                ev.EpochEnd(
                    epoch=7,
                    epochs=8,
                    step=280,
                    train_loss=0.3,
                    train_acc=90.0,
                    test_loss=0.4,
                    test_acc=86.0,
                    lr=0.01,
                    seconds=2.0,
                    images_per_s=1000.0,
                    best=True,
                )
            ]
        )
        assert table.row_count == epochs_fed  # just rendered: this one waits
        dash.feed([ev.Finished(epochs=7, best_acc=86.0, final_acc=86.0, seconds=20.0)])  # urgent
        await pilot.pause()
        assert table.row_count == 7 and dash.progress.state == "finished"
        assert any("finished" in m for _, m in dash.query_one("#log").lines_kept)


async def test_pause_and_a_pane_switch_render_at_once():
    t = FakeTime()
    app = PacedApp(t)
    async with app.run_test(size=(80, 24)) as pilot:
        dash = app.screen
        head, rest = split_demo()
        dash.feed(head)
        dash.feed(rest[:40])  # a first epoch render happens now (nothing rendered yet)
        checkpoints = dash.query_one("#checkpoints")
        shown = checkpoints.row_count
        dash.feed(rest[40:])
        assert checkpoints.row_count == shown  # waiting for the epoch tier
        await pilot.press("3")  # the user turns to the checkpoints pane: it shows the latest
        await pilot.pause()
        assert checkpoints.row_count == len(checkpoints.entries) > shown
        dash.feed([ev.Paused(epoch=7, step=270)])
        await pilot.pause()
        assert dash.progress.state == "paused"


async def test_the_footer_is_rebuilt_for_state_changes_only(monkeypatch):
    """refresh_bindings recomposes the footer, a relayout of the whole screen: not for a
    run's Steps or its first epoch, nor for a state event that changes no key."""
    from textual.screen import Screen

    calls: list[Screen] = []
    base = Screen.refresh_bindings
    monkeypatch.setattr(Screen, "refresh_bindings", lambda self: (calls.append(self), base(self))[1])
    t = FakeTime()
    app = PacedApp(t)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = app.screen
        await pilot.pause()
        calls.clear()
        head, rest = split_demo()
        dash.feed(head)  # RunStarted: a fed dashboard's keys are live before and after
        assert calls == []
        first_epoch = next(i for i, e in enumerate(rest) if isinstance(e, ev.EpochEnd)) + 1
        for e in rest[: first_epoch + 5]:  # Steps, the first epoch (rendered at once), more Steps
            dash.feed([e])
        await pilot.pause()
        assert dash.query_one("#epochs").row_count == 1 and calls == []
        # A fed dashboard's keys do not follow the run's pause (they say why instead).
        dash.feed([ev.Paused(epoch=2, step=50)])
        dash.feed([ev.Resumed(epoch=2, step=50)])
        assert calls == []
