"""Evaluating a checkpoint (evaluate.py): the confusion matrix, the worst confusions and
the most confidently misclassified test images, against what the data and the counts say."""

from __future__ import annotations

import json

import torch
from helpers import run_tiny, tiny_config

from tui_trainer.data import load_data
from tui_trainer.evaluate import (
    MISCLASSIFIED,
    ClassResult,
    Confusion,
    EvalResult,
    _keep_worst,
    evaluate_checkpoint,
)


def test_the_matrix_and_the_misclassified_images_agree_with_the_test_set(runs_dir):
    # A learning rate too small to learn: many test images are misclassified.
    config = tiny_config(train={"epochs": 1}, optim={"lr": 1e-6})
    _, run, _, _ = run_tiny(runs_dir, config)
    r = evaluate_checkpoint(run.dir / "checkpoints" / "last.pt", device="cpu")
    data = load_data(config.data)
    matrix = torch.tensor(r.confusion)
    assert matrix.shape == (4, 4) and int(matrix.sum()) == len(data.test_y)
    assert matrix.sum(1).tolist() == torch.bincount(data.test_y, minlength=4).tolist(), "rows: the true class"
    assert matrix.diagonal().tolist() == [c.correct for c in r.classes]
    assert len(r.misclassified) == MISCLASSIFIED == len(r.images)
    confidences = [m.confidence for m in r.misclassified]
    assert confidences == sorted(confidences, reverse=True) and all(0 < c <= 100 for c in confidences)
    names = [c.name for c in r.classes]
    for m, image in zip(r.misclassified, r.images, strict=True):
        assert m.true != m.predicted and names[int(data.test_y[m.index])] == m.true
        assert image.dtype == torch.uint8 and torch.equal(image, data.test_x[m.index])
        assert matrix[names.index(m.true), names.index(m.predicted)] > 0
    plain = json.loads(json.dumps(r.to_json()))
    assert "images" not in plain and plain["confusion"] == r.confusion
    assert plain["misclassified"][0] == {**vars(r.misclassified[0])}
    worst = plain["worst_confusions"][0]
    assert worst["count"] == max(matrix[t, p] for t in range(4) for p in range(4) if t != p)


def test_an_all_right_evaluation_lists_no_confusions():
    r = EvalResult("x.pt", 1, 0.1, 100.0, [ClassResult("a", 3, 3), ClassResult("b", 2, 2)], confusion=[[3, 0], [0, 2]])
    assert r.worst_confusions() == [] and r.to_json()["worst_confusions"] == []


def test_worst_confusions_largest_count_first_then_the_larger_share():
    classes = [ClassResult(n, 0, 0) for n in "abc"]
    r = EvalResult("x.pt", 1, 0.1, 50.0, classes, confusion=[[6, 2, 2], [1, 1, 2], [0, 5, 5]])
    assert r.worst_confusions(3) == [
        Confusion("c", "b", 5, 50.0),
        Confusion("b", "c", 2, 50.0),  # 2 of b's 4: before a's 2 of 10
        Confusion("a", "b", 2, 20.0),
    ]


def test_the_running_top_k_is_the_top_k_of_all_batches():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 5, (300,), generator=g)
    pred = torch.randint(0, 5, (300,), generator=g)
    confidence = torch.rand(300, generator=g)
    worst = torch.empty(4, 0)
    for lo in range(0, 300, 37):  # batches of 37, the last one short
        sl = slice(lo, lo + 37)
        worst = _keep_worst(worst, confidence[sl], pred[sl], y[sl], lo)
    wrong = (pred != y).nonzero().squeeze(1)
    expected = wrong[confidence[wrong].argsort(descending=True)][:MISCLASSIFIED]
    assert worst[1].long().tolist() == expected.tolist()
    assert worst[2].long().tolist() == y[expected].tolist() and worst[3].long().tolist() == pred[expected].tolist()
