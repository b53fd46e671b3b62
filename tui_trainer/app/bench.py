"""The bench's third variant: the engine training under the live dashboard.

The app runs headless (no terminal needed) at 120x40 with the dashboard of the run
open, exactly as `tui-trainer train PRESET` shows it; the bench's timer subscribes to
the engine beside the app's own bridge.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import torch

from .. import events as ev
from ..config import RunConfig
from ..launch import Launch
from ..runs import Run


def run_engine_in_app(config: RunConfig, data: Any, subscribers: list[ev.Subscriber], timeout: float = 3600) -> None:
    from .app import TrainerApp

    threads = torch.get_num_threads()  # the app may leave a core for the UI: restore it after
    with tempfile.TemporaryDirectory(prefix="tui-trainer-bench-") as tmp:
        run = Run.create(Path(tmp), config)
        app = TrainerApp(launch=Launch(config, run))
        app.session_options = {"subscribers": tuple(subscribers), "data": data}

        async def drive() -> None:
            async with app.run_test(headless=True, size=(120, 40)) as pilot:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + timeout
                while app.session is None or not app.session.done.is_set():
                    if loop.time() > deadline:
                        raise TimeoutError("the app's training run did not end in time")
                    # A plain sleep: pilot.pause() would message every widget each time,
                    # work the real app never does, billed to the app's images/s.
                    await asyncio.sleep(0.25)
                if isinstance(app.session.result, ev.Failed):
                    raise RuntimeError(app.session.result.reason)

        try:
            asyncio.run(drive())
        finally:
            torch.set_num_threads(threads)
