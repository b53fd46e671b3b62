"""Trackers: subscribers that take a run's events to other tools (TensorBoard, ...).

They are optional extras of a run, not its record (that is ``runs.RunRecorder``): a
tracker that fails is switched off with one warning in the run's log, and training
goes on. Each is made only where the run folder is written (rank 0), from the run's
``[log]`` config, by :func:`for_run`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .. import events as ev
from ..config import RunConfig
from ..errors import one_line

Warn = Callable[[str], None]


class Guarded:
    """A tracker whose failure is a warning, not the run's: after the first exception it
    is closed and hears nothing more."""

    def __init__(self, name: str, tracker: ev.Subscriber, warn: Warn) -> None:
        self.name, self.tracker, self.warn = name, tracker, warn
        self.failed: str | None = None

    def __call__(self, event: ev.Event) -> None:
        if self.failed is not None:
            return
        try:
            self.tracker(event)
        except Exception as exc:  # noqa: BLE001 - whatever the tool raised: training goes on
            self.failed = one_line(exc)
            close = getattr(self.tracker, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001, S110 - it failed already; the warning says so
                    pass
            self.warn(f"{self.name} switched off for this run: {self.failed}")


def for_run(run_dir: Path, config: RunConfig, warn: Warn) -> list[ev.Subscriber]:
    """The trackers a run's config asks for, each guarded."""
    found: list[ev.Subscriber] = []
    if config.log.tensorboard:
        from .tensorboard import TensorBoardWriter

        found.append(Guarded("TensorBoard logging", TensorBoardWriter(run_dir), warn))
    if config.log.system:
        from ..system.sampler import SYSTEM, SystemSampler

        found.append(Guarded("System sampling", SystemSampler(run_dir / SYSTEM), warn))
    notify = config.notify
    if notify.command or notify.urls:
        from ..alerts import Notifier

        found.append(Guarded("Notifications", Notifier(run_dir, notify, run_dir.name, warn), warn))
    return found
