"""Checkpoints: atomic writes, pruning, pointers, and loads that reject bad files."""

from __future__ import annotations

import os

import pytest
import torch

from tui_trainer import checkpoints
from tui_trainer.checkpoints import CheckpointSaver, atomic_save, checkpoint_name, load_checkpoint
from tui_trainer.errors import CheckpointError


def state(epoch: int) -> dict:
    return {
        "format": checkpoints.FORMAT,
        "version": 1,
        "config": {},
        "model": {"w": torch.full((3,), float(epoch))},
        "epoch": epoch,
        "step": epoch * 10,
    }


def test_names_carry_epoch_and_accuracy():
    assert checkpoint_name(12, None, 85.07) == "epoch_012_acc_85.07.pt"
    assert checkpoint_name(3, None, 5.0) == "epoch_003_acc_05.00.pt"
    assert checkpoint_name(4, 123, None) == "epoch_004_step_123.pt"


def test_keep_last_and_best_with_pointers(tmp_path):
    saver = CheckpointSaver(tmp_path, keep_last=2, keep_best=1)
    accs = [50.0, 70.0, 60.0, 65.0, 55.0]
    bests = []
    for epoch, acc in enumerate(accs, 1):
        path, size, best, removed = saver.save(state(epoch), epoch, acc)
        assert path.exists() and size == path.stat().st_size
        bests.append(best)
    assert bests == [True, True, False, False, False]
    names = sorted(p.name for p in tmp_path.glob("epoch_*.pt"))
    # last two (epochs 4, 5) and the best (epoch 2)
    assert names == ["epoch_002_acc_70.00.pt", "epoch_004_acc_65.00.pt", "epoch_005_acc_55.00.pt"]
    assert os.readlink(tmp_path / "last.pt") == "epoch_005_acc_55.00.pt"
    assert os.readlink(tmp_path / "best.pt") == "epoch_002_acc_70.00.pt"
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 2
    assert load_checkpoint(tmp_path)["epoch"] == 5  # a folder resolves to last.pt


def test_a_tie_is_not_a_new_best_and_keeps_the_first_best(tmp_path):
    saver = CheckpointSaver(tmp_path, keep_last=2, keep_best=1)
    # As the trainer reports them: unrounded (8 of 9 test images ... 358 of 360).
    accs = [98.0555, 99.4444, 99.1666, 99.4444, 99.4444, 99.1666]
    bests = [saver.save(state(epoch), epoch, acc)[2] for epoch, acc in enumerate(accs, 1)]
    assert bests == [True, True, False, False, False, False]
    assert os.readlink(tmp_path / "best.pt") == "epoch_002_acc_99.44.pt", "the first to reach 99.44%"
    names = sorted(p.name for p in tmp_path.glob("epoch_*.pt"))
    assert names == ["epoch_002_acc_99.44.pt", "epoch_005_acc_99.44.pt", "epoch_006_acc_99.17.pt"]
    assert saver.save(state(7), 7, 99.72)[2] is True


def test_crash_during_write_leaves_previous_files_intact(tmp_path, monkeypatch):
    saver = CheckpointSaver(tmp_path, keep_last=5, keep_best=5)
    saver.save(state(1), 1, 50.0)

    def broken_save(obj, f, *a, **k):
        f.write(b"partial garbage")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        saver.save(state(2), 2, 90.0)
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 1
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 1
    assert not list(tmp_path.glob(".*tmp")), "the temp file is cleaned up"
    assert not list(tmp_path.glob("epoch_002*"))


@pytest.mark.parametrize(
    "kind, says",
    [
        ("truncated", "truncated or corrupted"),
        ("garbage", "not a file saved by PyTorch"),
        ("text", "not a file saved by PyTorch"),
        ("not_a_dict", "not a tui-trainer checkpoint"),
        ("foreign", "not a tui-trainer checkpoint"),
        ("empty", "not a file saved by PyTorch"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, kind, says):
    path = tmp_path / "x.pt"
    if kind == "truncated":
        atomic_save(state(1), path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "garbage":
        path.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(1000))  # a JPEG's first bytes, say
    elif kind == "text":
        path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    elif kind == "not_a_dict":
        torch.save([1, 2, 3], path)
    elif kind == "foreign":
        torch.save({"state_dict": {"w": torch.zeros(2)}}, path)
    else:
        path.write_bytes(b"")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert says in str(err.value)


def test_random_bytes_never_escape_as_other_errors(tmp_path):
    import random

    rng = random.Random(0)
    path = tmp_path / "g.pt"
    for _ in range(200):
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))))
        with pytest.raises(CheckpointError):
            load_checkpoint(path)


class Anything:
    """An arbitrary object, pickled by reference to this module: a weights-only load refuses it."""

    def __init__(self):
        self.payload = [1, 2, 3]


def test_weights_only_refuses_code(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"format": checkpoints.FORMAT, "x": Evil()}, path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert not marker.exists(), "never executed"
    msg = str(err.value)
    assert msg == (
        f"{path}: refused for safety: the file holds objects other than tensors (posix.system), and loading "
        "them could run code from the file; a tui-trainer checkpoint holds only tensors, numbers and text, "
        "so this file was not written by tui-trainer or was altered"
    ), msg


def test_an_arbitrary_object_is_refused_in_our_words(tmp_path):
    path = tmp_path / "object.pt"
    torch.save({**state(1), "extra": Anything()}, path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    msg = str(err.value)
    assert "\n" not in msg and "\x1b" not in msg and "Weights only" not in msg, msg
    assert f"objects other than tensors ({__name__}.Anything)" in msg and msg.endswith("or was altered"), msg


def test_an_interrupted_save_leaves_nothing_once_the_folder_is_saved_into_again(tmp_path):
    saver = CheckpointSaver(tmp_path, keep_last=2, keep_best=1)
    saver.save(state(1), epoch=1, acc=50.0)
    real = {p.name: p.read_bytes() for p in tmp_path.glob("epoch_*.pt")}
    # What a kill during the next save leaves: the checkpoint's temporary file, full size,
    # and the temporary links of last.pt and best.pt.
    (tmp_path / ".epoch_002_acc_60.00.pt.k2j4x9.tmp").write_bytes(os.urandom(4096))
    os.symlink("epoch_002_acc_60.00.pt", tmp_path / ".last.pt.4711.tmp")
    os.symlink("epoch_001_acc_50.00.pt", tmp_path / ".best.pt.4711.tmp")
    (tmp_path / ".keep.tmp").write_text("not ours")
    CheckpointSaver(tmp_path, keep_last=2, keep_best=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".keep.tmp", "best.pt", "epoch_001_acc_50.00.pt", "last.pt"]
    assert {p.name: p.read_bytes() for p in tmp_path.glob("epoch_*.pt")} == real
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 1


def test_missing_path(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        load_checkpoint(tmp_path)


def test_weights_mismatch_names_the_first_problem_in_one_short_line():
    rgb, gray = torch.nn.Conv2d(3, 16, 3), torch.nn.Conv2d(1, 16, 3)
    with pytest.raises(RuntimeError) as err:
        gray.load_state_dict(rgb.state_dict())
    assert (
        checkpoints.weights_mismatch(err.value)
        == "weight is [16, 3, 3, 3] in the checkpoint, [16, 1, 3, 3] in this model"
    )
    with pytest.raises(RuntimeError) as err:
        torch.nn.Sequential(gray).load_state_dict(rgb.state_dict())
    text = checkpoints.weights_mismatch(err.value)
    assert text.startswith("Missing key(s) in state_dict:") and "\n" not in text and len(text) <= 200


def test_the_dashboard_marks_the_checkpoint_best_pt_points_to():
    from tui_trainer import events as ev
    from tui_trainer.app.widgets.checkpoints import CheckpointsTable

    pane = CheckpointsTable()
    for epoch, acc in [(2, 99.4444), (5, 99.4444), (6, 99.1666)]:
        pane.apply(
            ev.CheckpointSaved(
                path=f"/r/checkpoints/{checkpoint_name(epoch, None, acc)}",
                epoch=epoch,
                step=10 * epoch,
                test_acc=acc,
                size=1,
                best=epoch == 2,
                reason="epoch",
            )
        )
    assert pane.best_path() == "/r/checkpoints/epoch_002_acc_99.44.pt"
