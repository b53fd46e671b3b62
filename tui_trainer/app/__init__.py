"""The Textual app: preset picker, hyperparameter editor, live dashboard, runs.

Textual is imported only when the app runs, so the headless command and the tests of
the core never pay for it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..launch import Launch
    from ..runs import Run


def run_app(launch: Launch | None = None, watch: Run | None = None, runs_dir: Path | None = None) -> int:
    """Open the picker (no arguments), train ``launch`` at once, or ``watch`` a run
    folder. Returns the process exit status."""
    from .app import TrainerApp

    follow_the_terminal_size()
    app = TrainerApp(launch=launch, watch=watch, runs_dir=runs_dir)
    result = app.run()
    if app.return_code:  # the app crashed (Textual printed the traceback)
        return app.return_code
    say_how_the_last_run_ended(app)
    return result if isinstance(result, int) else app.exit_status


def say_how_the_last_run_ended(app) -> None:
    """The screen is gone with the app: a line in the terminal keeps where the last run
    trained in this app went and how it ended (the command to resume a stopped one)."""
    from .. import wording

    session = app.session
    if session is None or session.result is None:
        return
    print(f"{session.run.id}: {wording.end_line(session.result)}\n  its folder: {session.run.dir}", flush=True)


def follow_the_terminal_size() -> None:
    """Drop COLUMNS and LINES from the environment when the terminal tells its size.
    Textual sizes its screen with shutil.get_terminal_size(), which takes those two
    first: where a shell, an editor's terminal or a parent process exports them, the
    app was drawn at that size in a larger window (80x24 in 120x40) and never followed
    a resize."""
    if sys.__stdout__ is None:
        return  # no stdout, no terminal to read a size from: the variables are all there is
    try:
        os.get_terminal_size(sys.__stdout__.fileno())
    except (AttributeError, ValueError, OSError):
        return  # no size to read from the terminal: the variables are all there is
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
