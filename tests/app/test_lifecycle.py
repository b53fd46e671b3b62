"""Quitting, and the terminal going away: a run is stopped with a checkpoint and the
process ends (app/app.py)."""

from __future__ import annotations

import time
from pathlib import Path

from app_helpers import (
    SIZE,
    long_launch,
    press_live,
    status_of,
    wait_for,
    wait_for_exit,
)

from tui_trainer import events as ev
from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.confirm import ConfirmScreen


async def test_quit_during_a_run_saves_a_checkpoint_and_marks_it_stopped(runs_dir):
    launch = long_launch(runs_dir)
    app = TrainerApp(launch=launch)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        await wait_for(pilot, lambda: dash.progress.step > 0, what="the first step")
        await press_live(pilot, "ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the quit confirm")
        await press_live(pilot, "y")
        await wait_for_exit(app)
    assert app.return_value == 0
    session = app.session
    assert session.done.is_set()
    assert isinstance(session.result, ev.Stopped) and session.result.reason == "quit"
    assert status_of(launch.run) == "stopped"
    saved = [p for p in launch.run.checkpoints_dir.glob("epoch_*.pt")]
    assert saved and Path(session.result.checkpoint).exists()


def test_after_a_hang_up_the_process_ends_even_if_textual_shutdown_hangs(tmp_path):
    """Textual's output thread can die writing to a dead terminal, and its shutdown then
    waits forever (a process per 6 hang-ups lingered). The watchdog waits for the run to
    end, gives the exit its grace, and ends the process with the app's exit status."""
    import subprocess
    import sys

    marker = tmp_path / "run-ended"
    script = f"""
import threading, time
from pathlib import Path
import tui_trainer.app.app as m
m.EXIT_GRACE = 0.3

class Session:
    def wait(self, timeout):
        time.sleep(0.5)  # the engine writing its checkpoint
        Path({str(marker)!r}).write_text("ok")
        return True

class App:
    is_headless = False
    session = Session()
    exit_status = 3

m.exit_even_if_textual_hangs(App())
threading.Event().wait(60)  # Textual's shutdown, hung
"""
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", script], timeout=30)
    assert r.returncode == 3 and marker.read_text() == "ok"  # after the run ended, with the app's status
    assert time.monotonic() - t0 < 20


def test_a_hung_up_terminal_is_told_from_a_live_one():
    import os

    from tui_trainer.app.app import terminal_hung_up

    master, slave = os.openpty()
    try:
        assert not terminal_hung_up(slave)
        os.close(master)  # what the SSH server or tmux does when the session goes
        master = -1
        assert terminal_hung_up(slave)
    finally:
        os.close(slave)
        if master >= 0:
            os.close(master)
    assert not terminal_hung_up(10_000)  # no such descriptor: not a hang-up


async def test_app_ending_on_a_dead_terminal_stops_the_run_as_a_hangup(runs_dir, monkeypatch):
    """Textual can end the app (its input thread failing on the dead terminal) before the
    SIGHUP arrives: the run is stopped with the hang-up as its reason all the same."""
    import tui_trainer.app.app as app_module

    launch = long_launch(runs_dir)
    app = TrainerApp(launch=launch)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        await wait_for(pilot, lambda: dash.progress.step > 0, what="the first step")
        monkeypatch.setattr(app_module, "terminal_hung_up", lambda fd=None: True)
        app.exit()  # as Textual's panic on the input thread's error does
        await wait_for_exit(app)
    session = app.session
    assert isinstance(session.result, ev.Stopped) and session.result.reason == "SIGHUP (terminal closed)"
    assert status_of(launch.run) == "stopped" and Path(session.result.checkpoint).exists()


async def test_quit_when_idle_exits_at_once():
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        await press_live(pilot, "ctrl+q")
        await wait_for_exit(app)
