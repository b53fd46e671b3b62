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


def whole_keys_check(app, width: int) -> list[str]:
    """The footer's last row holds whole keys only, the help key among them, and leaves out
    only keys that would not have fitted; returns the labels shown."""
    row = screen_text(app)[-1]
    screen = footer_screen(app)
    keys = [key for key in screen.query(FooterKey) if not key.has_class("-command-palette")]
    labels = [f"{key.key_display} {key.description}" for key in keys]
    assert row.endswith(PALETTE), row
    shown = row[: -len(PALETTE)].rstrip()
    assert shown == " ".join(labels), (row, labels)
    assert "f1 Help" in labels, row
    bound: dict[str, str] = {}  # an action's first key, as Footer shows it
    for _, b, _, _ in screen.active_bindings.values():
        if b.show and b.action != "command_palette":
            bound.setdefault(b.action, f"{app.get_key_display(b)} {b.description}")
    room = width - len(PALETTE) - len(shown) - 1  # the cells still free before the palette key
    for label in bound.values():
        assert label in labels or len(label) > room, (label, row)  # left out: it would have been cut
    return labels


@pytest.mark.parametrize("width", [60, 70, 80, 100, 120])
@pytest.mark.parametrize("name", ["picker", "dashboard", "runs", "evaluation", "help"])
async def test_the_footer_shows_whole_keys_only(name, width):
    app = TrainerApp()
    async with app.run_test(size=(width, 24 if width < 100 else 40)) as pilot:
        await pilot.pause()
        await open_screen(pilot, name)
        if isinstance(app.screen, TooSmallScreen):
            return  # the panel's own footer (see above)
        whole_keys_check(app, width)


async def test_the_footer_fits_itself_again_when_the_terminal_is_resized():
    app = TrainerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await open_screen(pilot, "dashboard")
        wide = whole_keys_check(app, 120)
        assert "f3 Runs" in wide  # at 120 columns everything fits
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        await pilot.pause()
        narrow = whole_keys_check(app, 60)
        assert len(narrow) < len(wide) and narrow == [label for label in wide if label in narrow]
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        await pilot.pause()
        assert whole_keys_check(app, 120) == wide
