"""Where tui-trainer keeps things: data cache, runs, user presets.

Each can be moved with an environment variable (tests point them at temporary folders;
a GPU server may want its cache on a big disk).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "tui-trainer"


def _dir(env: str, default: str) -> Path:
    value = os.environ.get(env)
    return Path(value).expanduser() if value else Path(default)


def cache_dir() -> Path:
    """Decoded data-set tensors and downloaded data sets. Env: TUI_TRAINER_CACHE."""
    return _dir("TUI_TRAINER_CACHE", platformdirs.user_cache_dir(APP))


def runs_dir() -> Path:
    """Run folders. Env: TUI_TRAINER_RUNS; the command line's --runs-dir wins over both."""
    return _dir("TUI_TRAINER_RUNS", os.path.join(platformdirs.user_data_dir(APP), "runs"))


def user_presets_dir() -> Path:
    """User presets, which add to and override the built-in ones. Env: TUI_TRAINER_PRESETS."""
    return _dir("TUI_TRAINER_PRESETS", os.path.join(platformdirs.user_config_dir(APP), "presets"))


def builtin_presets_dir() -> Path:
    """The presets shipped with the package: inside the wheel, or the repo's top-level folder."""
    here = Path(__file__).resolve().parent
    packaged = here / "_presets"
    return packaged if packaged.is_dir() else here.parent / "presets"
