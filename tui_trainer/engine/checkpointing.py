"""The checkpoint policy: when a run saves, what a checkpoint holds, and how a resume
restores it.

When: every ``checkpoint.every`` epochs and after the last one (``"epoch"`` /
``"final"``), on "save now" (``"manual"``, also while paused) and when a run stops
(``"stop"``, unless nothing trained since the last save). What: the model, EMA and
lookahead weights, optimizer, schedule, scaler, RNG states, and the
:class:`~.state.TrainingState`, as a plain dict that loads with ``weights_only=True``.
Files, names, links and pruning are :class:`tui_trainer.checkpoints.CheckpointSaver`'s.

A mid-epoch checkpoint (manual or stop) keeps the data generator's state from the
epoch's start: a resume replays the epoch's draws (the same permutation and
augmentations) and skips the batches done. After an epoch, the next starts from the
generator as it is.

For the distributed engine: rank 0 alone saves (the others get ``run=None``), and the
model saved is the unwrapped ``parts.model``, so a checkpoint resumes at any world size.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from .. import checkpoints
from .. import events as ev
from ..checkpoints import CheckpointSaver
from ..config import RunConfig
from ..errors import CheckpointError
from ..runs import Run
from .setup import TrainingParts
from .state import TrainingState

MID_EPOCH_REASONS = ("manual", "stop")


def last_checkpoint(run: Run | None) -> str | None:
    """The run folder's last.pt, what a --resume continues from; None if there is none."""
    return None if run is None else checkpoints.last_saved(run.checkpoints_dir)


def checkpoint_dict(parts: TrainingParts, state: TrainingState, data_rng: torch.Tensor) -> dict[str, Any]:
    """What a checkpoint file holds (format 1)."""
    rng: dict[str, Any] = {"torch": torch.get_rng_state(), "data_epoch": data_rng}
    if parts.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(parts.device)
    data = parts.data
    return {
        "format": checkpoints.FORMAT,
        "version": checkpoints.VERSION,
        "preset": parts.config.name,
        "config": parts.config.to_dict(),
        "classes": list(data.info.classes),
        "normalization": {"mean": list(data.mean or []), "std": list(data.std or [])},
        "model": parts.model.state_dict(),
        "ema": parts.ema.module.state_dict() if parts.ema is not None else None,
        "lookahead": parts.lookahead.state_dict() if parts.lookahead is not None else None,
        "optimizer": parts.optimizer.state_dict(),
        "scheduler": parts.scheduler.state_dict(),
        "scaler": parts.scaler.state_dict() if parts.scaler.is_enabled() else None,
        "rng": rng,
        **state.to_checkpoint(),
        "saved_at": time.time(),
    }


def restore(parts: TrainingParts, saved: dict[str, Any]) -> TrainingState:
    """Load a checkpoint into ``parts``; returns the training state to continue from."""
    where = saved.get("path", "checkpoint")
    _load_weights(parts, saved, where)
    try:
        parts.optimizer.load_state_dict(saved["optimizer"])
    except ValueError as exc:  # e.g. optim.norm_lr_scale changed the parameter groups
        raise CheckpointError(
            f"{where}: its optimizer state does not fit this config's optimizer "
            f"({str(exc).splitlines()[0][:120]}); resume with the run's own optim settings"
        ) from None
    _restore_schedule(parts, saved)
    if saved.get("scaler") and parts.scaler.is_enabled():
        parts.scaler.load_state_dict(saved["scaler"])
    if parts.lookahead is not None:
        parts.lookahead.load_state_dict(saved.get("lookahead"), parts.device)
    _restore_rng(parts, saved.get("rng") or {})
    return TrainingState.from_checkpoint(saved)


def _load_weights(parts: TrainingParts, saved: dict[str, Any], where: str) -> None:
    try:
        parts.model.load_state_dict(saved["model"])
        if parts.ema is not None and saved.get("ema") is not None:
            parts.ema.module.load_state_dict(saved["ema"])
    except (RuntimeError, KeyError) as exc:
        raise CheckpointError(
            f"{where}: does not fit model {parts.config.model.arch} on this data "
            f"({parts.data.info.shape_text()}): {checkpoints.weights_mismatch(exc)}"
        ) from None


def _restore_schedule(parts: TrainingParts, saved: dict[str, Any]) -> None:
    """The base lr may have been changed on resume (e.g. a lower lr after a NaN): the
    optimizer state carries the old one, the config wins (times each group's scale)."""
    for group in parts.optimizer.param_groups:
        group["initial_lr"] = parts.config.optim.lr * group.get("lr_scale", 1.0)
    scheduler = parts.scheduler
    scheduler.base_lrs = [group["initial_lr"] for group in parts.optimizer.param_groups]
    scheduler.load_state_dict({**saved["scheduler"], "base_lrs": scheduler.base_lrs})
    scheduler.last_epoch = int(saved["step"]) - 1
    scheduler.step()  # sets the lr of the next step from the schedule


def _restore_rng(parts: TrainingParts, rng: dict[str, Any]) -> None:
    if rng.get("torch") is not None:
        torch.set_rng_state(rng["torch"])
    if rng.get("cuda") is not None and parts.device.type == "cuda":
        torch.cuda.set_rng_state(rng["cuda"], parts.device)
    if rng.get("data_epoch") is not None:
        parts.generator.set_state(rng["data_epoch"].to(parts.generator.get_state().device))


def epoch_due(config: RunConfig, epoch: int) -> bool:
    """Whether the policy saves after this (1-based) epoch (the config alone decides, so
    every rank of a distributed run knows it)."""
    every = config.checkpoint.every
    return (every > 0 and epoch % every == 0) or epoch == config.train.epochs


class Checkpointer:
    """Saves a run's checkpoints into its folder and tells the subscribers."""

    def __init__(self, run: Run, parts: TrainingParts, emit: Callable[[ev.Event], None]) -> None:
        cfg = parts.config.checkpoint
        self.saver = CheckpointSaver(run.checkpoints_dir, cfg.keep_last, cfg.keep_best)
        self.parts = parts
        self._emit = emit

    def last_path(self) -> str | None:
        """The file last.pt points to: what a --resume continues from."""
        return checkpoints.last_saved(self.saver.folder)

    def save(self, reason: str, state: TrainingState, data_rng: torch.Tensor, acc: float | None = None) -> str:
        """Write a checkpoint of ``state``; ``data_rng`` is the generator state a resume
        starts its epoch from. Returns the file's path."""
        # Named by its position (events.py's convention): epoch_002_step_013.pt inside epoch
        # 2, epoch_002_acc_91.00.pt (or epoch_002.pt) at its end, as the panes list it.
        steps = self.parts.steps_per_epoch
        epoch, epoch_step = ev.epoch_position(state.epoch, state.batch_in_epoch, steps)
        mid_epoch = epoch_step < steps  # also a save before the first step: epoch_001_step_000.pt
        path, size, best, removed = self.saver.save(
            checkpoint_dict(self.parts, state, data_rng),
            epoch=epoch,
            acc=None if mid_epoch else acc,
            step=epoch_step if mid_epoch else None,
        )
        self._emit(
            ev.CheckpointSaved(
                path=str(path),
                epoch=epoch,
                step=state.step,
                test_acc=None if mid_epoch else acc,
                size=size,
                best=best,
                reason=reason,
                epoch_step=epoch_step,
                epoch_steps=steps,
            )
        )
        for p in removed:  # after the save that made room: the log reads "saved X", then "pruned W"
            self._emit(ev.CheckpointRemoved(path=str(p)))
        return str(path)
