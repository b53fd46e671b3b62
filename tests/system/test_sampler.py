"""system.jsonl: sampled by a thread of its own from RunStarted to the run's end, with
what can be read (GPUs through NVML by UUID, host and process through psutil)."""

from __future__ import annotations

import time

import pytest
from helpers import run_started, run_tiny, tiny_config

from tui_trainer import events as ev
from tui_trainer.system.nvml import NVML
from tui_trainer.system.sampler import SYSTEM, SystemSampler, UnderuseFlag, read_samples

GIB = 1024**3
GPUS = {"GPU-aaaa": (10, 80, 35, 250_000, 61), "GPU-bbbb": (20, 80, 90, 410_500, 70)}


class NotFound(Exception):
    value = 6  # NVML_ERROR_NOT_FOUND


def _not_found():
    raise NotFound


class FakeNVML(NVML):
    """NVML that knows GPUS by UUID (no driver needed)."""

    def __init__(self, gpus=GPUS) -> None:
        super().__init__()
        nv = type("pynvml", (), {})()
        nv.NVML_TEMPERATURE_GPU = 0
        nv.nvmlDeviceGetHandleByUUID = lambda uuid: gpus[uuid] if uuid in gpus else _not_found()
        nv.nvmlDeviceGetMemoryInfo = lambda h: type("M", (), {"used": h[0] * GIB, "total": h[1] * GIB})()
        nv.nvmlDeviceGetUtilizationRates = lambda h: type("U", (), {"gpu": h[2]})()
        nv.nvmlDeviceGetPowerUsage = lambda h: h[3]
        nv.nvmlDeviceGetTemperature = lambda h, sensor: h[4]
        self.module = nv


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_samples_each_gpu_by_uuid_and_the_host_until_the_run_ends(tmp_path):
    sampler = SystemSampler(tmp_path / SYSTEM, interval=0.05, nvml=FakeNVML())
    sampler(run_started(device="cuda:0", device_uuids=["GPU-bbbb", "GPU-aaaa"], world_size=2))
    wait_for(lambda: len(read_samples(tmp_path)) >= 3)
    sampler(ev.Finished(epochs=1, best_acc=None, final_acc=None, seconds=1.0))
    assert sampler._thread is None
    samples = read_samples(tmp_path)
    time.sleep(0.2)
    assert len(read_samples(tmp_path)) == len(samples), "nothing sampled after the end"
    last = samples[-1]
    assert [g["uuid"] for g in last["gpus"]] == ["GPU-bbbb", "GPU-aaaa"]  # rank order, by UUID
    assert last["gpus"][0] == {
        "uuid": "GPU-bbbb",
        "memory_used": 20 * GIB,
        "memory_total": 80 * GIB,
        "utilisation": 90,
        "power_w": 410.5,
        "temperature_c": 70,
    }
    assert 0 <= last["cpu_percent"] <= 100 * 64
    assert 0 < last["ram_used"] <= last["ram_total"] and last["rss"] > 10 * 1024**2
    times = [s["time"] for s in samples]
    assert times == sorted(times)


def test_without_nvml_or_a_gpu_it_samples_the_host_alone(tmp_path):
    nvml = NVML()
    nvml.failed = True  # as without the gpu extra or a driver
    sampler = SystemSampler(tmp_path / SYSTEM, interval=0.05, nvml=nvml)
    sampler(run_started(device_uuids=["GPU-aaaa"]))
    wait_for(lambda: len(read_samples(tmp_path)) >= 1)
    sampler.close()
    sample = read_samples(tmp_path)[0]
    assert sample["gpus"] == [] and sample["rss"] > 0


def test_a_gpu_nvml_does_not_know_is_another_machine_s_and_left_out(tmp_path):
    sampler = SystemSampler(tmp_path / SYSTEM, interval=0.05, nvml=FakeNVML())
    sampler(run_started(device_uuids=["GPU-aaaa", "GPU-zzzz"]))
    wait_for(lambda: len(read_samples(tmp_path)) >= 1)
    sampler.close()
    assert [g["uuid"] for g in read_samples(tmp_path)[0]["gpus"]] == ["GPU-aaaa"]


def test_a_run_writes_system_jsonl_and_log_system_false_does_not(runs_dir):
    _, run, _, end = run_tiny(runs_dir, tiny_config(train={"epochs": 1}))
    assert isinstance(end, ev.Finished)
    samples = read_samples(run.dir)
    assert samples and all("rss" in s and s["gpus"] == [] for s in samples)  # the CPU: no GPUs
    _, run, _, _ = run_tiny(runs_dir, tiny_config(train={"epochs": 1}, log={"system": False}))
    assert not (run.dir / SYSTEM).exists()


def test_the_underuse_flag_needs_a_minute_of_training_under_half_busy_and_says_it_once():
    flag = UnderuseFlag(threshold=50, window_s=60)
    assert flag.feed(0, [20, 30], training=True) is None
    assert flag.feed(59, [20, 49], training=True) is None
    said = flag.feed(60, [10, 10], training=True)
    assert said is not None and said.startswith("GPU under 50% busy for 60 s while training: input-bound?")
    assert flag.feed(200, [10, 10], training=True) is None, "once"
    assert flag.feed(201, [90, 10], training=True) is None  # busy again: it may be said again later
    assert flag.feed(210, [10, 10], training=True) is None
    assert flag.feed(270, [10, 10], training=True) is not None


def test_a_pause_or_an_unreadable_figure_restarts_the_count():
    flag = UnderuseFlag(threshold=50, window_s=60)
    flag.feed(0, [10], training=True)
    assert flag.feed(30, [10], training=False) is None  # paused: idle on purpose
    assert flag.feed(70, [10], training=True) is None  # counted from here
    assert flag.feed(100, [None], training=True) is None  # under MIG, say: nothing known
    assert flag.feed(150, [10], training=True) is None
    assert flag.feed(210, [10], training=True) is not None


def test_the_sampler_flags_an_idle_gpu_in_the_sample_the_log_and_to_its_listener(tmp_path):
    idle = {"GPU-aaaa": (10, 80, 5, 60_000, 40)}
    heard, warned = [], []
    sampler = SystemSampler(
        tmp_path / SYSTEM,
        interval=0.05,
        nvml=FakeNVML(idle),
        warn=warned.append,
        on_flag=lambda kind, message: heard.append(kind),
    )
    sampler.underuse = UnderuseFlag(window_s=0.2)
    sampler(run_started(device_uuids=["GPU-aaaa"]))
    wait_for(lambda: heard)
    sampler(ev.Step(epoch=1, step=5, batch=5, batches=10, loss=1.0, lr=0.1, images_per_s=100.0))
    sampler.close()
    assert heard == ["gpu_underused"]
    assert len(warned) == 1 and "input-bound?" in warned[0], "said in the log at the next event"
    assert [s.get("flag") for s in read_samples(tmp_path)].count("gpu_underused") == 1


def step(n: int, data_share: float | None = None) -> ev.Step:
    return ev.Step(epoch=1, step=n, batch=n, batches=100, loss=1.0, lr=0.1, images_per_s=100.0, data_share=data_share)


def test_each_sample_has_the_latest_step_and_its_data_share(tmp_path):
    sampler = SystemSampler(tmp_path / SYSTEM, interval=0.02, nvml=FakeNVML())
    sampler(run_started(device_uuids=["GPU-aaaa"], start_step=40))  # a resume: its first step is 41
    wait_for(lambda: len(read_samples(tmp_path)) >= 1)
    sampler(step(45, 0.37))
    wait_for(lambda: read_samples(tmp_path)[-1]["step"] == 45)
    sampler(step(50))  # from an engine without the share
    wait_for(lambda: read_samples(tmp_path)[-1]["step"] == 50)
    sampler.close()
    samples = read_samples(tmp_path)
    assert samples[0]["step"] == 40 and "data_share" not in samples[0]
    assert {s["data_share"] for s in samples if s["step"] == 45} == {0.37}
    assert "data_share" not in samples[-1]
    steps = [s["step"] for s in samples]
    assert steps == sorted(steps) and set(steps) == {40, 45, 50}


def test_the_underuse_flag_says_the_data_share_when_known():
    def said(share):
        flag = UnderuseFlag(threshold=50, window_s=60)
        flag.feed(0, [10], training=True, data_share=share)
        return flag.feed(60, [10], training=True, data_share=share)

    assert said(0.37) == (
        "GPU under 50% busy for 60 s while training: input-bound? (37% of the time preparing batches: "
        "data loading or augmentation not keeping up; a larger batch or fewer host-side steps may help)"
    )
    assert said(0.04) == (
        "GPU under 50% busy for 60 s while training: input-bound? (only 4% of the time preparing batches: "
        "more likely steps too small for this GPU; a larger batch may help)"
    )
    assert said(None) == (
        "GPU under 50% busy for 60 s while training: input-bound? "
        "(data loading or augmentation not keeping up; a larger batch or fewer host-side steps may help)"
    )


def test_listeners_get_each_sample_and_one_that_raises_is_dropped_with_one_warning(tmp_path):
    heard, warned = [], []

    class Writer:
        def add_sample(self, sample):
            raise OSError("closed")

    broken = Writer().add_sample
    sampler = SystemSampler(
        tmp_path / SYSTEM, interval=0.02, nvml=FakeNVML(), warn=warned.append, on_sample=[broken, heard.append]
    )
    sampler(run_started(device_uuids=["GPU-aaaa"]))
    wait_for(lambda: len(heard) >= 3)
    sampler(step(5))  # the warning is said at the next event, from the training thread
    wait_for(lambda: any(s["step"] == 5 for s in heard))
    sampler(step(6))
    sampler.close()
    assert sampler.on_sample == [heard.append]
    assert len(warned) == 1, warned
    assert warned[0].startswith("System samples to ") and warned[0].endswith(
        "Writer.add_sample switched off for this run: OSError: closed"
    )
    assert heard == read_samples(tmp_path), "every sample written, sampling went on"


def test_a_run_samples_at_its_log_system_interval(tmp_path):
    from helpers import tiny_config

    from tui_trainer.errors import ConfigError
    from tui_trainer.system.sampler import INTERVAL_S, interval_of
    from tui_trainer.trackers import for_run

    def sampler_of(config) -> SystemSampler:
        (found,) = [g.tracker for g in for_run(tmp_path, config, warn=print) if isinstance(g.tracker, SystemSampler)]
        return found

    assert sampler_of(tiny_config(log={"tensorboard": False})).interval == INTERVAL_S == 2.0
    config = tiny_config(log={"tensorboard": False, "system_interval": 30})
    assert sampler_of(config).interval == 30.0
    assert interval_of(config.to_dict()) == 30.0 and interval_of({}) == INTERVAL_S  # an older run's config
    with pytest.raises(ConfigError, match=r"log.system_interval: 0.05 is out of range; allowed: >= 0.1"):
        tiny_config(log={"system_interval": 0.05})
