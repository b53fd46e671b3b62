"""Pilot tests of the Textual app: every flow a user relies on, on the CPU.

Training runs for real (the digits preset or the tiny synthetic config), so these
tests also check that the UI keeps up with a live engine. Each waits on a condition
with a deadline instead of sleeping a fixed time.
"""

from __future__ import annotations

import io
import json
import statistics
import threading
import time
from pathlib import Path

import pytest
from helpers import tiny_config
from textual.widgets import Checkbox, Input, OptionList, Select

from tui_trainer import events as ev
from tui_trainer import presets, schema
from tui_trainer.app.app import TrainerApp
from tui_trainer.app.bridge import MAX_PENDING_LOSSES, EngineUpdate, EventBridge
from tui_trainer.app.screens.confirm import ConfirmScreen, PromptScreen
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.app.screens.evaluation import EvalScreen
from tui_trainer.app.screens.picker import PickerScreen
from tui_trainer.app.screens.runs import RunsScreen
from tui_trainer.app.widgets.loss_sparkline import HalvingBuffer
from tui_trainer.config import OptimConfig
from tui_trainer.launch import Launch, prepare
from tui_trainer.runs import Run

SIZE = (100, 30)


async def wait_for(pilot, condition, timeout: float = 60.0, what: str = "condition") -> None:
    """Poll ``condition`` until true; a screen still being composed counts as not yet."""
    from textual.css.query import NoMatches

    def met() -> bool:
        try:
            return bool(condition())
        except NoMatches:
            return False

    deadline = time.monotonic() + timeout
    while not met():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.05)


async def wait_for_exit(app, timeout: float = 60.0) -> None:
    """Until the app has exited. Not with pilot.pause: it waits for every widget of the
    screen to run a callback, and a widget closed by the exit meanwhile never does (the
    pause then timed out at 30 s now and then, in a full suite run)."""
    import asyncio

    deadline = time.monotonic() + timeout
    while app.is_running:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for the app to exit")
        await asyncio.sleep(0.05)


def send_key(pilot, key: str) -> None:
    """Deliver a key the way the terminal driver does. ``pilot.press`` then waits until
    the whole process is idle, which never happens while training runs in it."""
    from textual import events

    char = {"space": " ", "enter": "\r", "tab": "\t"}.get(key, key if len(key) == 1 else None)
    event = events.Key(key, char)
    event.set_sender(pilot.app)
    pilot.app._driver.send_message(event)


async def press_live(pilot, *keys: str) -> None:
    for key in keys:
        send_key(pilot, key)
        await pilot.pause(0.05)


def status_of(run: Run) -> str:
    return json.loads((run.dir / "status.json").read_text())["status"]


def notifications(app) -> list[str]:
    return [n.message for n in app._notifications]


def long_launch(runs_dir: Path, epochs: int = 400) -> Launch:
    """A run that trains for minutes unless stopped; steps reported every 50 ms."""
    config = tiny_config(train={"epochs": epochs, "log_interval": 0.05})
    return Launch(config, Run.create(runs_dir, config))


def train_tiny(runs_dir: Path, epochs: int = 2) -> Run:
    """A finished run folder, trained for real (about a second)."""
    from tui_trainer.engine.trainer import Trainer

    config = tiny_config(train={"epochs": epochs})
    run = Run.create(runs_dir, config)
    recorder = run.recorder()
    Trainer(config, run=run, subscribers=[recorder]).run()
    recorder.close()
    return run


async def picker_ready(pilot) -> PickerScreen:
    screen = pilot.app.screen
    assert isinstance(screen, PickerScreen)
    await wait_for(pilot, lambda: screen.loaded, what="presets to load")
    await pilot.pause()
    return screen


# -- the bridge and the step buffer: no app needed -------------------------------------------


class Target:
    def __init__(self):
        self.messages = []

    def post_message(self, message):
        self.messages.append(message)
        return True


def test_bridge_coalesces_steps_and_posts_once():
    target = Target()
    bridge = EventBridge(target)
    for i in range(1, 1001):
        bridge(ev.Step(epoch=1, step=i, batch=i, batches=1000, loss=1.0 / i, lr=0.1, images_per_s=1.0))
    bridge(
        ev.EpochEnd(
            epoch=1,
            epochs=2,
            step=1000,
            train_loss=1,
            train_acc=1,
            test_loss=1,
            test_acc=1,
            lr=0.1,
            seconds=1,
            images_per_s=1,
            best=True,
        )
    )
    bridge(ev.Step(epoch=2, step=1001, batch=1, batches=1000, loss=0.5, lr=0.1, images_per_s=1.0))
    assert len(target.messages) == 1 and isinstance(target.messages[0], EngineUpdate)
    events, losses = bridge.drain()
    # The newest Step replaced the queued ones; order with other events is kept.
    assert [type(e).__name__ for e in events] == ["Step", "EpochEnd", "Step"]
    assert events[0].step == 1000 and events[2].step == 1001
    assert [s for s, _ in losses] == list(range(1, 1002))  # every loss kept for the sparkline
    bridge(ev.Log(message="after drain"))
    assert len(target.messages) == 2  # a new message once the previous batch was taken


def test_bridge_holds_its_messages_between_the_ui_s_takes():
    """After a drain with hold, events wait for the UI's timer (release) instead of each
    burst posting a message: at most one message per HOLD_S, and nothing is lost."""
    target = Target()
    bridge = EventBridge(target)
    bridge(ev.Log(message="one"))
    assert len(target.messages) == 1
    assert [e.message for e in bridge.drain(hold=True)[0]] == ["one"]
    for i in range(5):  # an epoch's events, arriving during the hold
        bridge(ev.Log(message=f"held {i}"))
    assert len(target.messages) == 1, "held: no message posted"
    assert bridge.release() is True, "events came: the UI takes them now"
    assert [e.message for e in bridge.drain(hold=True)[0]] == [f"held {i}" for i in range(5)]
    assert bridge.release() is False, "nothing came: the hold ends"
    bridge(ev.Log(message="after"))
    assert len(target.messages) == 2, "the next event posts at once"


async def test_the_app_takes_held_events_on_its_timer(runs_dir):
    """Events that arrive while the bridge is held reach the dashboard on the app's
    timer, with no further event to post a message."""
    _, app = app_training(runs_dir, epochs=1)
    app.event_hold_s = 1.0  # long enough that the second line surely comes during the hold
    async with app.run_test(size=SIZE) as pilot:
        dash = await until_trained(pilot, app)
        log = dash.query_one("#log")
        seen = lambda text: any(text in m for _, m in [*log.lines_kept, *log._pending])  # noqa: E731
        bridge = app.session.bridge
        await pilot.pause(1.5)  # the run's own last hold is over
        posted = bridge.posted
        bridge(ev.Log(message="first"))  # posts; the app drains it and holds
        await wait_for(pilot, lambda: seen("first"), what="the first line")
        bridge(ev.Log(message="second"))
        assert bridge.posted == posted + 1, "held: no message for the second line"
        assert not seen("second")
        await wait_for(pilot, lambda: seen("second"), timeout=5, what="the held line")
        assert bridge.posted == posted + 1


def test_bridge_memory_is_bounded_while_the_ui_is_busy():
    bridge = EventBridge(Target())
    for i in range(1, 50_001):
        bridge(ev.Step(epoch=1, step=i, batch=i, batches=50_000, loss=1.0, lr=0.1, images_per_s=1.0))
    events, losses = bridge.drain()
    assert len(events) == 1 and len(losses) == MAX_PENDING_LOSSES
    assert losses[-1][0] == 50_000


def test_bridge_never_blocks_the_training_thread():
    bridge = EventBridge(Target())
    t = time.perf_counter()
    for i in range(20_000):
        bridge(ev.Step(epoch=1, step=i + 1, batch=1, batches=1, loss=1.0, lr=0.1, images_per_s=1.0))
    assert (time.perf_counter() - t) / 20_000 < 1e-4  # well under 0.1 ms per event


def test_the_run_title_names_the_preset_once():
    from tui_trainer.format import run_title

    assert (
        run_title("resnet-small-cifar10", "20261202-043017-resnet-small-cifar10")
        == "20261202-043017-resnet-small-cifar10"
    )
    assert run_title("my-preset", "20261202-043017-resumed") == "my-preset · 20261202-043017-resumed"
    assert run_title("digits-cnn", "") == "digits-cnn"


def test_halving_buffer_is_bounded_and_keeps_the_mean():
    buf = HalvingBuffer(capacity=64)
    values = [float(i % 10) for i in range(100_000)]
    for v in values:
        buf.append(v)
    assert len(buf) <= 64
    assert buf.total == 100_000
    assert statistics.fmean(buf.points()) == pytest.approx(statistics.fmean(values), rel=0.01)


# -- picker and editor ------------------------------------------------------------------------


async def test_picker_lists_presets_with_descriptions_and_a_preview():
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker_ready(pilot)
        options = screen.query_one(OptionList)
        names = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert set(presets.available()) == set(names)
        assert screen.current == presets.DEFAULT_PRESET
        prompt = str(options.get_option(presets.DEFAULT_PRESET).prompt)
        assert "scikit-learn" in prompt  # the description is in the list
        await wait_for(pilot, lambda: "53.1K params" in preview_text(screen), timeout=30, what="the parameter count")
        # Another preset: the editor follows it.
        options.highlighted = names.index("resnet-small-cifar10")
        await pilot.pause()
        assert screen.query_one("#hp-optim-lr", Input).value == "0.1"
        assert screen.query_one("#hp-schedule-name", Select).value == "step"


def preview_text(screen) -> str:
    from rich.console import Console

    console = Console(width=60, record=True, file=io.StringIO())
    console.print(screen.query_one("#preview-facts").content)
    return console.export_text()


async def test_invalid_field_shows_the_core_message_and_start_is_refused(runs_dir):
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker_ready(pilot)
        lr = screen.query_one("#hp-optim-lr", Input)
        lr.value = "-1"
        await pilot.pause()
        with pytest.raises(Exception) as core:
            schema.check_value(OptimConfig, "lr", -1, "optim")
        expected = str(core.value)
        assert expected.startswith("optim.lr: -1") and "out of range" in expected
        assert str(screen.query_one("#err-hp-optim-lr").content) == expected
        assert expected in str(screen.query_one("#picker-status").content)

        screen.query_one(OptionList).focus()
        await press_live(pilot, "s")
        await pilot.pause()
        assert app.session is None and not any(runs_dir.glob("*"))
        assert any(expected in n for n in notifications(app))

        # A cross-key rule (the device pattern) is the core's message too, under its field.
        lr.value = "0.01"
        screen.query_one("#hp-train-device", Input).value = "gpu"
        await pilot.pause()
        assert str(screen.query_one("#err-hp-train-device").content).startswith("train.device: unknown device")
        assert screen.query_one("#hp-optim-lr").has_class("-invalid") is False
        screen.query_one("#hp-train-device", Input).value = "cpu"
        await pilot.pause()
        assert screen.query_one("#editor").error is None
        assert "optim.lr=0.01" in screen.query_one("#editor").overrides()


async def test_data_set_and_folder_are_chosen_in_the_picker_and_the_run_trains_on_them(runs_dir, tmp_path):
    """A server without internet holds its data as a local copy: the picker names it
    (the app had no --data-root). The path is taken as typed, checked as typed."""
    import numpy as np
    from PIL import Image

    data = tmp_path / "my data 1e3"  # a space, and a name TOML would read as a number
    for split, n in (("train", 4), ("test", 2)):
        for cls in ("cat", "dog"):
            (data / split / cls).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(data / split / cls / f"{i}.png")
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker_ready(pilot)
        editor = screen.query_one("#editor")
        assert screen.query_one("#hp-data-root", Input).value == ""  # digits: none
        screen.query_one("#hp-data-dataset", Select).value = "imagefolder"
        await pilot.pause()
        # The core's cross-key rule, under the field it names.
        assert editor.error.startswith("data.root: the imagefolder data set needs")
        assert str(screen.query_one("#err-hp-data-root").content) == editor.error
        root = screen.query_one("#hp-data-root", Input)
        root.value = str(tmp_path / "nowhere")
        await pilot.pause()
        assert editor.error == f"data.root: {tmp_path / 'nowhere'}: no such file or folder"
        screen.query_one(OptionList).focus()
        await press_live(pilot, "s")
        await pilot.pause()
        assert app.session is None and not any(runs_dir.glob("*"))

        root.value = str(data)
        screen.query_one("#hp-train-epochs", Input).value = "1"
        screen.query_one("#hp-train-device", Input).value = "cpu"
        await pilot.pause()
        assert editor.error is None
        assert editor.config.data.dataset == "imagefolder" and editor.config.data.root == str(data)
        screen.query_one(OptionList).focus()
        await press_live(pilot, "s")
        await wait_for(pilot, lambda: app.session is not None and app.session.done.is_set(), timeout=90, what="the run")
        assert status_of(app.session.run) == "finished"
        config = app.session.run.config()
        assert (config.data.dataset, config.data.root) == ("imagefolder", str(data))
        # Emptied, the field is none again (not a folder named ""): the rule holds again.
        root.value = "  "
        await pilot.pause()
        assert editor.error.startswith("data.root: the imagefolder data set needs")
        # A preset that names a folder: emptying the field overrides it with none.
        editor.load(editor.base.with_overrides(['data.dataset="imagefolder"', f"data.root={json.dumps(str(data))}"]))
        await pilot.pause()
        assert root.value == str(data) and editor.overrides() == []
        root.value = ""
        await pilot.pause()
        assert editor.overrides() == ["data.root=none"]
        assert editor.error.startswith("data.root: the imagefolder data set needs")  # none reached the core


async def test_schedule_fields_follow_the_schedule():
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker_ready(pilot)
        screen.query_one("#hp-schedule-name", Select).value = "multistep"
        await pilot.pause()
        assert screen.query_one("#row-hp-schedule-milestones").display
        assert not screen.query_one("#row-hp-schedule-final_lr_ratio").display
        # multistep without milestones breaks a cross-key rule: shown, start refused.
        assert screen.query_one("#editor").error.startswith("schedule.milestones")
        screen.query_one("#hp-schedule-milestones", Input).value = "[5, 10]"
        await pilot.pause()
        assert screen.query_one("#editor").error is None


async def test_save_as_preset_writes_a_user_preset(isolated_dirs):
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker_ready(pilot)
        screen.query_one("#hp-train-epochs", Input).value = "3"
        await pilot.pause()
        await press_live(pilot, "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="the name prompt")
        prompt = app.screen.query_one(Input)
        prompt.value = "bad name!"
        await press_live(pilot, "enter")
        assert isinstance(app.screen, PromptScreen)  # refused, with the core's message
        assert "not allowed" in str(app.screen.query_one("#prompt-error").content)
        prompt.value = "my-digits"
        await press_live(pilot, "enter")
        await wait_for(pilot, lambda: app.screen is screen, what="the prompt to close")
        path = Path(isolated_dirs["TUI_TRAINER_PRESETS"]) / "my-digits.toml"
        assert path.exists()
        assert presets.load("my-digits").train.epochs == 3
        assert "my-digits" in presets.available()
        assert screen.current == "my-digits"
        options = screen.query_one(OptionList)
        assert options.get_option("my-digits") is not None

        # Saving another preset's edits under that name asks before the file is replaced.
        async def save_as(name: str, epochs: str) -> None:
            screen.query_one("#hp-train-epochs", Input).value = epochs
            await pilot.pause()
            await press_live(pilot, "ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="the name prompt")
            app.screen.query_one(Input).value = name
            await press_live(pilot, "enter")

        # Through the list, as a user picks it (a highlight still queued from the save
        # would undo a direct screen.select under load).
        options.highlighted = options.get_option_index("digits-cnn")
        await wait_for(
            pilot,
            lambda: screen.current == "digits-cnn" and screen.query_one("#hp-train-epochs", Input).value == "15",
            what="digits-cnn picked",
        )
        await pilot.pause(0.2)
        assert screen.current == "digits-cnn"
        await save_as("my-digits", "5")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the replace question")
        assert "Replace the user preset my-digits?" in str(app.screen.query_one(".dialog-title").content)
        await press_live(pilot, "n")
        await wait_for(pilot, lambda: app.screen is screen, what="the question to close")
        assert presets.load("my-digits").train.epochs == 3, "kept"
        await save_as("my-digits", "6")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the replace question")
        await press_live(pilot, "y")
        await wait_for(pilot, lambda: presets.load("my-digits").train.epochs == 6, what="the preset replaced")
        # The preset being edited saved under its own name is the ordinary save: no question.
        assert screen.current == "my-digits"
        await save_as("my-digits", "7")
        await wait_for(pilot, lambda: presets.load("my-digits").train.epochs == 7, what="the preset saved")
        assert not isinstance(app.screen, ConfirmScreen)


async def test_broken_user_preset_is_shown_and_cannot_start(isolated_dirs):
    folder = Path(isolated_dirs["TUI_TRAINER_PRESETS"])
    folder.mkdir(parents=True)
    (folder / "broken.toml").write_text("[optim]\nlr = -5\n")
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker_ready(pilot)
        assert "optim.lr: -5" in screen.errors["broken"] and "out of range" in screen.errors["broken"]
        options = screen.query_one(OptionList)
        options.highlighted = list(screen.entries).index("broken")
        await pilot.pause()
        assert "out of range" in str(screen.query_one("#picker-status").content)
        options.focus()
        await press_live(pilot, "s")
        await pilot.pause()
        assert app.session is None
        assert any("out of range" in n for n in notifications(app))


# -- training from the picker ------------------------------------------------------------------


async def test_start_from_picker_trains_and_fills_the_dashboard(runs_dir):
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker_ready(pilot)
        screen.query_one("#hp-train-epochs", Input).value = "2"
        screen.query_one("#hp-train-device", Input).value = "cpu"
        await pilot.pause()
        screen.query_one(OptionList).focus()
        await press_live(pilot, "s")
        await wait_for(pilot, lambda: app.session is not None, what="the session")
        dash = app.screen
        assert isinstance(dash, DashboardScreen) and dash.session is app.session
        await wait_for(pilot, lambda: app.session.done.is_set(), timeout=90, what="training to finish")
        await wait_for(pilot, lambda: dash.progress.state == "finished", what="the finished state")
        assert dash.progress.title == app.session.run.id  # it ends with the preset's name: once is enough
        table = dash.query_one("#epochs")
        assert table.row_count == 2
        assert table.best_epoch is not None
        assert dash.query_one("#checkpoints").row_count >= 1
        assert len(dash.query_one("#sparkline").recent) >= 2
        assert status_of(app.session.run) == "finished"
        assert app.session.run.config().train.epochs == 2
        # The finished run can be started again as a new run; s is enabled now.
        assert dash.check_action("start", ()) is True
        assert dash.check_action("pause", ()) is None


# -- the live dashboard's controls ------------------------------------------------------------------


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

        # s on the ended run trains the same config again, as a new run folder.
        await press_live(pilot, "s")
        await wait_for(pilot, lambda: app.session is not session, what="a new session")
        assert app.session.run.dir != launch.run.dir
        assert app.session.launch.config.to_dict() == launch.config.to_dict()
        new_dash = app.session.screen
        await wait_for(pilot, lambda: new_dash._ready, what="the new dashboard")  # composed and mounted
        await wait_for(pilot, lambda: new_dash.progress.step > 0, what="the new run's first step")
        app.session.stop("test over")
        await wait_for(pilot, lambda: app.session.done.is_set(), what="the new run to stop")


async def test_quit_during_a_run_saves_a_checkpoint_and_marks_it_stopped(runs_dir):
    launch = long_launch(runs_dir)
    app = TrainerApp(launch=launch)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        await wait_for(pilot, lambda: dash.progress.step > 0, what="the first step")
        await press_live(pilot, "ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the quit confirm")
        await press_live(pilot, "y")
        await wait_for_exit(app)
    assert app.return_value == 0
    session = app.session
    assert session.done.is_set()
    assert isinstance(session.result, ev.Stopped) and session.result.reason == "quit"
    assert status_of(launch.run) == "stopped"
    saved = [p for p in launch.run.checkpoints_dir.glob("epoch_*.pt")]
    assert saved and Path(session.result.checkpoint).exists()


def test_after_a_hang_up_the_process_ends_even_if_textual_shutdown_hangs(tmp_path):
    """Textual's output thread can die writing to a dead terminal, and its shutdown then
    waits forever (a process per 6 hang-ups lingered). The watchdog waits for the run to
    end, gives the exit its grace, and ends the process with the app's exit status."""
    import subprocess
    import sys

    marker = tmp_path / "run-ended"
    script = f"""
import threading, time
from pathlib import Path
import tui_trainer.app.app as m
m.EXIT_GRACE = 0.3

class Session:
    def wait(self, timeout):
        time.sleep(0.5)  # the engine writing its checkpoint
        Path({str(marker)!r}).write_text("ok")
        return True

class App:
    is_headless = False
    session = Session()
    exit_status = 3

m.exit_even_if_textual_hangs(App())
threading.Event().wait(60)  # Textual's shutdown, hung
"""
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", script], timeout=30)
    assert r.returncode == 3 and marker.read_text() == "ok"  # after the run ended, with the app's status
    assert time.monotonic() - t0 < 20


def test_a_hung_up_terminal_is_told_from_a_live_one():
    import os

    from tui_trainer.app.app import terminal_hung_up

    master, slave = os.openpty()
    try:
        assert not terminal_hung_up(slave)
        os.close(master)  # what the SSH server or tmux does when the session goes
        master = -1
        assert terminal_hung_up(slave)
    finally:
        os.close(slave)
        if master >= 0:
            os.close(master)
    assert not terminal_hung_up(10_000)  # no such descriptor: not a hang-up


async def test_app_ending_on_a_dead_terminal_stops_the_run_as_a_hangup(runs_dir, monkeypatch):
    """Textual can end the app (its input thread failing on the dead terminal) before the
    SIGHUP arrives: the run is stopped with the hang-up as its reason all the same."""
    import tui_trainer.app.app as app_module

    launch = long_launch(runs_dir)
    app = TrainerApp(launch=launch)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        await wait_for(pilot, lambda: dash.progress.step > 0, what="the first step")
        monkeypatch.setattr(app_module, "terminal_hung_up", lambda fd=None: True)
        app.exit()  # as Textual's panic on the input thread's error does
        await wait_for_exit(app)
    session = app.session
    assert isinstance(session.result, ev.Stopped) and session.result.reason == "SIGHUP (terminal closed)"
    assert status_of(launch.run) == "stopped" and Path(session.result.checkpoint).exists()


async def test_quit_when_idle_exits_at_once():
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        await press_live(pilot, "ctrl+q")
        await wait_for_exit(app)


async def test_engine_failure_is_shown_and_the_app_keeps_running(runs_dir, tmp_path):
    launch = prepare(
        "digits-cnn",
        ['data.dataset="imagefolder"', f'data.root="{tmp_path / "nowhere"}"', 'train.device="cpu"'],
        runs_dir=runs_dir,
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


# -- checkpoints: evaluate and resume ------------------------------------------------------------------


def app_training(runs_dir, epochs: int) -> tuple[Launch, TrainerApp]:
    """An app that opens on the dashboard of a new tiny run, training at once."""
    config = tiny_config(train={"epochs": epochs})
    launch = Launch(config, Run.create(runs_dir, config))
    return launch, TrainerApp(launch=launch)


async def until_trained(pilot, app: TrainerApp) -> DashboardScreen:
    """The dashboard, once its run has ended and its checkpoints pane has rows."""
    dash = app.screen
    await wait_for(pilot, lambda: app.session.done.is_set(), what="training")
    await wait_for(pilot, lambda: dash.query_one("#checkpoints").row_count >= 1, what="checkpoint rows")
    return dash


@pytest.mark.parametrize("size", [SIZE, (120, 40)], ids=["narrow", "roomy"])
async def test_evaluate_and_resume_from_a_checkpoint(runs_dir, size):
    """e and r act on the checkpoints pane's row from anywhere on the dashboard: narrow,
    after 3 shows (and focuses) the pane; roomy, where the pane is always on screen, at
    once (they did nothing there until the table was clicked or tabbed to)."""
    launch, app = app_training(runs_dir, epochs=2)
    async with app.run_test(size=size) as pilot:
        dash = await until_trained(pilot, app)
        table = dash.query_one("#checkpoints")
        assert dash.roomy == (size != SIZE) and not table.has_focus
        if not dash.roomy:
            await press_live(pilot, "3")
            assert table.has_focus and dash.query_one("#pane-checkpoints").display
        await press_live(pilot, "e")
        await wait_for(pilot, lambda: isinstance(app.screen, EvalScreen), what="the evaluation dialog")
        await wait_for(pilot, lambda: not app.screen.waiting, timeout=60, what="the evaluation")
        result = app.screen.result
        assert 0 <= result.acc <= 100 and len(result.classes) == 4
        assert app.screen.query_one("#eval-table").row_count == 4 and not app.screen.query_one("#eval-loading").display
        assert not [n for n in app._notifications if "valuat" in n.message + n.title], "no toast beside the result"
        await press_live(pilot, "escape")
        await wait_for(pilot, lambda: app.screen is dash, what="the dialog to close")

        await press_live(pilot, "r")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="the epochs prompt")
        app.screen.query_one(Input).value = "3"
        await press_live(pilot, "enter")
        await wait_for(pilot, lambda: app.session.launch is not launch, what="the resumed session")
        resumed = app.screen
        assert isinstance(resumed, DashboardScreen) and resumed is not dash
        await wait_for(pilot, lambda: app.session.done.is_set(), what="the resumed run")
        await wait_for(pilot, lambda: resumed.query_one("#epochs").row_count == 3, what="three epoch rows")
        assert app.session.run.dir == launch.run.dir  # the same run folder, continued
        assert status_of(launch.run) == "finished"


async def test_evaluation_errors_in_its_dialog_and_a_closed_dialog_gets_a_toast(runs_dir, tmp_path):
    _, app = app_training(runs_dir, epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        dash = await until_trained(pilot, app)
        app.clear_notifications()
        bad = tmp_path / "notes.pt"
        bad.write_text("not a checkpoint")
        app.evaluate_checkpoint(str(bad))
        assert isinstance(app.screen, EvalScreen)
        await wait_for(pilot, lambda: not app.screen.waiting, timeout=60, what="the failed evaluation")
        screen = app.screen
        assert screen.result is None and str(bad) in screen.error
        assert (
            "failed:" in str(screen.query_one("#eval-summary").content) and not screen.query_one("#eval-table").display
        )
        await press_live(pilot, "escape")
        await wait_for(pilot, lambda: app.screen is dash, what="the dialog to close")

        # Closed before the result came: the result is a toast instead of lost.
        path = next(iter(dash.query_one("#checkpoints").entries))
        app.evaluate_checkpoint(path)
        app.pop_screen()
        await wait_for(
            pilot,
            lambda: any(n.title == "Evaluated" for n in app._notifications),
            timeout=60,
            what="the result as a toast",
        )
        (note,) = [n for n in app._notifications if n.title == "Evaluated"]
        assert Path(path).name in note.message and "test accuracy" in note.message
        assert app.screen is dash


async def test_resume_refused_with_the_core_message_when_nothing_is_left(runs_dir):
    _, app = app_training(runs_dir, epochs=1)
    async with app.run_test(size=SIZE) as pilot:
        dash = await until_trained(pilot, app)
        session = app.session
        path = next(iter(dash.query_one("#checkpoints").entries))
        app.resume_from(path, ["train.epochs=1"])
        await wait_for(pilot, lambda: any("already trained" in n for n in notifications(app)), what="the refusal")
        assert app.session is session


async def test_text_from_users_and_files_is_shown_as_typed_never_as_markup(tmp_path, isolated_dirs):
    # Textual reads a str as markup: "[/]" in a typed value, a preset's description, a
    # path or a notification would raise MarkupError at render and end the app; "[model]"
    # would vanish. Each of those reaches the screen here, which is rendered.
    odd = "closes nothing [/] and [bold]stays[/bold] [model]"
    (isolated_dirs["TUI_TRAINER_PRESETS"]).mkdir(parents=True, exist_ok=True)
    (isolated_dirs["TUI_TRAINER_PRESETS"] / "odd.toml").write_text(f'[meta]\ndescription = "{odd}"\n')
    runs_dir = tmp_path / "runs x[" / "y]"  # "...x[/y]": a closing tag in the runs screen's title
    run = train_tiny(runs_dir)
    renamed = run.dir.rename(run.dir.with_name("tiny [model] odd"))
    app = TrainerApp(runs_dir=runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker_ready(pilot)
        options = screen.query_one(OptionList)
        options.highlighted = [options.get_option_at_index(i).id for i in range(options.option_count)].index("odd")
        await wait_for(pilot, lambda: screen.current == "odd", what="the odd preset")
        await pilot.pause()
        assert str(screen.query_one("#preview-desc").render()) == odd
        screen.query_one("#hp-optim-lr", Input).value = "[/]"
        await pilot.pause()
        assert "'[/]'" in str(screen.query_one("#err-hp-optim-lr").render())
        app.notify(f"a message with {odd}", severity="error")
        await pilot.pause()
        app.export_screenshot()  # renders everything, the notification's toast included
        assert notifications(app)[-1] == f"a message with {odd}"

        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs screen")
        table = app.screen.query_one("#runs-table")
        await wait_for(pilot, lambda: table.row_count == 1, what="the run")
        assert str(table.get_row_at(0)[1]) == renamed.name
        app.export_screenshot()
        assert app.is_running


# -- runs screen and watch mode --------------------------------------------------------------------


async def test_runs_screen_lists_opens_and_compares(runs_dir):
    first = train_tiny(runs_dir, epochs=2)
    second = train_tiny(runs_dir, epochs=3)
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs screen")
        screen = app.screen
        table = screen.query_one("#runs-table")
        assert table.row_count == 2
        assert {r.id: r.status for r in screen.runs} == {first.id: "finished", second.id: "finished"}
        table.focus()
        await press_live(pilot, "space", "down", "space")
        await wait_for(pilot, lambda: len(screen.curves) == 2, what="the curves")
        legend = str(screen.query_one("#compare-legend").content)
        assert first.id in legend and second.id in legend
        assert [len(c) for c in (screen.curves[first.id], screen.curves[second.id])] == [2, 3]
        await press_live(pilot, "t")
        assert screen.metric == 1

        await press_live(pilot, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
        dash = app.screen
        assert dash.mode == "watch"
        await wait_for(pilot, lambda: dash.query_one("#epochs").row_count in (2, 3), what="epoch rows")
        await press_live(pilot, "escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back to the runs")


async def test_runs_chart_shows_the_cursor_run_until_runs_are_marked_and_follows_new_epochs(runs_dir):
    from helpers import write_run_folder

    write_run_folder(runs_dir, "20240101-000000-a", "digits-cnn", "finished", [50.0, 60.0], 2)
    live = write_run_folder(runs_dir, "20240102-000000-b", "digits-cnn", "running", [40.0], 5)
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs screen")
        screen = app.screen
        legend = lambda: str(screen.query_one("#compare-legend").content)  # noqa: E731
        # Nothing marked: the chart is the run under the cursor (the newest, first).
        await wait_for(pilot, lambda: list(screen.curves) == ["20240102-000000-b"], what="the cursor's curve")
        assert "20240102-000000-b" in legend() and "space marks" in legend()
        screen.query_one("#runs-table").focus()
        await press_live(pilot, "down")
        await wait_for(pilot, lambda: list(screen.curves) == ["20240101-000000-a"], what="the next run's curve")
        assert len(screen.curves["20240101-000000-a"]) == 2
        # Marked runs replace the preview; moving the cursor no longer changes the chart.
        await press_live(pilot, "space", "up", "space")
        await wait_for(
            pilot, lambda: set(screen.curves) == {"20240101-000000-a", "20240102-000000-b"}, what="both curves"
        )
        await press_live(pilot, "down")
        await pilot.pause(0.2)
        assert set(screen.curves) == {"20240101-000000-a", "20240102-000000-b"}
        # The live run ends an epoch: its curve grows at the next refresh.
        write_run_folder(runs_dir, live.name, "digits-cnn", "running", [40.0, 45.0], 5)
        screen.refresh_runs()
        await wait_for(pilot, lambda: len(screen.curves["20240102-000000-b"]) == 2, what="the new epoch")


async def test_the_runs_chart_says_why_a_run_failed(runs_dir):
    import json

    from helpers import write_run_folder

    failed = write_run_folder(runs_dir, "20240103-000000-c", "digits-cnn", "failed", [], 5)
    status = json.loads((failed / "status.json").read_text())
    (failed / "status.json").write_text(json.dumps({**status, "reason": "imagefolder: /data/x does not exist"}))
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        await press_live(pilot, "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="the runs screen")
        screen = app.screen
        await wait_for(pilot, lambda: "20240103-000000-c" in screen.curves, what="the failed run's chart")
        legend = str(screen.query_one("#compare-legend").content)
        assert "failed: imagefolder: /data/x does not exist" in legend and "no epochs yet" not in legend, legend


async def test_watch_a_finished_run_shows_its_history(runs_dir):
    run = train_tiny(runs_dir, epochs=2)
    app = TrainerApp(watch=run)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen) and dash.mode == "watch"
        await wait_for(pilot, lambda: dash.query_one("#epochs").row_count == 2, what="the history")
        assert dash.progress.state == "finished"
        assert dash.query_one("#checkpoints").row_count >= 1
        assert "watching (finished)" in dash.progress.mode_note
        await press_live(pilot, "p")  # a finished run takes no commands: the app says so
        await pilot.pause()
        assert any("only a live run takes commands" in n for n in notifications(app))
        assert not (run.dir / "control.jsonl").exists()


async def test_watch_tails_a_run_trained_by_someone_else(runs_dir):
    from tui_trainer.engine.trainer import Trainer

    config = tiny_config(train={"epochs": 300, "log_interval": 0.05})
    run = Run.create(runs_dir, config)
    recorder = run.recorder()
    trainer = Trainer(config, run=run, subscribers=[recorder])
    thread = threading.Thread(target=trainer.run, daemon=True)
    thread.start()
    try:
        app = TrainerApp(watch=run)
        async with app.run_test(size=SIZE) as pilot:
            dash = app.screen
            await wait_for(pilot, lambda: dash.query_one("#epochs").row_count >= 2, what="live epoch rows")
            rows = dash.query_one("#epochs").row_count
            await wait_for(pilot, lambda: dash.query_one("#epochs").row_count > rows, what="more rows")
            assert dash.watch_status == "running" and dash.progress.mode_note == "watching live"
            # Controls travel through the run folder to the other trainer, which acknowledges.
            await pilot.press("p")
            await wait_for(pilot, lambda: trainer.paused, what="the trainer to pause")
            await wait_for(pilot, lambda: dash.watch_status == "paused", what="the paused status")
            await pilot.press("c")
            await wait_for(
                pilot,
                lambda: any("save acknowledged" in m for _, m in dash.query_one("#log").lines_kept),
                what="the save acknowledgement in the log pane",
            )
            await pilot.press("p")
            await wait_for(pilot, lambda: not trainer.paused, what="the trainer to resume")
            await pilot.press("x")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the stop confirm")
            await pilot.press("y")
            await wait_for(pilot, lambda: dash.progress.state == "stopped", what="the stop to show")
            thread.join(30)
            assert trainer.result is not None and trainer.result.kind == "stopped"
    finally:
        trainer.stop("test over")
        thread.join(30)
        recorder.close()


async def test_watch_a_run_whose_process_is_gone(runs_dir):
    import subprocess
    import sys

    from helpers import write_run_folder

    folder = write_run_folder(runs_dir, "20240101-000000-gone", "digits-cnn", "running", [80.0, 90.0], 10)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    status = json.loads((folder / "status.json").read_text())
    status.update(pid=dead.pid, host=__import__("socket").gethostname())
    (folder / "status.json").write_text(json.dumps(status))
    app = TrainerApp(watch=Run(folder))
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        await wait_for(pilot, lambda: dash.query_one("#epochs").row_count == 2, what="the history")
        assert dash.watch_status == "dead"
        assert "process is gone" in dash.progress.mode_note
        assert dash.progress.state == "stopped"


# -- command palette and NO_COLOR -----------------------------------------------------------------


async def test_controls_are_in_the_command_palette(runs_dir):
    from tui_trainer.app.screens.dashboard import DashboardScreen

    app = TrainerApp(runs_dir=runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await picker_ready(pilot)
        picker_titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Start training", "Save as preset", "Runs", "Quit"} <= set(picker_titles)
        await app.push_screen(DashboardScreen())
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in (
            "Start training",
            "Pause / resume",
            "Stop",
            "Save a checkpoint now",
            "Evaluate the selected checkpoint",
            "Resume from the selected checkpoint",
            "Quit",
        ):
            assert title in titles
        # The bindings have ids (keymaps can rebind them) and show in the footer.
        ids = {b.id for b in DashboardScreen.BINDINGS if getattr(b, "id", None)}
        assert {"start", "pause", "stop", "checkpoint"} <= ids
        assert "quit" in {b.id for b in TrainerApp.BINDINGS}


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


async def test_nan_loss_offers_to_resume_with_a_lower_lr(runs_dir):
    """A diverged run stops at its last good checkpoint; the app asks, and resumes it
    from that checkpoint with a tenth of the learning rate."""
    from tui_trainer.engine.trainer import Trainer
    from tui_trainer.launch import prepare

    config = tiny_config(train={"epochs": 4}, optim={"lr": 0.05, "momentum": 0.0}, schedule={"name": "constant"})
    run = Run.create(runs_dir, config)
    recorder = run.recorder()
    box = {}
    box["t"] = Trainer(config, run=run, subscribers=[recorder, lambda e: e.kind == "epoch_end" and box["t"].stop("x")])
    box["t"].run()
    recorder.close()
    launch = prepare(None, ["optim.lr=100"], resume=str(run.dir), runs_dir=runs_dir)
    app = TrainerApp(launch=launch)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the NaN question")
        assert "NaN" in app.screen.question and "lr 10" in app.screen.detail
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: app.session is not None and app.session.launch.config.optim.lr == 10,
            what="the resumed session",
        )
        assert app.session.launch.resume["epoch"] == 1
        app.session.stop("test over")
        await wait_for(pilot, lambda: app.session.done.is_set(), what="the resumed run to end")


async def test_editor_loaded_before_its_fields_are_mounted_shows_the_values_once_they_are():
    """The picker highlights its first preset while the screen may still be mounting
    the editor's fields (a race seen in CI): loading must wait for them, not fail."""
    from textual.app import App

    from tui_trainer.app.widgets.hparams import HParamsEditor

    app = App()
    async with app.run_test() as pilot:
        editor = HParamsEditor()
        app.screen.mount(editor)  # not awaited: its fields are not there yet
        assert not editor.query("#hp-train-epochs")
        editor.load(presets.load("digits-cnn"))
        await pilot.pause()
        assert editor.query_one("#hp-train-epochs", Input).value == "15"
        assert editor.base is not None and editor.base.name == "digits-cnn"


async def test_editor_loaded_while_a_flags_row_is_still_mounting_waits_for_it():
    """The rows can be there while a flags row's checkboxes are not yet (the CI race of
    2026-12-02): loading waits for every field, not one standing for all."""
    from textual.app import App
    from textual.css.query import NoMatches

    from tui_trainer.app.widgets.hparams import HParamsEditor

    class Mounting(HParamsEditor):
        missing = {"#hp-data-augment-crop"}  # not mounted yet, the first time it is asked for

        def query_one(self, selector, expect_type=None):
            if selector in self.missing:
                self.missing.discard(selector)
                raise NoMatches(selector)
            return super().query_one(selector, expect_type)

    app = App()
    async with app.run_test() as pilot:
        editor = Mounting()
        await app.screen.mount(editor)
        await pilot.pause()
        editor.load(presets.load("speedrun-cifar10"))  # crops: must not raise, and must wait
        assert not editor.missing
        await pilot.pause()
        assert editor.query_one("#hp-data-augment-crop", Checkbox).value is True
        assert editor.base is not None and editor.base.name == "speedrun-cifar10"
