"""A run folder's history after faults and moves: an interrupted save's temporary files,
an epoch past its checkpoint when the process was killed, a folder copied or moved, and
the status of a run resumed after it stopped."""

from __future__ import annotations

import json
import shutil

from helpers import Collector, run_tiny, run_until_step, tiny_config

from tui_trainer import events as ev
from tui_trainer.engine import Trainer
from tui_trainer.evaluate import evaluate_checkpoint
from tui_trainer.launch import prepare
from tui_trainer.runs import Run, list_runs

DEAD_PID = 2**22 + 12345  # above Linux's largest pid: no such process


class Killed(BaseException):
    """A kill -9, as far as the run's files can tell: no end event, no checkpoint."""


def resume(runs_dir, where, *overrides):
    launch = prepare(None, list(overrides), resume=str(where), runs_dir=runs_dir)
    col = Collector()
    trainer = Trainer(launch.config, run=launch.run, resume=launch.resume, subscribers=[launch.run.recorder(), col])
    return launch.run, col, trainer.run()


def lines(path, kind):
    return [row for row in map(json.loads, path.read_text().splitlines()) if row.get("type") == kind]


def test_a_kill_before_an_epochs_checkpoint_leaves_one_row_an_epoch_after_the_resume(runs_dir):
    config = tiny_config(train={"epochs": 3}, checkpoint={"keep_last": 10})
    run = Run.create(runs_dir, config)
    recorder = run.recorder()

    def kill_after_epoch_2(event):
        if isinstance(event, ev.EpochEnd) and event.epoch == 2:
            raise Killed  # after the recorder wrote the epoch's row, before its checkpoint

    try:
        Trainer(config, run=run, subscribers=[recorder, kill_after_epoch_2]).run()
    except Killed:
        pass
    recorder.close()
    status = json.loads((run.dir / "status.json").read_text())
    (run.dir / "status.json").write_text(json.dumps({**status, "pid": DEAD_PID}))
    assert [e.epoch for e in run.epochs()] == [1, 2]
    (dead,) = list_runs(runs_dir)
    assert (dead.status, dead.epoch) == ("dead", 1), "counts the checkpointed epochs: where the resume starts"

    resumed, col, end = resume(runs_dir, run.dir)
    assert isinstance(end, ev.Finished) and resumed.dir == run.dir
    assert col.of(ev.RunStarted)[0].start_epoch == 1
    assert [row["epoch"] for row in lines(run.dir / "metrics.jsonl", "epoch")] == [1, 2, 3]
    steps = [row["step"] for row in lines(run.dir / "metrics.jsonl", "step")]
    assert steps == sorted(set(steps)), "the replayed epoch's steps once"
    assert [e.epoch for e in run.epochs()] == [1, 2, 3]
    assert run.epochs()[1] == col.of(ev.EpochEnd)[0], "the replay's row, not the lost one"
    (finished,) = list_runs(runs_dir)
    assert (finished.status, finished.epoch) == ("finished", 3)


def test_a_moved_run_folder_resumes_evaluates_and_names_its_checkpoints_where_it_is(runs_dir, tmp_path):
    config = tiny_config(checkpoint={"keep_last": 10})
    _, run, _, end = run_tiny(runs_dir, config)
    assert isinstance(end, ev.Finished)
    old = run.dir
    status = json.loads((old / "status.json").read_text())
    assert status["last_checkpoint"] == "checkpoints/" + (old / "checkpoints" / "last.pt").resolve().name
    assert str(old) not in (old / "events.jsonl").read_text(), "paths inside the folder are relative to it"

    new = tmp_path / "elsewhere" / "renamed-run"
    new.parent.mkdir()
    shutil.move(old, new)
    moved = Run(new)
    saved = [e.path for e in moved.read_events()[0] if isinstance(e, ev.CheckpointSaved)]
    assert saved and all(p.startswith(str(new / "checkpoints")) for p in saved), saved
    assert moved.status()["last_checkpoint"] == saved[-1]
    assert next(e for e in moved.read_events()[0] if isinstance(e, ev.RunStarted)).run_dir == str(new)

    # Partial saves a kill left behind go when the run is saved into again; the real ones stay.
    checkpoints = new / "checkpoints"
    real = {p.name: p.read_bytes() for p in checkpoints.glob("epoch_*.pt")}
    (checkpoints / ".epoch_003_acc_50.00.pt.a1b2c3.tmp").write_bytes(bytes(4096))
    (checkpoints / ".last.pt.4711.tmp").symlink_to("epoch_003_acc_50.00.pt")

    again, col, end = resume(runs_dir, new, "train.epochs=3")
    assert isinstance(end, ev.Finished) and again.dir == new and not old.exists()
    assert not list(checkpoints.glob(".*.tmp"))
    assert {p.name: p.read_bytes() for p in checkpoints.glob("epoch_00[12]*.pt")} == real
    events = moved.read_events()[0]
    saved = [e.path for e in events if isinstance(e, ev.CheckpointSaved)]
    assert len(saved) == 3 and all(p.startswith(str(checkpoints)) for p in saved), saved
    assert saved[-1] == str(checkpoints / (checkpoints / "last.pt").resolve().name)
    result = evaluate_checkpoint(new, device="cpu")
    assert result.epoch == 3 and result.checkpoint.startswith(str(new.resolve()))


def test_an_older_runs_absolute_paths_resolve_in_its_new_place(runs_dir, tmp_path):
    _, run, _, _ = run_tiny(runs_dir, tiny_config(train={"epochs": 1}))
    events = run.dir / "events.jsonl"
    rows = [json.loads(line) for line in events.read_text().splitlines()]
    for row in rows:  # as versions before relative paths wrote them
        if "path" in row:
            row["path"] = str(run.dir / row["path"])
        if row.get("checkpoint"):
            row["checkpoint"] = str(run.dir / row["checkpoint"])
    events.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert run.read_events()[0][-2].path.startswith(str(run.dir)), "read in place: as written"
    copy = tmp_path / "copy"
    shutil.copytree(run.dir, copy)
    shutil.rmtree(run.dir)
    saved = [e.path for e in Run(copy).read_events()[0] if isinstance(e, ev.CheckpointSaved)]
    assert saved == [str(copy / "checkpoints" / p.name) for p in (copy / "checkpoints").glob("epoch_*.pt")]


def test_a_resumed_run_that_finishes_drops_the_reason_it_stopped_for(runs_dir):
    config = tiny_config()
    run, end = run_until_step(runs_dir, config, step=3)
    assert isinstance(end, ev.Stopped)
    assert json.loads((run.dir / "status.json").read_text())["reason"] == "test"
    _, _, end = resume(runs_dir, run.dir)
    assert isinstance(end, ev.Finished)
    status = json.loads((run.dir / "status.json").read_text())
    assert status["status"] == "finished" and "reason" not in status, status
    (summary,) = list_runs(runs_dir)
    assert (summary.status, summary.reason, summary.epoch) == ("finished", "", 2)


def test_a_resume_that_ends_before_it_starts_writes_its_end_and_closes_the_files(runs_dir):
    from tui_trainer.runs import RunRecorder

    _, run, _, _ = run_tiny(runs_dir, tiny_config())
    recorder = RunRecorder(Run(run.dir))  # a resume of the finished run: its status is found
    failed = ev.Failed(reason="weights do not fit", error="ValueError", epoch=1, step=0, checkpoint=None, time=1.0)
    recorder(failed)
    # On disk without a flush at exit, and the files closed (not left to the collector).
    assert json.loads(lines_of(run.dir / "events.jsonl")[-1]) == json.loads(json.dumps(recorder._stored(failed)))
    assert recorder._events.closed and recorder._metrics.closed
    status = json.loads((run.dir / "status.json").read_text())
    assert status["status"] == "finished" and status["last_attempt"]["status"] == "failed"


def lines_of(path):
    return path.read_text().splitlines()
