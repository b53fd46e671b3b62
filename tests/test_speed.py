"""The fast path's options run, and the bench compares the three loops side by side."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import REPO, shared_dataset
from helpers import Collector, tiny_config

from tui_trainer import events as ev
from tui_trainer import format as fmt
from tui_trainer.cli import main
from tui_trainer.engine import Trainer


@pytest.mark.parametrize("precision", ["fp32", "bf16", "auto"])
def test_precisions_train_on_cpu(precision):
    col = Collector()
    end = Trainer(tiny_config(train={"precision": precision, "epochs": 1}), subscribers=[col]).run()
    assert isinstance(end, ev.Finished), end
    started = col.of(ev.RunStarted)[0]
    assert started.precision == ("fp32" if precision == "auto" else precision)
    assert col.of(ev.EpochEnd)[0].train_loss > 0


def test_fp16_on_cpu_is_refused_clearly():
    end = Trainer(tiny_config(train={"precision": "fp16"})).run()
    assert isinstance(end, ev.Failed) and "fp16" in end.reason and "needs a GPU" in end.reason


def test_compile_reports_its_warmup_separately(monkeypatch):
    # The engine's part is the first step timed on its own; Inductor's C++ build of the
    # kernels (25 s on two cores, more with an empty cache) tests torch, not us, and the
    # GPU check trains speedrun-compile with it. aot_eager still traces the forward and
    # backward graphs through Dynamo, so a model or step that does not compile fails here.
    real_compile = torch.compile
    monkeypatch.setattr(torch, "compile", lambda model, **kw: real_compile(model, backend="aot_eager", **kw))
    col = Collector()
    config = tiny_config(train={"compile": True, "epochs": 1}, data={"synthetic_size": 200, "batch_size": 64})
    end = Trainer(config, subscribers=[col]).run()
    assert isinstance(end, ev.Finished), end
    logs = [e.message for e in col.of(ev.Log)]
    assert any("torch.compile warm-up" in m for m in logs), logs
    # 200 images at batch 64: the partial batch is skipped so the compiled graph is reused
    assert col.of(ev.RunStarted)[0].steps_per_epoch == 3


@pytest.mark.parametrize("device, quiet", [("cpu", True), ("cuda", False)])
def test_compile_on_the_cpu_drops_torch_s_no_cuda_runtime_note(tmp_path, device, quiet):
    """torch warns "No CUDA runtime is found, using CUDA_HOME" when torch.compile imports
    cpp_extension on a machine without a GPU but with CUDA_HOME set; a CPU run drops
    the line (a fresh process: this one has imported cpp_extension already)."""
    code = (
        "import torch; from tui_trainer.engine.device import quiet_cuda_home_note; "
        f"quiet_cuda_home_note(torch.device({device!r})); import torch.utils.cpp_extension"
    )
    env = {**os.environ, "CUDA_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    if torch.cuda.is_available():
        pytest.skip("torch warns only without a GPU")
    assert ("No CUDA runtime is found" in r.stderr) is not quiet, r.stderr


def test_drop_last_trains_full_batches_only():
    col = Collector()
    config = tiny_config(train={"epochs": 2}, data={"synthetic_size": 200, "batch_size": 64, "drop_last": True})
    end = Trainer(config, subscribers=[col]).run()
    assert isinstance(end, ev.Finished), end
    assert col.of(ev.RunStarted)[0].steps_per_epoch == 3 and end.epochs == 2
    assert [e.step for e in col.of(ev.EpochEnd)] == [3, 6]
    # Without it, the 8 images left over make a fourth batch.
    col = Collector()
    Trainer(tiny_config(train={"epochs": 1}, data={"synthetic_size": 200, "batch_size": 64}), subscribers=[col]).run()
    assert col.of(ev.RunStarted)[0].steps_per_epoch == 4


def test_training_keeps_what_already_exists_out_of_the_garbage_collector():
    import gc

    frozen_during: list[int] = []

    def watch(event: ev.Event) -> None:
        if isinstance(event, ev.Step):
            frozen_during.append(gc.get_freeze_count())

    before = gc.get_freeze_count()
    end = Trainer(tiny_config(train={"epochs": 1}), subscribers=[watch]).run()
    assert isinstance(end, ev.Finished), end
    assert frozen_during and min(frozen_during) > before  # the model, data and the rest are frozen
    assert gc.get_freeze_count() == before  # and given back to the collector at the end


def test_bench_measures_in_a_fresh_process_and_reports_its_errors():
    from tui_trainer.bench import engine_variant, measure

    config = tiny_config(train={"epochs": 1, "log_interval": 0.001})  # a Step event per step, to time
    assert measure("engine", engine_variant, config, steps=6, warmup=1) > 0
    broken = config.with_overrides(["data.dataset=imagefolder", 'data.root="/nonexistent/cifar"'])
    # The child's bad input stays bad input in the parent (a one-line error, exit 2): a
    # missing data set, and too few steps to time between Step events.
    from tui_trainer.errors import UserError

    with pytest.raises(UserError, match="engine: .*nonexistent"):
        measure("engine", engine_variant, broken, steps=6, warmup=1)
    with pytest.raises(UserError, match="engine: --steps: .*log_interval .*60s.*raise --steps"):
        measure("engine", engine_variant, config.with_overrides(["train.log_interval=60"]), steps=2, warmup=0)


def test_the_app_leg_of_the_bench_reports_bad_input_as_such():
    """The app's loop (handed to the core by the CLI) runs in its own process too; data
    it cannot load, outside the engine's run, stays a one-line user error."""
    from tui_trainer.app.bench import app_loop
    from tui_trainer.bench import measure
    from tui_trainer.errors import UserError

    config = tiny_config(train={"epochs": 1}).with_overrides(
        ["data.dataset=imagefolder", 'data.root="/nonexistent/cifar"']
    )
    with pytest.raises(UserError, match="^app: .*nonexistent"):
        measure("app", app_loop, config, steps=6, warmup=1)


def test_bench_prints_rows_and_ratios_and_the_same_as_json(capsys, monkeypatch):
    # One measurement (each leg starts a process: a torch import, seconds on CI), printed
    # both ways: the table, then --json from the same result.
    import tui_trainer.bench as bench

    measured: list[bench.BenchResult] = []

    def measure_once(*args, **kwargs):
        if not measured:
            measured.append(real_run_bench(*args, **kwargs))
        return measured[0]

    real_run_bench = bench.run_bench
    monkeypatch.setattr(bench, "run_bench", measure_once)
    args = ["bench", "digits-cnn", "--device", "cpu", "--steps", "60", "--warmup", "2", "--rounds", "1"]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "plain PyTorch loop" in out and "tui-trainer engine, headless" in out and "engine + app" in out
    assert "b/a engine vs plain:" in out and "c/b app vs engine:" in out
    assert "digits-cnn on CPU" in out.splitlines()[0] and out.splitlines()[0].endswith("60 steps x 1 round (median)")

    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["plain"] > 0 and data["engine"] > 0 and data["app"] > 0
    assert data["engine_vs_plain"] == pytest.approx(data["engine"] / data["plain"])
    assert data["app_vs_engine"] == pytest.approx(data["app"] / data["engine"])
    assert data["samples"] == {v: [data[v]] for v in ("plain", "engine", "app")}
    assert all(fmt.rate(data[v]) in out for v in ("plain", "engine", "app"))  # the table's figures


def test_bench_on_the_jpeg_cifar10_copy(capsys):
    archive = shared_dataset("cifar10-mini.tar.xz")
    code = main(
        [
            "bench",
            "cnn-dropout-cifar10",
            "--device",
            "cpu",
            "--steps",
            "20",
            "--warmup",
            "2",
            "--rounds",
            "1",
            "--only",
            "plain,engine",
            "--json",
            "--set",
            "data.dataset=imagefolder",
            "--data-root",
            str(archive),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["plain"] > 0 and data["engine"] > 0


def test_step_overhead_script_times_the_engine_and_a_bare_loop():
    """benchmarks/step_overhead.py (BENCHMARKS.md's engine-vs-bare-loop row) still runs."""
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "step_overhead.py"), "--steps", "5"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["engine_us"] > 0 and out["bare_us"] > 0
    assert out["overhead_us"] == pytest.approx(out["engine_us"] - out["bare_us"], abs=0.2)
