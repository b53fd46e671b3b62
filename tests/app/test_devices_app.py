"""The app with train.devices > 1: the ranks train in background processes and the
dashboard watches and steers them through the run folder; more devices than exist is
refused before a run folder exists."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import torch
from app_helpers import SIZE, notifications, picker_ready, wait_for

from tui_trainer import events as ev
from tui_trainer import presets
from tui_trainer.app import how_a_background_run_stands
from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.launch import new_run


def pids_of(run_dir: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(run_dir) in (proc / "cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


async def test_two_cpu_ranks_train_in_the_background_under_a_watching_dashboard(runs_dir):
    config = presets.load("digits-cnn").with_overrides(["train.device=cpu", "train.devices=2", "train.epochs=2"])
    launch = new_run(config, runs_dir)
    app = TrainerApp()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await picker_ready(pilot)
            assert app.start_session(launch)
            await wait_for(
                pilot, lambda: any("2 devices in the background" in n for n in notifications(app)), what="the note"
            )
            await wait_for(
                pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.is_mounted, what="the dashboard"
            )
            dash = app.screen
            assert dash.mode == "watch" and app.session is None  # no training thread in the app
            await wait_for(pilot, lambda: dash.progress.state == "finished", timeout=120, what="the ranks to finish")
            assert dash.query_one("#epochs").row_count == 2
        assert launch.run.status()["world_size"] == 2
        assert app.exit_status == 0 and app.background_run == launch.run
        said = how_a_background_run_stands(launch.run)
        assert said.startswith(f"{launch.run.id}: finished: 2 epochs") and str(launch.run.dir) in said
    finally:
        for pid in pids_of(launch.run.dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


async def test_the_picker_refuses_more_gpus_than_are_visible(runs_dir):
    if torch.cuda.device_count() > 0:
        return  # the refusal below is for a machine without GPUs
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        picker = await picker_ready(pilot)
        field = picker.query_one("#hp-train-devices")
        field.value = "4"
        await pilot.pause()
        picker.action_start()
        await wait_for(pilot, lambda: any("asks for 4 GPUs" in n for n in notifications(app)), what="the refusal")
        assert app.session is None and not (runs_dir.exists() and any(runs_dir.iterdir()))


def test_the_line_at_quit_for_ranks_in_the_background_says_where_to_reach_them_or_how_they_ended(runs_dir):
    """The app's ranks outlive it: quitting while they train says how to watch and stop
    them; after a rank died it names that rank, as `runs` does, not rank 0's lost contact."""
    config = presets.load("digits-cnn").with_overrides(["train.device=cpu", "train.devices=2"])
    run = new_run(config, runs_dir).run
    run.write_status({"status": "starting", "pid": os.getpid()})  # before its RunStarted
    assert "is training in the background (its ranks)" in how_a_background_run_stands(run)
    run.write_status({"status": "running", "pid": os.getpid(), "world_size": 2})
    said = how_a_background_run_stands(run)
    assert "is training in the background (2 ranks)" in said
    assert f"tui-trainer watch {run.dir}" in said and f"tui-trainer control {run.dir} stop" in said
    why = "lost contact with another rank (its connection closed)"
    lost = ev.Failed(reason=why, error="RuntimeError", epoch=3, step=60, checkpoint="checkpoints/epoch_003.pt")
    with open(run.dir / "events.jsonl", "a") as f:
        for e in (lost, ev.FailureCause(message="rank 1 exited: signal 9 (SIGKILL)")):
            f.write(json.dumps(e.to_dict()) + "\n")
    run.write_status({"status": "failed", "reason": "rank 1 exited: signal 9 (SIGKILL)", "world_size": 2})
    said = how_a_background_run_stands(run)
    assert said.startswith(f"{run.id}: failed: rank 1 exited: signal 9 (SIGKILL); last good checkpoint: "), said
