"""`tui-trainer bench PRESET --devices N`: the engine at one process and at N (the
launcher's ranks, gloo on the CPU here), and the scaling efficiency between them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from conftest import subprocess_env

from tui_trainer.bench import one_process
from tui_trainer.cli import main
from tui_trainer.config import RunConfig

TIMEOUT_S = 60  # a hang (a rank waiting on a peer that never comes) fails in a minute


@pytest.mark.slow
def test_bench_devices_reports_both_rates_and_the_efficiency(isolated_dirs):
    # Enough steps for several Step events at one process and at two (at 20, the engine
    # at one process trained them between two marks only, one of them an epoch's end).
    args = ["bench", "digits-cnn", "--device", "cpu", "--devices", "2", "--steps", "100", "--rounds", "1", "--json"]
    # One OpenMP thread a process, at one process as at two (the launcher gives each rank
    # cores // 2): a process of two threads on two cores that other work shares waits at
    # every parallel region for the thread the scheduler took, and its figure, the
    # efficiency's denominator, fell by up to 5x from one run to the next.
    env = {**subprocess_env(isolated_dirs), "OMP_NUM_THREADS": "1"}
    # Its own session: on a timeout the bench, its `train` child, torchrun's agent and
    # the ranks all go, not the bench alone.
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_trainer", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 0, err[-2000:]
    data = json.loads(out)
    assert data["processes"] == 2
    assert data["engine"] > 0 and data["engine_devices"] > 0
    assert data["scaling_efficiency"] == pytest.approx(data["engine_devices"] / (2 * data["engine"]))
    assert 0 < data["scaling_efficiency"] < 2
    assert data["plain"] is None and data["app"] is None  # --devices alone: the engine alone
    assert data["samples"] == {"engine": [data["engine"]], "engine_devices": [data["engine_devices"]]}


@pytest.mark.parametrize(
    ("args", "said"),
    [
        # train's own one-line errors (launcher.plan), before any measurement
        (["--device", "cpu", "--devices", "3"], "data.batch_size 64 does not split among 3 CPU processes"),
        (["--device", "cpu", "--devices", "0"], "train.devices: 0 is not valid"),
        (["--device", "cpu", "--devices", "all"], 'train.devices = "all" names GPUs, but train.device = "cpu"'),
        (["--device", "cpu", "--devices", "2", "--only", "plain"], "--devices: add engine to --only"),
    ],
)
def test_bench_devices_bad_input_is_one_line(capsys, args, said):
    assert main(["bench", "digits-cnn", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"tui-trainer: error: {said}") and err.count("\n") == 1


@pytest.mark.parametrize(
    "device, devices, expected",
    [
        ("cuda", [2, 5], "cuda:2"),  # the ranks' first GPU, not cuda:0
        ("auto", [3], "cuda:3"),
        ("cuda", 4, "cuda"),  # a count: GPUs 0..3, cuda:0 among them
        ("cpu", 2, "cpu"),
    ],
)
def test_the_one_process_variants_train_on_the_first_device_of_the_list(device, devices, expected):
    config = RunConfig().with_overrides([f"train.device={device}", f"train.devices={json.dumps(devices)}"])
    single = one_process(config)
    assert (single.train.device, single.train.devices) == (expected, 1)
