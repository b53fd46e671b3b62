"""Issue 19: one convention for a run's position (the epoch in progress, 1-based, and the
step within it) and one vocabulary for its times (training and wall time, labelled,
totalled over resumes), whoever shows them: events, log, header, checkpoints pane,
checkpoint file names, the headless printer, status.json and `runs`."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import threading
import time
from pathlib import Path

from helpers import Collector, stop_when, tiny_config
from rich.console import Console
from textual.app import App, ComposeResult

from tui_trainer import events as ev
from tui_trainer import format as fmt
from tui_trainer import wording
from tui_trainer.app.widgets.checkpoints import CheckpointsTable
from tui_trainer.app.widgets.log import describe
from tui_trainer.app.widgets.progress import ProgressPane
from tui_trainer.checkpoints import list_checkpoints
from tui_trainer.cli import commands, main
from tui_trainer.cli.headless import PlainPrinter
from tui_trainer.engine import Trainer
from tui_trainer.launch import prepare
from tui_trainer.runs import Run, list_runs

STEPS = 8  # tiny_config: 256 images in batches of 32


def runs_table(monkeypatch, runs_dir: Path, *extra: str) -> str:
    """`tui-trainer runs` as a wide terminal shows it (every column)."""
    out = io.StringIO()
    monkeypatch.setattr(commands, "_console", lambda: Console(file=out, width=200, color_system=None))
    with contextlib.redirect_stdout(out):  # --json prints to stdout
        assert main(["runs", "--runs-dir", str(runs_dir), *extra]) == 0
    return out.getvalue()


class HeaderApp(App):
    def compose(self) -> ComposeResult:
        yield ProgressPane()


def header(events: list[ev.Event], width: int = 120) -> list[str]:
    """The progress pane's lines after ``events``, as a terminal ``width`` wide shows them."""

    async def render() -> list[str]:
        app = HeaderApp()
        async with app.run_test(size=(width, 24)) as pilot:
            pane = app.query_one(ProgressPane)
            for e in events:
                pane.apply(e)
            pane.flush()
            await pilot.pause()
            return ["".join(s.text for s in pane.render_line(y)).rstrip() for y in range(pane.size.height)]

    return asyncio.run(render())


def pause_mid_epoch(runs_dir: Path):
    """Train a tiny run, pause it inside epoch 2 and save while paused; returns the run,
    the trainer (still paused, in its thread), the events so far and the batch paused at."""
    config = tiny_config(train={"epochs": 2, "log_interval": 0.001})
    run = Run.create(runs_dir, config)
    col, box = Collector(), {}
    paused, saved = threading.Event(), threading.Event()

    def control(e: ev.Event) -> None:
        if isinstance(e, ev.Step) and e.epoch == 2 and e.batch >= 3 and "at" not in box:
            box["at"] = e.batch  # the pause takes effect before the next batch
            box["trainer"].pause()
        elif isinstance(e, ev.Paused):
            paused.set()
        elif isinstance(e, ev.CheckpointSaved) and e.reason == "manual":
            saved.set()

    trainer = box["trainer"] = Trainer(config, run=run, subscribers=[run.recorder(), col, control])
    worker = threading.Thread(target=trainer.run, daemon=True)
    worker.start()
    assert paused.wait(120), col.kinds
    trainer.save_now()  # saved while paused (wait_while_paused polls for it)
    assert saved.wait(120), col.kinds
    return run, trainer, worker, col, box["at"]


def test_a_pause_inside_an_epoch_names_the_same_epoch_and_step_everywhere(runs_dir, monkeypatch):
    run, trainer, worker, col, batch = pause_mid_epoch(runs_dir)
    want = f"epoch 2, step {batch} of {STEPS}"
    position = {"epoch": 2, "epoch_step": batch, "epoch_steps": STEPS, "step": STEPS + batch}

    # The Paused event, its log line and its headless line.
    paused = col.of(ev.Paused)[0]
    assert (paused.epoch, paused.epoch_step, paused.epoch_steps, paused.step) == (2, batch, STEPS, STEPS + batch)
    assert describe(paused) == ("info", f"paused at {want}")
    printed = io.StringIO()
    PlainPrinter(printed)(paused)
    assert printed.getvalue() == f"paused at {want}\n"

    # The header: its epoch bar is at that epoch and step, not the last (throttled) Step's.
    lines = header(col.events)
    assert lines[1].startswith("epoch 2/2") and lines[1].split()[-2] == f"{batch}/{STEPS}", lines

    # The checkpoint: its file name, its event and the checkpoints pane's row.
    saved = next(e for e in col.of(ev.CheckpointSaved) if e.reason == "manual")
    assert (saved.epoch, saved.epoch_step, saved.epoch_steps, saved.epochs_done) == (2, batch, STEPS, 1)
    name = Path(saved.path).name
    assert name.startswith("epoch_002_step_"), name
    listed = {c.path.name: (c.epoch, c.step) for c in list_checkpoints(run.checkpoints_dir)}
    assert listed[name] == (2, batch)
    table = CheckpointsTable()
    table.apply(saved)
    row = table.entries[saved.path]
    assert (row.where(), row.epochs_done) == (f"2 ({batch}/{STEPS})", 1)

    # status.json and `runs` while paused.
    status = json.loads((run.dir / "status.json").read_text())
    assert status["status"] == "paused"
    assert status["position"] == status["checkpoint_position"] == position
    assert list_runs(runs_dir)[0].position == position
    assert want in runs_table(monkeypatch, runs_dir)

    trainer.stop("test")
    worker.join(120)
    end = trainer.result
    assert isinstance(end, ev.Stopped) and (end.epoch, end.epoch_step, end.epoch_steps) == (2, batch, STEPS)
    assert f"stopped (test) at {want}, trained " in wording.end_line(end)
    assert end.checkpoint == str(Path(saved.path).resolve())  # nothing trained since: no second save
    # Stopped, `runs` names where a resume continues: the same place.
    assert list_runs(runs_dir)[0].position == position
    assert want in runs_table(monkeypatch, runs_dir)
    assert json.loads(runs_table(monkeypatch, runs_dir, "--json"))[0]["position"] == position
    # ... and the resume says it starts there, and starts there.
    launch = prepare(None, [], resume=run.id, runs_dir=runs_dir)
    col2 = Collector()
    stopper = {}
    resumed = stopper["trainer"] = Trainer(
        launch.config,
        run=launch.run,
        resume=launch.resume,
        subscribers=[col2, stop_when(stopper, lambda e: isinstance(e, ev.RunStarted))],
    )
    resumed.run()
    start = col2.of(ev.RunStarted)[0]
    assert wording.start_line(start).endswith(f"resumed at {want}")
    assert any(e.message.endswith(f"at {want}") for e in col2.of(ev.Log) if e.message.startswith("Resumed from"))


def attempt(config, run: Run, resume=None, stop_at: tuple[int, int] | None = None):
    """One process's part of a run: trains until (epoch, batch) of ``stop_at`` (or the
    end); returns its events."""
    col, box = Collector(), {}
    subscribers: list = [run.recorder(), col]
    if stop_at is not None:
        subscribers.append(stop_when(box, lambda e: isinstance(e, ev.Step) and (e.epoch, e.batch) >= stop_at))
    trainer = box["trainer"] = Trainer(config, run=run, resume=resume, subscribers=subscribers)
    trainer.run()
    return col


def test_a_run_stopped_and_resumed_twice_keeps_its_start_and_totals_its_times(runs_dir, monkeypatch):
    config = tiny_config(train={"epochs": 3, "log_interval": 0.001})
    run = Run.create(runs_dir, config)
    attempts = [attempt(config, run, stop_at=(1, 3))]
    started = json.loads((run.dir / "status.json").read_text())["started"]
    for stop_at in ((2, 5), None):
        time.sleep(0.5)  # between attempts: neither training nor wall time of the run
        launch = prepare(None, [], resume=run.id, runs_dir=runs_dir)
        attempts.append(attempt(launch.config, launch.run, launch.resume, stop_at))
    ends = [col.events[-1] for col in attempts]
    assert [type(e) for e in ends] == [ev.Stopped, ev.Stopped, ev.Finished], [col.kinds for col in attempts]
    final = ends[-1]
    assert isinstance(final, ev.Finished) and final.train_seconds is not None and final.wall_seconds is not None

    # The start never changes; each resume starts from the totals the last one ended with.
    status = json.loads((run.dir / "status.json").read_text())
    assert status["started"] == started
    for before, col in zip(ends, attempts[1:], strict=False):
        start = col.of(ev.RunStarted)[0]
        assert start.train_seconds == before.train_seconds  # the stop's checkpoint holds it
        assert abs(start.wall_seconds - before.wall_seconds) < 0.1
    # Wall time: the sum of the attempts' (RunStarted to end), not the pauses between them.
    spans = sum(col.events[-1].time - col.of(ev.RunStarted)[0].time for col in attempts)
    assert abs(final.wall_seconds - spans) < 0.2 + 0.05 * spans, (final.wall_seconds, spans)
    # Training time: every epoch's, the parts before each mid-epoch stop included (a
    # resumed epoch's EpochEnd counts only its resumed part), and never more than the wall's.
    epochs_trained = sum(e.seconds for col in attempts for e in col.of(ev.EpochEnd))
    assert epochs_trained < final.train_seconds <= final.wall_seconds
    assert (status["train_seconds"], status["wall_seconds"]) == (final.train_seconds, final.wall_seconds)

    # Every consumer words both durations, labelled, with the run's totals.
    times = fmt.run_time(final.train_seconds, final.wall_seconds)
    assert times.startswith("trained ") and times.endswith(" wall")
    assert f"finished: 3 epochs, {times}, " in wording.end_line(final)
    printed = io.StringIO()
    PlainPrinter(printed)(final)
    assert times in printed.getvalue()
    events, _ = run.read_events()
    assert times in header(events)[3], header(events)
    summary = list_runs(runs_dir)[0]
    assert (summary.train_seconds, summary.wall_seconds, summary.started) == (
        final.train_seconds,
        final.wall_seconds,
        started,
    )
    assert times in runs_table(monkeypatch, runs_dir)
    listed = json.loads(runs_table(monkeypatch, runs_dir, "--json"))[0]
    assert (listed["train_seconds"], listed["wall_seconds"], listed["started"]) == (
        final.train_seconds,
        final.wall_seconds,
        started,
    )
    for stopped in ends[:2]:  # a stop's line says the totals at the stop
        assert fmt.run_time(stopped.train_seconds, stopped.wall_seconds) in wording.end_line(stopped)


def test_an_older_run_s_events_still_read_without_a_position_in_the_epoch():
    """Events written before epoch_step existed: a pause names the global step it has, a
    checkpoint's epoch is the epochs it holds (as it was then), a status.json without a
    position lists with none."""
    old_pause = ev.from_dict({"event": "paused", "time": 1.0, "epoch": 2, "step": 45})
    assert isinstance(old_pause, ev.Paused)
    assert describe(old_pause) == ("info", "paused at step 45 of the run")
    old_save = ev.from_dict(
        {"event": "checkpoint_saved", "time": 1.0, "path": "c/epoch_002_step_45.pt", "epoch": 1, "step": 45}
        | {"test_acc": None, "size": 1, "best": False, "reason": "manual"}
    )
    assert isinstance(old_save, ev.CheckpointSaved) and old_save.epochs_done == 1
    table = CheckpointsTable()
    table.apply(old_save)
    assert (table.entries[old_save.path].where(), table.entries[old_save.path].epochs_done) == ("1", 1)
    old_end = ev.from_dict(
        {"event": "finished", "time": 1.0, "epochs": 2, "best_acc": 90.0, "final_acc": 90.0, "seconds": 62.0}
    )
    assert isinstance(old_end, ev.Finished)  # its process's own wall time is all it knew
    assert wording.end_line(old_end) == "finished: 2 epochs, 1:02 wall, best test accuracy 90.00%"


def test_an_older_run_folder_lists_with_its_training_time_alone(runs_dir):
    from helpers import write_run_folder

    folder = write_run_folder(runs_dir, "20261202-050911-tiny", "tiny", "stopped", [12.0], 4)
    status = json.loads((folder / "status.json").read_text())
    (folder / "status.json").write_text(json.dumps({**status, "train_seconds": 26.0}))
    summary = list_runs(runs_dir)[0]
    assert (summary.position, summary.wall_seconds, summary.started) == (None, None, status["started"])
    assert fmt.run_time(summary.train_seconds, summary.wall_seconds) == "trained 26.0s"
