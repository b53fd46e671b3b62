"""The pieces of airbench94's recipe the speedrun preset uses, each against its
definition: the triangular lr schedule, BatchNorm parameters at a higher lr, lookahead
weight averaging, flip+translate test-time augmentation, and the whitening bias that
trains for the first epochs only. Plus: they resume exactly and add no host sync."""

from __future__ import annotations

import pytest
import torch
from helpers import run_tiny, run_until_step, speedrun_config, tiny_config
from torch import nn

from tui_trainer import events as ev
from tui_trainer import presets
from tui_trainer.config import OptimConfig, ScheduleConfig
from tui_trainer.engine import Trainer
from tui_trainer.engine.lookahead import Lookahead
from tui_trainer.engine.optim import build_optimizer, build_scheduler, lr_factor
from tui_trainer.engine.tta import predict
from tui_trainer.errors import ConfigError
from tui_trainer.launch import prepare
from tui_trainer.runs import Run

# -- the schedule ---------------------------------------------------------------------------


def airbench_triangle(total: int, start: float, end: float, peak: float) -> list[float]:
    """airbench94's lr multipliers: linear from ``start`` to 1 at ``int(peak * total)``,
    then linear to ``end`` at ``total``."""
    top = int(peak * total)
    return [
        start + (1 - start) * i / top if i <= top else 1 + (end - 1) * (i - top) / (total - top) for i in range(total)
    ]


def test_linear_warmup_from_a_start_ratio_matches_airbench_triangle():
    epochs, spe = 10, 49  # airbench94: batch 1024 on 50,000 images
    cfg = ScheduleConfig(name="linear", warmup_epochs=2.3, warmup_start=0.2, final_lr_ratio=0.07)
    f = lr_factor(cfg, epochs, spe)
    ours = [f(s) for s in range(epochs * spe)]
    ref = airbench_triangle(epochs * spe, 0.2, 0.07, 0.23)
    warm = round(2.3 * spe)
    assert ours[0] == pytest.approx(0.2 + 0.8 / warm)  # starts at 0.2 x lr (one step in)
    assert max(ours) == pytest.approx(1.0) and ours.index(max(ours)) in (warm - 1, warm)
    assert f(epochs * spe) == pytest.approx(0.07)  # where the last step leads to
    # The same triangle, at most one step's slope apart.
    slope = max(0.8 / warm, 0.93 / (epochs * spe - warm))
    assert max(abs(a - b) for a, b in zip(ours, ref, strict=False)) <= slope + 1e-9


def test_warmup_start_zero_keeps_the_old_warmup():
    cfg = ScheduleConfig(name="cosine", warmup_epochs=1, final_lr_ratio=0.1)
    f = lr_factor(cfg, 10, 10)
    assert [f(s) for s in range(10)] == pytest.approx([(s + 1) / 10 for s in range(10)])


# -- BatchNorm parameters at a higher lr ---------------------------------------------------------


def conv_bn() -> nn.Module:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    model(torch.zeros(1, 3, 5, 5))
    model[1].weight.requires_grad_(False)  # as airbench's BN: a frozen scale
    return model


def test_norm_lr_scale_puts_norm_parameters_in_their_own_group():
    model = conv_bn()
    opt = build_optimizer(model, OptimConfig(name="sgd", lr=0.1, weight_decay=1e-3, norm_lr_scale=64))
    main, norm = opt.param_groups
    assert [id(p) for p in norm["params"]] == [id(model[1].bias)]  # the frozen BN weight stays out
    assert {id(p) for p in main["params"]} == {id(p) for n, p in model.named_parameters() if not n.startswith("1.")}
    assert norm["lr"] == pytest.approx(6.4) and main["lr"] == pytest.approx(0.1)
    # Weight decay per step (lr x wd) is the same for both groups.
    assert norm["lr"] * norm["weight_decay"] == pytest.approx(main["lr"] * main["weight_decay"])
    # The schedule scales both groups alike.
    sched = build_scheduler(opt, ScheduleConfig(name="linear", final_lr_ratio=0.0), 1, 4)
    opt.step()
    sched.step()
    assert norm["lr"] / main["lr"] == pytest.approx(64)


def test_norm_lr_scale_one_is_one_group():
    model = conv_bn()
    opt = build_optimizer(model, OptimConfig(name="adamw", lr=0.01, weight_decay=0.05))
    assert len(opt.param_groups) == 1
    assert len(opt.param_groups[0]["params"]) == sum(1 for p in model.parameters() if p.requires_grad)


# -- lookahead -------------------------------------------------------------------------------------


def test_lookahead_follows_its_definition():
    torch.manual_seed(0)
    model = conv_bn()
    total = 40
    la = Lookahead(decay=0.9, every=2, start_epoch=1, total_steps=total)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    la.after_step(model, step=2, epoch=0)  # before the start epoch: nothing
    assert la.state_dict() is None
    la.after_step(model, step=11, epoch=1)  # not a multiple of `every`: nothing
    assert la.state_dict() is None
    la.after_step(model, step=12, epoch=1)  # the first one takes a copy
    assert all(torch.equal(la.state_dict()[k], before[k]) for k in la.state_dict())
    assert "1.num_batches_tracked" not in la.state_dict()  # only float tensors are averaged

    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    moved = {k: v.clone() for k, v in model.state_dict().items()}
    la.after_step(model, step=14, epoch=1)
    rho = 0.9**2 * (14 / total) ** 3
    for key, avg in la.state_dict().items():
        expected = before[key] + (1 - rho) * (moved[key] - before[key])
        assert torch.allclose(avg, expected, atol=1e-6), key
        assert torch.equal(model.state_dict()[key], avg), "the model continues from the average"

    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    la.end_epoch(model)  # the model is set back to the average, which does not move
    for key, avg in la.state_dict().items():
        assert torch.equal(model.state_dict()[key], avg)


def test_ema_and_lookahead_together_is_a_one_line_error():
    with pytest.raises(ConfigError, match="train.ema and train.lookahead") as err:
        tiny_config(train={"ema": 0.99, "lookahead": 0.95})
    assert "\n" not in str(err.value)


# -- test-time augmentation ---------------------------------------------------------------------


class Corner(nn.Module):
    """Logits = the top-left pixel of each channel: every view gives a known value."""

    def forward(self, x):
        return x[:, :, 0, 0]


def test_tta_views_and_weights():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    m = Corner()
    top_left, top_right, inner, inner_right = x[:, :, 0, 0], x[:, :, 0, -1], x[:, :, 1, 1], x[:, :, 1, -2]
    assert torch.equal(predict(m, x), top_left)
    assert torch.allclose(predict(m, x, flip=True), (top_left + top_right) / 2)
    # One pixel up-left with reflect padding: the corner is x[1, 1]; down-right: x[1, 1]
    # too (the window starts at x[1, 1]). Mirrored, x[1, -2] both times.
    assert torch.allclose(predict(m, x, translate=True), 0.5 * top_left + 0.5 * inner)
    expected = 0.5 * (top_left + top_right) / 2 + 0.5 * (inner + inner_right) / 2
    assert torch.allclose(predict(m, x, flip=True, translate=True), expected)


# -- the whitening bias, and the whole recipe in the engine ----------------------------------------


def test_whitening_bias_trains_only_in_its_first_epochs(runs_dir):
    config = speedrun_config(train={"epochs": 3, "lookahead": 0.0})
    biases = []

    trainer_box = {}

    def record(event):
        if isinstance(event, (ev.RunStarted, ev.EpochEnd)):
            biases.append(trainer_box["t"].parts.model.whiten.bias.detach().clone())

    trainer = Trainer(config, run=Run.create(runs_dir, config), subscribers=[record])
    trainer_box["t"] = trainer
    assert isinstance(trainer.run(), ev.Finished)
    start, after1, after2, after3 = biases
    assert not torch.equal(start, after1), "trained in epoch 1"
    assert torch.equal(after1, after2) and torch.equal(after2, after3), "frozen after whiten_bias_epochs"


def test_speedrun_recipe_stops_mid_epoch_and_resumes_exactly(runs_dir):
    config = speedrun_config(train={"log_interval": 1e-6})  # a Step event after every batch
    straight, _, _, end = run_tiny(runs_dir, config)
    assert isinstance(end, ev.Finished), end
    assert straight.parts.lookahead.state_dict() is not None and len(straight.parts.optimizer.param_groups) == 2

    _, stopped = run_until_step(runs_dir, config, 19)
    assert isinstance(stopped, ev.Stopped) and stopped.step == 19  # mid-epoch 3, lookahead running
    launch = prepare(None, [], resume=stopped.checkpoint, runs_dir=runs_dir)
    resumed, _, _, end2 = run_tiny(runs_dir, launch.config, resume=launch.resume, run=launch.run)
    assert isinstance(end2, ev.Finished), end2
    for a, b in zip(
        straight.parts.model.state_dict().values(), resumed.parts.model.state_dict().values(), strict=False
    ):
        assert torch.allclose(a, b, atol=1e-6), "resumed run must land on the same weights"
    assert [g["lr"] for g in resumed.parts.optimizer.param_groups] == pytest.approx(
        [g["lr"] for g in straight.parts.optimizer.param_groups]
    )
    assert resumed.state.history[-1]["test_acc"] == straight.state.history[-1]["test_acc"]


def test_resume_with_another_group_layout_is_a_clear_error(runs_dir):
    config = speedrun_config(train={"epochs": 1})
    _, run, _, end = run_tiny(runs_dir, config)
    assert isinstance(end, ev.Finished)
    launch = prepare(None, ["optim.norm_lr_scale=1", "train.epochs=2"], resume=run.id, runs_dir=runs_dir)
    _, _, _, end2 = run_tiny(runs_dir, launch.config, resume=launch.resume, run=launch.run)
    assert isinstance(end2, ev.Failed) and "optimizer state does not fit" in end2.reason
    assert "\n" not in end2.reason


def test_speedrun_preset_is_airbench94s_recipe():
    c = presets.load("speedrun-cifar10")
    assert (c.data.batch_size, c.optim.momentum, c.optim.nesterov, c.optim.norm_lr_scale) == (1024, 0.85, True, 64)
    # airbench's decoupled lr 11.5 and wd 0.0153 (per 1024 examples) as PyTorch SGD on a mean loss:
    assert c.optim.lr == pytest.approx(11.5 / (1 + 1 / (1 - 0.85)), rel=1e-3)
    assert c.optim.lr * c.optim.weight_decay == pytest.approx(0.0153 * 1024 / (1024 * (1 + 1 / 0.15)), rel=0.01)
    assert (c.schedule.name, c.schedule.warmup_start, c.schedule.final_lr_ratio) == ("linear", 0.2, 0.07)
    assert c.schedule.warmup_epochs / c.train.epochs == pytest.approx(0.23)
    assert (c.train.lookahead, c.train.lookahead_every, c.train.lookahead_start) == (0.95, 5, 3)
    assert c.train.tta_flip and c.train.tta_translate and c.train.label_smoothing == 0.2 and c.train.ema == 0
    # airbench's loader: 2-pixel reflect-padded translations, alternating flips.
    assert (c.data.augment, c.data.crop_padding, c.data.crop_fill, c.data.flip_mode, c.data.drop_last) == (
        ["crop", "hflip"],
        2,
        "reflect",
        "alternate",
        True,
    )
