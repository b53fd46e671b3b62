"""The focused pane's border (app/focus_marks.py): a class that follows the focus into and
out of a pane, in place of ``:focus-within`` (which restyled the whole editor at every Tab)."""

from __future__ import annotations

from app_helpers import SIZE, picker_ready, wait_for
from textual.widgets import OptionList

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.focus_marks import CLASS


def border_colour(widget) -> str:
    return widget.styles.border_top[1].hex


async def test_the_editor_is_marked_while_the_focus_is_in_it_and_only_then():
    app = TrainerApp()
    async with app.run_test(size=SIZE) as pilot:
        editor = (await picker_ready(pilot)).query_one("#editor")
        await wait_for(pilot, lambda: isinstance(app.focused, OptionList), what="the preset list focused")
        assert not editor.has_class(CLASS)
        idle = border_colour(editor)

        await pilot.press("enter")  # to the editor's first field
        await wait_for(pilot, lambda: editor.has_class(CLASS), what="the editor marked")
        assert border_colour(editor) != idle
        fields = []
        for _ in range(4):  # moves within the editor keep the mark
            await pilot.press("tab")
            await pilot.pause()
            fields.append(app.focused)
            assert app.focused in editor.walk_children() and editor.has_class(CLASS)
        assert len(set(map(id, fields))) == 4

        await pilot.press("escape")  # back to the list
        await wait_for(pilot, lambda: not editor.has_class(CLASS), what="the mark gone")
        assert isinstance(app.focused, OptionList) and border_colour(editor) == idle

        await pilot.press("enter")
        await wait_for(pilot, lambda: editor.has_class(CLASS), what="the editor marked again")
        app.screen.set_focus(None)  # the focus nowhere: only a blur says so
        await wait_for(pilot, lambda: not editor.has_class(CLASS), what="the mark gone with the focus")
