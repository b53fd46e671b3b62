"""The core never imports textual or the app: it trains headless where textual is absent
(the GPU servers' images, a watcher's minimal environment), and the wheel ships the presets.

Two checks: the core's modules import and train with textual made unimportable (what
runs), and no module of the core names textual or tui_trainer.app in an import, at any
depth (what could run: an import inside a function runs only when called).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, subprocess_env

PACKAGE = REPO / "tui_trainer"
NOT_CORE = ("app", "cli")  # the layers above the core: they may import textual and the app
FORBIDDEN = ("textual", "tui_trainer.app")

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
loaded = [m for m in sys.modules if sys.modules[m] is not None]
assert not any(m == top or m.startswith(top + ".") for m in loaded for top in ("textual", "tui_trainer.app")), loaded
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


def core_files() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p.relative_to(PACKAGE).parts[0] not in NOT_CORE]


def module_name(path: Path) -> str:
    parts = ("tui_trainer", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def forbidden_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """The modules named by ``source``'s imports (relative ones resolved against
    ``module``) that are textual or the app, or inside them, with their line numbers."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            prefix = ".".join([*base, node.module] if node.module else base)
            # `from .. import app` names the module tui_trainer.app itself.
            names = [prefix, *(f"{prefix}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                found.append(f"line {node.lineno}: {name}")
                break
    return found


@pytest.mark.parametrize(
    "source, module",
    [
        ("import textual.app", "tui_trainer.bench"),
        ("from textual.widgets import Log", "tui_trainer.engine.loop"),
        ("def f():\n    from .app.bench import run_engine_in_app", "tui_trainer.bench"),
        ("from ..app import run_app", "tui_trainer.engine.trainer"),
        ("from .. import app", "tui_trainer.data.sources"),
        ("import tui_trainer.app.bridge", "tui_trainer.runs"),
        ("class C:\n    def m(self):\n        import textual", "tui_trainer.format"),
    ],
)
def test_the_import_check_finds_what_it_forbids(source, module):
    assert forbidden_imports(source, module), source


@pytest.mark.parametrize(
    "source, module",
    [
        ("from .apply import x\nimport textualize\nfrom .data import app", "tui_trainer.bench"),
        ("from . import events\nfrom ..events import Step", "tui_trainer.engine.loop"),
        ("from .app import thing", "tui_trainer.engine.trainer"),  # tui_trainer.engine.app, not the app
    ],
)
def test_the_import_check_lets_the_core_s_own_imports_pass(source, module):
    assert forbidden_imports(source, module) == []


def test_no_core_module_imports_textual_or_the_app():
    files = core_files()
    assert PACKAGE / "bench.py" in files and not any(p.is_relative_to(PACKAGE / "app") for p in files)
    found = {
        module_name(p): hits
        for p in files
        if (hits := forbidden_imports(p.read_text(), module_name(p), p.name == "__init__.py"))
    }
    assert found == {}, f"the core imports textual or the app: {found}"


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
