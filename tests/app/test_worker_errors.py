"""A worker's unexpected exception ends in one place (TrainerApp.report_worker_error):
its message is shown, a training run is marked failed in its folder, and the app keeps
answering keys. Each worker here fails outside the code that words its own errors."""

from __future__ import annotations

import json

from app_helpers import SIZE, app_training, notifications, press_live, wait_for
from helpers import write_run_folder

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.bridge import TrainingSession
from tui_trainer.app.screens.evaluation import EvalScreen
from tui_trainer.app.screens.picker import PickerScreen
from tui_trainer.app.screens.runs import RunsScreen
from tui_trainer.runs import Run


def titled(app, title: str) -> list[str]:
    return [n.message for n in app._notifications if n.title == title]


def log_lines(dash) -> list[str]:
    log = dash.query_one("#log")
    return [m for _, m in [*log.lines_kept, *log._pending]]


async def test_a_training_worker_that_raises_fails_its_run_and_the_app_goes_on(runs_dir, monkeypatch):
    def broken(self, recorder):
        raise RuntimeError("the engine could not be built\nits second line")

    monkeypatch.setattr(TrainingSession, "build_trainer", broken)
    launch, app = app_training(runs_dir, epochs=1)
    reason = "RuntimeError: the engine could not be built"
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        await wait_for(pilot, lambda: dash.progress.state == "failed", what="the failed state")
        assert app.session.result.reason == reason and isinstance(app.session.error, RuntimeError)
        assert dash.progress.message == f"failed: {reason}"  # the status line
        await wait_for(pilot, lambda: any(reason in m for m in log_lines(dash)), what="the log line")
        assert titled(app, "Training failed") == [reason]
        status = json.loads((launch.run.dir / "status.json").read_text())
        assert status["status"] == "failed" and status["reason"] == reason
        assert not app.training_now()
        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs screen")
    assert app.exit_status == 1  # a fault, not bad input


async def test_an_evaluation_that_raises_says_so_in_its_dialog_or_a_notification(tmp_path, monkeypatch):
    def broken(path):
        raise RuntimeError("the evaluator fell over")

    monkeypatch.setattr("tui_trainer.evaluate.evaluate_checkpoint", broken)
    checkpoint = tmp_path / "epoch_001.pt"
    checkpoint.write_bytes(b"whatever: never read")
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        app.evaluate_checkpoint(str(checkpoint))
        dialog = app.screen
        assert isinstance(dialog, EvalScreen)
        await wait_for(pilot, lambda: not dialog.waiting, what="the failed evaluation")
        assert dialog.error == "RuntimeError: the evaluator fell over" and dialog.result is None
        assert not titled(app, "Evaluation failed"), "the dialog shows it: no toast beside it"
        await press_live(pilot, "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the dialog to close")

        app.evaluate_checkpoint(str(checkpoint))
        app.pop_screen()  # closed before it failed: the failure is a notification instead
        await wait_for(pilot, lambda: titled(app, "Evaluation failed"), what="the notification")
        assert titled(app, "Evaluation failed") == ["RuntimeError: the evaluator fell over"]
        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs screen")


async def test_a_screen_s_worker_that_raises_reaches_the_app_s_handler(runs_dir, monkeypatch):
    """The runs screen's comparison loads in its own worker: Worker.StateChanged does not
    bubble, so the screen forwards the failure, and the user reads it."""
    write_run_folder(runs_dir, "20240101-000000-a", "digits-cnn", "finished", [50.0, 60.0], 2)

    def broken(self):
        raise OSError("events.jsonl went away")

    monkeypatch.setattr(Run, "epochs", broken)
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs screen")
        title = "Loading the runs to compare failed"
        await wait_for(pilot, lambda: titled(app, title), timeout=5, what="the notification")
        assert titled(app, title)[0] == "OSError: events.jsonl went away"
        await press_live(pilot, "f2")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        await wait_for(pilot, lambda: app.screen.loaded, what="the picker's presets")


async def test_a_resume_that_raises_is_reported_and_nothing_starts(runs_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a checkpoint from the future")

    monkeypatch.setattr("tui_trainer.launch.prepare", broken)
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        app.resume_from(str(runs_dir / "x" / "checkpoints" / "last.pt"), [])
        await wait_for(pilot, lambda: titled(app, "Resume failed"), what="the notification")
        assert titled(app, "Resume failed") == ["ValueError: a checkpoint from the future"]
        assert app.session is None and not any("Traceback" in n for n in notifications(app))
        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs screen")
