"""The embedded digits: read without importing scikit-learn, split exactly as
scikit-learn's ``train_test_split(stratify=...)`` splits them (so a digits run's test set
is the one it always was), and scikit-learn's loader where its file is not found."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits as sklearn_load_digits
from sklearn.model_selection import train_test_split

from tui_trainer.config import DataConfig
from tui_trainer.data import builtin


def sklearn_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(len(labels))
    train, test = train_test_split(idx, test_size=fraction, stratify=labels, random_state=seed)
    return np.sort(train), np.sort(test)


def test_the_digits_are_scikit_learns_and_the_split_is_its_split():
    bunch = sklearn_load_digits()
    raw = builtin.load_digits(DataConfig(dataset="digits"), cache=None, log=print)  # type: ignore[arg-type]
    train, test = sklearn_split(bunch.target, builtin.DIGITS_TEST_FRACTION, builtin.DIGITS_SEED)
    images = torch.from_numpy(np.rint(bunch.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)).unsqueeze(1)
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    assert torch.equal(raw.train_x, images[train]) and torch.equal(raw.train_y, labels[train])
    assert torch.equal(raw.test_x, images[test]) and torch.equal(raw.test_y, labels[test])


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=2, max_value=40), min_size=2, max_size=8),
    fraction=st.sampled_from([0.1, 0.2, 0.25, 0.33, 0.5]),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
    order_seed=st.integers(min_value=0, max_value=1000),
)
def test_the_split_equals_scikit_learns_for_any_labels(counts, fraction, seed, order_seed):
    labels = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(order_seed).shuffle(labels)
    n_test = int(np.ceil(fraction * len(labels)))
    if n_test < len(counts) or len(labels) - n_test < len(counts):
        return  # scikit-learn refuses these; the digits never are one
    ours = builtin.stratified_split(labels, fraction, seed)
    theirs = sklearn_split(labels, fraction, seed)
    assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1])


def test_without_the_file_scikit_learns_loader_gives_the_same_digits(monkeypatch):
    found = builtin.load_digits(DataConfig(dataset="digits"), cache=None, log=print)  # type: ignore[arg-type]
    monkeypatch.setattr(builtin, "digits_file", lambda: None)
    fallback = builtin.load_digits(DataConfig(dataset="digits"), cache=None, log=print)  # type: ignore[arg-type]
    assert torch.equal(found.train_x, fallback.train_x) and torch.equal(found.test_y, fallback.test_y)


def test_loading_the_digits_does_not_import_scikit_learn():
    code = (
        "import sys; from tui_trainer.data import load_data; from tui_trainer.config import DataConfig; "
        "d = load_data(DataConfig(dataset='digits'), log=lambda s: None); "
        "print(len(d.train_y), len(d.test_y), 'sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["1437", "360", "False"]
