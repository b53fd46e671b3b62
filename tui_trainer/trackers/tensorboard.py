"""TensorBoard event files for a run, written as its events arrive (or replayed later).

The writer is tensorboardX's ``SummaryWriter``: maintained, it writes the format
TensorBoard reads with nothing but protobuf and numpy (torch's own
``torch.utils.tensorboard`` needs the whole ``tensorboard`` package installed to write,
and this tool's users often run TensorBoard on another machine). Its queue is written
by a thread of its own, so the training thread only enqueues. The files go in the run
folder itself, so ``tensorboard --logdir RUNS`` lists each run by its id.

What is written: the scalars of :mod:`.scalars` (the same names everywhere), the run's
config as text, and its hyperparameters with the test accuracy and losses as the
HParams plugin's metrics. The system sampler's samples come in through
:meth:`TensorBoardWriter.add_sample`, from the sampler's thread: a lock keeps them off a
writer being closed or replaced (tensorboardX would open a new file for a closed one). A resume writes ``purge_step`` at its first step, so
TensorBoard drops what an earlier attempt wrote past the checkpoint it resumed from.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import events as ev
from .scalars import hparams, scalars, system_scalars

Sample = dict[str, Any]  # a system.jsonl line

_FILES = itertools.count()  # this process's event files, for unique names
FLUSH_S = 5  # TensorBoard shows a live run this far behind at most
METRICS = ("epoch/test_acc", "epoch/test_loss", "epoch/train_loss", "epoch/train_acc")


class TensorBoardWriter:
    """An event subscriber writing TensorBoard event files into ``logdir``."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self._writer: Any = None
        self._lock = threading.Lock()  # the writer's: the training thread's events, the sampler's samples

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self._open(event)
        with self._lock:
            writer = self._writer
            if writer is None:
                return  # events before RunStarted (a resume that never started) write nothing
            for s in scalars(event):
                writer.add_scalar(s.tag, s.value, s.step, walltime=s.time)
            if isinstance(event, ev.EpochEnd):
                writer.flush()
        if isinstance(event, ev.END_EVENTS):
            self._end(event)

    def add_sample(self, sample: Sample) -> None:
        """A system sample's scalars (:func:`.scalars.system_scalars`), from any thread;
        nothing while no run is open (before RunStarted, after its end)."""
        with self._lock:
            if self._writer is not None:
                for s in system_scalars(sample):
                    self._writer.add_scalar(s.tag, s.value, s.step, walltime=s.time)

    def _open(self, started: ev.RunStarted) -> None:
        from tensorboardX import SummaryWriter
        from tensorboardX.summary import hparams as hparams_summary

        self.close()
        purge = started.start_step + 1 if started.start_step > 0 else None
        # A file of each attempt's own: the name holds the second and the host alone, and
        # a resume within the same second (or an export's replay) would write over the
        # attempt before it.
        suffix = f".{os.getpid()}.{next(_FILES)}"
        writer = SummaryWriter(str(self.logdir), purge_step=purge, flush_secs=FLUSH_S, filename_suffix=suffix)
        config = json.dumps(started.config, indent=2)
        # Markdown: indented four spaces, the JSON shows as code.
        writer.add_text("config", "    " + config.replace("\n", "\n    "), started.start_step, walltime=started.time)
        if started.start_step == 0:  # the HParams plugin takes one session a run
            experiment, session_start, _ = hparams_summary(hparams(started.config), dict.fromkeys(METRICS, 0.0))
            for summary in (experiment, session_start):
                writer.file_writer.add_summary(summary, walltime=started.time)
        with self._lock:
            self._writer = writer

    def _end(self, event: ev.Event) -> None:
        if isinstance(event, ev.Finished):
            from tensorboardX.summary import hparams as hparams_summary

            _, _, session_end = hparams_summary({}, {})  # status: success
            with self._lock:
                if self._writer is not None:
                    self._writer.file_writer.add_summary(session_end, walltime=event.time)
        self.close()

    def close(self) -> None:
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()


def replay(items: Iterable[ev.Event | Sample], logdir: Path) -> None:
    """Write a past run's events, and its system samples among them (dicts, placed by
    the export), as a live run would have (``tui-trainer export``)."""
    writer = TensorBoardWriter(logdir)
    try:
        for item in items:
            if isinstance(item, dict):
                writer.add_sample(item)
            else:
                writer(item)
    finally:
        writer.close()
