"""`tui-trainer export`'s formats, read back and compared with metrics.jsonl."""

from __future__ import annotations

import csv

import pytest
from helpers import run_tiny, run_until_step, tiny_config
from test_tensorboard import assert_matches, read_scalars

from tui_trainer.checkpoints import load_checkpoint
from tui_trainer.errors import ConfigError
from tui_trainer.trackers.export import export, history


def test_export_replays_a_run_without_live_files_into_the_same_scalars(runs_dir, tmp_path):
    config = tiny_config(train={"log_interval": 0.01, "epochs": 3}, log={"tensorboard": False})
    run, stopped = run_until_step(runs_dir, config, 12)
    ckpt = load_checkpoint(run.resolve(stopped.checkpoint))
    run_tiny(runs_dir, config, resume=ckpt, run=run)
    assert not list(run.dir.glob("events.out.tfevents.*"))
    out, names = export(run, "tensorboard", tmp_path / "tb")
    assert len(names) == 2 and all(n.startswith("events.out.tfevents.") for n in names)  # one file an attempt
    assert_matches(read_scalars(out), run)


def test_export_to_csv_equals_the_metrics(runs_dir, tmp_path):
    _, run, _, _ = run_tiny(runs_dir, tiny_config(train={"log_interval": 0.01}))
    out, names = export(run, "csv", None)
    assert out == run.dir / "export" / "csv" and names == ["steps.csv", "epochs.csv", "system.csv"]
    steps, epochs = history(run)
    with open(out / "epochs.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [e["epoch"] for e in epochs] == [1, 2]
    assert [float(r["test_acc"]) for r in rows] == pytest.approx([e["test_acc"] for e in epochs])
    with open(out / "steps.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["step"]), float(r["loss"])) for r in rows] == pytest.approx([(s["step"], s["loss"]) for s in steps])
    assert [float(r["data_share"]) for r in rows] == pytest.approx([s["data_share"] for s in steps])


def test_export_refuses_a_folder_with_files_and_an_unknown_format(runs_dir, tmp_path):
    _, run, _, _ = run_tiny(runs_dir, tiny_config(train={"epochs": 1}))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me")
    with pytest.raises(ConfigError, match="exists and is not an empty folder"):
        export(run, "csv", tmp_path / "full")
    assert (tmp_path / "full" / "x").read_text() == "keep me"
    with pytest.raises(ConfigError, match="unknown format 'parquet'; allowed: csv, tensorboard, wandb, mlflow"):
        export(run, "parquet", tmp_path / "p")
    assert not (tmp_path / "p").exists()
