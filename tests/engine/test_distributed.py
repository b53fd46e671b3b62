"""Data parallelism: the sharding of batches and of the test set (in one process), and
what two gloo processes agree on: reduced metrics, controls at the same step, a NaN on
one rank. Every multi-process test has a timeout and kills what it started."""

from __future__ import annotations

import json
import math
import multiprocessing as mp
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from dist_workers import WORLD, run
from helpers import tiny_config

from tui_trainer.config import DataConfig
from tui_trainer.data import ImageData, load_data
from tui_trainer.data.batches import DeviceData, shard_of
from tui_trainer.engine.distributed import SOLO, World, world_from_env
from tui_trainer.engine.evaluation import evaluate
from tui_trainer.engine.setup import build_parts

TIMEOUT_S = 90


def recording_data(n_train: int, n_test: int = 10) -> ImageData:
    """Labels are the images' indices, so a batch's labels say which images it holds."""
    g = torch.Generator().manual_seed(0)
    return ImageData(
        train_x=torch.randint(0, 256, (n_train, 3, 8, 8), generator=g, dtype=torch.uint8),
        train_y=torch.arange(n_train),
        test_x=torch.randint(0, 256, (n_test, 3, 8, 8), generator=g, dtype=torch.uint8),
        test_y=torch.arange(n_test),
        classes=("a", "b"),
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        source="recording",
    )


def epoch_batches(
    dd: DeviceData, batch: int, shard: tuple[int, int], seed: int, start: int = 0, stop: int | None = None
):
    """Batches ``start``..``stop`` of the epoch a generator seeded ``seed`` draws."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i, (x, y) in enumerate(dd.train_batches(batch, g, ("crop", "hflip"), 2, start=start, shard=shard), start=start):
        if stop is not None and i >= stop:
            break
        out.append((x, y))
    return out


@pytest.mark.parametrize(("n", "batch", "ranks"), [(100, 16, 2), (103, 12, 3), (64, 8, 2)])
def test_ranks_take_disjoint_parts_of_each_global_batch(n, batch, ranks):
    dd = DeviceData(recording_data(n), "cpu", DataConfig())
    dd.block_bytes = 3 * 8 * 8 * 4 * batch * 2  # blocks of two batches: parts cross block edges
    solo = epoch_batches(dd, batch, (0, 1), seed=5)
    parts = [epoch_batches(dd, batch, (r, ranks), seed=5) for r in range(ranks)]
    assert all(len(p) == len(solo) for p in parts)
    for k, (x, y) in enumerate(solo):
        # The ranks' parts, in rank order, are the single process's batch: the same images,
        # augmented the same way (each rank draws the whole epoch's permutation and crops).
        assert torch.equal(torch.cat([p[k][1] for p in parts]), y)
        assert torch.equal(torch.cat([p[k][0] for p in parts]), x)
    seen = torch.cat([y for p in parts for _, y in p])
    assert sorted(seen.tolist()) == list(range(n))  # each image exactly once per epoch


@pytest.mark.parametrize(("before", "after"), [(2, 1), (1, 2), (2, 3)])
def test_a_mid_epoch_resume_at_another_world_size_continues_at_the_same_global_sample(before, after):
    n, batch, stopped_at = 120, 12, 4
    dd = DeviceData(recording_data(n), "cpu", DataConfig())
    first = [y for r in range(before) for _, y in epoch_batches(dd, batch, (r, before), seed=9, stop=stopped_at)]
    rest = [y for r in range(after) for _, y in epoch_batches(dd, batch, (r, after), seed=9, start=stopped_at)]
    seen = torch.cat(first + rest).tolist()
    assert sorted(seen) == list(range(n))


def test_a_last_batch_with_fewer_images_than_ranks_is_left_out():
    dd = DeviceData(recording_data(33), "cpu", DataConfig())  # 33 = 2 x 16 + 1: one image for 2 ranks
    assert dd.steps_per_epoch(16) == 3 and dd.steps_per_epoch(16, ranks=2) == 2
    parts = [epoch_batches(dd, 16, (r, 2), seed=1) for r in range(2)]
    assert [len(p) for p in parts] == [2, 2]
    assert all(y.shape[0] == 8 for p in parts for _, y in p)
    dd = DeviceData(recording_data(35), "cpu", DataConfig())  # 3 left over: each rank gets one or two
    assert dd.steps_per_epoch(16, ranks=2) == 3


def test_test_set_shards_cover_it_once():
    dd = DeviceData(recording_data(10, n_test=23), "cpu", DataConfig())
    labels = [y for r in range(3) for _, y in dd.test_batches(4, (r, 3))]
    assert torch.cat(labels).tolist() == list(range(23))
    assert [shard_of(23, r, 3) for r in range(3)] == [(0, 8), (8, 16), (16, 23)]


def test_world_from_torchrun_then_slurm_variables():
    assert world_from_env({}) == SOLO
    assert world_from_env({"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "8"}) == World(3, 1, 8)
    slurm = {"SLURM_PROCID": "5", "SLURM_LOCALID": "1", "SLURM_NTASKS": "8"}
    assert world_from_env(slurm) == World(5, 1, 8)
    # torchrun's variables win where both are set (torchrun inside an sbatch script).
    assert world_from_env({**slurm, "RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2"}) == World(0, 0, 2)


# -- two gloo processes ------------------------------------------------------------------


def two_ranks(tmp_path: Path, scenario: str, payload: dict) -> list[dict]:
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=run, args=(scenario, r, str(tmp_path), payload)) for r in range(WORLD)]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join(TIMEOUT_S)
        hung = [i for i, p in enumerate(procs) if p.is_alive()]
        assert not hung, f"rank(s) {hung} still running after {TIMEOUT_S} s"
        assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(5)
    return [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in range(WORLD)]


def test_reduced_evaluation_and_training_sums_equal_one_process(tmp_path):
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(12, 3, generator=g), torch.randint(0, 3, (12,), generator=g)
    ranks = two_ranks(tmp_path, "evaluation", {"x": x.tolist(), "y": y.tolist()})

    config = tiny_config()
    loss, acc = evaluate(build_parts(config, load_data(config.data), fresh=True))
    expect_loss = (F.cross_entropy(x[:5], y[:5]) * 5 + F.cross_entropy(x[5:], y[5:]) * 7).item()
    expect_correct = int((x.argmax(1) == y).sum())
    for r in ranks:
        assert r["acc"] == acc  # the counts are exact
        assert math.isclose(r["loss"], loss, rel_tol=1e-6)
        loss_sum, correct, seen = r["epoch_totals"]
        assert (correct, seen) == (expect_correct, 12)
        assert math.isclose(loss_sum, expect_loss, rel_tol=1e-6)


def test_stop_pause_and_save_reach_both_ranks_at_the_same_step(tmp_path):
    ranks = two_ranks(tmp_path, "controls", {"pause_at": 40, "stop_at": 120})
    assert ranks[0]["stopped_at"] == ranks[1]["stopped_at"] >= 120
    assert ranks[0]["paused_at"] == ranks[1]["paused_at"] >= 40
    assert all(r["paused_s"] > 1.0 for r in ranks)  # the pause outlasted its beats on both
    assert [r["saves"] for r in ranks] == [1, 1]  # a save while paused: both took part, once


def test_a_nan_on_one_rank_is_seen_by_both(tmp_path):
    ranks = two_ranks(tmp_path, "nonfinite", {"nan_at": 3})
    assert [r["nonfinite"] for r in ranks] == [14, 14]  # global step 10 + 3 + 1
