"""The training state a checkpoint holds round-trips through the checkpoint's dict,
and through a file loaded with weights_only (what a resume reads)."""

from __future__ import annotations

import torch
from helpers import Collector, tiny_config

from tui_trainer import events as ev
from tui_trainer.engine import Trainer
from tui_trainer.engine.state import NO_TOTALS, TrainingState
from tui_trainer.launch import prepare
from tui_trainer.runs import Run


def test_state_round_trips_through_a_weights_only_file(tmp_path):
    state = TrainingState(
        epoch=3,
        step=120,
        history=[{"epoch": 1, "test_acc": 50.0}, {"epoch": 2, "test_acc": 61.5}],
        best_acc=61.5,
        time_to_target=12.25,
        train_seconds=30.5,
        batch_in_epoch=7,
        epoch_totals=(3.5, 200.0, 224),
    )
    torch.save(state.to_checkpoint(), tmp_path / "s.pt")
    loaded = torch.load(tmp_path / "s.pt", weights_only=True)
    assert TrainingState.from_checkpoint(loaded) == state


def test_totals_belong_to_a_mid_epoch_state_only():
    saved = TrainingState(epoch=2, step=10, epoch_totals=(1.0, 2.0, 3)).to_checkpoint()
    assert TrainingState.from_checkpoint(saved).epoch_totals == NO_TOTALS


def test_a_checkpoint_from_before_time_to_target_loads():
    saved = TrainingState(epoch=1, step=8).to_checkpoint()
    del saved["time_to_target"]
    assert TrainingState.from_checkpoint(saved).time_to_target is None


def test_a_checkpoint_from_before_wall_seconds_counts_its_training_time_as_wall_time():
    """Its wall time is unknown, and at least its training time: the totals never read
    "trained 5:00 of 0:10 wall" after a resume."""
    saved = TrainingState(epoch=1, step=8, train_seconds=300.0).to_checkpoint()
    del saved["wall_seconds"]
    assert TrainingState.from_checkpoint(saved).wall_seconds == 300.0


def test_time_to_target_survives_a_resume(runs_dir):
    """The target is reached in epoch 1; after a stop and a resume the run reports the
    time it took then, not the first resumed epoch's."""
    config = tiny_config(train={"epochs": 3})
    config = config.with_overrides(["meta.target_acc=0.0"])
    run = Run.create(runs_dir, config)
    box: dict = {}

    def stop_after_first_epoch(event):
        if isinstance(event, ev.EpochEnd) and event.epoch == 1:
            box["t"].stop("test")

    first = Trainer(config, run=run, subscribers=[run.recorder(), stop_after_first_epoch])
    box["t"] = first
    assert isinstance(first.run(), ev.Stopped)
    reached = first.state.time_to_target
    assert reached is not None and reached > 0

    launch = prepare(None, [], resume=run.id, runs_dir=runs_dir)
    col = Collector()
    end = Trainer(launch.config, run=launch.run, resume=launch.resume, subscribers=[col]).run()
    assert isinstance(end, ev.Finished) and end.time_to_target == reached
