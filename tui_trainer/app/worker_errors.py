"""How the app words a worker's exception, and the screens' way to hand theirs over.

Every thread worker of the app lets its exceptions escape (``exit_on_error=False``):
Textual then posts ``Worker.StateChanged`` with ``WorkerState.ERROR`` to the worker's
node, and :meth:`TrainerApp.report_worker_error` is the one place that tells the user
(the log pane, a notification or the dialog waiting for it) and marks a training run
failed. That message does not bubble, so a screen that runs workers forwards it with
:class:`ForwardsWorkerErrors`.
"""

from __future__ import annotations

from textual.worker import Worker, WorkerState

from ..errors import one_line

__all__ = ["ForwardsWorkerErrors", "one_line", "task_of"]

# What each worker group does, as its error message names it.
TASKS = {
    "training": "Training",
    "evaluate": "Evaluation",
    "resume": "Resume",
    "prepare": "Preparing the run",
    "presets": "Loading the presets",
    "params": "Counting the parameters",
    "curves": "Loading the runs to compare",
    "watch-history": "Reading the run's events",
}


def task_of(worker: Worker) -> str:
    return TASKS.get(worker.group) or worker.name or "A background task"


class ForwardsWorkerErrors:
    """A screen mixin: its workers' errors go to the app's one handler."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.report_worker_error(event.worker)  # type: ignore[attr-defined]
