"""The data sets built in: scikit-learn's handwritten digits (the offline default) and
generated, learnable synthetic images (for tests and benchmarks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import DataConfig
from .raw import Log, Raw

SYNTHETIC_SEED = 20240917
SYNTHETIC_NOISE = 40.0
DIGITS_SEED = 0
DIGITS_TEST_FRACTION = 0.2


def load_digits(cfg: DataConfig, cache: Path, log: Log) -> Raw:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)  # [N, 8, 8]
    labels = bunch.target.astype(np.int64)
    idx = np.arange(len(labels))
    train_idx, test_idx = train_test_split(
        idx, test_size=DIGITS_TEST_FRACTION, stratify=labels, random_state=DIGITS_SEED
    )
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    x = torch.from_numpy(images).unsqueeze(1)
    y = torch.from_numpy(labels)
    return Raw(
        train_x=x[train_idx].contiguous(),
        train_y=y[train_idx].contiguous(),
        test_x=x[test_idx].contiguous(),
        test_y=y[test_idx].contiguous(),
        classes=tuple(str(i) for i in range(10)),
        where="from scikit-learn's embedded copy",
        how="built in",
    )


# -- synthetic ----------------------------------------------------------------------------


def synthetic_test_size(train_size: int, classes: int) -> int:
    return max(train_size // 4, 10 * classes)


def load_synthetic(cfg: DataConfig, cache: Path, log: Log) -> Raw:
    k, c, s = cfg.synthetic_classes, cfg.synthetic_channels, cfg.synthetic_image
    n_train = cfg.synthetic_size
    n_test = synthetic_test_size(n_train, k)
    g = torch.Generator().manual_seed(SYNTHETIC_SEED)
    # One smooth pattern per class: coarse random values, upsampled, spread over 40..215.
    coarse = torch.rand(k, c, 4, 4, generator=g, dtype=torch.float64)
    templates = F.interpolate(coarse, size=(s, s), mode="bicubic", align_corners=False).clamp_(0, 1) * 175 + 40

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = (torch.arange(n) % k)[torch.randperm(n, generator=g)]
        x = torch.empty((n, c, s, s), dtype=torch.uint8)
        step = max(1, 2**22 // (c * s * s))
        for i in range(0, n, step):
            yb = labels[i : i + step]
            noise = torch.randn((yb.shape[0], c, s, s), generator=g, dtype=torch.float64) * SYNTHETIC_NOISE
            x[i : i + step] = (templates[yb] + noise).round_().clamp_(0, 255).to(torch.uint8)
        return x, labels

    train_x, train_y = make(n_train)
    test_x, test_y = make(n_test)
    return Raw(
        train_x=train_x,
        train_y=train_y,
        test_x=test_x,
        test_y=test_y,
        classes=tuple(f"class_{i}" for i in range(k)),
        where=f"generated (seed {SYNTHETIC_SEED})",
        how="built in",
    )
