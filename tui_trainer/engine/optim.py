"""Optimizers and learning-rate schedules from the config.

Every schedule is one function of the global step, applied per step through
``LambdaLR``. Epoch-based schedules (the tutorials' ``StepLR(step_size=10)``) are
exact in this form: during epoch ``k`` the step count lies in ``[k*spe, (k+1)*spe)``.
One mechanism means resume only has to restore the step count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from ..config import OptimConfig, ScheduleConfig

# Layers whose parameters ``optim.norm_lr_scale`` applies to.
NORM_LAYERS = (torch.nn.modules.batchnorm._NormBase, torch.nn.GroupNorm, torch.nn.LayerNorm)


def param_groups(model: torch.nn.Module | Iterable[torch.nn.Parameter], cfg: OptimConfig) -> list[dict[str, Any]]:
    """The optimizer's parameter groups: one, or with ``norm_lr_scale`` != 1 two.

    airbench trains the BatchNorm biases at 64 times the lr of the other weights; their
    weight decay is divided by the same factor so that the decay per step, lr x wd for
    both SGD and AdamW, stays that of the other weights. Each group keeps its factor
    (``lr_scale``) so a resume can rebuild its base lr from ``optim.lr``. The other
    weights come first: the lr an event reports is group 0's. Frozen parameters (e.g. a
    data-whitened first layer) stay out of the optimizer.
    """
    if isinstance(model, torch.nn.Module):
        params = [p for p in model.parameters() if p.requires_grad]
        norm_ids = {id(p) for m in model.modules() if isinstance(m, NORM_LAYERS) for p in m.parameters(recurse=False)}
    else:
        params, norm_ids = [p for p in model if p.requires_grad], set()
    scale = cfg.norm_lr_scale
    norm = [p for p in params if id(p) in norm_ids] if scale != 1 else []
    groups = [{"params": [p for p in params if id(p) not in norm_ids] if norm else params, "lr_scale": 1.0}]
    if norm:
        groups.append(
            {"params": norm, "lr": cfg.lr * scale, "weight_decay": cfg.weight_decay / scale, "lr_scale": scale}
        )
    return [g for g in groups if g["params"]]


def build_optimizer(model: torch.nn.Module | Iterable[torch.nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    """The configured optimizer over ``model``'s trainable parameters (a module, so that
    ``norm_lr_scale`` can find its normalisation layers, or plain parameters)."""
    params = param_groups(model, cfg)
    if cfg.name == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay
        )
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=_betas(cfg), weight_decay=cfg.weight_decay)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=_betas(cfg), weight_decay=cfg.weight_decay)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    raise AssertionError(f"optimizer {cfg.name!r} passed validation but has no builder")


def lr_factor(cfg: ScheduleConfig, epochs: int, steps_per_epoch: int) -> Callable[[int], float]:
    """The multiplier of the base lr before step ``step`` (0-based global step)."""
    total = max(1, epochs * steps_per_epoch)
    warm = min(total, round(cfg.warmup_epochs * steps_per_epoch))
    final = cfg.final_lr_ratio
    start = cfg.warmup_start

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
            # Linear from `start` (the first step already a 1/warm further) to the schedule's value.
            return (start + (1 - start) * (step + 1) / warm) * decay(warm)
        return decay(step)

    return factor


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, epochs: int, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg, epochs, steps_per_epoch))


def _betas(cfg: OptimConfig) -> tuple[float, float]:
    """Adam's two betas (the schema checks there are two)."""
    beta1, beta2 = cfg.betas
    return float(beta1), float(beta2)
