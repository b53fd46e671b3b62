"""What one epoch render of the dashboard costs the UI thread, without training beside it.

    python3 benchmarks/render_cost.py [--epochs-per-render K] [--renders N] [--size 120x40] [--profile]

A dashboard at the given terminal size is fed a synthetic run: each render takes K
epochs' events (EpochEnd, a checkpoint saved and one pruned, a log line), as a run
with epochs K times closer together than the epoch tier's interval gives it, and then
Textual lays out and paints. It prints one JSON line: the UI thread's CPU time
(``time.thread_time``) per render, its median over the renders after the first few
(the table's first rows and the chart's set-up are not typical), less what the same
loop costs with nothing fed. CPU time, not wall time: a busy machine changes it
little, so two checkouts compare on a shared machine (run each alternately, with
``PYTHONPATH`` pointing at it). ``--profile`` prints where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import math
import pstats
import statistics
import time

from tui_trainer import events as ev
from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.dashboard import DashboardScreen

SETTLE_S = 0.05  # long enough for Textual's update timer (layout, paint) to run after a feed


def started(epochs: int) -> ev.RunStarted:
    return ev.RunStarted(
        run_id="20261203-000000-render",
        run_dir="/runs/render",
        preset="render",
        config={},
        model_summary="cnn",
        param_count=100_000,
        device="cuda:0",
        device_name="GPU",
        precision="bf16",
        data_summary="synthetic",
        epochs=epochs,
        steps_per_epoch=16,
    )


def checkpoint_path(epoch: int) -> str:
    return f"/runs/render/checkpoints/epoch_{epoch:03d}_acc_{accuracy(epoch):05.2f}.pt"


def accuracy(epoch: int) -> float:
    return 90 - 60 * math.exp(-epoch / 20) + 0.5 * math.sin(epoch)


def epoch_events(epoch: int, epochs: int) -> list[ev.Event]:
    """An epoch's events; the checkpoint of two epochs before is pruned (keep_last 2)."""
    acc, path = accuracy(epoch), checkpoint_path(epoch)
    return [
        ev.Step(epoch=epoch, step=16 * epoch, batch=16, batches=16, loss=1 / epoch, lr=0.01, images_per_s=9000.0),
        ev.EpochEnd(
            epoch=epoch,
            epochs=epochs,
            step=16 * epoch,
            train_loss=1 / epoch,
            train_acc=acc - 1,
            test_loss=1.1 / epoch,
            test_acc=acc,
            lr=0.01,
            seconds=0.1,
            images_per_s=9000.0,
            best=False,
        ),
        ev.CheckpointSaved(path=path, epoch=epoch, step=16 * epoch, test_acc=acc, size=1_000_000, best=False),
        ev.CheckpointRemoved(path=checkpoint_path(epoch - 2)),
    ]


async def measure(args: argparse.Namespace, prof: cProfile.Profile | None) -> tuple[list[float], float]:
    epochs = args.epochs_per_render * args.renders
    app = TrainerApp()
    size = tuple(int(v) for v in args.size.split("x"))
    async with app.run_test(headless=True, size=size) as pilot:
        screen = DashboardScreen()
        await app.push_screen(screen)
        await pilot.pause()
        screen.feed([started(epochs)])
        await asyncio.sleep(0.3)
        idle = []
        for _ in range(10):  # the loop's own cost: a sleep, nothing fed
            c = time.thread_time()
            await asyncio.sleep(SETTLE_S)
            idle.append(time.thread_time() - c)
        costs = []
        epoch = 0
        if prof:
            prof.enable()
        for _ in range(args.renders):
            batch: list[ev.Event] = []
            for _ in range(args.epochs_per_render):
                epoch += 1
                batch += epoch_events(epoch, epochs)
            c = time.thread_time()
            screen.feed(batch)
            await asyncio.sleep(SETTLE_S)
            costs.append(time.thread_time() - c)
        if prof:
            prof.disable()
    return costs, statistics.median(idle)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs-per-render", type=int, default=20, help="epochs fed per render (default 20)")
    ap.add_argument("--renders", type=int, default=15, help="renders measured (default 15)")
    ap.add_argument("--size", default="120x40", help="terminal size (default 120x40: all four panes shown)")
    ap.add_argument("--profile", action="store_true", help="print the 40 costliest calls of the renders (cumulative)")
    args = ap.parse_args()
    prof = cProfile.Profile() if args.profile else None
    costs, idle = asyncio.run(measure(args, prof))
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
    typical = costs[3:] or costs
    print(
        json.dumps(
            {
                "ms_per_render": round(1000 * (statistics.median(typical) - idle), 2),
                "first_render_ms": round(1000 * (costs[0] - idle), 2),
                "idle_ms": round(1000 * idle, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
