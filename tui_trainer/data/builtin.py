"""The data sets built in: scikit-learn's handwritten digits (the offline default) and
generated, learnable synthetic images (for tests and benchmarks).

The digits are the file scikit-learn ships (``sklearn/datasets/data/digits.csv.gz``),
read with numpy, and split with scikit-learn's stratified split re-done here in numpy
(:func:`stratified_split`): importing scikit-learn costs about a second, which every
start of the default preset paid, and every rank of a distributed run. The split is
checked against ``sklearn.model_selection.train_test_split`` in the tests, so the test
set of a digits run is the one it always was. Where the file is not found (a
scikit-learn laid out differently), scikit-learn's own loader reads it.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
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
    pixels, labels = read_digits()
    images = np.rint(pixels * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)  # [N, 8, 8]
    train_idx, test_idx = stratified_split(labels, DIGITS_TEST_FRACTION, DIGITS_SEED)
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


def digits_file() -> Path | None:
    """scikit-learn's digits file, found without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


def read_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits as ``[N, 8, 8]`` float pixels (0-16) and int64 labels."""
    path = digits_file()
    if path is None:
        from sklearn.datasets import load_digits as sklearn_load_digits

        bunch = sklearn_load_digits()
        return bunch.images, bunch.target.astype(np.int64)
    with gzip.open(path, mode="rt", encoding="utf-8") as f:
        table = np.loadtxt(f, delimiter=",")
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The sorted train and test indices that scikit-learn's
    ``train_test_split(idx, test_size=test_fraction, stratify=labels, random_state=seed)``
    picks (its StratifiedShuffleSplit, step for step: the same random draws in the same
    order, so the same images)."""
    n_test = math.ceil(test_fraction * len(labels))
    n_train = len(labels) - n_test
    _, y_indices, class_counts = np.unique(labels, return_inverse=True, return_counts=True)
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    rng = np.random.RandomState(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for i, members in enumerate(class_indices):
        shuffled = members.take(rng.permutation(class_counts[i]), mode="clip")
        train.extend(shuffled[: n_i[i]])
        test.extend(shuffled[n_i[i] : n_i[i] + t_i[i]])
    return np.sort(np.asarray(train, dtype=np.int64)), np.sort(np.asarray(test, dtype=np.int64))


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """How many of ``n_draws`` each class gets: its share rounded down, then one more for
    the classes with the largest remainders, ties broken by ``rng`` (scikit-learn's
    ``_approximate_mode``)."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    remainder = continuous - floored
    for value in np.sort(np.unique(remainder))[::-1]:
        if need_to_add <= 0:
            break
        (tied,) = np.where(remainder == value)
        add_now = min(len(tied), need_to_add)
        floored[rng.choice(tied, size=add_now, replace=False)] += 1
        need_to_add -= add_now
    counts: np.ndarray = floored.astype(int)
    return counts


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
