"""Alerts: which events are alerts, and their delivery to a command and to apprise URLs
(a local HTTP server); a delivery that fails is a warning and training goes on."""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from helpers import run_started, run_tiny, tiny_config

from tui_trainer import events as ev
from tui_trainer.alerts import Notifier
from tui_trainer.config import RunConfig


def recording_command(path) -> str:
    """A notify.command that appends the alert's environment to ``path``, one JSON line each."""
    script = (
        "import json, os; "
        f"open({str(path)!r}, 'a').write(json.dumps({{k: v for k, v in os.environ.items() if k.startswith('TUI_TRAINER_')}}) + '\\n')"
    )
    return f'"{sys.executable}" -c "{script}"'


def recorded(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_run_s_alerts_reach_the_command_with_the_run_and_the_alert(runs_dir, tmp_path):
    log = tmp_path / "alerts.jsonl"
    config = tiny_config(notify={"command": recording_command(log), "target_acc": 0})
    _, run, col, end = run_tiny(runs_dir, config)
    assert isinstance(end, ev.Finished)
    got = recorded(log)
    assert [a["TUI_TRAINER_EVENT"] for a in got] == ["target", "finished"], "the target once, at its first epoch"
    assert got[1]["TUI_TRAINER_RUN_DIR"] == str(run.dir) and got[1]["TUI_TRAINER_RUN_ID"] == run.id
    assert got[1]["TUI_TRAINER_MESSAGE"].startswith("Finished 2 epochs, best test accuracy ")
    assert got[0]["TUI_TRAINER_TITLE"] == "Target accuracy reached"
    assert not [e for e in col.of(ev.Log) if e.level == "warning"]


def test_notify_on_chooses_the_alerts(runs_dir, tmp_path):
    log = tmp_path / "alerts.jsonl"
    config = tiny_config(notify={"command": recording_command(log), "target_acc": 0, "on": ["target"]})
    run_tiny(runs_dir, config)
    assert [a["TUI_TRAINER_EVENT"] for a in recorded(log)] == ["target"]


def test_a_failing_command_is_a_warning_in_the_run_and_training_goes_on(runs_dir):
    fail = f'"{sys.executable}" -c "import sys; print(\'no route to host\', file=sys.stderr); sys.exit(3)"'
    config = tiny_config(notify={"command": fail, "target_acc": 0})
    _, run, col, end = run_tiny(runs_dir, config)
    assert isinstance(end, ev.Finished)
    warnings = [e.message for e in col.of(ev.Log) if e.level == "warning"]
    assert warnings[0] == "notification not sent (notify.command): the command exited 3: no route to host"
    assert len(warnings) == 2  # the target's and the end's
    assert any(e.message == warnings[0] for e in run.read_events()[0] if isinstance(e, ev.Log))


def test_a_command_past_its_timeout_counts_as_failed(tmp_path):
    warned = []
    sleep = f'"{sys.executable}" -c "import time; time.sleep(10)"'
    config = RunConfig().with_overrides([f"notify.command={json.dumps(sleep)}", "notify.timeout=0.3"]).notify
    notifier = Notifier(tmp_path, config, "run-1", warned.append)
    t0 = time.monotonic()
    notifier(ev.Finished(epochs=1, best_acc=None, final_acc=None, seconds=1.0))
    assert time.monotonic() - t0 < 5
    assert warned == ["notification not sent (notify.command): the command did not end within 0.3s"]


def test_no_step_for_stall_minutes_is_an_alert_once_and_a_pause_is_not_a_stall(tmp_path):
    log = tmp_path / "alerts.jsonl"
    overrides = [f"notify.command={json.dumps(recording_command(log))}", "notify.stall_minutes=0.005"]  # 0.3 s
    notifier = Notifier(tmp_path, RunConfig().with_overrides(overrides).notify, "run-1", lambda m: None)
    notifier(run_started())
    wait_for(lambda: len(recorded(log)) >= 1)
    time.sleep(0.6)
    assert [a["TUI_TRAINER_EVENT"] for a in recorded(log)] == ["stalled"], "once until a step comes"
    assert recorded(log)[0]["TUI_TRAINER_MESSAGE"] == "no training step for 0.005 min"
    notifier(ev.Paused(epoch=1, step=3))
    time.sleep(0.8)
    assert len(recorded(log)) == 1, "paused: not stalled"
    notifier.close()


class Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):  # keep the test's output clean
        pass


@pytest.fixture
def webhook():
    pytest.importorskip("apprise", reason="the notify extra (apprise) sends to URLs")
    Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"json://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_alerts_reach_an_apprise_url(runs_dir, webhook):
    config = tiny_config(notify={"urls": [webhook]})
    _, run, col, end = run_tiny(runs_dir, config)
    assert isinstance(end, ev.Finished)
    assert [path for path, _ in Hook.received] == ["/hook"]
    body = Hook.received[0][1]
    assert body["title"] == f"Training finished ({run.id})"
    assert body["message"].startswith("Finished 2 epochs")


def test_an_unreachable_url_is_a_warning(runs_dir):
    pytest.importorskip("apprise", reason="the notify extra (apprise) sends to URLs")
    config = tiny_config(train={"epochs": 1}, notify={"urls": ["json://127.0.0.1:9/nothing-listens"], "timeout": 5})
    _, _, col, end = run_tiny(runs_dir, config)
    assert isinstance(end, ev.Finished)
    assert [e.message for e in col.of(ev.Log) if e.level == "warning"] == [
        "notification not sent (notify.urls): apprise could not deliver it (see the URL's service)"
    ]


def test_an_idle_gpu_flagged_by_the_sampler_is_an_alert(tmp_path):
    log = tmp_path / "alerts.jsonl"
    config = RunConfig().with_overrides([f"notify.command={json.dumps(recording_command(log))}"]).notify
    notifier = Notifier(tmp_path, config, "run-1", lambda m: None)
    notifier.flag("gpu_underused", "GPU under 50% busy for 60 s while training: input-bound?")
    notifier.close()
    got = recorded(log)
    assert [(a["TUI_TRAINER_EVENT"], a["TUI_TRAINER_TITLE"]) for a in got] == [("gpu_underused", "GPU underused")]


def test_a_notify_url_apprise_cannot_send_to_is_refused_before_the_run(isolated_dirs, runs_dir):
    """Found at the start, in one line, with no run folder made: not hours later, when
    the run's alert would have gone nowhere."""
    pytest.importorskip("apprise", reason="the notify extra (apprise) checks the URLs")
    from conftest import cli, subprocess_env

    urls = json.dumps(["ntfy://my-topic", "slak://typo/in/scheme"])
    result = cli(["train", "digits-cnn", "--headless", "--set", f"notify.urls={urls}"], subprocess_env(isolated_dirs))
    assert result.returncode == 2, result.stderr
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "notify.urls: apprise does not understand 'slak://typo/in/scheme'" in err
    assert not runs_dir.exists() or not any(runs_dir.iterdir()), "no run folder"


def test_notify_urls_without_apprise_name_the_extra(monkeypatch):
    import builtins

    from tui_trainer.alerts import check_urls
    from tui_trainer.errors import ConfigError

    real_import = builtins.__import__

    def no_apprise(name, *args, **kwargs):
        if name == "apprise":
            raise ImportError("no apprise")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_apprise)
    with pytest.raises(ConfigError, match=r"pip install 'tui-trainer\[notify\]'"):
        check_urls(["ntfy://topic"])
    check_urls([])  # no URLs: nothing to check, apprise or not
