"""Shared fixtures. Every test gets its own cache, runs and user-presets folders, so the
suite never reads or writes the user's real ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Under pytest-xdist (`-n 2`) each worker, and each process it starts, computes on one
# thread: two workers of torch's default two OpenMP threads each on two cores spin against
# each other, and a 2 s training took 51 s. Set before torch is imported (it reads it then).
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ["OMP_NUM_THREADS"] = "1"

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    base = tmp_path_factory.mktemp("tui-trainer-home")
    dirs = {
        "TUI_TRAINER_CACHE": base / "cache",
        "TUI_TRAINER_RUNS": base / "runs",
        "TUI_TRAINER_PRESETS": base / "presets",
    }
    for key, value in dirs.items():
        monkeypatch.setenv(key, str(value))
    return dirs


@pytest.fixture
def runs_dir(isolated_dirs) -> Path:
    return isolated_dirs["TUI_TRAINER_RUNS"]


def shared_dataset(name: str) -> Path:
    """A file from ../shared/datasets, or skip the test with the reason."""
    path = SHARED_DATASETS / name
    if not path.exists():
        pytest.skip(f"{path} not present: the shared CIFAR-10 data sets sit beside the repo in CI only")
    return path


def subprocess_env(isolated_dirs) -> dict[str, str]:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in isolated_dirs.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def cli(
    args: list[str], env: dict[str, str], timeout: float = 180, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """``tui-trainer ARGS`` in a subprocess of this interpreter, no stdin, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "tui_trainer", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
