"""The controls in the command palette and their binding ids (app/app.py)."""

from __future__ import annotations

from app_helpers import (
    SIZE,
    picker_ready,
)

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.dashboard import DashboardScreen


async def test_controls_are_in_the_command_palette(runs_dir):

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
