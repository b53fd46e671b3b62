"""The device line (app/widgets/device.py): GPUs found in NVML by UUID, one row a rank
with several, and what it shows without NVML or for another machine's GPU. NVML is a
fake module put in sys.modules: the tests need neither a GPU nor nvidia-ml-py."""

from __future__ import annotations

import sys
import types

import pytest
from textual.app import App, ComposeResult

from tui_trainer import events as ev
from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.app.widgets.device import DeviceLine, Reading

GIB = 2**30
# This machine's GPUs in NVML's order: (uuid, GiB used, GiB total, utilisation %).
MACHINE = [
    ("GPU-aaaaaaaa-0000-0000-0000-000000000000", 1.0, 80.0, 10),
    ("GPU-bbbbbbbb-1111-1111-1111-111111111111", 2.0, 80.0, 20),
    ("GPU-cccccccc-2222-2222-2222-222222222222", 3.0, 80.0, 30),
    ("GPU-dddddddd-3333-3333-3333-333333333333", 4.0, 80.0, 40),
]
UUIDS = [u for u, *_ in MACHINE]


class FakeNVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value


class FakeNotFound(FakeNVMLError):
    pass


def fake_nvml(gpus=MACHINE, init_error: bool = False) -> types.ModuleType:
    """A pynvml that knows ``gpus`` (by index in that order, and by UUID)."""
    nv = types.ModuleType("pynvml")
    nv.NVML_ERROR_NOT_FOUND = 6
    nv.NVMLError = FakeNVMLError
    nv.NVMLError_NotFound = FakeNotFound
    nv.calls = []

    def init():
        if init_error:
            raise FakeNVMLError(9)  # driver not loaded

    def by_uuid(uuid):
        nv.calls.append(("uuid", uuid))
        for gpu in gpus:
            if gpu[0] == uuid:
                return gpu
        raise FakeNotFound(6)

    def by_index(index):  # what the line asked before: the wrong GPU under CUDA_VISIBLE_DEVICES
        nv.calls.append(("index", index))
        return gpus[index]

    nv.nvmlInit = init
    nv.nvmlDeviceGetHandleByUUID = by_uuid
    nv.nvmlDeviceGetHandleByIndex = by_index
    nv.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=int(h[1] * GIB), total=int(h[2] * GIB))
    nv.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=h[3], memory=0)
    return nv


def started(uuids: list[str], world_size: int | None = None, device: str = "cuda:0") -> ev.RunStarted:
    return ev.RunStarted(
        run_id="20260101-000000-ddp",
        run_dir="/runs/20260101-000000-ddp",
        preset="ddp",
        config={},
        model_summary="",
        param_count=1000,
        device=device,
        device_name="NVIDIA H200",
        precision="bf16",
        data_summary="",
        epochs=2,
        steps_per_epoch=10,
        world_size=len(uuids) if world_size is None else world_size,
        device_uuids=uuids,
        time=1.0,
    )


class LineApp(App):
    def compose(self) -> ComposeResult:
        yield DeviceLine(id="device")


def shown(line: DeviceLine) -> list[str]:
    assert line._shown is not None, "nothing rendered"
    return line._shown[0].plain.split("\n")


async def sampled(event: ev.RunStarted, *, in_process: bool = False, size=(100, 12)) -> list[str]:
    """The lines of a DeviceLine that took ``event`` and sampled NVML once."""
    app = LineApp()
    async with app.run_test(size=size) as pilot:
        line = app.query_one(DeviceLine)
        line.in_process = in_process
        line.apply(event)
        line.sample()
        await pilot.pause()
        return shown(line)


async def test_a_hidden_and_reordered_device_set_finds_the_gpu_by_uuid(monkeypatch):
    """CUDA_VISIBLE_DEVICES=2,3: torch's cuda:0 is NVML's third GPU. Asked by index (as
    the line did before), NVML would answer for its first."""
    nv = fake_nvml()
    monkeypatch.setitem(sys.modules, "pynvml", nv)
    lines = await sampled(started([UUIDS[2]]))
    assert lines == ["NVIDIA H200 · cuda:0 bf16 · mem 3.0/80.0 GiB · util 30%"]
    assert nv.calls == [("uuid", UUIDS[2])]
    # The same for ranks whose GPUs NVML numbers in another order.
    nv.calls.clear()
    lines = await sampled(started([UUIDS[3], UUIDS[1]]))
    assert lines[1:] == [
        "  rank 0  GPU-dddddddd  util  40%  mem 4.0/80.0 GiB",
        "  rank 1  GPU-bbbbbbbb  util  20%  mem 2.0/80.0 GiB",
    ]
    assert all(kind == "uuid" for kind, _ in nv.calls)


async def test_four_ranks_get_a_row_each(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml())
    lines = await sampled(started(UUIDS))
    assert lines == [
        "4 × NVIDIA H200 · cuda bf16",
        "  rank 0  GPU-aaaaaaaa  util  10%  mem 1.0/80.0 GiB",
        "  rank 1  GPU-bbbbbbbb  util  20%  mem 2.0/80.0 GiB",
        "  rank 2  GPU-cccccccc  util  30%  mem 3.0/80.0 GiB",
        "  rank 3  GPU-dddddddd  util  40%  mem 4.0/80.0 GiB",
    ]


async def test_another_machine_s_gpus_are_said_to_be_there_not_an_error(monkeypatch):
    """Two nodes of two GPUs: this machine knows ranks 0 and 1's GPUs; the other
    machine's ranks share one row."""
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(MACHINE[:2]))
    lines = await sampled(started(UUIDS))
    assert lines == [
        "4 × NVIDIA H200 · cuda bf16",
        "  rank 0  GPU-aaaaaaaa  util  10%  mem 1.0/80.0 GiB",
        "  rank 1  GPU-bbbbbbbb  util  20%  mem 2.0/80.0 GiB",
        "  ranks 2-3  on another machine",
    ]
    # One of them alone; and at world size 1 an unknown GPU just has no figures.
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(MACHINE[:3]))
    assert (await sampled(started(UUIDS)))[-1] == "  rank 3  on another machine"
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(MACHINE[:1]))
    assert await sampled(started([UUIDS[3]])) == ["NVIDIA H200 · cuda:0 bf16"]


@pytest.mark.parametrize("nvml", ["absent", "no driver"])
async def test_without_nvml_the_line_shows_what_it_knows(monkeypatch, nvml):
    if nvml == "absent":
        monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    else:
        monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(init_error=True))
    assert await sampled(started(UUIDS)) == ["4 × NVIDIA H200 · cuda bf16"]
    assert await sampled(started([UUIDS[0]])) == ["NVIDIA H200 · cuda:0 bf16"]
    # A run in this process still gets its memory from torch (here a stand-in for it).
    monkeypatch.setattr("tui_trainer.engine.device.memory_line", lambda device: "5.0/80.0 GiB")
    assert await sampled(started([UUIDS[0]]), in_process=True) == ["NVIDIA H200 · cuda:0 bf16 · mem 5.0/80.0 GiB"]


async def test_an_nvml_figure_it_cannot_read_is_left_out(monkeypatch):
    """MIG devices, for one, have no utilisation."""
    nv = fake_nvml()

    def no_util(handle):
        raise FakeNVMLError(3)  # not supported

    nv.nvmlDeviceGetUtilizationRates = no_util
    monkeypatch.setitem(sys.modules, "pynvml", nv)
    lines = await sampled(started(UUIDS[:2]))
    assert lines[1] == "  rank 0  GPU-aaaaaaaa  mem 1.0/80.0 GiB"


async def test_the_poll_samples_every_rank_and_stops_with_the_run(monkeypatch):
    nv = fake_nvml()
    monkeypatch.setitem(sys.modules, "pynvml", nv)
    app = LineApp()
    async with app.run_test(size=(100, 12)) as pilot:
        line = app.query_one(DeviceLine)
        line.poll = True
        line.apply(started(UUIDS))
        await pilot.pause()
        assert len(shown(line)) == 5 and line.size.height == 5
        assert sorted(u for _, u in nv.calls) == sorted(UUIDS)  # each GPU looked up once, then its handle kept
        line.apply(ev.Finished(epochs=2, best_acc=50.0, final_acc=50.0, seconds=3.0, time=2.0))
        assert line._timer is None
    # A CPU run is not polled.
    app = LineApp()
    async with app.run_test(size=(100, 12)):
        line = app.query_one(DeviceLine)
        line.poll = True
        line.apply(started([], world_size=2, device="cpu"))
        assert line._timer is None


async def test_a_dashboard_of_four_ranks_at_80x24_keeps_its_panes(runs_dir):
    from helpers import demo_events

    events = [
        started(UUIDS, device="cuda:0") if isinstance(e, ev.RunStarted) else e for e in demo_events()
    ]  # the demo run, on four GPUs

    class FedApp(TrainerApp):
        async def show_first_screen(self) -> None:
            screen = DashboardScreen()
            await self.push_screen(screen)
            screen.feed(events)
            screen.query_one(DeviceLine).set_rows([Reading("12.3/140.0 GiB", 87 + i) for i in range(4)])

    app = FedApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        dash = app.screen
        line = dash.query_one(DeviceLine)
        assert shown(line)[0] == "4 × NVIDIA H200 · cuda bf16"
        assert line.size.height == 5
        assert shown(line)[4] == "  rank 3  GPU-dddddddd  util  90%  mem 12.3/140.0 GiB"
        assert dash.query_one("#pane-epochs").size.height >= 7  # its header and a few epochs
