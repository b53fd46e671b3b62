"""The Textual app: preset picker, hyperparameter editor, live dashboard, runs.

Textual is imported only when the app runs, so the headless command and the tests of
the core never pay for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..launch import Launch
    from ..runs import Run


def run_app(launch: "Launch | None" = None, watch: "Run | None" = None, runs_dir: Path | None = None) -> int:
    """Open the picker (no arguments), train ``launch`` at once, or ``watch`` a run
    folder. Returns the process exit status."""
    from .app import TrainerApp

    app = TrainerApp(launch=launch, watch=watch, runs_dir=runs_dir)
    result = app.run()
    if app.return_code:  # the app crashed (Textual printed the traceback)
        return app.return_code
    return result if isinstance(result, int) else app.exit_status
