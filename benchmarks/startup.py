"""Start-up times: the quick commands, and the app until its form can be used.

    python3 benchmarks/startup.py [--rounds 7] [--before PATH] [--only help,version,presets,runs,detach,headless,app,terminal] [--json]

Every measurement is a fresh process, timed by wall clock from just before it is
started (so the interpreter's own start-up counts, as it does for a user):

- ``--help``, ``--version``, ``presets``, ``runs``: the installed ``tui-trainer``
  script (beside this Python) until it exits; ``runs`` lists a folder holding one
  finished run (trained once, headless, before the rounds). One more run of each, not
  timed, says whether it imported torch.
- ``detach``: ``tui-trainer train digits-cnn --detach`` until the prompt would come
  back (the parent exits once its child trains the run); the child is killed after
  each measurement, its training is not what is measured.
- ``headless``: ``tui-trainer train digits-cnn --headless`` for one epoch on the CPU,
  to its end: the default preset's whole first run, which start-up dominates (the
  epoch's training is a fraction of a second).
- ``app``: the app without arguments, headless (Textual's ``run_test``, 100x30), with
  a probe on the frames it draws: **first frame** (the first screen update written:
  not one held back by a batch update, as the app's Mount is), **form usable** (the
  first frame whose hyperparameter editor is enabled and shows the default preset's
  values), **torch** (when ``torch`` is first seen in ``sys.modules``, i.e. when its
  import starts; polled every 10 ms on the UI thread, "-" if not within the probe's
  6 s), whether torch was imported at the first frame, and **stall** (the longest gap
  between two ticks of a 10 ms timer on the UI thread in those 6 s: how long a key
  would have waited). A headless app writes nothing; its frames are composed all the same.
- ``terminal``: ``tui-trainer`` in a pseudo-terminal (100x30), as a user starts it:
  **first frame** (the first output holding the picker's "Presets" title) and **form
  usable** (the first output holding the status line's "ready", which the picker shows
  once the editor holds a preset's values). Linux and macOS only.

``--before PATH`` measures another checkout too (a worktree of an older commit:
``git worktree add /tmp/su-before COMMIT``), each round running both, alternately, so a
busy machine's drift hits both alike. Each row gives the median, then the spread
(min-max) of the rounds. A checkout is run with ``PYTHONPATH`` and the working folder
set to it (the venv's editable install is this one's).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
CLI_CASES = {
    "help": ["--help"],
    "version": ["--version"],
    "presets": ["presets"],
    "runs": ["runs"],
    "detach": ["train", "digits-cnn", "--detach", "--device", "cpu", "--epochs", "1"],
    "headless": ["train", "digits-cnn", "--headless", "--device", "cpu", "--epochs", "1"],
}
PROBE_S = 6.0

# Run in the measured process: imports the app, runs it headless and prints one JSON line.
APP_PROBE = r"""
import os, sys, time
T0 = float(os.environ["STARTUP_T0"])
PROBE_S = float(os.environ["STARTUP_PROBE_S"])
import asyncio, json, tomllib
from tui_trainer import presets
from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.picker import PickerScreen

marks = {}
expected = None

def since():
    return round(time.time() - T0, 4)

class Probe(TrainerApp):
    def _display(self, screen, renderable):
        super()._display(screen, renderable)
        if renderable is None or self._batch_count:
            return  # nothing is written inside a batch update (the app's Mount is one)
        if "first_frame" not in marks:
            marks["first_frame"] = since()
            marks["torch_at_first_frame"] = "torch" in sys.modules
        if "usable" not in marks and isinstance(screen, PickerScreen):
            try:
                editor = screen.query_one("#editor")
                lr = screen.query_one("#hp-optim-lr").value
            except Exception:
                return
            if not editor.disabled and lr == expected:
                marks["usable"] = since()
                marks["torch_at_usable"] = "torch" in sys.modules

async def main():
    global expected
    # From the TOML, not presets.load: validating imported torch in older checkouts,
    # which would delay their app by seconds that are not the app's.
    expected = str(tomllib.loads(presets.available()[presets.DEFAULT_PRESET].path.read_text())["optim"]["lr"])
    app = Probe()
    stall, last = 0.0, None
    def tick():
        nonlocal stall, last
        now = time.perf_counter()
        if last is not None:
            stall = max(stall, now - last)
        last = now
        if "torch" not in marks and "torch" in sys.modules:
            marks["torch"] = since()
    async with app.run_test(size=(100, 30)):
        app.set_interval(0.01, tick)
        end = time.time() + PROBE_S
        while time.time() < end:
            await asyncio.sleep(0.05)
        marks["stall"] = round(stall, 4)
        print("STARTUP " + json.dumps(marks), flush=True)
        os._exit(0)  # not the app's shutdown: it is not what is measured

asyncio.run(main())
"""

TORCH_CHECK = (
    "import sys, contextlib, io\n"
    "from tui_trainer.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
    "    main(sys.argv[1:])\n"
    "print('torch' in sys.modules)\n"
)


def env_for(tree: Path, dirs: dict[str, Path]) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    env.update({k: str(v) for k, v in dirs.items()})
    env.pop("TUI_TRAINER_DEBUG", None)
    return env


def script() -> list[str]:
    entry = Path(sys.executable).with_name("tui-trainer")
    return [str(entry)] if entry.exists() else [sys.executable, "-m", "tui_trainer"]


def time_cli(tree: Path, dirs: dict[str, Path], args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [*script(), *args],
        cwd=tree,
        env=env_for(tree, dirs),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - t0


def imports_torch(tree: Path, dirs: dict[str, Path], args: list[str]) -> bool:
    out = subprocess.run(
        [sys.executable, "-c", TORCH_CHECK, *args],
        cwd=tree,
        env=env_for(tree, dirs),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.strip().splitlines()[-1] == "True"


def time_app(tree: Path, dirs: dict[str, Path]) -> dict[str, float | bool | None]:
    env = env_for(tree, dirs)
    env["STARTUP_PROBE_S"] = str(PROBE_S)
    env["STARTUP_T0"] = repr(time.time())
    out = subprocess.run(
        [sys.executable, "-c", APP_PROBE],
        cwd=tree,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next((s for s in out.stdout.splitlines() if s.startswith("STARTUP ")), None)
    if line is None:
        raise RuntimeError(f"the app probe printed nothing ({out.returncode}): {out.stderr[-2000:]}")
    marks = json.loads(line.removeprefix("STARTUP "))
    for key in ("first_frame", "usable", "torch", "stall"):
        marks.setdefault(key, None)
    return marks


def time_terminal(tree: Path, dirs: dict[str, Path], limit: float = 15.0) -> dict[str, float | None]:
    """``tui-trainer`` in a pty until its status line says "ready" (or ``limit`` s)."""
    import pty
    import re
    import select

    env = env_for(tree, dirs)
    env.update(TERM="xterm-256color", COLUMNS="100", LINES="30")
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of 100x30 on stdin/stdout/stderr
        import fcntl
        import struct
        import termios

        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        os.chdir(tree)
        command = script()
        try:
            os.execve(command[0], command, env)
        finally:
            os._exit(127)  # not reached unless the exec failed
    marks: dict[str, float | None] = {"first_frame": None, "usable": None}
    text = b""
    try:
        while time.perf_counter() - t0 < limit and marks["usable"] is None:
            ready, _, _ = select.select([fd], [], [], 0.01)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                break
            now = time.perf_counter() - t0
            text += re.sub(rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]", b"", chunk)
            if marks["first_frame"] is None and b"Presets" in text:
                marks["first_frame"] = now
            if b"ready" in text:
                marks["usable"] = now
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    return marks


def end_detached(dirs: dict[str, Path], wait_s: float = 10.0) -> None:
    """Kill what a ``detach`` case started (by the pids in its runs' status files) and
    wait until it is gone, so that the next measurement has the machine to itself."""
    pids = []
    for path in dirs["TUI_TRAINER_RUNS"].glob("*/status.json"):
        status = json.loads(path.read_text())
        pid = status.get("pid")
        # Live runs only: a finished run's pid may be another process's by now.
        if status.get("status") in ("starting", "running") and isinstance(pid, int) and pid > 0:
            pids.append(pid)
    deadline = time.monotonic() + wait_s
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            while time.monotonic() < deadline:
                os.kill(pid, 0)  # ProcessLookupError once it is gone (init reaps it)
                time.sleep(0.02)
        except ProcessLookupError:
            pass


def make_run(dirs: dict[str, Path]) -> None:
    """One finished run for `runs` to list (digits-cnn, one epoch, on the CPU)."""
    subprocess.run(
        [*script(), "train", "digits-cnn", "--headless", "--epochs", "1", "--device", "cpu"],
        cwd=HERE,
        env=env_for(HERE, dirs),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        check=True,
    )


def summary(values: list[float | None]) -> str:
    got = [v for v in values if v is not None]
    if not got:
        return "-"
    text = f"{statistics.median(got):.2f} s ({min(got):.2f}-{max(got):.2f})"
    return text + (f", {len(values) - len(got)} missing" if len(got) < len(values) else "")


def report(rounds: dict[str, dict[str, list]], torch: dict[str, dict[str, bool]], n: int) -> str:
    """The table: a row a measure, a column a checkout (before, after)."""
    names = ["before", "after"] if "before" in rounds else ["after"]
    rows: list[tuple[str, list[str]]] = []
    for case in rounds[names[0]]:
        if case == "app":
            for key, label in (
                ("first_frame", "app: first frame"),
                ("usable", "app: form usable"),
                ("torch", "app: torch import starts"),
                ("stall", "app: longest UI stall"),
            ):
                rows.append((label, [summary([m[key] for m in rounds[name][case]]) for name in names]))
            counts = [f"{sum(bool(m.get('torch_at_first_frame')) for m in rounds[name][case])}/{n}" for name in names]
            rows.append(("app: torch at first frame", counts))
        elif case == "terminal":
            for key, label in (("first_frame", "terminal: first frame"), ("usable", "terminal: form usable")):
                rows.append((label, [summary([m[key] for m in rounds[name][case]]) for name in names]))
        else:
            label = "tui-trainer " + " ".join(CLI_CASES[case])
            cells = [f"{summary(rounds[name][case])}, torch {'yes' if torch[name][case] else 'no'}" for name in names]
            rows.append((label, cells))
    width = max(len(v) for _, values in rows for v in values) + 3
    left = max(28, *(len(label) + 2 for label, _ in rows))
    lines = [
        f"{n} rounds; median (min-max) wall time from process start",
        f"{'':{left}}" + "".join(f"{name:>{width}}" for name in names),
    ]
    lines += [f"{label:{left}}" + "".join(f"{v:>{width}}" for v in values) for label, values in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--before", type=Path, help="another checkout, measured alternately with this one")
    parser.add_argument("--only", default="help,version,presets,runs,detach,headless,app,terminal")
    parser.add_argument("--json", type=Path, help="also write every round to this JSON file")
    args = parser.parse_args()
    cases = args.only.split(",")
    trees = {"after": HERE, **({"before": args.before.resolve()} if args.before else {})}
    base = Path(tempfile.mkdtemp(prefix="tui-trainer-startup-"))
    dirs = {
        "TUI_TRAINER_RUNS": base / "runs",
        "TUI_TRAINER_CACHE": base / "cache",
        "TUI_TRAINER_PRESETS": base / "presets",
    }
    if "runs" in cases:
        make_run(dirs)
    rounds: dict[str, dict[str, list]] = {t: {c: [] for c in cases} for t in trees}
    torch = {t: {c: imports_torch(p, dirs, CLI_CASES[c]) for c in cases if c in CLI_CASES} for t, p in trees.items()}
    end_detached(dirs)
    for r in range(args.rounds):
        order = list(trees.items()) if r % 2 == 0 else list(reversed(trees.items()))
        for tree_name, tree in order:
            for case in cases:
                if case == "app":
                    rounds[tree_name][case].append(time_app(tree, dirs))
                elif case == "terminal":
                    rounds[tree_name][case].append(time_terminal(tree, dirs))
                else:
                    rounds[tree_name][case].append(time_cli(tree, dirs, CLI_CASES[case]))
                    if case == "detach":
                        end_detached(dirs)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    if args.json:
        data = {"trees": {k: str(v) for k, v in trees.items()}, "rounds": rounds, "torch": torch}
        args.json.write_text(json.dumps(data, indent=1))
    print(report(rounds, torch, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
