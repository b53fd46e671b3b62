"""The log pane: the engine's log lines, warnings, and what happened to the run.

A Line API widget, not Textual's RichLog: RichLog renders what it is written through
rich (wrapping a batch of lines costs ~50 us a line) and relayouts the screen per
write, and an epoch render of a fast run writes dozens of lines (checkpoints saved
and pruned): about 5 ms of the UI thread's time a render (``benchmarks/render_cost.py``).
Here a line is wrapped as plain text (``scrolling.wrap``, as rich wraps it), and a
visual line becomes a strip only when it is on screen, once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from pathlib import Path

from rich.cells import cell_len
from rich.control import strip_control_codes
from rich.segment import Segment
from rich.style import Style
from textual.events import Resize
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ... import events as ev
from ... import format as fmt
from ... import wording
from .scrolling import set_virtual_size, wrap

MAX_LINES = 2000  # bounded: a long run must not grow the UI's memory
MIN_WIDTH = 20  # lines are wrapped at the pane's width, never narrower than this
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
        return "info", f"paused at {wording.at(e)}"
    if isinstance(e, ev.Resumed):
        return "info", f"resumed at {wording.at(e)}"
    if isinstance(e, ev.END_EVENTS):
        return END_LEVELS[type(e)], wording.end_line(e)
    return None


class LogPane(ScrollView, can_focus=True):
    """Lines of text, wrapped at the pane's width; it follows the newest line."""

    DEFAULT_CSS = """
    LogPane {
        height: 1fr;
        background: $surface;
        color: $foreground;
        overflow-y: scroll;
        &:focus {
            background-tint: $foreground 5%;
        }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        # The lines as written (bounded), so that a resize or a pane shown later wraps
        # them again at its width.
        self.lines_kept: deque[tuple[str, str]] = deque(maxlen=MAX_LINES)
        # Lines from events wait for the dashboard's flush.
        self._pending: deque[tuple[str, str]] = deque(maxlen=MAX_LINES)
        # The wrapped lines: (text, level), the last MAX_LINES of them; _dropped is how
        # many went before _visual[0] (a strip's cache key is its line's number).
        self._visual: deque[tuple[str, str]] = deque(maxlen=MAX_LINES)
        self._dropped = 0
        self._widest = 0
        self._wrapped_at = 0  # the width the lines are wrapped at; 0: not yet laid out
        self._strips: dict[int, Strip] = {}
        self._base: Style | None = None  # the style and width the strips were built for
        self._strips_width = 0
        self._level_styles = {level: Style.parse(style) for level, style in LEVEL_STYLES.items()}

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

    def flush(self) -> None:
        lines = list(self._pending)
        self._pending.clear()
        self.lines_kept.extend(lines)
        self._write(lines)

    @property
    def line_count(self) -> int:
        """Lines on screen and above and below it: the written lines, wrapped."""
        return len(self._visual)

    def visual_lines(self) -> list[str]:
        """The wrapped lines' text, top to bottom (for tests)."""
        return [text for text, _ in self._visual]

    def _write(self, lines: Iterable[tuple[str, str]]) -> None:
        """Wrap ``lines`` at the pane's width and show the last of them; before the pane
        has a width they wait in ``lines_kept`` (wrapped on its first resize)."""
        width = self._wrapped_at
        if not width:
            return
        visual = self._visual
        widest = self._widest
        before = len(visual)
        added = 0
        for level, message in lines:
            # The level is spelled out, not only coloured: it must read with NO_COLOR.
            text = strip_control_codes(message if level == "info" else f"{level}: {message}")
            for part in text.split("\n"):
                for piece in wrap(part, width):
                    visual.append((piece, level))
                    widest = max(widest, cell_len(piece))
                    added += 1
        if not added:
            return
        self._dropped += max(0, before + added - MAX_LINES)
        self._widest = widest
        set_virtual_size(self, Size(widest, len(visual)))
        self.scroll_to(y=self.max_scroll_y, animate=False)
        self.refresh()

    def _rewrap(self) -> None:
        self._visual.clear()
        self._strips.clear()
        self._dropped = 0
        self._widest = 0
        self._write(self.lines_kept)
        if not self.lines_kept:
            set_virtual_size(self, Size(0, 0))

    def on_resize(self, event: Resize) -> None:
        width = max(MIN_WIDTH, self.scrollable_content_region.width)
        if self.scrollable_content_region.width and width != self._wrapped_at:
            self._wrapped_at = width
            self._rewrap()

    def render_lines(self, crop: Region) -> list[Strip]:
        base = self.rich_style  # once a paint, not once a line (it walks the DOM)
        width = self.scrollable_content_region.width
        if base != self._base or width != self._strips_width:
            self._base, self._strips_width = base, width
            self._strips.clear()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        base = self._base if self._base is not None else self.rich_style
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        if index >= len(self._visual):
            return Strip.blank(width, base)
        number = self._dropped + index
        strip = self._strips.get(number)
        if strip is None:
            if len(self._strips) > 4 * MAX_LINES // 10:
                self._strips.clear()  # bounded: the lines on screen come back at once
            text, level = self._visual[index]
            style = self._level_styles.get(level)
            segments = [Segment(text, base + style if style else base)]
            length = cell_len(text)
            if length < width:
                segments.append(Segment(" " * (width - length), base))
            strip = self._strips[number] = Strip(segments, max(length, width))
        return strip.crop_extend(scroll_x, scroll_x + width, base)
