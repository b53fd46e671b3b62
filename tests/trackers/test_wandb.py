"""W&B runs of a run, live (log.wandb) and exported: the offline run's .wandb file read
back record by record and compared with metrics.jsonl.

wandb 0.2x+ ships no Python reader of its transaction log (the Go core reads it), so
:func:`records` walks the file's LevelDB-log framing (a 7-byte W&B header, then 32 KiB
blocks of length-prefixed chunks) and parses each record with W&B's own protobuf.
"""

from __future__ import annotations

import json
import struct

import pytest
from helpers import run_started, run_tiny, run_until_step, tiny_config
from test_tensorboard import assert_matches

from tui_trainer import events as ev
from tui_trainer.checkpoints import load_checkpoint
from tui_trainer.trackers.export import export, history
from tui_trainer.trackers.scalars import hparams
from tui_trainer.trackers.wandb import WandbWriter

pb = pytest.importorskip("wandb.proto.wandb_internal_pb2", reason="the wandb extra writes the runs")
BLOCK = 32 * 1024


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-dir"))
    monkeypatch.setenv("WANDB_SILENT", "true")


def records(path):
    """The protobuf records of a .wandb file, in order."""
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, parts = 7, b""
    while pos + 7 <= len(data):
        if BLOCK - pos % BLOCK < 7:  # a block's tail too short for a header is padding
            pos += BLOCK - pos % BLOCK
            continue
        length, kind = struct.unpack_from("<HB", data, pos + 4)
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        parts = chunk if kind in (1, 2) else parts + chunk  # full, first / middle, last
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(parts)
            yield record


def read_run(run_dir):
    """(run record, {tag: [(step, value)]}, summary, exit code) of an offline run folder."""
    (path,) = run_dir.glob("run-*.wandb")
    found = {kind: [] for kind in ("run", "history", "summary", "exit")}
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind in found:
            found[kind].append(getattr(record, kind))
    scalars: dict[str, list[tuple[int, float]]] = {}
    for rows in found["history"]:
        row = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in rows.item}
        for tag, value in row.items():
            if not tag.startswith("_") or tag == "_timestamp":
                scalars.setdefault(tag, []).append((row["_step"], value))
    summary = {u.key or "/".join(u.nested_key): json.loads(u.value_json) for s in found["summary"] for u in s.update}
    return found["run"][0], scalars, summary, found["exit"][0].exit_code


def test_a_run_with_log_wandb_writes_an_offline_run_equal_to_its_metrics(runs_dir):
    config = tiny_config(train={"log_interval": 0.01}, log={"wandb": True, "tensorboard": False})
    _, run, col, end = run_tiny(runs_dir, config)
    assert isinstance(end, ev.Finished) and not [e for e in col.of(ev.Log) if e.level == "warning"]
    (offline_run,) = (run.dir / "wandb").glob("offline-run-*")
    record, scalars, summary, exit_code = read_run(offline_run)
    assert (record.run_id, record.display_name, record.project) == (run.id, run.id, "tui-trainer")
    config_items = {u.key: json.loads(u.value_json) for u in record.config.update}
    assert config_items["optim.lr"] == hparams(config.to_dict())["optim.lr"]
    assert_matches(scalars, run)
    assert (summary["status"], exit_code) == ("finished", 0)


def test_the_offline_run_is_complete_when_its_end_event_returns(tmp_path, monkeypatch):
    # run.finish() returns before wandb-core writes the records: it does when it acts on
    # the run's inform_finish, sent without waiting for an answer, a few ms later (under
    # load, after the reads of the tests above had found the 7-byte header alone). Here
    # the service has not got to it yet when the end event returns, every time.
    from wandb.sdk.lib.service.service_connection import ServiceConnection

    monkeypatch.setattr(ServiceConnection, "inform_finish", lambda self, run_id: None)
    writer = WandbWriter(tmp_path, "tui-trainer")
    writer(run_started())
    writer(ev.Step(epoch=1, step=1, batch=1, batches=10, loss=2.0, lr=0.1, images_per_s=100.0, time=1000.0))
    writer(ev.Finished(epochs=2, best_acc=50.0, final_acc=50.0, seconds=1.0))
    offline_run = writer.run_dir()
    assert offline_run is not None
    record, scalars, summary, exit_code = read_run(offline_run)
    assert record.run_id == run_started().run_id and scalars["train/loss"] == [(1, 2.0)]
    assert (summary["status"], exit_code) == ("finished", 0)


def test_export_to_wandb_merges_a_resumed_run_into_one_offline_run(runs_dir, tmp_path):
    config = tiny_config(train={"log_interval": 0.01, "epochs": 3}, log={"tensorboard": False})
    run, stopped = run_until_step(runs_dir, config, 12)
    run_tiny(runs_dir, config, resume=load_checkpoint(run.resolve(stopped.checkpoint)), run=run)
    out, names = export(run, "wandb", tmp_path / "wb")
    assert out == tmp_path / "wb" and len(names) == 1 and names[0].startswith("wandb/offline-run-")
    record, scalars, summary, exit_code = read_run(out / names[0])
    assert record.run_id == run.id
    assert_matches(scalars, run)  # each step once: the resumed attempt's past its checkpoint
    times = dict(scalars["_timestamp"])  # when each step was trained, not when it was exported
    assert [times[e["step"]] for e in history(run)[1]] == pytest.approx([e["time"] for e in history(run)[1]])
    assert (summary["status"], exit_code) == ("finished", 0)
