"""What moving the focus between the picker's fields costs the UI thread: CPU per Tab.

    python3 benchmarks/key_cost.py [--presses N] [--size 80x24]

The picker opens (no training), enter moves the focus into the hyperparameter editor,
and Tab is pressed N times, each waited for until Textual has laid out and painted.
It prints one JSON line: the process's CPU time (``time.process_time``, the UI thread
and Textual's own) per Tab, median over blocks of 10 presses. CPU time, not wall time:
two checkouts compare on a shared machine, run alternately with ``PYTHONPATH``
pointing at each (BENCHMARKS.md, "Focus moves").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from tui_trainer.app.app import TrainerApp

BLOCK = 10


async def measure(presses: int, size: tuple[int, int]) -> dict[str, float]:
    app = TrainerApp()
    async with app.run_test(size=size) as pilot:
        while app.screen.query("#editor").first(None) is None or not app.screen.query("#hp-train-epochs"):
            await pilot.pause(0.05)
        await pilot.pause(1.0)  # the preview's parameter count and warm-up settle
        await pilot.press("enter")  # from the list to the editor's first field
        await pilot.pause(0.2)
        blocks = []
        for _ in range(presses // BLOCK):
            t = time.process_time()
            for _ in range(BLOCK):
                await pilot.press("tab")
                await pilot.pause()
            blocks.append((time.process_time() - t) / BLOCK)
    return {"tab_cpu_ms": 1000 * statistics.median(blocks), "blocks": len(blocks)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--size", default="80x24")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    print(json.dumps(asyncio.run(measure(args.presses, (width, height)))))


if __name__ == "__main__":
    main()
