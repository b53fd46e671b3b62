"""The test set's loss and accuracy at an epoch's end.

With the EMA weights when the recipe keeps an average, and test-time augmentation
when configured (:mod:`.tta`, the same views `tui-trainer eval` uses). The sums stay
on the device until the one readback at the end; for the distributed engine, each rank
evaluates its shard of the test set and these sums are all-reduced before that
readback (every rank evaluates at the same point: an epoch's end).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .setup import TrainingParts
from .tta import predict


@torch.inference_mode()
def evaluate(parts: TrainingParts) -> tuple[float, float]:
    """(mean test loss, test accuracy in %); NaN for both on an empty test set."""
    model = parts.eval_model
    cfg = parts.config
    for buffer in model.buffers() if parts.world.distributed else ():
        # BatchNorm's running statistics are each rank's own (DDP sends rank 0's at each
        # forward, then every rank updates them on its images): evaluate the weights and
        # statistics that rank 0 saves, so the accuracy reported is its checkpoint's.
        parts.world.broadcast(buffer)
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=parts.device)
    correct = torch.zeros((), device=parts.device)
    n = 0
    for x, y in parts.data.test_batches(cfg.data.eval_batch_size, parts.shard):
        with parts.autocast():
            logits = predict(model, x, cfg.train.tta_flip, cfg.train.tta_translate)
        loss_sum += F.cross_entropy(logits.float(), y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
        n += y.shape[0]
    model.train(was_training)
    sums = torch.stack([loss_sum.double(), correct.double(), torch.tensor(n, dtype=torch.float64, device=parts.device)])
    loss, hits, total = parts.world.all_sum(sums).tolist()
    if total == 0:
        return math.nan, math.nan
    return loss / total, 100.0 * hits / total
