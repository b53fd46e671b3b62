"""Training on several processes from the command line, end to end: `--device cpu
--devices 2` (gloo), our launcher and the user's torchrun, controls, a killed rank, bad
input. Real subprocesses, digits data, a few epochs; every wait has a deadline and the
processes a test started are killed at its end."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import cli, subprocess_env

from tui_trainer.runs import Run

CPU2 = ["--device", "cpu", "--devices", "2"]


@pytest.fixture
def env(isolated_dirs):
    env = subprocess_env(isolated_dirs)
    env.pop("WORLD_SIZE", None)
    return env


def only_run(runs_dir: Path) -> Path:
    runs = sorted(p for p in runs_dir.iterdir() if p.is_dir())
    assert len(runs) == 1, runs
    return runs[0]


def events(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


def status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def processes_of(run: Path) -> dict[int, str | None]:
    """pid -> RANK of the live processes training ``run`` (the launcher has no RANK)."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if str(run) not in (proc / "cmdline").read_bytes().decode(errors="replace"):
                continue
            env = dict(
                item.split("=", 1) for item in (proc / "environ").read_bytes().decode().split("\0") if "=" in item
            )
        except OSError:
            continue
        found[int(proc.name)] = env.get("RANK")
    return found


@pytest.fixture
def cleanup():
    """Runs whose processes are killed after the test, whatever happened in it."""
    runs: list[Path] = []
    yield runs
    for run in runs:
        for pid in processes_of(run):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def detached(env, runs_dir: Path, cleanup: list[Path], *args: str) -> Path:
    r = cli(["train", "digits-cnn", "--detach", *CPU2, "--runs-dir", str(runs_dir), *args], env, timeout=60)
    assert r.returncode == 0, r.stderr
    run = only_run(runs_dir)
    cleanup.append(run)
    wait_for(lambda: status(run).get("status") == "running" and status(run).get("epoch", 0) >= 1, 90, "an epoch")
    return run


def test_two_cpu_processes_train_digits_to_the_accuracy_of_one(env, runs_dir):
    r = cli(["train", "digits-cnn", "--headless", *CPU2, "--epochs", "3", "--runs-dir", str(runs_dir)], env)
    assert r.returncode == 0, r.stderr
    run = only_run(runs_dir)  # one run folder, written by rank 0 alone
    names = sorted(p.name for p in run.iterdir())
    tensorboard = [n for n in names if n.startswith("events.out.tfevents.")]
    assert len(tensorboard) == 1, names  # rank 0's tracker alone
    assert [n for n in names if n not in tensorboard] == [
        "checkpoints",
        "config.json",
        "config.toml",
        "events.jsonl",
        "metrics.jsonl",
        "status.json",
        "system.jsonl",
    ]
    started = [e for e in events(run) if e["event"] == "run_started"]
    assert [e["world_size"] for e in started] == [2]
    assert "2 × CPU" in r.stdout and r.stdout.count("epoch 3/3") == 1  # rank 0 prints, once
    s = status(run)
    assert s["status"] == "finished" and s["world_size"] == 2 and s["best_acc"] >= 95.0
    listed = cli(["runs", "--runs-dir", str(runs_dir)], env)
    header = next(line for line in listed.stdout.splitlines() if "devices" in line)
    row = next(line for line in listed.stdout.splitlines() if run.name in line)
    at = header.index("devices") + len("devices") - 1  # the column is right-justified
    assert row[at] == "2", listed.stdout
    # Its checkpoint (the unwrapped model) evaluates in a single process.
    e = cli(["eval", str(run), "--device", "cpu", "--json", "--runs-dir", str(runs_dir)], env)
    assert e.returncode == 0, e.stderr
    assert abs(json.loads(e.stdout)["acc"] - s["last_acc"]) < 1e-6


def test_stop_reaches_both_ranks_and_the_run_resumes_at_another_world_size(env, runs_dir, cleanup):
    run = detached(env, runs_dir, cleanup, "--epochs", "500")
    r = cli(["control", str(run), "stop", "--runs-dir", str(runs_dir)], env, timeout=60)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: status(run).get("status") == "stopped", 30, "the stopped status")
    wait_for(lambda: not processes_of(run), 30, "the launcher and both ranks to exit")
    stopped = next(e for e in events(run) if e["event"] == "stopped")
    assert stopped["checkpoint"] and (run / stopped["checkpoint"]).exists()  # relative to the run folder
    done = status(run)["epoch"]
    # A mid-epoch checkpoint of 2 processes, resumed by 1: the same global step (from 1 to 2
    # the killed-rank test below resumes too; the sharding of both is test_distributed's).
    one = cli(["train", "--resume", str(run), "--headless", "--devices", "1", "--epochs", str(done + 1)], env)
    assert one.returncode == 0, one.stderr
    starts = [e for e in events(run) if e["event"] == "run_started"]
    assert (starts[-1]["start_step"], starts[-1]["world_size"]) == (stopped["step"], 1)
    assert status(run)["status"] == "finished" and status(run)["epoch"] == done + 1


def test_a_killed_rank_fails_the_run_naming_it_and_the_run_resumes(env, runs_dir, cleanup):
    run = detached(env, runs_dir, cleanup, "--epochs", "500")
    rank1 = wait_for(lambda: [pid for pid, rank in processes_of(run).items() if rank == "1"], 10, "rank 1")
    os.kill(rank1[0], signal.SIGKILL)
    wait_for(lambda: status(run).get("status") == "failed", 60, "the failed status")
    wait_for(lambda: not processes_of(run), 30, "every process of the run to exit")
    assert status(run)["reason"].startswith("rank 1 exited: signal 9 (SIGKILL)")
    assert any(e["event"] == "failure_cause" and "rank 1 exited" in e["message"] for e in events(run))
    done = status(run)["epoch"]
    r = cli(["train", "--resume", str(run), "--headless", *CPU2, "--epochs", str(done + 1)], env)
    assert r.returncode == 0, r.stderr
    assert status(run)["status"] == "finished" and status(run)["world_size"] == 2


def test_a_rank_that_stops_answering_ends_the_run_after_dist_timeout(env, runs_dir, cleanup):
    run = detached(env, runs_dir, cleanup, "--epochs", "500", "--set", "train.dist_timeout=5")
    rank1 = wait_for(lambda: [pid for pid, rank in processes_of(run).items() if rank == "1"], 10, "rank 1")
    os.kill(rank1[0], signal.SIGSTOP)  # alive, silent: no socket closes, only the timeout ends the wait
    wait_for(lambda: status(run).get("status") == "failed", 40, "the failed status")
    assert status(run)["reason"] == "lost contact with another rank (no answer within train.dist_timeout)"


def test_a_slurm_launch_without_torchrun_reads_slurms_variables(env, runs_dir):
    """What `srun` gives each task; the README's sbatch example exports MASTER_ADDR."""
    base = {**env, "MASTER_ADDR": "localhost", "MASTER_PORT": str(free_port()), "SLURM_NTASKS": "2"}
    cmd = [sys.executable, "-m", "tui_trainer", "train", "digits-cnn", "--headless", "--device", "cpu"]
    cmd += ["--epochs", "1", "--runs-dir", str(runs_dir)]
    tasks = [
        subprocess.Popen(
            cmd,
            env={**base, "SLURM_PROCID": str(r), "SLURM_LOCALID": str(r), "OMP_NUM_THREADS": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in range(2)
    ]
    try:
        outs = [task.communicate(timeout=150) for task in tasks]
    finally:
        for task in tasks:
            task.kill()
    assert [task.returncode for task in tasks] == [0, 0], outs
    run = only_run(runs_dir)
    assert status(run)["status"] == "finished" and status(run)["world_size"] == 2
    assert "finished: 1 epoch" in outs[0][0] and outs[1][0] == ""  # rank 0 prints, rank 1 does not


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return int(s.getsockname()[1])


def test_two_torchrun_nodes_on_localhost_train_into_one_run_folder(env, runs_dir):
    """The README's multi-machine recipe, with two "machines" on this one."""
    endpoint = f"localhost:{free_port()}"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1"]
    cmd += ["--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint, "--rdzv-id", "test"]
    cmd += ["-m", "tui_trainer", "train", "digits-cnn", "--headless", "--device", "cpu", "--epochs", "2"]
    cmd += ["--runs-dir", str(runs_dir)]
    nodes = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in "ab"]
    try:
        outs = [node.communicate(timeout=150) for node in nodes]
    finally:
        for node in nodes:
            node.kill()
    assert [node.returncode for node in nodes] == [0, 0], outs
    run = only_run(runs_dir)
    assert status(run)["status"] == "finished" and status(run)["world_size"] == 2
    assert sum("finished: 2 epochs" in out for out, _ in outs) == 1  # rank 0's node printed it


BAD = [
    (["--devices", "3"], "data.batch_size 64 does not split among 3 CPU processes"),
    (["--devices", "2", "--set", "train.sync_bn=true"], "train.sync_bn: PyTorch's SyncBatchNorm needs GPUs"),
    (["--devices", "0"], "train.devices: 0 is not valid"),
    (["--devices", "[0, 1]"], 'names GPUs, but train.device = "cpu"'),
]


@pytest.mark.parametrize(("args", "fragment"), BAD, ids=["indivisible", "sync_bn", "zero", "gpu-list-on-cpu"])
def test_bad_devices_are_one_line_errors_and_leave_no_run_folder(env, runs_dir, args, fragment):
    r = cli(["train", "digits-cnn", "--headless", "--device", "cpu", *args, "--runs-dir", str(runs_dir)], env)
    assert_one_line(r, fragment)
    assert not any(runs_dir.iterdir()) if runs_dir.exists() else True


@pytest.mark.skipif(torch.cuda.device_count() > 0, reason="this machine has GPUs: the errors below are about none")
@pytest.mark.parametrize(
    ("devices", "fragment"),
    [
        (["--devices", "2"], "asks for 2 GPUs, but no GPU is visible"),
        (["--devices", "[9]"], "train.devices: GPU 9 does not exist"),
        (["--device", "cuda"], 'train.device: "cuda" asked for, but no CUDA GPU is available'),
        (["--device", "cuda:1", "--detach"], 'train.device: "cuda:1" asked for, but no CUDA GPU is available'),
    ],
)
def test_more_gpus_than_exist_is_a_one_line_error(env, runs_dir, devices, fragment):
    r = cli(["train", "digits-cnn", "--headless", *devices, "--runs-dir", str(runs_dir)], env)
    assert_one_line(r, fragment)
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def assert_one_line(result, fragment: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    err = result.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("tui-trainer: error: ") and fragment in err, err


def test_run_folder_of_a_rank_other_than_0_gets_nothing_but_a_failure_log(tmp_path):
    """`rank-N.log` is the only file a rank other than 0 writes, and only when it fails."""
    from helpers import tiny_config

    from tui_trainer.cli.ranks import run_quiet
    from tui_trainer.engine.distributed import World
    from tui_trainer.launch import Launch

    config = tiny_config().with_overrides(['data.dataset="cifar10"', f'data.root="{tmp_path / "none"}"'])
    run = Run.create(tmp_path / "runs", config)
    before = sorted(p.name for p in run.dir.iterdir())
    # A "rank 1" of a world of 1 (no group needed): its data is missing, so it fails.
    code = run_quiet(Launch(config, run), World(rank=1, local_rank=1, size=1))
    assert code == 2
    assert sorted(p.name for p in run.dir.iterdir()) == sorted([*before, "rank-1.log"])
    assert "failed:" in (run.dir / "rank-1.log").read_text()


@pytest.mark.parametrize(
    "launcher",
    [
        {"RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "2"},
        {"SLURM_PROCID": "1", "SLURM_LOCALID": "1", "SLURM_NTASKS": "2"},  # srun without torchrun
    ],
    ids=["torchrun", "slurm"],
)
def test_a_rank_ends_without_pythons_teardown_whichever_launcher_started_it(monkeypatch, launcher):
    """A rank's process ends with exit_now (gloo's threads aborted Python's teardown about
    once in eight runs, -6): an srun launch sets no WORLD_SIZE, and its ranks went through
    the teardown (a CI run's Slurm test failed so)."""
    import tui_trainer.cli as cli_module
    from tui_trainer.cli import ranks

    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NTASKS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in launcher.items():
        monkeypatch.setenv(name, value)
    ended = []
    monkeypatch.setattr(ranks, "exit_now", ended.append)
    monkeypatch.setattr(cli_module, "_main", lambda argv: 3)
    assert cli_module.main(["train"]) == 3 and ended == [3]
    for name in launcher:
        monkeypatch.delenv(name)
    ended.clear()
    assert cli_module.main(["train"]) == 3 and ended == []  # no launcher: an ordinary exit
