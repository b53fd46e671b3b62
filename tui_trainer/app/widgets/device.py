"""The device line: which device, its precision, GPU memory and utilisation.

Memory and utilisation are polled (every 2 s) only for a CUDA run. Utilisation needs
nvidia-ml-py (``pynvml``), an optional dependency: imported lazily, and its absence or
any NVML error just leaves the figure out.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

from ... import events as ev
from ... import format as fmt

POLL_SECONDS = 2.0


class _NVML:
    """A lazily initialised NVML handle cache; ``None`` values mean "not available"."""

    def __init__(self) -> None:
        self.module: Any = None
        self.failed = False

    def query(self, index: int) -> tuple[str | None, int | None]:
        """(memory line, utilisation %) of GPU ``index``, or Nones."""
        if self.failed:
            return None, None
        try:
            if self.module is None:
                import pynvml  # untyped: pyproject's mypy section ignores its missing types

                pynvml.nvmlInit()
                self.module = pynvml
            nv = self.module
            handle = nv.nvmlDeviceGetHandleByIndex(index)
            mem = nv.nvmlDeviceGetMemoryInfo(handle)
            util = nv.nvmlDeviceGetUtilizationRates(handle)
            return fmt.memory(mem.used, mem.total), int(util.gpu)
        except Exception:  # noqa: BLE001 - absent module, no driver, old driver: all optional
            self.failed = True
            return None, None


class DeviceLine(Static):
    DEFAULT_CSS = """
    DeviceLine { height: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("device: waiting for the run to start", id=id, classes=classes)
        self.device = ""
        self.device_name = ""
        self.precision = ""
        self.memory: str | None = None
        self.utilisation: int | None = None
        self.poll = False  # set by the dashboard for live and watched runs, never for fed ones
        self.in_process = False  # the run trains in this process: torch may be asked directly
        self._nvml = _NVML()
        self._timer: Timer | None = None
        self._shown: tuple[Text, int] | None = None

    def apply(self, e: ev.Event) -> None:
        if isinstance(e, ev.RunStarted):
            self.device, self.device_name, self.precision = e.device, e.device_name, e.precision
            if self.poll and self.device.startswith("cuda") and self._timer is None:
                self._timer = self.set_interval(POLL_SECONDS, self.sample)
                self.call_later(self.sample)
        elif isinstance(e, ev.END_EVENTS) and self._timer is not None:
            self._timer.stop()
            self._timer = None

    def set_stats(self, memory: str | None, utilisation: int | None) -> None:
        """Feed the figures directly (tests and snapshots)."""
        self.memory, self.utilisation = memory, utilisation
        self.flush()

    def sample(self) -> None:
        index = int(self.device.partition(":")[2] or 0)
        memory, util = self._nvml.query(index)
        if memory is None and self.in_process:
            try:
                import torch

                from ...engine.device import memory_line

                memory = memory_line(torch.device(self.device))
            except Exception:  # noqa: BLE001 - a figure on screen is not worth a crash
                memory = None
        self.memory, self.utilisation = memory, util
        self.flush()

    def flush(self) -> None:
        if not self.device:
            return
        text = Text.assemble((self.device_name or self.device, "bold"), f" · {self.device}")
        if self.precision:
            text.append(f" {self.precision}")
        if self.memory:
            text.append(f" · mem {self.memory}")
        if self.utilisation is not None:
            text.append(f" · util {fmt.pct(self.utilisation, digits=0)}")
        width = max(1, self.size.width or 200)
        text.truncate(width, overflow="ellipsis")
        if self._shown != (text, width):  # the dashboard flushes it with every Step
            self._shown = (text, width)
            self.update(text, layout=False)
