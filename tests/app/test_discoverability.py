"""Issue 19, discoverability: the help screen, the picker's keys where the focus is, the
question before s trains an ended run again, only the controls that apply, and every
key as a command palette entry (app/screens/help.py, picker.py, dashboard.py, app.py)."""

from __future__ import annotations

import pytest
from app_helpers import app_training, notifications, picker_ready, press_live, train_tiny, until_trained, wait_for
from textual.widgets import Button, Input, OptionList

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.confirm import ConfirmScreen
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.app.screens.help import HelpScreen, offered_bindings
from tui_trainer.app.screens.picker import PickerScreen

SIZES = [(80, 24), (120, 40)]


def footer_keys(screen) -> dict[str, str]:
    """What the footer shows: key -> label, the enabled keys only."""
    return {key: a.binding.description for key, a in screen.active_bindings.items() if a.binding.show and a.enabled}


def palette_titles(app, screen) -> set[str]:
    return {c.title for c in app.get_system_commands(screen)}


def help_text(app) -> str:
    help_screen = app.screen
    assert isinstance(help_screen, HelpScreen)
    return "\n".join(str(s.render()) for s in help_screen.query("#help-body Static"))


# -- 1. the help screen -------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
async def test_help_lists_the_keys_of_the_screen_and_what_its_panes_show(runs_dir, size):
    app = TrainerApp(runs_dir=runs_dir)
    async with app.run_test(size=size) as pilot:
        await picker_ready(pilot)
        await pilot.press("question_mark")
        text = help_text(app)
        assert "Hyperparameters:" in text  # what the panes show
        for line in ("f5", "Start training", "^s", "Save as preset", "f3", "Runs", "Quit"):
            assert line in text
        assert "Pause" not in text  # the dashboard's keys are not the picker's
        await pilot.press("escape")
        assert isinstance(app.screen, PickerScreen)
        # f1 from a text field (where ? is typed), and its own keys close it.
        app.screen.query_one("#hp-optim-lr", Input).focus()
        await pilot.press("f1")
        assert "Back to the presets list" in help_text(app)  # escape works in a field
        for key in ("q", "f1", "question_mark"):
            await pilot.press(key)
            assert isinstance(app.screen, PickerScreen), key
            await pilot.press("f1")
        await pilot.press("escape")
        assert "?" not in app.screen.query_one("#hp-optim-lr", Input).value


async def test_help_on_a_dashboard_follows_the_run_s_state(runs_dir):
    run = train_tiny(runs_dir, epochs=1)
    app = TrainerApp(watch=run)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = app.screen
        await wait_for(pilot, lambda: dash.watch_status == "finished", what="the finished status")
        await pilot.press("f1")
        text = help_text(app)
        assert "Epochs:" in text and "Checkpoints:" in text  # what the panes show
        assert "Maximize the pane" in text and "Chart pane" in text
        assert "Pause the run" not in text and "Stop the run" not in text  # not offered: finished


# -- 2. the picker ------------------------------------------------------------------------------
async def test_enter_on_the_list_moves_to_the_form_and_f5_starts_from_a_field(runs_dir):
    app = TrainerApp(runs_dir=runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await picker_ready(pilot)
        assert isinstance(screen.focused, OptionList)
        keys = footer_keys(screen)
        assert keys.get("f5") == "Start" and "escape" not in keys
        await pilot.press("enter")
        epochs = screen.query_one("#hp-train-epochs", Input)
        assert screen.focused is epochs, screen.focused
        keys = footer_keys(screen)
        assert keys.get("f5") == "Start" and keys.get("escape") == "Presets list"
        assert "s" not in screen.active_bindings  # typed into the field, not a start
        epochs.value = "1"
        await pilot.press("s")
        assert app.session is None and "s" in epochs.value
        epochs.value = "1"
        screen.query_one("#hp-train-device", Input).value = "cpu"
        screen.query_one("#hp-optim-lr", Input).focus()
        await pilot.pause()
        await press_live(pilot, "f5")
        await wait_for(pilot, lambda: app.session is not None, what="the run to start")
        await wait_for(pilot, lambda: app.session.done.is_set(), timeout=90, what="the run to end")


@pytest.mark.parametrize("size", SIZES)
async def test_the_start_button_is_visible_whichever_field_has_focus(runs_dir, size):
    app = TrainerApp(runs_dir=runs_dir)
    async with app.run_test(size=size) as pilot:
        screen = await picker_ready(pilot)
        button = screen.query_one("#start", Button)
        screen.query_one("#hp-data-root", Input).value = "/no/such/folder/" + "x" * 200  # a long error
        await pilot.pause()
        fields = [w for w in screen.query("#editor Input, #editor Select, #editor Checkbox") if w.display]
        for field in [screen.query_one(OptionList), *fields, screen.query_one("#save")]:
            field.focus()
            await pilot.pause()
            region = button.region
            assert region.height == 1 and screen.region.contains_region(region), (field.id, region)
            widget, _ = screen.get_widget_at(region.x + 1, region.y)
            assert widget is button, (field.id, widget)


# -- 3. s on an ended run asks ------------------------------------------------------------------
async def test_s_after_a_finished_run_asks_before_training_it_again(runs_dir):
    launch, app = app_training(runs_dir, epochs=1)
    async with app.run_test(size=(100, 30)) as pilot:
        dash = await until_trained(pilot, app)
        session = app.session
        await press_live(pilot, "s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "Start a new run of" in app.screen.question and launch.config.name in app.screen.question
        await press_live(pilot, "n")
        await wait_for(pilot, lambda: app.screen is dash, what="the dashboard again")
        assert app.session is session  # nothing started
        await press_live(pilot, "s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await press_live(pilot, "y")
        await wait_for(pilot, lambda: app.session is not session, what="the new run")
        assert app.session.run.dir != launch.run.dir
        await wait_for(pilot, lambda: app.session.done.is_set(), timeout=90, what="the new run to end")


# -- 4. only the controls that apply ------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
async def test_a_watched_finished_run_offers_no_controls(runs_dir, size):
    run = train_tiny(runs_dir, epochs=1)
    app = TrainerApp(watch=run)
    async with app.run_test(size=size) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await wait_for(pilot, lambda: dash.watch_status == "finished", what="the finished status")
        await pilot.pause()
        for key in ("p", "x", "c", "s"):
            assert key not in dash.active_bindings, key
        labels = {str(item.render()) for item in dash.query("FooterKey")}
        assert not any(word in label for label in labels for word in ("Pause", "Stop", "Checkpoint", "Start"))
        for key in ("p", "x", "c", "s"):
            await pilot.press(key)
        assert app.screen is dash  # no question, nothing sent
        assert not (run.dir / "control.jsonl").exists()
        assert not any("Sent" in n for n in notifications(app))


async def test_a_live_run_that_ended_offers_s_and_no_longer_p_x_c(runs_dir):
    _, app = app_training(runs_dir, epochs=1)
    async with app.run_test(size=(100, 30)) as pilot:
        dash = await until_trained(pilot, app)
        await pilot.pause()
        keys = footer_keys(dash)
        assert keys.get("s") == "Start" and not {"p", "x", "c"} & set(keys)


# -- 5. every key a palette command -------------------------------------------------------------
async def assert_every_shown_key_is_a_command(app, screen) -> None:
    titles = palette_titles(app, screen)
    shown = [o for o in offered_bindings(screen) if o.enabled and o.binding.action != "command_palette"]
    assert shown
    for offered in shown:
        assert offered.title in titles, (type(screen).__name__, offered.key, offered.title)
    for key, active in screen.active_bindings.items():  # the footer's keys are all among them
        if active.binding.show and active.enabled and active.binding.action != "command_palette":
            assert any(o.binding is active.binding for o in shown) or key in {"f1", "question_mark"}, key


async def test_every_key_of_every_screen_is_a_palette_command(runs_dir):
    run = train_tiny(runs_dir, epochs=1)
    app = TrainerApp(runs_dir=runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        picker = await picker_ready(pilot)
        await assert_every_shown_key_is_a_command(app, picker)
        picker.query_one("#hp-optim-lr", Input).focus()
        await pilot.pause()
        await assert_every_shown_key_is_a_command(app, picker)
        await pilot.press("f3")
        await wait_for(pilot, lambda: app.screen.query_one("#runs-table").row_count == 1, what="the runs")
        await assert_every_shown_key_is_a_command(app, app.screen)
        app.open_run(run.dir)
        await pilot.pause()
        dash = app.screen
        await wait_for(pilot, lambda: dash.watch_status == "finished", what="the watched run")
        await assert_every_shown_key_is_a_command(app, dash)
        titles = palette_titles(app, dash)
        for title in ("Maximize the pane / restore", "Epochs pane", "Chart pane", "Checkpoints pane", "Log pane"):
            assert title in titles
        assert "Pause the run" not in titles and "Maximize" not in titles  # not Textual's widget maximize


async def test_palette_commands_run_their_binding(runs_dir):
    run = train_tiny(runs_dir, epochs=1)
    app = TrainerApp(watch=run)
    async with app.run_test(size=(80, 24)) as pilot:
        dash = app.screen
        await wait_for(pilot, lambda: dash.watch_status == "finished", what="the watched run")
        await pilot.press("ctrl+p")
        await pilot.press(*"chart pane")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: dash.active_pane == "chart", what="the chart pane")
        await pilot.press("ctrl+p")
        await pilot.press(*"maximize")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: dash.maximized is not None, what="the maximized pane")
        assert dash.maximized.id == "pane-chart"
        await pilot.press("m")
        assert dash.maximized is None
