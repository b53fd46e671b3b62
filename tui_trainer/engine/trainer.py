"""The training engine: one readable loop that emits events and obeys controls.

``Trainer.run()`` is blocking and runs in whatever thread calls it (the app runs it in
a thread worker; the headless command in the main thread). It never touches a UI: it
emits :mod:`tui_trainer.events` to its subscribers. Controls (pause, resume, stop,
save now) are thread-safe flags checked once per batch, because threads cannot be
killed.

The step path stays on the device: the loss and accuracy are accumulated in device
tensors (:mod:`.totals`) and read back only when a Step event is due
(``train.log_interval``, a few times a second), never per step. It also launches few ops
of its own beside the model's (batches are slices of blocks augmented at once, and the
totals cost four ops a step): on a GPU each op is a kernel launch.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import math
import shutil
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .. import checkpoints
from .. import events as ev
from .. import format as fmt
from ..checkpoints import CheckpointSaver
from ..config import RunConfig
from ..data import DeviceData, ImageData, LoadCancelled, load_data
from ..errors import UserError
from ..models import build_model, count_parameters, describe_model
from ..runs import Run
from .device import AUTOCAST_DTYPES, device_name, quiet_cuda_home_note, resolve_device, resolve_precision
from .lookahead import Lookahead
from .optim import build_optimizer, build_scheduler
from .totals import StepTotals
from .tta import predict

CONTROL_POLL_S = 0.25


class TrainingDiverged(Exception):
    """The loss became NaN or infinite."""


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
    ) -> None:
        """``resume`` is a loaded checkpoint (see :func:`checkpoints.load_checkpoint`);
        ``data`` skips loading (tests and the benchmark pass it in)."""
        self.config = config
        self.run_folder = run
        self.resume_state = resume
        self.subscribers: list[ev.Subscriber] = list(subscribers)
        self._data = data
        self._cache_dir = cache_dir
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._save_now = threading.Event()
        self.stop_reason = "stopped by user"
        self.error: BaseException | None = None  # what made the run fail, for the caller
        self.result: ev.Event | None = None
        self.epoch = 0  # completed epochs
        self.step = 0  # global steps done
        self.history: list[dict[str, Any]] = []
        # Commands from other processes (`tui-trainer watch`, `tui-trainer control`).
        self.inbox = run.control_inbox() if run is not None else None
        self._next_control_poll = 0.0

    # -- controls (any thread) ----------------------------------------------------------
    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self, reason: str = "stopped by user") -> None:
        self.stop_reason = reason
        self._stop.set()
        self._running.set()  # wake a paused loop so that it can stop

    def save_now(self) -> None:
        self._save_now.set()

    def _poll_controls(self) -> None:
        """Apply commands from the run folder's control channel, a few times a second."""
        now = time.monotonic()
        if self.inbox is None or now < self._next_control_poll:
            return
        self._next_control_poll = now + CONTROL_POLL_S
        for item in self.inbox.poll():
            command, command_id = item.get("command"), str(item.get("id", ""))
            action = {
                "pause": self.pause,
                "resume": self.resume,
                "save": self.save_now,
                "stop": lambda: self.stop("stopped from another process"),
            }.get(command)
            if action is not None:
                action()
            self.emit(
                ev.ControlAck(
                    command=str(command),
                    id=command_id,
                    ok=action is not None,
                    message="" if action else "unknown command",
                )
            )

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def subscribe(self, fn: ev.Subscriber) -> None:
        self.subscribers.append(fn)

    # -- events ---------------------------------------------------------------------------
    def emit(self, event: ev.Event) -> None:
        for fn in list(self.subscribers):
            fn(event)

    def _emit_safely(self, event: ev.Event) -> None:
        """For the end events: one broken subscriber must not keep the others from hearing."""
        for fn in list(self.subscribers):
            try:
                fn(event)
            except Exception:  # noqa: BLE001 - we are already reporting a failure
                pass

    def log(self, message: str, level: str = "info") -> None:
        self.emit(ev.Log(message=message, level=level))

    def _log_while_loading(self, message: str) -> None:
        """The data load's progress callback (every few seconds of a long decode): where a
        stop, from this process or from `tui-trainer control`, ends a load of minutes."""
        self._poll_controls()
        if self._stop.is_set():
            raise LoadCancelled
        self.log(message)

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> ev.Event:
        """Train to the end, a stop or a failure; returns the end event (also emitted)."""
        self._t0 = time.monotonic()
        try:
            self._setup()
            with frozen_heap():
                self.result = self._train()
        except LoadCancelled:  # stopped while the data loaded: nothing trained, nothing to save
            self.result = ev.Stopped(
                reason=self.stop_reason, epoch=self.epoch, step=self.step, checkpoint=self._last_checkpoint()
            )
        except Exception as exc:  # noqa: BLE001 - every failure becomes a Failed event
            self.error = exc
            self.result = self._failed(exc)
            self._emit_safely(self.result)
            return self.result
        self._emit_safely(self.result)
        return self.result

    def _failed(self, exc: BaseException) -> ev.Failed:
        if isinstance(exc, UserError):
            reason = str(exc)
        elif isinstance(exc, torch.OutOfMemoryError):
            batch = self.config.data.batch_size
            reason = (
                f"CUDA out of memory at batch size {batch}; try --set data.batch_size={max(1, batch // 2)} "
                f"(or precision bf16); resume with --resume"
            )
        elif isinstance(exc, TrainingDiverged):
            reason = str(exc)
        elif isinstance(exc, OSError) and exc.errno is not None:
            # Disk full, folder removed or made read-only: training stops; what was
            # written before stays valid (checkpoints are replaced atomically).
            where = f" {exc.filename}" if exc.filename else ""
            free = ""
            if exc.errno == errno.ENOSPC and exc.filename:
                with contextlib.suppress(OSError):
                    free = f" ({fmt.size(shutil.disk_usage(Path(exc.filename).parent).free)} free there)"
            reason = f"cannot write{where}: {exc.strerror}{free}; training stopped, earlier checkpoints are intact"
        else:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            try:
                self.log("".join(traceback.format_exception(exc)), level="error")
            except Exception:  # noqa: BLE001
                pass
        return ev.Failed(
            reason=reason,
            error=type(exc).__name__,
            epoch=self.epoch,
            step=self.step,
            checkpoint=self._last_checkpoint(),
        )

    def _last_checkpoint(self) -> str | None:
        """The run folder's last.pt, what a --resume continues from; None if there is none."""
        if self.run_folder is not None and (self.run_folder.checkpoints_dir / checkpoints.LAST).exists():
            return str((self.run_folder.checkpoints_dir / checkpoints.LAST).resolve())
        return None

    def _setup(self) -> None:
        cfg = self.config
        self.device = resolve_device(cfg.train.device)
        self.precision = resolve_precision(cfg.train.precision, self.device)
        if cfg.train.seed is not None:
            torch.manual_seed(cfg.train.seed)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

        if self._data is None:
            self.log(f"Loading {cfg.data.dataset} data…")
            self._data = load_data(cfg.data, self._cache_dir, log=self._log_while_loading)
        data = self._data
        self.channels_last = cfg.train.channels_last and self.device.type == "cuda"
        self.data = DeviceData(data, self.device, cfg.data, channels_last=self.channels_last)
        self.max_steps = cfg.train.max_steps_per_epoch
        full_batches = self.data.num_train // cfg.data.batch_size
        if (cfg.data.drop_last or cfg.train.compile) and full_batches:
            # A compiled model recompiles for a new batch shape: it skips the last partial batch too.
            self.max_steps = min(self.max_steps, full_batches) if self.max_steps else full_batches
        self.steps_per_epoch = self.data.steps_per_epoch(cfg.data.batch_size, self.max_steps)

        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(cfg.train.seed if cfg.train.seed is not None else torch.seed())

        model = build_model(cfg.model, data.info)
        if hasattr(model, "init_whitening") and self.resume_state is None:
            model.init_whitening(self._whitening_sample())
        self.model = model.to(
            self.device, memory_format=torch.channels_last if self.channels_last else torch.contiguous_format
        )
        self.optimizer = build_optimizer(self.model, cfg.optim)
        self.scheduler = build_scheduler(self.optimizer, cfg.schedule, cfg.train.epochs, self.steps_per_epoch)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.ema = None
        if cfg.train.ema > 0:
            self.ema = torch.optim.swa_utils.AveragedModel(
                self.model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.train.ema), use_buffers=True
            )
        self.lookahead = None
        if cfg.train.lookahead > 0:
            self.lookahead = Lookahead(
                cfg.train.lookahead,
                cfg.train.lookahead_every,
                cfg.train.lookahead_start,
                cfg.train.epochs * self.steps_per_epoch,
            )
        self.criterion = torch.nn.CrossEntropyLoss(label_smoothing=cfg.train.label_smoothing)
        self.saver = (
            CheckpointSaver(self.run_folder.checkpoints_dir, cfg.checkpoint.keep_last, cfg.checkpoint.keep_best)
            if self.run_folder is not None
            else None
        )
        self.best_acc: float | None = None
        self.time_to_target: float | None = None
        self.train_seconds = 0.0  # excludes pauses and evaluation
        self._resume_batch = 0
        self._epoch_totals = (0.0, 0.0, 0)  # loss sum, correct, seen: carried over a mid-epoch resume
        self._epoch_rng: torch.Tensor | None = None
        if self.resume_state is not None:
            self._restore(self.resume_state)

        if cfg.train.compile:
            quiet_cuda_home_note(self.device)
        self.forward = torch.compile(self.model) if cfg.train.compile else self.model
        self._compile_warmup = cfg.train.compile
        self.emit(
            ev.RunStarted(
                run_id=self.run_folder.id if self.run_folder else "",
                run_dir=str(self.run_folder.dir) if self.run_folder else "",
                preset=cfg.name,
                config=cfg.to_dict(),
                model_summary=describe_model(self.model),
                param_count=count_parameters(self.model),
                device=str(self.device),
                device_name=device_name(self.device),
                precision=self.precision,
                data_summary=data.source,
                epochs=cfg.train.epochs,
                steps_per_epoch=self.steps_per_epoch,
                start_epoch=self.epoch,
                start_step=self.step,
            )
        )
        if self.resume_state is not None:
            self.log(
                f"Resumed from {self.resume_state.get('path', 'checkpoint')} at epoch {self.epoch}, step {self.step}"
            )

    def _whitening_sample(self) -> torch.Tensor:
        """Normalized training images (CPU, float) for a patch-whitening first layer."""
        x = self._data.train_x[:5000].float() / 255
        mean = torch.tensor(self.data.mean or [0.0] * x.shape[1]).view(1, -1, 1, 1)
        std = torch.tensor(self.data.std or [1.0] * x.shape[1]).view(1, -1, 1, 1)
        return (x - mean) / std

    # -- checkpoints ----------------------------------------------------------------------
    def _state(self, in_epoch: bool, batch_in_epoch: int, totals: tuple[float, float, int]) -> dict[str, Any]:
        # Inside an epoch, resume replays the epoch from its start (same permutation and
        # augmentation draws) and skips the batches done; after an epoch the next one
        # starts from the generator as it is now.
        data_rng = self._epoch_rng if in_epoch else self.generator.get_state()
        rng: dict[str, Any] = {"torch": torch.get_rng_state(), "data_epoch": data_rng}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        info = self._data.info
        return {
            "format": checkpoints.FORMAT,
            "version": checkpoints.VERSION,
            "preset": self.config.name,
            "config": self.config.to_dict(),
            "classes": list(info.classes),
            "normalization": {"mean": list(self.data.mean or []), "std": list(self.data.std or [])},
            "model": self.model.state_dict(),
            "ema": self.ema.module.state_dict() if self.ema is not None else None,
            "lookahead": self.lookahead.state_dict() if self.lookahead is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "epoch": self.epoch,
            "step": self.step,
            "batch_in_epoch": batch_in_epoch,
            "epoch_totals": list(totals),
            "rng": rng,
            "metrics": self.history,
            "best_acc": self.best_acc,
            "train_seconds": self.train_seconds,
            "saved_at": time.time(),
        }

    def _restore(self, state: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(state["model"])
            if self.ema is not None and state.get("ema") is not None:
                self.ema.module.load_state_dict(state["ema"])
        except (RuntimeError, KeyError) as exc:
            info = self._data.info
            raise checkpoints.CheckpointError(
                f"{state.get('path', 'checkpoint')}: does not fit model {self.config.model.arch} on this data "
                f"({info.shape_text()}): {checkpoints.weights_mismatch(exc)}"
            ) from None
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except ValueError as exc:  # e.g. optim.norm_lr_scale changed the parameter groups
            raise checkpoints.CheckpointError(
                f"{state.get('path', 'checkpoint')}: its optimizer state does not fit this config's optimizer "
                f"({str(exc).splitlines()[0][:120]}); resume with the run's own optim settings"
            ) from None
        # The base lr may have been changed on resume (e.g. a lower lr after a NaN): the
        # optimizer state carries the old one, the config wins (times each group's scale).
        for group in self.optimizer.param_groups:
            group["initial_lr"] = self.config.optim.lr * group.get("lr_scale", 1.0)
        self.scheduler.base_lrs = [group["initial_lr"] for group in self.optimizer.param_groups]
        self.scheduler.load_state_dict({**state["scheduler"], "base_lrs": self.scheduler.base_lrs})
        self.scheduler.last_epoch = state["step"] - 1
        self.scheduler.step()  # sets the lr of the next step from the schedule
        if state.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])
        if self.lookahead is not None:
            self.lookahead.load_state_dict(state.get("lookahead"), self.device)
        self.epoch = int(state["epoch"])
        self.step = int(state["step"])
        self.history = list(state.get("metrics") or [])
        self.best_acc = state.get("best_acc")
        self.train_seconds = float(state.get("train_seconds") or 0.0)
        rng = state.get("rng") or {}
        if rng.get("torch") is not None:
            torch.set_rng_state(rng["torch"])
        if rng.get("cuda") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        self._resume_batch = int(state.get("batch_in_epoch") or 0)
        if rng.get("data_epoch") is not None:
            self.generator.set_state(rng["data_epoch"].to(self.generator.get_state().device))
        if self._resume_batch:
            loss_sum, correct, seen = state.get("epoch_totals") or (0.0, 0.0, 0)
            self._epoch_totals = (float(loss_sum), float(correct), int(seen))

    def _save(self, reason: str, acc: float | None, batch_in_epoch: int = 0, totals=(0.0, 0.0, 0)) -> str | None:
        if self.saver is None:
            return None
        mid_epoch = batch_in_epoch > 0
        path, size, best, removed = self.saver.save(
            self._state(reason in ("manual", "stop"), batch_in_epoch, totals),
            epoch=self.epoch + 1 if mid_epoch else self.epoch,
            acc=None if mid_epoch else acc,
            step=self.step if mid_epoch or reason != "epoch" else None,
        )
        self.emit(
            ev.CheckpointSaved(
                path=str(path),
                epoch=self.epoch,
                step=self.step,
                test_acc=None if mid_epoch else acc,
                size=size,
                best=best,
                reason=reason,
            )
        )
        for p in removed:  # after the save that made room: the log reads "saved X", then "pruned W"
            self.emit(ev.CheckpointRemoved(path=str(p)))
        self._last_saved_step = self.step
        return str(path)

    # -- the loop ---------------------------------------------------------------------------
    def _autocast(self):
        dtype = AUTOCAST_DTYPES.get(self.precision)
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    def _train(self) -> ev.Event:
        cfg = self.config
        epochs = cfg.train.epochs
        self._last_saved_step = self.step
        interval = cfg.train.log_interval
        aug, pad, bs = cfg.data.augment, cfg.data.crop_padding, cfg.data.batch_size
        dev = self.device

        while self.epoch < epochs:
            epoch = self.epoch + 1
            if self._resume_batch == 0:
                self._epoch_rng = self.generator.get_state()
            skip, self._resume_batch = self._resume_batch, 0
            # On the device: no host sync in the step path (a mid-epoch resume carries sums over).
            totals = StepTotals(dev, *self._epoch_totals, step=self.step)
            self._epoch_totals = (0.0, 0.0, 0)
            epoch_start = time.monotonic()
            paused_s = 0.0  # pauses and the compile warm-up: not training time
            epoch_images = 0  # trained by this process in this epoch (not carried over a resume)
            window_t = time.monotonic()
            window_images = 0
            next_emit = window_t + interval
            self.model.train()
            if hasattr(self.model, "start_epoch"):
                self.model.start_epoch(epoch - 1)  # e.g. the speedrun net freezes its whitening bias

            batches = self.data.train_batches(
                bs,
                self.generator,
                aug,
                pad,
                self.max_steps,
                crop_fill=cfg.data.crop_fill,
                flip_mode=cfg.data.flip_mode,
                epoch=epoch - 1,
                start=skip,  # the epoch's draws, from the batch a mid-epoch checkpoint stopped at
            )
            for batch, (x, y) in enumerate(batches, start=skip):
                self._poll_controls()
                if self._stop.is_set():
                    return self._stopped(batch, totals.epoch_totals())
                if not self._running.is_set():
                    paused_s += self._wait_while_paused(
                        lambda: self._save("manual", None, batch, totals.epoch_totals())
                    )
                    window_t = time.monotonic()
                    window_images = 0
                    if self._stop.is_set():
                        return self._stopped(batch, totals.epoch_totals())

                if self._compile_warmup:
                    warm_t = time.monotonic()
                with self._autocast():
                    out = self.forward(x)
                    loss = self.criterion(out, y)
                self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()
                if cfg.train.grad_clip > 0:
                    self.scaler.unscale_(self.optimizer)
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.train.grad_clip)
                self.scaler.step(self.optimizer)
                self.scaler.update()
                self.scheduler.step()
                self.step += 1
                if self.ema is not None:
                    self.ema.update_parameters(self.model)
                if self.lookahead is not None:
                    self.lookahead.after_step(self.model, self.step, epoch - 1)

                n = y.shape[0]
                totals.add(loss, out, y)
                if self._compile_warmup:
                    # Compilation happens in the first step: time it on its own (one sync, once).
                    loss.item()
                    warm = time.monotonic() - warm_t
                    paused_s += warm
                    window_t = time.monotonic()
                    self._compile_warmup = False
                    self.log(f"torch.compile warm-up (first step): {warm:.1f} s, not counted in images/s")
                else:
                    window_images += n
                    epoch_images += n

                now = time.monotonic()
                if now >= next_emit or batch + 1 == self.steps_per_epoch:
                    # The one readback: a few times a second at most.
                    mean_loss = totals.window_mean()
                    self._check_finite(totals, epoch)
                    self.emit(
                        ev.Step(
                            epoch=epoch,
                            step=self.step,
                            batch=batch + 1,
                            batches=self.steps_per_epoch,
                            loss=mean_loss,
                            lr=self.scheduler.get_last_lr()[0],
                            images_per_s=window_images / max(1e-9, now - window_t),
                        )
                    )
                    window_images = 0
                    window_t = now
                    next_emit = now + interval
                if self._save_now.is_set():
                    self._save_now.clear()
                    self._save("manual", None, batch + 1, totals.epoch_totals())

            self._check_finite(totals, epoch)
            if self.lookahead is not None:
                self.lookahead.end_epoch(self.model)
            train_time = time.monotonic() - epoch_start - paused_s
            self.train_seconds += train_time
            test_loss, test_acc = self.evaluate()
            self.epoch = epoch
            seconds = time.monotonic() - epoch_start - paused_s
            best = self.best_acc is None or test_acc > self.best_acc
            if best:
                self.best_acc = test_acc
            target = cfg.meta.target_acc
            reached = target is not None and self.time_to_target is None and test_acc >= target
            if reached:
                self.time_to_target = self.train_seconds
            loss_sum, correct, seen = totals.epoch_totals()
            end = ev.EpochEnd(
                epoch=epoch,
                epochs=epochs,
                step=self.step,
                train_loss=loss_sum / max(1, seen),
                train_acc=100.0 * correct / max(1, seen),
                test_loss=test_loss,
                test_acc=test_acc,
                lr=self.scheduler.get_last_lr()[0],
                seconds=seconds,
                images_per_s=epoch_images / max(1e-9, train_time),
                best=best,
                train_seconds=self.train_seconds,
            )
            self.history.append({k: v for k, v in end.to_dict().items() if k not in ("event", "time")})
            self.emit(end)
            if reached:  # after the epoch's row, which it speaks of
                self.log(
                    f"Reached {target:.2f}% test accuracy after {self.train_seconds:.1f} s of training (epoch {epoch})"
                )
            every = cfg.checkpoint.every
            if (every > 0 and epoch % every == 0) or epoch == epochs:
                self._save("epoch" if epoch < epochs else "final", test_acc)

        return ev.Finished(
            epochs=self.epoch,
            best_acc=self.best_acc,
            final_acc=self.history[-1]["test_acc"] if self.history else None,
            seconds=time.monotonic() - self._t0,
            time_to_target=self.time_to_target,
            target_acc=cfg.meta.target_acc,
            train_seconds=self.train_seconds,
        )

    def _check_finite(self, totals: StepTotals, epoch: int) -> None:
        bad = totals.nonfinite_step()
        if bad >= 0:
            batch = bad - (epoch - 1) * self.steps_per_epoch
            raise TrainingDiverged(
                f"loss became NaN/inf at epoch {epoch}, step {bad} (batch {batch}); the last good checkpoint is "
                f"intact: resume it with a lower lr, e.g. --set optim.lr={self.config.optim.lr / 10:g}"
            )

    def _wait_while_paused(self, save: Callable[[], Any]) -> float:
        """Block until resumed or stopped; "save now" still works while paused."""
        t = time.monotonic()
        self.emit(ev.Paused(epoch=self.epoch + 1, step=self.step))
        while not self._running.wait(0.1):
            self._poll_controls()
            if self._save_now.is_set():
                self._save_now.clear()
                save()
        if not self._stop.is_set():
            self.emit(ev.Resumed(epoch=self.epoch + 1, step=self.step))
        return time.monotonic() - t

    def _stopped(self, batch: int, totals: tuple[float, float, int]) -> ev.Stopped:
        path = None
        if self.step != self._last_saved_step:
            path = self._save("stop", None, batch, totals)
        elif self.saver is not None and (self.saver.folder / checkpoints.LAST).exists():
            path = str((self.saver.folder / checkpoints.LAST).resolve())
        return ev.Stopped(reason=self.stop_reason, epoch=self.epoch, step=self.step, checkpoint=path)

    @torch.inference_mode()
    def evaluate(self) -> tuple[float, float]:
        """Test loss and accuracy (%), with the EMA weights and TTA when configured."""
        model = self.ema.module if self.ema is not None else self.model
        was_training = model.training
        model.eval()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device)
        n = 0
        for x, y in self.data.test_batches(self.config.data.eval_batch_size):
            with self._autocast():
                logits = predict(model, x, self.config.train.tta_flip, self.config.train.tta_translate)
            loss_sum += F.cross_entropy(logits.float(), y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
            n += y.shape[0]
        model.train(was_training)
        if n == 0:
            return math.nan, math.nan
        return loss_sum.item() / n, 100.0 * correct.item() / n
