"""Runs that outlive the terminal: `train --detach` and `control`.

A detached run is a headless trainer in its own session (``start_new_session``), so
closing the SSH connection does not send it SIGHUP. Its output goes to the run
folder's ``output.log``; ``tui-trainer watch`` and ``tui-trainer control`` reach it
through the run folder only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from .. import events as ev
from ..launch import Launch
from ..runs import OUTPUT_LOG, Run


def detach(launch: Launch) -> int:
    """``train --detach``: start the run in the background and say how to reach it."""
    pid = start_detached(launch)
    print(how_to_reach(launch.run, f"pid {pid}"))
    return 0


def how_to_reach(run: Run, process: str) -> str:
    """Where a run training in the background is, and the commands that reach it."""
    return (
        f"run {run.id} is training in the background ({process})\n"
        f"  watch it:  tui-trainer watch {run.dir}\n"
        f"  stop it:   tui-trainer control {run.dir} stop\n"
        f"  its log:   {run.dir / OUTPUT_LOG}"
    )


def start_detached(launch: Launch) -> int:
    """A headless trainer of ``launch`` in its own session (with several devices, the
    launcher of its ranks); returns its pid. The app starts multi-device runs so too."""
    run = launch.run
    cmd = [sys.executable, *child_args(launch)]
    with open(run.dir / OUTPUT_LOG, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            cwd=os.getcwd(),
        )
    # "starting" with the child's pid: if it dies before it writes "running", `runs` shows
    # it as dead. (The child needs seconds to import torch before it writes its status.)
    status = run.status()
    if status.get("status") not in ("running", "paused"):
        status.pop("alive", None)
        run.write_status(
            {
                **status,
                "status": "starting",
                "pid": proc.pid,
                "host": socket.gethostname(),
                "updated": time.time(),  # after the child started: pid_alive's check
                "preset": launch.config.name,
            }
        )
    return proc.pid


def child_args(launch: Launch) -> list[str]:
    """The arguments (after the interpreter) of a process that trains ``launch``'s run:
    a detached one, or each rank of a run on several devices (:func:`child_launch`)."""
    args = ["-m", "tui_trainer", "train", "--headless", "--run-dir", str(launch.run.dir)]
    if launch.resume is not None:
        args += ["--resume", str(launch.resume["path"])]
    for override in launch.overrides:  # a resume's --epochs, --set: the folder's config lacks them yet
        args += ["--set", override]
    return args


def child_launch(run_dir: Path, resume: str | None, overrides: list[str] | None = None) -> Launch:
    """The launch a parent process prepared: its run folder's config with the same
    overrides (a resume's config is written to the folder only once it starts)."""
    from ..checkpoints import load_checkpoint  # torch: here, not for `control`, which imports this module

    run = Run.open(run_dir)
    overrides = list(overrides or [])
    config = run.config().with_overrides(overrides)
    return Launch(config, run, load_checkpoint(resume) if resume else None, overrides)


def send_and_wait(run: Run, command: str, timeout: float) -> ev.ControlAck | None:
    """Send a command and wait for the trainer's acknowledgement in the event log."""
    _, offset = run.read_events()
    command_id = run.send_control(command)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events, offset = run.read_events(offset)
        for e in events:
            if isinstance(e, ev.ControlAck) and e.id == command_id:
                return e
        time.sleep(0.1)
    return None
