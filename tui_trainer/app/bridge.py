"""The engine → UI bridge, and the session that runs one Trainer in a thread worker.

The engine calls its subscribers in the training thread, synchronously, once per
event. A subscriber that waited for the UI (``call_from_thread``) would slow training
down to the UI's pace, so :class:`EventBridge` only appends to a list under a lock
and posts one :class:`EngineUpdate` message when none is pending (``post_message`` is
thread-safe and never blocks). Consecutive Step events are coalesced: a newer Step
replaces a queued older one, so a fast GPU cannot flood the UI; the Steps themselves
are kept in a bounded side buffer so that the sparkline and the metrics pane still get
every point (loss, learning rate, gradient norm, images/s).

When the UI takes what is queued is the pacer's decision (:mod:`.pacing`): after a
drain with ``hold`` the bridge posts nothing for ordinary events, and a UI timer takes
what came since (``release``) when a pane may next render. An urgent event (a state
change, the run's first epoch: :func:`.pacing.is_urgent`) posts through the hold. A
run with epochs 10 times a second posted 50 messages a second, and handling them, not
rendering, was half of the UI thread's CPU time (1% of a core of 2%, measured on the
build machine): time the training thread waits for the GIL on a GPU.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from textual.message import Message

from .. import events as ev
from ..errors import UserError
from .pacing import is_urgent
from .worker_errors import one_line

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.message_pump import MessagePump

    from ..engine.trainer import Trainer
    from ..launch import Launch
    from ..runs import RunRecorder

# Steps kept while the UI is busy; beyond that the oldest are dropped (the curves are a
# summary, a gap is harmless, unbounded memory is not).
MAX_PENDING_STEPS = 4096


class EngineUpdate(Message):
    """Posted by the bridge: events are waiting, call ``bridge.drain()``."""

    def __init__(self, bridge: EventBridge) -> None:
        super().__init__()
        self.bridge = bridge


class EventBridge:
    """A thread-safe, never-blocking, coalescing subscriber."""

    def __init__(self, target: MessagePump, session: TrainingSession | None = None) -> None:
        self.target = target
        self.session = session
        self._lock = threading.Lock()
        self._events: list[ev.Event] = []
        self._steps: deque[ev.Step] = deque(maxlen=MAX_PENDING_STEPS)
        self._posted = False  # a message is on its way and not drained yet
        self._held = False  # ordinary events wait for the UI's timer (see drain)
        self._epoch_seen = False  # an EpochEnd since the last RunStarted
        self.posted = 0  # messages posted (tests check the coalescing)

    def __call__(self, event: ev.Event) -> None:
        # Runs in the training thread: O(1) under the lock, no UI work.
        with self._lock:
            if isinstance(event, ev.Step):
                self._steps.append(event)
                if self._events and isinstance(self._events[-1], ev.Step):
                    self._events[-1] = event
                else:
                    self._events.append(event)
            else:
                self._events.append(event)
            first_epoch = isinstance(event, ev.EpochEnd) and not self._epoch_seen
            if isinstance(event, ev.RunStarted | ev.EpochEnd):
                self._epoch_seen = isinstance(event, ev.EpochEnd)
            post = not self._posted and (not self._held or is_urgent(event, first_epoch))
            self._posted = self._posted or post
        if post:
            self.posted += 1
            self.target.post_message(EngineUpdate(self))

    def drain(self, hold: bool = False) -> tuple[list[ev.Event], list[ev.Step]]:
        """Take what is queued (UI thread): the events (consecutive Steps coalesced)
        and every Step since the last drain. The next event posts a new message, unless
        ``hold``: then only an urgent one does until :meth:`release`."""
        with self._lock:
            events, self._events = self._events, []
            steps = list(self._steps)
            self._steps.clear()
            self._posted = False
            self._held = hold
        return events, steps

    def release(self) -> bool:
        """End a hold (UI thread). True if events came during it: the caller drains them
        (holding again) instead; otherwise the next event posts at once."""
        with self._lock:
            if self._events or self._steps:
                return True
            self._held = False
            return False


class TrainingSession:
    """One training run in this process: the Trainer, its thread worker and its bridge.

    The Trainer is imported and built inside the worker thread: importing the engine
    pulls in torch and the data code (seconds), which must not freeze the UI. Controls
    sent before the Trainer exists are remembered and applied when it does.
    """

    def __init__(self, launch: Launch, target: MessagePump, history: list[ev.Event] | None = None) -> None:
        self.launch = launch
        self.run = launch.run
        self.bridge = EventBridge(target, self)
        self.history = history or []  # events of the run folder before this session (resume)
        self.done = threading.Event()  # the worker thread has ended
        self.started = False
        self.result: ev.Event | None = None
        self.error: BaseException | None = None
        self.worker: Any = None
        self.screen: Any = None  # its DashboardScreen, set by the app
        self._lock = threading.Lock()
        self._trainer: Any = None
        self._recorder: RunRecorder | None = None
        self._paused = False
        self._stop_reason: str | None = None

    # -- state ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.started and not self.done.is_set()

    @property
    def paused(self) -> bool:
        with self._lock:
            return self._trainer.paused if self._trainer is not None else self._paused

    # -- controls (UI thread; the Trainer's own controls are thread-safe flags) -------------
    def pause(self) -> None:
        with self._lock:
            self._paused = True
            if self._trainer is not None:
                self._trainer.pause()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            if self._trainer is not None:
                self._trainer.resume()

    def stop(self, reason: str = "stopped by user") -> None:
        with self._lock:
            self._stop_reason = reason
            if self._trainer is not None:
                self._trainer.stop(reason)

    def save_now(self) -> bool:
        with self._lock:
            if self._trainer is None:
                return False
            self._trainer.save_now()
            return True

    # -- the worker ---------------------------------------------------------------------------
    def start(self, node: DOMNode) -> None:
        """Run the Trainer in a Textual thread worker owned by ``node`` (the app)."""
        self.started = True
        self.worker = node.run_worker(
            self._work, name=f"train {self.run.id}", group="training", thread=True, exit_on_error=False
        )

    def build_trainer(self, recorder: RunRecorder) -> Trainer:
        """The Trainer of this run, its events to ``recorder`` and the bridge (worker
        thread). The one seam `tui-trainer bench` needs: its session (app/bench.py)
        loads the data here and adds its timer."""
        from ..engine.trainer import Trainer

        # torch keeps all its CPU threads: measured on 2 cores, giving one up to the UI
        # cost 25% of the throughput and did not make keys faster (BENCHMARKS.md).
        return Trainer(self.launch.config, run=self.run, resume=self.launch.resume, subscribers=[recorder, self.bridge])

    def _work(self) -> ev.Event | None:
        """Trainer.run() turns every training error into a Failed event. An exception
        before it (the engine's import, its constructor, an unwritable run folder) ends
        the worker in error: the app's one handler (TrainerApp.report_worker_error)
        reports it and calls :meth:`fail`."""
        try:
            self._recorder = self.run.recorder()
            trainer = self.build_trainer(self._recorder)
            with self._lock:
                self._trainer = trainer
                if self._paused:
                    trainer.pause()
                if self._stop_reason is not None:
                    trainer.stop(self._stop_reason)
            self.result = trainer.run()
            self.error = trainer.error
            return self.result
        except BaseException as exc:
            self.error = exc  # known before `done`: the exit status counts it at once
            raise
        finally:
            if self.result is not None and self._recorder is not None:  # else fail() ends its record
                self._recorder.close()
            self.done.set()

    def fail(self, exc: BaseException) -> None:
        """End the session as failed after its worker raised (UI thread): the run's
        status says failed, with why, and the dashboard shows it. Once only."""
        if self.result is not None:
            return
        self.error = exc
        self.result = ev.Failed(reason=one_line(exc), error=type(exc).__name__, epoch=0, step=0, checkpoint=None)
        try:
            recorder = self._recorder or self.run.recorder()
            recorder(self.result)  # writes the failed status and closes the run's files
        except (OSError, UserError):
            pass  # the run folder cannot be written (maybe what failed): the screen still says why
        self.bridge(self.result)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker has ended (used at exit only)."""
        return self.done.wait(timeout)
