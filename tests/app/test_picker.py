"""The preset picker and its hyperparameter editor (app/screens/picker.py,
app/widgets/hparams.py), and starting a run from it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from app_helpers import (
    SIZE,
    notifications,
    picker_ready,
    press_live,
    status_of,
    wait_for,
)
from textual.widgets import Button, Checkbox, Input, OptionList, Select

from tui_trainer import presets
from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.confirm import ConfirmScreen, PromptScreen
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.config import RunConfig


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
            RunConfig().check_value("optim.lr", -1)
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
        assert screen.query_one("#editor").changes()["optim.lr"] == 0.01

        # What was typed is said in the editor's terms, not the command line's.
        epochs = screen.query_one("#hp-train-epochs", Input)
        for typed, said in (("", "train.epochs: no value given"), ("1 2", '"1 2" is not valid; expected an integer')):
            epochs.value = typed
            await pilot.pause()
            error = str(screen.query_one("#err-hp-train-epochs").content)
            assert said in error and "--set" not in error, error
        epochs.value = "15"
        await pilot.pause()
        assert screen.query_one("#editor").error is None
        assert screen.query_one("#editor").config.optim.lr == 0.01


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
        assert root.value == str(data) and editor.changes() == {}
        root.value = ""
        await pilot.pause()
        assert editor.changes() == {"data.root": None}
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
        # A built-in's name: saved (a user preset overrides it), and the toast says so
        # (recorded as sent: a toast on screen expires after a few seconds).
        said: list[str] = []
        notify = screen.notify
        screen.notify = lambda message, **kw: (said.append(str(message)), notify(message, **kw))[1]
        await save_as("digits-cnn", "8")
        await wait_for(pilot, lambda: presets.load("digits-cnn").train.epochs == 8, what="the override saved")
        assert any("digits-cnn" in n and "overrides the built-in preset" in n for n in said), said


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
        assert dash.check_action("pause", ()) is False  # nothing to pause: not offered


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


async def test_each_preset_says_whether_its_data_is_here_and_start_on_missing_data_asks(runs_dir, tmp_path):
    """Issue 19: a CIFAR preset without its data was shown as ready, then failed when
    started and left a failed run at 0 epochs."""
    from tui_trainer.app.screens.confirm import ChoiceScreen

    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker_ready(pilot)
        await wait_for(pilot, lambda: "present · built in" in preview_text(screen), what="digits: present")
        options = screen.query_one(OptionList)
        options.highlighted = options.get_option_index("cnn-dropout-cifar10")
        await pilot.pause()
        # No data.root: torchvision's files are looked for in the (empty) cache.
        await wait_for(pilot, lambda: "missing · looked in" in preview_text(screen), what="cifar10: missing")
        screen.query_one(OptionList).focus()
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), what="the missing-data dialog")
        dialog = app.screen
        labels = [str(b.label) for b in dialog.query(Button)]
        assert labels == ["Download (d)", "Point at a folder or archive (f)", "Cancel (c)"]
        await pilot.press("f")  # point at the data: the data-root field takes the keys
        await wait_for(pilot, lambda: app.screen is screen, what="the picker again")
        assert app.focused is screen.query_one("#hp-data-root", Input)
        assert app.session is None and not (runs_dir.exists() and any(runs_dir.iterdir()))


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("train.device", "cuda", 'train.device: "cuda" asked for, but no CUDA GPU is available'),
        ("notify.urls", ["nosuchscheme://x"], "notify.urls"),
    ],
    ids=["device", "notify-url"],
)
async def test_start_checks_what_the_command_line_checks_before_a_run_folder(runs_dir, key, value, said):
    """The picker's Start refuses what `train` refuses before a run folder exists
    (launch.preflight): it made a run folder and failed in the dashboard."""
    import torch

    if key == "train.device" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the refusal is about none")
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await picker_ready(pilot)
        editor = screen.query_one("#editor")
        editor.config = editor.config.with_value(key, value)  # notify.urls has no field: set as a preset would
        screen.query_one(OptionList).focus()
        await press_live(pilot, "s")
        await wait_for(pilot, lambda: any(said in n for n in notifications(app)), what="the refusal")
        assert app.session is None and isinstance(app.screen, type(screen))
        assert not runs_dir.exists() or not any(runs_dir.iterdir())
