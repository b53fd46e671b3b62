"""Data parallelism on torch.distributed: which rank this process is, the process
group, and the few collectives the engine makes.

Plain torch.distributed, as nanoGPT and torchtitan use it: a process group, a
DistributedDataParallel wrapper around the model (built in :mod:`.setup`), and
all-reduces at the points where the engine already reads back from the device.
Lightning Fabric and Accelerate wrap the same calls; they would add a dependency and
their own launch conventions for no call we need. The processes are started by
torchrun's launcher (``torch.distributed.run``, see :mod:`tui_trainer.ranks`), by the
user's own ``torchrun``, or by Slurm's ``srun``; each reads its place from the
environment (:func:`world_from_env`, through :mod:`tui_trainer.placement`).

What crosses between ranks, and when (never once per step):

- at set-up, whether every rank loaded its data and built its parts
  (:meth:`World.agree`), and rank 0's data seed when ``train.seed`` is none;
- at a *sync point*, rank 0's control decisions (stop, pause, save now, report a Step
  now) and the number of steps to the next sync point (:class:`RankGate`): rank 0 sets
  the gap from its step time so that sync points are about ``POLL_S`` apart, so every
  rank acts on a control at the same step without a collective per step;
- at a Step report and an epoch's end, the loss and accuracy sums and the first
  non-finite step (:mod:`.totals`), and the evaluation's sums (:mod:`.evaluation`);
- inside backward, DDP's gradient all-reduce.

With one process (``World.size == 1``) none of this runs: no process group, no DDP
wrapper, the controls are read directly (:class:`~.controls.Controls`). For measuring
that path's own cost, ``TUI_TRAINER_DDP=always`` in a launcher's environment makes a
world of one take it all the same (benchmarks/gpu-check.sh's NCCL item at world size 1).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from ..placement import ddp_always, place_from_env
from .controls import POLL_S, Controls

PAUSE_BEAT_S = 1.0  # while paused, rank 0 tells the others it still is this often
MAX_GAP = 100_000  # steps between sync points at most


class PeerFailed(RuntimeError):
    """Another rank could not do its part (its own log says why)."""


@dataclass(frozen=True)
class World:
    rank: int = 0
    local_rank: int = 0
    size: int = 1
    always: bool = False  # the distributed path even for one process (TUI_TRAINER_DDP=always)

    @property
    def main(self) -> bool:
        """Rank 0: the one that writes the run folder and decides on controls."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1 or self.always

    # -- collectives (no-ops for one process) -------------------------------------------------
    def all_sum(self, t: torch.Tensor) -> torch.Tensor:
        if self.distributed:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t

    def all_min(self, t: torch.Tensor) -> torch.Tensor:
        if self.distributed:
            dist.all_reduce(t, op=dist.ReduceOp.MIN)
        return t

    def broadcast(self, t: torch.Tensor) -> torch.Tensor:
        """Rank 0's ``t`` on every rank."""
        if self.distributed:
            dist.broadcast(t, src=0)
        return t

    def gather_strings(self, value: str) -> list[str]:
        """Every rank's ``value``, in rank order (once per run: it pickles)."""
        if not self.distributed:
            return [value]
        values: list[object] = [None] * self.size
        dist.all_gather_object(values, value)
        return [str(v) for v in values]

    def agree(self, ok: bool) -> bool:
        """True when every rank says ``ok``: set-up steps that may fail on one rank only."""
        if not self.distributed:
            return ok
        device = "cuda" if dist.get_backend() == "nccl" else "cpu"  # NCCL reduces GPU tensors only
        flag = torch.tensor([1 if ok else 0], dtype=torch.int64, device=device)
        return bool(self.all_min(flag).item())

    def together(self, what: str, fn: Callable[[], object]) -> object:
        """Run ``fn`` on every rank; if it fails anywhere, every rank raises (the failing
        one its own error, the others :class:`PeerFailed`), so none waits for the others."""
        try:
            result, error = fn(), None
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after the others hear
            result, error = None, exc
        if not self.distributed:
            if error is not None:
                raise error
            return result
        if not self.agree(error is None):
            if error is not None:
                raise error
            raise PeerFailed(f"another process failed while {what} (see the run's rank logs)")
        return result


SOLO = World()


def world_from_env(env: Mapping[str, str] | None = None) -> World:
    """This process's place: torchrun's variables, else Slurm's, else a single process."""
    place = place_from_env(env)
    if place is None:
        return SOLO
    rank, local, size = place
    return World(rank=rank, local_rank=local, size=size, always=ddp_always(env))


def device_type_for(device: str) -> str:
    """The device type the ranks of ``train.device`` train on: "cuda" or "cpu"."""
    if device == "cpu":
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def start(world: World, device_type: str, timeout_s: float) -> None:
    """Join the process group (NCCL on GPUs, gloo on the CPU); each rank trains on the
    GPU of its local rank (the launcher made the chosen GPUs the visible ones)."""
    if not world.distributed or dist.is_initialized():
        return
    if device_type == "cuda":
        torch.cuda.set_device(_gpu_index(world))
    _slurm_rendezvous_defaults()
    dist.init_process_group(
        backend="nccl" if device_type == "cuda" else "gloo",
        rank=world.rank,
        world_size=world.size,
        timeout=timedelta(seconds=timeout_s),
    )


def _slurm_rendezvous_defaults() -> None:
    """Under ``srun`` without torchrun, the sbatch script exports MASTER_ADDR; the port
    gets a default so that the README's recipe needs one line less."""
    if "SLURM_PROCID" in os.environ and "RANK" not in os.environ:
        os.environ.setdefault("MASTER_PORT", "29500")


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank_device(world: World, device: torch.device) -> torch.device:
    """The device of this rank: its own GPU when distributed on CUDA."""
    if world.distributed and device.type == "cuda":
        return torch.device("cuda", _gpu_index(world))
    return device


def _gpu_index(world: World) -> int:
    """The local rank's GPU; ranks share GPUs round-robin only where the user's launcher
    started more of them than there are (our launcher refuses that; NCCL may too)."""
    return world.local_rank % max(1, torch.cuda.device_count())


class RankGate:
    """The controls as every rank of a distributed run sees them: rank 0's decisions,
    exchanged at sync points. The loop uses it exactly as it uses :class:`Controls`
    (poll before a batch, then ``stopping``, ``paused``, ``take_save_request``); what a
    rank's own thread or signal handler sets is seen only through rank 0's exchange."""

    def __init__(self, world: World, controls: Controls, device: torch.device, interval_s: float) -> None:
        self.world = world
        self.controls = controls  # rank 0's are the ones that decide
        self.device = device
        self.interval_s = min(POLL_S, interval_s)
        self.next_sync = 0  # the global step (before a batch) of the next exchange
        self._last: tuple[int, float] | None = None  # (step, time) of the last exchange
        self._stop = self._pause = self._save = self._report = False

    @property
    def stopping(self) -> bool:
        return self._stop

    @property
    def paused(self) -> bool:
        return self._pause

    @property
    def stop_reason(self) -> str:
        return self.controls.stop_reason if self.world.main else "stopped by rank 0"

    def take_save_request(self) -> bool:
        save, self._save = self._save, False
        return save

    def poll(self, step: int = 0, report_due: float = float("inf")) -> None:
        """Before the batch that makes global step ``step + 1``: exchange at a sync point."""
        if step < self.next_sync:
            return
        flags = torch.zeros(5, dtype=torch.int64, device=self.device)
        if self.world.main:
            c, now = self.controls, time.monotonic()
            c.poll()
            flags[0], flags[1], flags[2] = int(c.stopping), int(c.paused), int(c.take_save_request())
            flags[3] = int(now >= report_due)
            flags[4] = self._gap(step, now)
        f = self.world.broadcast(flags).tolist()
        self._stop, self._pause, self._report = bool(f[0]), bool(f[1]), bool(f[3])
        self._save = self._save or bool(f[2])
        self.next_sync = step + max(1, int(f[4]))

    def _gap(self, step: int, now: float) -> int:
        """Steps until the next sync point: about ``interval_s`` at rank 0's step rate."""
        last, self._last = self._last, (step, now)
        if last is None or step <= last[0]:
            return 1
        per_step = (now - last[1]) / (step - last[0])
        return max(1, min(MAX_GAP, int(self.interval_s / max(per_step, 1e-9))))

    def report_due(self, now: float, due: float, last_batch: bool) -> bool:
        """Whether every rank reads back for a Step event after this batch."""
        report, self._report = self._report, False
        return report or last_batch

    def wait_while_paused(self, save: Callable[[], object]) -> float:
        """Every rank waits; rank 0 says every ``PAUSE_BEAT_S`` whether it still pauses
        (a pause may outlast any collective timeout), and a save asked meanwhile is
        written at once (its sums are a collective, so every rank takes part)."""
        t = time.monotonic()
        while True:
            flags = torch.zeros(3, dtype=torch.int64, device=self.device)
            if self.world.main:
                c = self.controls
                c.wait_resumed(PAUSE_BEAT_S)
                c.poll()
                flags[0], flags[1], flags[2] = int(c.stopping), int(c.paused), int(c.take_save_request())
            stop_, pause, save_now = (bool(v) for v in self.world.broadcast(flags).tolist())
            if save_now:
                save()
            if stop_ or not pause:
                self._stop, self._pause = stop_, False
                return time.monotonic() - t
