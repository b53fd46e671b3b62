"""Trackers: subscribers that take a run's events to other tools (TensorBoard, W&B, MLflow).

They are optional extras of a run, not its record (that is ``runs.RunRecorder``): a
tracker that fails is switched off with one warning in the run's log, and training
goes on. Each is made only where the run folder is written (rank 0), from the run's
``[log]`` config, by :func:`for_run`. W&B and MLflow are optional extras, imported
only when a run or an export asks for them (:func:`import_extra`); :func:`preflight`
refuses a run whose config asks for one that is missing before its folder exists.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from .. import events as ev
from ..config import RunConfig
from ..errors import ConfigError, one_line

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


EXTRAS = {"wandb": "wandb", "mlflow": "mlflow"}  # module: the extra that installs it


def missing_extra(module: str, what: str) -> ConfigError:
    extra = EXTRAS[module]
    return ConfigError(f"{what}: the {extra} extra is not installed: pip install 'tui-trainer[{extra}]'")


def import_extra(module: str, what: str) -> ModuleType:
    """The module of an optional extra; a one-line ConfigError naming the pip command
    if it is not installed (``what`` is what asked for it: ``--to wandb``, ``log.wandb``)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing_extra(module, what) from exc


def require(module: str, what: str) -> None:
    """That an extra is installed, looked up without importing it (that waits for use)."""
    if importlib.util.find_spec(module) is None:
        raise missing_extra(module, what)


def preflight(config: RunConfig) -> None:
    """Before a run folder exists: the extras its ``[log]`` asks for are installed."""
    if config.log.wandb:
        require("wandb", "log.wandb")
    if config.log.mlflow_uri:
        require("mlflow", "log.mlflow_uri")


def for_run(run_dir: Path, config: RunConfig, warn: Warn) -> list[ev.Subscriber]:
    """The trackers a run's config asks for, each guarded."""
    found: list[ev.Subscriber] = []
    on_sample = []  # the system samples' listeners, called from the sampler's thread
    if config.log.tensorboard:
        from .tensorboard import TensorBoardWriter

        tensorboard = TensorBoardWriter(run_dir)
        on_sample.append(tensorboard.add_sample)  # a writer switched off is closed: its samples go nowhere
        found.append(Guarded("TensorBoard logging", tensorboard, warn))
    if config.log.wandb:
        from .wandb import WandbWriter

        found.append(Guarded("W&B logging", WandbWriter(run_dir, config.log.wandb_project), warn))
    if config.log.mlflow_uri:
        from .mlflow import MlflowWriter

        mlflow = MlflowWriter(config.log.mlflow_uri)
        on_sample.append(mlflow.add_sample)  # queued; the training thread sends them
        found.append(Guarded("MLflow logging", mlflow, warn))
    notifier = None
    if config.notify.command or config.notify.urls:
        from ..alerts import Notifier

        notifier = Notifier(run_dir, config.notify, run_dir.name, warn)
    if config.log.system:
        from ..system.sampler import SYSTEM, SystemSampler

        # Its flag of an idle GPU is said in the log and sent as an alert.
        on_flag = notifier.flag if notifier is not None else None
        sampler = SystemSampler(
            run_dir / SYSTEM, config.log.system_interval, warn=warn, on_flag=on_flag, on_sample=on_sample
        )
        found.append(Guarded("System sampling", sampler, warn))
    if notifier is not None:
        found.append(Guarded("Notifications", notifier, warn))
    return found
