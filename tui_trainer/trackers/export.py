"""`tui-trainer export RUN --to FORMAT [OUT]`: a past run's figures for other tools.

Any run folder works, including runs from before the trackers existed: CSV is made
from ``metrics.jsonl`` (one line an epoch and the step lines, de-duplicated as a
resume leaves them), TensorBoard by replaying ``events.jsonl`` through the writer a
live run uses (:mod:`.tensorboard`), so an export and a live run's files are the same.
The output is written into a temporary folder beside ``OUT`` and renamed into place
when complete: an interrupted export leaves nothing that looks finished.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..runs import METRICS, Run

FORMATS = ("csv", "tensorboard")
STEP_COLUMNS = ("step", "epoch", "batch", "batches", "loss", "lr", "images_per_s", "time")
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


def to_csv(run: Run, out: Path) -> list[str]:
    """``steps.csv`` and ``epochs.csv`` in ``out``; returns the names written."""
    steps, epochs = history(run)
    for name, rows, columns in (("steps.csv", steps, STEP_COLUMNS), ("epochs.csv", epochs, EPOCH_COLUMNS)):
        with open(out / name, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    return ["steps.csv", "epochs.csv"]


def to_tensorboard(run: Run, out: Path) -> list[str]:
    from .tensorboard import replay

    replay(run.read_events()[0], out)
    return sorted(p.name for p in out.iterdir())


WRITERS: dict[str, Callable[[Run, Path], list[str]]] = {"csv": to_csv, "tensorboard": to_tensorboard}


def default_out(run: Run, to: str) -> Path:
    return run.dir / "export" / to


def export(run: Run, to: str, out: Path | None = None) -> tuple[Path, list[str]]:
    """Write the run in format ``to`` into ``out`` (default: ``RUN/export/FORMAT``);
    returns the folder and the files written. Bad input is a one-line ConfigError."""
    if to not in WRITERS:
        raise ConfigError(f"--to: unknown format {to!r}; allowed: {', '.join(FORMATS)}")
    out = out if out is not None else default_out(run, to)
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
