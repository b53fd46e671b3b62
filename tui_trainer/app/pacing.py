"""How often the UI takes the engine's events and renders them: one mechanism, its knobs here.

The UI thread shares the machine, and the GIL, with the training thread: every
millisecond it spends taking and rendering events is a millisecond the engine may
wait. Measured on two cores (BENCHMARKS.md): a render of the progress and sparkline
costs a few ms; one of an epoch (table rows, the chart, the checkpoints, the log) about
35 ms plus 2 ms per epoch in it, most of it Textual painting the tables.

So the dashboard renders in two tiers:

- ``live``: progress, sparkline, device line (cheap; at least once a second while
  anything changes: ``LIVE`` bounds);
- ``epoch``: epoch table, chart, checkpoints, log (expensive; within ``EPOCH`` bounds,
  so an epoch's row is on screen at most 1 s after the epoch ended).

:class:`RenderPacer` decides both when a tier renders and when the UI takes what the
engine sent (:meth:`RenderPacer.next_take`): the bridge posts one message, then holds
what follows until the pacer's next due time, when nothing taken earlier could have
been rendered anyway. Events a user waits for (``URGENT``: a run starting, pausing,
resuming or ending, a control acknowledged, the run's first epoch) break the hold and
render at once. The engine's ``train.log_interval`` is not a throttle of the UI: it is
how often the step path reads back from the device (a sync), which sets the loss
curve's resolution for every consumer; the live tier's shortest interval matches its
default.

What a render costs cannot be timed where it is requested: the panes only mark
themselves dirty, and Textual lays out and composes the screen later. So the pacer
measures the UI thread's whole CPU share (``time.thread_time`` over wall time) and
steers the intervals within their bounds until that share is within ``budget``. Both
tiers start at their longest and move along one ladder: well under budget, the epoch
tier speeds up first (to its shortest), then the live tier; over budget, the same
rungs in reverse (the live tier slows first, to once a second). A window of
measurement runs from one epoch render to the next, or ``WINDOW`` s at most; windows
are averaged over about ``SMOOTHING_S`` seconds. When both tiers are at their longest
the budget gives way to the freshness bounds: on two cores that happens with epochs
a second or less apart (BENCHMARKS.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import events as ev

WINDOW = 2.0  # seconds of measurement when no epoch render closes the window earlier
MIN_WINDOW = 0.5  # shorter windows are too noisy to steer by
MAX_STEP = 2.0  # the most an interval changes by at once (either way)
SLACK = 0.7  # below budget x SLACK, renders speed up
SMOOTHING_S = 6.0  # time constant of the averaged share
LIVE = (0.25, 1.0)  # the live tier's shortest and longest interval (s): progress at least once a second
EPOCH = (0.5, 1.0)  # the epoch tier's: an epoch's row within 1 s of its end (issue 19; a render ~14 ms)
MIN_TAKE_S = 0.02  # the shortest hold: a due time just passed does not spin the UI

# Rendered at once, whatever the pacer says: the state changes a user waits to see.
STATE_EVENTS = (ev.RunStarted, ev.Paused, ev.Resumed, *ev.END_EVENTS)  # what the footer's keys depend on
URGENT = (*STATE_EVENTS, ev.ControlAck)


@dataclass
class Tier:
    """One tier's interval between renders, within bounds."""

    interval: float
    min_interval: float
    max_interval: float
    last: float | None = None  # clock time of its last render

    def due_at(self) -> float:
        return float("-inf") if self.last is None else self.last + self.interval


@dataclass
class RenderPacer:
    """Decides, in the UI thread, whether each tier may render now.

    :meth:`due` says what may render of what is waiting; :meth:`rendering` is called
    when a render starts. ``clock`` and ``cpu`` are injectable for tests.
    """

    # Share of one core for the whole UI thread while training. On a CPU run the
    # engine's threads fill every core, and a UI slice stalls one of them and so the
    # whole op: at 2.5% the bench's c/b was 0.947, at 1.2% 0.973 (BENCHMARKS.md step 11).
    budget: float = 0.012
    # Both tiers start at their longest interval and speed up while under budget: a
    # run's first seconds (and a short bench) never pay for renders the budget refuses.
    live: Tier = field(default_factory=lambda: Tier(LIVE[1], *LIVE))
    epoch: Tier = field(default_factory=lambda: Tier(EPOCH[1], *EPOCH))
    clock: Callable[[], float] = time.monotonic
    cpu: Callable[[], float] = time.thread_time
    share: float | None = None  # the UI thread's CPU share in the last window
    _mark: tuple[float, float] | None = None  # (clock, cpu) at the start of the window

    def due(self, live: bool, epoch: bool) -> tuple[bool, bool]:
        """Which of the waiting tiers may render now."""
        now = self.clock()
        epoch_now = epoch and now >= self.epoch.due_at()
        # An epoch render repaints the live panes too (they are cheap beside it).
        live_now = epoch_now or (live and now >= self.live.due_at())
        return live_now, epoch_now

    def next_due(self, live: bool, epoch: bool) -> float | None:
        """Clock time at which something waiting may render; None if nothing waits."""
        times = ([self.live.due_at()] if live else []) + ([self.epoch.due_at()] if epoch else [])
        return min(times) if times else None

    def next_take(self) -> float:
        """Seconds until the UI should take the engine's events: when a tier may next
        render (events taken before then would only wait for it)."""
        due = min(self.live.due_at(), self.epoch.due_at())
        return max(MIN_TAKE_S, due - self.clock())

    def rendering(self, epoch: bool, forced: bool = False) -> None:
        """A render starts now (``epoch``: it includes the epoch tier). A ``forced``
        one (a run starting, pausing, ending) is not typical of the run's steady state:
        it restarts the measurement window rather than steering by it."""
        now, cpu = self.clock(), self.cpu()
        if self._mark is None or forced:
            self._mark = (now, cpu)
        else:
            elapsed = now - self._mark[0]
            if elapsed >= WINDOW or (epoch and elapsed >= MIN_WINDOW):
                share = (cpu - self._mark[1]) / elapsed
                if self.share is not None:
                    weight = elapsed / (elapsed + SMOOTHING_S)
                    share = (1 - weight) * self.share + weight * share
                self.steer(share)
                self._mark = (now, cpu)
        self.live.last = now
        if epoch:
            self.epoch.last = now

    def ladder(self) -> list[tuple[Tier, float, float]]:
        """The rungs, in the order they slow down: (tier, from, to) intervals."""
        return [
            (self.live, self.live.min_interval, self.live.max_interval),
            (self.epoch, self.epoch.min_interval, self.epoch.max_interval),
        ]

    def steer(self, share: float) -> None:
        """Adjust the intervals to the UI thread's (averaged) CPU share: one rung at a time."""
        self.share = share
        ratio = share / self.budget
        if ratio > 1:
            factor = min(ratio, MAX_STEP)
            for tier, _, top in self.ladder():
                if tier.interval < top:
                    tier.interval = min(top, tier.interval * factor)
                    return
        elif ratio < SLACK:
            factor = max(ratio / SLACK, 1 / MAX_STEP)
            for tier, bottom, _ in reversed(self.ladder()):
                if tier.interval > bottom:
                    tier.interval = max(bottom, tier.interval * factor)
                    return


def is_urgent(event: ev.Event, first_epoch: bool) -> bool:
    """Whether ``event`` renders at once; ``first_epoch``: it is the run's first EpochEnd
    (its first test accuracy, a milestone)."""
    return isinstance(event, URGENT) or (first_epoch and isinstance(event, ev.EpochEnd))
