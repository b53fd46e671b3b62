"""Whether a config's data is there, from file names alone, before anything loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_trainer.config import DataConfig
from tui_trainer.data import torchvision_sets as tv
from tui_trainer.data.availability import TORCHVISION_FILES, check, missing_message
from tui_trainer.errors import DataError


@pytest.mark.parametrize("name", sorted(tv.TORCHVISION))
def test_the_file_table_is_torchvisions(name):
    spec = tv.TORCHVISION[name]
    cls = tv._tv_class(spec)
    root = Path("/r")
    ours = TORCHVISION_FILES[name]
    assert sorted(str(p.relative_to(root)) for p in tv._tv_files(spec, cls, root)) == sorted(ours.files)
    assert [str(p.relative_to(root)) for p in tv._tv_archives(spec, cls, root)] == list(ours.archives)
    assert ours.cls_name == spec.cls_name


def test_built_in_data_is_always_present(tmp_path):
    assert check(DataConfig(dataset="digits"), tmp_path).present
    assert check(DataConfig(dataset="synthetic"), tmp_path).where == "built in"


def test_cifar10_present_missing_or_to_download(tmp_path):
    cfg = DataConfig(dataset="cifar10", root=str(tmp_path / "data"))
    missing = check(cfg, tmp_path / "cache")
    assert not missing.present and not missing.usable
    assert missing.problem == missing_message("cifar10", tmp_path / "data")
    assert check(DataConfig(dataset="cifar10", root=str(tmp_path / "data"), download=True), tmp_path).usable
    for name in TORCHVISION_FILES["cifar10"].files:  # torchvision's files, inside the data set's folder
        path = tmp_path / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    inner = DataConfig(dataset="cifar10", root=str(tmp_path / "data" / "cifar-10-batches-py"))
    found = check(inner, tmp_path / "cache")
    assert found.present and found.where == str(tmp_path / "data")  # the folder torchvision is given


def test_a_downloaded_archive_counts_as_present(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cifar-10-python.tar.gz").write_bytes(b"x")
    assert check(DataConfig(dataset="cifar10", root=str(tmp_path / "data")), tmp_path).present


def test_an_image_folder_must_exist(tmp_path):
    gone = check(DataConfig(dataset="imagefolder", root=str(tmp_path / "nope")), tmp_path)
    assert not gone.usable and "does not exist" in (gone.problem or "")
    assert check(DataConfig(dataset="imagefolder", root=str(tmp_path)), tmp_path).present


def test_the_loader_says_what_the_check_says(tmp_path):
    from tui_trainer.data import load_data

    cfg = DataConfig(dataset="cifar10", root=str(tmp_path / "data"))
    with pytest.raises(DataError) as err:
        load_data(cfg, tmp_path / "cache")
    assert str(err.value) == check(cfg, tmp_path / "cache").problem
