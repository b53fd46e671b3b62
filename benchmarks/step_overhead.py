"""The engine's time per step beyond a bare loop: same tiny model, optimizer and batch.

    python3 benchmarks/step_overhead.py [--steps N] [--device cpu|cuda] [--set KEY=VALUE ...]

Trains a tiny CNN (synthetic 16x16 images, batch 32, crop + flip) for two epochs through
the engine, then times a bare loop (forward, loss, backward, optimizer and schedule
steps) over ready-made batches of the same data with the same model and optimizer. It
prints one JSON line: both times per step and their difference. To compare two versions
of the engine, run it alternately with ``PYTHONPATH`` pointing at each checkout.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import torch

from tui_trainer import events as ev
from tui_trainer.config import RunConfig
from tui_trainer.engine import Trainer
from tui_trainer.runs import Run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=400, help="steps per epoch (default 400)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (default 1: launches, not arithmetic)")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a config override (e.g. log.tensorboard=false log.system=false: the trackers' cost)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = RunConfig.from_dict(
        {
            "model": {"arch": "small_cnn", "widths": [8, 16], "hidden": 32},
            "data": {
                "dataset": "synthetic",
                "synthetic_size": 32 * args.steps,
                "synthetic_image": 16,
                "synthetic_classes": 4,
                "batch_size": 32,
                "augment": ["crop", "hflip"],
                "crop_padding": 2,
            },
            "optim": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
            "schedule": {"name": "cosine"},
            "train": {"epochs": 2, "device": args.device, "seed": 1, "precision": "fp32"},
            "checkpoint": {"every": 0},
        },
        name="step-overhead",
    ).with_overrides(args.set)
    ends: list[ev.EpochEnd] = []
    with tempfile.TemporaryDirectory() as runs:
        trainer = Trainer(
            config,
            run=Run.create(runs, config),
            subscribers=[lambda e: ends.append(e) if isinstance(e, ev.EpochEnd) else None],
        )
        trainer.run()
    engine_s = 32 / ends[-1].images_per_s  # the second epoch: warm
    # What the step uses: Trainer.parts since the engine's split, the Trainer itself before
    # (this script compares checkouts from both sides of it).
    parts = getattr(trainer, "parts", None) or trainer

    batches = list(parts.data.train_batches(32, torch.Generator(device=parts.device).manual_seed(0), [], 0))

    def bare() -> None:
        for x, y in batches:
            loss = parts.criterion(parts.forward(x), y)
            parts.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            parts.optimizer.step()
            parts.scheduler.step()
        if parts.device.type == "cuda":
            torch.cuda.synchronize()

    bare()  # warm
    t0 = time.perf_counter()
    bare()
    bare_s = (time.perf_counter() - t0) / len(batches)
    print(
        json.dumps(
            {
                "engine_us": round(1e6 * engine_s, 1),
                "bare_us": round(1e6 * bare_s, 1),
                "overhead_us": round(1e6 * (engine_s - bare_s), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
