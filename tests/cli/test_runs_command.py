"""`tui-trainer runs --sort --status --preset` (cli/commands.py's cmd_runs)."""

from __future__ import annotations

import json

import pytest
from conftest import cli, subprocess_env
from helpers import write_run_folder


@pytest.fixture
def env(isolated_dirs):
    return subprocess_env(isolated_dirs)


@pytest.fixture
def three_runs(runs_dir):
    write_run_folder(runs_dir, "20240101-000000-digits-cnn", "digits-cnn", "finished", [70.0], 1)
    failed = write_run_folder(runs_dir, "20240102-000000-cnn-cifar10", "cnn-cifar10", "failed", [40.0], 10)
    status = json.loads((failed / "status.json").read_text())
    (failed / "status.json").write_text(json.dumps({**status, "reason": "loss became NaN/inf at epoch 2; try"}))
    stopped = write_run_folder(runs_dir, "20240103-000000-digits-cnn", "digits-cnn", "stopped", [90.0], 10)
    (stopped / "checkpoints" / "epoch_001_acc_90.00.pt").write_bytes(b"weights")
    (stopped / "checkpoints" / "last.pt").symlink_to("epoch_001_acc_90.00.pt")
    return runs_dir


def _ids(result) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [r["id"] for r in json.loads(result.stdout)]


def test_runs_sorts_and_filters_and_json_has_the_new_columns(env, three_runs):
    listed = cli(["runs", "--json"], env)
    assert _ids(listed) == ["20240103-000000-digits-cnn", "20240102-000000-cnn-cifar10", "20240101-000000-digits-cnn"]
    assert {r["id"]: r["resumable"] for r in json.loads(listed.stdout)}["20240103-000000-digits-cnn"] is True
    assert _ids(cli(["runs", "--json", "--sort", "best"], env))[0] == "20240103-000000-digits-cnn"
    assert _ids(cli(["runs", "--json", "--sort", "status"], env))[0] == "20240102-000000-cnn-cifar10"
    assert _ids(cli(["runs", "--json", "--status", "finished"], env)) == ["20240101-000000-digits-cnn"]
    assert _ids(cli(["runs", "--json", "--preset", "cnn-cifar10"], env)) == ["20240102-000000-cnn-cifar10"]
    table = cli(["runs", "--status", "failed"], env)
    assert table.returncode == 0
    assert "failed: loss became NaN/inf at epoch 2" in table.stdout and "try" not in table.stdout
    assert "digits-cnn" not in table.stdout
    assert "resume" in cli(["runs"], env).stdout


@pytest.mark.parametrize(
    "args, allowed",
    [
        (["--sort", "speed"], "choose one of started, status, best, epochs, time"),
        (["--status", "done"], "choose one of live, dead, failed, stopped"),
        (["--preset", "vgg"], "its runs' presets: cnn-cifar10, digits-cnn"),
    ],
)
def test_a_bad_sort_status_or_preset_is_one_line_naming_what_is_allowed(env, three_runs, args, allowed):
    result = cli(["runs", *args], env)
    assert result.returncode == 2, (result.stdout, result.stderr)
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert args[1] in err and allowed in err, err
