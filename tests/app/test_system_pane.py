"""The system pane (app/widgets/system_pane.py): system.jsonl's samples as a row a GPU,
the host's figures, the data share and the idle-GPU flag, read off the screen of a
small app hosting the pane (no GPU, NVML or training needed)."""

from __future__ import annotations

import dataclasses
import json

from textual.app import App, ComposeResult

from tui_trainer import events as ev
from tui_trainer.app.widgets.system_pane import HISTORY_MAX, HISTORY_S, SystemPane

GIB = 2**30
UUIDS = ["GPU-aaaaaaaa-0000", "GPU-bbbbbbbb-1111"]
NOW = 10_000.0


def sample(t: float, utils=(35, 90), **extra) -> dict:
    """A sample as the sampler writes it: two 80 GiB GPUs, a 64 GiB host."""
    gpus = [
        {
            "uuid": uuid,
            "utilisation": util,
            "memory_used": (10 + 20 * i) * GIB,
            "memory_total": 80 * GIB,
            "power_w": 250.4 + 100 * i,
            "temperature_c": 61 + i,
        }
        for i, (uuid, util) in enumerate(zip(UUIDS, utils, strict=False))
    ]
    return {
        "time": t,
        "cpu_percent": 42.0,
        "ram_used": 12 * GIB,
        "ram_total": 64 * GIB,
        "rss": 3 * GIB,
        "gpus": gpus,
        **extra,
    }


def started(uuids=UUIDS, device: str = "cuda:0") -> ev.RunStarted:
    return ev.RunStarted(
        run_id="r",
        run_dir="/runs/r",
        preset="p",
        config={},
        model_summary="",
        param_count=1,
        device=device,
        device_name="NVIDIA H200",
        precision="bf16",
        data_summary="",
        epochs=1,
        steps_per_epoch=1,
        world_size=max(1, len(uuids)),
        device_uuids=list(uuids),
        time=NOW,
    )


class PaneApp(App):
    def compose(self) -> ComposeResult:
        yield SystemPane(id="system")


def screen(app) -> list[str]:
    """The screen's rows as drawn, trailing blanks cut, blank rows below dropped."""
    rows = [strip.text.rstrip() for strip in app.screen._compositor.render_strips()]
    while rows and not rows[-1]:
        rows.pop()
    return rows


async def shown(samples, events=(), size=(60, 16), clock=NOW) -> list[str]:
    app = PaneApp()
    async with app.run_test(size=size) as pilot:
        pane = app.query_one(SystemPane)
        pane.clock = lambda: clock
        for e in events:
            pane.apply(e)
        pane.add_samples(samples)
        pane.flush()
        await pilot.pause()
        return screen(app)


async def test_two_gpus_get_a_row_each_then_the_host():
    lines = await shown([sample(NOW - 2), sample(NOW, data_share=0.37, step=1234)], [started()])
    assert lines == [
        "gpu 0  35% ██░░░░ ▃▃              10.0/80.0 GiB  250 W  61°C",
        "gpu 1  90% █████░ ██              30.0/80.0 GiB  350 W  62°C",
        "host cpu 42% · ram 12.0/64.0 GiB · process rss 3.0 GiB",
        "data 37% of step time (host)",
    ]


async def test_a_gpu_row_is_labelled_with_its_rank_and_unread_figures_are_dashes():
    """Samples list the GPUs in NVML's reach, not in rank order; MIG has no
    utilisation; a GPU without a power reading leaves a dash, none with one: no column."""
    s = sample(NOW)
    s["gpus"].reverse()
    del s["gpus"][0]["utilisation"], s["gpus"][0]["power_w"]
    lines = await shown([s], [started()])
    assert lines[:2] == [
        "gpu 1    —                        30.0/80.0 GiB      —  62°C",
        "gpu 0  35% ██░░░░ ▃               10.0/80.0 GiB  250 W  61°C",
    ]
    for g in s["gpus"]:
        g.pop("power_w", None)
    lines = await shown([s], [started()])
    assert lines[1] == "gpu 0  35% ███░░░░░░ ▃                   10.0/80.0 GiB  61°C"


async def test_another_machine_s_gpus_are_said_not_to_be_sampled_here():
    lines = await shown([sample(NOW)], [started(UUIDS + ["GPU-cccc", "GPU-dddd"])])
    assert lines[2] == "ranks 2-3: another machine's GPUs, not sampled here"
    lines = await shown([sample(NOW)], [started(["GPU-cccc", *UUIDS])])
    assert lines[2] == "rank 0: another machine's GPU, not sampled here"


async def test_without_gpu_figures_the_host_rows_still_show():
    cpu = {"time": NOW, "cpu_percent": 97.0, "ram_used": 2 * GIB, "ram_total": 8 * GIB, "rss": 512 * 2**20, "gpus": []}
    assert await shown([cpu], [started([], device="cpu")]) == [
        "no GPU figures (CPU run)",
        "host cpu 97% · ram 2.0/8.0 GiB · process rss 512.0 MiB",
    ]
    assert (await shown([cpu], [started(UUIDS)]))[0] == "no GPU figures (NVML unavailable)"
    # Watched before its RunStarted is read; an older sampler's sample without "gpus".
    del cpu["gpus"]
    assert (await shown([cpu]))[0] == "no GPU figures (CPU run or NVML unavailable)"


async def test_the_idle_gpu_flag_is_a_warning_until_a_gpu_is_busy_again():
    flagged = [sample(NOW - 4, (20, 30)), sample(NOW - 2, (20, 30), flag="gpu_underused", data_share=0.37)]
    lines = await shown(flagged, [started()])
    assert lines[0] == "! GPU under 50% busy for a minute: input-bound? data 37%"
    # Still said while the GPUs stay idle (the sampler flags one sample only), and
    # without a data share the figure is left out.
    lines = await shown([*flagged, sample(NOW, (20, 30))], [started()])
    assert lines[0] == "! GPU under 50% busy for a minute: input-bound?"
    assert not (await shown([*flagged, sample(NOW, (20, 80))], [started()]))[0].startswith("!")
    # Wrapped, not cut, in a narrow pane; the figure stays with its label.
    lines = await shown(flagged, [started()], size=(50, 16))
    assert lines[:2] == ["! GPU under 50% busy for a minute: input-bound?", "  data 37%"]


async def test_before_the_first_sample_it_says_it_waits():
    assert await shown([]) == ["waiting for the first sample (every 2 s)"]
    assert await shown([], [started()]) == ["waiting for the first sample (every 2 s)"]
    end = ev.Finished(epochs=1, best_acc=50.0, final_acc=50.0, seconds=3.0, time=NOW)
    assert await shown([], [started(), end]) == ["no system figures for this run"]


async def test_a_sampler_error_is_shown_until_figures_come_again():
    error = {"time": NOW, "error": "RuntimeError: psutil gone"}
    assert await shown([error]) == ["! sampling stopped: RuntimeError: psutil gone"]
    lines = await shown([sample(NOW - 4), error], [started()], clock=NOW + 60)
    assert lines[0] == "! sampling stopped: RuntimeError: psutil gone"
    assert not any("ago" in line for line in lines)  # the error says why the samples stopped
    assert not (await shown([error, sample(NOW)], [started()]))[0].startswith("!")


async def test_a_stale_sample_says_its_age_while_the_run_should_be_sampled():
    samples = [sample(NOW - 25, step=1234)]
    lines = await shown(samples, [started()])
    assert lines[0] == "! last sample 25 s ago (step 1,234): is the run alive?"
    assert not (await shown(samples, [started()], clock=NOW - 20))[0].startswith("!")  # 5 s: fresh
    end = ev.Stopped(reason="user", epoch=1, step=1, checkpoint="", time=NOW)
    lines = await shown(samples, [started(), end])
    assert lines[0].startswith("gpu 0") and lines[-1] == "the run has ended: these are its last figures"


async def test_the_age_moves_on_without_new_samples():
    app = PaneApp()
    async with app.run_test(size=(60, 16)) as pilot:
        pane = app.query_one(SystemPane)
        now = [NOW]
        pane.clock = lambda: now[0]
        pane.add_samples([sample(NOW)])
        pane.tick()
        await pilot.pause()
        assert screen(app)[0].startswith("gpu 0")
        now[0] = NOW + 12
        pane.tick()  # what the pane's 1-s timer does
        await pilot.pause()
        assert screen(app)[0] == "! last sample 12 s ago: is the run alive?"


async def test_it_renders_only_when_its_text_changes():
    app = PaneApp()
    async with app.run_test(size=(60, 16)) as pilot:
        pane = app.query_one(SystemPane)
        pane.clock = lambda: NOW
        pane.add_samples([sample(NOW)])
        pane.flush()
        await pilot.pause()
        updates = []
        original = pane.update
        pane.update = lambda *a, **k: (updates.append(a), original(*a, **k))
        for _ in range(5):
            pane.flush()
            pane.tick()
        assert updates == []
        pane.add_samples([sample(NOW + 2, (36, 90))])
        pane.clock = lambda: NOW + 2
        pane.flush()
        pane.flush()
        assert len(updates) == 1
        assert "36%" in str(updates[0][0])


async def test_at_60_columns_and_in_a_narrow_pane_no_line_wraps():
    samples = [sample(NOW - 300 + 2 * i, ((7 * i) % 100, 90), data_share=0.5) for i in range(151)]
    samples[-1]["flag"] = "gpu_underused"
    for width in (60, 34):
        app = PaneApp()
        async with app.run_test(size=(width, 20)) as pilot:
            pane = app.query_one(SystemPane)
            pane.clock = lambda: NOW
            pane.apply(started())
            pane.add_samples(samples)
            pane.flush()
            await pilot.pause()
            expected = [line.plain.rstrip() for line in pane.text_lines(width)]
            assert screen(app) == expected, "a line the widget wrapped or cut itself"
            assert pane.size.height == len(expected)
            assert all(len(line) <= width for line in expected)
    # At 34 columns each GPU takes two lines: its utilisation, then its figures.
    assert expected[2].startswith("gpu 0  ") and "%" in expected[2]
    assert expected[3] == "      10.0/80.0 GiB  250 W  61°C"
    assert expected[-3:] == ["host cpu 42% · ram 12.0/64.0 GiB", "process rss 3.0 GiB", "data 50% of step time (host)"]


def test_the_history_is_bounded():
    pane = SystemPane()
    pane.add_samples(sample(float(t), ((t * 13) % 100, 50)) for t in range(0, 3000, 2))
    times = [s["time"] for s in pane.samples]
    assert times[0] >= times[-1] - HISTORY_S and len(times) == HISTORY_S / 2 + 1
    # The sparkline's column means of the window: at most the room it has.
    rows = pane._gpu_rows(pane.latest)
    assert len(rows[0].history) == len(times)
    # Samples whose times do not move on (a clock stuck) are bounded by count.
    pane.add_samples(sample(3000.0) for _ in range(3 * HISTORY_MAX))
    assert len(pane.samples) == HISTORY_MAX


def test_samples_it_cannot_read_are_skipped_not_a_crash():
    pane = SystemPane()
    pane.clock = lambda: NOW
    pane.add_samples([{"cpu_percent": 1}, {"time": "soon"}, "nonsense"])
    assert pane.latest is None
    odd = {"time": NOW, "cpu_percent": True, "ram_used": "x", "gpus": [1, {"uuid": ["x"], "utilisation": "high"}]}
    pane.add_samples([odd])
    assert [line.plain for line in pane.text_lines(60)] == ["gpu 0    —"]


async def test_it_follows_a_run_s_system_jsonl(tmp_path):
    path = tmp_path / "system.jsonl"
    app = PaneApp()
    async with app.run_test(size=(60, 16)) as pilot:
        pane = app.query_one(SystemPane)
        pane.clock = lambda: NOW
        pane.follow(path)  # not written yet
        await pilot.pause()
        assert screen(app) == ["waiting for the first sample (every 2 s)"]
        path.write_text(json.dumps(sample(NOW - 2)) + "\n" + json.dumps(sample(NOW, (36, 90)))[:20])
        pane.tick()
        await pilot.pause()
        assert screen(app)[0].startswith("gpu 0  35%")
        with open(path, "a") as f:
            f.write(json.dumps(sample(NOW, (36, 90)))[20:] + "\n")
        pane.tick()
        await pilot.pause()
        assert screen(app)[0].startswith("gpu 0  36%")


async def test_a_file_followed_before_the_pane_is_mounted_is_read_at_mount(tmp_path):
    path = tmp_path / "system.jsonl"
    path.write_text(json.dumps(sample(NOW)) + "\n")

    class FollowingApp(App):
        def compose(self) -> ComposeResult:
            pane = SystemPane()
            pane.clock = lambda: NOW
            pane.follow(path)
            yield pane

    app = FollowingApp()
    async with app.run_test(size=(60, 16)) as pilot:
        await pilot.pause()
        assert screen(app)[0].startswith("gpu 0  35%")


async def test_the_dashboard_gives_the_pane_its_run_s_start_and_end():
    """The ranks' GPUs come with RunStarted and the end stops the stale-sample warning:
    the dashboard fed its other panes, not this one (a watched finished run's pane asked
    "is the run alive?")."""
    from tui_trainer.app.app import TrainerApp
    from tui_trainer.app.screens.dashboard import DashboardScreen

    app = TrainerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        dash = DashboardScreen()
        await app.push_screen(dash)
        await pilot.pause()
        pane = dash.query_one(SystemPane)
        dash.feed([started()])
        assert pane.uuids == UUIDS and not pane.ended
        dash.feed([ev.Finished(epochs=1, best_acc=50.0, final_acc=50.0, seconds=3.0, time=NOW)])
        assert pane.ended
        pane.add_samples([sample(NOW - 600)])
        assert pane.age() is None  # ten minutes old, but no more are coming


async def test_a_run_sampled_less_often_is_waited_for_longer():
    slow = dataclasses.replace(started(), config={"log": {"system_interval": 30}})
    assert await shown([], [slow]) == ["waiting for the first sample (every 30 s)"]
    samples = [sample(NOW - 60, step=7)]  # two intervals: not late yet
    assert not (await shown(samples, [slow]))[0].startswith("!")
    samples = [sample(NOW - 100, step=7)]  # over three
    assert (await shown(samples, [slow]))[0] == "! last sample 1 min ago (step 7): is the run alive?"
