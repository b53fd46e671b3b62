"""The run's numbers as trackers take them: (tag, value, step) scalars, one mapping.

Every exporter and live subscriber (TensorBoard, CSV, W&B, MLflow) names a run's
figures the same way, from the same events, so a curve in one tool is the curve in
another and in the app. The x axis is the global step (1-based, after that step), as
TensorBoard and W&B expect; an epoch's figures sit at the step its epoch ended on.

System samples (``system.jsonl``, :mod:`..system.sampler`) are scalars too
(:func:`system_scalars`), at the step each was taken at: ``system/gpu0/...`` for the
first GPU of the sample's list (the run's local GPUs in rank order), the host's CPU and
memory and the process's RSS. The share of time spent preparing batches is a Step
figure (``system/data_share``, beside them), not a sample's: the samples' copy of it
is the latest Step's, and would only repeat it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .. import events as ev


@dataclass(frozen=True)
class Scalar:
    tag: str
    value: float
    step: int
    time: float  # wall-clock seconds since the epoch, when the event was made


STEP_TAGS = {
    "loss": "train/loss",
    "lr": "train/lr",
    "grad_norm": "train/grad_norm",  # None in event files from before it
    "images_per_s": "train/images_per_s",
    "data_share": "system/data_share",  # 0..1; None in event files from before it
}
EPOCH_TAGS = {
    "train_loss": "epoch/train_loss",
    "train_acc": "epoch/train_acc",
    "test_loss": "epoch/test_loss",
    "test_acc": "epoch/test_acc",
    "seconds": "epoch/seconds",
    "images_per_s": "epoch/images_per_s",
}


def scalars(event: ev.Event) -> Iterator[Scalar]:
    """The scalars an event carries (none for most kinds)."""
    if isinstance(event, ev.Step):
        fields, step = STEP_TAGS, event.step
    elif isinstance(event, ev.EpochEnd):
        fields, step = EPOCH_TAGS, event.step
        yield Scalar("epoch/epoch", float(event.epoch), step, event.time)
    else:
        return
    for name, tag in fields.items():
        value = getattr(event, name)
        if value is not None:
            yield Scalar(tag, float(value), step, event.time)


GIB = 1024**3
SYSTEM_TAGS = {  # a sample's own figures: (tag, factor to its unit)
    "cpu_percent": ("system/cpu_pct", 1.0),  # the host's, all cores: 0..100
    "ram_used": ("system/ram_used_gib", 1 / GIB),  # the host's
    "rss": ("system/rss_gib", 1 / GIB),  # the training process's resident memory
}
GPU_TAGS = {  # each GPU's, as system/gpu{i}/{name}: (name, factor)
    "utilisation": ("utilisation_pct", 1.0),
    "memory_used": ("memory_used_gib", 1 / GIB),
    "power_w": ("power_w", 1.0),
    "temperature_c": ("temperature_c", 1.0),
}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def system_scalars(sample: dict[str, Any]) -> Iterator[Scalar]:
    """The scalars of a system.jsonl sample, at its ``step`` and ``time``; none for a
    line without them (the sampler's error line; an old sample has no step: the
    export gives it one). A figure the sample lacks is left out."""
    step, when = sample.get("step"), _number(sample.get("time"))
    if not isinstance(step, int) or isinstance(step, bool) or when is None:
        return
    figures = [(tag, factor, sample.get(name)) for name, (tag, factor) in SYSTEM_TAGS.items()]
    gpus = sample.get("gpus")
    for i, gpu in enumerate(gpus if isinstance(gpus, list) else []):
        if isinstance(gpu, dict):
            figures += [(f"system/gpu{i}/{tag}", factor, gpu.get(name)) for name, (tag, factor) in GPU_TAGS.items()]
    for tag, factor, raw in figures:
        value = _number(raw)
        if value is not None:
            yield Scalar(tag, value * factor, step, when)


def hparams(config: dict[str, Any]) -> dict[str, bool | str | float | int]:
    """A run's config flattened to TensorBoard's and MLflow's hyperparameters: dotted
    keys, lists and None as text (neither tool takes them as values)."""
    flat: dict[str, bool | str | float | int] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, bool | int | float | str):
            flat[prefix] = value
        else:
            flat[prefix] = "none" if value is None else str(value)

    walk("", config)
    return flat
