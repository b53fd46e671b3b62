"""Choosing the device and precision, and describing the device for the user."""

from __future__ import annotations

import logging
import os

import torch

from .. import format as fmt
from ..config import DEVICE_PATTERN
from ..errors import ConfigError


def resolve_device(name: str, what: str = "train.device") -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU; an explicit device must exist. ``what``
    names the setting in errors (``eval --device`` is not train.device)."""
    if not DEVICE_PATTERN.match(name):
        raise ConfigError(f'{what}: unknown device "{name}"; allowed: auto, cpu, cuda, cuda:N, mps')
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f'{what}: "{name}" asked for, but no CUDA GPU is available; use cpu or auto')
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f'{what}: "{name}" does not exist; this machine has {torch.cuda.device_count()} GPU(s)')
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError(f'{what}: "mps" asked for, but MPS is not available; use cpu or auto')
    return device


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto`` is bf16 on GPUs that support it, else fp32 (CPU autocast is slower than fp32)."""
    if name != "auto":
        if name == "fp16" and device.type == "cpu":
            raise ConfigError('train.precision: "fp16" needs a GPU; on the CPU use fp32 or bf16')
        return name
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"


AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    threads, cores = fmt.plural(torch.get_num_threads(), "thread"), fmt.plural(os.cpu_count() or 1, "core")
    return f"CPU ({threads}, {cores})"


def device_uuid(device: torch.device) -> str:
    """A CUDA device's UUID ("GPU-…", as NVML names it), which, unlike its index, means
    the same GPU under any CUDA_VISIBLE_DEVICES; "" for other devices."""
    if device.type != "cuda":
        return ""
    uuid = str(torch.cuda.get_device_properties(device).uuid)
    return uuid if uuid.startswith("GPU-") else f"GPU-{uuid}"


def memory_line(device: torch.device) -> str | None:
    """ "12.3/79.6 GiB" for a CUDA device (used by this process / total), else None."""
    if device.type != "cuda":
        return None
    free, total = torch.cuda.mem_get_info(device)
    return fmt.memory(total - free, total)


class _NoCudaRuntimeNote(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No CUDA runtime is found")


def quiet_cuda_home_note(device: torch.device) -> None:
    """torch.compile imports torch.utils.cpp_extension, which warns "No CUDA runtime is
    found, using CUDA_HOME=..." on a machine with a CUDA build of torch, CUDA_HOME set
    and no GPU: a line that reads like a fault in the middle of a CPU run's output (and
    in the app's log pane), about a toolkit the CPU compiler never uses. Kept on a GPU run."""
    if device.type == "cpu":
        log = logging.getLogger("torch.utils.cpp_extension")
        if not any(isinstance(f, _NoCudaRuntimeNote) for f in log.filters):
            log.addFilter(_NoCudaRuntimeNote())
