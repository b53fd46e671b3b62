"""Pause, resume, stop and save-now: what any thread or process asks of a running loop.

Threads cannot be killed, so a stop is a flag the loop checks once per batch (and the
data load checks between files). The app and the headless command set the flags from
their own threads; `tui-trainer watch` and `tui-trainer control` write commands into
the run folder's inbox, which :meth:`Controls.poll` reads a few times a second
(``POLL_S``: a file read per batch would cost a fast loop more than its step).

For the distributed engine this is the one place a control decision is made: rank 0
polls and the decision (stop, pause, save) is broadcast at that same poll, so every
rank acts at the same step without a collective per step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .. import events as ev
from ..runs import ControlInbox

POLL_S = 0.25  # how often the inbox is read
STOPPED_BY_USER = "stopped by user"


class Controls:
    def __init__(self, inbox: ControlInbox | None, emit: Callable[[ev.Event], None]) -> None:
        self.inbox = inbox
        self._emit = emit
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._save_now = threading.Event()
        self._next_poll = 0.0
        self.stop_reason = STOPPED_BY_USER

    # -- asked from any thread ---------------------------------------------------------------
    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self, reason: str = STOPPED_BY_USER) -> None:
        self.stop_reason = reason
        self._stop.set()
        self._running.set()  # wake a paused loop so that it can stop

    def save_now(self) -> None:
        self._save_now.set()

    # -- read by the loop ----------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def take_save_request(self) -> bool:
        """True once for each "save now" asked since the last call."""
        if not self._save_now.is_set():
            return False
        self._save_now.clear()
        return True

    def report_due(self, now: float, due: float, last_batch: bool) -> bool:
        """Whether the loop reads back for a Step event after this batch (its time is due)."""
        return now >= due or last_batch

    def poll(self, step: int = 0, report_due: float = 0.0) -> None:
        """Apply the commands other processes left in the run folder (at most every POLL_S).
        (``step`` and ``report_due`` are for the distributed gate, which has this interface.)"""
        now = time.monotonic()
        if self.inbox is None or now < self._next_poll:
            return
        self._next_poll = now + POLL_S
        for item in self.inbox.poll():
            command, command_id = item.get("command"), str(item.get("id", ""))
            action = self._actions().get(str(command))
            if action is not None:
                action()
            self._emit(
                ev.ControlAck(
                    command=str(command),
                    id=command_id,
                    ok=action is not None,
                    message="" if action else "unknown command",
                )
            )

    def _actions(self) -> dict[str, Callable[[], None]]:
        return {
            "pause": self.pause,
            "resume": self.resume,
            "save": self.save_now,
            "stop": lambda: self.stop("stopped from another process"),
        }

    def wait_resumed(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a resume or a stop; True if one came."""
        return self._running.wait(timeout)

    def wait_while_paused(self, save: Callable[[], object]) -> float:
        """Block until resumed or stopped, still polling the inbox and saving when asked
        (a checkpoint of a paused run is written at once); returns the seconds waited."""
        t = time.monotonic()
        while not self._running.wait(0.1):
            self.poll()
            if self.take_save_request():
                save()
        return time.monotonic() - t
