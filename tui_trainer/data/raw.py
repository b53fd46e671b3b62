"""What the data set loaders share: the loaded data, a loader's raw result, the log
callback and its cancel signal, and the helpers every loader uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .. import format as fmt
from . import cache as tcache
from .availability import LAYOUT_HINT as LAYOUT_HINT  # the image-folder layout (the loaders' errors)
from .info import DataInfo

Log = Callable[[str], None]


def nolog(_: str) -> None:
    pass


class LoadCancelled(BaseException):
    """Raised from a load's ``log`` callback to abandon the load: the callback runs every
    few seconds of a long decode or extraction, which makes it the load's cancel point (a
    thread cannot be killed). A BaseException, so that no ``except Exception`` on the way
    turns it into a data error; what was half written is removed as on any error."""


class SplitSizes:
    """``num_train`` / ``num_test`` of what holds ``train_x`` and ``test_x`` (N first),
    on the host (ImageData) or on the training device (DeviceData)."""

    train_x: torch.Tensor
    test_x: torch.Tensor

    @property
    def num_train(self) -> int:
        return int(self.train_x.shape[0])

    @property
    def num_test(self) -> int:
        return int(self.test_x.shape[0])


@dataclass
class ImageData(SplitSizes):
    """A whole data set in memory: uint8 ``[N, C, H, W]`` images, int64 labels (CPU)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    mean: tuple[float, ...]  # per channel, 0..1 scale, of the training images
    std: tuple[float, ...]
    source: str  # one line for logs

    @property
    def info(self) -> DataInfo:
        return DataInfo(
            channels=int(self.train_x.shape[1]),
            num_classes=len(self.classes),
            image_size=int(self.train_x.shape[-1]),
            classes=tuple(self.classes),
        )


@dataclass
class Raw:
    """What a loader hands back before limits and statistics."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    where: str  # "from /data/cifar", "embedded in scikit-learn", ...
    how: str  # "cache hit", "decoded in 2.1 s, cached", ...


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else "")[:300]


def raw_from_payload(payload: dict[str, Any], where: str, how: str) -> Raw:
    return Raw(
        train_x=payload["train_x"],
        train_y=payload["train_y"],
        test_x=payload["test_x"],
        test_y=payload["test_y"],
        classes=tuple(payload["classes"]),
        where=where,
        how=how,
    )


def save_decoded(path: Path, payload: dict[str, Any], seconds: float, log: Log) -> str:
    if tcache.save_tensors(path, payload, log):
        return f"decoded in {fmt.elapsed(seconds)}, cached"
    return f"decoded in {fmt.elapsed(seconds)}, not cached"


def resize_images(x: torch.Tensor, size: int, chunk: int = 256) -> torch.Tensor:
    """Resize uint8 ``[N, C, H, W]`` images to ``size x size`` (antialiased bilinear); a
    non-square image is centre-cropped to a square first. Unchanged if already that size."""
    n, c, h, w = x.shape
    if h == size and w == size:
        return x
    if h != w:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        x = x[:, :, top : top + side, left : left + side]
    out = torch.empty((n, c, size, size), dtype=torch.uint8)
    for i in range(0, n, chunk):
        xb = x[i : i + chunk].float()
        yb = F.interpolate(xb, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[i : i + chunk] = yb.round_().clamp_(0, 255).to(torch.uint8)
    return out
