"""The metrics pane's min/max bucket downsampler: a spike is never averaged away."""

from __future__ import annotations

import numpy as np

from tui_trainer.app.widgets.metrics import minmax_buckets


def test_a_single_spike_among_10000_points_survives_at_any_width():
    rng = np.random.default_rng(0)
    y = 1.0 + 0.01 * rng.standard_normal(10_000)
    y[6_789] = 50.0
    dip = 4_321
    y[dip] = -50.0
    x = np.arange(10_000, dtype=float)
    for width in range(1, 400):
        xs, ys = minmax_buckets(x, y, width)
        assert len(xs) <= 2 * width
        assert 50.0 in ys and -50.0 in ys, width
        assert 6_789.0 in xs and float(dip) in xs
        assert np.all(np.diff(xs) > 0), "in x order, no point twice"


def test_few_points_are_kept_as_they_are_and_non_finite_ones_dropped():
    xs, ys = minmax_buckets([1, 2, 3, 4], [1.0, float("nan"), 3.0, float("inf")], 10)
    assert xs.tolist() == [1.0, 3.0] and ys.tolist() == [1.0, 3.0]
    xs, ys = minmax_buckets([], [], 5)
    assert len(xs) == 0
