"""Issue 20: the share of each Step window's wall time spent fetching batches, timed on
the host around the batch iterator's next() (no device sync, no torch op added)."""

from __future__ import annotations

import time

import pytest
from helpers import run_tiny, tiny_config

from tui_trainer import events as ev
from tui_trainer import presets
from tui_trainer.engine import loop


def test_a_digits_run_reports_a_data_share_on_each_step_and_old_events_read_none(runs_dir):
    config = presets.load("digits-cnn").with_overrides(
        ['train.device="cpu"', "train.epochs=1", "train.log_interval=0.05", "log.tensorboard=false"]
    )
    _, _, col, end = run_tiny(runs_dir, config)
    assert isinstance(end, ev.Finished)
    steps = col.of(ev.Step)
    assert steps and all(s.data_share is not None and 0 <= s.data_share <= 1 for s in steps)
    assert ev.from_dict(steps[0].to_dict()) == steps[0]
    old = {k: v for k, v in steps[0].to_dict().items() if k != "data_share"}
    assert ev.from_dict(old).data_share is None


def test_a_slow_batch_iterator_shows_in_the_data_share(runs_dir, monkeypatch):
    """20 ms more fetching each batch, 20 ms more computing it: the Steps' shares,
    weighted by their windows, are the fetching time measured here over the training time."""
    batches, step = loop.TrainingLoop._batches, loop.train_step
    fetching = []

    def slow_batches(self, epoch, skip):
        it = batches(self, epoch, skip)
        while True:
            start = time.monotonic()
            batch = next(it, None)
            time.sleep(0.02)
            fetching.append(time.monotonic() - start)
            if batch is None:
                return
            yield batch

    def slow_step(*args):
        out = step(*args)
        time.sleep(0.02)
        return out

    monkeypatch.setattr(loop.TrainingLoop, "_batches", slow_batches)
    monkeypatch.setattr(loop, "train_step", slow_step)
    config = tiny_config(train={"epochs": 1, "log_interval": 0.1}, log={"tensorboard": False, "system": False})
    _, _, col, end = run_tiny(runs_dir, config)
    assert isinstance(end, ev.Finished)
    steps = col.of(ev.Step)
    assert len(steps) >= 2 and all(s.data_share is not None and s.train_seconds is not None for s in steps)
    ends = [0.0, *(s.train_seconds for s in steps)]  # each window: from the Step before (the epoch's start)
    weighted = sum(s.data_share * (b - a) for s, a, b in zip(steps, ends, ends[1:], strict=False)) / ends[-1]
    measured = sum(fetching[:-1]) / steps[-1].train_seconds  # the last: the end of the epoch, after its Step
    assert weighted == pytest.approx(measured, abs=0.05)
    assert 0.1 < measured < 0.9 and all(0 < s.data_share < 1 for s in steps)
