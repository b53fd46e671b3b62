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

    if app.background_run is not None:
        print(how_a_background_run_stands(app.background_run), flush=True)
        return
    session = app.session
    if session is None or session.result is None:
        return
    print(f"{session.run.id}: {wording.end_line(session.result)}\n  its folder: {session.run.dir}", flush=True)


def how_a_background_run_stands(run: Run) -> str:
    """A multi-device run this app started: still training (its ranks outlive the app:
    where to reach it), or how it ended, as its events say (the launcher's cause too)."""
    from .. import runs, wording
    from ..cli.detach import how_to_reach

    summary = runs.summarize(run.dir)
    if summary.status in runs.LIVE_STATUSES:
        # Before its RunStarted the status does not know the world size yet.
        return how_to_reach(run, f"{summary.world_size} ranks" if summary.world_size > 1 else "its ranks")
    end = wording.last_end(run.read_events(0)[0])
    said = wording.end_line(end) if end is not None else runs.status_text(summary)
    return f"{run.id}: {said}\n  its folder: {run.dir}"


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
