"""Where a launcher put this process, read from its environment: torchrun's variables,
else Slurm's (an ``srun`` launch without torchrun). No torch here: the CLI asks before
it knows whether this process trains at all, and ``train --detach`` or the app's start
should not wait a second for a torch import they do not need.
:func:`tui_trainer.engine.distributed.world_from_env` builds the engine's World from it."""

from __future__ import annotations

import os
from collections.abc import Mapping

#: (rank, local rank, world size), torchrun's names first.
TORCHRUN_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE")
SLURM_VARS = ("SLURM_PROCID", "SLURM_LOCALID", "SLURM_NTASKS")


def place_from_env(env: Mapping[str, str] | None = None) -> tuple[int, int, int] | None:
    """(rank, local rank, world size) as a launcher set them; None outside any."""
    env = os.environ if env is None else env
    for names in (TORCHRUN_VARS, SLURM_VARS):
        if all(env.get(n) for n in names):
            rank, local, size = (int(env[n]) for n in names)
            return rank, local, size
    return None


def ddp_always(env: Mapping[str, str] | None = None) -> bool:
    """``TUI_TRAINER_DDP=always``: the distributed path even for a world of one (to
    measure its cost, benchmarks/gpu-check.sh)."""
    env = os.environ if env is None else env
    return env.get("TUI_TRAINER_DDP") == "always"
