"""The log pane: the engine's log lines, warnings, and what happened to the run."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import RichLog

from ... import events as ev
from .. import format as fmt

MAX_LINES = 2000  # bounded: a long run must not grow the UI's memory
LEVEL_STYLES = {"info": "", "warning": "bold yellow", "error": "bold red"}


def describe(e: ev.Event) -> tuple[str, str] | None:
    """(level, text) for the events worth a log line; None for the others."""
    if isinstance(e, ev.Log):
        return e.level, e.message.rstrip()
    if isinstance(e, ev.RunStarted):
        resumed = f", resumed at epoch {e.start_epoch}" if e.start_epoch else ""
        return "info", (
            f"run {e.run_id or '(no folder)'}: {e.preset} on {e.device_name} ({e.precision}), "
            f"{e.param_count:,} params, {e.epochs} epochs x {e.steps_per_epoch} steps{resumed}"
        )
    if isinstance(e, ev.CheckpointSaved):
        best = " (best)" if e.best else ""
        return "info", f"checkpoint saved ({e.reason}): {Path(e.path).name}, {fmt.size(e.size)}{best}"
    if isinstance(e, ev.CheckpointRemoved):
        return "info", f"checkpoint pruned: {Path(e.path).name}"
    if isinstance(e, ev.Paused):
        return "info", f"paused at epoch {e.epoch}, step {e.step}"
    if isinstance(e, ev.Resumed):
        return "info", f"resumed at epoch {e.epoch}, step {e.step}"
    if isinstance(e, ev.Finished):
        best = fmt.pct(e.best_acc) if e.best_acc is not None else "n/a"
        return "info", f"finished: {e.epochs} epochs in {fmt.duration(e.seconds)}, best test accuracy {best}"
    if isinstance(e, ev.Stopped):
        tail = f"; resume from {e.checkpoint}" if e.checkpoint else ""
        return "warning", f"stopped ({e.reason}) after {e.epoch} epochs, step {e.step}{tail}"
    if isinstance(e, ev.Failed):
        tail = f"; last good checkpoint: {e.checkpoint}" if e.checkpoint else ""
        return "error", f"failed: {e.reason}{tail}"
    return None


class LogPane(RichLog):
    DEFAULT_CSS = """
    LogPane { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, max_lines=MAX_LINES, wrap=True, markup=False, auto_scroll=True,
                         min_width=20)

    def apply(self, e: ev.Event) -> None:
        line = describe(e)
        if line is not None:
            self.add(*line)

    def add(self, level: str, message: str) -> None:
        # The level is spelled out, not only coloured: it must read with NO_COLOR.
        prefix = "" if level == "info" else f"{level}: "
        self.write(Text(prefix + message, style=LEVEL_STYLES.get(level, "")))

    def flush(self) -> None:
        pass
