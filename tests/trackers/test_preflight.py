"""A tracker whose extra is missing is refused before a run folder exists."""

from __future__ import annotations

import importlib.util

import pytest

from tui_trainer.errors import ConfigError
from tui_trainer.launch import prepare


def test_a_missing_extra_is_one_line_before_any_run_folder(runs_dir, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(
        ConfigError, match=r"log.wandb: the wandb extra is not installed: pip install 'tui-trainer\[wandb\]'"
    ):
        prepare("digits-cnn", ["log.wandb=true"], runs_dir=runs_dir)
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
