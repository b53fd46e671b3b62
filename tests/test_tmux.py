"""The installed ``tui-trainer`` for real, in a terminal (tmux): train the digits preset,
watch the epoch and checkpoint rows appear on the captured screen, quit with ctrl+q.

Each test gets its own tmux server (``-L``), so a user's sessions are never touched.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        TMUX is None, reason="tmux is not installed (apt-get install tmux): this test drives the real app in a terminal"
    ),
]

EPOCHS = 3
FINAL_ROW = re.compile(rf"│\s*{EPOCHS}\s+\d+\.\d{{4}}\s+\d+\.\d{{2}}%")  # the epochs table's last row
FIRST_ROW = re.compile(r"│\s*1\s+\d+\.\d{4}\s+\d+\.\d{2}%")
# A row of the checkpoints table: epoch, accuracy, kind, (best), size, file.
CHECKPOINT_ROW = re.compile(r"│\s*\d+\s+\d+\.\d{2}%\s+[a-z]+\s.*\d+\.\d (KiB|MiB)\s+epoch_\d{3}\S*\.pt")


def tui_trainer_command() -> list[str]:
    # The script beside this interpreter (a virtual environment's), else the one on PATH.
    beside = Path(sys.executable).parent / "tui-trainer"
    exe = str(beside) if beside.exists() else shutil.which("tui-trainer")
    return [exe] if exe else [sys.executable, "-m", "tui_trainer"]


class Tmux:
    def __init__(self, name: str) -> None:
        self.server = ["tmux", "-L", name]
        self.target = name

    def __call__(self, *args: str, check: bool = True) -> str:
        # os.environ, not the process's own environment: a library of the test run can
        # setenv() COLUMNS and LINES (80x24) behind Python's back, and tmux would pass
        # them on to the app. The test that wants them sets them itself.
        out = subprocess.run([*self.server, *args], capture_output=True, text=True, timeout=30, env=dict(os.environ))
        if check and out.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def start(self, command: str, width: int, height: int) -> None:
        self("new-session", "-d", "-s", self.target, "-x", str(width), "-y", str(height), command)

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", self.target, check=False)

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", self.target, *keys)

    def wait_for(self, predicate, timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.5)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; the screen:\n{screen}")

    def kill(self) -> None:
        self("kill-server", check=False)


def shell_command(
    isolated_dirs, epochs: int, exit_file: Path, argv: list[str] | None = None, extra_env: dict[str, str] | None = None
) -> str:
    env = {key: str(value) for key, value in isolated_dirs.items()}
    env["TERM"] = "xterm-256color"
    env.update(extra_env or {})
    if argv is None:
        argv = ["train", "digits-cnn", "--epochs", str(epochs), "--device", "cpu"]
    argv = [*tui_trainer_command(), *argv]
    return (
        "env "
        + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        + " "
        + " ".join(shlex.quote(a) for a in argv)
        + f"; echo $? > {shlex.quote(str(exit_file))}; sleep 60"
    )


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_train_digits_in_tmux_and_quit(tmp_path, isolated_dirs, size):
    width, height = size
    exit_file = tmp_path / "exit-status"
    command = shell_command(isolated_dirs, EPOCHS, exit_file)
    tmux = Tmux(f"tui-trainer-test-{os.getpid()}-{width}")
    tmux.start(command, width, height)
    try:
        screen = tmux.wait_for(lambda s: FINAL_ROW.search(s), 90, f"the epoch {EPOCHS} row")
        if not CHECKPOINT_ROW.search(screen):
            tmux.keys("3")  # at 80x24 the panes share the space: show the checkpoints
        screen = tmux.wait_for(lambda s: CHECKPOINT_ROW.search(s), 30, "a checkpoint row")
        tmux.wait_for(lambda s: "finished" in s, 30, "the finished state")

        tmux.keys("C-q")
        time.sleep(1.0)
        if "Quit while training?" in tmux.screen():  # not expected: the run has finished
            tmux.keys("y")
        deadline = time.monotonic() + 60
        while not exit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert exit_file.exists(), f"tui-trainer did not exit after ctrl+q; the screen:\n{tmux.screen()}"
        assert exit_file.read_text().strip() == "0"
        # The app's screen is gone: a line in the terminal says how the run ended, and where.
        after = tmux.screen()
        assert f"finished: {EPOCHS} epochs, trained " in after and "its folder: " in after, after
    finally:
        tmux.kill()

    runs = list(Path(isolated_dirs["TUI_TRAINER_RUNS"]).iterdir())
    assert len(runs) == 1
    assert '"status": "finished"' in (runs[0] / "status.json").read_text()
    assert list((runs[0] / "checkpoints").glob("epoch_*.pt"))


def test_start_from_the_picker_on_a_wide_terminal_shows_every_pane(tmp_path, isolated_dirs):
    """Bare `tui-trainer`, s to start the default preset: the dashboard comes over the
    picker, and at 120x40 its four panes share the screen (they showed one, the epochs
    table, until the terminal was resized). The environment says COLUMNS=80 LINES=24,
    as some shells and editors' terminals export: the window's own size wins."""
    tmux = Tmux(f"tui-trainer-test-{os.getpid()}-picker")
    tmux.start(
        shell_command(isolated_dirs, 0, tmp_path / "exit-status", argv=[], extra_env={"COLUMNS": "80", "LINES": "24"}),
        120,
        40,
    )
    try:
        screen = tmux.wait_for(lambda s: "Hyperparameters" in s and "ready" in s, 60, "the picker")
        assert max(len(line.rstrip()) for line in screen.splitlines()) > 100, screen  # not 80 columns
        tmux.keys("s")
        screen = tmux.wait_for(
            lambda s: "✓ finished" in s and CHECKPOINT_ROW.search(s), 90, "the finished run with its checkpoints"
        )
        for title in ("Chart", "Epochs", "Log", "Checkpoints"):
            assert f"─ {title}" in screen, (title, screen)
        assert FIRST_ROW.search(screen), screen
    finally:
        tmux.kill()


def test_closing_the_terminal_stops_the_run_cleanly(tmp_path, isolated_dirs):
    """An SSH session that drops sends SIGHUP: the run is stopped, not left "running"."""
    tmux = Tmux(f"tui-trainer-test-{os.getpid()}-hup")
    tmux.start(shell_command(isolated_dirs, 500, tmp_path / "exit-status"), 80, 24)
    try:
        tmux.wait_for(lambda s: FIRST_ROW.search(s), 90, "the first epoch row")
    finally:
        tmux.kill()  # the terminal goes away: SIGHUP
    (run,) = Path(isolated_dirs["TUI_TRAINER_RUNS"]).iterdir()
    deadline = time.monotonic() + 60
    while '"stopped"' not in (run / "status.json").read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    status = (run / "status.json").read_text()
    assert '"status": "stopped"' in status and "SIGHUP" in status
    assert (run / "checkpoints" / "last.pt").exists()
    # And the process is gone: it lingered after 1 in 6 hang-ups (Textual's shutdown hung).
    pid = json.loads(status)["pid"]
    deadline = time.monotonic() + 40
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(pid), f"tui-trainer (pid {pid}) is still running after its terminal closed"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
