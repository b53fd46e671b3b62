"""The core never imports textual: it trains headless where textual is absent (the GPU
servers' images, a watcher's minimal environment), and the wheel ships the presets."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from conftest import REPO, subprocess_env

CORE_MODULES = [
    "tui_trainer.config",
    "tui_trainer.schema",
    "tui_trainer.presets",
    "tui_trainer.models",
    "tui_trainer.data",
    "tui_trainer.engine",
    "tui_trainer.events",
    "tui_trainer.runs",
    "tui_trainer.checkpoints",
    "tui_trainer.launch",
    "tui_trainer.evaluate",
    "tui_trainer.bench",
    "tui_trainer.cli.headless",
]

SCRIPT = f"""
import sys
sys.modules["textual"] = None  # any `import textual` now raises ImportError
import importlib
for name in {CORE_MODULES!r}:
    importlib.import_module(name)
from tui_trainer.cli import main
code = main(["train", "digits-cnn", "--headless", "--epochs", "1", "--device", "cpu"])
assert not any(m == "textual" or m.startswith("textual.") for m in sys.modules if sys.modules[m] is not None)
sys.exit(code)
"""


def test_core_trains_without_textual(isolated_dirs):
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=subprocess_env(isolated_dirs),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "epoch 1/1" in r.stdout


def test_wheel_ships_the_presets(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if r.returncode != 0:  # hatchling not installed here: let pip fetch it into an isolated build
        r = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-w", str(tmp_path), "-q"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = tmp_path.glob("tui_trainer-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.split("/")[-1] for n in names if n.startswith("tui_trainer/_presets/")}
    assert shipped == {p.name for p in (REPO / "presets").glob("*.toml")}
    assert "tui_trainer/app/app.tcss" in names
