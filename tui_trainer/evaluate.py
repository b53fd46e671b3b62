"""Evaluating a saved checkpoint on its data set's test split: per class, the confusion
matrix, and the test images misclassified most confidently.

Everything is counted on the device while the batches go by (one bincount a batch for the
matrix, a running top-k for the misclassified images): the host reads the figures once,
at the end, as it did for the per-class counts alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
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


MISCLASSIFIED = 8  # the most confidently misclassified images kept (the app draws them)
WORST = 10  # the worst confusions listed (the app and `eval`'s text)


@dataclass
class Misclassified:
    index: int  # in the test set, in its order (the data set's own)
    true: str
    predicted: str
    confidence: float  # the predicted class's softmax probability, in percent


@dataclass
class Confusion:
    true: str
    predicted: str
    count: int
    share: float  # of the true class's test images, in percent


@dataclass
class EvalResult:
    checkpoint: str
    epoch: int  # epochs done
    loss: float
    acc: float
    classes: list[ClassResult]
    epoch_step: int = 0  # steps done in the epoch after them (a mid-epoch checkpoint's)
    confusion: list[list[int]] = field(default_factory=list)  # rows: the true class, columns: predicted
    misclassified: list[Misclassified] = field(default_factory=list)  # the most confident first
    # The misclassified images, uint8 [C, H, W] on the CPU, as the data set holds them: for
    # the app to draw; not in the JSON.
    images: list[torch.Tensor] = field(default_factory=list, repr=False)

    def worst_confusions(self, limit: int = WORST) -> list[Confusion]:
        """The largest off-diagonal counts of the matrix, largest first; a tie goes to the
        larger share of its true class, then to the order of the classes."""
        names = [c.name for c in self.classes]
        cells = [
            Confusion(names[t], names[p], count, 100.0 * count / sum(row))
            for t, row in enumerate(self.confusion)
            for p, count in enumerate(row)
            if t != p and count
        ]
        return sorted(cells, key=lambda c: (-c.count, -c.share))[:limit]

    def where(self) -> str:
        """The checkpoint's position, as its file name and the panes say it: "epoch 2" at
        the end of epoch 2, "epoch 3, step 13" inside epoch 3."""
        if self.epoch_step:
            return fmt.position(self.epoch + 1, self.epoch_step)
        return f"epoch {fmt.number(self.epoch)}"

    def to_json(self) -> dict[str, Any]:
        """Plain data for `eval --json`, each class with its accuracy."""
        plain = asdict(replace(self, images=[]))  # not a deep copy of the images
        del plain["images"]
        return {
            **plain,
            "classes": [{**asdict(c), "acc": c.acc} for c in self.classes],
            "worst_confusions": [asdict(c) for c in self.worst_confusions()],
        }


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
    confusion, loss_sum, worst = _count(model, device_data, config, n)
    total = confusion.sum(1)
    count = int(total.sum())
    if count == 0:
        raise CheckpointError(f"{path}: the test split of {config.data.dataset} is empty")
    names = list(state.get("classes") or data.info.classes)
    correct = confusion.diagonal()
    classes = [ClassResult(names[i], int(correct[i]), int(total[i])) for i in range(n)]
    misclassified = _misclassified(worst, names)
    return EvalResult(
        checkpoint=state["path"],
        epoch=int(state["epoch"]),
        epoch_step=int(state.get("batch_in_epoch") or 0),
        loss=float(loss_sum) / count,
        acc=100.0 * int(correct.sum()) / count,
        classes=classes,
        confusion=confusion.tolist(),
        misclassified=misclassified,
        images=[data.test_x[m.index].clone() for m in misclassified],
    )


def _count(
    model: torch.nn.Module, data: DeviceData, config: RunConfig, n: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The confusion matrix ``[n, n]`` (rows: the true class), the summed loss and the
    running top-k of the misclassified images, all still on the device: nothing in the
    loop waits for the GPU."""
    dev = data.device
    confusion = torch.zeros(n * n, dtype=torch.long, device=dev)
    loss_sum = torch.zeros((), device=dev)
    worst = torch.empty(4, 0, device=dev)  # rows: confidence, index, true, predicted
    first = 0
    for x, y in data.test_batches(config.data.eval_batch_size):
        logits = predict(model, x, config.train.tta_flip, config.train.tta_translate).float()
        loss_sum += F.cross_entropy(logits, y, reduction="sum")
        confidence, pred = logits.softmax(1).max(1)
        confusion += torch.bincount(y * n + pred, minlength=n * n)
        worst = _keep_worst(worst, confidence, pred, y, first)
        first += len(y)  # a shape: known without a sync
    return confusion.view(n, n), loss_sum, worst


def _keep_worst(
    worst: torch.Tensor, confidence: torch.Tensor, pred: torch.Tensor, y: torch.Tensor, first: int
) -> torch.Tensor:
    """The ``MISCLASSIFIED`` most confident wrong predictions among ``worst`` and this
    batch; a right one gets confidence -1, so that it is only kept while too few are wrong
    (and dropped at the end). Indices and classes ride as floats: exact below 2**24."""
    index = torch.arange(first, first + len(y), device=y.device)
    rows = torch.stack([confidence.masked_fill(pred == y, -1.0), index.float(), y.float(), pred.float()])
    both = torch.cat([worst, rows], 1)
    top = both[0].topk(min(MISCLASSIFIED, both.shape[1])).indices
    return both[:, top]


def _misclassified(worst: torch.Tensor, names: list[str]) -> list[Misclassified]:
    return [Misclassified(int(i), names[int(t)], names[int(p)], 100.0 * c) for c, i, t, p in worst.T.tolist() if c >= 0]
