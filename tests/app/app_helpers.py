"""What the app's pilot tests share. Training runs for real (the digits preset or the tiny
synthetic config), so those tests also check that the UI keeps up with a live engine: each
waits on a condition with a deadline instead of sleeping a fixed time, and sends keys the way
the terminal driver does (the process is never idle while training runs in it). Not named
helpers.py: tests/helpers.py already holds that module name on sys.path."""

from __future__ import annotations

import json
import time
from pathlib import Path

from helpers import tiny_config

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.app.screens.picker import PickerScreen
from tui_trainer.launch import Launch
from tui_trainer.runs import Run

SIZE = (100, 30)


async def wait_for(pilot, condition, timeout: float = 60.0, what: str = "condition") -> None:
    """Poll ``condition`` until true; a screen still being composed counts as not yet."""
    from textual.css.query import NoMatches

    def met() -> bool:
        try:
            return bool(condition())
        except NoMatches:
            return False

    deadline = time.monotonic() + timeout
    while not met():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.05)


async def wait_for_exit(app, timeout: float = 60.0) -> None:
    """Until the app has exited. Not with pilot.pause: it waits for every widget of the
    screen to run a callback, and a widget closed by the exit meanwhile never does (the
    pause then timed out at 30 s now and then, in a full suite run)."""
    import asyncio

    deadline = time.monotonic() + timeout
    while app.is_running:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for the app to exit")
        await asyncio.sleep(0.05)


def send_key(pilot, key: str) -> None:
    """Deliver a key the way the terminal driver does. ``pilot.press`` then waits until
    the whole process is idle, which never happens while training runs in it."""
    from textual import events

    char = {"space": " ", "enter": "\r", "tab": "\t"}.get(key, key if len(key) == 1 else None)
    event = events.Key(key, char)
    event.set_sender(pilot.app)
    pilot.app._driver.send_message(event)


async def press_live(pilot, *keys: str) -> None:
    for key in keys:
        send_key(pilot, key)
        await pilot.pause(0.05)


def status_of(run: Run) -> str:
    return json.loads((run.dir / "status.json").read_text())["status"]


def notifications(app) -> list[str]:
    return [n.message for n in app._notifications]


def long_launch(runs_dir: Path, epochs: int = 400) -> Launch:
    """A run that trains for minutes unless stopped; steps reported every 50 ms."""
    config = tiny_config(train={"epochs": epochs, "log_interval": 0.05})
    return Launch(config, Run.create(runs_dir, config))


def train_tiny(runs_dir: Path, epochs: int = 2) -> Run:
    """A finished run folder, trained for real (about a second)."""
    from tui_trainer.engine.trainer import Trainer

    config = tiny_config(train={"epochs": epochs})
    run = Run.create(runs_dir, config)
    recorder = run.recorder()
    Trainer(config, run=run, subscribers=[recorder]).run()
    recorder.close()
    return run


def app_training(runs_dir, epochs: int) -> tuple[Launch, TrainerApp]:
    """An app that opens on the dashboard of a new tiny run, training at once."""
    config = tiny_config(train={"epochs": epochs})
    launch = Launch(config, Run.create(runs_dir, config))
    return launch, TrainerApp(launch=launch)


async def until_trained(pilot, app: TrainerApp) -> DashboardScreen:
    """The dashboard, once its run has ended and its checkpoints pane has rows."""
    dash = app.screen
    await wait_for(pilot, lambda: app.session.done.is_set(), what="training")
    await wait_for(pilot, lambda: dash.query_one("#checkpoints").row_count >= 1, what="checkpoint rows")
    return dash


async def picker_ready(pilot) -> PickerScreen:
    screen = pilot.app.screen
    assert isinstance(screen, PickerScreen)
    await wait_for(pilot, lambda: screen.loaded, what="presets to load")
    await pilot.pause()
    return screen


def epoch_events(n: int, planned: int | None = None) -> list:
    """A run's RunStarted and ``n`` EpochEnds (of ``planned`` epochs, ``n`` unless
    told), for a fed dashboard: losses falling, accuracies rising, epoch ``n`` the best."""
    from helpers import run_started

    from tui_trainer import events as ev

    planned = planned or n
    out: list = [run_started(epochs=planned)]
    for i in range(1, n + 1):
        out.append(
            ev.EpochEnd(
                epoch=i,
                epochs=planned,
                step=10 * i,
                train_loss=2.0 / i,
                train_acc=40 + 50 * i / n,
                test_loss=1.8 / i,
                test_acc=38 + 50 * i / n,
                lr=0.01,
                seconds=1.0,
                images_per_s=1000.0,
                best=True,
                time=1.0 + i,
            )
        )
    return out


def screen_text(app) -> list[str]:
    """The screen as the terminal would show it, a string a row (the compositor's own
    lines: what every widget painted, overlaps resolved)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]
