"""`tui-trainer bench`: images/s of the same model, batch and optimizer three ways,
in alternating rounds so that drift (heat, other load) hits all of them alike:

  plain   the source tutorials' loop: a torchvision data set with PIL transforms,
          DataLoader(num_workers=0), fp32, ``loss.item()`` after every step;
  engine  tui_trainer's engine, headless (device-resident data, batched augmentation);
  app     the engine with the Textual dashboard running (headless Textual).

Each measurement times ``steps`` steps after ``warmup`` steps; the engine is timed
between its own Step events, which follow a device sync, so no sync is added to its
step path. The median of the rounds is reported.

Each measurement runs in a fresh process, laid out as the real thing is: ``engine``
trains in the main thread, as `tui-trainer train --headless` does; ``app`` loads its
data and trains in the app's worker thread, as `tui-trainer train` does, with the main
thread running Textual only. Measured in one process instead, the app's worker was a
second OpenMP master beside the main thread, and libgomp, seeing more OpenMP threads
than cores, cut its spin-waits short: on two cores that halved the app's images/s, a
cost of the harness (BENCHMARKS.md), not of the app.

The core measures ``plain`` and ``engine`` itself (:data:`CORE_LOOPS`); the ``app`` leg
is the app's (``tui_trainer.app.bench.app_loop``), handed in by the command line, so
this module never imports the app or textual: the bench runs where they are absent.

With ``--devices N`` the bench also measures ``engine_devices``: the engine in the N
processes that ``train.devices`` asks for, started as a run on several devices is
(:func:`devices_variant`), and reports the scaling efficiency, images/s at N over N
times images/s at one process.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import events as ev
from . import format as fmt
from .config import RunConfig
from .data import ImageData, load_data
from .engine.device import device_name, resolve_device
from .engine.optim import build_optimizer
from .errors import ConfigError, UserError, one_line
from .models import build_model

VARIANTS = ("plain", "engine", "app")  # the result's columns, in the order they are shown
DEVICES = "engine_devices"  # --devices N: the engine in N processes (its column, beside VARIANTS')

# One variant's images/s: (config, steps, warmup, cache) -> images/s. Run in a child
# process started with "spawn", so it must be a module-level function (pickled by name).
Loop = Callable[[RunConfig, int, int, Path | None], float]


@dataclass
class BenchResult:
    preset: str
    device: str
    device_name: str
    batch_size: int
    steps: int
    rounds: int
    images_per_s: dict[str, float]  # median per variant
    samples: dict[str, list[float]]
    processes: int | None = None  # --devices: the processes of the engine_devices variant

    def ratios(self) -> dict[str, float]:
        ips = self.images_per_s
        out = {}
        if ips.get("plain") and ips.get("engine"):
            out["engine_vs_plain"] = ips["engine"] / ips["plain"]
        if ips.get("engine") and ips.get("app"):
            out["app_vs_engine"] = ips["app"] / ips["engine"]
        if self.processes and ips.get("engine") and ips.get(DEVICES):
            out["scaling_efficiency"] = ips[DEVICES] / (self.processes * ips["engine"])
        return out

    def to_json(self) -> dict[str, Any]:
        devices = (
            {} if self.processes is None else {DEVICES: self.images_per_s.get(DEVICES), "processes": self.processes}
        )
        return {
            **{k: self.images_per_s.get(k) for k in VARIANTS},
            **devices,
            **self.ratios(),
            "preset": self.preset,
            "device": self.device,
            "device_name": self.device_name,
            "batch_size": self.batch_size,
            "steps": self.steps,
            "rounds": self.rounds,
            "samples": self.samples,
        }


# -- (a) the tutorials' loop --------------------------------------------------------------


class _PilTensorDataset(torch.utils.data.Dataset):
    """uint8 tensors served as PIL images, for data sets that have no files (digits)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform) -> None:
        self.x, self.y, self.transform = x, y, transform

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        from torchvision.transforms.functional import to_pil_image

        return self.transform(to_pil_image(self.x[i])), int(self.y[i])


def _tutorial_dataset(config: RunConfig, data: ImageData, cache: Path | None):
    """The training set as the tutorials read it: files decoded by PIL on every access."""
    import torchvision
    from torchvision import transforms as T

    from . import paths
    from .data.archives import extract_archive, is_archive
    from .data.imagefolder import scan_imagefolder

    size = data.info.image_size
    steps = []
    if "crop" in config.data.augment and config.data.crop_padding > 0:
        fill = "reflect" if config.data.crop_fill == "reflect" else "constant"
        steps.append(T.RandomCrop(size, padding=config.data.crop_padding, padding_mode=fill))
    if "hflip" in config.data.augment:
        steps.append(T.RandomHorizontalFlip())
    steps.append(T.ToTensor())
    if config.data.normalize != "none":
        mean = data.mean if config.data.normalize == "auto" else tuple(config.data.mean)
        std = data.std if config.data.normalize == "auto" else tuple(config.data.std)
        steps.append(T.Normalize(mean, std))
    transform = T.Compose(steps)
    dataset, root = config.data.dataset, config.data.root
    if dataset == "imagefolder":
        assert root is not None  # the config requires data.root for imagefolder (config.py)
        folder = Path(root).expanduser().resolve()
        if is_archive(folder):
            folder = extract_archive(folder, cache or paths.cache_dir())
        return torchvision.datasets.ImageFolder(str(scan_imagefolder(folder).root / "train"), transform=transform)
    if dataset == "cifar10" and root:
        try:
            return torchvision.datasets.CIFAR10(root, train=True, transform=transform)
        except RuntimeError:
            pass  # a root of another layout: fall back to the tensors, through PIL
    return _PilTensorDataset(data.train_x, data.train_y, transform)


def plain_loop(config: RunConfig, data: ImageData, steps: int, warmup: int, cache: Path | None = None) -> float:
    device = resolve_device(config.train.device)
    torch.manual_seed(config.train.seed or 0)
    model = build_model(config.model, data.info).to(device)
    optimizer = build_optimizer(model, config.optim)
    criterion = torch.nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(
        _tutorial_dataset(config, data, cache), batch_size=config.data.batch_size, shuffle=True, num_workers=0
    )
    model.train()
    batches = iter(loader)
    running_loss = 0.0
    images = 0
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            images = 0
        try:
            x, y = next(batches)
        except StopIteration:
            batches = iter(loader)
            x, y = next(batches)
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()  # as the tutorials did: a host sync every step
        images += y.shape[0]
    return images / (time.perf_counter() - t0)


# -- (b) and (c): the engine ------------------------------------------------------------


class StepTimer:
    """Times the engine between its Step events (each follows a device sync), from the
    first one after the warm-up steps to the last one."""

    def __init__(self, warmup: int, config: RunConfig) -> None:
        self.warmup, self.batch_size = warmup, config.data.batch_size
        self.log_interval = config.train.log_interval
        self.marks: list[tuple[int, float]] = []

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.Step):
            self.marks.append((event.step, time.perf_counter()))

    def read_back(self, events: list[ev.Event]) -> None:
        """The Step events of another process (a run folder's events.jsonl), at the
        times they were made: the same marks, taken where the events were."""
        self.marks += [(e.step, e.time) for e in events if isinstance(e, ev.Step)]

    def images_per_s(self) -> float:
        if len(self.marks) < 2:
            # Too few steps for the time between Step events: bad input, said as such.
            raise ConfigError(
                f"--steps: the engine trained them in under train.log_interval ({fmt.seconds(self.log_interval)}, "
                "the time between its timing marks), too short to time; raise --steps"
            )
        after = [m for m in self.marks[:-1] if m[0] >= self.warmup]
        first = after[0] if after else self.marks[0]  # a short run: time from its first event
        last = self.marks[-1]
        return (last[0] - first[0]) * self.batch_size / (last[1] - first[1])


def bench_config(config: RunConfig, data: ImageData, steps: int, warmup: int) -> RunConfig:
    """Enough epochs for warmup+steps batches, a tiny evaluation, no checkpoints. The
    preset's own log_interval stays: the app must render at its real rate for c/b."""
    total = warmup + steps
    per_epoch = math.ceil(data.num_train / config.data.batch_size)
    epochs, cap = (1, total) if total <= per_epoch else (math.ceil(total / per_epoch), 0)
    return config.with_overrides(
        [
            f"train.epochs={epochs}",
            f"train.max_steps_per_epoch={cap}",
            f"data.test_limit={config.data.batch_size}",
            "checkpoint.every=0",
        ]
    )


def engine_loop(config: RunConfig, data: ImageData, steps: int, warmup: int) -> float:
    """As `tui-trainer train --headless` trains: with a run folder, its recorder writing
    the events and status files, and the control channel polled (the app variant has
    them too, so c/b compares the UI alone)."""
    from .engine import Trainer
    from .runs import Run

    timer = StepTimer(warmup, config)
    config = bench_config(config, data, steps, warmup)
    with tempfile.TemporaryDirectory(prefix="tui-trainer-bench-") as tmp:
        run = Run.create(Path(tmp), config)
        recorder = run.recorder()
        try:
            end = Trainer(config, run=run, data=data, subscribers=[recorder, timer]).run()
        finally:
            recorder.close()
    if isinstance(end, ev.Failed):
        raise RuntimeError(end.reason)
    return timer.images_per_s()


def devices_loop(config: RunConfig, data: ImageData, steps: int, warmup: int, cache: Path | None = None) -> float:
    """The engine in the ``train.devices`` processes of ``config``, started as a run on
    several devices is: `tui-trainer train --headless --run-dir RUN` in a child process,
    whose launcher starts the ranks with torchrun's ``elastic_launch``. Timed between
    rank 0's Step events in the run's events.jsonl; their step counts global batches
    (every rank's part), so the figure is the run's images/s, all ranks together."""
    from .runs import Run

    timer = StepTimer(warmup, config)
    config = bench_config(config, data, steps, warmup)
    env = dict(os.environ)
    if cache is not None:
        env["TUI_TRAINER_CACHE"] = str(cache)
    with tempfile.TemporaryDirectory(prefix="tui-trainer-bench-") as tmp:
        run = Run.create(Path(tmp), config)
        cmd = [sys.executable, "-m", "tui_trainer", "train", "--headless", "--run-dir", str(run.dir)]
        # Rank 0 prints as `train --headless` does: kept from this command's output (--json).
        done = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        events, _ = run.read_events()
        finished = run.status().get("status") == "finished"
    failed = next((e for e in events if isinstance(e, ev.Failed)), None)
    # The command's own lines: "tui-trainer: error: ..." (bad input, or a rank that died).
    said = [
        line.removeprefix("tui-trainer: ").removeprefix("error: ")
        for line in done.stderr.splitlines()
        if line.startswith("tui-trainer: ")
    ]
    if done.returncode == 2:
        raise UserError(said[-1] if said else done.stderr.strip()[-300:])
    # A run that finished is measured whatever the exit status: a rank that crashes in its
    # teardown after the run's end (gloo's "terminate called without an active
    # exception", now and then) makes the launcher's status non-zero, not its steps slower.
    if failed is not None or not finished:
        lines = done.stderr.strip().splitlines()
        reason = said[-1] if said else failed.reason if failed else lines[-1] if lines else ""
        raise RuntimeError(reason or f"`tui-trainer train` ended with exit status {done.returncode}")
    timer.read_back(events)
    return timer.images_per_s()


def devices_variant(config: RunConfig, steps: int, warmup: int, cache: Path | None = None) -> float:
    """The ``engine_devices`` variant as a :data:`Loop` (``--devices N``)."""
    return devices_loop(config, load_data(config.data, cache), steps, warmup, cache)


def plain_variant(config: RunConfig, steps: int, warmup: int, cache: Path | None = None) -> float:
    """The ``plain`` variant as a :data:`Loop`: the data loaded, then the tutorials' loop."""
    return plain_loop(config, load_data(config.data, cache), steps, warmup, cache)


def engine_variant(config: RunConfig, steps: int, warmup: int, cache: Path | None = None) -> float:
    """The ``engine`` variant as a :data:`Loop`: the data loaded, then the headless engine."""
    return engine_loop(config, load_data(config.data, cache), steps, warmup)


CORE_LOOPS: dict[str, Loop] = {"plain": plain_variant, "engine": engine_variant, DEVICES: devices_variant}


def measure_here(
    variant: str, loop: Loop, config: RunConfig, steps: int, warmup: int, cache: Path | None = None
) -> float:
    """Images/s of a ``loop`` that trains in fresh processes of its own (:data:`DEVICES`),
    called in this one; its errors said as :func:`measure` says them."""
    try:
        return loop(config, steps, warmup, cache)
    except UserError as exc:
        raise UserError(f"{variant}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - said in one line, as a measurement's process would
        raise RuntimeError(f"{variant}: {one_line(exc)}") from None


def measure(variant: str, loop: Loop, config: RunConfig, steps: int, warmup: int, cache: Path | None = None) -> float:
    """Images/s of ``loop``, measured in a fresh process (see the module's note);
    ``variant`` names it in errors."""
    ctx = multiprocessing.get_context("spawn")  # fork would copy this process's threads' state
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_measure_in_child, daemon=True, args=(loop, config.to_dict(), config.name, steps, warmup, cache, send)
    )
    child.start()
    send.close()
    try:
        status, value = receive.recv()
    except EOFError:
        child.join()
        raise RuntimeError(
            f"the {variant} measurement's process ended without a result (exit code {child.exitcode})"
        ) from None
    child.join()
    if status == "user-error":
        raise UserError(f"{variant}: {value}")
    if status != "ok":
        raise RuntimeError(f"{variant}: {value}")
    return value


def _measure_in_child(
    loop: Loop, config_dict: dict[str, Any], name: str, steps: int, warmup: int, cache: Path | None, send: Any
) -> None:
    try:
        send.send(("ok", loop(RunConfig.from_dict(config_dict, name), steps, warmup, cache)))
    except UserError as exc:  # bad input: the parent shows it as such, without a type name
        send.send(("user-error", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - the parent says what went wrong
        send.send(("error", one_line(exc)))
    finally:
        send.close()


def one_process(config: RunConfig) -> RunConfig:
    """The config of the variants in one process beside ``--devices``: on the first GPU
    the devices name (``[2, 5]``: cuda:2, the ranks' kind of GPU; plain ``cuda`` would
    be cuda:0, which the list may not even hold)."""
    single = config.with_value("train.devices", 1)
    devices = config.train.devices
    if isinstance(devices, list) and devices and config.train.device in ("auto", "cuda"):
        single = single.with_value("train.device", f"cuda:{devices[0]}")
    return single


def run_bench(
    config: RunConfig,
    loops: Mapping[str, Loop],
    steps: int = 50,
    warmup: int = 5,
    rounds: int = 3,
    cache: Path | None = None,
    progress: Callable[[str], None] = lambda s: None,
    processes: int | None = None,
) -> BenchResult:
    """Each of ``loops`` (variant name -> its :data:`Loop`, in the order to run them)
    ``rounds`` times, alternating. With ``processes`` (``--devices``), ``loops`` has
    :data:`DEVICES`, which trains in ``config``'s ``train.devices`` processes; the other
    variants train in one."""
    single = config if processes is None else one_process(config)
    device = resolve_device(single.train.device)
    progress(f"loading {config.data.dataset} data")
    # Once here: bad data options fail before any measurement, and the measurements
    # processes hit the cache this fills.
    load_data(config.data, cache, log=progress)
    samples: dict[str, list[float]] = {v: [] for v in loops}
    for r in range(rounds):
        for v, loop in loops.items():  # alternating, so that drift (heat, other load) hits all alike
            how = measure_here if v == DEVICES else measure  # DEVICES starts its processes itself
            ips = how(v, loop, config if v == DEVICES else single, steps, warmup, cache)
            samples[v].append(ips)
            progress(f"round {r + 1}/{rounds} {v}: {fmt.throughput(ips)}")
    return BenchResult(
        preset=config.name,
        device=str(device),
        device_name=device_name(device),
        batch_size=config.data.batch_size,
        steps=steps,
        rounds=rounds,
        images_per_s={v: statistics.median(s) for v, s in samples.items()},
        samples=samples,
        processes=processes,
    )
