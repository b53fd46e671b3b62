"""TensorBoard files of a run: written live by the trackers, read back with
TensorBoard's own reader, and equal to metrics.jsonl."""

from __future__ import annotations

import pytest
from helpers import Collector, run_tiny, run_until_step, tiny_config

from tui_trainer import events as ev
from tui_trainer.checkpoints import load_checkpoint
from tui_trainer.engine import Trainer
from tui_trainer.runs import Run
from tui_trainer.trackers import Guarded
from tui_trainer.trackers.export import history

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator", reason="tensorboard (the test extra) reads the files"
)


def read_scalars(logdir) -> dict[str, list[tuple[int, float]]]:
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    return {tag: [(s.step, s.value) for s in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def expected(run: Run) -> dict[str, list[tuple[int, float]]]:
    steps, epochs = history(run)
    return {
        "train/loss": [(s["step"], s["loss"]) for s in steps],
        "train/lr": [(s["step"], s["lr"]) for s in steps],
        "epoch/test_acc": [(e["step"], e["test_acc"]) for e in epochs],
        "epoch/train_loss": [(e["step"], e["train_loss"]) for e in epochs],
    }


def assert_matches(scalars, run: Run) -> None:
    for tag, points in expected(run).items():
        assert points, tag
        got = scalars[tag]
        assert [s for s, _ in got] == [s for s, _ in points], tag
        assert [v for _, v in got] == pytest.approx([v for _, v in points], rel=1e-6), tag


def test_a_run_writes_tensorboard_files_equal_to_its_metrics(runs_dir):
    _, run, _, end = run_tiny(runs_dir, tiny_config(train={"log_interval": 0.01}))
    assert isinstance(end, ev.Finished)
    assert list(run.dir.glob("events.out.tfevents.*")), "event files in the run folder itself"
    scalars = read_scalars(run.dir)
    assert_matches(scalars, run)
    assert len(scalars["epoch/test_acc"]) == 2


def test_a_resume_purges_what_the_earlier_attempt_wrote_past_its_checkpoint(runs_dir):
    config = tiny_config(train={"log_interval": 0.01, "epochs": 3})
    run, stopped = run_until_step(runs_dir, config, 12)
    assert isinstance(stopped, ev.Stopped)
    ckpt = load_checkpoint(run.resolve(stopped.checkpoint))
    _, _, _, end = run_tiny(runs_dir, config, resume=ckpt, run=run)
    assert isinstance(end, ev.Finished)
    scalars = read_scalars(run.dir)
    assert_matches(scalars, run)  # each step once, the resumed run's
    assert [s for s, _ in scalars["epoch/test_acc"]] == sorted({s for s, _ in scalars["epoch/test_acc"]})


def test_log_tensorboard_false_writes_none(runs_dir):
    _, run, _, _ = run_tiny(runs_dir, tiny_config(log={"tensorboard": False}))
    assert not list(run.dir.glob("events.out.tfevents.*"))


def test_a_failing_tracker_is_a_warning_and_training_goes_on(runs_dir):
    def broken(event):
        if isinstance(event, ev.EpochEnd):
            raise OSError(28, "No space left on device")

    config = tiny_config()
    run = Run.create(runs_dir, config)
    col = Collector()
    trainer = Trainer(config, run=run, subscribers=[run.recorder(), col])
    trainer.subscribe(Guarded("Test tracker", broken, warn=lambda m: trainer.log(m, "warning")))
    end = trainer.run()
    assert isinstance(end, ev.Finished)
    warnings = [e.message for e in col.of(ev.Log) if e.level == "warning"]
    assert warnings == ["Test tracker switched off for this run: OSError: [Errno 28] No space left on device"]
    assert any("switched off" in e.message for e in run.read_events()[0] if isinstance(e, ev.Log))
