"""System samples (system.jsonl) as TensorBoard scalars: live, from the sampler's thread
through the writer's add_sample, and by export of a run folder; read back with
TensorBoard's own reader. Threads are waited for with deadlines, never unbounded."""

from __future__ import annotations

import csv
import json
import time

import pytest
from helpers import T0, run_started, run_tiny, tiny_config, write_run_folder
from test_tensorboard import read_scalars

from tui_trainer import events as ev
from tui_trainer.runs import Run
from tui_trainer.system.nvml import NVML, GpuReading
from tui_trainer.system.sampler import SYSTEM, SystemSampler, read_samples
from tui_trainer.trackers import Guarded, for_run
from tui_trainer.trackers.export import export, merged, with_samples
from tui_trainer.trackers.scalars import GIB, system_scalars
from tui_trainer.trackers.tensorboard import TensorBoardWriter

HOST = {"cpu_percent": 12.5, "ram_used": 3 * GIB, "ram_total": 16 * GIB, "rss": GIB // 2}


class FakeNVML(NVML):
    """Two GPUs, whose utilisation counts up a sample at a time (no driver needed)."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def query(self, uuid: str) -> GpuReading:
        self.n += 1
        return GpuReading(uuid, memory_used=2 * GIB, memory_total=80 * GIB, utilisation=self.n % 100, power_w=250.5)


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def step(n: int, share: float, **when) -> ev.Step:
    return ev.Step(
        epoch=1, step=n, batch=n, batches=100, loss=1.0, lr=0.1, images_per_s=100.0, data_share=share, **when
    )


def same(got, want) -> bool:
    """The same (step, value) points, TensorBoard's values being float32."""
    return [s for s, _ in got] == [s for s, _ in want] and [v for _, v in got] == pytest.approx([v for _, v in want])


def points(samples, tag) -> list[tuple[int, float]]:
    return [(s.step, s.value) for sample in samples for s in system_scalars(sample) if s.tag == tag]


def test_a_sample_s_scalars_are_named_once_at_its_step_and_time():
    sample = {
        "time": T0,
        "step": 7,
        **HOST,
        "data_share": 0.4,
        "gpus": [{"uuid": "GPU-a", "utilisation": 90, "memory_used": GIB, "temperature_c": 61}, {"uuid": "GPU-b"}],
    }
    got = {s.tag: s.value for s in system_scalars(sample)}
    assert got == {
        "system/cpu_pct": 12.5,
        "system/ram_used_gib": 3.0,
        "system/rss_gib": 0.5,
        "system/gpu0/utilisation_pct": 90.0,
        "system/gpu0/memory_used_gib": 1.0,
        "system/gpu0/temperature_c": 61.0,
    }, "the data share is the Step's scalar, not the sample's copy"
    assert {(s.step, s.time) for s in system_scalars(sample)} == {(7, T0)}
    assert list(system_scalars({"time": T0, "error": "OSError: gone"})) == []
    assert list(system_scalars({"time": T0, **HOST})) == [], "an old sample without a step: the export gives one"


def test_the_sampler_s_samples_reach_tensorboard_live_at_their_steps(tmp_path):
    writer = TensorBoardWriter(tmp_path)
    sampler = SystemSampler(
        tmp_path / SYSTEM, interval=0.02, nvml=FakeNVML(), host=lambda: dict(HOST), on_sample=[writer.add_sample]
    )
    subscribers = [writer, sampler]  # as for_run orders them: the writer is open before the first sample
    started = run_started(device_uuids=["GPU-a", "GPU-b"])
    for s in subscribers:
        s(started)
    for n in (3, 6):
        wait_for(lambda n=n: len(read_samples(tmp_path)) >= n)
        for s in subscribers:
            s(step(n, 0.25 * n / 3))
    wait_for(lambda: read_samples(tmp_path)[-1]["step"] == 6)
    end = ev.Finished(epochs=1, best_acc=None, final_acc=None, seconds=1.0)
    sampler(end)  # the sampler first: every sample written has reached the writer when it closes
    writer(end)
    writer.add_sample({"time": time.time(), "step": 99, **HOST, "gpus": []})  # after the end: none taken
    samples = read_samples(tmp_path)
    assert {s["step"] for s in samples} == {0, 3, 6}
    got = read_scalars(tmp_path)
    for tag in ("system/cpu_pct", "system/rss_gib", "system/gpu0/utilisation_pct", "system/gpu1/power_w"):
        assert same(got[tag], points(samples, tag)), tag
    assert [v for _, v in got["system/gpu1/utilisation_pct"]] == [s["gpus"][1]["utilisation"] for s in samples]
    assert same(got["system/data_share"], [(3, 0.25), (6, 0.5)]), "from the Step events"


def test_a_run_with_log_system_writes_its_samples_to_tensorboard(runs_dir):
    # Ten epochs (about 0.4 s): several samples after the first steps, at 0.1 s apart.
    config = tiny_config(train={"log_interval": 0.01, "epochs": 10}, log={"system_interval": 0.1})
    _, run, col, end = run_tiny(runs_dir, config)
    assert isinstance(end, ev.Finished) and not [e for e in col.of(ev.Log) if e.level == "warning"]
    samples = read_samples(run.dir)
    got = read_scalars(run.dir)
    live = got["system/rss_gib"]
    # All of them but, at most, the one taken between the writer's close and the sampler's.
    assert len(samples) - 1 <= len(live) <= len(samples) and len(live) >= 2
    assert same(live, points(samples, "system/rss_gib")[: len(live)])
    assert {s for s, _ in live} != {0}, "samples at the run's steps"
    steps = col.of(ev.Step)
    assert same(got["system/data_share"], [(s.step, s.data_share) for s in steps])


def test_no_samples_to_tensorboard_without_log_tensorboard_or_log_system(runs_dir):
    def parts(**log):
        found = for_run(runs_dir, tiny_config(log=log), warn=print)
        return [g.tracker for g in found if isinstance(g, Guarded)]

    (writer, sampler) = parts()
    assert isinstance(sampler, SystemSampler) and sampler.on_sample == [writer.add_sample]
    (sampler,) = parts(tensorboard=False)
    assert isinstance(sampler, SystemSampler) and sampler.on_sample == []
    (writer,) = parts(system=False)
    assert isinstance(writer, TensorBoardWriter)


def folder_with_samples(runs_dir) -> Run:
    """A two-epoch run folder (epochs end at steps 10 and 20, at T0+1 and T0+2) and its
    samples: one from before samples had a step, one line the sampler's error."""
    folder = write_run_folder(runs_dir, "20261203-000000-tiny", "tiny", "finished", [50.0, 60.0], 2)
    events = folder / "events.jsonl"
    end = ev.Finished(epochs=2, best_acc=60.0, final_acc=60.0, seconds=2.0, time=T0 + 2.5)
    events.write_text(events.read_text() + json.dumps(end.to_dict()) + "\n")
    gpu = {"uuid": "GPU-a", "utilisation": 80, "memory_used": 4 * GIB, "memory_total": 80 * GIB}
    samples = [
        {"time": T0 + 0.5, "step": 0, **HOST, "gpus": [gpu]},
        {"time": T0 + 1.5, **HOST, "rss": GIB, "gpus": [{**gpu, "utilisation": 40}]},  # old: no step
        {"time": T0 + 2.2, "step": 20, **HOST, "data_share": 0.3, "gpus": [{**gpu, "utilisation": 5}]},
        {"time": T0 + 2.6, "step": 20, **HOST, "gpus": [gpu]},  # a moment after the end was made
        {"time": T0 + 2.7, "error": "OSError: gone"},
    ]
    (folder / SYSTEM).write_text("".join(json.dumps(s) + "\n" for s in samples) + '{"time": 1')
    return Run(folder)


def test_export_replays_system_jsonl_into_tensorboard(runs_dir, tmp_path):
    out, _ = export(folder_with_samples(runs_dir), "tensorboard", tmp_path / "tb")
    got = read_scalars(out)
    assert got["system/gpu0/utilisation_pct"] == [(0, 80.0), (10, 40.0), (20, 5.0), (20, 80.0)]
    assert same(got["system/rss_gib"], [(0, 0.5), (10, 1.0), (20, 0.5), (20, 0.5)])
    assert same(got["system/gpu0/memory_used_gib"], [(s, 4.0) for s in (0, 10, 20, 20)])
    assert [s for s, _ in got["epoch/test_acc"]] == [10, 20]


def test_export_to_csv_adds_system_csv_and_a_run_without_samples_exports_as_before(runs_dir, tmp_path):
    run = folder_with_samples(runs_dir)
    out, names = export(run, "csv", tmp_path / "csv")
    assert names == ["steps.csv", "epochs.csv", "system.csv"]
    with open(out / "system.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5 and [r["step"] for r in rows] == ["0", "", "20", "20", ""]
    assert [r["gpu0_utilisation"] for r in rows] == ["80", "40", "5", "80", ""]
    assert rows[2]["data_share"] == "0.3" and rows[-1]["error"] == "OSError: gone"
    (run.dir / SYSTEM).unlink()
    _, names = export(run, "csv", tmp_path / "csv2")
    assert names == ["steps.csv", "epochs.csv"]
    out, _ = export(run, "tensorboard", tmp_path / "tb")
    assert not [tag for tag in read_scalars(out) if tag.startswith("system/")]


def test_a_resume_s_samples_go_to_its_attempt_and_the_earlier_past_its_checkpoint_are_dropped(tmp_path):
    first, second = run_started(time=T0), run_started(time=T0 + 10, start_step=10)
    events = [
        first,
        step(10, 0.1, time=T0 + 0.5),
        step(15, 0.1, time=T0 + 3),
        ev.Stopped(reason="user", epoch=1, step=15, checkpoint=None, time=T0 + 5),
        second,
        step(20, 0.2, time=T0 + 15),
        ev.Finished(epochs=1, best_acc=None, final_acc=None, seconds=1.0, time=T0 + 20),
    ]
    samples = [{"time": T0 + t, "step": s, **HOST, "gpus": []} for t, s in ((1, 10), (4, 15), (6, 15), (12, 10))]
    samples.insert(0, {"time": T0 - 1, "step": 0, **HOST, "gpus": []})  # before any attempt: left out
    items = with_samples(events, samples)
    assert [i["time"] - T0 if isinstance(i, dict) else i.kind for i in items] == [
        "run_started", "step", 1, "step", 4, 6, "stopped", "run_started", 12, "step", "finished",
    ]  # fmt: skip
    kept = [i["time"] - T0 for i in merged(items) if isinstance(i, dict)]
    assert kept == [1, 12], "W&B's and MLflow's one attempt: each step's samples once"
    logdir = tmp_path / "tb"
    from tui_trainer.trackers.tensorboard import replay

    replay(items, logdir)
    assert [s for s, _ in read_scalars(logdir)["system/cpu_pct"]] == [10, 10], "the resume purged steps past 10"


def mlflow_metrics(uri, run_id) -> dict[str, list[tuple[int, float]]]:
    mlflow = pytest.importorskip("mlflow", reason="the mlflow extra writes the runs")
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tui-trainer").experiment_id
    (found,) = client.search_runs([experiment], f"tags.`tui_trainer.run_id` = '{run_id}'")
    history = client.get_metric_history
    return {tag: [(m.step, m.value) for m in history(found.info.run_id, tag)] for tag in found.data.metrics}


def test_a_run_with_log_mlflow_uri_and_log_system_logs_its_samples(runs_dir, tmp_path):
    pytest.importorskip("mlflow", reason="the mlflow extra writes the runs")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log = {"mlflow_uri": uri, "tensorboard": False, "system_interval": 0.1}
    config = tiny_config(train={"log_interval": 0.01, "epochs": 3}, log=log)
    _, run, col, end = run_tiny(runs_dir, config)
    assert isinstance(end, ev.Finished) and not [e for e in col.of(ev.Log) if e.level == "warning"]
    samples = read_samples(run.dir)
    got = mlflow_metrics(uri, run.id)
    live = sorted(got["system/rss_gib"])  # MLflow's history: by step, not as logged
    assert len(samples) - 1 <= len(live) <= len(samples) and len(live) >= 2
    want = points(samples, "system/rss_gib")
    assert live == pytest.approx(sorted(want)) or live == pytest.approx(sorted(want[:-1]))
    assert len(got["system/data_share"]) == len(col.of(ev.Step))


def test_export_to_mlflow_takes_the_samples(runs_dir, tmp_path):
    pytest.importorskip("mlflow", reason="the mlflow extra writes the runs")
    run = folder_with_samples(runs_dir)
    uri, _ = export(run, "mlflow", tmp_path / "mlflow.db")
    got = mlflow_metrics(uri, run.id)
    assert sorted(got["system/gpu0/utilisation_pct"]) == [(0, 80.0), (10, 40.0), (20, 5.0), (20, 80.0)]
    assert [s for s, _ in sorted(got["epoch/test_acc"])] == [10, 20]
