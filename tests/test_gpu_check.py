"""benchmarks/gpu-check.sh, the one-call GPU measurement, in its CPU smoke mode: the
items run, the budget cuts what does not fit, and the summary reads the run folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO, shared_dataset

SCRIPT = REPO / "benchmarks" / "gpu-check.sh"


def gpu_check(tmp_path, *items: str, budget: int = 300) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    out = tmp_path / "out"
    env = dict(
        os.environ, SMOKE="1", DATA=str(shared_dataset("cifar10-mini.tar.xz")), OUT=str(out), BUDGET_S=str(budget)
    )
    # The script runs `python3`: this interpreter's, a virtual environment's included.
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    r = subprocess.run(["bash", str(SCRIPT), *items], env=env, capture_output=True, text=True, timeout=240)
    return r, {p.name: p.read_text() for p in out.iterdir()}


def test_an_item_trains_and_the_summary_reads_its_run(tmp_path):
    r, files = gpu_check(tmp_path, "speedrun", "no-such-item")
    assert r.returncode == 0, r.stderr + r.stdout
    assert set(files) == {"env.txt", "log.txt", "runs.json"}
    assert "torch" in files["env.txt"]
    log = files["log.txt"]
    assert "== speedrun: rc 0" in log and "unknown item 'no-such-item'" in log
    (run,) = json.loads(files["runs.json"])
    assert (run["preset"], run["status"], run["epoch"], run["target_acc"]) == ("speedrun-cifar10", "finished", 1, 94.0)
    row = next(line for line in log.splitlines() if line.startswith(f"| {run['id']} |"))
    assert f"| finished | 1/1 | {run['last_acc']:.2f} |" in row


def test_items_past_the_budget_are_skipped(tmp_path):
    r, files = gpu_check(tmp_path, "fast-cnn", "bench-cnn", budget=10)
    assert r.returncode == 0, r.stderr + r.stdout
    log = files["log.txt"]
    assert "== fast-cnn: skipped" in log and "== bench-cnn: skipped" in log
    assert json.loads(files["runs.json"]) == [] and not any(n.startswith("bench-") for n in files)
