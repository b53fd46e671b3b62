"""One wording of a run's start and end, whoever says it: the headless printers, the app's
log and progress panes, and the line the app prints as it exits (so each says what the
others do).

Sentences about events, apart from format.py: that module words single values and
imports nothing of the project, so every layer (events included) can use it; this one
reads events. Events stay plain data, with no wording of their own.
"""

from __future__ import annotations

import dataclasses

from . import events as ev
from . import format as fmt

# How printers and panes mark CheckpointSaved.best: with checkpoint.every > 1 the best
# checkpoint saved need not be the run's best epoch, so it does not read "best".
BEST_SAVED = " (best saved)"


def devices(e: ev.RunStarted) -> str:
    """What a run trains on: "NVIDIA H200", or "4 × NVIDIA H200" with four ranks."""
    return f"{e.world_size} × {e.device_name}" if e.world_size > 1 else e.device_name


def at(e: ev.Position) -> str:
    """The position an event names, in format.position's convention; an event written
    before it had epoch_step (an older run's) names its global step alone."""
    if not e.epoch_steps:
        return f"step {fmt.number(getattr(e, 'step', 0))} of the run"
    return fmt.position(e.epoch, e.epoch_step, e.epoch_steps)


def resumed_at(e: ev.RunStarted) -> str:
    """Where a resumed run starts: "epoch 2, step 13 of 32" (mid-epoch) or the end of the epoch done."""
    return fmt.position(*ev.epoch_position(e.start_epoch, e.start_epoch_step, e.steps_per_epoch), e.steps_per_epoch)


def start_line(e: ev.RunStarted) -> str:
    """A run's start in one line, for the plain printer and the app's log (the data's
    summary is not in it: the loader's line just before says it)."""
    resumed = f", resumed at {resumed_at(e)}" if e.start_epoch or e.start_step else ""
    return (
        f"run {e.run_id or '(no folder)'}: {e.preset} on {devices(e)} ({e.precision}), "
        f"{fmt.plural(e.param_count, 'param')}, "
        f"{fmt.plural(e.epochs, 'epoch')} x {fmt.plural(e.steps_per_epoch, 'step')}{resumed}"
    )


def epoch_figures(e: ev.EpochEnd) -> tuple[str, ...]:
    """An epoch's row after its number: train loss and accuracy, test loss and
    accuracy, lr, time, images/s (the dashboard's table and the headless table)."""
    return (
        fmt.loss(e.train_loss),
        fmt.pct(e.train_acc),
        fmt.loss(e.test_loss),
        fmt.pct(e.test_acc),
        fmt.lr(e.lr),
        fmt.elapsed(e.seconds),
        fmt.rate(e.images_per_s),
    )


def target_note(e: ev.Finished) -> str:
    """How the run did against its target accuracy, for the end-of-run line ("" without
    one); the time reads as the engine's "Reached ..." log line says it."""
    if e.target_acc is None:
        return ""
    if e.time_to_target is None:
        return f"; target {fmt.pct(e.target_acc)} not reached"
    return f"; target {fmt.pct(e.target_acc)} reached after {fmt.elapsed(e.time_to_target)} of training"


def last_end(events: list[ev.Event]) -> ev.Event | None:
    """The event that ended a run (its last Finished, Stopped or Failed), with the
    reason of a FailureCause after it: the launcher's word on which rank ended and how."""
    end: ev.Event | None = None
    for e in events:
        if isinstance(e, ev.END_EVENTS):
            end = e
        elif isinstance(e, ev.RunStarted):
            end = None  # resumed: that end is not the run's
        elif isinstance(e, ev.FailureCause) and isinstance(end, ev.Failed):
            end = with_cause(end, e)
    return end


def with_cause(end: ev.Failed, cause: ev.FailureCause) -> ev.Failed:
    """Rank 0's Failed ("lost contact with another rank") told with the launcher's cause."""
    return dataclasses.replace(end, reason=cause.message)


def end_line(e: ev.Event, where: bool = True) -> str:
    """A run's end in one line ("" for an event that is not an end). ``where=False``
    leaves out the checkpoint to resume from, for the two lines of the progress pane
    (the checkpoints pane beside it lists them, and r resumes)."""
    if isinstance(e, ev.Finished):
        best = fmt.pct(e.best_acc) if e.best_acc is not None else "n/a"
        # An older Finished has no wall_seconds: its own process's is what it knew.
        wall = e.wall_seconds if e.wall_seconds is not None else e.seconds
        return (
            f"finished: {fmt.plural(e.epochs, 'epoch')}, {fmt.run_time(e.train_seconds, wall)}, "
            f"best test accuracy {best}{target_note(e)}"
        )
    if isinstance(e, ev.Stopped):
        tail = f"; resume with: tui-trainer train --resume {e.checkpoint}" if e.checkpoint and where else ""
        times = fmt.run_time(e.train_seconds, e.wall_seconds)
        # "stopped by user" says it already, as in `runs` (runs.status_text).
        said = e.reason if e.reason.lower().startswith("stopped") else f"stopped ({e.reason})"
        return f"{said} at {at(e)}{', ' + times if times else ''}{tail}"
    if isinstance(e, ev.Failed):
        tail = f"; last good checkpoint: {e.checkpoint}" if e.checkpoint and where else ""
        return f"failed: {e.reason}{tail}"
    return ""
