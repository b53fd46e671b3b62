"""The training state a checkpoint holds, beside the model's and optimizer's tensors.

Everything the loop counts and a ``--resume`` must continue from lives in one
dataclass, so that what is saved and what is restored cannot drift apart: the loop
reads and writes :class:`TrainingState`, :mod:`.checkpointing` round-trips it through
the checkpoint's plain dict (the keys are those of checkpoint format 1, so checkpoints
written before this module existed load unchanged).

World-size independent by construction (for the distributed engine): counts are
global steps and epochs, totals are sums over all ranks' images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EpochTotals = tuple[float, float, int]  # loss sum, correct, images seen: an epoch's sums so far
NO_TOTALS: EpochTotals = (0.0, 0.0, 0)


@dataclass
class TrainingState:
    epoch: int = 0  # epochs completed
    step: int = 0  # global optimizer steps done
    history: list[dict[str, Any]] = field(default_factory=list)  # one EpochEnd's fields per epoch
    best_acc: float | None = None  # the best test accuracy of an epoch so far
    time_to_target: float | None = None  # training seconds until meta.target_acc was first reached
    train_seconds: float = 0.0  # training time, resumes included, less evaluation and pauses
    # Wall time, resumes included: the attempts' time from their first step on, pauses and
    # evaluation too (what a resume cannot measure again, so the checkpoint keeps it).
    wall_seconds: float = 0.0
    # Inside an epoch: the batches done and the epoch's sums so far (a mid-epoch
    # checkpoint's; the resumed epoch skips those batches and carries the sums over).
    batch_in_epoch: int = 0
    epoch_totals: EpochTotals = NO_TOTALS

    def to_checkpoint(self) -> dict[str, Any]:
        """The checkpoint's keys for this state (plain numbers and lists: weights_only loads them)."""
        return {
            "epoch": self.epoch,
            "step": self.step,
            "batch_in_epoch": self.batch_in_epoch,
            "epoch_totals": list(self.epoch_totals),
            "metrics": self.history,
            "best_acc": self.best_acc,
            "time_to_target": self.time_to_target,
            "train_seconds": self.train_seconds,
            "wall_seconds": self.wall_seconds,
        }

    @classmethod
    def from_checkpoint(cls, saved: dict[str, Any]) -> TrainingState:
        """The state of a loaded checkpoint; keys added after format 1 began default."""
        batch = int(saved.get("batch_in_epoch") or 0)
        totals = NO_TOTALS
        if batch:
            loss_sum, correct, seen = saved.get("epoch_totals") or NO_TOTALS
            totals = (float(loss_sum), float(correct), int(seen))
        ttt = saved.get("time_to_target")
        best = saved.get("best_acc")
        train = float(saved.get("train_seconds") or 0.0)
        wall = saved.get("wall_seconds")
        return cls(
            epoch=int(saved["epoch"]),
            step=int(saved["step"]),
            history=list(saved.get("metrics") or []),
            best_acc=None if best is None else float(best),
            time_to_target=None if ttt is None else float(ttt),
            train_seconds=train,
            # A checkpoint from before wall_seconds: its training time, the wall time's lower bound.
            wall_seconds=train if wall is None else float(wall),
            batch_in_epoch=batch,
            epoch_totals=totals,
        )
