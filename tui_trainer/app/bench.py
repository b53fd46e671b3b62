"""The bench's third variant: the engine training under the live dashboard.

The app runs headless (no terminal needed) at 120x40 with the dashboard of the run
open, exactly as `tui-trainer train PRESET` shows it; the bench's timer subscribes to
the engine beside the app's own bridge. The data is loaded in the training thread, as
in `tui-trainer train`, and training starts once the dashboard is up, as when a run
is started from the running app.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import events as ev
from ..config import RunConfig
from ..launch import Launch
from ..runs import Run


def run_engine_in_app(
    config: RunConfig,
    subscribers: list[ev.Subscriber],
    setup: Callable[[RunConfig], tuple[RunConfig, Any]],
    timeout: float = 3600,
) -> None:
    """``setup`` runs in the training thread before the Trainer is built: it loads the
    data and returns the config to train and the data."""
    from .app import TrainerApp

    with tempfile.TemporaryDirectory(prefix="tui-trainer-bench-") as tmp:
        run = Run.create(Path(tmp), config)
        app = TrainerApp(launch=Launch(config, run))
        gate = threading.Event()
        app.session_options = {"subscribers": tuple(subscribers), "setup": setup, "gate": gate}

        async def drive() -> None:
            async with app.run_test(headless=True, size=(120, 40)) as pilot:
                try:
                    await pilot.pause()  # the dashboard is composed and drawn
                finally:
                    gate.set()  # whatever happened: a worker left waiting would hang the exit
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

        asyncio.run(drive())
