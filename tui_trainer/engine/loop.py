"""The epoch loop: batches through :func:`.step.train_step`, controls between them,
Step events a few times a second, and at each epoch's end the evaluation, the
EpochEnd event and the checkpoint policy.

Reading back from the device waits for it, so the loop does it only when a Step
event is due (``train.log_interval``) and at an epoch's end: the loss and accuracy
sums and the gradient norms stay on the device in between (:class:`.totals.StepTotals`). With several ranks
those readbacks are the points where the sums are all-reduced (no collective per
step), and the controls are a :class:`.distributed.RankGate`: the same calls, with
rank 0's decisions reaching every rank at the same step. Every rank runs this loop;
only rank 0 has a checkpointer (and subscribers that write).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import torch

from .. import events as ev
from .. import format as fmt
from .checkpointing import MID_EPOCH_REASONS, Checkpointer, epoch_due
from .controls import Controls
from .distributed import RankGate
from .evaluation import evaluate
from .failures import TrainingDiverged
from .setup import TrainingParts
from .state import NO_TOTALS, EpochTotals, TrainingState
from .step import train_step
from .totals import StepTotals

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass
class EpochClock:
    """An epoch's time and images: pauses and the compile warm-up are not training time."""

    start: float = field(default_factory=time.monotonic)
    excluded: float = 0.0  # seconds paused or compiling
    images: int = 0  # trained by this process in this epoch (not carried over a resume)
    paused_since: float | None = None  # a pause in progress (a checkpoint saved while paused)

    def train_seconds(self, now: float) -> float:
        paused = now - self.paused_since if self.paused_since is not None else 0.0
        return now - self.start - self.excluded - paused


@dataclass
class StepWindow:
    """The images and time since the last Step event (its images/s), and when the next is due."""

    interval: float
    t: float = field(default_factory=time.monotonic)
    images: int = 0
    due: float = 0.0
    fetching: float = 0.0  # seconds spent in the batch iterator's next() (:func:`timed`)

    def __post_init__(self) -> None:
        self.due = self.t + self.interval

    def restart(self, now: float) -> None:
        """A new window after a pause or the warm-up (the next Step stays due when it was)."""
        self.t, self.images, self.fetching = now, 0, 0.0

    def data_share(self, now: float) -> float | None:
        """The share of the window's wall time spent fetching batches (None: no time yet)."""
        seconds = now - self.t
        return min(1.0, self.fetching / seconds) if seconds > 0 else None


def timed(batches: Iterator[Batch], window: StepWindow) -> Iterator[Batch]:
    """``batches``, adding the host time each ``next()`` takes to ``window.fetching``:
    a clock read on each side, no device sync. With device-resident data that is the
    host's work of launching the batch's gather and augmentation ops; a GPU may still be
    running them (or the previous step) when it returns, which this cannot see."""
    while True:
        start = time.monotonic()
        batch = next(batches, None)
        window.fetching += time.monotonic() - start
        if batch is None:
            return
        yield batch


@dataclass
class RateMeter:
    """images/s over the last ``span`` seconds of training: the windows of the last few
    Step events, each without pauses, evaluation or the compile warm-up (a window starts
    after them), so the rate a Step reports does not swing with one short window."""

    span: float = 3.0
    windows: list[tuple[int, float]] = field(default_factory=list)  # (images, seconds), oldest first

    def add(self, images: int, seconds: float) -> float:
        """Record a window; the smoothed rate (this window's alone if it spans ``span``)."""
        self.windows.append((images, seconds))
        total = 0.0
        for i in range(len(self.windows) - 1, -1, -1):
            total += self.windows[i][1]
            if total >= self.span:
                del self.windows[:i]
                break
        images_sum = sum(n for n, _ in self.windows)
        return images_sum / max(1e-9, sum(t for _, t in self.windows))


class TrainingLoop:
    def __init__(
        self,
        parts: TrainingParts,
        state: TrainingState,
        controls: Controls,
        checkpointer: Checkpointer | None,
        emit: Callable[[ev.Event], None],
    ) -> None:
        self.parts = parts
        self.state = state
        world = parts.world
        self.controls: Controls | RankGate = (
            RankGate(world, controls, parts.device, parts.config.train.log_interval) if world.distributed else controls
        )
        self.checkpointer = checkpointer
        self.saved_step = state.step  # of the newest checkpoint: the same on every rank
        self.emit = emit
        self.epoch_rng = parts.generator.get_state()  # the data draws of the epoch in progress
        self.compile_warmup = parts.config.train.compile
        self.t0 = time.monotonic()
        self.wall_before = state.wall_seconds  # the earlier attempts' wall time
        self.saved_times = (state.train_seconds, state.wall_seconds)  # of the newest checkpoint
        # Where the epoch in progress is, for a failure's event (Trainer._ended).
        self.batch = state.batch_in_epoch
        self.clock: EpochClock | None = None
        self.rate = RateMeter()

    def log(self, message: str, level: str = "info") -> None:
        self.emit(ev.Log(message=message, level=level))

    def _times(self, clock: EpochClock | None = None) -> tuple[float, float]:
        """The run's training and wall seconds now, resumes included (``clock``: the epoch
        in progress, whose training time state.train_seconds gets at its end)."""
        now = time.monotonic()
        self.state.wall_seconds = self.wall_before + now - self.t0
        train = self.state.train_seconds + (clock.train_seconds(now) if clock is not None else 0.0)
        return train, self.state.wall_seconds

    def times_now(self) -> tuple[float, float]:
        return self._times(self.clock)

    def position_now(self) -> dict[str, int]:
        return self._position(self.batch)

    def _position(self, batch: int) -> dict[str, int]:
        """The fields of an event at ``batch`` steps into the epoch in progress (events.py's convention)."""
        steps = self.parts.steps_per_epoch
        epoch, epoch_step = ev.epoch_position(self.state.epoch, batch, steps)
        return {"epoch": epoch, "step": self.state.step, "epoch_step": epoch_step, "epoch_steps": steps}

    def run(self) -> ev.Event:
        """Train the remaining epochs; the end event (Finished or Stopped), not yet emitted."""
        cfg = self.parts.config
        while self.state.epoch < cfg.train.epochs:
            epoch = self.state.epoch + 1
            outcome = self._train_epoch(epoch)
            if isinstance(outcome, ev.Stopped):
                return outcome
            self._end_epoch(epoch, *outcome)
        s = self.state
        train, wall = self._times()
        return ev.Finished(
            epochs=s.epoch,
            best_acc=s.best_acc,
            final_acc=s.history[-1]["test_acc"] if s.history else None,
            seconds=time.monotonic() - self.t0,
            time_to_target=s.time_to_target,
            target_acc=cfg.meta.target_acc,
            train_seconds=train,
            wall_seconds=wall,
        )

    # -- one epoch of batches ------------------------------------------------------------------
    def _train_epoch(self, epoch: int) -> ev.Stopped | tuple[StepTotals, EpochClock]:
        parts, state = self.parts, self.state
        skip, carried = state.batch_in_epoch, state.epoch_totals
        if skip == 0:
            self.epoch_rng = parts.generator.get_state()
        state.batch_in_epoch, state.epoch_totals = 0, NO_TOTALS
        totals = StepTotals(parts.device, *carried, step=state.step, world=parts.world)
        clock, window = EpochClock(), StepWindow(parts.config.train.log_interval)
        self.clock, self.batch = clock, skip
        parts.model.train()
        start_epoch = getattr(parts.model, "start_epoch", None)
        if start_epoch is not None:
            start_epoch(epoch - 1)  # e.g. the speedrun net freezes its whitening bias
        for batch, (x, y) in enumerate(timed(self._batches(epoch, skip), window), start=skip):
            if self._obey_controls(batch, totals, clock, window):
                return self._stopped(batch, totals, clock)
            warm_t = time.monotonic()
            loss, logits, grad_norm = train_step(parts, x, y, state.step + 1, epoch - 1)
            state.step += 1
            self.batch = batch + 1
            totals.add(loss, logits, y, grad_norm)
            if self.compile_warmup:
                self._end_warmup(loss, warm_t, clock, window)
            else:  # all ranks' images of this batch: images/s is the run's, not one rank's
                images = parts.global_batch(batch)
                window.images += images
                clock.images += images
            now = time.monotonic()
            if self.controls.report_due(now, window.due, batch + 1 == parts.steps_per_epoch):
                self._report_step(epoch, batch + 1, totals, window, now, clock)
            if self.controls.take_save_request():
                self._save("manual", batch + 1, totals, clock=clock)
        return totals, clock

    def _batches(self, epoch: int, skip: int) -> Iterator[Batch]:
        parts, data_cfg = self.parts, self.parts.config.data
        return parts.data.train_batches(
            data_cfg.batch_size,
            parts.generator,
            data_cfg.augment,
            data_cfg.crop_padding,
            parts.max_steps,
            crop_fill=data_cfg.crop_fill,
            flip_mode=data_cfg.flip_mode,
            epoch=epoch - 1,
            start=skip,  # the epoch's draws, from the batch a mid-epoch checkpoint stopped at
            shard=parts.shard,
        )

    def _obey_controls(self, batch: int, totals: StepTotals, clock: EpochClock, window: StepWindow) -> bool:
        """Poll the controls before a batch; waits out a pause. True when the run must stop."""
        controls = self.controls
        controls.poll(self.state.step, window.due)
        if controls.stopping:
            return True
        if controls.paused:
            self.emit(ev.Paused(**self._position(batch)))
            clock.paused_since = time.monotonic()
            clock.excluded += controls.wait_while_paused(lambda: self._save("manual", batch, totals, clock=clock))
            clock.paused_since = None
            if controls.stopping:
                return True
            self.emit(ev.Resumed(**self._position(batch)))
            window.restart(time.monotonic())
        return False

    def _end_warmup(self, loss: torch.Tensor, warm_t: float, clock: EpochClock, window: StepWindow) -> None:
        """torch.compile compiles in the first step: time it on its own (one sync, once)."""
        loss.item()
        warm = time.monotonic() - warm_t
        clock.excluded += warm
        window.restart(time.monotonic())
        self.compile_warmup = False
        self.log(f"torch.compile warm-up (first step): {fmt.elapsed(warm)}, not counted in images/s")

    def _report_step(
        self, epoch: int, batch: int, totals: StepTotals, window: StepWindow, now: float, clock: EpochClock
    ) -> None:
        """The one readback of the step path: a few times a second at most."""
        mean_loss, grad_norm = totals.window()
        self._check_finite(totals, epoch)
        lr = self.parts.scheduler.get_last_lr()[0]
        train, wall = self._times(clock)
        self.emit(
            ev.Step(
                epoch=epoch,
                step=self.state.step,
                batch=batch,
                batches=self.parts.steps_per_epoch,
                loss=mean_loss,
                lr=float(lr),
                images_per_s=self.rate.add(window.images, now - window.t),
                grad_norm=grad_norm,
                train_seconds=train,
                wall_seconds=wall,
                data_share=window.data_share(now),
            )
        )
        window.restart(now)
        window.due = now + window.interval

    def _check_finite(self, totals: StepTotals, epoch: int) -> None:
        bad = totals.nonfinite_step()
        if bad >= 0:
            steps = self.parts.steps_per_epoch
            batch = bad - (epoch - 1) * steps
            lower = self.parts.config.optim.lr / 10
            raise TrainingDiverged(
                f"loss became NaN/inf at {fmt.position(epoch, batch, steps)} (step {fmt.number(bad)} of the run); the last "
                f"good checkpoint is intact: resume it with a lower lr, e.g. --set optim.lr={fmt.setting(lower)}"
            )

    # -- an epoch's end ------------------------------------------------------------------------
    def _end_epoch(self, epoch: int, totals: StepTotals, clock: EpochClock) -> None:
        parts, state, cfg = self.parts, self.state, self.parts.config
        self._check_finite(totals, epoch)
        if parts.lookahead is not None:
            parts.lookahead.end_epoch(parts.model)
        train_time = clock.train_seconds(time.monotonic())
        state.train_seconds += train_time
        self.clock = None  # counted: the run's training time now holds it
        test_loss, test_acc = evaluate(parts)
        state.epoch, self.batch = epoch, 0
        best = state.best_acc is None or test_acc > state.best_acc
        if best:
            state.best_acc = test_acc
        target = cfg.meta.target_acc
        reached = target is not None and state.time_to_target is None and test_acc >= target
        if reached:
            state.time_to_target = state.train_seconds
        loss_sum, correct, seen = totals.epoch_totals()
        end = ev.EpochEnd(
            epoch=epoch,
            epochs=cfg.train.epochs,
            step=state.step,
            train_loss=loss_sum / max(1, seen),
            train_acc=100.0 * correct / max(1, seen),
            test_loss=test_loss,
            test_acc=test_acc,
            lr=float(parts.scheduler.get_last_lr()[0]),
            seconds=clock.train_seconds(time.monotonic()),
            images_per_s=clock.images / max(1e-9, train_time),
            best=best,
            train_seconds=state.train_seconds,
            wall_seconds=self._times()[1],
        )
        state.history.append({k: v for k, v in end.to_dict().items() if k not in ("event", "time")})
        self.emit(end)
        if reached:  # after the epoch's row, which it speaks of
            self.log(
                f"Reached {fmt.pct(target)} test accuracy after {fmt.elapsed(state.train_seconds)} of training "
                f"(epoch {epoch})"
            )
        if epoch_due(cfg, epoch):
            self._save("epoch" if epoch < cfg.train.epochs else "final", acc=test_acc)

    # -- saving and stopping -------------------------------------------------------------------
    def _save(
        self,
        reason: str,
        batch: int = 0,
        totals: StepTotals | None = None,
        acc: float | None = None,
        clock: EpochClock | None = None,
    ) -> str | None:
        """A checkpoint now; ``batch``, ``totals`` and ``clock`` place it inside the epoch
        in progress (its training time so far is the run's, as a resume carries it on).
        Every rank calls it at the same step (the sums are a collective); rank 0 writes."""
        sums: EpochTotals = totals.epoch_totals() if totals is not None else NO_TOTALS
        self.saved_step = self.state.step
        if self.checkpointer is None:
            return None
        train, wall = self._times(clock if batch else None)  # at batch 0 the epoch restarts
        self.saved_times = train, wall
        state = replace(self.state, batch_in_epoch=batch, epoch_totals=sums, train_seconds=train, wall_seconds=wall)
        rng = self.epoch_rng if reason in MID_EPOCH_REASONS else self.parts.generator.get_state()
        return self.checkpointer.save(reason, state, rng, acc)

    def _stopped(self, batch: int, totals: StepTotals, clock: EpochClock) -> ev.Stopped:
        path = None
        train, wall = self._times(clock if batch else None)
        if self.state.step != self.saved_step:
            path = self._save("stop", batch, totals, clock=clock)
            if path is not None:  # the times a resume continues from: the checkpoint's
                train, wall = self.saved_times
        elif self.checkpointer is not None:
            path = self.checkpointer.last_path()
        return ev.Stopped(
            reason=self.controls.stop_reason,
            checkpoint=path,
            train_seconds=train,
            wall_seconds=wall,
            **self._position(batch),
        )
