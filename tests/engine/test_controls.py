"""Controls: flags any thread sets, and commands other processes leave in the run folder."""

from __future__ import annotations

import threading
import time

from helpers import tiny_config

from tui_trainer import events as ev
from tui_trainer.engine.controls import POLL_S, Controls
from tui_trainer.runs import Run


def live_run(runs_dir) -> Run:
    run = Run.create(runs_dir, tiny_config())
    run.write_status({"status": "running"})
    return run


def test_stop_wakes_a_paused_loop_and_keeps_its_reason():
    c = Controls(None, lambda e: None)
    c.pause()
    assert c.paused and not c.stopping
    threading.Timer(0.2, c.stop, args=("because",)).start()
    waited = c.wait_while_paused(lambda: None)
    assert c.stopping and c.stop_reason == "because" and not c.paused
    assert 0.15 < waited < 2


def test_save_now_is_taken_once_and_saves_while_paused():
    c = Controls(None, lambda e: None)
    c.save_now()
    assert c.take_save_request() and not c.take_save_request()
    saves = []
    c.pause()
    c.save_now()
    threading.Timer(0.3, c.resume).start()
    c.wait_while_paused(lambda: saves.append(time.monotonic()))
    assert len(saves) == 1 and not c.paused


def test_inbox_commands_are_applied_and_acknowledged(runs_dir):
    run = live_run(runs_dir)
    acks: list[ev.Event] = []
    c = Controls(run.control_inbox(), acks.append)
    pause_id = run.send_control("pause")
    c.poll()
    assert c.paused
    assert [(a.command, a.id, a.ok) for a in acks] == [("pause", pause_id, True)]
    run.send_control("stop")
    c.poll()  # within POLL_S of the last poll: not read yet
    assert not c.stopping
    time.sleep(POLL_S + 0.05)
    c.poll()
    assert c.stopping and c.stop_reason == "stopped from another process" and not c.paused


def test_an_unknown_command_is_acknowledged_as_refused(runs_dir):
    run = live_run(runs_dir)
    (run.dir / "control.jsonl").write_text('{"id": "x1", "command": "dance"}\n')
    acks: list[ev.Event] = []
    Controls(run.control_inbox(), acks.append).poll()
    assert [(a.command, a.ok, a.message) for a in acks] == [("dance", False, "unknown command")]
