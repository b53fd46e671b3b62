"""Torch, the engine and the models, imported in a background thread after the first frame.

Importing torch takes seconds on a small machine (1.5-2.5 s on 2 vCPU), and nothing on
the picker's first screen needs it: the presets are validated without it
(:mod:`tui_trainer.models.options`) and the data check reads file names. So the app
draws its first frame, then :func:`start` (called from the app's Ready event, which
Textual sends once the first frame is on the terminal) imports the engine (torch, the
data loaders) and the model families in a daemon thread while the user reads the
picker; Start, the preview's parameter count and the dashboard then find them imported.

The thread holds the GIL for most of that time, but Python hands it to the UI thread
every few milliseconds, so the form stays usable; the longest hold measured is one
step of torch's own C extension loading, a few hundred milliseconds
(benchmarks/startup.py: "longest UI stall"). The thread ends the process as any daemon
thread does: a quit during the import does not wait for it.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

# What a run needs, in the order it needs it: the engine (torch, the data loaders,
# the model registry), then each family's nn.Module code. Not torchvision's zoo: its
# import costs as much again and only the torchvision:NAME presets use it (their
# parameter count imports it in the preview's own worker).
MODULES = (
    "tui_trainer.engine.trainer",
    "tui_trainer.models.small_cnn",
    "tui_trainer.models.cifar_resnet",
    "tui_trainer.models.vgg",
    "tui_trainer.models.dropout_cnn",
    "tui_trainer.models.speedrun",
)

_lock = threading.Lock()
_thread: threading.Thread | None = None
done = threading.Event()  # set when the imports are over (whether they worked or not)
_waiting: list[Callable[[], None]] = []


def start() -> None:
    """Start the imports, once per process (the app calls it after its first frame)."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_run, name="tui-trainer-warm-up", daemon=True)
            _thread.start()


def when_done(callback: Callable[[], None]) -> None:
    """Call ``callback`` (from the thread) when the imports are over, or at once when they
    already are. A failed import counts as over: the code that needs the module imports it
    again and raises with its own words."""
    with _lock:
        if not done.is_set():
            _waiting.append(callback)
            return
    callback()


def _run() -> None:
    try:
        for name in MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - whoever needs it imports it again and says why
                break
    finally:
        with _lock:
            done.set()
            waiting = list(_waiting)
            _waiting.clear()
        for callback in waiting:
            try:
                callback()
            except Exception:  # noqa: BLE001 - e.g. posting to an app that has exited
                pass
