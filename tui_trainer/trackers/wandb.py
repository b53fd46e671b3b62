"""A W&B run of a run's events, live (``log.wandb``) or replayed (``tui-trainer export``).

The library is W&B's own SDK, ``wandb`` (the ``wandb`` extra, imported only when a run or
an export asks for it): the files ``wandb sync`` uploads have no other supported writer.
The run is offline unless ``WANDB_MODE`` says otherwise (an export's always is): a
training server needs no login or network, and W&B never prompts inside the app. Its
console capture and system sampling are off (the app owns the terminal; ``system.jsonl``
has the samples). The W&B run's id and name are the run folder's id, its config the
hyperparameters of :func:`.scalars.hparams`, its history the scalars of :mod:`.scalars`
at their global step and their events' time. A resume continues the same W&B run; W&B cannot drop what an
earlier attempt logged past the checkpoint, so an export (one attempt, the last one's
figures) is the clean copy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import events as ev
from . import import_extra
from .scalars import hparams, scalars


class WandbWriter:
    """An event subscriber logging to a W&B run whose files go in ``root/wandb``."""

    def __init__(self, root: Path, project: str, offline: bool = False, what: str = "log.wandb") -> None:
        self.root, self.project, self.what = root, project, what
        self.mode = "offline" if offline else os.environ.get("WANDB_MODE") or "offline"
        self.run: Any = None

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self._open(event)
        if self.run is None:
            return
        found = list(scalars(event))
        if found:  # one event's scalars share its step and time (a replay's: when it was trained)
            row: dict[str, float] = {s.tag: s.value for s in found}
            self.run.log({**row, "_timestamp": found[0].time}, step=found[0].step)
        if isinstance(event, ev.END_EVENTS):
            self._end(event)

    def _open(self, started: ev.RunStarted) -> None:
        wandb = import_extra("wandb", self.what)
        self.close()
        self.root.mkdir(parents=True, exist_ok=True)
        settings = wandb.Settings(silent=True, console="off", x_disable_stats=True, save_code=False)
        self.run = wandb.init(
            project=self.project,
            id=started.run_id,
            name=started.run_id,
            dir=str(self.root),
            config=hparams(started.config),
            tags=[started.preset],
            resume="allow",
            mode=self.mode,
            reinit="create_new",
            settings=settings,
        )

    def _end(self, event: ev.Event) -> None:
        self.run.summary["status"] = event.kind
        self.close(0 if isinstance(event, ev.Finished | ev.Stopped) else 1)

    def close(self, exit_code: int = 1) -> None:
        """Finish the W&B run (an exit code of 1, failed, unless an end event said otherwise)
        and wait until its files are written.

        ``run.finish()`` returns once W&B's service (wandb-core) has the exit record, not
        once it has written the transaction log (``run-*.wandb``, what ``wandb sync``
        reads): the service buffers the records (a 32 KiB block at a time) and writes
        the rest when it closes the run's stream, after ``finish()`` has returned; a read
        right away found the 7-byte header alone. ``wandb.teardown()`` closes every
        stream and waits for the service to exit (the next run starts another). This
        process has one W&B run at a time, so no other run is cut short.
        """
        if self.run is None:
            return
        run, self.run = self.run, None
        run.finish(exit_code=exit_code)
        wandb = import_extra("wandb", self.what)
        try:
            wandb.teardown()
        except SystemExit as exc:  # its service failed: not a reason to end a training thread
            raise RuntimeError(
                f"W&B's service exited with code {exc.code}: {self.run_dir()} may be incomplete"
            ) from None

    def run_dir(self) -> Path | None:
        """The offline run folder written (what ``wandb sync`` takes)."""
        found = sorted((self.root / "wandb").glob("offline-run-*"))
        return found[-1] if found else None
