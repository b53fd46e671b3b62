"""The run's numbers as trackers take them: (tag, value, step) scalars, one mapping.

Every exporter and live subscriber (TensorBoard, CSV, W&B, MLflow) names a run's
figures the same way, from the same events, so a curve in one tool is the curve in
another and in the app. The x axis is the global step (1-based, after that step), as
TensorBoard and W&B expect; an epoch's figures sit at the step its epoch ended on.
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
