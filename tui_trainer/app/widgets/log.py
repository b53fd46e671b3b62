"""The log pane: the engine's log lines, warnings, and what happened to the run."""

from __future__ import annotations

from collections import deque
from pathlib import Path

from rich.text import Text
from textual.events import Resize
from textual.widgets import RichLog

from ... import events as ev
from ... import format as fmt
from ... import wording

MAX_LINES = 2000  # bounded: a long run must not grow the UI's memory
LEVEL_STYLES = {"info": "", "warning": "bold yellow", "error": "bold red"}
END_LEVELS = {ev.Finished: "info", ev.Stopped: "warning", ev.Failed: "error"}


def describe(e: ev.Event) -> tuple[str, str] | None:
    """(level, text) for the events worth a log line; None for the others."""
    if isinstance(e, ev.Log):
        return e.level, e.message.rstrip()
    if isinstance(e, ev.RunStarted):
        return "info", wording.start_line(e)
    if isinstance(e, ev.CheckpointSaved):
        best = wording.BEST_SAVED if e.best else ""
        return "info", f"checkpoint saved ({e.reason}): {Path(e.path).name}, {fmt.size(e.size)}{best}"
    if isinstance(e, ev.CheckpointRemoved):
        return "info", f"checkpoint pruned: {Path(e.path).name}"
    if isinstance(e, ev.ControlAck):
        return ("info" if e.ok else "warning"), f"control: {e.command} acknowledged by the trainer" + (
            "" if e.ok else f" ({e.message})"
        )
    if isinstance(e, ev.Paused):
        return "info", f"paused at epoch {e.epoch}, step {fmt.number(e.step)}"
    if isinstance(e, ev.Resumed):
        return "info", f"resumed at epoch {e.epoch}, step {fmt.number(e.step)}"
    if isinstance(e, ev.END_EVENTS):
        return END_LEVELS[type(e)], wording.end_line(e)
    return None


class LogPane(RichLog):
    DEFAULT_CSS = """
    LogPane { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            id=id, classes=classes, max_lines=MAX_LINES, wrap=True, markup=False, auto_scroll=True, min_width=20
        )
        # RichLog wraps a line once, at the width it has when written; the lines are kept
        # (bounded) so that a resize or a pane shown later wraps them again.
        self.lines_kept: deque[tuple[str, str]] = deque(maxlen=MAX_LINES)
        self._wrapped_at = 0
        # Lines from events wait for the dashboard's flush: a write relayouts the pane.
        self._pending: deque[tuple[str, str]] = deque(maxlen=MAX_LINES)

    def apply(self, e: ev.Event) -> None:
        line = describe(e)
        if line is not None:
            self._pending.append(line)

    def add(self, level: str, message: str) -> None:
        """A line written at once (after the event lines still waiting, to keep the order)."""
        self.flush()
        self._add(level, message)

    def _add(self, level: str, message: str) -> None:
        self.lines_kept.append((level, message))
        self._write([(level, message)])

    def _write(self, lines: list[tuple[str, str]] | deque[tuple[str, str]]) -> None:
        """Written as one Text: RichLog renders and relayouts per write, and an epoch
        render of a fast run writes hundreds of lines (4x faster than one by one)."""
        if lines:
            # The level is spelled out, not only coloured: it must read with NO_COLOR.
            self.write(
                Text("\n").join(
                    Text(message if level == "info" else f"{level}: {message}", style=LEVEL_STYLES.get(level, ""))
                    for level, message in lines
                )
            )

    def on_resize(self, event: Resize) -> None:
        width = self.scrollable_content_region.width
        if width and width != self._wrapped_at:
            self._wrapped_at = width
            self.clear()
            self._write(self.lines_kept)

    def flush(self) -> None:
        lines = list(self._pending)
        self._pending.clear()
        self.lines_kept.extend(lines)
        self._write(lines)
