"""Data sets, loaded once into uint8 tensors.

Every loader returns an :class:`ImageData`: the whole training and test sets as uint8
``[N, C, H, W]`` CPU tensors plus int64 labels, the class names and the per-channel mean
and std of the training images. Nothing is decoded per step: training moves these
tensors to the device once (see :mod:`.batches`).

Data sets (``data.dataset``):

``cifar10``, ``cifar100``, ``mnist``, ``fashion_mnist``, ``svhn``
    torchvision's files, read from ``data.root`` (the folder torchvision would be given;
    pointing at the data set's own folder inside it works too) or ``<cache>/torchvision``.
    They are downloaded only with ``data.download = true``. The arrays torchvision loads
    are converted to tensors directly, and cached (see :mod:`.cache`).
``imagefolder``
    ``data.root`` is a folder holding ``train/<class>/<image>`` and ``test/<class>/<image>``
    (or ``val/`` instead of ``test/``), possibly inside a single top-level folder, or a
    ``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.xz``, ``.tar.bz2`` or ``.zip`` archive of one.
    Archives are extracted safely into the cache; images are decoded once with PIL
    (in a thread pool) and cached as tensors. Classes are the sorted subfolder names.
    Images are RGB, or grayscale if every image is; ``data.image_size`` resizes them
    (shorter side, then a centre crop to a square), otherwise they must all be the same
    square size.
``digits``
    scikit-learn's 8x8 handwritten digits (1,797 images, shipped with scikit-learn, no
    download), scaled from 0..16 to 0..255, split 80/20 stratified by class with a fixed
    seed: 1,437 train / 360 test.
``synthetic``
    Generated, deterministic (fixed seed :data:`.builtin.SYNTHETIC_SEED`) and learnable: each class
    is a smooth random pattern, each image its class's pattern plus Gaussian noise (std
    :data:`.builtin.SYNTHETIC_NOISE` on the 0..255 scale). ``synthetic_size`` training images and
    ``max(synthetic_size // 4, 10 * synthetic_classes)`` test images, classes balanced
    (labels cycle through the classes, then are shuffled).

For every data set ``data.image_size`` resizes (antialiased bilinear) and
``data.train_limit`` / ``data.test_limit`` keep N images, the classes' first ones in turn
(so a limit keeps the classes balanced where it can). The mean and std are
those of the training images that are kept, after resizing.

The loaders live in :mod:`.builtin` (digits, synthetic), :mod:`.torchvision_sets` and
:mod:`.imagefolder` (with :mod:`.archives`); what they share in :mod:`.raw`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from .. import format as fmt
from ..config import DATASETS, DataConfig
from ..errors import DataError
from ..paths import cache_dir
from .builtin import load_digits, load_synthetic
from .imagefolder import load_imagefolder
from .raw import ImageData, LoadCancelled, Log, Raw, nolog, resize_images
from .torchvision_sets import TORCHVISION, load_torchvision

__all__ = ["DATASETS", "ImageData", "LoadCancelled", "channel_stats", "load_data", "resize_images"]


def load_data(cfg: DataConfig, cache: Path | None = None, log: Log = nolog) -> ImageData:
    """Load ``cfg.dataset`` (one of ``config.DATASETS``: the config has checked it) as
    uint8 tensors, decoding and caching it the first time."""
    cache = Path(cache) if cache is not None else cache_dir()
    raw = _LOADERS[cfg.dataset](cfg, cache, log)

    train_x, train_y = _limit(raw.train_x, raw.train_y, cfg.train_limit)
    test_x, test_y = _limit(raw.test_x, raw.test_y, cfg.test_limit)
    if cfg.image_size is not None:
        train_x = resize_images(train_x, cfg.image_size)
        test_x = resize_images(test_x, cfg.image_size)
    _check_labels(cfg.dataset, train_y, test_y, len(raw.classes))
    mean, std = channel_stats(train_x)
    source = (
        f"{cfg.dataset}: {fmt.number(train_x.shape[0])} train / {fmt.number(test_x.shape[0])} test "
        f"{train_x.shape[2]}x{train_x.shape[3]}x{train_x.shape[1]} images in {len(raw.classes)} classes "
        f"{raw.where} ({raw.how})"
    )
    log(source)
    return ImageData(
        train_x=train_x.contiguous(),
        train_y=train_y.contiguous(),
        test_x=test_x.contiguous(),
        test_y=test_y.contiguous(),
        classes=tuple(raw.classes),
        mean=mean,
        std=std,
        source=source,
    )


def _limit(x: torch.Tensor, y: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images, taken from the classes in turn: the first image of each class, then
    the second of each, and so on, kept in their original order. The first ``n`` alone
    would be one class where a set is stored class by class (an image folder)."""
    if n and n < x.shape[0]:
        # Each image's rank within its class, in the set's order.
        order = torch.argsort(y, stable=True)
        sorted_y = y[order]
        starts = torch.searchsorted(sorted_y, sorted_y, right=False)
        rank = torch.empty_like(y)
        rank[order] = torch.arange(y.shape[0], dtype=y.dtype) - starts
        # Round by round (rank), each round in class order; then back to the set's order.
        keep = torch.argsort(rank * (int(y.max()) + 1) + y, stable=True)[:n].sort().values
        return x[keep], y[keep]  # indexing copies: the rest of the full set can be freed
    return x, y


def _check_labels(name: str, train_y: torch.Tensor, test_y: torch.Tensor, num_classes: int) -> None:
    for split, y in (("train", train_y), ("test", test_y)):
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
            raise DataError(
                f"{name}: {split} labels fall outside 0..{num_classes - 1}; the data set files look corrupt"
            )
    if train_y.numel() == 0 or test_y.numel() == 0:
        raise DataError(f"{name}: the {'train' if train_y.numel() == 0 else 'test'} split is empty")


# -- statistics ---------------------------------------------------------------------------


def channel_stats(x: torch.Tensor, chunk: int = 1 << 26) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Exact per-channel mean and (population) std of uint8 images, on the 0..1 scale."""
    n, c = x.shape[0], x.shape[1]
    per_image = max(1, x[0].numel() // c) if n else 1
    step = max(1, chunk // per_image)
    counts = torch.zeros(c, 256, dtype=torch.int64)
    for ch in range(c):
        for i in range(0, n, step):
            counts[ch] += torch.bincount(x[i : i + step, ch].reshape(-1), minlength=256)
    values = torch.arange(256, dtype=torch.float64) / 255.0
    total = counts.sum(dim=1).to(torch.float64)
    mean = (counts * values).sum(dim=1) / total
    var = (counts * (values - mean[:, None]) ** 2).sum(dim=1) / total
    std = var.sqrt()
    return (
        tuple(float(m) for m in mean),
        tuple(float(s) if s > 1e-12 else 1.0 for s in std),
    )


#: A loader for each of ``config.DATASETS`` (the names are the config's: one list).
_LOADERS: dict[str, Callable[[DataConfig, Path, Log], Raw]] = {
    **{name: load_torchvision for name in TORCHVISION},
    "imagefolder": load_imagefolder,
    "digits": load_digits,
    "synthetic": load_synthetic,
}
