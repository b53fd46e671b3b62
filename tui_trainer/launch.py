"""Turning what the user asked for (a preset, overrides, a run to resume) into a
config, a run folder and an optional checkpoint to continue from. Shared by the
headless command and the app, so both resume and name runs the same way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import paths, presets
from .checkpoints import load_checkpoint
from .config import RunConfig, override_text
from .errors import CheckpointError, ConfigError
from .runs import LIVE_STATUSES, STATUS, Run, checkpoint_or_run


@dataclass
class Launch:
    config: RunConfig
    run: Run
    resume: dict[str, Any] | None = None


def shorthand_overrides(
    epochs: int | None = None, device: str | None = None, data_root: str | None = None
) -> list[str]:
    """``--epochs``, ``--device`` and ``--data-root`` as the ``--set`` overrides they stand for."""
    values: dict[str, object] = {"train.epochs": epochs, "train.device": device}
    if data_root is not None:
        values["data.root"] = str(Path(data_root).expanduser().absolute())
    return [override_text(key, value) for key, value in values.items() if value is not None]


def new_run(config: RunConfig, runs_dir: Path | None = None) -> Launch:
    """A new run folder for ``config`` (the app's picker starts the config it shows)."""
    config = _absolute_root(config)
    return Launch(config, Run.create(Path(runs_dir) if runs_dir else paths.runs_dir(), config))


def _absolute_root(config: RunConfig) -> RunConfig:
    """data.root as an absolute path: the run's config must find the data again from any
    folder (a resume, an eval, the app started elsewhere), not only from where it began."""
    root = config.data.root
    if not root or Path(root).expanduser().is_absolute():
        return config
    return config.with_value("data.root", str(Path(root).expanduser().absolute()))


def _run_of_checkpoint(path: Path) -> Run | None:
    """The run folder a checkpoint lives in (<run>/checkpoints/x.pt), if any."""
    run_dir = path.resolve().parent.parent
    return Run(run_dir) if (run_dir / STATUS).exists() else None


def prepare(
    preset: str | None,
    overrides: list[str],
    resume: str | None = None,
    runs_dir: Path | None = None,
) -> Launch:
    runs_dir = Path(runs_dir) if runs_dir else paths.runs_dir()
    if resume is None:
        if preset is None:
            raise ConfigError("train: name a preset (see `tui-trainer presets`) or pass --resume RUN_OR_CHECKPOINT")
        return new_run(presets.load(preset).with_overrides(overrides), runs_dir)

    target = checkpoint_or_run(resume, runs_dir)
    state = load_checkpoint(target)
    name = state.get("preset") or "resumed"
    if preset is not None and preset != name:
        raise ConfigError(
            f"--resume {resume}: that run trained preset '{name}', not '{preset}'; drop the preset argument to resume it"
        )
    config = _absolute_root(RunConfig.from_dict(state["config"], name=name).with_overrides(overrides))
    done = int(state["epoch"])
    if config.train.epochs <= done and not state.get("batch_in_epoch"):
        raise ConfigError(
            f"--resume {resume}: the run has already trained {done} of {config.train.epochs} epochs; "
            f"pass --epochs N with N > {done} to train further"
        )
    run = _run_of_checkpoint(Path(state["path"]))
    if run is None:
        run = Run.create(runs_dir, config)
    else:
        _refuse_if_live(run, resume)
        # Its config.toml/json are rewritten when the resume starts (RunRecorder, at
        # RunStarted), not here: a resume that fails to load leaves them as they were.
        run.reset_control()
    return Launch(config, run, state)


def _refuse_if_live(run: Run, resume: str) -> None:
    """Two processes training one run folder would interleave its events, status and
    checkpoints: a resume waits for the live one to end (a dead one is fine to resume)."""
    status = run.status()
    if status.get("status") not in LIVE_STATUSES or not status.get("pid"):
        return
    host = status.get("host")
    where = f"pid {status['pid']}" + (f" on {host}" if host and status.get("alive") is None else "")
    raise CheckpointError(
        f"--resume {resume}: run {run.id} is {status['status']} ({where}); stop it first with "
        f"`tui-trainer control {run.dir} stop`, then resume"
    )
