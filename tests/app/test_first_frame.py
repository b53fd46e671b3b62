"""The app's start-up (issue 19): its first frame is the picker with the default
preset's values in an editable form, drawn before torch is imported; torch, the engine
and the models are imported afterwards in a background thread (app/warmup.py), and the
preview's parameter count follows. In a fresh interpreter: this one has torch already."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import subprocess_env
from helpers import write_run_folder

from tui_trainer import presets
from tui_trainer.app.widgets.hparams import FIELDS, to_text

# Runs the app headless and describes the first frame it writes (Textual holds frames
# back during a batch update, the app's Mount included: those are not written), then
# what it shows once the background imports are done. One JSON line.
PROBE = """
import asyncio, io, json, os, sys, time
from rich.console import Console
from textual.widgets import Input, OptionList, Select
from tui_trainer.app import warmup
from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.picker import PickerScreen
from tui_trainer.app.widgets.hparams import FIELDS

def text_of(widget):
    console = Console(width=60, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()

def form(screen):
    values = {}
    for f in FIELDS:
        if f.kind in ("text", "path"):
            values[f.key] = screen.query_one(f"#{f.dom_id}", Input).value
        elif f.kind == "select":
            values[f.key] = screen.query_one(f"#{f.dom_id}", Select).value
    return values

first = {}

class Probe(TrainerApp):
    def _display(self, screen, renderable):
        super()._display(screen, renderable)
        if renderable is None or self._batch_count or first:
            return
        first["torch"] = "torch" in sys.modules
        first["warm_up_started"] = warmup._thread is not None
        first["screen"] = type(screen).__name__
        if isinstance(screen, PickerScreen):
            first["current"] = screen.current
            first["highlighted"] = screen.query_one(OptionList).highlighted_option.id
            first["disabled"] = screen.query_one("#editor").disabled
            first["form"] = form(screen)
            first["status"] = str(screen.query_one("#picker-status").content)
            first["preview"] = text_of(screen.query_one("#preview-facts"))

async def main():
    app = Probe()
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (first and warmup.done.is_set()):
            await asyncio.sleep(0.05)
        later = {"warmed": warmup.done.is_set(), "engine": "tui_trainer.engine.trainer" in sys.modules}
        while time.monotonic() < deadline and "K params" not in text_of(app.screen.query_one("#preview-facts")):
            await asyncio.sleep(0.05)
        later["preview"] = text_of(app.screen.query_one("#preview-facts"))
        print(json.dumps({"first": first, "later": later}), flush=True)
        os._exit(0)

asyncio.run(main())
"""


def shown(field, value):
    """What the editor shows for a value (as HParamsEditor.load puts it)."""
    if field.kind == "select":
        return value
    return "" if value is None else to_text(value)


def test_the_first_frame_is_the_default_preset_ready_to_edit_before_torch(isolated_dirs):
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=subprocess_env(isolated_dirs),
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    first, later = got["first"], got["later"]
    assert first["torch"] is False and first["warm_up_started"] is False, first
    assert first["screen"] == "PickerScreen"
    assert first["current"] == first["highlighted"] == presets.DEFAULT_PRESET
    # The real values, editable: no placeholder, no "loading".
    config = presets.load(presets.DEFAULT_PRESET)
    expected = {f.key: shown(f, config.get(f.key)) for f in FIELDS}
    assert first["disabled"] is False
    assert first["form"] == {k: v for k, v in expected.items() if k in first["form"]}
    assert first["form"]["optim.lr"] == "0.003" and first["form"]["data.dataset"] == "digits"
    assert first["status"].startswith("ready"), first["status"]
    assert "small_cnn · … params" in first["preview"] and "present" in first["preview"], first["preview"]
    # Then torch, the engine and the models, in the background; the count follows.
    assert later["warmed"] and later["engine"], later
    assert "small_cnn · 53.1K params" in later["preview"], later["preview"]


# The dashboard first (`tui-trainer watch RUN`): no warm-up, until the picker is opened.
WATCH_THEN_PICKER = """
import asyncio, io, json, os, sys, time
from pathlib import Path
from rich.console import Console
from tui_trainer.app import warmup
from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.dashboard import DashboardScreen
from tui_trainer.app.screens.picker import PickerScreen
from tui_trainer.runs import Run

def text_of(widget):
    console = Console(width=60, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()

async def main():
    app = TrainerApp(watch=Run(Path(sys.argv[1])))
    out = {}
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (isinstance(app.screen, DashboardScreen) and app.first_frame_drawn):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        out["warm_up_on_the_dashboard"] = warmup._thread is not None
        await pilot.press("f2")
        while time.monotonic() < deadline and not isinstance(app.screen, PickerScreen):
            await asyncio.sleep(0.05)
        while time.monotonic() < deadline and "K params" not in text_of(app.screen.query_one("#preview-facts")):
            await asyncio.sleep(0.05)
        out["preview"] = text_of(app.screen.query_one("#preview-facts"))
        out["warmed"] = warmup.done.is_set()
        print(json.dumps(out), flush=True)
        os._exit(0)

asyncio.run(main())
"""


def test_a_picker_opened_after_a_dashboard_starts_the_imports_itself(isolated_dirs):
    run = write_run_folder(isolated_dirs["TUI_TRAINER_RUNS"], "20261201-000000-a", "digits-cnn", "finished", [50.0], 1)
    result = subprocess.run(
        [sys.executable, "-c", WATCH_THEN_PICKER, str(run)],
        env=subprocess_env(isolated_dirs),
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got["warm_up_on_the_dashboard"] is False
    assert got["warmed"] and "small_cnn · 53.1K params" in got["preview"], got
