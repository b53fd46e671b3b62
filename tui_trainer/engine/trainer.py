"""The training engine's front: run a config to its end, emit events, obey controls.

``Trainer.run()`` is blocking and runs in whatever thread calls it (the app runs it in
a thread worker; the headless command in the main thread). It never touches a UI: it
emits :mod:`tui_trainer.events` to its subscribers, and every failure becomes a Failed
event with one line for the user. Controls (pause, resume, stop, save now) are
thread-safe flags (:mod:`.controls`) checked once per batch, because threads cannot
be killed.

The pieces, in the order a run uses them:

- :mod:`.setup`: the config becomes the parts (device, data on it, model, optimizer,
  schedule, precision, weight averages);
- :mod:`.checkpointing`: a resume restores a checkpoint into them and yields the
  :class:`~.state.TrainingState` to continue from; the policy of when to save;
- :mod:`.loop`: the epochs, each a loop of :func:`.step.train_step` with controls
  between batches, then :mod:`.evaluation` and the EpochEnd event;
- :mod:`.failures`: what a user reads when it goes wrong;
- :mod:`.distributed`: with several ranks, each runs a Trainer of its own on its part
  of the data; rank 0's alone has the run folder and the subscribers that write.

The step path stays on the device: the loss and accuracy are accumulated in device
tensors (:mod:`.totals`) and read back only when a Step event is due
(``train.log_interval``, a few times a second), never per step.
"""

from __future__ import annotations

import contextlib
import gc
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .. import events as ev
from .. import trackers
from ..config import RunConfig
from ..data import ImageData, LoadCancelled, load_data
from ..models import count_parameters, describe_model
from ..runs import Run
from ..wording import resumed_at
from .checkpointing import Checkpointer, last_checkpoint, restore
from .controls import STOPPED_BY_USER, Controls
from .device import device_name, device_uuid
from .distributed import SOLO, World
from .failures import failure_reason, is_expected
from .loop import TrainingLoop
from .setup import TrainingParts, build_parts
from .state import TrainingState


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep Python's cyclic garbage collector off what already exists while training.

    A full collection walks every live container object: the model, the data's
    bookkeeping and, under the app, every widget and style of the screen (about
    470,000 objects), while the thread that triggered it (usually the training loop,
    the one allocating) holds the GIL. What exists when training starts lives until
    it ends: ``gc.freeze`` moves it out of the collector's scans (CPython's remedy for
    long-lived heaps); what the loop itself allocates is still collected.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Trainer:
    def __init__(
        self,
        config: RunConfig,
        *,
        run: Run | None = None,
        resume: dict[str, Any] | None = None,
        subscribers: Iterable[ev.Subscriber] = (),
        data: ImageData | None = None,
        cache_dir: Path | None = None,
        world: World = SOLO,
    ) -> None:
        """``resume`` is a loaded checkpoint (see :func:`checkpoints.load_checkpoint`);
        ``data`` skips loading (tests and the benchmark pass it in)."""
        self.config = config
        self.run_folder = run
        self.resume_state = resume
        self.subscribers: list[ev.Subscriber] = list(subscribers)
        if run is not None:  # rank 0's: the trackers (TensorBoard, ...) write where the run folder is
            # First: what one says of a failure (a warning) reaches the run's log before
            # the event it failed on, even the run's end, after which the log is closed.
            self.subscribers[:0] = trackers.for_run(run.dir, config, warn=lambda m: self.log(m, "warning"))
        self._images = data
        self._cache_dir = cache_dir
        self.world = world
        # Commands from this process's threads, and from others through the run folder.
        self.controls = Controls(run.control_inbox() if run is not None else None, self.emit)
        self.state = TrainingState()  # the restored one replaces it on a resume
        self.parts: TrainingParts | None = None  # built by run(), kept for tests and benchmarks
        self.error: BaseException | None = None  # what made the run fail, for the caller
        self.result: ev.Event | None = None
        self._loop: TrainingLoop | None = None  # where a failure happened

    # -- controls (any thread) -------------------------------------------------------------
    def pause(self) -> None:
        self.controls.pause()

    def resume(self) -> None:
        self.controls.resume()

    def stop(self, reason: str = STOPPED_BY_USER) -> None:
        self.controls.stop(reason)

    def save_now(self) -> None:
        self.controls.save_now()

    @property
    def paused(self) -> bool:
        return self.controls.paused

    @property
    def stop_reason(self) -> str:
        return self.controls.stop_reason

    # -- events ----------------------------------------------------------------------------
    def subscribe(self, fn: ev.Subscriber) -> None:
        self.subscribers.append(fn)

    def emit(self, event: ev.Event) -> None:
        for fn in list(self.subscribers):
            fn(event)

    def _emit_safely(self, event: ev.Event) -> None:
        """For the end events: one broken subscriber must not keep the others from hearing."""
        for fn in list(self.subscribers):
            with contextlib.suppress(Exception):
                fn(event)

    def log(self, message: str, level: str = "info") -> None:
        self.emit(ev.Log(message=message, level=level))

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> ev.Event:
        """Train to the end, a stop or a failure; returns the end event (also emitted)."""
        try:
            loop = self._prepare()
            with frozen_heap():
                self.result = loop.run()
        except LoadCancelled:  # stopped while the data loaded: nothing trained, nothing to save
            self.result = self._ended(ev.Stopped, reason=self.stop_reason)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a Failed event
            self.error = exc
            if not is_expected(exc):
                with contextlib.suppress(Exception):
                    self.log("".join(traceback.format_exception(exc)), level="error")
            batch = self.config.data.batch_size
            self.result = self._ended(ev.Failed, reason=failure_reason(exc, batch), error=type(exc).__name__)
        self._emit_safely(self.result)
        return self.result

    def _ended(self, kind: type[ev.Stopped] | type[ev.Failed], **fields: Any) -> ev.Event:
        s, loop = self.state, self._loop
        if loop is not None:  # a failure in training: where it was, and the times so far
            train, wall = loop.times_now()
            fields.update(loop.position_now(), train_seconds=train, wall_seconds=wall)
        else:  # before the first step: the checkpoint's position (a restored state's)
            fields.update(epoch=s.epoch, step=s.step, train_seconds=s.train_seconds, wall_seconds=s.wall_seconds)
        return kind(checkpoint=last_checkpoint(self.run_folder), **fields)

    def _prepare(self) -> TrainingLoop:
        """Load the data, build the parts, restore a checkpoint: the loop ready to run."""
        images = self._load_images_in_turn()
        parts = self.world.together("setting up the model", lambda: self._build(images))
        assert isinstance(parts, TrainingParts)
        checkpointer = Checkpointer(self.run_folder, parts, self.emit) if self.run_folder is not None else None
        loop = self._loop = TrainingLoop(parts, self.state, self.controls, checkpointer, self.emit)
        started = self._started(parts, images)
        self.emit(started)
        if self.resume_state is not None:
            where = self.resume_state.get("path", "checkpoint")
            self.log(f"Resumed from {where} at {resumed_at(started)}")
        return loop

    def _build(self, images: ImageData) -> TrainingParts:
        parts = self.parts = build_parts(self.config, images, fresh=self.resume_state is None, world=self.world)
        if self.resume_state is not None:
            self.state = restore(parts, self.resume_state)
        return parts

    def _load_images_in_turn(self) -> ImageData:
        """With several ranks, each machine's local rank 0 loads first (it fills the data
        cache), then the others (from the cache): not eight decodes of one archive at once."""
        world = self.world
        if not world.distributed:
            return self._load_images()
        first = world.local_rank == 0
        world.together("loading the data", lambda: self._load_images() if first else None)
        images = world.together("loading the data", self._load_images)
        assert isinstance(images, ImageData)
        return images

    def _load_images(self) -> ImageData:
        if self._images is None:
            self.log(f"Loading {self.config.data.dataset} data…")
            self._images = load_data(self.config.data, self._cache_dir, log=self._log_while_loading)
        return self._images

    def _log_while_loading(self, message: str) -> None:
        """The data load's progress callback (every few seconds of a long decode): where a
        stop, from this process or from `tui-trainer control`, ends a load of minutes."""
        self.controls.poll()
        if self.controls.stopping:
            raise LoadCancelled
        self.log(message)

    def _started(self, parts: TrainingParts, images: ImageData) -> ev.RunStarted:
        run, cfg = self.run_folder, self.config
        return ev.RunStarted(
            run_id=run.id if run else "",
            run_dir=str(run.dir) if run else "",
            preset=cfg.name,
            config=cfg.to_dict(),
            model_summary=describe_model(parts.model),
            param_count=count_parameters(parts.model),
            device=str(parts.device),
            device_name=device_name(parts.device),
            precision=parts.precision,
            data_summary=images.source,
            epochs=cfg.train.epochs,
            steps_per_epoch=parts.steps_per_epoch,
            start_epoch=self.state.epoch,
            start_step=self.state.step,
            start_epoch_step=self.state.batch_in_epoch,
            train_seconds=self.state.train_seconds,
            wall_seconds=self.state.wall_seconds,
            world_size=self.world.size,
            device_uuids=[u for u in self.world.gather_strings(device_uuid(parts.device)) if u],
        )
