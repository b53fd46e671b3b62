"""Evaluating a checkpoint from the dashboard's checkpoints pane (app/screens/evaluation.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import (
    SIZE,
    app_training,
    press_live,
    status_of,
    until_trained,
    wait_for,
)
from textual.widgets import Input

from tui_trainer.app.screens.confirm import PromptScreen
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.app.screens.evaluation import EvalScreen


@pytest.mark.parametrize("size", [SIZE, (120, 40)], ids=["narrow", "roomy"])
async def test_evaluate_and_resume_from_a_checkpoint(runs_dir, size):
    """e and r act on the checkpoints pane's row from anywhere on the dashboard: narrow,
    after 3 shows (and focuses) the pane; roomy, where the pane is always on screen, at
    once (they did nothing there until the table was clicked or tabbed to)."""
    launch, app = app_training(runs_dir, epochs=2)
    async with app.run_test(size=size) as pilot:
        dash = await until_trained(pilot, app)
        table = dash.query_one("#checkpoints")
        assert dash.roomy == (size != SIZE) and not table.has_focus
        if not dash.roomy:
            await press_live(pilot, "3")
            assert table.has_focus and dash.query_one("#pane-checkpoints").display
        await press_live(pilot, "e" if dash.roomy else "enter")  # enter, in the focused table, as e
        await wait_for(pilot, lambda: isinstance(app.screen, EvalScreen), what="the evaluation dialog")
        await wait_for(pilot, lambda: not app.screen.waiting, timeout=60, what="the evaluation")
        result = app.screen.result
        assert 0 <= result.acc <= 100 and len(result.classes) == 4
        assert app.screen.query_one("#eval-table").row_count == 4 and not app.screen.query_one("#eval-loading").display
        assert not [n for n in app._notifications if "valuat" in n.message + n.title], "no toast beside the result"
        await press_live(pilot, "escape")
        await wait_for(pilot, lambda: app.screen is dash, what="the dialog to close")

        await press_live(pilot, "r")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="the epochs prompt")
        app.screen.query_one(Input).value = "3"
        await press_live(pilot, "enter")
        await wait_for(pilot, lambda: app.session.launch is not launch, what="the resumed session")
        resumed = app.screen
        assert isinstance(resumed, DashboardScreen) and resumed is not dash
        await wait_for(pilot, lambda: app.session.done.is_set(), what="the resumed run")
        await wait_for(pilot, lambda: resumed.query_one("#epochs").row_count == 3, what="three epoch rows")
        assert app.session.run.dir == launch.run.dir  # the same run folder, continued
        assert status_of(launch.run) == "finished"


async def test_evaluation_errors_in_its_dialog_and_a_closed_dialog_gets_a_toast(runs_dir, tmp_path):
    _, app = app_training(runs_dir, epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        dash = await until_trained(pilot, app)
        app.clear_notifications()
        bad = tmp_path / "notes.pt"
        bad.write_text("not a checkpoint")
        app.evaluate_checkpoint(str(bad))
        assert isinstance(app.screen, EvalScreen)
        await wait_for(pilot, lambda: not app.screen.waiting, timeout=60, what="the failed evaluation")
        screen = app.screen
        assert screen.result is None and str(bad) in screen.error
        assert (
            "failed:" in str(screen.query_one("#eval-summary").content) and not screen.query_one("#eval-table").display
        )
        await press_live(pilot, "escape")
        await wait_for(pilot, lambda: app.screen is dash, what="the dialog to close")

        # Closed before the result came: the result is a toast instead of lost.
        path = next(iter(dash.query_one("#checkpoints").entries))
        app.evaluate_checkpoint(path)
        app.pop_screen()
        await wait_for(
            pilot,
            lambda: any(n.title == "Evaluated" for n in app._notifications),
            timeout=60,
            what="the result as a toast",
        )
        (note,) = [n for n in app._notifications if n.title == "Evaluated"]
        assert Path(path).name in note.message and "test accuracy" in note.message
        assert app.screen is dash
