"""When the dashboard may render what the engine sent: a CPU budget for the UI thread.

The UI thread shares the machine, and the GIL, with the training thread: every
millisecond it spends rendering is a millisecond the engine may wait. Measured on two
cores (BENCHMARKS.md): a render of the progress and sparkline costs a few ms, one of an
epoch (a table row, the chart, the checkpoints, the log, so a relayout of the screen)
about 100 ms; rendering every event of a run with 0.25 s epochs took 30% of a core.

So the dashboard renders in two tiers:

- ``live``: progress, sparkline, device line (cheap; a few times a second);
- ``epoch``: epoch table, chart, checkpoints, log (expensive; at most once per epoch).

What a render costs cannot be timed where it is requested: the panes only mark
themselves dirty, and Textual lays out and composes the screen later, in several
steps (a table that grew relayouts the screen from its idle handler). So the pacer
does not time renders; it measures the UI thread's whole CPU share
(``time.thread_time`` over wall time) and steers the intervals between renders until
that share is within ``budget``, along one ladder of intervals: over budget, the live
tier slows to once a second (``LIVE_STEADY``), then the epoch tier slows, up to its
longest, then the live tier again; well under budget, the same rungs in reverse. (The
epoch tier used to take all the slowing first: with epochs 0.6 s apart, the progress
rendered twice a second and the epoch table every 15 s.) A window of measurement
runs from one epoch render to the next, or 2 s at most; windows are averaged over
about ``SMOOTHING_S`` seconds, so that an epoch render every 15 s is paid for over
those 15 s, not in the window it fell in.

What the user waits for is not paced: a run starting, pausing, resuming or ending, its
first epoch, and a pane the user turns to (see ``DashboardScreen.render_waiting``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW = 2.0  # seconds of measurement when no epoch render closes the window earlier
MIN_WINDOW = 0.5  # shorter windows are too noisy to steer by
MAX_STEP = 2.0  # the most an interval changes by at once (either way)
SLACK = 0.7  # below budget x SLACK, renders speed up
SMOOTHING_S = 6.0  # time constant of the averaged share
LIVE_STEADY = 1.0  # the live tier's interval that the epoch tier's slowing waits for (s)


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

    budget: float = 0.025  # share of one core for the whole UI thread while training
    live: Tier = field(default_factory=lambda: Tier(interval=0.25, min_interval=0.25, max_interval=2.0))
    epoch: Tier = field(default_factory=lambda: Tier(interval=1.0, min_interval=0.5, max_interval=15.0))
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
        steady = min(max(LIVE_STEADY, self.live.min_interval), self.live.max_interval)
        return [
            (self.live, self.live.min_interval, steady),
            (self.epoch, self.epoch.min_interval, self.epoch.max_interval),
            (self.live, steady, self.live.max_interval),
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
