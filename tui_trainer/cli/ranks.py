"""One rank of a distributed run: ``tui-trainer train --headless`` in a process that a
launcher started with ``WORLD_SIZE`` > 1 in its environment.

The launcher is ours (``--devices N``, :mod:`.launcher`: every rank is given the run
folder with ``--run-dir``), the user's ``torchrun`` (over one or several machines), or
Slurm's ``srun``. Each rank joins the process group first; then rank 0 makes (or finds)
the run folder exactly as a single process would, and tells the others where it is
(the folder must be on a filesystem every machine sees). Rank 0 trains with the
printer and the run's recorder; the others train silently (:func:`run_quiet`) and
write one file, ``rank-N.log`` in the run folder, only when they fail.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path
from types import FrameType

import torch.distributed as dist

from .. import events as ev
from .. import paths, presets
from ..config import RunConfig
from ..engine import Trainer, distributed
from ..engine.distributed import World
from ..errors import UserError
from ..launch import Launch, prepare, resolve
from ..runs import Run

MAX_LOG_LINES = 200


def run_rank(args: argparse.Namespace, overrides: list[str], world: World) -> int:
    """Join the group, agree on the run, train; the exit status of this rank."""
    config = _config(args, overrides)
    distributed.start(world, distributed.device_type_for(config.train.device), config.train.dist_timeout)
    try:
        launch = _agreed_launch(args, overrides, world)
        if launch is None:
            return 2  # rank 0 said what was wrong
        if world.main:
            from .headless import run_headless

            return run_headless(launch, world=world)
        return run_quiet(launch, world)
    finally:
        distributed.stop()


def exit_now(code: int) -> None:
    """End a rank's process without Python's teardown (the CLI's last step in a rank):
    about one 2-rank CPU run in eight aborted there ("terminate called without an
    active exception", a gloo thread destroyed at exit) after the run had finished and
    been saved, and the launcher took the signal for a failure. Everything of the run is
    written and closed by then."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _config(args: argparse.Namespace, overrides: list[str]) -> RunConfig:
    """The config every rank can work out alone (for its device, before the group exists)."""
    if args.run_dir is not None:
        return Run.open(args.run_dir).config().with_overrides(overrides)
    runs_dir = Path(args.runs_dir) if args.runs_dir else paths.runs_dir()
    preset = args.preset if (args.preset or args.resume) else presets.DEFAULT_PRESET
    return resolve(preset, overrides, args.resume, runs_dir)[0]


def _agreed_launch(args: argparse.Namespace, overrides: list[str], world: World) -> Launch | None:
    """Rank 0 prepares the launch (a new run folder, or the one given); the others open
    the folder it names. None on every rank when rank 0 could not (it raises for its
    one-line error; the others stay quiet)."""
    from .detach import child_launch

    message: list[object] = [None, None]  # [run folder, resume path] or [None, error]
    error: UserError | None = None
    if world.main:
        try:
            launch = (
                child_launch(args.run_dir, args.resume, overrides)
                if args.run_dir is not None
                else prepare(args.preset or presets.DEFAULT_PRESET, overrides, args.resume, args.runs_dir)
            )
            message = [str(launch.run.dir), launch.resume["path"] if launch.resume else None]
        except UserError as exc:
            error, message = exc, [None, str(exc)]
    dist.broadcast_object_list(message, src=0)
    if world.main:
        if error is not None:
            raise error
        return launch
    if message[0] is None:
        return None
    run_dir, resume = message
    return child_launch(Path(str(run_dir)), str(resume) if resume else None, overrides)


def run_quiet(launch: Launch, world: World) -> int:
    """A rank other than 0: trains its part, prints and writes nothing unless it fails."""
    lines: list[str] = []

    def keep(e: ev.Event) -> None:
        if isinstance(e, ev.Log) and len(lines) < MAX_LOG_LINES:
            lines.append(f"{e.level}: {e.message}")

    trainer = Trainer(launch.config, run=None, resume=launch.resume, subscribers=[keep], world=world)

    def ignore(_signum: int, _frame: FrameType | None) -> None:
        """A stop reaches this rank from rank 0, at the same step as every other rank."""

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, ignore)
    result = trainer.run()
    if isinstance(result, ev.Failed):
        lines.append(f"failed: {result.reason}")
        (launch.run.dir / f"rank-{world.rank}.log").write_text("\n".join(lines) + "\n")
        return 2 if isinstance(trainer.error, UserError) else 1
    return 0
