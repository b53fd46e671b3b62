"""Test-time augmentation: the logits of a batch averaged over simple views of it.

One function for the trainer's evaluation and `tui-trainer eval`, so a checkpoint
evaluates the way its run did. The views follow airbench's "TTA level 2": the images
and their mirror images (``flip``), and, with ``translate``, the same for the images
shifted by one pixel up-left and down-right (reflect-padded), weighted so that the
unshifted views count half.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def predict(model: nn.Module, x: torch.Tensor, flip: bool = False, translate: bool = False) -> torch.Tensor:
    """Logits of ``model`` for the batch ``x`` ``[N, C, H, W]``, averaged over the views."""
    logits = _maybe_mirrored(model, x, flip)
    if not translate:
        return logits
    h, w = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
    up_left, down_right = padded[..., :h, :w], padded[..., 2:, 2:]
    shifted = _maybe_mirrored(model, up_left, flip) + _maybe_mirrored(model, down_right, flip)
    return 0.5 * logits + 0.25 * shifted


def _maybe_mirrored(model: nn.Module, x: torch.Tensor, flip: bool) -> torch.Tensor:
    logits: torch.Tensor = model(x)
    if not flip:
        return logits
    mirrored: torch.Tensor = model(x.flip(-1))
    return 0.5 * (logits + mirrored)
