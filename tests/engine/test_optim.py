"""Schedules are one per-step function; epoch schedules must match torch's epoch schedulers."""

from __future__ import annotations

import math

import pytest
import torch

from tui_trainer.config import OptimConfig, ScheduleConfig
from tui_trainer.engine.optim import build_optimizer, build_scheduler, lr_factor


def lrs_per_step(schedule: ScheduleConfig, epochs: int, spe: int, lr: float = 0.1) -> list[float]:
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(1))], OptimConfig(name="sgd", lr=lr))
    sched = build_scheduler(opt, schedule, epochs, spe)
    out = []
    for _ in range(epochs * spe):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_step_schedule_matches_torch_steplr_per_epoch():
    epochs, spe = 25, 3
    ours = lrs_per_step(ScheduleConfig(name="step", step_size=10, gamma=0.5), epochs, spe)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    ref = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    expected = []
    for _ in range(epochs):
        expected += [opt.param_groups[0]["lr"]] * spe
        opt.step()
        ref.step()
    assert ours == pytest.approx(expected)


def test_multistep_matches_torch():
    epochs, spe = 12, 2
    ours = lrs_per_step(ScheduleConfig(name="multistep", milestones=[3, 8], gamma=0.1), epochs, spe)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    ref = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[3, 8], gamma=0.1)
    expected = []
    for _ in range(epochs):
        expected += [opt.param_groups[0]["lr"]] * spe
        opt.step()
        ref.step()
    assert ours == pytest.approx(expected)


def test_cosine_with_warmup_shape():
    lrs = lrs_per_step(ScheduleConfig(name="cosine", warmup_epochs=1, final_lr_ratio=0.1), 10, 10)
    assert lrs[0] == pytest.approx(0.1 / 10)  # warm-up starts small, not at 0
    assert lrs[9] == pytest.approx(0.1)  # end of warm-up: full lr
    assert all(a >= b - 1e-12 for a, b in zip(lrs[10:], lrs[11:], strict=False)), "decays monotonically after warm-up"
    assert lrs[-1] == pytest.approx(0.01, rel=0.05)


def test_onecycle_rises_then_falls():
    f = lr_factor(ScheduleConfig(name="onecycle", pct_start=0.3, div_factor=25), 10, 10)
    values = [f(s) for s in range(100)]
    peak = max(range(100), key=values.__getitem__)
    assert values[0] == pytest.approx(1 / 25)
    assert 28 <= peak <= 31 and values[peak] == pytest.approx(1.0, abs=1e-3)
    assert values[-1] < 0.01


def test_linear_and_constant():
    f = lr_factor(ScheduleConfig(name="linear", final_lr_ratio=0.0), 4, 25)
    assert f(0) == 1.0 and f(50) == pytest.approx(0.5, abs=0.02) and f(100) == 0.0
    g = lr_factor(ScheduleConfig(name="constant"), 4, 25)
    assert {g(s) for s in range(100)} == {1.0}
    assert not any(math.isnan(f(s)) for s in range(200))


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop"])
def test_optimizers_build(name):
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(2))], OptimConfig(name=name, lr=0.01, weight_decay=1e-4))
    assert opt.param_groups[0]["lr"] == 0.01 and opt.param_groups[0]["weight_decay"] == 1e-4
