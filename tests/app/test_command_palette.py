"""The controls in the command palette and their binding ids (app/app.py); every key of
every screen is a command (tests/app/test_discoverability.py)."""

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
        assert {"Start training", "Save as preset", "Runs: open or compare past runs", "Quit"} <= set(picker_titles)
        assert len(picker_titles) == len(set(picker_titles)), "one command per key, whatever its keys (s, f5)"
        await app.push_screen(DashboardScreen())
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in (
            "Start a new run of this config",
            "Pause the run",
            "Stop the run (asks first; saves a checkpoint)",
            "Save a checkpoint now",
            "Evaluate the selected checkpoint",
            "Resume from the selected checkpoint",
            "Recent or all steps: the loss sparkline, the chart and the metrics",
            "Maximize the pane / restore",
            "Log pane",
            "Metrics pane",
            "System pane",
            "Help: the keys and what the panes show",
            "Quit",
        ):
            assert title in titles
        # The bindings have ids (keymaps can rebind them) and show in the footer.
        ids = {b.id for b in DashboardScreen.BINDINGS if getattr(b, "id", None)}
        assert {"start", "pause", "stop", "checkpoint", "maximize", "pane.epochs"} <= ids
        assert {"quit", "help"} <= {b.id for b in TrainerApp.BINDINGS}
