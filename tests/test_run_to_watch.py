"""`tui-trainer watch` without a run (runs.run_to_watch): the newest run that trains,
else the newest run; none at all is a one-line error."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import pytest
from conftest import cli, subprocess_env
from helpers import write_run_folder

from tui_trainer.errors import CheckpointError
from tui_trainer.runs import run_to_watch


def training(folder, pid: int) -> None:
    """Mark a written run folder as trained now by process ``pid`` of this host."""
    status = json.loads((folder / "status.json").read_text())
    status.update(status="running", pid=pid, host=socket.gethostname(), updated=time.time())
    (folder / "status.json").write_text(json.dumps(status))


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_the_newest_training_run_is_watched_else_the_newest(runs_dir):
    with pytest.raises(CheckpointError, match="no runs in .* yet; start one with `tui-trainer train PRESET`"):
        run_to_watch(runs_dir)
    old = write_run_folder(runs_dir, "20240101-090000-digits-cnn", "digits-cnn", "finished", [90.0], 1)
    assert run_to_watch(runs_dir).dir == old
    live = write_run_folder(runs_dir, "20240102-090000-digits-cnn", "digits-cnn", "stopped", [90.0], 3)
    training(live, os.getpid())
    newest = write_run_folder(runs_dir, "20240103-090000-digits-cnn", "digits-cnn", "finished", [91.0], 1)
    assert run_to_watch(runs_dir).dir == live  # training, though not the newest
    training(live, dead_pid())  # its process gone: "dead", no longer training
    assert run_to_watch(runs_dir).dir == newest


def test_watch_without_a_run_names_the_one_it_picked_or_says_there_is_none(isolated_dirs, runs_dir):
    env = subprocess_env(isolated_dirs)
    r = cli(["watch"], env)
    assert r.returncode == 2 and r.stderr.strip() == (
        f"tui-trainer: error: no runs in {runs_dir} yet; start one with `tui-trainer train PRESET`"
    ), r.stderr
    run = write_run_folder(runs_dir, "20240101-090000-digits-cnn", "digits-cnn", "finished", [90.0], 1)
    r = cli(["watch"], env)  # no terminal here: the refusal names the run it would have shown
    assert r.returncode == 2 and "needs a terminal" in r.stderr and str(run / "events.jsonl") in r.stderr, r.stderr
