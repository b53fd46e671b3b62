"""The engine's device-side running totals: sums, windows and the first non-finite step,
across the folds of a full buffer."""

from __future__ import annotations

import math

import torch

from tui_trainer.engine.totals import StepTotals


def batch(loss: float, n: int, correct: int, classes: int = 3):
    """A step's (loss, logits, labels) with ``correct`` of ``n`` predictions right."""
    y = torch.zeros(n, dtype=torch.int64)
    logits = torch.zeros(n, classes)
    logits[:correct, 0] = 1.0  # argmax 0: right
    logits[correct:, 1] = 1.0  # argmax 1: wrong
    return torch.tensor(loss), logits, y


def test_sums_and_windows_across_folds():
    t = StepTotals(torch.device("cpu"), loss_sum=10.0, correct=4.0, seen=8, step=100, capacity=3)
    steps = [(0.5, 4, 1), (1.0, 4, 4), (2.0, 2, 0), (0.25, 4, 2), (1.5, 3, 3)]  # 5 steps: one fold on the way
    for loss, n, c in steps[:4]:
        t.add(*batch(loss, n, c))
    assert t.window_mean() == (0.5 * 4 + 1.0 * 4 + 2.0 * 2 + 0.25 * 4) / 14
    t.add(*batch(*steps[4]))
    assert t.window_n == 3 and t.window_mean() == 1.5 and t.window_n == 0
    loss_sum, correct, seen = t.epoch_totals()
    assert math.isclose(loss_sum, 10.0 + sum(l * n for l, n, _ in steps))
    assert correct == 4 + sum(c for _, _, c in steps) and seen == 8 + sum(n for _, n, _ in steps)
    assert t.nonfinite_step() == -1


def test_first_nonfinite_step_is_kept_across_folds():
    t = StepTotals(torch.device("cpu"), step=10, capacity=4)
    for loss in [1.0] * 5 + [float("nan"), 1.0, float("inf")] + [1.0] * 3:
        t.add(*batch(loss, 2, 1))
    assert t.nonfinite_step() == 16  # global steps 11.. : the NaN was the sixth
    t.add(*batch(float("inf"), 2, 1))
    assert t.nonfinite_step() == 16  # a later one does not replace it
    fresh = StepTotals(torch.device("cpu"), step=0, capacity=4)
    fresh.add(*batch(float("-inf"), 2, 1))
    assert fresh.nonfinite_step() == 1


def test_the_gradient_norm_is_the_window_s_mean_of_its_finite_steps():
    """Read back with the loss (one sync); fp16's skipped steps (an inf norm) and steps
    without a norm are left out; a window without any says None."""
    t = StepTotals(torch.device("cpu"), capacity=3)
    for norm in (1.0, 2.0, float("inf"), 6.0):  # a fold on the way
        t.add(*batch(0.5, 2, 1), torch.tensor(norm))
    t.add(*batch(0.5, 2, 1))  # no norm
    loss, grad_norm = t.window()
    assert loss == 0.5 and grad_norm == 3.0
    t.add(*batch(0.5, 2, 1), torch.tensor(float("nan")))
    assert t.window() == (0.5, None)
    assert t.window() == (0.0, None)  # an empty window


def test_the_reported_rate_is_smoothed_over_the_last_seconds_of_training():
    """Issue 19: the header's images/s swung between 104 and 3,859 on one run (one short
    window, e.g. the first batches of an epoch, set it alone)."""
    from tui_trainer.engine.loop import RateMeter

    meter = RateMeter(span=3.0)
    assert meter.add(1000, 0.25) == 4000
    for _ in range(11):
        meter.add(1000, 0.25)
    assert meter.add(10, 0.25) == (11 * 1000 + 10) / 3.0  # a slow window moves it a little only
    for _ in range(12):  # three seconds later, the old windows are gone
        rate = meter.add(500, 0.25)
    assert rate == 2000 and len(meter.windows) == 12
    assert meter.add(9000, 3.0) == 3000  # a window of the whole span stands alone
