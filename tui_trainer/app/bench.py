"""The bench's third variant: the engine training under the live dashboard.

The app runs headless (no terminal needed) at 120x40 with the dashboard of the run
open, exactly as `tui-trainer train PRESET` shows it; the bench's timer subscribes to
the engine beside the app's own bridge. The data is loaded in the training thread, as
in `tui-trainer train`, and training starts once the dashboard is up, as when a run
is started from the running app.

:func:`app_loop` is the variant as the core bench runs it (``tui_trainer.bench.Loop``):
the command line hands it to ``run_bench``, which calls it in a fresh process. What
the bench needs from the app lives here, in :class:`BenchApp` and :class:`BenchSession`,
not in the app's own classes.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .. import events as ev
from ..bench import StepTimer, bench_config
from ..config import RunConfig
from ..data import load_data
from ..launch import Launch
from ..runs import Run
from .app import TrainerApp
from .bridge import TrainingSession

if TYPE_CHECKING:
    from textual.message_pump import MessagePump

    from ..engine.trainer import Trainer
    from ..runs import RunRecorder

SIZE = (120, 40)  # every pane shown: the app at its heaviest
TIMEOUT_S = 3600.0


def app_loop(config: RunConfig, steps: int, warmup: int, cache: Path | None = None) -> float:
    """Images/s of the engine under the live dashboard (a ``tui_trainer.bench.Loop``)."""
    timer = StepTimer(warmup, config)
    with tempfile.TemporaryDirectory(prefix="tui-trainer-bench-") as tmp:
        app = BenchApp(Launch(config, Run.create(Path(tmp), config)), timer, steps, warmup, cache)
        asyncio.run(app.measure())
    return timer.images_per_s()


class BenchSession(TrainingSession):
    """A session that waits for the dashboard to be drawn, loads its data in the
    training thread, trains the bench's config and adds the bench's timer."""

    def __init__(self, launch: Launch, target: MessagePump, bench: BenchApp) -> None:
        super().__init__(launch, target)
        self.bench = bench

    def build_trainer(self, recorder: RunRecorder) -> Trainer:
        from ..engine.trainer import Trainer

        bench = self.bench
        bench.gate.wait()
        data = load_data(self.launch.config.data, bench.cache)
        config = bench_config(self.launch.config, data, bench.steps, bench.warmup)
        return Trainer(config, run=self.run, subscribers=[recorder, self.bridge, bench.timer], data=data)


class BenchApp(TrainerApp):
    """The app on the dashboard of one bench run, driven headless until the run ends."""

    def __init__(self, launch: Launch, timer: StepTimer, steps: int, warmup: int, cache: Path | None) -> None:
        super().__init__(launch=launch)
        self.timer, self.steps, self.warmup, self.cache = timer, steps, warmup, cache
        self.gate = threading.Event()  # training waits for it: set once the dashboard is up

    def new_session(self, launch: Launch, history: list[ev.Event] | None) -> BenchSession:
        return BenchSession(launch, self, self)

    async def measure(self, timeout: float = TIMEOUT_S) -> None:
        """Run the app until its training run has ended; a failed run raises its error."""
        async with self.run_test(headless=True, size=SIZE) as pilot:
            try:
                await pilot.pause()  # the dashboard is composed and drawn
            finally:
                self.gate.set()  # whatever happened: a worker left waiting would hang the exit
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            # The result: the engine's, or report_worker_error's for a failure outside it.
            while (session := self.session) is None or session.result is None or not session.done.is_set():
                if loop.time() > deadline:
                    raise TimeoutError("the app's training run did not end in time")
                # A plain sleep: pilot.pause() would message every widget each time,
                # work the real app never does, billed to the app's images/s.
                await asyncio.sleep(0.25)
            if isinstance(session.result, ev.Failed):
                raise session.error or RuntimeError(session.result.reason)
