"""``system.jsonl``: the machine's figures every few seconds while a run trains.

A thread of its own samples (never the training loop): each GPU of the run by UUID
(:mod:`.nvml`: utilisation, memory, power, temperature), the host's CPU and memory and
the training process's resident memory through psutil (the maintained cross-platform
library for them; /proc would be Linux alone). What cannot be read is left out: no
NVML, no GPU, a figure the driver does not support. One JSON object a line, appended
and flushed as sampled, so `watch` and the app tail it like events.jsonl.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .. import events as ev
from .nvml import NVML

INTERVAL_S = 2.0
SYSTEM = "system.jsonl"


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
    to ``path`` every ``interval`` seconds (and one at once)."""

    def __init__(
        self,
        path: Path,
        interval: float = INTERVAL_S,
        nvml: NVML | None = None,
        host: Callable[[], dict[str, Any]] = host_figures,
    ) -> None:
        self.path, self.interval, self.host = path, interval, host
        self.nvml = nvml or NVML()
        self.host()  # psutil's CPU % is since its previous call: the first sample's is since here
        self.uuids: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.close()
            self.uuids = list(event.device_uuids)
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="tui-trainer-system", daemon=True)
            self._thread.start()
        elif isinstance(event, ev.END_EVENTS):
            self.close()

    def sample(self) -> dict[str, Any]:
        gpus = [self.nvml.query(uuid) for uuid in self.uuids]
        out: dict[str, Any] = {"time": time.time(), **self.host()}
        # Another machine's GPUs are its rank 0's to sample, were it to: left out here.
        out["gpus"] = [
            {k: v for k, v in asdict(g).items() if v is not None and k != "remote"} for g in gpus if g and not g.remote
        ]
        return out

    def _run(self) -> None:
        with open(self.path, "a", buffering=1) as f:
            while True:
                try:
                    f.write(json.dumps(self.sample()) + "\n")
                except Exception as exc:  # noqa: BLE001 - a figure is not worth the run: said once, then quiet
                    f.write(json.dumps({"time": time.time(), "error": f"{type(exc).__name__}: {exc}"}) + "\n")
                    return
                if self._stop.wait(self.interval):
                    return

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=5)


def read_samples(run_dir: Path) -> list[dict[str, Any]]:
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
