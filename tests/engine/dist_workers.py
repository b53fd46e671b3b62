"""What each process of the two-process tests in test_distributed.py does (a module of
its own: spawned processes import their target by module name).

Each worker joins a gloo group through a file store, runs one scenario and writes what
it saw as JSON into ``out/rank-N.json``; the test compares the ranks' files.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist

from tui_trainer.cli.ranks import exit_now
from tui_trainer.engine.controls import Controls
from tui_trainer.engine.distributed import RankGate, World
from tui_trainer.engine.evaluation import evaluate
from tui_trainer.engine.setup import build_parts
from tui_trainer.engine.totals import StepTotals

WORLD = 2


def run(scenario: str, rank: int, out: str, payload: dict) -> None:
    torch.set_num_threads(1)
    store = dist.FileStore(str(Path(out) / "store"), WORLD)
    dist.init_process_group("gloo", store=store, rank=rank, world_size=WORLD, timeout=timedelta(seconds=30))
    world = World(rank=rank, local_rank=rank, size=WORLD)
    try:
        result = SCENARIOS[scenario](world, payload)
    finally:
        dist.destroy_process_group()
    (Path(out) / f"rank-{rank}.json").write_text(json.dumps(result))
    # As a rank of the CLI ends (cli/ranks.exit_now): without Python's teardown, where a
    # gloo thread destroyed at exit aborted a worker that had done its part now and then
    # ("terminate called without an active exception", exit code -6).
    exit_now(0)


def evaluation(world: World, payload: dict) -> dict:
    """The sharded, reduced evaluation of a fixed model, and one batch's training sums."""
    from helpers import tiny_config

    from tui_trainer.data import load_data

    config = tiny_config()
    parts = build_parts(config, load_data(config.data), fresh=True, world=world)
    loss, acc = evaluate(parts)
    x, y = payload["x"], payload["y"]
    lo, hi = (0, 5) if world.rank == 0 else (5, 12)  # an uneven split of one batch of 12
    totals = StepTotals(torch.device("cpu"), world=world)
    logits = torch.tensor(x[lo:hi])
    labels = torch.tensor(y[lo:hi])
    step_loss = torch.nn.functional.cross_entropy(logits, labels)
    totals.add(step_loss, logits, labels)
    return {"loss": loss, "acc": acc, "epoch_totals": totals.epoch_totals()}


def controls(world: World, payload: dict) -> dict:
    """Rank 0's stop, pause and save, seen by both ranks at the same step."""
    c = Controls(None, lambda e: None)
    gate = RankGate(world, c, torch.device("cpu"), interval_s=0.005)
    seen: dict[str, object] = {"saves": 0}

    def save() -> None:
        seen["saves"] = int(seen["saves"]) + 1  # type: ignore[call-overload]

    for step in range(100_000):
        if world.main and step == payload["pause_at"]:
            c.pause()
            threading.Timer(0.3, c.save_now).start()
            threading.Timer(1.5, c.resume).start()  # longer than a few pause beats
        if world.main and step == payload["stop_at"]:
            c.stop("test stop")
        gate.poll(step)
        if gate.paused:
            seen["paused_at"] = step
            seen["paused_s"] = gate.wait_while_paused(save)
        if gate.stopping:
            seen["stopped_at"] = step
            break
        time.sleep(0.001)
    return seen


def nonfinite(world: World, payload: dict) -> dict:
    """A NaN on rank 1 only: both ranks read the same first non-finite step."""
    totals = StepTotals(torch.device("cpu"), step=10, world=world)
    for i in range(6):
        bad = world.rank == 1 and i == payload["nan_at"]
        loss = torch.tensor(float("nan") if bad else 0.5)
        totals.add(loss, torch.zeros(4, 3), torch.zeros(4, dtype=torch.int64))
    return {"nonfinite": totals.nonfinite_step(), "window_mean_finite": totals.window_mean() == totals.window_mean()}


SCENARIOS = {"evaluation": evaluation, "controls": controls, "nonfinite": nonfinite}
