"""Resuming a run from a checkpoint: refused with the core's message, or offered after a
NaN loss (app/app.py)."""

from __future__ import annotations

from app_helpers import (
    SIZE,
    app_training,
    notifications,
    until_trained,
    wait_for,
)
from helpers import tiny_config

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.confirm import ConfirmScreen
from tui_trainer.launch import prepare
from tui_trainer.runs import Run


async def test_resume_refused_with_the_core_message_when_nothing_is_left(runs_dir):
    _, app = app_training(runs_dir, epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        dash = await until_trained(pilot, app)
        session = app.session
        path = next(iter(dash.query_one("#checkpoints").entries))
        app.resume_from(path, ["train.epochs=1"])
        await wait_for(pilot, lambda: any("already trained" in n for n in notifications(app)), what="the refusal")
        assert app.session is session


async def test_nan_loss_offers_to_resume_with_a_lower_lr(runs_dir):
    """A diverged run stops at its last good checkpoint; the app asks, and resumes it
    from that checkpoint with a tenth of the learning rate."""
    from tui_trainer.engine.trainer import Trainer

    config = tiny_config(train={"epochs": 4}, optim={"lr": 0.05, "momentum": 0.0}, schedule={"name": "constant"})
    run = Run.create(runs_dir, config)
    recorder = run.recorder()
    box = {}
    box["t"] = Trainer(config, run=run, subscribers=[recorder, lambda e: e.kind == "epoch_end" and box["t"].stop("x")])
    box["t"].run()
    recorder.close()
    launch = prepare(None, ["optim.lr=100"], resume=str(run.dir), runs_dir=runs_dir)
    app = TrainerApp(launch=launch)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the NaN question")
        assert "NaN" in app.screen.question and "lr 10" in app.screen.detail
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: app.session is not None and app.session.launch.config.optim.lr == 10,
            what="the resumed session",
        )
        assert app.session.launch.resume["epoch"] == 1
        app.session.stop("test over")
        await wait_for(pilot, lambda: app.session.done.is_set(), what="the resumed run to end")
