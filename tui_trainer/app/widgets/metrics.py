"""The metrics pane's data side (issue 20): step-level series downsampled for a plot.

A plot of a long run has far more points than dots across: averaging them into columns
would hide a loss spike or a gradient-norm blow-up, the very thing worth seeing. So
each bucket of points keeps its lowest and its highest, in their order: a spike
survives at any width.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def minmax_buckets(x: ArrayLike, y: ArrayLike, buckets: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """At most ``2 * buckets`` of the points (x in order): split into ``buckets`` runs of
    equal length (the last shorter), each keeps its minimum and maximum in x order.
    Non-finite values are dropped first (they have no place on a scale)."""
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    n, buckets = len(ys), max(1, buckets)
    if n <= 2 * buckets:
        return xs, ys
    size = -(-n // buckets)  # points a bucket
    rows = -(-n // size)
    padded = np.full(rows * size, np.nan)
    padded[:n] = ys
    grid = padded.reshape(rows, size)  # only the last row has padding, and a real value
    base = np.arange(rows) * size
    lo, hi = np.nanargmin(grid, axis=1) + base, np.nanargmax(grid, axis=1) + base
    index = np.unique(np.concatenate([lo, hi]))  # sorted: each bucket's two in x order
    return xs[index], ys[index]
