"""Watching a run from its folder: finished, trained by another process, or whose
process is gone (the dashboard in watch mode)."""

from __future__ import annotations

import json
import threading

from app_helpers import (
    SIZE,
    notifications,
    press_live,
    train_tiny,
    wait_for,
)
from helpers import tiny_config

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.confirm import ConfirmScreen
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.runs import Run


async def test_watch_a_finished_run_shows_its_history(runs_dir):
    run = train_tiny(runs_dir, epochs=2)
    app = TrainerApp(watch=run)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen) and dash.mode == "watch"
        await wait_for(pilot, lambda: dash.query_one("#epochs").row_count == 2, what="the history")
        assert dash.progress.state == "finished"
        assert dash.query_one("#checkpoints").row_count >= 1
        assert "watching (finished)" in dash.progress.mode_note
        await press_live(pilot, "p")  # a finished run takes no commands: p is not offered (issue 19)
        await pilot.pause()
        assert "p" not in dash.active_bindings
        assert not any("Sent" in n for n in notifications(app))
        assert not (run.dir / "control.jsonl").exists()


async def test_watch_tails_a_run_trained_by_someone_else(runs_dir):
    from tui_trainer.engine.trainer import Trainer

    config = tiny_config(train={"epochs": 300, "log_interval": 0.05})
    run = Run.create(runs_dir, config)
    recorder = run.recorder()
    trainer = Trainer(config, run=run, subscribers=[recorder])
    thread = threading.Thread(target=trainer.run, daemon=True)
    thread.start()
    try:
        app = TrainerApp(watch=run)
        async with app.run_test(size=SIZE) as pilot:
            dash = app.screen
            await wait_for(pilot, lambda: dash.query_one("#epochs").row_count >= 2, what="live epoch rows")
            rows = dash.query_one("#epochs").row_count
            await wait_for(pilot, lambda: dash.query_one("#epochs").row_count > rows, what="more rows")
            assert dash.watch_status == "running" and dash.progress.mode_note == "watching live"
            # Controls travel through the run folder to the other trainer, which acknowledges.
            await pilot.press("p")
            await wait_for(pilot, lambda: trainer.paused, what="the trainer to pause")
            await wait_for(pilot, lambda: dash.watch_status == "paused", what="the paused status")
            await pilot.press("c")
            await wait_for(
                pilot,
                lambda: any("save acknowledged" in m for _, m in dash.query_one("#log").lines_kept),
                what="the save acknowledgement in the log pane",
            )
            await pilot.press("p")
            await wait_for(pilot, lambda: not trainer.paused, what="the trainer to resume")
            await pilot.press("x")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the stop confirm")
            await pilot.press("y")
            await wait_for(pilot, lambda: dash.progress.state == "stopped", what="the stop to show")
            thread.join(30)
            assert trainer.result is not None and trainer.result.kind == "stopped"
    finally:
        trainer.stop("test over")
        thread.join(30)
        recorder.close()


async def test_watch_a_run_whose_process_is_gone(runs_dir):
    import subprocess
    import sys

    from helpers import write_run_folder

    folder = write_run_folder(runs_dir, "20240101-000000-gone", "digits-cnn", "running", [80.0, 90.0], 10)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    status = json.loads((folder / "status.json").read_text())
    status.update(pid=dead.pid, host=__import__("socket").gethostname())
    (folder / "status.json").write_text(json.dumps(status))
    app = TrainerApp(watch=Run(folder))
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        await wait_for(pilot, lambda: dash.query_one("#epochs").row_count == 2, what="the history")
        assert dash.watch_status == "dead"
        assert "process is gone" in dash.progress.mode_note
        assert dash.progress.state == "stopped"
