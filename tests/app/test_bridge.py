"""The event bridge between the training thread and the UI (app/bridge.py)."""

from __future__ import annotations

import time

from app_helpers import (
    SIZE,
    app_training,
    until_trained,
    wait_for,
)

from tui_trainer import events as ev
from tui_trainer.app.bridge import MAX_PENDING_STEPS, EngineUpdate, EventBridge


class Target:
    def __init__(self):
        self.messages = []

    def post_message(self, message):
        self.messages.append(message)
        return True


def test_bridge_coalesces_steps_and_posts_once():
    target = Target()
    bridge = EventBridge(target)
    for i in range(1, 1001):
        bridge(ev.Step(epoch=1, step=i, batch=i, batches=1000, loss=1.0 / i, lr=0.1, images_per_s=1.0))
    bridge(
        ev.EpochEnd(
            epoch=1,
            epochs=2,
            step=1000,
            train_loss=1,
            train_acc=1,
            test_loss=1,
            test_acc=1,
            lr=0.1,
            seconds=1,
            images_per_s=1,
            best=True,
        )
    )
    bridge(ev.Step(epoch=2, step=1001, batch=1, batches=1000, loss=0.5, lr=0.1, images_per_s=1.0))
    assert len(target.messages) == 1 and isinstance(target.messages[0], EngineUpdate)
    events, steps = bridge.drain()
    # The newest Step replaced the queued ones; order with other events is kept.
    assert [type(e).__name__ for e in events] == ["Step", "EpochEnd", "Step"]
    assert events[0].step == 1000 and events[2].step == 1001
    # Every Step kept whole, for the sparkline and the metrics pane's curves.
    assert [s.step for s in steps] == list(range(1, 1002))
    assert steps[-1].loss == 0.5 and steps[0].lr == 0.1
    bridge(ev.Log(message="after drain"))
    assert len(target.messages) == 2  # a new message once the previous batch was taken


def test_bridge_holds_its_messages_between_the_ui_s_takes():
    """After a drain with hold, events wait for the UI's timer (release) instead of each
    burst posting a message: one message per take, and nothing is lost."""
    target = Target()
    bridge = EventBridge(target)
    bridge(ev.Log(message="one"))
    assert len(target.messages) == 1
    assert [e.message for e in bridge.drain(hold=True)[0]] == ["one"]
    for i in range(5):  # an epoch's events, arriving during the hold
        bridge(ev.Log(message=f"held {i}"))
    assert len(target.messages) == 1, "held: no message posted"
    assert bridge.release() is True, "events came: the UI takes them now"
    assert [e.message for e in bridge.drain(hold=True)[0]] == [f"held {i}" for i in range(5)]
    assert bridge.release() is False, "nothing came: the hold ends"
    bridge(ev.Log(message="after"))
    assert len(target.messages) == 2, "the next event posts at once"


async def test_the_app_takes_held_events_on_its_timer(runs_dir):
    """Events that arrive while the bridge is held reach the dashboard on the app's
    timer, when the dashboard's pacer lets a pane render next, with no further event to
    post a message."""
    _, app = app_training(runs_dir, epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        dash = await until_trained(pilot, app)
        # Long enough that the second line surely comes during the hold.
        dash.pacer.live.interval = dash.pacer.epoch.interval = 1.0
        log = dash.query_one("#log")
        seen = lambda text: any(text in m for _, m in [*log.lines_kept, *log._pending])  # noqa: E731
        bridge = app.session.bridge
        await pilot.pause(1.5)  # the run's own last hold is over
        posted = bridge.posted
        bridge(ev.Log(message="first"))  # posts; the app drains it and holds
        await wait_for(pilot, lambda: seen("first"), what="the first line")
        bridge(ev.Log(message="second"))
        assert bridge.posted == posted + 1, "held: no message for the second line"
        assert not seen("second")
        await wait_for(pilot, lambda: seen("second"), timeout=5, what="the held line")
        assert bridge.posted == posted + 1


def test_bridge_memory_is_bounded_while_the_ui_is_busy():
    bridge = EventBridge(Target())
    for i in range(1, 50_001):
        bridge(ev.Step(epoch=1, step=i, batch=i, batches=50_000, loss=1.0, lr=0.1, images_per_s=1.0))
    events, steps = bridge.drain()
    assert len(events) == 1 and len(steps) == MAX_PENDING_STEPS
    assert steps[-1].step == 50_000


def test_bridge_never_blocks_the_training_thread():
    bridge = EventBridge(Target())
    t = time.perf_counter()
    for i in range(20_000):
        bridge(ev.Step(epoch=1, step=i + 1, batch=1, batches=1, loss=1.0, lr=0.1, images_per_s=1.0))
    assert (time.perf_counter() - t) / 20_000 < 1e-4  # well under 0.1 ms per event
