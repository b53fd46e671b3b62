"""The engine: events in order, run folder files, controls, resume equivalence, no
per-step host sync, and the default preset's accuracy."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import torch
from helpers import Collector, run_tiny, run_until_step, speedrun_config, stop_when, tiny_config
from torch.utils._python_dispatch import TorchDispatchMode

from tui_trainer import events as ev
from tui_trainer import presets
from tui_trainer.checkpoints import load_checkpoint
from tui_trainer.engine import Trainer
from tui_trainer.launch import prepare
from tui_trainer.runs import Run, list_runs


def test_events_in_order_and_run_folder(runs_dir):
    trainer, run, col, end = run_tiny(runs_dir)
    assert isinstance(end, ev.Finished), end
    kinds = col.kinds
    assert kinds[0] == "log" and "run_started" in kinds and kinds[-1] == "finished"
    assert kinds.index("run_started") < kinds.index("step") < kinds.index("epoch_end")
    epochs = col.of(ev.EpochEnd)
    assert [e.epoch for e in epochs] == [1, 2]
    for e in epochs:
        assert 0 <= e.train_acc <= 100 and 0 <= e.test_acc <= 100 and e.train_loss > 0 and e.images_per_s > 0
    started = col.of(ev.RunStarted)[0]
    assert started.param_count > 0 and started.steps_per_epoch == 8 and started.device == "cpu"
    saved = col.of(ev.CheckpointSaved)
    assert [s.epoch for s in saved] == [1, 2] and saved[-1].reason == "final"
    assert run.status()["status"] == "finished" and run.status()["epoch"] == 2
    # every event is in events.jsonl, and reads back as the same event
    read, _ = run.read_events()
    assert [e.to_dict() for e in read] == [e.to_dict() for e in col.events]
    lines = [json.loads(l) for l in (run.dir / "metrics.jsonl").read_text().splitlines()]
    assert [l["epoch"] for l in lines if l["type"] == "epoch"] == [1, 2]
    assert (run.dir / "config.toml").exists() and run.config() == trainer.config
    state = load_checkpoint(run.dir)
    assert state["epoch"] == 2 and state["config"] == trainer.config.to_dict() and len(state["metrics"]) == 2
    assert [r.id for r in list_runs(runs_dir)] == [run.id]


def test_a_pruned_checkpoint_is_reported_after_the_save_that_pruned_it(runs_dir):
    _, run, col, _ = run_tiny(runs_dir, tiny_config(train={"epochs": 4}, checkpoint={"keep_last": 1, "keep_best": 0}))
    files = [
        (e.kind, Path(e.path).name) for e in col.events if isinstance(e, (ev.CheckpointSaved, ev.CheckpointRemoved))
    ]
    assert [k for k, _ in files] == ["checkpoint_saved"] + ["checkpoint_saved", "checkpoint_removed"] * 3, files
    for (_, saved), (_, removed) in zip(files[1::2], files[2::2], strict=False):
        assert saved > removed  # epoch_00N+1 saved, then epoch_00N pruned


def test_step_events_are_throttled(runs_dir):
    config = tiny_config(train={"log_interval": 30.0, "epochs": 1})
    _, _, col, _ = run_tiny(runs_dir, config)
    # One Step event for the epoch's end, not one per batch.
    assert len(col.of(ev.Step)) == 1 and col.of(ev.Step)[0].batch == 8


@pytest.mark.parametrize("make_config", [tiny_config, speedrun_config], ids=["plain", "speedrun-recipe"])
def test_no_host_sync_per_step(runs_dir, monkeypatch, make_config):
    """The step path must not read values back from the device: count .item()/.cpu()/.tolist().
    The speedrun recipe adds lookahead, a second parameter group and TTA."""
    counts = {"n": 0}
    for name in ("item", "cpu", "tolist", "__float__", "__bool__"):
        original = getattr(torch.Tensor, name)

        def wrapper(self, *a, _o=original, **k):
            counts["n"] += 1
            return _o(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, wrapper)
    few = make_config(train={"log_interval": 30.0, "epochs": 1}, data={"synthetic_size": 64, "batch_size": 32})
    run_tiny(runs_dir, few)
    small = counts["n"]
    counts["n"] = 0
    many = make_config(train={"log_interval": 30.0, "epochs": 1}, data={"synthetic_size": 1024, "batch_size": 32})
    run_tiny(runs_dir, many)
    # 2 vs 32 steps: the readbacks must not grow with the number of steps.
    assert counts["n"] == small, (small, counts["n"])


class OpCounter(TorchDispatchMode):
    """Counts the tensor ops dispatched in this thread (views, which launch nothing, aside)."""

    def __init__(self):
        super().__init__()
        self.n = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.n += not func.is_view
        return func(*args, **(kwargs or {}))


def test_step_path_adds_few_ops_to_the_model_s_own(runs_dir):
    """On a GPU every op is a kernel launch that costs host time, and a small net at a
    small batch is bound by them. A step is the model's forward, loss, backward and
    optimizer step, plus the engine's own ops (the batch, the running totals): before
    the batches were augmented in blocks and the totals kept in slots, 32 of those, for
    74 of the model's; then 4 (argmax, ==, sum and loss x n). Issue 20 added the
    gradient norm a Step reports, 3 ops (the parameters' norms in one foreach op,
    stack, their norm; kept without a copy, stacked when the totals fold): 7."""

    def train(size):
        config = tiny_config(
            train={"log_interval": 60.0, "epochs": 1}, data={"synthetic_size": size}, checkpoint={"every": 0}
        )
        trainer = Trainer(config, run=Run.create(runs_dir, config), subscribers=[])
        with OpCounter() as ops:
            trainer.run()
        return ops.n, trainer

    few, _ = train(64)  # 2 steps of 32
    many, trainer = train(1024)  # 32 steps: the same per-epoch work, 30 steps more
    engine_per_step = (many - few) / 30
    x, y = next(iter(trainer.parts.data.train_batches(32, torch.Generator().manual_seed(0), [], 0)))
    model_step = 0
    for counted in (False, True):  # the second step: the optimizer's buffers exist
        with OpCounter() as ops:
            out = trainer.parts.forward(x)
            loss = trainer.parts.criterion(out, y)
            trainer.parts.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            trainer.parts.optimizer.step()
            trainer.parts.scheduler.step()
        model_step = ops.n if counted else 0
    assert model_step > 30, model_step
    assert engine_per_step - model_step <= 9, (engine_per_step, model_step)


def test_resume_from_epoch_checkpoint_is_equivalent(runs_dir):
    config = tiny_config(train={"epochs": 3})
    straight, _, _, _ = run_tiny(runs_dir, config)

    run = Run.create(runs_dir, config)
    box = {}
    trainer = Trainer(
        config, run=run, subscribers=[run.recorder(), stop_when(box, lambda e: isinstance(e, ev.EpochEnd))]
    )
    box["trainer"] = trainer
    end = trainer.run()
    assert isinstance(end, ev.Stopped) and end.epoch == 1 and end.checkpoint

    launch = prepare(None, [], resume=run.id, runs_dir=runs_dir)
    assert launch.run.dir == run.dir and launch.resume["epoch"] == 1
    resumed, _, col, end = run_tiny(runs_dir, launch.config, resume=launch.resume, run=launch.run)
    assert isinstance(end, ev.Finished) and [e.epoch for e in col.of(ev.EpochEnd)] == [2, 3]
    for a, b in zip(
        straight.parts.model.state_dict().values(), resumed.parts.model.state_dict().values(), strict=False
    ):
        assert torch.equal(a, b)
    assert [h["test_acc"] for h in straight.state.history] == [h["test_acc"] for h in resumed.state.history]
    assert resumed.parts.scheduler.get_last_lr() == straight.parts.scheduler.get_last_lr()


def test_stop_mid_epoch_then_resume_is_equivalent(runs_dir):
    config = tiny_config(train={"epochs": 2, "log_interval": 1e-6})  # a Step event after every batch
    straight, _, _, _ = run_tiny(runs_dir, config)

    run, end = run_until_step(runs_dir, config, 11)
    assert isinstance(end, ev.Stopped) and end.checkpoint and end.step == 11
    assert run.status()["status"] == "stopped"
    trained = run.status()["train_seconds"]  # at epoch 1's end: `runs` says it of a stopped run too
    assert trained > 0 and [r.train_seconds for r in list_runs(runs_dir) if r.id == run.id] == [trained]
    launch = prepare(None, [], resume=end.checkpoint, runs_dir=runs_dir)
    assert launch.resume["batch_in_epoch"] == 3
    resumed, _, _, end2 = run_tiny(runs_dir, launch.config, resume=launch.resume, run=launch.run)
    assert isinstance(end2, ev.Finished)
    for a, b in zip(
        straight.parts.model.state_dict().values(), resumed.parts.model.state_dict().values(), strict=False
    ):
        assert torch.allclose(a, b, atol=1e-6), "resumed run must land on the same weights"
    assert resumed.state.history[-1]["train_loss"] == pytest.approx(straight.state.history[-1]["train_loss"], rel=1e-5)
    assert run.status()["train_seconds"] == end2.train_seconds > trained


def test_pause_resume_and_save_now_from_another_thread(runs_dir):
    config = tiny_config(train={"epochs": 20, "log_interval": 0.01}, data={"synthetic_size": 256})
    run = Run.create(runs_dir, config)
    col = Collector()
    trainer = Trainer(config, run=run, subscribers=[run.recorder(), col])
    thread = threading.Thread(target=trainer.run)
    thread.start()
    deadline = time.time() + 60
    while not col.of(ev.Step) and time.time() < deadline:
        time.sleep(0.01)
    trainer.pause()
    while not col.of(ev.Paused) and time.time() < deadline:
        time.sleep(0.01)
    assert run.status()["status"] == "paused"
    steps = len(col.of(ev.Step))
    time.sleep(0.3)
    assert len(col.of(ev.Step)) == steps, "no steps while paused"
    trainer.resume()
    trainer.save_now()
    while not [c for c in col.of(ev.CheckpointSaved) if c.reason == "manual"] and time.time() < deadline:
        time.sleep(0.01)
    trainer.stop("enough")
    thread.join(60)
    assert not thread.is_alive()
    assert col.of(ev.Resumed) and isinstance(trainer.result, ev.Stopped) and trainer.result.reason == "enough"
    manual = [c for c in col.of(ev.CheckpointSaved) if c.reason == "manual"]
    assert manual and load_checkpoint(manual[0].path)["step"] == manual[0].step


def test_stop_while_the_data_loads_ends_the_load(runs_dir):
    # A decode of minutes must not outlast Ctrl+C: the load's progress callback is where
    # the stop lands (the load raises, the run ends as Stopped, nothing trained or saved).
    config = tiny_config()
    run = Run.create(runs_dir, config)
    col = Collector()
    trainer = Trainer(config, run=run, subscribers=[run.recorder(), col])

    def stop_once_loading(event):
        if isinstance(event, ev.Log) and event.message.startswith("Loading"):
            trainer.stop("interrupted (Ctrl+C)")

    trainer.subscribe(stop_once_loading)
    end = trainer.run()
    assert isinstance(end, ev.Stopped) and end.reason == "interrupted (Ctrl+C)", end
    assert end.step == 0 and end.checkpoint is None
    assert not col.of(ev.RunStarted) and not col.of(ev.Step) and not any(run.checkpoints_dir.iterdir())
    assert run.status()["status"] == "stopped"
    # A stop sent from another process (`tui-trainer control`) lands there too.
    run2 = Run.create(runs_dir, config)
    trainer2 = Trainer(config, run=run2, subscribers=[run2.recorder()])
    trainer2.subscribe(
        lambda e: isinstance(e, ev.Log) and e.message.startswith("Loading") and run2.send_control("stop")
    )
    end2 = trainer2.run()
    assert isinstance(end2, ev.Stopped) and end2.reason == "stopped from another process", end2


def test_failure_is_an_event_not_an_exception(runs_dir):
    config = tiny_config(data={"dataset": "imagefolder", "root": str(runs_dir / "missing")})
    run = Run.create(runs_dir, config)
    col = Collector()
    trainer = Trainer(config, run=run, subscribers=[run.recorder(), col])
    end = trainer.run()
    assert isinstance(end, ev.Failed) and "missing" in end.reason and "\n" not in end.reason
    assert run.status()["status"] == "failed"


@pytest.mark.slow
def test_digits_cnn_reaches_95_percent_quickly(runs_dir):
    config = presets.load("digits-cnn")
    t = time.monotonic()
    _, _, col, end = run_tiny(runs_dir, config.with_overrides(['train.device="cpu"']))
    elapsed = time.monotonic() - t
    assert isinstance(end, ev.Finished)
    assert end.best_acc >= 95.0 and col.of(ev.EpochEnd)[-1].test_acc >= 95.0
    assert elapsed < 60, elapsed


@pytest.mark.parametrize("target", [0.0, 100.0])
def test_the_end_says_whether_and_when_the_target_accuracy_was_reached(target):
    from tui_trainer.format import elapsed
    from tui_trainer.wording import end_line

    end = Trainer(tiny_config(meta={"target_acc": target}, train={"epochs": 1})).run()
    assert isinstance(end, ev.Finished) and end.target_acc == target
    line = end_line(end)
    if target == 0.0:
        assert end.time_to_target is not None and end.time_to_target > 0
        assert f"target 0.00% reached after {elapsed(end.time_to_target)} of training" in line, line
    else:
        assert end.time_to_target is None and "target 100.00% not reached" in line, line
    assert "target" not in end_line(Trainer(tiny_config(train={"epochs": 1})).run())


def test_step_events_carry_the_gradient_norm_and_old_ones_read_back_without(runs_dir):
    """Issue 20: read back with the loss at each Step (no new sync); clipping does not
    hide it (the norm before clipping); an event file written before it reads None."""
    config = tiny_config(train={"epochs": 1, "log_interval": 1e-6, "grad_clip": 1e-3})
    _, _, col, _ = run_tiny(runs_dir, config)
    steps = col.of(ev.Step)
    assert steps and all(s.grad_norm is not None and s.grad_norm > 1e-3 for s in steps)
    assert ev.from_dict(steps[0].to_dict()) == steps[0]
    old = {k: v for k, v in steps[0].to_dict().items() if k != "grad_norm"}
    assert ev.from_dict(old).grad_norm is None
