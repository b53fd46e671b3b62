"""Run folders: where a run's config, events, metrics, status and checkpoints live.

    runs/<YYYYmmdd-HHMMSS>-<preset>/
        config.toml      the resolved config (also config.json, for programs)
        events.jsonl     every event, one JSON object a line (the protocol of events.py)
        metrics.jsonl    one line per epoch, plus the throttled step lines
        status.json      running/paused/finished/stopped/failed, pid, progress; rewritten atomically
        checkpoints/     epoch_NNN_acc_XX.XX.pt, last.pt, best.pt

Another process (``tui-trainer watch``, ``tui-trainer runs``) reads these files only.
Paths inside the folder (a checkpoint's, in events and status) are written relative to
it and resolved against it when read (:meth:`Run.read_events`, :meth:`Run.status`), so a
run folder copied or moved elsewhere works from there; older runs' absolute paths to
their checkpoints are resolved against the folder they are read from too.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from . import events as ev
from . import format as fmt
from . import wording
from .config import RunConfig
from .errors import CheckpointError, UserError
from .fileio import write_json_atomic, write_text_atomic

STATUS = "status.json"
EVENTS = "events.jsonl"
METRICS = "metrics.jsonl"
CONFIG_TOML = "config.toml"
CONFIG_JSON = "config.json"
CHECKPOINTS = "checkpoints"
CONTROL = "control.jsonl"
OUTPUT_LOG = "output.log"
COMMANDS = ("pause", "resume", "stop", "save")
LIVE_STATUSES = ("starting", "running", "paused")  # a process is (or should be) training the run
# How `tui-trainer runs` and the app's runs screen colour a status (rich colour names).
STATUS_COLORS = {
    "starting": "cyan",
    "running": "cyan",
    "paused": "yellow",
    "finished": "green",
    "stopped": "yellow",
    "failed": "red",
    "dead": "red",
}


# The fields of status.json that programs read, and the type each must have. The file is
# ours, but a hand edit, a bad disk or another version can leave anything in it: a value of
# the wrong type is dropped here, so that one bad run folder cannot break `runs`, the run
# browser, or a resume that carries its best accuracy on.
_STATUS_TYPES: dict[str, type | tuple[type, ...]] = {
    "status": str,
    "preset": str,
    "device": str,
    "host": str,
    "reason": str,
    "last_checkpoint": str,
    "pid": int,
    "epoch": int,
    "checkpoint_epoch": int,  # the epochs the last checkpoint holds: where a resume starts
    "epochs": int,
    "best_acc": (int, float),
    "last_acc": (int, float),
    "train_seconds": (int, float),  # the run's training time, resumes included
    "wall_seconds": (int, float),  # the run's wall time, resumes included
    "position": dict,  # where the run is: epoch, epoch_step, epoch_steps, step (events.py's convention)
    "checkpoint_position": dict,  # where the last checkpoint is, likewise
    "target_acc": (int, float),
    "time_to_target": (int, float),
    "created": (int, float),
    "started": (int, float),
    "updated": (int, float),
}


def _checked_status(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {"status": "unknown"}
    out = {}
    for key, value in raw.items():
        want = _STATUS_TYPES.get(key)
        if want is None:
            out[key] = value  # a field this version does not read: kept as it is
        elif (
            isinstance(value, want)
            and not isinstance(value, bool)
            and (not isinstance(value, (int, float)) or (math.isfinite(value) and value >= 0))
        ):
            out[key] = value
    out.setdefault("status", "unknown")
    return out


def pid_alive(pid: int | None, host: str | None, written: float | None = None) -> bool | None:
    """True/False for a process on this host; None when it cannot be known (other host).
    ``written``: when the status holding the pid was last written. A process that started
    after it is not ours: the run's process died and its number went to another (after a
    reboot, numbers start low again), which would otherwise keep the run "running" forever
    and refuse its resume."""
    if not isinstance(pid, int) or pid <= 0:  # os.kill(-1, 0) would ask about every process
        return None
    if host and host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = process_start_time(pid)
    if written is not None and started is not None and started > written + PID_CLOCK_SLACK_S:
        return False
    return True


PID_CLOCK_SLACK_S = 2.0  # /proc gives the start in clock ticks after a boot time in whole seconds


def process_start_time(pid: int) -> float | None:
    """When a process started (Unix time), from /proc on Linux; None where unknown."""
    boot = _boot_time()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        # Field 22 (starttime); the command name in field 2 may hold spaces, so count from its ")".
        ticks = int(stat[stat.rindex(")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return None
    return None if boot is None else boot + ticks / os.sysconf("SC_CLK_TCK")


@functools.cache
def _boot_time() -> int | None:
    """The boot time from /proc/stat, read once (`runs` asks for every run's pid)."""
    try:
        line = next(line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        return int(line.split()[1])
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # gone (the run folder was moved from there)
        return False


class Run:
    """One run folder."""

    def __init__(self, path: Path) -> None:
        self.dir = Path(path)

    @property
    def id(self) -> str:
        return self.dir.name

    @property
    def checkpoints_dir(self) -> Path:
        return self.dir / CHECKPOINTS

    # -- paths inside the folder ----------------------------------------------------------
    def relative(self, path: str) -> str:
        """``path`` (absolute, or relative to the working folder, as the engine names its
        checkpoints) relative to the run folder when inside it, for the run's files."""
        p = Path(path)
        for inside, base in ((p.absolute(), self.dir.absolute()), (p.resolve(), self.dir.resolve())):
            try:
                return inside.relative_to(base).as_posix()
            except ValueError:
                continue
        return path

    def resolve(self, path: str) -> str:
        """A path read from the run's files, as a path inside this folder (spelt from
        ``self.dir``, as the engine spells the paths of the run it trains): one written
        relative to it, or an older run's absolute path to its checkpoints
        (``<anywhere>/checkpoints/<name>``: every checkpoint a run names is its own)."""
        if not path:
            return path
        p = Path(path)
        if not p.is_absolute():
            return str(self.dir / p)
        if p.parent.name == CHECKPOINTS and not _same_folder(p.parent.parent, self.dir):
            return str(self.dir / CHECKPOINTS / p.name)
        return path

    def _resolved(self, event: ev.Event) -> ev.Event:
        if isinstance(event, ev.CheckpointSaved | ev.CheckpointRemoved):
            return dataclasses.replace(event, path=self.resolve(event.path))
        if isinstance(event, ev.Stopped | ev.Failed) and event.checkpoint:
            return dataclasses.replace(event, checkpoint=self.resolve(event.checkpoint))
        if isinstance(event, ev.RunStarted):
            return dataclasses.replace(event, run_dir=str(self.dir))
        return event

    # -- creating -------------------------------------------------------------------------
    @classmethod
    def create(cls, runs_dir: Path, config: RunConfig) -> Run:
        runs_dir = Path(runs_dir)
        try:
            runs_dir.mkdir(parents=True, exist_ok=True)
            base = f"{time.strftime('%Y%m%d-%H%M%S')}-{config.name}"
            path, n = runs_dir / base, 1
            while True:
                try:
                    path.mkdir()
                    break
                except FileExistsError:
                    n += 1
                    path = runs_dir / f"{base}-{n}"
            run = cls(path)
            run.checkpoints_dir.mkdir()
        except OSError as exc:  # a file in the way, no permission, a read-only disk
            why = "it is a file, not a folder" if runs_dir.is_file() else exc.strerror or str(exc)
            raise CheckpointError(
                f"runs folder {runs_dir}: cannot create a run folder there ({why}); "
                "choose another with --runs-dir DIR or TUI_TRAINER_RUNS"
            ) from exc
        run.write_config(config)
        run.write_status(
            {
                "status": "created",
                "preset": config.name,
                "epoch": 0,
                "epochs": config.train.epochs,
                "created": time.time(),
            }
        )
        return run

    def write_config(self, config: RunConfig) -> None:
        """The resolved config, as TOML for people and JSON for programs (rewritten when a resume starts)."""
        write_text_atomic(self.dir / CONFIG_TOML, f"# preset: {config.name}\n" + config.to_toml())
        write_json_atomic(self.dir / CONFIG_JSON, {"preset": config.name, **config.to_dict()})

    @classmethod
    def open(cls, path: str | Path) -> Run:
        p = Path(path).expanduser()
        if not p.is_dir():
            raise CheckpointError(f"{path}: no such run folder")
        if not (p / STATUS).exists() and not (p / CONFIG_JSON).exists():
            raise CheckpointError(f"{path}: not a run folder (no {STATUS} or {CONFIG_JSON})")
        return cls(p)

    # -- reading --------------------------------------------------------------------------
    def config(self) -> RunConfig:
        data = json.loads((self.dir / CONFIG_JSON).read_text())
        name = data.pop("preset", self.id)
        return RunConfig.from_dict(data, name=name)

    def status(self) -> dict[str, Any]:
        """The status file, with ``alive`` added and a dead "running" shown as "dead"."""
        try:
            status = _checked_status(json.loads((self.dir / STATUS).read_text()))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            status = {"status": "unknown"}
        if status.get("last_checkpoint"):
            status["last_checkpoint"] = self.resolve(status["last_checkpoint"])
        alive = pid_alive(status.get("pid"), status.get("host"), status.get("updated"))
        status["alive"] = alive
        if status.get("status") in LIVE_STATUSES and alive is False:
            status["status"] = "dead"
        return status

    def read_events(self, offset: int = 0) -> tuple[list[ev.Event], int]:
        """Events from byte ``offset`` on; returns them and the offset to continue from.
        A partly written last line is left for the next call. Paths are resolved against
        this folder (see :meth:`resolve`)."""
        path = self.dir / EVENTS
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return [], offset
        end = data.rfind(b"\n") + 1
        out = []
        for line in data[:end].splitlines():
            try:
                event = ev.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError):
                continue
            if event is not None:
                out.append(self._resolved(event))
        return out, offset + end

    def epochs(self) -> list[ev.EpochEnd]:
        """One EpochEnd an epoch, in order. A resume replays the epochs after its
        checkpoint: its RunStarted drops those after its start_epoch (a kill between an
        epoch's end and its checkpoint leaves one), and a later EpochEnd replaces one."""
        rows: dict[int, ev.EpochEnd] = {}
        for e in self.read_events()[0]:
            if isinstance(e, ev.RunStarted):
                rows = {k: row for k, row in rows.items() if k <= e.start_epoch}
            elif isinstance(e, ev.EpochEnd):
                rows[e.epoch] = e
        return [rows[k] for k in sorted(rows)]

    # -- writing --------------------------------------------------------------------------
    def write_status(self, fields: dict[str, Any]) -> None:
        """Write status.json; its last_checkpoint (read resolved, see :meth:`status`) is
        written relative to the folder, whoever writes it."""
        if isinstance(fields.get("last_checkpoint"), str) and fields["last_checkpoint"]:
            fields = {**fields, "last_checkpoint": self.relative(fields["last_checkpoint"])}
        write_json_atomic(self.dir / STATUS, fields)

    def recorder(self) -> RunRecorder:
        return RunRecorder(self)

    # -- control channel ------------------------------------------------------------------
    def send_control(self, command: str) -> str:
        """Ask the process training this run to pause/resume/stop/save; returns the
        command's id, which the trainer acknowledges with a ControlAck event."""
        if command not in COMMANDS:
            raise CheckpointError(f"unknown command {command!r}; allowed: {', '.join(COMMANDS)}")
        status = self.status()
        if status.get("status") not in LIVE_STATUSES:
            raise CheckpointError(
                f"run {self.id} is {status.get('status', 'not running')}; only a live run takes commands"
            )
        command_id = uuid.uuid4().hex[:12]
        line = json.dumps({"id": command_id, "command": command, "time": time.time()}) + "\n"
        # One write of a short line to a file opened for appending: atomic on POSIX, so
        # several watchers can send at once.
        fd = os.open(self.dir / CONTROL, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        return command_id

    def reset_control(self) -> None:
        """Forget the commands sent to an earlier process training this run."""
        (self.dir / CONTROL).unlink(missing_ok=True)

    def control_inbox(self) -> ControlInbox:
        return ControlInbox(self.dir / CONTROL)


class ControlInbox:
    """The trainer's side of the control channel: new commands since the last poll.
    The file is cleared when a run is (re)launched (:meth:`Run.reset_control`), so
    commands sent while a detached trainer is still starting are not lost."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def poll(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self.offset += end
        out = []
        for line in data[:end].splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(item, dict) and isinstance(item.get("command"), str):
                out.append(item)
        return out


class RunRecorder:
    """An event subscriber that writes the run's files as events arrive."""

    def __init__(self, run: Run) -> None:
        self.run = run
        # Start from what the folder says (preset, epochs, best so far on a resume).
        self.status = {k: v for k, v in run.status().items() if k != "alive"}
        # As found: a resume that ends before it trains a step (data missing, weights that
        # do not fit, a stop while loading) leaves the run's own outcome as it was.
        # (Not a "starting" that `--detach` wrote for this process: what it replaced is gone.)
        ours = self.status.get("status") == "starting" and self.status.get("pid") == os.getpid()
        self._found = dict(self.status) if self.status.get("epoch") and not ours else None
        self._started = False  # RunStarted seen: data loaded and weights restored
        # "starting" with our pid while the data loads (minutes for a big image folder):
        # the run is live, so `tui-trainer control stop` reaches it, and if this process
        # dies first, `runs` shows it dead rather than "created" forever. RunStarted makes
        # it "running".
        self.status.update(status="starting", pid=os.getpid(), host=socket.gethostname(), updated=time.time())
        run.write_status(self.status)
        self._events = _open_log(run.dir / EVENTS)
        self._metrics = _open_log(run.dir / METRICS)

    def _stored(self, event: ev.Event) -> dict[str, Any]:
        """The event as events.jsonl holds it: paths relative to the run folder."""
        data = event.to_dict()
        if isinstance(event, ev.CheckpointSaved | ev.CheckpointRemoved):
            data["path"] = self.run.relative(event.path)
        elif isinstance(event, ev.Stopped | ev.Failed) and event.checkpoint:
            data["checkpoint"] = self.run.relative(event.checkpoint)
        elif isinstance(event, ev.RunStarted) and event.run_dir:
            data["run_dir"] = "."
        return data

    def _replayed(self, start_epoch: int, start_step: int) -> None:
        """A resume replays what came after its checkpoint (a kill between an epoch's end
        and its checkpoint leaves an epoch after it; checkpoint.every > 1, several):
        metrics.jsonl, one line an epoch for programs, drops the lines after the
        checkpoint here, so that each epoch keeps one line, the replay's. events.jsonl
        is not rewritten: it is a log that watchers (`watch`, the app) tail by byte
        offset while this process appends to it, and a rewrite would break their
        offsets; its readers apply this RunStarted's start_epoch instead (Run.epochs,
        the app's epoch table)."""
        path = self.run.dir / METRICS
        try:
            lines = path.read_text().splitlines(keepends=True)
        except (OSError, UnicodeDecodeError):
            return
        kept = [line for line in lines if not _after(line, start_epoch, start_step)]
        if len(kept) == len(lines):
            return
        self._metrics.close()
        write_text_atomic(path, "".join(kept))
        self._metrics = _open_log(path)

    def __call__(self, event: ev.Event) -> None:
        self._events.write(json.dumps(self._stored(event)) + "\n")
        if isinstance(event, ev.Step):
            self._metrics.write(json.dumps({"type": "step", **event.to_dict()}) + "\n")
            return  # status is rewritten per epoch, not per step
        if isinstance(event, ev.END_EVENTS) and not self._started and self._found is not None:
            self._keep_found_outcome(self._found, event)
        elif self._record(event):
            self.status["updated"] = time.time()
            self.run.write_status(self.status)
        if isinstance(event, ev.END_EVENTS):
            self.close()  # its lines on disk now: a rank ends with os._exit, which flushes nothing

    def _record(self, event: ev.Event) -> bool:
        """Update ``self.status`` (and metrics.jsonl) from ``event``; False for an event
        that status.json does not record (a Log, a ControlAck...)."""
        s = self.status
        if isinstance(event, ev.RunStarted):
            self._on_run_started(event)
        elif isinstance(event, ev.EpochEnd):
            self._on_epoch_end(event)
        elif isinstance(event, ev.CheckpointSaved):
            s["last_checkpoint"] = event.path
            s["checkpoint_epoch"] = event.epochs_done  # what a resume starts after
            s["checkpoint_position"] = s["position"] = _position(event)
        elif isinstance(event, ev.Paused):
            s.update(status="paused", position=_position(event))
        elif isinstance(event, ev.Resumed):
            s.update(status="running", position=_position(event))
        elif isinstance(event, ev.Finished):
            s.pop("reason", None)  # a new outcome replaces an earlier one's reason
            s.pop("position", None)  # finished: at its end, which epoch/epochs say
            s.update(status="finished", target_acc=event.target_acc, time_to_target=event.time_to_target)
            _times(s, event)
        elif isinstance(event, ev.Stopped | ev.Failed):
            s.update(status=event.kind, reason=event.reason)
            if event.epoch_steps:  # else an end before training (no position of its own)
                s["position"] = _position(event)
            _times(s, event)
        else:
            return False
        return True

    def _keep_found_outcome(self, found: dict[str, Any], event: ev.Finished | ev.Stopped | ev.Failed) -> None:
        """A resume that ended before it started (see ``_found``): the run's status as it
        was found, with this attempt noted beside it."""
        reason = getattr(event, "reason", "")
        self.run.write_status(
            {
                **found,
                "updated": time.time(),
                "last_attempt": {"status": event.kind, "reason": reason, "time": event.time},
            }
        )

    def _on_run_started(self, event: ev.RunStarted) -> None:
        s = self.status
        self._started = True
        # Overrides given on a resume (epochs, lr) are part of the run from now on.
        self.run.write_config(RunConfig.from_dict(event.config, name=event.preset))
        if event.start_step > 0:
            self._replayed(event.start_epoch, event.start_step)
        # An earlier process's outcome (why it stopped or failed, a resume that did not
        # start) is not this one's.
        s.pop("reason", None)
        s.pop("last_attempt", None)
        s.update(
            status="running",
            preset=event.preset,
            epochs=event.epochs,
            epoch=event.start_epoch,
            checkpoint_epoch=event.start_epoch,
            device=wording.devices(event),
            world_size=event.world_size,
            train_seconds=event.train_seconds,
            wall_seconds=event.wall_seconds,
        )
        s.setdefault("started", event.time)  # the first attempt's: a resume keeps it

    def _on_epoch_end(self, event: ev.EpochEnd) -> None:
        s = self.status
        self._metrics.write(json.dumps({"type": "epoch", **event.to_dict()}) + "\n")
        s["epoch"] = event.epoch
        s["last_acc"] = event.test_acc
        _times(s, event)  # so a running or stopped run says them too
        if s.get("best_acc") is None or event.test_acc > s["best_acc"]:
            s["best_acc"] = event.test_acc

    def close(self) -> None:
        for f in (self._events, self._metrics):
            if not f.closed:
                f.flush()
                f.close()


def _position(e: ev.Position) -> dict[str, int]:
    """status.json's record of a position: the event's fields of it."""
    return {"epoch": e.epoch, "epoch_step": e.epoch_step, "epoch_steps": e.epoch_steps, "step": getattr(e, "step", 0)}


def _times(status: dict[str, Any], e: ev.EpochEnd | ev.Finished | ev.Stopped | ev.Failed) -> None:
    """The run's totals from an event that has them (an older one's None leaves them be)."""
    for key in ("train_seconds", "wall_seconds"):
        value = getattr(e, key)
        if value is not None:
            status[key] = value


def _open_log(path: Path) -> IO[str]:
    """A JSON-lines file opened to append; a last line a kill cut short is ended first,
    so that the next line is not glued to it (and lost with it)."""
    try:
        with open(path, "rb") as tail:
            tail.seek(-1, os.SEEK_END)
            cut = tail.read(1) != b"\n"
    except OSError:  # missing or empty
        cut = False
    f = open(path, "a", buffering=1)
    if cut:
        f.write("\n")
    return f


def _after(line: str, epoch: int, step: int) -> bool:
    """Whether a metrics.jsonl line is of an epoch or step after a resume's checkpoint."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError:
        return False
    if not isinstance(item, dict):
        return False
    kind = item.get("type")
    if kind == "epoch":
        value, limit = item.get("epoch"), epoch
    elif kind == "step":
        value, limit = item.get("step"), step
    else:
        return False
    return isinstance(value, int) and value > limit


@dataclass
class RunSummary:
    id: str
    path: Path
    preset: str
    status: str
    epoch: int
    epochs: int
    best_acc: float | None
    started: float | None
    device: str = ""
    last_acc: float | None = None  # test accuracy of the last epoch trained
    train_seconds: float | None = None  # so far, resumes included, without evaluation and pauses
    wall_seconds: float | None = None  # so far, resumes included (older runs' status.json lacks it)
    # Where a run that is not finished stands: epoch, epoch_step, epoch_steps, step (events.py's convention).
    position: dict[str, int] | None = None
    # Set when the run finished (status.json of older runs lacks them):
    target_acc: float | None = None
    time_to_target: float | None = None  # seconds of training until target_acc was first reached
    reason: str = ""  # why a stopped or failed run ended
    world_size: int = 1  # processes (one a GPU) that trained it
    resumable: bool = False  # not finished, and its last checkpoint is there to resume from

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}


def _run_folders(runs_dir: Path) -> list[Path]:
    """The run folders in ``runs_dir`` (those with a status file), newest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    return sorted(
        (p for p in root.iterdir() if p.is_dir() and (p / STATUS).exists()), key=lambda p: p.name, reverse=True
    )


def list_runs(runs_dir: Path) -> list[RunSummary]:
    """Runs in a folder, newest first."""
    return [summarize(p) for p in _run_folders(runs_dir)]


def summarize(folder: Path) -> RunSummary:
    """One run folder's line in `runs`, from its status.json."""
    s = Run(folder).status()
    s.setdefault("started", s.get("created"))
    epoch = int(s.get("epoch") or 0)
    if s.get("status") not in LIVE_STATUSES and isinstance(s.get("checkpoint_epoch"), int):
        # A run that no longer trains has trained what its last checkpoint holds: what a
        # resume continues from (a kill before an epoch's checkpoint loses that epoch).
        epoch = min(epoch, s["checkpoint_epoch"])
    return RunSummary(
        id=folder.name,
        path=folder,
        preset=s.get("preset", "?"),
        status=s.get("status", "unknown"),
        epoch=epoch,
        epochs=int(s.get("epochs") or 0),
        best_acc=s.get("best_acc"),
        started=s.get("started"),
        device=s.get("device") or "",
        last_acc=s.get("last_acc"),
        train_seconds=s.get("train_seconds"),
        wall_seconds=s.get("wall_seconds"),
        position=_summary_position(s),
        target_acc=s.get("target_acc"),
        time_to_target=s.get("time_to_target"),
        reason=s.get("reason") or "",
        world_size=int(s.get("world_size") or 1),
        resumable=_resumable(folder, s),
    )


def _resumable(folder: Path, status: dict[str, Any]) -> bool:
    """Whether ``--resume`` has something to start from: the run is not finished (nor
    training now) and its last checkpoint is a file. Path.is_file follows links, so a
    last.pt whose epoch file was pruned or deleted does not count. (Not
    checkpoints.linked_checkpoint: it imports torch, which `runs` must not.)"""
    if status.get("status") in ("finished", *LIVE_STATUSES):
        return False
    named = status.get("last_checkpoint")  # resolved against the folder by Run.status
    candidates = [Path(named)] if named else []
    return any(c.is_file() for c in (*candidates, folder / CHECKPOINTS / "last.pt"))


def _summary_position(status: dict[str, Any]) -> dict[str, int] | None:
    """Where a run stands for `runs`: a run that no longer trains resumes from its last
    checkpoint's position; a finished run has none."""
    if status.get("status") == "finished":
        return None
    key = "position" if status.get("status") in LIVE_STATUSES else "checkpoint_position"
    found = status.get(key)
    fields = ("epoch", "epoch_step", "epoch_steps", "step")
    if not isinstance(found, dict) or not all(isinstance(found.get(k), int) for k in fields):
        return None
    return {k: found[k] for k in fields}


def run_to_watch(runs_dir: Path) -> Run:
    """The run ``watch`` opens when none is named: the newest that is training, else the
    newest of all."""
    runs = list_runs(runs_dir)  # newest first; a dead "running" is "dead"
    if not runs:
        raise CheckpointError(f"no runs in {runs_dir} yet; start one with `tui-trainer train PRESET`")
    live = [r for r in runs if r.status in LIVE_STATUSES]
    return Run((live or runs)[0].path)


def find_run(name: str, runs_dir: Path, what: str = "run folder or run id") -> Run:
    """A run by path, by id, or by a part of its id that is unique within ``runs_dir``: a
    prefix or suffix first (the date, the preset), then any part (the time, 043017).
    Only folder names are compared: no status file is read, no process looked up."""
    p = Path(name).expanduser()
    if p.is_dir():
        return Run.open(p)
    folders = _run_folders(runs_dir)
    candidates = [f for f in folders if f.name == name]
    if not candidates:
        candidates = [f for f in folders if f.name.startswith(name) or f.name.endswith(name)]
    if not candidates and name:
        candidates = [f for f in folders if name in f.name]
    if len(candidates) == 1:
        return Run(candidates[0])
    if len(candidates) > 1:
        more = f" and {len(candidates) - 5} more" if len(candidates) > 5 else ""
        raise CheckpointError(
            f"run '{name}' is ambiguous: it matches {', '.join(f.name for f in candidates[:5])}{more}; "
            "give more of the id"
        )
    raise CheckpointError(f"{name}: no such {what} in {runs_dir} (see `tui-trainer runs`)")


def checkpoint_or_run(name: str, runs_dir: Path) -> Path:
    """What `--resume` and `eval` take: a checkpoint file or run folder as a path, else a
    run id (or a unique part of one) in ``runs_dir``, as its folder."""
    p = Path(name).expanduser()
    return p if p.exists() else find_run(name, runs_dir, what="checkpoint, run folder or run id").dir


# -- the columns of `tui-trainer runs` and the runs screen -------------------------------------
# The statuses in the order that sorting by status gives: what needs a look first.
STATUS_SHOWN = "dead", "failed", "stopped", "paused", "running", "starting", "created", "finished", "unknown"


def status_text(run: RunSummary) -> str:
    """A run's status with why it ended, in the one wording of `runs` and the runs
    screen: "finished", "stopped by user", "stopped: time limit", "failed: loss became
    NaN/inf at epoch 7, step 3 of 32 (step 195 of the run)", "dead (process gone)". Only
    what happened: a reason's advice after its "; " is for the end line and the legend."""
    if run.status == "dead":
        return "dead (process gone)"
    reason = run.reason.split("; ")[0].strip()
    if not reason or run.status not in ("stopped", "failed"):
        return run.status
    if run.status == "stopped" and reason.lower().startswith("stopped"):
        return reason  # "stopped by user" says it already
    return f"{run.status}: {reason}"


def _none_last(value: float | None) -> tuple[bool, float]:
    return (value is None, -(value or 0.0))


# Each column one can sort by, and its order: the best figures first, a missing one last.
SORTS: dict[str, Any] = {
    "started": lambda r: (),  # as listed: newest first, by the folder's name (its start time)
    "status": lambda r: (STATUS_SHOWN.index(r.status) if r.status in STATUS_SHOWN else len(STATUS_SHOWN),),
    "best": lambda r: _none_last(r.best_acc),
    "epochs": lambda r: (-r.epoch, -r.epochs),
    "time": lambda r: _none_last(r.wall_seconds if r.wall_seconds is not None else r.train_seconds),
    "devices": lambda r: (-r.world_size,),
    "resumable": lambda r: (not r.resumable,),
    "preset": lambda r: (r.preset.lower(),),
    "id": lambda r: (r.id,),
}


def sort_runs(runs: list[RunSummary], column: str) -> list[RunSummary]:
    """The runs ordered by a column of SORTS; ties keep their order (newest first)."""
    return sorted(runs, key=SORTS[column])


def filter_runs(runs: list[RunSummary], status: str | None = None, preset: str | None = None) -> list[RunSummary]:
    """The runs of that status ("live": starting, running or paused) and preset; None: any."""
    wanted = LIVE_STATUSES if status == "live" else (status,)
    return [r for r in runs if (status is None or r.status in wanted) and (preset is None or r.preset == preset)]


# -- comparing configs -------------------------------------------------------------------------
MISSING = "—"  # a key one run's config lacks (an older version's, or another model's)


def _flat(data: Any, prefix: str = "") -> dict[str, str]:
    """config.json as dotted keys ("optim.lr") and their values as one would type them."""
    if isinstance(data, dict):
        out: dict[str, str] = {}
        for key, value in data.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    if isinstance(data, float):
        text = fmt.setting(data) if math.isfinite(data) else str(data)
    else:
        text = json.dumps(data) if isinstance(data, (list, bool)) or data is None else str(data)
    return {prefix.rstrip("."): text}


def config_of(folder: Path) -> dict[str, str]:
    """A run's config as dotted keys; {} where its config.json is missing or unreadable.
    Without its preset's name: a run's id ends with it, and the keys that make presets
    differ (model.name, data.dataset) say what differs."""
    try:
        data = json.loads((Path(folder) / CONFIG_JSON).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    data.pop("preset", None)
    return _flat(_with_newer_keys(data))


def _with_newer_keys(data: dict[str, Any]) -> dict[str, Any]:
    """An older run's config with the keys added since (``log.system_interval``) at
    today's defaults, so that comparing it with a newer run does not list every key the
    newer version added. Only in the sections it has: config.json holds every key of its
    day, so a key missing from a section it has is newer than the run; a section it
    lacks (a config.json of its preset's name alone) stays unknown."""
    model = data.get("model")
    arch = model.get("arch") if isinstance(model, dict) else None
    try:
        today = RunConfig.from_dict({"model": {"arch": arch}} if isinstance(arch, str) else {}).to_dict()
    except UserError:
        return data  # an architecture of another version: as written
    return {
        section: {**today[section], **values} if isinstance(values, dict) and section in today else values
        for section, values in data.items()
    }


def config_differences(configs: list[dict[str, str]]) -> list[tuple[str, list[str]]]:
    """The keys whose values are not the same in every config (a key one lacks counts),
    in sorted order, each with its value in each config: what tells the runs apart."""
    keys = sorted(set().union(*configs)) if configs else []
    rows = [(key, [c.get(key, MISSING) for c in configs]) for key in keys]
    return [(key, values) for key, values in rows if len(set(values)) > 1]
