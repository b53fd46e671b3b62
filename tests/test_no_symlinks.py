"""Checkpoints on a filesystem without symlinks (FAT, some network shares, Windows
without the privilege): last.pt and best.pt become hard links or copies, and every
reader (resume, eval, runs, the end line) still finds the checkpoint they stand for."""

from __future__ import annotations

import errno
import json
import os
import subprocess

import pytest
import torch

from tui_trainer import checkpoints
from tui_trainer.checkpoints import CheckpointSaver, linked_checkpoint, load_checkpoint
from tui_trainer.errors import CheckpointError


def state(epoch: int) -> dict:
    return {"format": checkpoints.FORMAT, "version": 1, "config": {}, "model": {}, "epoch": epoch, "step": epoch}


def refuse(*args, **kwargs):
    raise OSError(errno.EPERM, "Operation not permitted")


@pytest.fixture(params=["hard links", "copies"])
def no_symlinks(request, monkeypatch):
    """A filesystem without symlinks; "copies": without hard links either (FAT)."""
    monkeypatch.setattr(os, "symlink", refuse)
    if request.param == "copies":
        monkeypatch.setattr(os, "link", refuse)
    return request.param


def test_the_links_are_complete_checkpoints_that_name_their_file(tmp_path, no_symlinks):
    saver = CheckpointSaver(tmp_path, keep_last=1, keep_best=1)
    for epoch, acc in enumerate([70.0, 50.0, 60.0], 1):
        saver.save(state(epoch), epoch, acc)
    assert not (tmp_path / "last.pt").is_symlink() and not list(tmp_path.glob(".*tmp"))
    # Each is a checkpoint to any reader, torch.load included.
    assert torch.load(tmp_path / "last.pt", weights_only=True)["epoch"] == 3
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 1
    assert load_checkpoint(tmp_path)["epoch"] == 3
    last, best = linked_checkpoint(tmp_path), linked_checkpoint(tmp_path, checkpoints.BEST)
    if no_symlinks == "hard links":  # the file it shares its data with, by name
        assert (last.name, best.name) == ("epoch_003_acc_60.00.pt", "epoch_001_acc_70.00.pt")
        assert load_checkpoint(tmp_path)["path"].endswith("epoch_003_acc_60.00.pt")
    else:  # a copy stands for itself
        assert (last.name, best.name) == ("last.pt", "best.pt")
    assert sorted(p.name for p in tmp_path.glob("epoch_*")) == ["epoch_001_acc_70.00.pt", "epoch_003_acc_60.00.pt"]


@pytest.mark.parametrize("target", ["../elsewhere.pt", "/etc/passwd", "sub/epoch_001_acc_50.00.pt", ".."])
def test_a_link_out_of_its_folder_is_refused(tmp_path, target):
    (tmp_path / "last.pt").symlink_to(target)
    with pytest.raises(CheckpointError, match="points outside its folder") as err:
        load_checkpoint(tmp_path)
    assert len(str(err.value).splitlines()) == 1 and target in str(err.value)
    assert checkpoints.last_saved(tmp_path) is None, "the end of a run does not fail for it"


def test_an_error_about_a_link_says_so(tmp_path):
    saver = CheckpointSaver(tmp_path, keep_last=1, keep_best=1)
    (tmp_path / "last.pt").mkdir()
    (tmp_path / "last.pt" / "x").write_text("a folder in the link's place")
    with pytest.raises(OSError) as err:
        saver.save(state(1), 1, 50.0)
    assert err.value.filename == str(tmp_path / "last.pt")
    assert "the link to epoch_001_acc_50.00.pt, which is saved" in err.value.strerror
    assert (tmp_path / "epoch_001_acc_50.00.pt").is_file() and not list(tmp_path.glob(".*tmp"))


def run_main(args, capsys):
    from tui_trainer.cli import main

    code = main(args)
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def test_train_resume_eval_and_runs_without_symlinks(runs_dir, capsys, no_symlinks):
    where = ["--runs-dir", str(runs_dir)]
    r = run_main(["train", "digits-cnn", "--headless", "--epochs", "1", "--device", "cpu", *where], capsys)
    assert r.returncode == 0, r.stderr
    (run_dir,) = runs_dir.iterdir()
    folder = run_dir / "checkpoints"
    assert (folder / "last.pt").is_file() and not (folder / "last.pt").is_symlink()
    r = run_main(["train", "--headless", "--resume", run_dir.name, "--epochs", "2", *where], capsys)
    assert r.returncode == 0, r.stderr
    assert [line.split()[1] for line in r.stdout.splitlines() if line.startswith("epoch ")] == ["2/2"]
    r = run_main(["eval", run_dir.name, "--json", *where], capsys)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["epoch"] == 2
    listed = json.loads(run_main(["runs", "--json", *where], capsys).stdout)
    assert listed[0]["status"] == "finished" and listed[0]["epoch"] == 2, listed


def test_a_run_whose_link_cannot_be_written_says_it_was_the_link(runs_dir, capsys):
    where = ["--runs-dir", str(runs_dir)]
    assert (
        run_main(["train", "digits-cnn", "--headless", "--epochs", "1", "--device", "cpu", *where], capsys).returncode
        == 0
    )
    (run_dir,) = runs_dir.iterdir()
    last = run_dir / "checkpoints" / "last.pt"
    last.unlink()
    last.mkdir()
    (last / "x").write_text("a folder in the link's place")
    (saved,) = last.parent.glob("epoch_001*.pt")
    r = run_main(["train", "--headless", "--resume", str(saved), "--epochs", "2", *where], capsys)
    assert r.returncode == 1, r
    (failed,) = [line for line in r.stdout.splitlines() if line.startswith("failed: ")]
    assert f"{last}: Is a directory (the link to epoch_002" in failed and "which is saved" in failed, failed
    assert "Traceback" not in r.stdout + r.stderr
    assert [p.name for p in last.parent.glob("epoch_002*.pt")], "the checkpoint itself is saved"
