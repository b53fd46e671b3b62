"""Text from users and files (values, descriptions, paths, notifications) is shown as
typed, never read as Textual markup, on every screen it reaches."""

from __future__ import annotations

from app_helpers import (
    SIZE,
    notifications,
    picker_ready,
    press_live,
    train_tiny,
    wait_for,
)
from textual.widgets import Input, OptionList

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.runs import RunsScreen


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
