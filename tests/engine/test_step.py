"""The training step on its own: the tutorial's forward, loss, backward and optimizer
step, plus what a recipe switches on (clipping, schedule, weight averages)."""

from __future__ import annotations

import copy

import torch
from helpers import tiny_config

from tui_trainer.data import load_data
from tui_trainer.engine.setup import build_parts
from tui_trainer.engine.step import train_step


def parts_of(**sections):
    config = tiny_config(**sections)
    return build_parts(config, load_data(config.data, None), fresh=True)


def first_batch(parts):
    g = torch.Generator().manual_seed(0)
    return next(iter(parts.data.train_batches(32, g, [], 0)))


def test_a_step_is_the_tutorial_loop(runs_dir):
    parts = parts_of(schedule={"name": "constant"})
    x, y = first_batch(parts)
    # The tutorial's loop on a copy of the same model and optimizer settings.
    model = copy.deepcopy(parts.model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    torch.manual_seed(5)  # the same dropout masks for both
    expected_loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    expected_loss.backward()
    opt.step()

    torch.manual_seed(5)
    loss, logits, grad_norm = train_step(parts, x, y, step=1, epoch_index=0)
    assert logits.shape == (32, 4)
    assert torch.allclose(loss, expected_loss)
    for ours, theirs in zip(parts.model.parameters(), model.parameters(), strict=True):
        assert torch.allclose(ours, theirs, atol=1e-6)
    # The norm of the gradients the step made (the tutorial's model has the same ones).
    expected_norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    assert grad_norm.shape == () and torch.allclose(grad_norm, expected_norm)


def test_the_step_steps_the_schedule_and_the_average(runs_dir):
    parts = parts_of(schedule={"name": "cosine"}, train={"ema": 0.5})
    x, y = first_batch(parts)
    lr0 = parts.scheduler.get_last_lr()[0]
    before = [p.detach().clone() for p in parts.ema.module.parameters()]
    train_step(parts, x, y, step=1, epoch_index=0)
    assert parts.scheduler.get_last_lr()[0] < lr0, "cosine decays from the first step"
    after = list(parts.ema.module.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True)), "the EMA follows the model"


def test_grad_clip_bounds_the_gradient_norm(runs_dir):
    parts = parts_of(optim={"name": "sgd", "lr": 0.05, "momentum": 0.0}, train={"grad_clip": 1e-3})
    x, y = first_batch(parts)
    *_, before = train_step(parts, x, y, step=1, epoch_index=0)
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in parts.model.parameters()]))
    assert norm <= 1e-3 * 1.0001
    assert before > 100 * norm, "the reported norm is the one before clipping"
