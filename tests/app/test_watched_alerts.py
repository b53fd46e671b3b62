"""Alerts of a watched run (issue 20): what a run trained elsewhere does while the app
watches it is announced as the app's own run is (a toast, the bell, a desktop
notification), its history is not; a stall and the system sampler's idle-GPU flag
too. The tracker that decides is alerts.AlertTracker, the notifier's as well."""

from __future__ import annotations

import json
import time

import pytest
from app_helpers import SIZE, notifications, wait_for
from helpers import T0, write_run_folder

from tui_trainer import events as ev
from tui_trainer.alerts import AlertTracker
from tui_trainer.app import app as app_module
from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens import dashboard as dashboard_module
from tui_trainer.config import NotifyConfig
from tui_trainer.runs import Run


@pytest.fixture
def desktop(monkeypatch):
    """The desktop notifications the app sends, (title, message) each."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(app_module, "notify_desktop", lambda app, title, message: sent.append((title, message)))
    monkeypatch.setattr(TrainerApp, "bell", lambda self: None)
    return sent


def append_events(folder, *events: ev.Event) -> None:
    with open(folder / "events.jsonl", "a") as f:
        f.writelines(json.dumps(e.to_dict()) + "\n" for e in events)


def epoch_end(epoch: int, acc: float) -> ev.EpochEnd:
    return ev.EpochEnd(
        epoch=epoch,
        epochs=10,
        step=10 * epoch,
        train_loss=0.5,
        train_acc=acc,
        test_loss=0.5,
        test_acc=acc,
        lr=0.01,
        seconds=1.0,
        images_per_s=1000.0,
        best=True,
        time=T0 + epoch,
    )


def finished(epochs: int) -> ev.Finished:
    return ev.Finished(epochs=epochs, best_acc=95.0, final_acc=95.0, seconds=3.0, time_to_target=None, target_acc=None)


async def test_a_watched_run_s_history_is_not_announced(runs_dir, desktop):
    folder = write_run_folder(runs_dir, "20261203-000000-done", "digits-cnn", "finished", [80.0, 95.0], 2)
    append_events(folder, finished(2))
    app = TrainerApp(watch=Run(folder))
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        await wait_for(pilot, lambda: dash.progress.state == "finished", what="the history")
        await pilot.pause(1.0)  # a tail or two
        assert desktop == [] and not any("Training finished" in n for n in notifications(app))


async def test_what_a_watched_run_does_now_is_announced(runs_dir, desktop):
    config = {"notify": {"target_acc": 92}}
    folder = write_run_folder(runs_dir, "20261203-000000-live", "digits-cnn", "running", [80.0, 90.0], 10, config)
    app = TrainerApp(watch=Run(folder))
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        await wait_for(pilot, lambda: dash.query_one("#epochs").row_count == 2, what="the history")
        append_events(folder, epoch_end(3, 95.0), epoch_end(4, 96.0), finished(4))
        await wait_for(pilot, lambda: len(desktop) >= 2, what="the alerts")
        await pilot.pause(0.6)
        titles = [t for t, _ in desktop]
        assert titles == ["Target accuracy reached", "Training finished"], "the target once, from the run's config"
        assert "95.00% test accuracy at epoch 3 (target 92.00%)" in notifications(app)


async def test_a_watched_run_that_stalls_is_announced_once(runs_dir, desktop, monkeypatch):
    monkeypatch.setattr(dashboard_module, "STALL_CHECK_S", 0.1)
    config = {"notify": {"stall_minutes": 0.005}}  # 0.3 s
    folder = write_run_folder(runs_dir, "20261203-000000-stall", "digits-cnn", "running", [80.0], 10, config)
    app = TrainerApp(watch=Run(folder))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(desktop) >= 1, timeout=10, what="the stall alert")
        await pilot.pause(0.8)
        assert desktop == [("Training stalled", "no training step for 0.005 min")]


async def test_the_idle_gpu_flag_of_a_fresh_sample_is_announced(runs_dir, desktop):
    folder = write_run_folder(runs_dir, "20261203-000000-idle", "digits-cnn", "running", [80.0], 10)
    old = {"time": time.time() - 3600, "cpu_percent": 5, "gpus": [{"utilisation": 3}], "flag": "gpu_underused"}
    (folder / "system.jsonl").write_text(json.dumps(old) + "\n")
    app = TrainerApp(watch=Run(folder))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(1.5)
        assert desktop == [], "a flag in the file's history is not news"
        fresh = {**old, "time": time.time(), "data_share": 0.4}
        with open(folder / "system.jsonl", "a") as f:
            f.write(json.dumps(fresh) + "\n")
        await wait_for(pilot, lambda: desktop, timeout=10, what="the idle-GPU alert")
        title, message = desktop[0]
        assert title == "GPU underused" and "input-bound?" in message and "40%" in message


def test_the_tracker_says_each_alert_once_and_a_stall_only_while_training():
    now = [0.0]
    tracker = AlertTracker(NotifyConfig(target_acc=90, stall_minutes=1), clock=lambda: now[0])
    assert tracker.feed(epoch_end(1, 91.0)).kind == "target"
    assert tracker.feed(epoch_end(2, 92.0)) is None, "the target once"
    now[0] = 61
    assert tracker.stall().kind == "stalled"
    assert tracker.stall() is None, "once"
    tracker.feed(ev.Step(epoch=3, step=21, batch=1, batches=10, loss=1.0, lr=0.1, images_per_s=1.0))
    now[0] = 100
    assert tracker.stall() is None, "a step came since"
    tracker.feed(ev.Paused(epoch=3, step=21, epoch_step=1, epoch_steps=10))
    now[0] = 1000
    assert tracker.stall() is None, "paused is not stalled"
    tracker.feed(finished(3))
    tracker.feed(ev.Resumed(epoch=3, step=21, epoch_step=1, epoch_steps=10))
    now[0] = 2000
    assert tracker.stall() is None, "ended"
