"""Progress of the epoch and the run, with ETA and throughput.

Every number comes from the events (their timestamps included), never from the
clock, so a replayed or synthetic event list renders the same every time.
"""

from __future__ import annotations

import textwrap
from collections import deque
from statistics import fmean

from rich.text import Text
from textual.widget import Widget

from ... import events as ev
from ... import format as fmt
from ... import wording

STATES = {
    "waiting": ("…", "dim"),
    "starting": ("…", "bold"),
    "training": ("●", "bold green"),
    "pausing": ("‖", "bold yellow"),
    "paused": ("‖", "bold yellow"),
    "stopping": ("■", "bold yellow"),
    "finished": ("✓", "bold green"),
    "stopped": ("■", "bold yellow"),
    "failed": ("✗", "bold red"),
}


class ProgressPane(Widget):
    DEFAULT_CSS = """
    ProgressPane { height: auto; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.state = "waiting"
        self.title = ""
        self.mode_note = ""  # e.g. "watching", shown after the title
        self.epoch = 0  # epoch in progress (1-based), or the last one completed
        self.epochs = 0
        self.batch_no = 0  # batches done in this epoch (`batch` would hide Widget.batch)
        self.batches = 0
        self.step = 0  # global (data: the panes word a position as epoch and step in it)
        # The run's training and wall seconds, resumes included, as the events last said them.
        self.train_seconds: float | None = None
        self.wall_seconds: float | None = None
        self.loss: float | None = None
        self.lr: float | None = None
        self.images_per_s: float | None = None
        self.best_acc: float | None = None
        self.message = ""  # the end of the run in words
        self._end: ev.Event | None = None  # the event that ended the run, for a FailureCause
        self.started_at: float | None = None
        self.last_time: float | None = None
        self.paused_s = 0.0
        self._paused_at: float | None = None
        self._window: deque[tuple[float, int]] = deque(maxlen=20)  # (time, step) for the step rate
        self._epoch_seconds: list[float] = []
        self._lines = 0

    # -- events -------------------------------------------------------------------------
    def set_state(self, state: str) -> None:
        self.state = state
        self.flush()

    def apply(self, e: ev.Event) -> None:
        """An event taken into the pane's state (rendering is the flush's job)."""
        self.last_time = e.time
        if isinstance(e, ev.RunStarted):
            self._apply_run_started(e)
        elif isinstance(e, ev.Step):
            self._apply_step(e)
        elif isinstance(e, ev.EpochEnd):
            self._apply_epoch_end(e)
        elif isinstance(e, ev.Paused):
            self.state = "paused"
            self._paused_at = e.time
            self._take_position(e)
        elif isinstance(e, ev.Resumed):
            self._apply_resumed(e)
        elif isinstance(e, ev.END_EVENTS):
            self._apply_end(e)
        elif isinstance(e, ev.FailureCause) and isinstance(self._end, ev.Failed):
            self._apply_end(wording.with_cause(self._end, e))

    def _apply_run_started(self, e: ev.RunStarted) -> None:
        """A run starts, or resumes (from the position and totals its checkpoint kept)."""
        self.title = fmt.run_title(e.preset, e.run_id)
        self.epochs, self.batches = e.epochs, e.steps_per_epoch
        self.epoch, self.batch_no = ev.epoch_position(e.start_epoch, e.start_epoch_step, e.steps_per_epoch)
        self.step = e.start_step
        self.train_seconds, self.wall_seconds = e.train_seconds, e.wall_seconds
        self.state = "training"
        self.message, self._end = "", None
        if self.started_at is None:
            self.started_at = e.time
        self._window.clear()

    def _apply_step(self, e: ev.Step) -> None:
        self.epoch, self.batch_no, self.batches, self.step = e.epoch, e.batch, e.batches, e.step
        self.loss, self.lr, self.images_per_s = e.loss, e.lr, e.images_per_s
        self._take_times(e)
        self._window.append((e.time, e.step))
        if self.state not in ("pausing", "stopping"):  # a pause or stop asked for stays shown
            self.state = "training"

    def _apply_epoch_end(self, e: ev.EpochEnd) -> None:
        self.epoch, self.epochs, self.step = e.epoch, e.epochs, e.step
        self.batch_no = self.batches
        self.lr = e.lr
        self._take_times(e)
        self._epoch_seconds.append(e.seconds)
        if self.best_acc is None or e.test_acc > self.best_acc:
            self.best_acc = e.test_acc

    def _apply_resumed(self, e: ev.Resumed) -> None:
        self.state = "training"
        self._take_position(e)
        if self._paused_at is not None:
            self.paused_s += e.time - self._paused_at
            self._paused_at = None
        self._window.clear()  # the pause is not part of the step rate

    def _apply_end(self, e: ev.Finished | ev.Stopped | ev.Failed) -> None:
        self.state = e.kind  # finished, stopped or failed
        self._end = e
        self.message = wording.end_line(e, where=False)
        self._take_times(e)
        if not isinstance(e, ev.Finished):
            self._take_position(e)

    def _take_position(self, e: ev.Paused | ev.Resumed | ev.Stopped | ev.Failed) -> None:
        """The position a pause or an end names: the header says what the log says (the
        last Step, throttled, may be a few steps behind it)."""
        if e.epoch_steps:  # an older event's epoch is not a position
            self.epoch, self.batch_no, self.batches, self.step = e.epoch, e.epoch_step, e.epoch_steps, e.step

    def _take_times(self, e: ev.Step | ev.EpochEnd | ev.Finished | ev.Stopped | ev.Failed) -> None:
        if e.train_seconds is not None:
            self.train_seconds = e.train_seconds
        if e.wall_seconds is not None:
            self.wall_seconds = e.wall_seconds

    def message_lines(self, width: int) -> list[str]:
        """The end message, wrapped to at most two lines (the log pane has it whole)."""
        if not self.message:
            return []
        lines = textwrap.wrap(self.message, max(10, width), break_on_hyphens=False) or [""]
        if len(lines) > 2:
            lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), max(10, width), placeholder=" …")]
        return lines

    def flush(self) -> None:
        # A relayout of the screen only when the height changes (the end message).
        lines = 4 + len(self.message_lines(self.size.width or 80))
        self.refresh(layout=lines != self._lines)
        self._lines = lines

    def on_resize(self) -> None:
        self.flush()

    # -- derived numbers ------------------------------------------------------------------
    def steps_per_s(self) -> float | None:
        if len(self._window) < 2:
            return None
        (t0, s0), (t1, s1) = self._window[0], self._window[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else None

    def wall_time(self) -> float | None:
        """The run's wall seconds: the engine's, else (an older run's events, without
        them) the time since this pane's first RunStarted."""
        if self.wall_seconds:
            return self.wall_seconds
        if self.started_at is not None and self.last_time is not None:
            return self.last_time - self.started_at
        return None

    def etas(self) -> tuple[float | None, float | None]:
        """Seconds left in this epoch and in the run; None while unknown."""
        if self.state in ("finished", "stopped", "failed"):
            return 0.0, 0.0
        rate = self.steps_per_s()
        if not rate or not self.batches:
            return None, None
        epoch_left = (self.batches - self.batch_no) / rate
        remaining_epochs = max(0, self.epochs - max(self.epoch, 1))
        per_epoch = fmean(self._epoch_seconds[-5:]) if self._epoch_seconds else self.batches / rate
        return epoch_left, epoch_left + remaining_epochs * per_epoch

    # -- rendering ------------------------------------------------------------------------
    def render(self) -> Text:
        width = max(20, self.size.width)
        out = self._title_line(width)
        self._append_bars(out, width)
        out.append("\n" + self._stats_line(width))
        for text in self.message_lines(width):
            out.append("\n" + text, "bold red" if self.state == "failed" else "bold")
        return out

    def _title_line(self, width: int) -> Text:
        """The run's title (and mode note) on the left, its state on the right; the title
        cut short, not the state, where both do not fit."""
        glyph, style = STATES.get(self.state, ("?", ""))
        out = Text(no_wrap=True, overflow="ellipsis")
        state = Text.assemble((f"{glyph} {self.state}", style))
        note = f"  {self.mode_note}" if self.mode_note else ""
        title = Text.assemble((self.title or "no run yet", "bold"), (note, "dim"))
        title.truncate(max(1, width - state.cell_len - 1), overflow="ellipsis")
        out.append_text(title)
        out.append(" " * max(1, width - title.cell_len - state.cell_len))
        out.append_text(state)
        return out

    def _append_bars(self, out: Text, width: int) -> None:
        """The epoch's and the run's rows: a label, a bar, a count and an ETA each."""
        rows = self._bar_rows()
        # The labels' column fits the longest ("epoch 120/150"): a row one cell too wide
        # wrapped, and pushed the stats line off a small terminal.
        label_width = max(12, *(len(label) for label, *_ in rows))
        for label, frac, count, tail in rows:
            right = f" {count:>9} {tail:>12}"
            bar_width = max(4, width - label_width - 1 - len(right))
            out.append(f"\n{label:<{label_width}} ")
            out.append(fmt.bar(frac, bar_width), "bold" if frac else "dim")
            out.append(right)

    def _bar_rows(self) -> list[tuple[str, float, str, str]]:
        """(label, fraction done, count, ETA) of the epoch in progress and of the run."""
        if not self.epochs:  # before RunStarted (the data loading): no "epoch 0/0 0/0"
            tail = "loading…" if self.state == "starting" else self._eta_text(None)
            return [("epoch", 0.0, "", tail), ("run", 0.0, "", "")]
        epoch_eta, run_eta = self.etas()
        in_epoch = self.batch_no / self.batches if self.batches else 0.0
        done_epochs = self.epoch - 1 + in_epoch if self.epoch else 0.0
        if self.state == "finished" or (self.epochs and self.epoch >= self.epochs and self.batch_no >= self.batches):
            done_epochs = float(self.epochs)
        run_frac = done_epochs / self.epochs if self.epochs else 0.0
        return [
            (
                f"epoch {self.epoch}/{self.epochs}",
                in_epoch,
                f"{self.batch_no}/{self.batches}",
                self._eta_text(epoch_eta),
            ),
            ("run", run_frac, fmt.pct(run_frac * 100, digits=0), self._eta_text(run_eta)),
        ]

    def _eta_text(self, seconds: float | None) -> str:
        """An ETA in words: the state instead while paused or ended (no time is left)."""
        if self.state in ("paused", "pausing"):
            return "paused"
        if self.state in ("finished", "stopped", "failed"):
            return self.state
        return fmt.eta(seconds)

    def _stats_line(self, width: int) -> str:
        """Loss, learning rate, throughput, best accuracy and run time, as many as fit."""
        # What is not known yet (before the first Step, or the first epoch for "best") is
        # left out: a row of "loss ? · lr ? · ? img/s" read as broken while a run started.
        parts = [
            f"loss {fmt.loss(self.loss)}" if self.loss is not None else "",
            f"lr {fmt.lr(self.lr)}" if self.lr is not None else "",
            fmt.throughput(self.images_per_s) if self.images_per_s is not None else "",
            f"best {fmt.pct(self.best_acc)}" if self.best_acc is not None else "",
            fmt.run_time(self.train_seconds, self.wall_time()),
        ]
        line = ""
        for part in filter(None, parts):  # drop what does not fit rather than wrapping
            candidate = f"{line} · {part}" if line else part
            if len(candidate) > width:
                break
            line = candidate
        return line
