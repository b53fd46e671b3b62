"""Below the size a screen needs, a "terminal too small" panel covers it and takes no
key but quit (issue 19: at 60x20 the picker's editor and Start were off screen but still
took keystrokes blind)."""

from __future__ import annotations

from app_helpers import notifications, picker_ready, wait_for

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.picker import PickerScreen
from tui_trainer.app.screens.too_small import TooSmallScreen


def panel_text(app) -> str:
    return str(app.screen.query_one("#too-small").render())


async def test_the_picker_at_60x20_is_covered_until_the_terminal_grows(runs_dir):
    app = TrainerApp()
    async with app.run_test(size=(100, 30)) as pilot:
        picker = await picker_ready(pilot)
        await pilot.resize_terminal(60, 20)
        await wait_for(pilot, lambda: isinstance(app.screen, TooSmallScreen), what="the too-small panel")
        assert "terminal too small: 80x24 needed (now 60x20)" in panel_text(app)
        for key in ("s", "f3", "tab", "enter"):  # nothing reaches the picker, or the app's screens
            await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen) and app.session is None
        assert not (runs_dir.exists() and any(runs_dir.iterdir()))
        await pilot.resize_terminal(70, 22)
        await pilot.pause()
        assert "now 70x22" in panel_text(app)
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: app.screen is picker, what="the picker again")
        await pilot.press("f3")  # keys work again
        await wait_for(pilot, lambda: not isinstance(app.screen, PickerScreen), what="the runs screen")
        assert not notifications(app) or all("small" not in n for n in notifications(app))


async def test_q_quits_from_the_panel(runs_dir):
    app = TrainerApp()
    async with app.run_test(size=(60, 20)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TooSmallScreen), what="the too-small panel")
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
