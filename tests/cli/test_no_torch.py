"""The quick commands never import torch (issue 19: start-up is slow because everything
imported it). Each runs the CLI's main in a fresh interpreter, since this one has torch
imported already; benchmarks/startup.py measures the times."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys

import pytest
from conftest import subprocess_env
from helpers import write_run_folder

# Runs the CLI's main with the arguments given, its output kept from the terminal; then
# one JSON line: the exit status, whether torch (and torchvision) were imported, the output.
PROBE = """
import contextlib, io, json, sys
from tui_trainer.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:  # --help and --version: argparse exits
        code = exc.code
print(json.dumps({"code": code, "torch": "torch" in sys.modules,
                  "torchvision": "torchvision" in sys.modules, "out": out.getvalue()}))
"""


def run_cli(args: list[str], env: dict[str, str]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--help"], "usage: tui-trainer"),
        (["--version"], "tui-trainer "),
        (["presets"], "resnet18-tv-cifar10"),  # every preset validated, a torchvision:NAME one too
        (["presets", "digits-cnn"], 'arch = "small_cnn"'),
        (["presets", "show", "resnet18-tv-cifar10"], 'arch = "torchvision:resnet18"'),
        (["runs"], "20261201-000000-a"),
    ],
    ids=["help", "version", "presets", "presets-NAME", "presets-show-torchvision", "runs"],
)
def test_quick_commands_never_import_torch(isolated_dirs, args, says):
    write_run_folder(isolated_dirs["TUI_TRAINER_RUNS"], "20261201-000000-a", "digits-cnn", "finished", [50.0, 60.0], 2)
    got = run_cli(args, subprocess_env(isolated_dirs))
    assert got["code"] == 0 and says in got["out"], got
    assert not got["torch"] and not got["torchvision"], f"tui-trainer {' '.join(args)} imported torch"


def test_a_broken_user_preset_is_listed_without_torch(isolated_dirs):
    """The error path too: a bad model option is the options' own check (no model built)."""
    folder = isolated_dirs["TUI_TRAINER_PRESETS"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.toml").write_text('[model]\narch = "resnet"\nlayers = [1]\n')
    got = run_cli(["presets"], subprocess_env(isolated_dirs))
    assert got["code"] == 0 and "invalid: broken.toml: model.layers" in got["out"], got
    assert not got["torch"]


def test_control_sends_without_torch(isolated_dirs):
    """`control` from another SSH session: a line in the run's control file and a wait
    for the trainer's answer, not a torch import (it took 2 s before the answer)."""
    import os
    import socket
    import time

    folder = write_run_folder(
        isolated_dirs["TUI_TRAINER_RUNS"], "20261201-000000-a", "digits-cnn", "running", [50.0], 9
    )
    status = json.loads((folder / "status.json").read_text())
    # "Trained" by this test's process, so that the run is live; it never answers.
    status.update(pid=os.getpid(), host=socket.gethostname(), updated=time.time())
    (folder / "status.json").write_text(json.dumps(status))
    got = run_cli(["control", "20261201-000000-a", "pause", "--timeout", "0.3"], subprocess_env(isolated_dirs))
    assert got["code"] == 1 and not got["torch"], got  # no acknowledgement: exit 1
    (sent,) = [json.loads(line) for line in (folder / "control.jsonl").read_text().splitlines()]
    assert sent["command"] == "pause"


def test_train_detach_hands_the_run_to_its_child_without_torch(isolated_dirs):
    """The shell's prompt comes back without the parent importing torch (a second before;
    the child imports it, for training)."""
    import os
    import signal
    import time

    runs = isolated_dirs["TUI_TRAINER_RUNS"]
    got = run_cli(
        ["train", "digits-cnn", "--detach", "--device", "cpu", "--epochs", "1"], subprocess_env(isolated_dirs)
    )
    (run,) = runs.iterdir()
    try:
        assert got["code"] == 0 and "in the background" in got["out"], got
        assert not got["torch"], "train --detach imported torch in the parent"
    finally:  # the child is not this test's subject: it goes
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pid = json.loads((run / "status.json").read_text()).get("pid")
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.1)


# `tui-trainer train PRESET` in a terminal, up to the app's start (run_app replaced).
APP_PROBE = """
import sys
import tui_trainer.app
import tui_trainer.cli.commands as commands
seen = {}
def run_app(**kw):
    seen["torch"] = "torch" in sys.modules
    return 0
tui_trainer.app.run_app = run_app
commands._terminal = lambda fallback=None: True
from tui_trainer.cli import main
code = main(sys.argv[1:])
print(code, seen)
"""


def test_train_opens_the_app_before_importing_torch(isolated_dirs):
    """The dashboard's first frame does not wait for torch: the engine's thread imports it."""
    args = ["train", "digits-cnn", "--device", "cpu"]
    r = subprocess.run(
        [sys.executable, "-c", APP_PROBE, *args],
        env=subprocess_env(isolated_dirs),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "0 {'torch': False}", r.stdout
