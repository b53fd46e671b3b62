"""The loss sparkline's bounded buffer (app/widgets/loss_sparkline.py)."""

from __future__ import annotations

import statistics

import pytest

from tui_trainer.app.widgets.loss_sparkline import HalvingBuffer


def test_halving_buffer_is_bounded_and_keeps_the_mean():
    buf = HalvingBuffer(capacity=64)
    values = [float(i % 10) for i in range(100_000)]
    for v in values:
        buf.append(v)
    assert len(buf) <= 64
    assert buf.total == 100_000
    assert statistics.fmean(buf.points()) == pytest.approx(statistics.fmean(values), rel=0.01)
