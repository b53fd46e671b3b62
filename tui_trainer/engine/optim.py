"""Optimizers and learning-rate schedules from the config.

Every schedule is one function of the global step, applied per step through
``LambdaLR``. Epoch-based schedules (the tutorials' ``StepLR(step_size=10)``) are
exact in this form: during epoch ``k`` the step count lies in ``[k*spe, (k+1)*spe)``.
One mechanism means resume only has to restore the step count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from ..config import OptimConfig, ScheduleConfig


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    # Frozen parameters (e.g. a data-whitened first layer) stay out of the optimizer.
    params = [p for p in params if p.requires_grad]
    if cfg.name == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay
        )
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    raise AssertionError(f"optimizer {cfg.name!r} passed validation but has no builder")


def lr_factor(cfg: ScheduleConfig, epochs: int, steps_per_epoch: int) -> Callable[[int], float]:
    """The multiplier of the base lr before step ``step`` (0-based global step)."""
    total = max(1, epochs * steps_per_epoch)
    warm = min(total, round(cfg.warmup_epochs * steps_per_epoch))
    final = cfg.final_lr_ratio

    def decay(step: int) -> float:
        epoch = step // steps_per_epoch  # completed epochs, as an epoch scheduler sees it
        t = min(1.0, max(0.0, (step - warm) / max(1, total - warm)))  # progress after warm-up
        if cfg.name == "constant":
            return 1.0
        if cfg.name == "step":
            return cfg.gamma ** (epoch // cfg.step_size)
        if cfg.name == "multistep":
            return cfg.gamma ** sum(1 for m in cfg.milestones if m <= epoch)
        if cfg.name == "cosine":
            return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * t))
        if cfg.name == "linear":
            return 1 - (1 - final) * t
        if cfg.name == "onecycle":
            # Rise from lr/div_factor to lr over pct_start of the run, then anneal (cosine).
            rise = max(1, round(cfg.pct_start * total))
            start = 1 / cfg.div_factor
            end = final if final > 0 else start / 1e4
            if step < rise:
                return start + (1 - start) * 0.5 * (1 - math.cos(math.pi * step / rise))
            u = min(1.0, (step - rise) / max(1, total - rise))
            return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * u))
        raise AssertionError(f"schedule {cfg.name!r} passed validation but has no formula")

    def factor(step: int) -> float:
        if step < warm and cfg.name != "onecycle":
            return (step + 1) / warm * decay(warm)
        return decay(step)

    return factor


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, epochs: int, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg, epochs, steps_per_epoch))
