"""The footer's last row on every screen where the keys overflow it (80 columns or less):
nothing after the palette key ("^p paletteu" was a key scrolled under the palette
key's unpainted right margin, showing through)."""

from __future__ import annotations

import pytest
from app_helpers import epoch_events, screen_text
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.app.screens.evaluation import EvalScreen
from tui_trainer.app.screens.runs import RunsScreen
from tui_trainer.app.screens.too_small import TooSmallScreen

PALETTE = "▏^p palette "


async def open_screen(pilot, name: str) -> None:
    app = pilot.app
    if name != "picker":
        dash = DashboardScreen()
        await app.push_screen(dash)
        await pilot.pause()
        dash.feed(epoch_events(3))
    if name == "runs":
        await app.push_screen(RunsScreen())
    elif name == "evaluation":
        await app.push_screen(EvalScreen("/runs/x/checkpoints/epoch_001_acc_50.00.pt"))
    elif name == "help":
        await pilot.press("f1")
    await pilot.pause()
    await pilot.pause()


def footer_screen(app):
    """The screen whose footer is the last row (a dialog shows the one beneath)."""
    for screen in reversed(app.screen_stack):
        if screen.query(Footer):
            return screen
    raise AssertionError("no footer on screen")


@pytest.mark.parametrize("width", [60, 70, 80])
@pytest.mark.parametrize("name", ["picker", "dashboard", "runs", "evaluation", "help"])
async def test_nothing_follows_the_footer_s_last_key(name, width):
    app = TrainerApp()
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        await open_screen(pilot, name)
        row = screen_text(app)[-1]
        screen = footer_screen(app)
        palette = [key for key in screen.query(FooterKey) if key.has_class("-command-palette")]
        if not palette:  # under the too-small panel the footer offers no palette: blanks end it
            assert isinstance(app.screen, TooSmallScreen), app.screen
            assert row[-1] == " " and screen.get_widget_at(width - 1, 23)[0] is screen.query_one(Footer)
            return
        assert row.endswith(PALETTE), row
        # The last cell is the palette key's own: nothing scrolled beneath it shows there.
        assert screen.get_widget_at(width - 1, 23)[0] is palette[0], screen.get_widget_at(width - 1, 23)
