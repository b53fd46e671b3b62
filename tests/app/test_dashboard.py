"""The live dashboard (app/screens/dashboard.py): its controls, panes and log, and how
it keeps up with a run training in the same process."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import pytest
from app_helpers import (
    SIZE,
    long_launch,
    notifications,
    picker_ready,
    press_live,
    send_key,
    status_of,
    wait_for,
)

from tui_trainer import events as ev
from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.confirm import ConfirmScreen
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.app.screens.picker import PickerScreen
from tui_trainer.launch import prepare


def test_the_run_title_names_the_preset_once():
    from tui_trainer.format import run_title

    assert (
        run_title("resnet-small-cifar10", "20261202-043017-resnet-small-cifar10")
        == "20261202-043017-resnet-small-cifar10"
    )
    assert run_title("my-preset", "20261202-043017-resumed") == "my-preset · 20261202-043017-resumed"
    assert run_title("digits-cnn", "") == "digits-cnn"


async def test_the_footer_follows_the_run_s_state_and_nothing_else(runs_dir, monkeypatch):
    """Each refresh_bindings recomposes the footer (a relayout of the screen): p shows
    "Unpause" at once, the Paused event that follows changes no key, epochs none."""
    from textual.screen import Screen

    calls: list[Screen] = []
    base = Screen.refresh_bindings
    monkeypatch.setattr(Screen, "refresh_bindings", lambda self: (calls.append(self), base(self))[1])
    launch = long_launch(runs_dir)
    app = TrainerApp(launch=launch)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        await wait_for(pilot, lambda: dash.query_one("#epochs").row_count >= 1, what="the first epoch")
        label = lambda: dash.active_bindings["p"].binding.description  # noqa: E731
        assert label() == "Pause"
        calls.clear()
        await pilot.pause(0.5)  # epochs go by
        assert calls == [], "epochs and Steps change no key"
        await press_live(pilot, "p")
        await wait_for(pilot, lambda: status_of(launch.run) == "paused", what="the pause")
        await pilot.pause(0.3)  # the Paused event is taken
        assert label() == "Unpause"
        assert len(calls) == 1, "the key changed when p was pressed; the Paused event changed none"
        await press_live(pilot, "p")
        await wait_for(pilot, lambda: status_of(launch.run) == "running", what="the resume")
        assert label() == "Pause"
        app.session.stop("test over")
        await wait_for(pilot, lambda: app.session.done.is_set(), what="the stop")
        await pilot.pause(0.3)
        assert dash.check_action("start", ()) is True and len(calls) >= 3, "the end changed keys: s starts again"


async def test_pause_resume_and_stop_with_confirm(runs_dir):
    launch = long_launch(runs_dir)
    app = TrainerApp(launch=launch)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        session = app.session
        await wait_for(pilot, lambda: dash.progress.step > 0, what="the first step")
        await press_live(pilot, "p")
        # Shown at once ("pausing"), before the engine confirms after the batch ("paused").
        await wait_for(pilot, lambda: dash.progress.state in ("pausing", "paused"), timeout=2, what="pausing")
        await wait_for(pilot, lambda: dash.progress.state == "paused", what="Paused")
        assert status_of(launch.run) == "paused"
        p_label = lambda: dash.active_bindings["p"].binding.description  # noqa: E731 - the footer's
        assert p_label() == "Unpause"
        step = dash.progress.step
        await pilot.pause(0.3)
        assert dash.progress.step == step  # really paused
        # c while paused: written at once, and the note says so (not "after the current batch").
        await press_live(pilot, "c")
        await wait_for(
            pilot, lambda: any("saved now (the run is paused)" in n for n in notifications(app)), what="note"
        )
        await wait_for(
            pilot,
            lambda: any(isinstance(e, ev.CheckpointSaved) for e in launch.run.read_events(0)[0][-3:]),
            what="the checkpoint, while paused",
        )
        assert dash.progress.state == "paused" and dash.progress.step == step
        await press_live(pilot, "p")
        await wait_for(pilot, lambda: dash.progress.step > step, what="steps after resuming")
        assert status_of(launch.run) == "running"
        assert p_label() == "Pause"

        await press_live(pilot, "c")

        # In the run's events: the pane may have pruned it already (epochs here are milliseconds).
        def manual():
            return any(isinstance(e, ev.CheckpointSaved) and e.reason == "manual" for e in launch.run.read_events(0)[0])

        await wait_for(pilot, manual, what="a manual checkpoint")

        # Stop asks first; "no" keeps training.
        await press_live(pilot, "x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirm dialog")
        await press_live(pilot, "n")
        await pilot.pause(0.2)
        assert session.running
        await press_live(pilot, "x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirm dialog")
        await press_live(pilot, "y")
        await wait_for(pilot, lambda: session.done.is_set(), what="the stop")
        await wait_for(pilot, lambda: dash.progress.state == "stopped", what="the stopped state")
        assert status_of(launch.run) == "stopped"
        assert isinstance(session.result, ev.Stopped) and session.result.checkpoint
        assert Path(session.result.checkpoint).exists()
        assert app.is_running  # the app stays

        # s on the ended run trains the same config again, as a new run folder (asked first).
        await press_live(pilot, "s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the start question")
        await press_live(pilot, "y")
        await wait_for(pilot, lambda: app.session is not session, what="a new session")
        assert app.session.run.dir != launch.run.dir
        assert app.session.launch.config.to_dict() == launch.config.to_dict()
        new_dash = app.session.screen
        await wait_for(pilot, lambda: new_dash._ready, what="the new dashboard")  # composed and mounted
        await wait_for(pilot, lambda: new_dash.progress.step > 0, what="the new run's first step")
        app.session.stop("test over")
        await wait_for(pilot, lambda: app.session.done.is_set(), what="the new run to stop")


async def test_engine_failure_is_shown_and_the_app_keeps_running(runs_dir, tmp_path):
    launch = prepare(
        "digits-cnn",
        ['data.dataset="imagefolder"', f'data.root="{tmp_path / "nowhere"}"', 'train.device="cpu"'],
        runs_dir=runs_dir,
        check=None,  # the data goes missing after the run is made (preflight would refuse it before)
    )
    app = TrainerApp(launch=launch)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        await wait_for(pilot, lambda: app.session.done.is_set(), what="the failure")
        await wait_for(pilot, lambda: dash.progress.state == "failed", what="the failed state")
        reason = app.session.result.reason
        assert "nowhere" in reason and "\n" not in reason
        assert dash.progress.message == f"failed: {reason}"
        assert any(reason in n for n in notifications(app))
        assert status_of(launch.run) == "failed"
        await press_live(pilot, "f2")  # still responsive
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        # Loaded before the app exits: a Select still mounting when the app shuts down
        # can raise NoMatches inside Textual (seen once in a test run, never by hand).
        await wait_for(pilot, lambda: app.screen.loaded, what="the picker's presets")
    assert app.exit_status == 2  # bad input, like the headless command


async def test_ui_stays_responsive_while_training(runs_dir):
    """Keys are shown within 100 ms while the engine trains flat out in the same process.

    Measured from the key reaching the app (as the terminal driver delivers it) to its
    effect being on screen. A pane switch re-lays out the whole screen, the heaviest
    thing a key does: its bound is looser, for shared CI machines.
    """
    import asyncio

    app = TrainerApp(launch=long_launch(runs_dir))
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        await wait_for(pilot, lambda: dash.progress.step > 0, what="the first step")
        label = dash.query_one("#loss-label")
        # "On screen": the first frame the app sends to the terminal in which the key's
        # effect is present (App._display is where every frame goes out).
        watching: dict = {"shown": None, "at": None}
        display = app._display

        def display_and_check(screen, update):
            display(screen, update)
            if watching["shown"] is not None and watching["shown"]():
                watching["at"], watching["shown"] = time.perf_counter(), None

        app._display = display_and_check

        async def latency(key: str, shown) -> float:
            watching.update(shown=shown, at=None)
            t = time.perf_counter()
            send_key(pilot, key)
            while watching["at"] is None:
                assert time.perf_counter() - t < 5, f"key {key} not shown after 5 s"
                await asyncio.sleep(0.002)
            return watching["at"] - t

        toggles = []
        for i in range(8):  # l: the sparkline's span, recent ("steps N+") <-> all ("all N steps")
            toggles.append(await latency("l", lambda all_=i % 2 == 0: ("all " in str(label.render())) == all_))
            await asyncio.sleep(0.05)
        switches = []
        for key, pane in [("2", "chart"), ("1", "epochs"), ("4", "log"), ("3", "checkpoints")] * 2:
            widget = dash.query_one(f"#pane-{pane}")
            switches.append(await latency(key, lambda w=widget: w.display and w.region.height > 0))
            await asyncio.sleep(0.05)
        assert app.session.running and app.session.bridge.posted > 0
        print(
            f"key latency while training: toggle median {statistics.median(toggles) * 1000:.0f} ms, "
            f"pane switch median {statistics.median(switches) * 1000:.0f} ms"
        )
        assert statistics.median(toggles) < 0.1, toggles
        assert statistics.median(switches) < 0.25, switches


class FedApp(TrainerApp):
    async def show_first_screen(self) -> None:
        from helpers import demo_events

        screen = DashboardScreen()
        await self.push_screen(screen)
        screen.feed(demo_events())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_no_color_renders_every_pane(monkeypatch, size):
    monkeypatch.setenv("NO_COLOR", "1")
    app = FedApp()
    assert app.no_color
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in ("2", "3", "4", "1"):  # every pane on screen once (the chart is the fragile one)
            await pilot.press(key)
        await pilot.pause()
        svg = app.export_screenshot()
        assert "★" in svg  # the best epoch is marked without colour
        await pilot.press("f3")
        await pilot.pause()
    assert app.return_code in (None, 0)


async def test_warnings_and_printed_text_go_to_the_log_pane():
    import sys
    import warnings

    app = FedApp()
    app.session = None
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        dash = app.screen
        # No live session: a warning becomes a notification instead.
        warnings.warn("something odd", UserWarning, stacklevel=1)
        await pilot.pause()
        assert any("something odd" in n for n in notifications(app))
        # With a session, the dashboard's log pane gets them.
        app.session = type("S", (), {"screen": dash})()
        warnings.warn("still odd", UserWarning, stacklevel=1)
        print("a library says hello", file=sys.stderr)
        await pilot.pause(0.1)
        app.session = None
        lines = [m for _, m in dash.query_one("#log").lines_kept]
        assert any("still odd" in m for m in lines)
        assert "a library says hello" in lines


async def test_a_line_printed_while_the_app_closes_is_dropped_not_a_crash():
    """A print() reaching the app while it exits found the dashboard mounted and its log
    pane gone (NoMatches ended a full test run once)."""
    app = FedApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        dash = app.screen
        await dash.query_one("#log").remove()
        dash.log_line("info", "printed at the last moment")
        assert app.is_running


async def test_panes_follow_the_terminal_size():
    app = FedApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        dash = app.screen
        shown = lambda: [p for p in ("epochs", "chart", "checkpoints", "log") if dash.query_one(f"#pane-{p}").display]  # noqa: E731
        assert shown() == ["epochs", "chart", "checkpoints", "log"] and not dash.query_one("#pane-tabs").display
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert shown() == ["epochs"] and dash.query_one("#pane-tabs").display
        await pilot.press("4")
        assert shown() == ["log"]
        await pilot.resize_terminal(130, 45)
        await pilot.pause()
        assert len(shown()) == 4


async def test_a_dashboard_opened_on_a_wide_terminal_shows_every_pane(runs_dir):
    """The real order of things: the picker first, the dashboard pushed over it (not the
    first screen, as above), at a size that was never changed."""
    from helpers import demo_events

    app = TrainerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await picker_ready(pilot)
        dash = DashboardScreen()
        await app.push_screen(dash)
        dash.feed(demo_events())
        await pilot.pause()
        assert dash.roomy
        assert all(dash.query_one(f"#pane-{p}").display for p in ("epochs", "chart", "checkpoints", "log"))
        assert dash.query_one("#pane-chart").region.width > 0 and dash.query_one("#pane-log").region.height > 0


def test_a_terminal_without_colour_is_told_by_no_color_or_term():
    from tui_trainer.app.app import wants_no_color

    assert wants_no_color(True, "xterm-256color")
    assert wants_no_color(False, "xterm-mono") and wants_no_color(False, "vt100-m") and wants_no_color(False, "dumb")
    assert not wants_no_color(False, "xterm-256color") and not wants_no_color(False, None)


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "xterm-mono"}])
async def test_without_colour_nothing_is_coloured_and_the_preset_cursor_is_reverse_video(monkeypatch, env, runs_dir):
    """Issue 19: NO_COLOR and TERM=xterm-mono still drew colour (Textual's greys), and the
    preset list's cursor was shown by its background colour alone."""
    from textual.filter import NoColor
    from textual.widgets import OptionList

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    app = TrainerApp()
    assert app.no_color and any(isinstance(f, NoColor) for f in app._filters)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await picker_ready(pilot)
        options = screen.query_one(OptionList)
        assert options.get_component_rich_style("option-list--option-highlighted").reverse
        screen_text = app.screen._compositor.render_update(full=True).render_segments(app.console)
        params = {int(p) for sgr in re.findall(r"\x1b\[([0-9;]*)m", screen_text) for p in sgr.split(";") if p}
        colours = {p for p in params if 30 <= p <= 38 or 40 <= p <= 48 or 90 <= p <= 107}
        assert not colours, colours  # the defaults (39, 49), bold, italic and reverse (7) only
        assert 7 in params  # the cursor, in reverse video
