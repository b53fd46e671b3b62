"""The device line: which device, its precision, GPU memory and utilisation; with
several ranks, one row per GPU under it.

Memory and utilisation are polled (every 2 s) only for a CUDA run, from NVML by GPU
UUID (:mod:`tui_trainer.system.nvml`); without NVML the figures are left out (a run
training in this process still gets its memory from torch).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

from ... import events as ev
from ... import format as fmt
from ... import wording
from ...system.nvml import NVML, GpuReading

POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Reading:
    """One GPU's figures (None: not known); ``remote``: the local NVML does not know
    the GPU, which is another machine's."""

    memory: str | None = None
    utilisation: int | None = None
    remote: bool = False


def reading(gpu: GpuReading | None) -> Reading | None:
    """What the line shows of a GPU's figures."""
    if gpu is None:
        return None
    if gpu.remote:
        return Reading(remote=True)
    memory = None
    if gpu.memory_used is not None and gpu.memory_total is not None:
        memory = fmt.memory(gpu.memory_used, gpu.memory_total)
    return Reading(memory, gpu.utilisation)


class DeviceLine(Static):
    DEFAULT_CSS = """
    DeviceLine { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("device: waiting for the run to start", id=id, classes=classes)
        self.device = ""
        self.device_name = ""
        self.devices = ""  # wording.devices: "4 × NVIDIA H200"
        self.precision = ""
        self.world_size = 1
        self.uuids: list[str] = []  # each rank's GPU, rank order
        self.memory: str | None = None  # world size 1
        self.utilisation: int | None = None
        self.rows: list[Reading] = []  # world size > 1: one a rank, when NVML is here
        self.poll = False  # set by the dashboard for live and watched runs, never for fed ones
        self.in_process = False  # the run trains in this process: torch may be asked directly
        self._nvml = NVML()
        self._timer: Timer | None = None
        self._shown: tuple[Text, int] | None = None
        self._height = 1  # lines shown: a change of it is a relayout

    def apply(self, e: ev.Event) -> None:
        if isinstance(e, ev.RunStarted):
            self.device, self.device_name, self.precision = e.device, e.device_name, e.precision
            self.devices, self.world_size, self.uuids = wording.devices(e), e.world_size, list(e.device_uuids)
            self.rows = []
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

    def set_rows(self, rows: list[Reading]) -> None:
        """Feed each rank's figures directly (tests and snapshots)."""
        self.rows = list(rows)
        self.flush()

    def _own_uuid(self) -> list[str]:
        """The UUID of this process's device, for a run whose RunStarted has none."""
        if not self.in_process or self.world_size > 1:
            return []
        try:
            import torch

            from ...engine.device import device_uuid

            uuid = device_uuid(torch.device(self.device))
        except Exception:  # noqa: BLE001 - a figure on screen is not worth a crash
            return []
        self.uuids = [uuid] if uuid else []
        return self.uuids

    def sample(self) -> None:
        uuids = self.uuids or self._own_uuid()
        if self.world_size > 1:
            readings = [reading(self._nvml.query(uuid)) for uuid in uuids]
            self.rows = [r for r in readings if r is not None]  # none without NVML
            self.flush()
            return
        shown = reading(self._nvml.query(uuids[0])) if uuids else None
        memory, util = (shown.memory, shown.utilisation) if shown else (None, None)
        if memory is None and self.in_process:
            try:
                import torch

                from ...engine.device import memory_line

                memory = memory_line(torch.device(self.device))
            except Exception:  # noqa: BLE001 - a figure on screen is not worth a crash
                memory = None
        self.memory, self.utilisation = memory, util
        self.flush()

    def lines(self) -> list[Text]:
        """The device line, then (world size > 1) a row a rank, those on another machine
        next to each other in one."""
        if self.world_size > 1:
            kind = self.device.partition(":")[0]  # rank 0's index would say nothing of the others
            head = Text.assemble((self.devices or self.device, "bold"), f" · {kind}")
        else:
            head = Text.assemble((self.devices or self.device_name or self.device, "bold"), f" · {self.device}")
        if self.precision:
            head.append(f" {self.precision}")
        if self.world_size <= 1:
            if self.memory:
                head.append(f" · mem {self.memory}")
            if self.utilisation is not None:
                head.append(f" · util {fmt.pct(self.utilisation, digits=0)}")
            return [head]
        out = [head]
        digits = len(str(len(self.rows) - 1))
        i = 0
        while i < len(self.rows):
            row = self.rows[i]
            if row.remote:
                j = i
                while j + 1 < len(self.rows) and self.rows[j + 1].remote:
                    j += 1
                label = f"rank {i:<{digits}}" if i == j else f"ranks {i}-{j}"
                out.append(Text.assemble(f"  {label}  ", ("on another machine", "dim")))
                i = j + 1
                continue
            uuid = self.uuids[i][:12] if i < len(self.uuids) else ""  # "GPU-1a2b3c4d", as nvidia-smi -L starts it
            line = Text(f"  rank {i:<{digits}}  ")
            line.append(uuid, "dim")
            if row.utilisation is not None:
                line.append(f"  util {fmt.pct(row.utilisation, digits=0):>4}")
            if row.memory:
                line.append(f"  mem {row.memory}")
            out.append(line)
            i += 1
        return out

    def flush(self) -> None:
        if not self.device:
            return
        width = max(1, self.size.width or 200)
        lines = self.lines()
        for line in lines:
            line.truncate(width, overflow="ellipsis")
        text = Text("\n").join(lines)
        if self._shown != (text, width):  # the dashboard flushes it with every Step
            self._shown = (text, width)
            self.update(text, layout=len(lines) != self._height)
            self._height = len(lines)

    def on_resize(self) -> None:
        self.flush()
