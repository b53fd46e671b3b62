"""One wording of a run's start and end, whoever says it: the headless printers, the app's
log and progress panes, and the line the app prints as it exits (so each says what the
others do).

Sentences about events, apart from format.py: that module words single values and
imports nothing of the project, so every layer (events included) can use it; this one
reads events. Events stay plain data, with no wording of their own.
"""

from __future__ import annotations

from . import events as ev
from . import format as fmt

# How printers and panes mark CheckpointSaved.best: with checkpoint.every > 1 the best
# checkpoint saved need not be the run's best epoch, so it does not read "best".
BEST_SAVED = " (best saved)"


def devices(e: ev.RunStarted) -> str:
    """What a run trains on: "NVIDIA H200", or "4 × NVIDIA H200" with four ranks."""
    return f"{e.world_size} × {e.device_name}" if e.world_size > 1 else e.device_name


def start_line(e: ev.RunStarted) -> str:
    """A run's start in one line, for the plain printer and the app's log (the data's
    summary is not in it: the loader's line just before says it)."""
    resumed = f", resumed at epoch {e.start_epoch}" if e.start_epoch else ""
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


def end_line(e: ev.Event, where: bool = True) -> str:
    """A run's end in one line ("" for an event that is not an end). ``where=False``
    leaves out the checkpoint to resume from, for the two lines of the progress pane
    (the checkpoints pane beside it lists them, and r resumes)."""
    if isinstance(e, ev.Finished):
        best = fmt.pct(e.best_acc) if e.best_acc is not None else "n/a"
        return (
            f"finished: {fmt.plural(e.epochs, 'epoch')} in {fmt.elapsed(e.seconds)}, "
            f"best test accuracy {best}{target_note(e)}"
        )
    if isinstance(e, ev.Stopped):
        tail = f"; resume with: tui-trainer train --resume {e.checkpoint}" if e.checkpoint and where else ""
        return f"stopped ({e.reason}) after {fmt.plural(e.epoch, 'epoch')}, step {fmt.number(e.step)}{tail}"
    if isinstance(e, ev.Failed):
        tail = f"; last good checkpoint: {e.checkpoint}" if e.checkpoint and where else ""
        return f"failed: {e.reason}{tail}"
    return ""
