"""The UI thread's CPU share while the app shows a fast run: the UI's cost to training.

    python3 benchmarks/ui_share.py [--epochs N] [--size 120x40] [--settle S] [--set KEY=VALUE ...]

Trains digits-cnn on the CPU under the live dashboard (headless Textual, as the bench's
app variant does) with epochs a tenth of a second apart, a harder load than a GPU run
gives the UI, and prints one JSON line: the UI thread's CPU share (``time.thread_time``
of the thread running the app, over wall time) in the run's first second, after
``settle`` seconds (the pacer's steady state), and over the whole run; and the pacer's
render intervals at the end. On a GPU the training thread spends most of its time in
Python launching kernels, so every millisecond the UI holds the GIL is one the engine
may wait: this share bounds what the app costs the engine there. To compare two
versions of the app, run it alternately with ``PYTHONPATH`` pointing at each checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from tui_trainer.app.app import TrainerApp
from tui_trainer.launch import prepare


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=300, help="digits-cnn epochs (default 300, about 30 s here)")
    ap.add_argument("--size", default="120x40", help="terminal size (default 120x40: all four panes shown)")
    ap.add_argument("--settle", type=float, default=10.0, help="seconds before the steady state (default 10)")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a config override, as for `tui-trainer train` (e.g. data.synthetic_size=16000 "
        "with data.dataset=synthetic: epochs a second apart)",
    )
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="tui-trainer-ui-share-") as tmp:
        launch = prepare(
            "digits-cnn", [f"train.epochs={args.epochs}", "train.device=cpu", *args.set], runs_dir=Path(tmp)
        )
        app = TrainerApp(launch=launch)
        marks: list[tuple[float, float]] = []

        async def drive() -> None:
            async with app.run_test(headless=True, size=size) as pilot:
                await pilot.pause()
                while app.session is None or app.session.run.status().get("status") != "running":
                    await asyncio.sleep(0.05)
                while not app.session.done.is_set():
                    marks.append((time.monotonic(), time.thread_time()))
                    await asyncio.sleep(0.1)  # a plain sleep: pilot.pause() would message every widget
                marks.append((time.monotonic(), time.thread_time()))
                pacers.append(app.session.screen.pacer)

        pacers: list = []
        asyncio.run(drive())
        pacer = pacers[0]

    def share(a: tuple[float, float], b: tuple[float, float]) -> float:
        return (b[1] - a[1]) / (b[0] - a[0])

    t0 = marks[0][0]
    first = next(m for m in marks if m[0] - t0 >= 1.0)
    settled = next((m for m in marks if m[0] - t0 >= args.settle), None)
    if settled is None or marks[-1][0] - settled[0] < 5:
        raise SystemExit(f"the run lasted {marks[-1][0] - t0:.0f} s: raise --epochs for a steady state after --settle")
    print(
        json.dumps(
            {
                "seconds": round(marks[-1][0] - t0, 1),
                "first_second": round(share(marks[0], first), 4),
                "steady": round(share(settled, marks[-1]), 4),
                "whole_run": round(share(marks[0], marks[-1]), 4),
                "live_interval": round(pacer.live.interval, 2),
                "epoch_interval": round(pacer.epoch.interval, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
