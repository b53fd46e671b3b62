"""`tui-trainer export` from the command line: files written, bad input one line."""

from __future__ import annotations

import csv

import pytest
from conftest import cli, subprocess_env
from helpers import run_tiny, tiny_config


@pytest.fixture
def env(isolated_dirs):
    return subprocess_env(isolated_dirs)


def test_export_writes_the_run_s_csv_and_says_where(runs_dir, env, tmp_path):
    _, run, _, _ = run_tiny(runs_dir, tiny_config(train={"epochs": 2}))
    out = tmp_path / "out"
    r = cli(["export", run.id, str(out)], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{run.id}: steps.csv, epochs.csv, system.csv in {out}"
    with open(out / "epochs.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2"]


def test_export_s_bad_input_is_one_line(runs_dir, env, tmp_path):
    _, run, _, _ = run_tiny(runs_dir, tiny_config(train={"epochs": 1}))
    for args, said in (
        (["export", run.id, "--to", "excel"], "--to: unknown format 'excel'; allowed: csv, tensorboard, wandb, mlflow"),
        (["export", "no-such-run"], "no-such-run"),
    ):
        r = cli(args, env)
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and said in r.stderr, r.stderr


def test_export_to_wandb_says_the_sync_command(runs_dir, env, tmp_path):
    pytest.importorskip("wandb", reason="the wandb extra")
    _, run, _, _ = run_tiny(runs_dir, tiny_config(train={"epochs": 1}))
    out = tmp_path / "wb"
    r = cli(["export", run.id, "--to", "wandb", str(out)], {**env, "WANDB_DIR": str(tmp_path), "WANDB_SILENT": "true"})
    assert r.returncode == 0, r.stderr
    (offline,) = (out / "wandb").glob("offline-run-*")
    rel = offline.relative_to(out)
    assert r.stdout.strip() == f"{run.id}: {rel} in {out}; upload it with `wandb sync {offline}`"
    assert list(offline.glob("run-*.wandb"))


def test_export_to_mlflow_takes_a_tracking_uri_after_the_options(runs_dir, env, tmp_path):
    mlflow = pytest.importorskip("mlflow", reason="the mlflow extra")
    _, run, _, _ = run_tiny(runs_dir, tiny_config(train={"epochs": 1}))
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    r = cli(["export", run.id, "--to", "mlflow", uri], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{run.id}: MLflow run {run.id} in {uri}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    (found,) = client.search_runs([client.get_experiment_by_name("tui-trainer").experiment_id])
    assert (found.info.run_name, found.info.status) == (run.id, "FINISHED")
