"""One training step, as the tutorials write it: forward, loss, backward, optimizer.

Around the tutorial's four lines are only what a recipe switches on: mixed precision
(autocast, and a gradient scaler for fp16), gradient clipping, the learning-rate
schedule, and the weight averages (EMA, lookahead). Nothing here reads a value back
from the device: the loss, the logits and the gradient norm are returned as device
tensors, and the loop records them without waiting (:mod:`.totals`).

Data parallelism stays out of this function: with ``parts.forward`` the
DistributedDataParallel wrapper, backward all-reduces the gradients, so the same four
lines train on every rank.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .setup import TrainingParts


class StepResult(NamedTuple):
    loss: torch.Tensor  # the batch's mean loss
    logits: torch.Tensor
    grad_norm: torch.Tensor  # the L2 norm over all parameters' gradients, before clipping


def train_step(parts: TrainingParts, x: torch.Tensor, y: torch.Tensor, step: int, epoch_index: int) -> StepResult:
    """Train on one batch; ``step`` is this step's global number (from 1), ``epoch_index``
    the epoch's (from 0), both for lookahead's schedule."""
    with parts.autocast():
        logits = parts.forward(x)
        loss = parts.criterion(logits, y)
    parts.optimizer.zero_grad(set_to_none=True)
    parts.scaler.scale(loss).backward()
    # fp16's scaler multiplied the gradients: the norm is of the true ones. scaler.step
    # would unscale them anyway (once: it knows), and without a scaler this does nothing.
    parts.scaler.unscale_(parts.optimizer)
    clip = parts.config.train.grad_clip
    if clip > 0:  # clip_grad_norm_ returns the norm it clipped from: no second norm
        grad_norm = torch.nn.utils.clip_grad_norm_(parts.model.parameters(), clip)
    else:  # three ops (per-parameter norms in one foreach, stack, norm), no readback
        grad_norm = torch.nn.utils.get_total_norm([p.grad for p in parts.model.parameters() if p.grad is not None])
    parts.scaler.step(parts.optimizer)
    parts.scaler.update()
    parts.scheduler.step()
    if parts.ema is not None:
        parts.ema.update_parameters(parts.model)
    if parts.lookahead is not None:
        parts.lookahead.after_step(parts.model, step, epoch_index)
    return StepResult(loss, logits, grad_norm)
