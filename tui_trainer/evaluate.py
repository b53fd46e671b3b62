"""Evaluating a saved checkpoint on its data set's test split, per class."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from . import format as fmt
from .checkpoints import load_checkpoint, weights_mismatch
from .config import RunConfig
from .data import DeviceData, load_data
from .engine.device import resolve_device
from .engine.tta import predict
from .errors import CheckpointError
from .models import build_model


@dataclass
class ClassResult:
    name: str
    correct: int
    total: int

    @property
    def acc(self) -> float:
        return 100.0 * self.correct / self.total if self.total else float("nan")


@dataclass
class EvalResult:
    checkpoint: str
    epoch: int  # epochs done
    loss: float
    acc: float
    classes: list[ClassResult]
    epoch_step: int = 0  # steps done in the epoch after them (a mid-epoch checkpoint's)

    def where(self) -> str:
        """The checkpoint's position, as its file name and the panes say it: "epoch 2" at
        the end of epoch 2, "epoch 3, step 13" inside epoch 3."""
        if self.epoch_step:
            return fmt.position(self.epoch + 1, self.epoch_step)
        return f"epoch {fmt.number(self.epoch)}"

    def to_json(self) -> dict[str, Any]:
        """Plain data for `eval --json`, each class with its accuracy."""
        return {**asdict(self), "classes": [{**asdict(c), "acc": c.acc} for c in self.classes]}


@torch.inference_mode()
def evaluate_checkpoint(
    path: str | Path, overrides: Sequence[str] = (), device: str = "auto", cache_dir: Path | None = None
) -> EvalResult:
    state = load_checkpoint(path)
    config = RunConfig.from_dict(state["config"], name=state.get("preset", "checkpoint")).with_overrides(
        list(overrides)
    )
    dev = resolve_device(device, what="--device")
    data = load_data(config.data, cache_dir)
    model = build_model(config.model, data.info)
    weights = state.get("ema") or state["model"]
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        info = data.info
        raise CheckpointError(
            f"{path}: weights do not fit model {config.model.arch} on this data ({info.shape_text()}): "
            f"{weights_mismatch(exc)}"
        ) from None
    model.to(dev).eval()
    device_data = DeviceData(data, dev, config.data)
    n = len(data.info.classes)
    correct = torch.zeros(n, dtype=torch.long, device=dev)
    total = torch.zeros(n, dtype=torch.long, device=dev)
    loss_sum = torch.zeros((), device=dev)
    for x, y in device_data.test_batches(config.data.eval_batch_size):
        logits = predict(model, x, config.train.tta_flip, config.train.tta_translate)
        loss_sum += F.cross_entropy(logits.float(), y, reduction="sum")
        total += torch.bincount(y, minlength=n)
        correct += torch.bincount(y[logits.argmax(1) == y], minlength=n)
    count = int(total.sum())
    if count == 0:
        raise CheckpointError(f"{path}: the test split of {config.data.dataset} is empty")
    names = list(state.get("classes") or data.info.classes)
    classes = [ClassResult(names[i], int(correct[i]), int(total[i])) for i in range(n)]
    return EvalResult(
        checkpoint=state["path"],
        epoch=int(state["epoch"]),
        epoch_step=int(state.get("batch_in_epoch") or 0),
        loss=float(loss_sum) / count,
        acc=100.0 * int(correct.sum()) / count,
        classes=classes,
    )
