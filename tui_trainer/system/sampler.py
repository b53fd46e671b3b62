"""``system.jsonl``: the machine's figures every few seconds while a run trains.

A thread of its own samples (never the training loop): each GPU of the run by UUID
(:mod:`.nvml`: utilisation, memory, power, temperature), the host's CPU and memory and
the training process's resident memory through psutil (the maintained cross-platform
library for them; /proc would be Linux alone). What cannot be read is left out: no
NVML, no GPU, a figure the driver does not support. Each sample also has the run's
global ``step`` when it was taken (the latest Step event's; before one, the steps done
when the attempt started: 0 in a new run) and that Step's ``data_share``
(:class:`.events.Step`) when known. One JSON
object a line, appended and flushed as sampled, so `watch` and the app tail it like
events.jsonl; listeners (``on_sample``, e.g. TensorBoard) get each sample too.

A GPU that sits under half busy for a minute while the run trains is flagged once
(:class:`UnderuseFlag`): in the sample (``"flag": "gpu_underused"``), as a warning in
the run's log, and to a listener (the notifier's alert).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .. import events as ev
from ..config import LogConfig
from ..errors import one_line
from .nvml import NVML

INTERVAL_S = LogConfig().system_interval  # the config's default: one place for it
SYSTEM = "system.jsonl"
UNDERUSED_PCT = 50  # a GPU busier than this is not "sitting idle"
UNDERUSED_S = 60.0  # for this long, while training, before it is said
UNDERUSED = "gpu_underused"
HOST_BOUND_SHARE = 0.2  # of the time preparing batches: above it, the data may well be what the GPU waits for

Sample = dict[str, Any]


def interval_of(config: dict[str, Any]) -> float:
    """A run's seconds between samples, from its config as RunStarted carries it (an
    older run's has no log.system_interval: the default)."""
    log = config.get("log")
    value = log.get("system_interval") if isinstance(log, dict) else None
    return float(value) if isinstance(value, int | float) and value > 0 else INTERVAL_S


def underuse_message(threshold: float, seconds: float, data_share: float | None = None) -> str:
    """What the flag says: the host's share of time preparing batches, when known, tells
    an input-bound run from one whose steps are too small for the GPU."""
    head = f"GPU under {threshold:g}% busy for {seconds:.0f} s while training: input-bound? "
    advice = "data loading or augmentation not keeping up; a larger batch or fewer host-side steps may help"
    if data_share is None:
        return f"{head}({advice})"
    share = f"{data_share:.0%} of the time preparing batches"
    if data_share >= HOST_BOUND_SHARE:
        return f"{head}({share}: {advice})"
    return f"{head}(only {share}: more likely steps too small for this GPU; a larger batch may help)"


class UnderuseFlag:
    """Says once when every GPU of the run sat under UNDERUSED_PCT busy for UNDERUSED_S
    of training (a pause, or a GPU figure NVML cannot read, restarts the count); again
    only after a GPU was busy in between."""

    def __init__(self, threshold: float = UNDERUSED_PCT, window_s: float = UNDERUSED_S) -> None:
        self.threshold, self.window_s = threshold, window_s
        self.since: float | None = None  # when the GPUs last went under, while training
        self.said = False

    def feed(
        self, when: float, utilisations: list[int | None], training: bool, data_share: float | None = None
    ) -> str | None:
        known = [u for u in utilisations if u is not None]
        under = training and bool(known) and len(known) == len(utilisations) and max(known) < self.threshold
        if not under:
            if known and max(known) >= self.threshold:
                self.said = False
            self.since = None
            return None
        if self.since is None:
            self.since = when
        if self.said or when - self.since < self.window_s:
            return None
        self.said = True
        return underuse_message(self.threshold, when - self.since, data_share)


def host_figures() -> dict[str, Any]:
    """Host CPU % (since the previous call), memory, and this process's RSS."""
    import psutil

    memory = psutil.virtual_memory()
    return {
        "cpu_percent": psutil.cpu_percent(interval=None),
        "ram_used": int(memory.total - memory.available),
        "ram_total": int(memory.total),
        "rss": int(psutil.Process().memory_info().rss),
    }


class SystemSampler:
    """An event subscriber: from RunStarted to the run's end, a thread appends a sample
    to ``path`` every ``interval`` seconds (default INTERVAL_S; and one at once)."""

    def __init__(
        self,
        path: Path,
        interval: float | None = None,
        nvml: NVML | None = None,
        host: Callable[[], dict[str, Any]] = host_figures,
        warn: Callable[[str], None] | None = None,
        on_flag: Callable[[str, str], None] | None = None,
        on_sample: Iterable[Callable[[Sample], None]] = (),
    ) -> None:
        """``warn`` says a flag in the run's log (from the training thread, at its next
        event); ``on_flag(kind, message)`` hears it at once, from the sampler's thread.
        Each of ``on_sample`` gets every sample written, from the sampler's thread; one
        that raises hears no more (said once through ``warn``), and sampling goes on."""
        self.path, self.interval, self.host = path, INTERVAL_S if interval is None else interval, host
        self.warn, self.on_flag = warn, on_flag
        self.on_sample = list(on_sample)
        self.nvml = nvml or NVML()
        self.host()  # psutil's CPU % is since its previous call: the first sample's is since here
        self.uuids: list[str] = []
        self.underuse = UnderuseFlag()
        self.training = False  # between RunStarted (or Resumed) and a pause or the end
        self.at: tuple[int, float | None] = (0, None)  # the latest Step's (step, data_share): one assignment
        self._flags: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, event: ev.Event) -> None:
        while self.warn is not None and not self._flags.empty():
            self.warn(self._flags.get_nowait())
        if isinstance(event, ev.RunStarted):
            self.close()
            self.uuids, self.training = list(event.device_uuids), True
            self.at = (event.start_step, None)
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="tui-trainer-system", daemon=True)
            self._thread.start()
        elif isinstance(event, ev.Step):
            self.at = (event.step, event.data_share)
        elif isinstance(event, ev.Paused | ev.Resumed):
            self.training = isinstance(event, ev.Resumed)
        elif isinstance(event, ev.END_EVENTS):
            self.training = False
            self.close()

    def sample(self) -> Sample:
        step, data_share = self.at
        gpus = [self.nvml.query(uuid) for uuid in self.uuids]
        out: Sample = {"time": time.time(), "step": step, **self.host()}
        if data_share is not None:
            out["data_share"] = data_share
        # Another machine's GPUs are its rank 0's to sample, were it to: left out here.
        out["gpus"] = [
            {k: v for k, v in asdict(g).items() if v is not None and k != "remote"} for g in gpus if g and not g.remote
        ]
        return out

    def _flagged(self, sample: Sample) -> Sample:
        """The sample, with the underuse flag if this one raises it (said to the listeners)."""
        if not self.uuids:
            return sample
        utilisations = [g.get("utilisation") for g in sample["gpus"]] or [None]
        message = self.underuse.feed(sample["time"], utilisations, self.training, sample.get("data_share"))
        if message is None:
            return sample
        self._flags.put(message)
        if self.on_flag is not None:
            self.on_flag(UNDERUSED, message)
        return {**sample, "flag": UNDERUSED}

    def _run(self) -> None:
        with open(self.path, "a", buffering=1) as f:
            while True:
                try:
                    sample = self._flagged(self.sample())
                    f.write(json.dumps(sample) + "\n")
                except Exception as exc:  # noqa: BLE001 - a figure is not worth the run: said once, then quiet
                    f.write(json.dumps({"time": time.time(), "error": f"{type(exc).__name__}: {exc}"}) + "\n")
                    return
                self._tell(sample)
                if self._stop.wait(self.interval):
                    return

    def _tell(self, sample: Sample) -> None:
        """The listeners, each with the sample; one that raises is dropped (said once)."""
        for listener in list(self.on_sample):
            try:
                listener(sample)
            except Exception as exc:  # noqa: BLE001 - a listener's failure is not the sampler's
                self.on_sample.remove(listener)
                name = getattr(listener, "__qualname__", type(listener).__name__)
                self._flags.put(f"System samples to {name} switched off for this run: {one_line(exc)}")

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=5)


def read_samples(run_dir: Path) -> list[Sample]:
    """The samples of a run folder (a line a kill cut short is skipped)."""
    try:
        text = (run_dir / SYSTEM).read_text(errors="replace")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict):
            out.append(item)
    return out
