"""Faults are survived with nothing lost: NaN, OOM, disk full, signals, detached runs."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import subprocess_env
from helpers import Collector, tiny_config

from tui_trainer import checkpoints
from tui_trainer import events as ev
from tui_trainer.checkpoints import load_checkpoint
from tui_trainer.engine import Trainer
from tui_trainer.errors import CheckpointError
from tui_trainer.launch import prepare
from tui_trainer.runs import Run, list_runs


def train(runs_dir, config, **kw):
    run = Run.create(runs_dir, config)
    col = Collector()
    trainer = Trainer(config, run=run, subscribers=[run.recorder(), col], **kw)
    return trainer, run, col, trainer.run()


def test_nan_loss_stops_at_that_step_and_keeps_the_last_good_checkpoint(runs_dir):
    # One good epoch, then the user resumes with a far too large lr.
    config = tiny_config(train={"epochs": 4}, optim={"lr": 0.05, "momentum": 0.0}, schedule={"name": "constant"})
    run = Run.create(runs_dir, config)
    box = {}

    def stop_after_epoch_1(event):
        if isinstance(event, ev.EpochEnd):
            box["t"].stop("test")

    box["t"] = Trainer(config, run=run, subscribers=[run.recorder(), stop_after_epoch_1])
    assert isinstance(box["t"].run(), ev.Stopped)
    launch = prepare(None, ["optim.lr=100"], resume=str(run.dir), runs_dir=runs_dir)
    col = Collector()
    end = Trainer(launch.config, run=run, resume=launch.resume, subscribers=[run.recorder(), col]).run()
    assert isinstance(end, ev.Failed), end
    assert "NaN" in end.reason and "epoch 2" in end.reason and "step" in end.reason, end.reason
    assert "--set optim.lr=10" in end.reason
    assert run.status()["status"] == "failed"
    state = load_checkpoint(end.checkpoint)
    assert state["epoch"] == 1
    assert all(torch.isfinite(t).all() for t in state["model"].values() if t.is_floating_point())
    # The step named is a real step of epoch 2 (8 steps per epoch), within it as every
    # position is worded, and the run's global step alongside.
    m = re.search(r"at epoch 2, step (\d+) of 8 \(step (\d+) of the run\)", end.reason)
    assert m, end.reason
    in_epoch, overall = int(m[1]), int(m[2])
    assert 1 <= in_epoch <= 8 and overall == 8 + in_epoch and overall <= end.step
    assert (end.epoch, end.epoch_steps) == (2, 8) and in_epoch <= end.epoch_step


def test_out_of_memory_is_a_clear_resumable_failure(runs_dir, monkeypatch):
    config = tiny_config(train={"epochs": 3})
    calls = {"n": 0}
    original = torch.nn.Module.__call__

    def forward(self, *a, **k):
        if self.__class__.__name__ == "SmallCNN" and torch.is_grad_enabled():
            calls["n"] += 1
            if calls["n"] == 12:  # in epoch 2
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original(self, *a, **k)

    monkeypatch.setattr(torch.nn.Module, "__call__", forward)
    trainer, run, col, end = train(runs_dir, config)
    monkeypatch.undo()
    assert isinstance(end, ev.Failed) and end.error == "OutOfMemoryError"
    assert "out of memory" in end.reason and "data.batch_size=16" in end.reason
    assert run.status()["status"] == "failed" and end.checkpoint
    launch = prepare(None, ["data.batch_size=16"], resume=str(run.dir), runs_dir=runs_dir)
    assert launch.resume["epoch"] == 1 and launch.config.data.batch_size == 16


class _FullDisk:
    """A file on a disk that fills up after ``room`` bytes, as the kernel reports it."""

    def __init__(self, f, room: int) -> None:
        self.f, self.room = f, room

    def write(self, data) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.f.close()


@pytest.mark.parametrize("where", ["torch.save", "the file"])
def test_disk_full_stops_cleanly_and_keeps_earlier_checkpoints(runs_dir, monkeypatch, where):
    config = tiny_config(train={"epochs": 3})
    saves = {"n": 0}
    if where == "torch.save":
        original = torch.save

        def save(obj, f, *a, **k):
            saves["n"] += 1
            if saves["n"] == 2:
                f.write(b"half a checkpoint")
                raise OSError(errno.ENOSPC, "No space left on device", str(getattr(f, "name", "")))
            return original(obj, f, *a, **k)

        monkeypatch.setattr(torch, "save", save)
    else:
        # The real thing: the disk fills while torch.save writes the second checkpoint, and
        # torch answers with "[enforce fail at inline_container.cc] unexpected pos".
        from tui_trainer import fileio

        fdopen = os.fdopen

        def full_after_one_checkpoint(fd, *a, **k):
            f = fdopen(fd, *a, **k)
            if "/checkpoints/" in os.readlink(f"/proc/self/fd/{fd}"):
                saves["n"] += 1
                if saves["n"] == 2:
                    return _FullDisk(f, room=10_000)
            return f

        monkeypatch.setattr(fileio.os, "fdopen", full_after_one_checkpoint)
    trainer, run, col, end = train(runs_dir, config)
    monkeypatch.undo()
    assert isinstance(end, ev.Failed) and end.error == "OSError", end
    assert "No space left on device" in end.reason and "\n" not in end.reason
    assert "inline_container" not in end.reason and "epoch_002" in end.reason, end.reason
    assert run.status()["status"] == "failed"
    assert load_checkpoint(run.checkpoints_dir / checkpoints.LAST)["epoch"] == 1
    assert not list(run.checkpoints_dir.glob(".*.tmp"))


def test_run_folder_gone_mid_run_is_a_clear_failure(runs_dir):
    config = tiny_config(train={"epochs": 3})
    run = Run.create(runs_dir, config)
    col = Collector()

    def sabotage(event):
        if isinstance(event, ev.EpochEnd) and event.epoch == 1:
            for p in run.checkpoints_dir.iterdir():
                p.unlink()
            run.checkpoints_dir.rmdir()
            run.checkpoints_dir.write_text("not a folder")

    trainer = Trainer(config, run=run, subscribers=[run.recorder(), col, sabotage])
    end = trainer.run()
    assert isinstance(end, ev.Failed) and "cannot write" in end.reason, end
    assert run.status()["status"] == "failed"


def test_a_run_is_found_by_any_unique_part_of_its_id(runs_dir):
    from helpers import write_run_folder

    from tui_trainer.runs import find_run

    for run_id in ("20261202-043017-resnet-small-cifar10", "20261202-051500-digits-cnn", "20261203-043017-digits-cnn"):
        write_run_folder(runs_dir, run_id, run_id.split("-", 2)[2], "finished", [50.0], 1)
    assert find_run("resnet-small-cifar10", runs_dir).id == "20261202-043017-resnet-small-cifar10"  # suffix
    assert find_run("20261203", runs_dir).id == "20261203-043017-digits-cnn"  # prefix
    assert find_run("051500", runs_dir).id == "20261202-051500-digits-cnn"  # the time, from the middle
    assert find_run(str(runs_dir / "20261202-051500-digits-cnn"), runs_dir).id == "20261202-051500-digits-cnn"
    with pytest.raises(CheckpointError, match="ambiguous: it matches 20261203-043017-digits-cnn, 20261202-043017"):
        find_run("043017", runs_dir)
    for hour in range(10, 16):
        write_run_folder(runs_dir, f"20261204-{hour}0000-vgg16", "vgg16", "finished", [50.0], 1)
    with pytest.raises(CheckpointError, match=r"20261204-110000-vgg16 and 1 more; give more of the id$"):
        find_run("20261204", runs_dir)
    with pytest.raises(CheckpointError, match="ambiguous"):
        find_run("digits-cnn", runs_dir)  # two suffixes: the middle is not looked at
    with pytest.raises(CheckpointError, match="no such run folder or run id"):
        find_run("resnet18", runs_dir)


def test_stale_running_status_is_shown_as_dead(runs_dir):
    run = Run.create(runs_dir, tiny_config())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run.write_status({"status": "running", "pid": dead.pid, "host": os.uname().nodename, "preset": "tiny"})
    assert run.status()["status"] == "dead" and run.status()["alive"] is False
    assert list_runs(runs_dir)[0].status == "dead"
    run.write_status({"status": "running", "pid": os.getpid(), "host": os.uname().nodename})
    assert run.status()["status"] == "running" and run.status()["alive"] is True


def test_a_live_run_is_not_resumed_by_a_second_process(runs_dir):
    # Two processes in one run folder would interleave its events, status and checkpoints.
    config = tiny_config(train={"epochs": 1})
    _, run, _, end = train(runs_dir, config)
    assert isinstance(end, ev.Finished)
    host = os.uname().nodename
    for state in ("running", "paused", "starting"):
        run.write_status({**run.status(), "status": state, "pid": os.getpid(), "host": host})
        with pytest.raises(CheckpointError, match=f"is {state} \\(pid {os.getpid()}\\); stop it first"):
            prepare(None, ["train.epochs=2"], resume=str(run.dir), runs_dir=runs_dir)
    # A process that started after the status was last written is not the run's: its pid
    # was reused after the run's process died (after a reboot, say). The run is dead.
    if os.path.exists("/proc/self/stat"):
        stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            time.sleep(0.2)
            run.write_status(
                {**run.status(), "status": "running", "pid": stranger.pid, "host": host, "updated": time.time() - 60}
            )
            assert run.status()["status"] == "dead"
            run.write_status({**run.status(), "status": "running", "updated": time.time()})
            assert run.status()["status"] == "running"
        finally:
            stranger.kill()
            stranger.wait()
    # Once that process is gone, the run is resumed as usual.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run.write_status({**run.status(), "status": "running", "pid": dead.pid, "host": host})
    launch = prepare(None, ["train.epochs=2"], resume=str(run.dir), runs_dir=runs_dir)
    assert launch.run.dir == run.dir and launch.config.train.epochs == 2


def test_a_damaged_status_file_spoils_only_its_own_run(runs_dir):
    good = Run.create(runs_dir, tiny_config())
    good.write_status({"status": "finished", "preset": "tiny", "epoch": 2, "epochs": 2, "best_acc": 91.5})
    bad = Run.create(runs_dir, tiny_config())
    for damage in [
        '{"status": 5, "epoch": "x", "epochs": null, "best_acc": "high", "pid": -1, "host": 3}',
        "[1, 2]",
        "\x00garbage",
        '{"epoch": 1e999, "last_acc": NaN}',
    ]:
        (bad.dir / "status.json").write_text(damage)
        by_id = {r.id: r for r in list_runs(runs_dir)}
        assert by_id[good.id].status == "finished" and by_id[good.id].best_acc == 91.5
        damaged = by_id[bad.id]
        assert damaged.epoch == 0 and damaged.best_acc is None and damaged.last_acc is None, damage
        assert isinstance(damaged.status, str) and bad.status()["alive"] is None, damage
    (bad.dir / "status.json").write_bytes(b"\xff\xfe not utf-8")
    assert Run(bad.dir).status()["status"] == "unknown"
    # A resume on top of a damaged status still keeps a best accuracy of the right type.
    (bad.dir / "status.json").write_text('{"status": "stopped", "best_acc": "high"}')
    recorder = bad.recorder()
    recorder.close()
    assert "best_acc" not in recorder.status


def test_control_channel_in_process(runs_dir):
    config = tiny_config(train={"epochs": 200, "log_interval": 0.01}, data={"synthetic_size": 64})
    run = Run.create(runs_dir, config)
    col = Collector()
    trainer = Trainer(config, run=run, subscribers=[run.recorder(), col])
    import threading

    thread = threading.Thread(target=trainer.run)
    thread.start()
    deadline = time.time() + 60
    while run.status().get("status") != "running" and time.time() < deadline:
        time.sleep(0.02)
    ids = [run.send_control("pause")]
    while not col.of(ev.Paused) and time.time() < deadline:
        time.sleep(0.02)
    ids.append(run.send_control("save"))
    while not [c for c in col.of(ev.CheckpointSaved) if c.reason == "manual"] and time.time() < deadline:
        time.sleep(0.02)
    assert trainer.paused, "a save while paused keeps the run paused"
    ids.append(run.send_control("stop"))
    thread.join(60)
    acks = [a.id for a in col.of(ev.ControlAck)]
    assert acks == ids
    assert isinstance(trainer.result, ev.Stopped) and run.status()["status"] == "stopped"
    with pytest.raises(Exception, match="only a live run"):
        run.send_control("pause")


def read_until(proc, predicate, timeout=120):
    """Read the child's stdout lines until predicate(line); returns the lines."""
    lines = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if predicate(line):
            return lines
    raise AssertionError(f"never saw the expected line; got: {''.join(lines)}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_stops_with_a_checkpoint_and_resume_continues(signum, isolated_dirs, runs_dir):
    env = subprocess_env(isolated_dirs)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui_trainer",
            "train",
            "digits-cnn",
            "--headless",
            "--epochs",
            "500",
            "--device",
            "cpu",
            "--runs-dir",
            str(runs_dir),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        read_until(proc, lambda l: l.startswith("epoch 2/"))
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in out and "--resume" in out and "Traceback" not in err
    (run_dir,) = runs_dir.iterdir()
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "stopped"
    state = load_checkpoint(run_dir)
    assert state["epoch"] >= 2
    epochs_in_metrics = [
        json.loads(l)["epoch"]
        for l in (run_dir / "metrics.jsonl").read_text().splitlines()
        if json.loads(l)["type"] == "epoch"
    ]
    assert epochs_in_metrics == list(range(1, len(epochs_in_metrics) + 1)), "metrics flushed, none lost"
    launch = prepare(None, [], resume=str(run_dir), runs_dir=runs_dir)
    assert launch.resume["step"] == state["step"]


def test_detach_then_control_across_processes(isolated_dirs, runs_dir):
    env = subprocess_env(isolated_dirs)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui_trainer",
            "train",
            "digits-cnn",
            "--detach",
            "--epochs",
            "500",
            "--device",
            "cpu",
            "--runs-dir",
            str(runs_dir),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stderr
    assert "in the background" in r.stdout and "tui-trainer watch" in r.stdout
    (run_dir,) = runs_dir.iterdir()
    run = Run(run_dir)
    pid = run.status()["pid"]
    try:
        # Live: a watcher polling the event log sees a new epoch within 2 seconds of its end.
        deadline = time.time() + 120
        offset = 0
        delays = []
        while len(delays) < 2 and time.time() < deadline:
            events, offset = run.read_events(offset)
            delays += [time.time() - e.time for e in events if isinstance(e, ev.EpochEnd) and e.epoch > 1]
            time.sleep(0.1)
        assert len(delays) >= 2 and max(delays) < 2.0, delays
        assert run.status()["alive"] is True

        def control(command):
            return subprocess.run(
                [sys.executable, "-m", "tui_trainer", "control", str(run_dir), command],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )

        r = control("pause")
        assert r.returncode == 0 and "pause acknowledged" in r.stdout, r.stderr
        time.sleep(0.5)
        assert run.status()["status"] == "paused"
        r = control("stop")
        assert r.returncode == 0 and "stop acknowledged" in r.stdout, r.stderr
        deadline = time.time() + 30
        while run.status()["alive"] and time.time() < deadline:
            time.sleep(0.1)
        assert run.status()["status"] == "stopped"
        assert load_checkpoint(run_dir)["epoch"] >= 2
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
