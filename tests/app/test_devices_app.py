"""The app with train.devices > 1: the ranks train in background processes and the
dashboard watches and steers them through the run folder; more devices than exist is
refused before a run folder exists."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import torch
from app_helpers import SIZE, notifications, picker_ready, wait_for

from tui_trainer import presets
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
