"""`tui-trainer export RUN --to FORMAT [OUT]`: a past run's figures for other tools.

Any run folder works, including runs from before the trackers existed: CSV is made
from ``metrics.jsonl`` (one line an epoch and the step lines, de-duplicated as a
resume leaves them), TensorBoard by replaying ``events.jsonl`` through the writer a
live run uses (:mod:`.tensorboard`), so an export and a live run's files are the same.
``system.jsonl``, where a run has one, goes along: its samples replayed among the
events by their time (:func:`with_samples`; a sample from before samples had a step
gets the latest step of the events before it), and as CSV ``system.csv``, a row a sample.
W&B and MLflow (optional extras) replay it too, through their live subscribers
(:mod:`.wandb`, :mod:`.mlflow`), its attempts merged into one (:func:`merged`): neither
tool can drop what an earlier attempt logged past the checkpoint a resume went on from.
MLflow takes the samples too; W&B does not (its history has one row a step, and a
sample, taken at the latest Step's step, would overwrite that row's time).
MLflow's OUT is a tracking URI (a plain path: a SQLite file), not a folder.
The folders' output is written into a temporary folder beside ``OUT`` and renamed into place
when complete: an interrupted export leaves nothing that looks finished.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import events as ev
from ..errors import ConfigError
from ..runs import METRICS, Run
from ..system.sampler import Sample, read_samples
from . import EXTRAS, require

FORMATS = ("csv", "tensorboard", "wandb", "mlflow")
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # a scheme: sqlite:, http:, file:, databricks:
STEP_COLUMNS = (
    "step",
    "epoch",
    "batch",
    "batches",
    "loss",
    "lr",
    "images_per_s",
    "grad_norm",
    "data_share",
    "time",
)
SYSTEM_COLUMNS = ("time", "step", "cpu_percent", "ram_used", "ram_total", "rss", "data_share", "flag", "error")
GPU_COLUMNS = ("uuid", "utilisation", "memory_used", "memory_total", "power_w", "temperature_c")
EPOCH_COLUMNS = (
    "epoch",
    "step",
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "lr",
    "seconds",
    "images_per_s",
    "best",
    "time",
)


def history(run: Run) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The run's step and epoch lines from ``metrics.jsonl``, one a step and one an
    epoch (the last written wins: a resume's replay of what came after its checkpoint),
    in order. A line a kill cut short is skipped."""
    steps: dict[int, dict[str, Any]] = {}
    epochs: dict[int, dict[str, Any]] = {}
    try:
        text = (run.dir / METRICS).read_text(errors="replace")
    except FileNotFoundError:
        return [], []
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        table = steps if kind == "step" else epochs if kind == "epoch" else None
        key = item.get(kind) if table is not None else None
        if table is not None and isinstance(key, int):
            table[key] = item
    return [steps[k] for k in sorted(steps)], [epochs[k] for k in sorted(epochs)]


def system_rows(samples: list[Sample]) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """The samples as flat rows (GPU ``i``'s figures as ``gpu{i}_{figure}``: ``i`` its
    place in the sample's list) and their columns; bytes stay bytes, as in the file."""
    gpus = max((len(s["gpus"]) for s in samples if isinstance(s.get("gpus"), list)), default=0)
    columns = (*SYSTEM_COLUMNS, *(f"gpu{i}_{name}" for i in range(gpus) for name in GPU_COLUMNS))
    rows = []
    for sample in samples:
        row = {k: v for k, v in sample.items() if k != "gpus"}
        for i, gpu in enumerate(sample.get("gpus") or []):
            if isinstance(gpu, dict):
                row.update({f"gpu{i}_{k}": v for k, v in gpu.items()})
        rows.append(row)
    return rows, columns


def to_csv(run: Run, out: Path) -> list[str]:
    """``steps.csv`` and ``epochs.csv`` in ``out``, and ``system.csv`` for a run with
    system samples; returns the names written."""
    steps, epochs = history(run)
    tables = [("steps.csv", steps, STEP_COLUMNS), ("epochs.csv", epochs, EPOCH_COLUMNS)]
    samples = read_samples(run.dir)
    if samples:
        rows, columns = system_rows(samples)
        tables.append(("system.csv", rows, columns))
    for name, table, fields in tables:
        with open(out / name, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(table)
    return [name for name, _, _ in tables]


def with_samples(events: list[ev.Event], samples: list[Sample]) -> list[ev.Event | Sample]:
    """The events with the samples among them, as they came live: each before the first
    event after it, or before its attempt's end event (a live sampler's last sample may
    come a moment after the end was made); samples outside any attempt are left out. A
    sample without a step (written before samples had one) gets the latest Step's or
    EpochEnd's (the attempt's start before one)."""
    starts = [e.time for e in events if isinstance(e, ev.RunStarted)]
    pending = sorted((s for s in samples if isinstance(s.get("time"), int | float)), key=lambda s: float(s["time"]))
    out: list[ev.Event | Sample] = []
    at, step, attempt, open_ = 0, 0, -1, False

    def until(when: float) -> None:
        nonlocal at
        while at < len(pending) and pending[at]["time"] < when:
            sample = pending[at]
            at += 1
            if open_:
                out.append(sample if "step" in sample else {**sample, "step": step})

    for event in events:
        if isinstance(event, ev.RunStarted):
            until(event.time)
            attempt, step, open_ = attempt + 1, event.start_step, True
        elif isinstance(event, ev.END_EVENTS):
            until(starts[attempt + 1] if attempt + 1 < len(starts) else float("inf"))
        else:
            until(event.time)
        out.append(event)
        if isinstance(event, ev.Step | ev.EpochEnd):
            step = event.step
        elif isinstance(event, ev.END_EVENTS):
            open_ = False
    until(float("inf"))
    return out


def to_tensorboard(run: Run, out: Path) -> list[str]:
    from .tensorboard import replay

    replay(with_samples(run.read_events()[0], read_samples(run.dir)), out)
    return sorted(p.name for p in out.iterdir())


def merged(events: list[ev.Event | Sample]) -> list[ev.Event | Sample]:
    """A run's attempts as one: the first start (with the last attempt's config), each
    attempt's steps and epochs (and samples, placed by :func:`with_samples`) up to
    where the next one resumed, and the last end."""
    attempts: list[tuple[ev.RunStarted, list[ev.Event | Sample]]] = []
    for event in events:
        if isinstance(event, ev.RunStarted):
            attempts.append((event, []))
        elif attempts:
            attempts[-1][1].append(event)
    if not attempts:
        return []
    kept: list[ev.Event | Sample] = []
    for n, (_, body) in enumerate(attempts):
        until = attempts[n + 1][0].start_step if n + 1 < len(attempts) else None
        kept += [e for e in body if _before(e, until)]
    first, last = attempts[0][0], attempts[-1][0]
    ends = [e for e in events if isinstance(e, ev.END_EVENTS)]
    return [dataclasses.replace(first, config=last.config, epochs=last.epochs), *kept, *ends[-1:]]


def _before(item: ev.Event | Sample, until: int | None) -> bool:
    """A step, an epoch or a sample at or before step ``until`` (None: any)."""
    if isinstance(item, dict):
        step = item.get("step")
        return isinstance(step, int) and (until is None or step <= until)
    return isinstance(item, ev.Step | ev.EpochEnd) and (until is None or item.step <= until)


def _replay(items: list[ev.Event | Sample], writer: Any) -> None:
    try:
        for item in items:
            if isinstance(item, dict):
                writer.add_sample(item)
            else:
                writer(item)
    finally:
        writer.close()


def to_wandb(run: Run, out: Path) -> list[str]:
    """An offline W&B run in ``out/wandb`` (``wandb sync`` uploads it)."""
    from .wandb import WandbWriter

    events = merged(list(run.read_events()[0]))  # no samples: see the module's doc
    config = events[0].config if events and isinstance(events[0], ev.RunStarted) else {}
    project = config.get("log", {}).get("wandb_project", "tui-trainer")  # a run from before it: the default
    writer = WandbWriter(out, project, offline=True, what="--to wandb")
    _replay(events, writer)
    found = writer.run_dir()
    return [str(found.relative_to(out))] if found else []


def mlflow_uri(run: Run, out: str | Path | None) -> str:
    """OUT as MLflow's tracking URI: as given, a path as a SQLite file, by default
    ``RUN/export/mlflow.db``."""
    if out is not None and URI.match(str(out)):
        return str(out)
    path = Path(out) if out is not None else run.dir / "export" / "mlflow.db"
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; --to mlflow takes a tracking URI or a SQLite file")
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.absolute()}"


def to_mlflow(run: Run, uri: str) -> list[str]:
    """An MLflow run at tracking URI ``uri``; refused if it holds this run already."""
    from mlflow.exceptions import MlflowException

    from .mlflow import MlflowWriter

    writer = MlflowWriter(uri, what="--to mlflow", resume=False)
    try:
        _replay(merged(with_samples(run.read_events()[0], read_samples(run.dir))), writer)
    except MlflowException as exc:  # the store refused (a file: store, a bad URI): the user's input
        raise ConfigError(f"--to mlflow {uri}: {str(exc).strip().splitlines()[0]}") from exc
    return [f"MLflow run {run.id}"] if writer.client is not None else []


WRITERS: dict[str, Callable[[Run, Path], list[str]]] = {
    "csv": to_csv,
    "tensorboard": to_tensorboard,
    "wandb": to_wandb,
}


def default_out(run: Run, to: str) -> Path:
    return run.dir / "export" / to


def export(run: Run, to: str, out: str | Path | None = None) -> tuple[Path | str, list[str]]:
    """Write the run in format ``to`` into ``out`` (default: ``RUN/export/FORMAT``);
    returns the folder (MLflow: the tracking URI) and what was written. Bad input, a
    missing extra included, is a one-line ConfigError."""
    if to not in FORMATS:
        raise ConfigError(f"--to: unknown format {to!r}; allowed: {', '.join(FORMATS)}")
    if to in EXTRAS:
        require(to, f"--to {to}")
    if to == "mlflow":
        uri = mlflow_uri(run, out)
        return uri, to_mlflow(run, uri)
    return _to_folder(run, to, Path(out) if out is not None else default_out(run, to))


def _to_folder(run: Run, to: str, out: Path) -> tuple[Path | str, list[str]]:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out}: exists and is not an empty folder; give another OUT or remove it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        names = WRITERS[to](run, tmp)
        if out.exists():
            out.rmdir()  # empty (checked above): the rename takes its place
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out, names
