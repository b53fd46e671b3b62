"""GPU figures from NVML (nvidia-ml-py, ``pynvml``: NVIDIA's own bindings, the `gpu` extra).

Optional: imported lazily, and its absence or any NVML error just leaves figures out.
GPUs are looked up by the UUIDs a run started with (RunStarted.device_uuids, as torch
names them), never by a CUDA index: under CUDA_VISIBLE_DEVICES, or NVML's own ordering,
index 1 to torch is not index 1 to NVML. A UUID the local NVML does not know is a GPU
of another machine (a multi-node run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NVML_ERROR_NOT_FOUND = 6  # pynvml.NVML_ERROR_NOT_FOUND, should the module lack the name


@dataclass(frozen=True)
class GpuReading:
    """One GPU's figures (None: not known); ``remote``: another machine's GPU."""

    uuid: str
    memory_used: int | None = None  # bytes
    memory_total: int | None = None
    utilisation: int | None = None  # percent busy over NVML's last sample period
    power_w: float | None = None
    temperature_c: int | None = None
    remote: bool = False


class NVML:
    """NVML, initialised on first use, and a handle per GPU UUID."""

    def __init__(self) -> None:
        self.module: Any = None
        self.failed = False
        self.handles: dict[str, Any] = {}
        self.remote: set[str] = set()

    def available(self) -> bool:
        if self.module is None and not self.failed:
            try:
                import pynvml  # untyped: pyproject's mypy section ignores its missing types

                pynvml.nvmlInit()
                self.module = pynvml
            except Exception:  # noqa: BLE001 - absent module, no driver, old driver: all optional
                self.failed = True
        return self.module is not None

    def _not_found(self, exc: Exception) -> bool:
        nv = self.module
        cls = getattr(nv, "NVMLError_NotFound", None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return True
        return getattr(exc, "value", None) == getattr(nv, "NVML_ERROR_NOT_FOUND", NVML_ERROR_NOT_FOUND)

    def _handle(self, uuid: str) -> Any:
        """The GPU's handle; None if NVML cannot give one (``uuid`` then marked remote
        when NVML does not know it)."""
        handle = self.handles.get(uuid)
        if handle is None:
            try:
                handle = self.module.nvmlDeviceGetHandleByUUID(uuid)
            except Exception as exc:  # noqa: BLE001 - a figure is not worth a crash
                if self._not_found(exc):
                    self.remote.add(uuid)
                return None
            self.handles[uuid] = handle
        return handle

    def query(self, uuid: str) -> GpuReading | None:
        """GPU ``uuid``'s figures, those NVML could read; None without NVML here."""
        if not self.available():
            return None
        handle = None if uuid in self.remote else self._handle(uuid)
        if uuid in self.remote:
            return GpuReading(uuid, remote=True)
        if handle is None:
            return GpuReading(uuid)
        nv = self.module
        mem = _read(lambda: nv.nvmlDeviceGetMemoryInfo(handle))
        return GpuReading(
            uuid,
            memory_used=int(mem.used) if mem is not None else None,
            memory_total=int(mem.total) if mem is not None else None,
            utilisation=_read(lambda: int(nv.nvmlDeviceGetUtilizationRates(handle).gpu)),  # None under MIG
            power_w=_read(lambda: nv.nvmlDeviceGetPowerUsage(handle) / 1000.0),  # milliwatts
            temperature_c=_read(lambda: int(nv.nvmlDeviceGetTemperature(handle, nv.NVML_TEMPERATURE_GPU))),
        )


def _read(get: Any) -> Any:
    """One figure, or None where NVML cannot read it (not supported, a GPU fallen off the bus)."""
    try:
        return get()
    except Exception:  # noqa: BLE001 - each figure is optional
        return None
