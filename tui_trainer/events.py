"""The event protocol: what a training run tells the world.

The engine emits these; every consumer renders or stores them: the Textual app, the
headless printer, the run folder's ``events.jsonl`` and a watcher in another process
(which reads them back with :func:`from_dict`). Events are plain, immutable data:
only JSON-able fields, so that one line of JSON round-trips to the same event, and no
wording of their own (a run's start and end lines are wording.py's).

Positions, one convention (``wording.at`` words them): ``epoch`` is the epoch a
position lies in, 1-based, and ``epoch_step`` the steps done in it, of ``epoch_steps``;
the end of epoch 2 is (2, 32 of 32), the step after it (3, 1 of 32), before any step (1, 0).
``step`` is the global count of optimizer steps (data, not shown). Events written before
``epoch_step`` existed have ``epoch_steps`` 0 (see :class:`Position`).

Durations, one vocabulary (``format.run_time``): ``train_seconds`` is training time
(less evaluation, pauses and the compile warm-up) and ``wall_seconds`` wall time (each
attempt's from its first step to its end), both totals of the run, resumes included.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar


def epoch_position(epochs_done: int, batch: int, steps: int) -> tuple[int, int]:
    """(epoch, epoch_step) of the position ``batch`` steps into the epoch after
    ``epochs_done``: at an epoch's boundary, the end of the epoch done (what the
    progress pane shows then), not step 0 of the next."""
    if batch > 0 or epochs_done == 0:
        return epochs_done + 1, batch
    return epochs_done, steps


class Position:
    """What the events that name a position share (fields of each dataclass)."""

    epoch: int
    epoch_step: int
    epoch_steps: int

    @property
    def epochs_done(self) -> int:
        """The epochs completed at this position (an old event's ``epoch`` is that already)."""
        return self.epoch - 1 if self.epoch_step < self.epoch_steps else self.epoch


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"
    time: float = field(default_factory=time.time, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class RunStarted(Event):
    kind: ClassVar[str] = "run_started"
    run_id: str
    run_dir: str
    preset: str
    config: dict[str, Any]
    model_summary: str
    param_count: int
    device: str  # e.g. "cuda:0"
    device_name: str  # e.g. "NVIDIA H100 80GB HBM3" or "CPU (2 threads)"
    precision: str  # resolved: fp32, bf16 or fp16
    data_summary: str
    epochs: int
    steps_per_epoch: int
    start_epoch: int = 0  # epochs done (> 0 when resumed)
    start_step: int = 0  # global steps done
    start_epoch_step: int = 0  # steps done in the epoch after start_epoch (a mid-epoch checkpoint's)
    train_seconds: float = 0.0  # the run's totals before this attempt (earlier attempts')
    wall_seconds: float = 0.0
    world_size: int = 1  # processes training together (one a GPU); device_name is one rank's
    device_uuids: list[str] = field(default_factory=list)  # each rank's GPU (rank order), for NVML


@dataclass(frozen=True)
class Step(Event):
    """Throttled: at most a few per second, whatever the step rate."""

    kind: ClassVar[str] = "step"
    epoch: int  # 1-based epoch in progress
    step: int  # global step, 1-based, after this step
    batch: int  # batches done in this epoch
    batches: int  # batches per epoch
    loss: float  # mean training loss since the previous Step event
    lr: float  # the learning rate after this step (the schedule's, of the first param group)
    images_per_s: float
    train_seconds: float | None = None  # the run's totals so far, resumes included
    wall_seconds: float | None = None
    # The mean since the previous Step event of each step's L2 gradient norm over all
    # parameters (before clipping; fp16's skipped steps left out). None: not recorded
    # (events written before it existed, or no finite norm in the window).
    grad_norm: float | None = None
    # The share (0..1) of the window's wall time this process spent in the batch
    # iterator's next(): host time preparing batches. With device-resident data that is
    # the host launching the batch's gather and augmentation ops, timed without a sync: a
    # GPU may still be busy with them (or with the previous step) after it returns, so a
    # low share does not prove the device never waits for data. Rank 0's with several.
    # None: not recorded (events written before it existed).
    data_share: float | None = None


@dataclass(frozen=True)
class EpochEnd(Event):
    kind: ClassVar[str] = "epoch_end"
    epoch: int
    epochs: int
    step: int
    train_loss: float
    train_acc: float  # percent
    test_loss: float
    test_acc: float  # percent
    lr: float
    seconds: float  # wall time of this epoch, evaluation included
    images_per_s: float  # training images per second of training time
    best: bool  # best test accuracy so far
    train_seconds: float | None = None  # training time of the run so far, resumes included (Finished's)
    wall_seconds: float | None = None  # wall time of the run so far, resumes included


@dataclass(frozen=True)
class CheckpointSaved(Position, Event):
    kind: ClassVar[str] = "checkpoint_saved"
    path: str
    epoch: int  # the position it holds (see the module's doc)
    step: int  # global
    test_acc: float | None
    size: int  # bytes
    # The best test accuracy of the checkpoints saved so far (best.pt points to it): with
    # checkpoint.every > 1 that need not be the run's best epoch, so it reads wording.BEST_SAVED.
    best: bool
    reason: str = "epoch"  # epoch, manual, stop, final
    epoch_step: int = 0
    epoch_steps: int = 0


@dataclass(frozen=True)
class CheckpointRemoved(Event):
    """A checkpoint pruned by keep_last / keep_best."""

    kind: ClassVar[str] = "checkpoint_removed"
    path: str


@dataclass(frozen=True)
class Log(Event):
    kind: ClassVar[str] = "log"
    message: str
    level: str = "info"  # info, warning, error


@dataclass(frozen=True)
class FailureCause(Log):
    """The launcher's word on a run whose rank 0 failed only because it lost contact with
    another rank: which rank ended and how ("rank 1 exited: signal 9 (SIGKILL)"). It
    follows that Failed; a reader that shows the run's end shows this reason instead. A
    Log, so that every reader that lists log lines lists it as one."""

    kind: ClassVar[str] = "failure_cause"
    level: str = "error"


@dataclass(frozen=True)
class Paused(Position, Event):
    kind: ClassVar[str] = "paused"
    epoch: int
    step: int  # global
    epoch_step: int = 0
    epoch_steps: int = 0


@dataclass(frozen=True)
class Resumed(Position, Event):
    kind: ClassVar[str] = "resumed"
    epoch: int
    step: int  # global
    epoch_step: int = 0
    epoch_steps: int = 0


@dataclass(frozen=True)
class ControlAck(Event):
    """The trainer took a command sent through the run folder's control channel."""

    kind: ClassVar[str] = "control_ack"
    command: str  # pause, resume, stop, save
    id: str
    ok: bool = True
    message: str = ""


@dataclass(frozen=True)
class Finished(Event):
    kind: ClassVar[str] = "finished"
    epochs: int
    best_acc: float | None
    final_acc: float | None
    seconds: float  # wall time of this attempt alone (wall_seconds is the run's)
    time_to_target: float | None = None  # seconds of training until meta.target_acc was first reached
    target_acc: float | None = None  # meta.target_acc of the run, if it has one
    train_seconds: float | None = None  # training time of the whole run, resumes included, less evaluation and pauses
    wall_seconds: float | None = None  # wall time of the whole run, resumes included


@dataclass(frozen=True)
class Stopped(Position, Event):
    kind: ClassVar[str] = "stopped"
    reason: str
    epoch: int  # the position (epochs completed in events written before epoch_step)
    step: int  # global
    checkpoint: str | None  # what --resume continues from
    epoch_step: int = 0
    epoch_steps: int = 0
    train_seconds: float | None = None
    wall_seconds: float | None = None


@dataclass(frozen=True)
class Failed(Position, Event):
    kind: ClassVar[str] = "failed"
    reason: str  # one line for the user
    error: str  # exception type
    epoch: int  # the position, as Stopped's
    step: int  # global
    checkpoint: str | None  # last good checkpoint, if any
    epoch_step: int = 0
    epoch_steps: int = 0
    train_seconds: float | None = None
    wall_seconds: float | None = None


END_EVENTS = (Finished, Stopped, Failed)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        RunStarted,
        Step,
        EpochEnd,
        CheckpointSaved,
        CheckpointRemoved,
        Log,
        FailureCause,
        Paused,
        Resumed,
        ControlAck,
        Finished,
        Stopped,
        Failed,
    )
}

Subscriber = Callable[[Event], None]


def from_dict(data: dict[str, Any]) -> Event | None:
    """Rebuild an event from its dict; None for an unknown kind (a newer writer)."""
    cls = EVENT_TYPES.get(data.get("event", ""))
    if cls is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
