"""Turning what the user asked for (a preset, overrides, a run to resume) into a
config, a run folder and an optional checkpoint to continue from. Shared by the
headless command and the app, so both resume and name runs the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths, presets
from .config import RunConfig, override_text, parse_text
from .errors import CheckpointError, ConfigError, DataError
from .runs import LIVE_STATUSES, STATUS, Run, checkpoint_or_run


@dataclass
class Launch:
    config: RunConfig
    run: Run
    resume: dict[str, Any] | None = None
    overrides: list[str] = field(default_factory=list)  # as given: a child process applies them again


def shorthand_overrides(
    epochs: int | None = None, device: str | None = None, data_root: str | None = None, devices: str | None = None
) -> list[str]:
    """``--epochs``, ``--device``, ``--data-root`` and ``--devices`` as the ``--set``
    overrides they stand for (``--devices`` as typed: 4, all, [0, 2])."""
    values: dict[str, object] = {"train.epochs": epochs, "train.device": device}
    if devices is not None:
        values["train.devices"] = parse_text("train.devices", devices)
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


def preflight(config: RunConfig) -> None:
    """What is checked before a run folder exists, so that bad input leaves none behind:
    the data is there (or is to be downloaded), the device named outright exists, the
    trackers' extras are installed, the notify URLs are ones apprise can send to. Raises
    the run's own one-line error."""
    from .data.availability import check

    found = check(config.data)
    if not found.usable:
        assert found.problem is not None
        raise DataError(found.problem)
    preflight_beyond_data(config)


def preflight_beyond_data(config: RunConfig) -> None:
    """:func:`preflight` less the data, for a caller that checked it already (the
    picker, which offers to download or point at missing data)."""
    from . import trackers
    from .alerts import check_urls

    if config.train.device not in ("auto", "cpu"):
        # Only a device named outright (cuda, cuda:1, mps) costs the torch import here.
        from .engine.device import resolve_device

        resolve_device(config.train.device)
    trackers.preflight(config)
    check_urls(config.notify.urls)


def prepare(
    preset: str | None,
    overrides: list[str],
    resume: str | None = None,
    runs_dir: Path | None = None,
    check: Callable[[RunConfig], None] | None = preflight,
) -> Launch:
    """The config, its run folder and the checkpoint to continue from; ``check`` sees
    the config before a run folder exists (:func:`preflight` unless told otherwise)."""
    runs_dir = Path(runs_dir) if runs_dir else paths.runs_dir()
    config, state = resolve(preset, overrides, resume, runs_dir)
    if check is not None:
        check(config)
    if state is None:
        launch = new_run(config, runs_dir)
    else:
        assert resume is not None
        launch = _resumed(config, state, resume, runs_dir)
    launch.overrides = list(overrides)
    return launch


def resolve(
    preset: str | None, overrides: list[str], resume: str | None, runs_dir: Path
) -> tuple[RunConfig, dict[str, Any] | None]:
    """The config a train command asks for, and the checkpoint it resumes (or None)."""
    if resume is None:
        if preset is None:
            raise ConfigError("train: name a preset (see `tui-trainer presets`) or pass --resume RUN_OR_CHECKPOINT")
        return presets.load(preset).with_overrides(overrides), None
    from .checkpoints import load_checkpoint  # imports torch: a resume needs it, `--help` does not

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
    return config, state


def _resumed(config: RunConfig, state: dict[str, Any], resume: str, runs_dir: Path) -> Launch:
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
