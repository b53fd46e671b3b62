"""MLflow runs of a run, live (log.mlflow_uri) and exported, into a SQLite store in tmp:
read back with MLflow's own MlflowClient and compared with metrics.jsonl."""

from __future__ import annotations

import pytest
from helpers import run_started, run_tiny, run_until_step, tiny_config
from test_tensorboard import assert_matches, expected

from tui_trainer import events as ev
from tui_trainer.checkpoints import load_checkpoint
from tui_trainer.errors import ConfigError
from tui_trainer.trackers.export import export
from tui_trainer.trackers.mlflow import RUN_TAG, MlflowWriter
from tui_trainer.trackers.scalars import hparams

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra writes the runs")


@pytest.fixture
def uri(tmp_path):
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def mlflow_run(uri, run_id):
    client = mlflow.MlflowClient(tracking_uri=uri)
    (found,) = client.search_runs(
        [client.get_experiment_by_name("tui-trainer").experiment_id], f"tags.`{RUN_TAG}` = '{run_id}'"
    )
    return client, found


def metrics(client, found):
    history = client.get_metric_history
    return {tag: [(m.step, m.value) for m in history(found.info.run_id, tag)] for tag in found.data.metrics}


def test_a_run_with_log_mlflow_uri_logs_its_metrics_params_and_status(runs_dir, uri):
    config = tiny_config(train={"log_interval": 0.01}, log={"mlflow_uri": uri, "tensorboard": False})
    _, run, col, end = run_tiny(runs_dir, config)
    assert isinstance(end, ev.Finished) and not [e for e in col.of(ev.Log) if e.level == "warning"]
    client, found = mlflow_run(uri, run.id)
    assert (found.info.run_name, found.info.status) == (run.id, "FINISHED")
    assert found.data.params == {k: str(v) for k, v in hparams(config.to_dict()).items()}
    assert_matches(metrics(client, found), run)


def test_a_stopped_run_is_killed_and_its_resume_goes_on_in_the_same_mlflow_run(runs_dir, uri):
    config = tiny_config(train={"log_interval": 0.01, "epochs": 3}, log={"mlflow_uri": uri, "tensorboard": False})
    run, stopped = run_until_step(runs_dir, config, 12)
    assert mlflow_run(uri, run.id)[1].info.status == "KILLED"
    run_tiny(runs_dir, config, resume=load_checkpoint(run.resolve(stopped.checkpoint)), run=run)
    client, found = mlflow_run(uri, run.id)  # one run: the same
    assert found.info.status == "FINISHED"
    got = metrics(client, found)["epoch/test_acc"]
    assert got[-3:] == pytest.approx(expected(run)["epoch/test_acc"])  # MLflow keeps the attempts' repeats


def test_export_to_mlflow_merges_the_attempts_and_refuses_a_second_copy(runs_dir, tmp_path):
    config = tiny_config(train={"log_interval": 0.01, "epochs": 3}, log={"tensorboard": False})
    run, stopped = run_until_step(runs_dir, config, 12)
    run_tiny(runs_dir, config, resume=load_checkpoint(run.resolve(stopped.checkpoint)), run=run)
    where, names = export(run, "mlflow", None)
    assert where == f"sqlite:///{run.dir / 'export' / 'mlflow.db'}" and names == [f"MLflow run {run.id}"]
    client, found = mlflow_run(where, run.id)
    assert found.info.status == "FINISHED"
    assert_matches(metrics(client, found), run)  # each step once
    with pytest.raises(ConfigError, match=f"already holds run {run.id}"):
        export(run, "mlflow", run.dir / "export" / "mlflow.db")  # a path: the same SQLite file


def test_a_failed_run_s_mlflow_status_is_failed(uri):
    writer = MlflowWriter(uri)
    writer(run_started())
    writer(ev.Failed(reason="boom", error="RuntimeError", epoch=0, step=0, checkpoint=None))
    assert mlflow_run(uri, "20261203-000000-tiny")[1].info.status == "FAILED"


def test_export_to_a_store_mlflow_refuses_is_one_line(runs_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    _, run, _, _ = run_tiny(runs_dir, tiny_config(train={"epochs": 1}))
    with pytest.raises(ConfigError, match=r"^--to mlflow file:///\S+: The filesystem tracking backend") as info:
        export(run, "mlflow", f"file://{tmp_path / 'mlruns'}")
    assert "\n" not in str(info.value)
