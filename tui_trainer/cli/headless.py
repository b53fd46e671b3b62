"""Headless training: the engine in a worker thread, its events printed.

On a terminal: a Rich progress display (epoch and run bars with ETA) with one table
row printed per epoch. Otherwise (nohup, tee, CI): one plain line per epoch. Ctrl+C,
SIGTERM and SIGHUP stop the run after the current batch; the engine writes a
checkpoint and marks the run stopped, so ``--resume`` continues it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
)
from rich.table import Table
from rich.text import Text

from .. import events as ev
from .. import format as fmt
from .. import wording
from ..engine import Trainer
from ..engine.distributed import SOLO, World
from ..errors import UserError
from ..launch import Launch


def fmt_epoch_line(e: ev.EpochEnd) -> str:
    return (
        f"epoch {e.epoch}/{e.epochs}  train_loss {fmt.loss(e.train_loss)}  train_acc {fmt.pct(e.train_acc):>7}  "
        f"test_loss {fmt.loss(e.test_loss)}  test_acc {fmt.pct(e.test_acc):>7}  lr {fmt.lr(e.lr)}  "
        f"{fmt.elapsed(e.seconds)}  {fmt.throughput(e.images_per_s)}{'  *best' if e.best else ''}"
    )


class _Eta(ProgressColumn):
    """A bar's ETA as the app's progress pane says it (Rich's own says "0:01:05" where the
    pane says "1:05"); the run's times are the run bar's info, labelled (format.run_time)."""

    max_refresh = 0.5  # as Rich's: an ETA that flickers reads as noise

    def render(self, task: Task) -> Text:
        return Text(fmt.eta(task.time_remaining), style="progress.remaining")


class _Quiet:
    """Printing must never stop training: once the terminal is gone (SIGHUP, a closed
    pipe), printers go quiet and the run goes on into its run folder."""

    broken = False

    def __call__(self, e: ev.Event) -> None:
        if self.broken:
            return
        try:
            self.show(e)
        except (OSError, ValueError):  # EIO, EPIPE, or writing to a closed file
            self.broken = True

    def show(self, e: ev.Event) -> None:
        raise NotImplementedError


class PlainPrinter(_Quiet):
    """One line per epoch, for logs."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def show(self, e: ev.Event) -> None:
        if isinstance(e, ev.RunStarted):
            line = wording.start_line(e)
        elif isinstance(e, ev.EpochEnd):
            line = fmt_epoch_line(e)
        elif isinstance(e, ev.Log):
            line = e.message if e.level == "info" else f"{e.level}: {e.message}"
        elif isinstance(e, ev.Paused | ev.Resumed):
            line = f"{e.kind} at {wording.at(e)}"
        elif isinstance(e, ev.END_EVENTS):
            line = wording.end_line(e)
        else:
            return
        print(line, file=self.out, flush=True)


class RichPrinter(_Quiet):
    """Progress bars with ETA, and a table row per epoch printed above them."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            _Eta(),
            console=console,
            transient=False,
        )
        self.epoch_task: TaskID | None = None  # both added at RunStarted, the first event
        self.run_task: TaskID | None = None

    def _row(self, e: ev.EpochEnd) -> Table:
        table = Table(show_header=e.epoch == self._first_epoch, box=None, pad_edge=False)
        for name, width in (
            ("epoch", 7),
            ("train loss", 10),
            ("train acc", 9),
            ("test loss", 9),
            ("test acc", 9),
            ("lr", 9),
            ("time", 7),
            ("img/s", 9),
            ("", 5),
        ):
            table.add_column(name, width=width, justify="right")
        table.add_row(
            f"{e.epoch}/{e.epochs}",
            *wording.epoch_figures(e),
            "[green]best[/]" if e.best else "",
        )
        return table

    def show(self, e: ev.Event) -> None:
        p = self.progress
        if isinstance(e, ev.RunStarted):
            self._first_epoch = e.start_epoch + 1
            self.console.print(  # the data's summary: the loader's line just before
                f"[bold]{escape(e.preset)}[/] on {escape(wording.devices(e))} ({e.precision}) · {fmt.plural(e.param_count, 'param')}"
            )
            if e.run_dir:  # once, so that each checkpoint line can name its file alone
                self.console.print(f"[dim]run folder {escape(e.run_dir)}[/]", soft_wrap=True)
            p.start()
            # The run's bar says its two times, labelled (the epoch's bar has its ETA alone).
            info = fmt.run_time(e.train_seconds, e.wall_seconds) if e.start_step else ""
            self.run_task = p.add_task("run", total=e.epochs, completed=e.start_epoch, info=info)
            # A mid-epoch resume's bar starts at the step its checkpoint holds.
            self.epoch_task = p.add_task(
                f"epoch {e.start_epoch + 1}", total=e.steps_per_epoch, completed=e.start_epoch_step, info=""
            )
        elif isinstance(e, ev.Step):
            assert self.epoch_task is not None
            p.update(
                self.epoch_task,
                description=f"epoch {e.epoch}",
                completed=e.batch,
                total=e.batches,
                info=f"loss {fmt.loss(e.loss)} · {fmt.throughput(e.images_per_s)}",
            )
            assert self.run_task is not None
            p.update(self.run_task, info=fmt.run_time(e.train_seconds, e.wall_seconds))
        elif isinstance(e, ev.EpochEnd):
            p.console.print(self._row(e))
            assert self.run_task is not None and self.epoch_task is not None
            p.update(self.run_task, completed=e.epoch)
            if e.epoch < e.epochs:
                p.reset(self.epoch_task, description=f"epoch {e.epoch + 1}")
            else:  # no "epoch N+1  0/…" bar left on screen after the last one
                p.update(self.epoch_task, visible=False)
        elif isinstance(e, ev.CheckpointSaved):
            # The file's name: its full path wrapped over three lines at 80 columns, each epoch.
            p.console.print(f"[dim]checkpoint {escape(Path(e.path).name)}{wording.BEST_SAVED if e.best else ''}[/]")
        elif isinstance(e, ev.Log):
            style = {"info": "dim", "warning": "yellow", "error": "red"}.get(e.level, "dim")
            p.console.print(f"[{style}]{escape(e.message)}[/]")
        elif isinstance(e, ev.Paused | ev.Resumed):
            p.console.print(f"[yellow]{e.kind} at {wording.at(e)}[/]")
        elif isinstance(e, ev.END_EVENTS):
            p.stop()
            style = {"finished": "green", "stopped": "yellow", "failed": "red"}[e.kind]
            self.console.print(f"[{style}]{escape(wording.end_line(e))}[/]")  # paths, reasons: not markup


def run_headless(launch: Launch, out: TextIO | None = None, world: World = SOLO) -> int:
    """Train; returns the exit status (0 finished or stopped, 2 bad input, 1 failure).
    ``world``: this is rank 0 of a distributed run (:mod:`.ranks`)."""
    out = out or sys.stdout
    printer = RichPrinter(Console(file=out)) if out.isatty() else PlainPrinter(out)
    recorder = launch.run.recorder()
    trainer = Trainer(launch.config, run=launch.run, resume=launch.resume, subscribers=[recorder, printer], world=world)

    names: dict[int, str] = {  # by number: the handler is given the signal's number
        signal.SIGINT: "interrupted (Ctrl+C)",
        signal.SIGTERM: "SIGTERM",
        signal.SIGHUP: "SIGHUP (terminal closed)",
    }
    previous = {}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        trainer.stop(names.get(signum, f"signal {signum}"))

    for signum in names:
        try:
            previous[signum] = signal.signal(signum, on_signal)
        except ValueError:  # not the main thread (tests drive this from threads)
            pass
    try:
        worker = threading.Thread(target=trainer.run, name="tui-trainer-engine", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.2)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        recorder.close()
    if isinstance(trainer.result, ev.Failed):
        if isinstance(trainer.error, UserError):
            if not _same_file(out, sys.stderr):  # else the "failed:" line above said it already
                print(f"tui-trainer: error: {trainer.error}", file=sys.stderr)
            return 2
        return 1
    return 0


def _same_file(a: TextIO, b: TextIO) -> bool:
    """Whether two streams write to one file or terminal (stdout and stderr on one tty)."""
    try:
        sa, sb = os.fstat(a.fileno()), os.fstat(b.fileno())
    except (AttributeError, OSError, ValueError):  # StringIO and closed streams have no file
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)
