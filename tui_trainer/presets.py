"""Presets: named TOML configs. Built-in ones ship with the package; a user presets
folder adds to them and overrides them by name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .config import RunConfig, load_toml_text
from .errors import ConfigError, did_you_mean
from .fileio import write_text_atomic

DEFAULT_PRESET = "digits-cnn"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class PresetEntry:
    name: str
    path: Path
    source: str  # "built-in" or "user"
    overrides_builtin: bool = False


def available() -> dict[str, PresetEntry]:
    """All presets by name, user presets winning over built-in ones, sorted by name."""
    found: dict[str, PresetEntry] = {}
    for p in sorted(paths.builtin_presets_dir().glob("*.toml")):
        found[p.stem] = PresetEntry(p.stem, p, "built-in")
    user_dir = paths.user_presets_dir()
    if user_dir.is_dir():
        for p in sorted(user_dir.glob("*.toml")):
            found[p.stem] = PresetEntry(p.stem, p, "user", overrides_builtin=p.stem in found)
    return dict(sorted(found.items()))


def load_file(path: Path, name: str | None = None) -> RunConfig:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read preset: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: cannot read preset: not UTF-8 text (a preset is a TOML file)") from None
    data = load_toml_text(text, str(path))
    try:
        return RunConfig.from_dict(data, name=name or Path(path).stem)
    except ConfigError as exc:
        raise ConfigError(f"{Path(path).name}: {exc}") from None


def load(name: str) -> RunConfig:
    """A preset by name, or a path to a TOML file."""
    if name.endswith(".toml") or "/" in name:
        p = Path(name).expanduser()
        if not p.is_file():
            raise ConfigError(f"{name}: no such preset file")
        return load_file(p)
    entries = available()
    if name not in entries:
        raise ConfigError(
            f"unknown preset '{name}'{did_you_mean(name, entries)}; see `tui-trainer presets` "
            f"(available: {', '.join(entries)})"
        )
    return load_file(entries[name].path, name)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(
            f"preset name {name!r} is not allowed; use letters, digits, '.', '_' or '-' (at most 64, not starting with a symbol)"
        )
    return name


def save_user_preset(name: str, config: RunConfig) -> Path:
    """Write ``config`` as a user preset; returns its path."""
    check_name(name)
    folder = paths.user_presets_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    write_text_atomic(path, f"# Saved by tui-trainer from preset '{config.name}'\n" + config.to_toml())
    return path
