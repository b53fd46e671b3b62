"""Starting the ranks of a run on this machine: ``train.devices`` > 1.

The processes are started by torchrun's own launcher (``torch.distributed.launcher``'s
``elastic_launch``, what the ``torchrun`` command runs) with a standalone rendezvous on
localhost: it gives each worker its ``RANK``/``LOCAL_RANK``/``WORLD_SIZE``, watches
them, and tears the whole group down when one dies. Each worker is ``tui-trainer train
--headless --run-dir RUN`` (:mod:`.ranks`). This process waits for them: in the
foreground for ``--headless``, or itself detached (``--detach`` and the app start this
command in its own session, so the run survives the SSH session).

Rank 0 prints and writes the run folder; the others' output goes to a temporary log
folder, copied into the run folder as ``rank-N.log`` only when that rank failed. When a
worker dies (a signal, an OOM kill, a node lost), rank 0 cannot say so: this process
marks the run failed, naming the rank and how it ended.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import events as ev
from ..checkpoints import last_saved
from ..config import RunConfig
from ..engine.failures import COMMUNICATION
from ..errors import ConfigError
from ..launch import Launch
from ..runs import EVENTS, Run
from .detach import child_args


@dataclass(frozen=True)
class Plan:
    processes: int
    visible_gpus: str | None  # CUDA_VISIBLE_DEVICES for the workers; None: leave as it is
    what: str  # "2 CPU processes", "4 GPUs"


def plan(config: RunConfig) -> Plan:
    """How many workers ``train.devices`` asks for here, checked against what exists."""
    import torch

    devices, device = config.train.devices, config.train.device
    if device == "cpu":
        assert isinstance(devices, int)  # the config refuses the other forms with cpu
        n = devices
        result = Plan(n, None, f"{n} CPU processes")
    else:
        result = _gpu_plan(devices, torch.cuda.device_count())
    batch = config.data.batch_size
    if batch % result.processes:
        lower = batch - batch % result.processes
        raise ConfigError(
            f"data.batch_size {batch} does not split among {result.what}: it is the global batch, each process "
            f"takes an equal part; use a multiple of {result.processes}, e.g. {lower or result.processes} "
            f"or {lower + result.processes}"
        )
    return result


def _gpu_plan(devices: int | str | list[int], visible: int) -> Plan:
    listed = devices if isinstance(devices, list) else None
    if devices == "all":
        n = visible
    elif isinstance(devices, int):
        n = devices
    else:
        n = len(devices)
    where = f"{visible} GPU{'s are' if visible != 1 else ' is'} visible" if visible else "no GPU is visible"
    if listed is not None and any(i >= visible for i in listed):
        bad = next(i for i in listed if i >= visible)
        known = f"0 to {visible - 1}" if visible > 1 else ("0" if visible else "none")
        raise ConfigError(f"train.devices: GPU {bad} does not exist; {where} (indices {known})")
    if n > visible or n == 0:
        cpu = ' (for CPU processes set train.device = "cpu")' if not visible else ""
        raise ConfigError(f"train.devices = {_said(devices)} asks for {n} GPUs, but {where}{cpu}")
    return Plan(n, _visible_list(listed), f"{n} GPUs")


def _said(devices: int | str | list[int]) -> str:
    return f'"{devices}"' if isinstance(devices, str) else str(devices)


def _visible_list(indices: list[int] | None) -> str | None:
    """GPU indices as the workers' CUDA_VISIBLE_DEVICES, through the one already set."""
    if indices is None:
        return None
    outer = os.environ.get("CUDA_VISIBLE_DEVICES")
    names = [n.strip() for n in outer.split(",")] if outer else None
    return ",".join(names[i] if names else str(i) for i in indices)


def launch_ranks(launch: Launch, rank_plan: Plan) -> int:
    """Run the workers to their end; the exit status: rank 0's, or 1 if a rank died."""
    from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs, Std
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    run, n = launch.run, rank_plan.processes
    logs = Path(tempfile.mkdtemp(prefix=f"tui-trainer-{run.id}-"))
    quiet = {i: Std.ALL for i in range(1, n)}  # rank 0 prints as a single process does
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=n,
        run_id=run.id,
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",  # torchrun --standalone: a free port on this machine
        max_restarts=0,
        monitor_interval=0.5,
        logs_specs=DefaultLogsSpecs(log_dir=str(logs), redirects=quiet),
    )
    cmd = child_args(launch)
    if rank_plan.visible_gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = rank_plan.visible_gpus
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // n)))
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the terminal closing is not a stop
    # Its notes ("Sending process N closing signal") would print between rank 0's lines.
    logging.getLogger("torch.distributed.elastic").setLevel(logging.ERROR)
    try:
        elastic_launch(config, sys.executable)(*cmd)
        return 0
    except ChildFailedError as exc:
        return _report_failure(run, exc.failures, logs)
    except SignalException as exc:
        # Ctrl+C or SIGTERM: the agent passed it on to the ranks (each stops as a single
        # process does: rank 0 saves at the next sync point) and waited for them.
        return _after_signal(run, exc.sigval)
    finally:
        signal.signal(signal.SIGHUP, previous)
        shutil.rmtree(logs, ignore_errors=True)


def _report_failure(run: Run, failures: dict[int, Any], logs: Path) -> int:
    """A rank ended badly: keep its log, and say which rank and how, unless rank 0
    already said why the run ended (a NaN, bad data: every rank exits then)."""
    for rank, failure in failures.items():
        _keep_log(run, rank, int(getattr(failure, "local_rank", rank)), logs)
    status = run.status()
    ended = status.get("status") in ("finished", "stopped", "failed")
    # Rank 0's own reason stands (a NaN, bad data, a timeout) unless it only lost contact
    # with another rank that failed: then that rank is the cause, one killed by a signal
    # first (the others' errors follow from it), else the first to end.
    others = {r: f for r, f in failures.items() if r != 0}
    lost_contact = str(status.get("reason", "")).startswith(COMMUNICATION) and bool(others)
    if ended and not lost_contact:
        if status.get("status") in ("finished", "stopped"):
            return 0  # the run ended well and is saved: a rank that failed after that changes nothing
        own = failures.get(0)
        return 2 if own is not None and own.exitcode == 2 else 1
    rank, first = min((others or failures).items(), key=lambda kv: (kv[1].exitcode >= 0, kv[1].timestamp))
    reason = f"rank {rank} exited: {_how(int(first.exitcode))}"
    _record_end(run, status, reason, already_failed=ended)
    print(f"tui-trainer: error: {reason}", file=sys.stderr)
    return 1


def _after_signal(run: Run, sigval: signal.Signals) -> int:
    status = run.status()
    if status.get("status") in ("stopped", "finished"):
        return 0
    reason = f"the launcher got {sigval.name} before the ranks could stop"
    _record_end(run, status, reason, already_failed=status.get("status") == "failed")
    print(f"tui-trainer: error: {reason}", file=sys.stderr)
    return 1


def _how(exitcode: int) -> str:
    if exitcode < 0:
        try:
            return f"signal {-exitcode} ({signal.Signals(-exitcode).name})"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit status {exitcode}"


def _keep_log(run: Run, rank: int, local_rank: int, logs: Path) -> None:
    """torchrun writes <logs>/<run id>/attempt_0/<local rank>/stdout.log and stderr.log."""
    if rank == 0:
        return  # rank 0 printed to the terminal and wrote the run folder itself
    found = sorted(logs.glob(f"**/attempt_*/{local_rank}/std*.log"))
    text = "".join(p.read_text(errors="replace") for p in found if p.stat().st_size)
    if text:  # after what the rank wrote itself (its failure), if it lived to write it
        with open(run.dir / f"rank-{rank}.log", "a") as f:
            f.write(f"--- rank {rank}'s output ---\n{text}")


def _record_end(run: Run, status: dict[str, Any], reason: str, already_failed: bool) -> None:
    """The run's end as rank 0 would have written it: a Failed event (or, when rank 0's
    Failed only said it lost contact, the cause that amends it) and status.json."""
    if already_failed:
        event: ev.Event = ev.FailureCause(message=reason)
    else:
        event = ev.Failed(
            reason=reason,
            error="RankExited",
            epoch=int(status.get("epoch") or 0),
            step=0,
            checkpoint=last_saved(run.checkpoints_dir),
        )
    with open(run.dir / EVENTS, "a") as f:
        f.write(json.dumps(event.to_dict()) + "\n")
    status = {k: v for k, v in status.items() if k != "alive"}
    run.write_status({**status, "status": "failed", "reason": reason, "updated": time.time()})
