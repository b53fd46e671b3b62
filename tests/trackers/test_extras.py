"""The optional extras (W&B, MLflow) missing: one line naming the pip command, from the
export command (exit 2), before a run folder exists, and as a warning in a run."""

from __future__ import annotations

import sys

import pytest
from helpers import run_tiny, tiny_config

from tui_trainer import events as ev
from tui_trainer.cli import main
from tui_trainer.errors import ConfigError
from tui_trainer.trackers import preflight

PIP = {"wandb": "pip install 'tui-trainer[wandb]'", "mlflow": "pip install 'tui-trainer[mlflow]'"}


@pytest.fixture
def missing(monkeypatch):
    """Neither extra can be imported (None in sys.modules: an ImportError, no spec)."""
    for module in PIP:
        monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize("to", ["wandb", "mlflow"])
def test_export_without_the_extra_is_one_line_and_exit_2(runs_dir, missing, capsys, to):
    _, run, _, _ = run_tiny(runs_dir, tiny_config(train={"epochs": 1}))
    capsys.readouterr()
    assert main(["export", run.id, "--to", to]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"--to {to}: the {to} extra is not installed: {PIP[to]}" in err, err
    assert not (run.dir / "export").exists()


def test_preflight_refuses_a_config_asking_for_a_missing_extra(missing):
    with pytest.raises(ConfigError, match=r"log\.wandb: the wandb extra is not installed: pip install"):
        preflight(tiny_config(log={"wandb": True}))
    with pytest.raises(ConfigError, match=r"log\.mlflow_uri: the mlflow extra is not installed: pip install"):
        preflight(tiny_config(log={"mlflow_uri": "sqlite:///x.db"}))
    preflight(tiny_config())  # asks for neither


def test_a_run_asking_for_a_missing_extra_warns_and_trains_on(runs_dir, missing):
    _, _, col, end = run_tiny(runs_dir, tiny_config(log={"wandb": True, "tensorboard": False}))
    assert isinstance(end, ev.Finished)
    warnings = [e.message for e in col.of(ev.Log) if e.level == "warning"]
    assert warnings == [
        f"W&B logging switched off for this run: log.wandb: the wandb extra is not installed: {PIP['wandb']}"
    ]
