"""Snapshots of the picker, a dashboard mid-run and the runs screen, at 80x24 and 120x40.

Deterministic by construction: the dashboard is fed a fixed, synthetic list of events
(no training, no clock), and the runs screen reads run folders written from fixed data
at a fixed path (the path is shown on screen). Regenerate with
``pytest tests/test_snapshots.py --snapshot-update`` and look at the report.
"""

from __future__ import annotations

import fcntl
import shutil
from pathlib import Path

import pytest
from helpers import demo_events, write_run_folder

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.dashboard import DashboardScreen

SIZES = [(80, 24), (120, 40)]
SNAPSHOT_RUNS = Path("/tmp/tui-trainer-snapshots/runs")
SNAPSHOT_LOCK = Path("/tmp/tui-trainer-snapshots.lock")


class FedDashboardApp(TrainerApp):
    """A dashboard fed a synthetic run three and a half epochs in."""

    def __init__(self) -> None:
        super().__init__(runs_dir=SNAPSHOT_RUNS)

    async def show_first_screen(self) -> None:
        screen = DashboardScreen()
        await self.push_screen(screen)
        screen.feed(demo_events())
        screen.query_one("#device").set_stats("12.3/79.6 GiB", 87)


class RunsApp(TrainerApp):
    def __init__(self) -> None:
        super().__init__(runs_dir=SNAPSHOT_RUNS)

    async def show_first_screen(self) -> None:
        await self.switch_mode("runs")


@pytest.fixture
def snapshot_runs():
    # The path is fixed (it is on screen), so tests in other processes (pytest -n 2, or
    # a second checkout's suite) take turns with it: one wiped it under another's screen.
    with SNAPSHOT_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield from _snapshot_runs()


def _snapshot_runs():
    shutil.rmtree(SNAPSHOT_RUNS.parent, ignore_errors=True)
    write_run_folder(
        SNAPSHOT_RUNS, "20240101-090000-digits-cnn", "digits-cnn", "finished", [90.0, 95.28, 96.39, 97.1, 97.5], 5
    )
    # The two compared differ in three keys (the differences table) and share one.
    digits = {"model": {"name": "small_cnn"}, "optim": {"lr": 0.01, "momentum": 0.9}, "data": {"batch_size": 64}}
    resnet = {"model": {"name": "resnet_small"}, "optim": {"lr": 0.1, "momentum": 0.9}, "data": {"batch_size": 128}}
    write_run_folder(
        SNAPSHOT_RUNS, "20240102-100000-digits-cnn", "digits-cnn", "stopped", [88.5, 93.0, 94.2], 10, config=digits
    )
    write_run_folder(
        SNAPSHOT_RUNS, "20240103-110000-resnet-small-cifar10", "resnet-small-cifar10", "failed", [41.2], 300, resnet
    )
    yield SNAPSHOT_RUNS
    shutil.rmtree(SNAPSHOT_RUNS.parent, ignore_errors=True)


async def settle(pilot) -> None:
    from textual.worker import WorkerState

    # Workers (preset loading, parameter counts, curves) end; an exclusive worker that
    # a newer one cancelled counts as ended.
    while any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in pilot.app.workers):
        await pilot.pause(0.05)
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_picker(snap_compare, size):
    async def loaded(pilot):
        screen = pilot.app.screen
        while not screen.loaded:
            await pilot.pause(0.05)
        await settle(pilot)
        await settle(pilot)  # the parameter count, computed after the presets loaded

    assert snap_compare(TrainerApp(), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_mid_run(snap_compare, size):
    assert snap_compare(FedDashboardApp(), terminal_size=size, run_before=settle)


def test_dashboard_chart_pane_80x24(snap_compare):
    async def chart(pilot):
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)

    assert snap_compare(FedDashboardApp(), terminal_size=(80, 24), run_before=chart)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_runs_screen_comparing_two_runs(snap_compare, snapshot_runs, size):
    async def compare(pilot):
        await settle(pilot)
        await pilot.press("space", "down", "space")
        screen = pilot.app.screen
        while len(screen.curves) < 2:
            await pilot.pause(0.05)
        await settle(pilot)

    assert snap_compare(RunsApp(), terminal_size=size, run_before=compare)
