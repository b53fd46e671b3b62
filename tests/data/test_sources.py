"""Data sets: loaders, image folders and archives, the tensor cache, errors."""

from __future__ import annotations

import io
import os
import shutil
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tui_trainer import config
from tui_trainer.config import DataConfig, RunConfig
from tui_trainer.data import DataInfo, ImageData, archives, builtin, imagefolder, load_data, resize_images, sources
from tui_trainer.errors import ConfigError, DataError

SHARED = Path(__file__).resolve().parents[3] / "shared/datasets"
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """Every test gets its own cache folder; the user's cache is never touched."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("TUI_TRAINER_CACHE", str(folder))
    return folder


def load(log: list[str] | None = None, **kw) -> ImageData:
    return load_data(DataConfig(**kw), log=(log.append if log is not None else lambda s: None))


def one_line_error(excinfo) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg and msg.strip() == msg and msg
    return msg


# -- helpers: image folders and archives ----------------------------------------------------


def write_folder(
    root: Path,
    classes=("cat", "dog", "emu"),
    n_train=4,
    n_test=2,
    size=(8, 8),
    mode="RGB",
    test_name="test",
    ext=".png",
    seed=0,
) -> dict[str, dict[str, list[np.ndarray]]]:
    """Write train/<class>/NN<ext> and <test_name>/<class>/NN<ext>; return the pixels written."""
    rng = np.random.default_rng(seed)
    written: dict[str, dict[str, list[np.ndarray]]] = {}
    for split, n in (("train", n_train), (test_name, n_test)):
        written[split] = {}
        for c in classes:
            folder = root / split / c
            folder.mkdir(parents=True, exist_ok=True)
            arrays = []
            for i in range(n):
                shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
                a = rng.integers(0, 256, shape, dtype=np.uint8)
                Image.fromarray(a, mode).save(folder / f"{i:02d}{ext}")
                arrays.append(a)
            written[split][c] = arrays
    return written


def expected_tensors(written, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for label, c in enumerate(sorted(written[split])):
        for a in written[split][c]:
            t = torch.from_numpy(a)
            xs.append(t.unsqueeze(0) if t.dim() == 2 else t.permute(2, 0, 1))
            ys.append(label)
    return torch.stack(xs), torch.tensor(ys)


def make_archive(folder: Path, out: Path, wrap: str | None = None) -> Path:
    """Archive folder's contents (inside a top-level folder ``wrap`` if given)."""
    name = out.name
    files = sorted(p for p in folder.rglob("*"))
    arc = lambda p: ((wrap + "/") if wrap else "") + p.relative_to(folder).as_posix()  # noqa: E731
    if name.endswith(".zip"):
        with zipfile.ZipFile(out, "w") as zf:
            for p in files:
                zf.write(p, arc(p))
    else:
        mode = {".tar": "w", ".gz": "w:gz", ".tgz": "w:gz", ".xz": "w:xz"}[Path(name).suffix]
        with tarfile.open(out, mode) as tf:
            for p in files:
                tf.add(p, arc(p), recursive=False)
    return out


def tar_with(out: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(out, "w:gz") as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return out


def png_bytes(value: int = 7) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def file_member(name: str) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), png_bytes()


# -- digits, synthetic, limits, statistics --------------------------------------------------


def test_digits_loads_offline_with_a_stratified_split():
    d = load(dataset="digits")
    assert d.train_x.shape == (1437, 1, 8, 8) and d.test_x.shape == (360, 1, 8, 8)
    assert d.train_x.dtype == torch.uint8 and d.train_y.dtype == torch.int64
    assert d.train_x.is_contiguous() and d.train_x.device.type == "cpu"
    assert d.classes == tuple(str(i) for i in range(10))
    assert d.info == DataInfo(channels=1, num_classes=10, image_size=8, classes=d.classes)
    assert int(d.train_x.max()) == 255 and int(d.train_x.min()) == 0  # 0..16 scaled to 0..255
    train_counts = torch.bincount(d.train_y, minlength=10)
    test_counts = torch.bincount(d.test_y, minlength=10)
    for tr, te in zip(train_counts.tolist(), test_counts.tolist(), strict=False):
        assert abs(te - 0.2 * (tr + te)) <= 1  # every class split 80/20
    again = load(dataset="digits")
    assert torch.equal(again.train_x, d.train_x) and torch.equal(again.test_y, d.test_y)
    assert d.source.startswith("digits: 1,437 train / 360 test")


def test_synthetic_is_deterministic_and_learnable():
    a = load(dataset="synthetic", synthetic_size=400, synthetic_classes=5, synthetic_image=12, synthetic_channels=2)
    b = load(dataset="synthetic", synthetic_size=400, synthetic_classes=5, synthetic_image=12, synthetic_channels=2)
    assert a.train_x.shape == (400, 2, 12, 12)
    assert a.test_x.shape == (builtin.synthetic_test_size(400, 5), 2, 12, 12) == (100, 2, 12, 12)
    assert a.info == DataInfo(channels=2, num_classes=5, image_size=12, classes=a.classes)
    for name in ("train_x", "train_y", "test_x", "test_y"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert torch.bincount(a.train_y).tolist() == [80] * 5  # balanced
    # Class means differ, and the nearest class mean classifies the test set well.
    means = torch.stack([a.train_x[a.train_y == k].double().mean(0) for k in range(5)])
    dists = torch.cdist(means.flatten(1), means.flatten(1))
    assert dists[~torch.eye(5, dtype=torch.bool)].min() > 20
    pred = torch.cdist(a.test_x.double().flatten(1), means.flatten(1)).argmin(1)
    assert (pred == a.test_y).double().mean() > 0.9
    # At least 10 test images per class.
    assert load(dataset="synthetic", synthetic_size=40, synthetic_classes=8).test_x.shape[0] == 80


def test_limits_and_image_size():
    full = load(dataset="digits")
    d = load(dataset="digits", train_limit=100, test_limit=30, image_size=16)
    assert d.train_x.shape == (100, 1, 16, 16) and d.test_x.shape == (30, 1, 16, 16)
    # Each class's first images, 10 of each digit (3 in the test split), in the set's order.
    keep = torch.cat([torch.nonzero(full.train_y == c).flatten()[:10] for c in range(10)]).sort().values
    assert torch.equal(d.train_y, full.train_y[keep]) and torch.equal(d.train_x, resize_images(full.train_x[keep], 16))
    assert torch.bincount(d.test_y, minlength=10).tolist() == [3] * 10
    assert d.info.image_size == 16
    # A limit bigger than the set keeps everything.
    assert load(dataset="digits", train_limit=10**6).train_x.shape[0] == 1437
    s = load(dataset="synthetic", synthetic_size=50, synthetic_image=16, image_size=8, train_limit=7)
    assert s.train_x.shape == (7, 3, 8, 8) and s.test_x.shape[2:] == (8, 8)


def test_limits_keep_classes_stored_one_after_another_balanced():
    from tui_trainer.data.sources import _limit

    # As an image folder stores them: all of class 0, then all of class 1, ...; class 2 small.
    y = torch.tensor([0] * 50 + [1] * 40 + [2] * 3 + [3] * 30)
    x = torch.arange(len(y)).view(-1, 1, 1, 1)  # each image is its own index
    kx, ky = _limit(x, y, 25)
    assert torch.bincount(ky).tolist() == [8, 7, 3, 7]  # class 2 runs out; the rest share its place
    assert torch.equal(ky, y[kx.flatten()]) and bool((kx.flatten().diff() > 0).all())  # original order
    for c in range(4):  # each class's first images
        assert torch.equal(kx.flatten()[ky == c], torch.nonzero(y == c).flatten()[: int((ky == c).sum())])
    assert _limit(x, y, 10)[1].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3]


def test_resize_is_antialiased_and_exact_when_unchanged():
    x = torch.zeros(2, 1, 16, 16, dtype=torch.uint8)
    x[:, :, ::2, :] = 255  # stripes: without antialiasing a 2x downscale could pick all 0 or all 255
    y = resize_images(x, 8)
    assert y.dtype == torch.uint8 and y.shape == (2, 1, 8, 8)
    assert 100 < float(y.double().mean()) < 155
    assert resize_images(x, 16) is x


@pytest.mark.parametrize("kw", [dict(dataset="digits", train_limit=500), dict(dataset="synthetic", synthetic_size=300)])
def test_mean_std_are_the_training_sets(kw):
    d = load(**kw)
    x = d.train_x.double() / 255
    mean = x.mean(dim=(0, 2, 3))
    std = x.permute(1, 0, 2, 3).reshape(x.shape[1], -1).std(dim=1, unbiased=False)
    assert len(d.mean) == len(d.std) == x.shape[1]
    assert torch.allclose(torch.tensor(d.mean, dtype=torch.float64), mean, rtol=1e-9, atol=1e-12)
    assert torch.allclose(torch.tensor(d.std, dtype=torch.float64), std, rtol=1e-9, atol=1e-12)


# -- image folders --------------------------------------------------------------------------


def test_imagefolder_from_a_folder(tmp_path):
    written = write_folder(tmp_path / "data", n_train=5, n_test=3)
    d = load(dataset="imagefolder", root=str(tmp_path / "data"))
    assert d.classes == ("cat", "dog", "emu")
    x, y = expected_tensors(written, "train")
    assert torch.equal(d.train_x, x) and torch.equal(d.train_y, y)
    x, y = expected_tensors(written, "test")
    assert torch.equal(d.test_x, x) and torch.equal(d.test_y, y)
    assert d.info == DataInfo(channels=3, num_classes=3, image_size=8, classes=d.classes)
    assert d.source.startswith("imagefolder: 15 train / 9 test")


def test_imagefolder_grayscale_jpeg_and_mixed_modes(tmp_path):
    write_folder(tmp_path / "gray", mode="L", ext=".jpg", size=(10, 10))
    d = load(dataset="imagefolder", root=str(tmp_path / "gray"))
    assert d.train_x.shape == (12, 1, 10, 10) and len(d.mean) == 1

    # One grayscale image among RGB ones: everything is RGB, the gray one replicated.
    root = tmp_path / "mixed"
    write_folder(root)
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8)
    Image.fromarray(gray, "L").save(root / "train" / "cat" / "99.png")
    d = load(dataset="imagefolder", root=str(root))
    assert d.train_x.shape[1] == 3
    i = 4  # cat/00..03, then cat/99
    assert all(torch.equal(d.train_x[i, c], torch.from_numpy(gray)) for c in range(3))


def test_imagefolder_image_size_resizes_mixed_sizes(tmp_path):
    root = tmp_path / "data"
    write_folder(root, size=(8, 8))
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(root / "train" / "dog" / "big.png")
    with pytest.raises(DataError) as err:
        load(dataset="imagefolder", root=str(root))
    msg = one_line_error(err)
    assert "train/dog/big.png" in msg and "30x20" in msg and "data.image_size" in msg
    d = load(dataset="imagefolder", root=str(root), image_size=12)
    assert d.train_x.shape == (13, 3, 12, 12) and d.test_x.shape == (6, 3, 12, 12)


def test_imagefolder_ignores_hidden_and_non_image_files(tmp_path):
    root = tmp_path / "data"
    write_folder(root)
    (root / "train" / "cat" / "notes.txt").write_text("hello")
    (root / "train" / "cat" / ".DS_Store").write_bytes(b"\0\1")
    (root / "train" / ".hidden").mkdir()
    (root / "README.md").write_text("data")
    d = load(dataset="imagefolder", root=str(root))
    assert d.classes == ("cat", "dog", "emu") and d.train_x.shape[0] == 12


@pytest.mark.parametrize(
    "suffix, wrap, test_name",
    [
        (".tar.gz", None, "test"),
        (".tar.xz", "my-data", "test"),
        (".zip", None, "val"),
        (".zip", "wrapped", "test"),
        (".tgz", "outer", "val"),
        (".tar", None, "test"),
    ],
)
def test_imagefolder_from_archives(tmp_path, cache, suffix, wrap, test_name):
    written = write_folder(tmp_path / "src", test_name=test_name)
    archive = make_archive(tmp_path / "src", tmp_path / f"data{suffix}", wrap=wrap)
    log: list[str] = []
    d = load(log, dataset="imagefolder", root=str(archive))
    assert d.classes == ("cat", "dog", "emu")
    x, y = expected_tensors(written, "train")
    assert torch.equal(d.train_x, x) and torch.equal(d.train_y, y)
    x, y = expected_tensors(written, test_name)
    assert torch.equal(d.test_x, x) and torch.equal(d.test_y, y)
    assert any("extracting" in line for line in log)
    extracted = list((cache / "extracted").iterdir())
    assert len(extracted) == 1 and extracted[0].is_dir()  # extracted into the cache, no leftovers


def test_cifar10_mini_archive():
    archive = SHARED / "cifar10-mini.tar.xz"
    if not archive.is_file():
        pytest.skip(f"../shared/datasets not present: {archive} (the shared CIFAR-10 sample archives) is missing")
    d = load(dataset="imagefolder", root=str(archive))
    assert d.train_x.shape == (1000, 3, 32, 32) and d.test_x.shape == (200, 3, 32, 32)
    assert d.classes == CIFAR_CLASSES
    assert torch.bincount(d.train_y).tolist() == [100] * 10
    assert torch.bincount(d.test_y).tolist() == [20] * 10
    assert 0.3 < d.mean[0] < 0.7 and 0.15 < d.std[0] < 0.35


# -- the cache ------------------------------------------------------------------------------


def test_cache_hit_corrupt_rebuild_and_invalidation(tmp_path, cache, monkeypatch):
    root = tmp_path / "data"
    write_folder(root)
    first_log: list[str] = []
    first = load(first_log, dataset="imagefolder", root=str(root))
    assert "cached" in first.source and "cache hit" not in first.source
    files = list((cache / "tensors").glob("*.pt"))
    assert len(files) == 1

    calls = []
    real_decode = imagefolder._decode_one
    monkeypatch.setattr(imagefolder, "_decode_one", lambda p, s: calls.append(p) or real_decode(p, s))
    log: list[str] = []
    second = load(log, dataset="imagefolder", root=str(root))
    assert "(cache hit)" in second.source and any("cache hit" in line for line in log)
    assert calls == []  # nothing decoded
    for name in ("train_x", "train_y", "test_x", "test_y"):
        assert torch.equal(getattr(first, name), getattr(second, name))
    assert second.classes == first.classes

    # A corrupt cache file is ignored and rebuilt.
    files[0].write_bytes(b"this is not a torch file")
    log = []
    third = load(log, dataset="imagefolder", root=str(root))
    assert calls and "cache hit" not in third.source
    assert any("unusable" in line for line in log)
    assert torch.equal(third.train_x, first.train_x)
    calls.clear()
    assert "cache hit" in load(dataset="imagefolder", root=str(root)).source and calls == []

    # Changing an image changes the key: decoded again, old cache file replaced.
    img = root / "train" / "cat" / "00.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(img)
    os.utime(img, ns=(1, 1))
    fourth = load(dataset="imagefolder", root=str(root))
    assert "cache hit" not in fourth.source and calls
    assert int(fourth.train_x[0].max()) == 0
    assert len(list((cache / "tensors").glob("*.pt"))) == 1
    # image_size is part of the key.
    assert "cache hit" not in load(dataset="imagefolder", root=str(root), image_size=9).source


def test_archive_cache_hit_skips_extraction(tmp_path, cache):
    write_folder(tmp_path / "src")
    archive = make_archive(tmp_path / "src", tmp_path / "data.tar.gz")
    load(dataset="imagefolder", root=str(archive))
    shutil.rmtree(cache / "extracted")
    log: list[str] = []
    d = load(log, dataset="imagefolder", root=str(archive))
    assert "cache hit" in d.source and not any("extracting" in line for line in log)
    assert not (cache / "extracted").exists()


@pytest.mark.parametrize("phase", ["extracted", "decoded"])
def test_a_load_cancelled_from_its_progress_callback_leaves_no_partial_cache(tmp_path, cache, monkeypatch, phase):
    # The trainer stops a load of minutes by raising LoadCancelled from the progress
    # callback, which runs every 2 s: here every call is "2 s later".
    write_folder(tmp_path / "src", n_train=20)
    archive = make_archive(tmp_path / "src", tmp_path / "data.tar.gz")
    clock = iter(range(0, 10**6, 3))
    monkeypatch.setattr(archives.time, "monotonic", lambda: float(next(clock)))
    if phase == "decoded":  # the extraction done and kept; the decode cancelled
        archives.extract_archive(archive, cache)
    seen = []

    def log(message: str) -> None:
        seen.append(message)
        if f"imagefolder: {phase} " in message:
            raise sources.LoadCancelled

    with pytest.raises(sources.LoadCancelled):
        load_data(DataConfig(dataset="imagefolder", root=str(archive)), log=log)
    assert any(phase in m for m in seen)
    extracted = [p.name for p in (cache / "extracted").iterdir()]
    assert not any(n.startswith(".tmp") for n in extracted), extracted
    assert len(extracted) == (1 if phase == "decoded" else 0)
    assert not (cache / "tensors").exists() or not any((cache / "tensors").iterdir())
    # And the next load, not cancelled, is whole.
    monkeypatch.undo()
    monkeypatch.setenv("TUI_TRAINER_CACHE", str(cache))
    assert load(dataset="imagefolder", root=str(archive)).num_train == 3 * 20


def test_digits_and_synthetic_are_not_cached(cache):
    load(dataset="digits")
    load(dataset="synthetic", synthetic_size=20)
    assert not (cache / "tensors").exists()


# -- errors ---------------------------------------------------------------------------------


def test_missing_root(tmp_path):
    with pytest.raises(DataError) as err:
        load(dataset="imagefolder", root=str(tmp_path / "nope"))
    assert "does not exist" in one_line_error(err) and "nope" in str(err.value)


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as err:
        load(dataset="imagefolder", root=str(tmp_path / "empty"))
    assert "no train/ folder" in one_line_error(err)
    # train/ and test/ with class folders but no images
    for split in ("train", "test"):
        for c in ("a", "b"):
            (tmp_path / "hollow" / split / c).mkdir(parents=True)
    with pytest.raises(DataError) as err:
        load(dataset="imagefolder", root=str(tmp_path / "hollow"))
    assert "has no images" in one_line_error(err)
    # no test/ split
    write_folder(tmp_path / "notest", test_name="other")
    with pytest.raises(DataError) as err:
        load(dataset="imagefolder", root=str(tmp_path / "notest"))
    assert "no test/ or val/" in one_line_error(err)


def test_mismatched_classes(tmp_path):
    root = tmp_path / "data"
    write_folder(root)
    shutil.rmtree(root / "test" / "emu")
    (root / "test" / "yak").mkdir()
    with pytest.raises(DataError) as err:
        load(dataset="imagefolder", root=str(root))
    msg = one_line_error(err)
    assert "emu" in msg and "yak" in msg


def test_unreadable_image_is_named(tmp_path):
    root = tmp_path / "data"
    write_folder(root)
    (root / "test" / "dog" / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DataError) as err:
        load(dataset="imagefolder", root=str(root))
    assert "test/dog/bad.png" in one_line_error(err)


def test_not_an_archive(tmp_path):
    (tmp_path / "data.txt").write_text("x")
    with pytest.raises(DataError) as err:
        load(dataset="imagefolder", root=str(tmp_path / "data.txt"))
    assert "archive" in one_line_error(err)
    (tmp_path / "broken.tar.gz").write_bytes(b"garbage" * 100)
    with pytest.raises(DataError) as err:
        load(dataset="imagefolder", root=str(tmp_path / "broken.tar.gz"))
    assert "cannot read the archive" in one_line_error(err)


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_a_full_cache_disk_is_not_called_a_bad_archive(tmp_path, cache, monkeypatch, suffix):
    import errno

    write_folder(tmp_path / "src")
    archive = make_archive(tmp_path / "src", tmp_path / f"data{suffix}")
    real = archives.shutil.copyfileobj
    copied = {"n": 0}

    def fills_up(src, dst, length=0):
        copied["n"] += 1
        if copied["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, length)

    monkeypatch.setattr(archives.shutil, "copyfileobj", fills_up)
    with pytest.raises(DataError) as err:
        load(dataset="imagefolder", root=str(archive))
    message = one_line_error(err)
    assert f"cannot extract {archive.name} into {cache}: No space left on device" in message, message
    assert "TUI_TRAINER_CACHE" in message and "cannot read" not in message
    assert not [p for p in (cache / "extracted").iterdir()], "the half-extracted folder is removed"


@pytest.mark.parametrize("name", ["../evil.png", "train/../../evil.png", "/tmp/evil.png"])
def test_tar_path_traversal_is_rejected(tmp_path, cache, name):
    archive = tar_with(
        tmp_path / "bad.tar.gz",
        [file_member("train/a/0.png"), file_member("test/a/0.png"), file_member(name)],
    )
    with pytest.raises(DataError) as err:
        load(dataset="imagefolder", root=str(archive))
    assert "refusing to extract" in one_line_error(err)
    assert not (tmp_path / "evil.png").exists() and not (cache / "evil.png").exists()
    assert list((cache / "extracted").iterdir()) == []  # the partial extraction is gone


def test_zip_path_traversal_is_rejected(tmp_path, cache):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("train/a/0.png", png_bytes())
        zf.writestr("../../evil.png", png_bytes())
    with pytest.raises(DataError) as err:
        load(dataset="imagefolder", root=str(archive))
    assert "refusing to extract" in one_line_error(err)
    assert not (tmp_path / "evil.png").exists()


def test_tar_links_outside_are_rejected_and_inside_are_copied(tmp_path):
    link = tarfile.TarInfo("train/a/1.png")
    link.type, link.linkname = tarfile.SYMTYPE, "../../../../etc/passwd"
    archive = tar_with(tmp_path / "bad.tar.gz", [file_member("train/a/0.png"), (link, None)])
    with pytest.raises(DataError) as err:
        load(dataset="imagefolder", root=str(archive))
    assert "leads outside" in one_line_error(err)

    members = [file_member(f"{s}/{c}/0.png") for s in ("train", "test") for c in ("a", "b")]
    good = tarfile.TarInfo("train/a/1.png")
    good.type, good.linkname = tarfile.SYMTYPE, "0.png"
    hard = tarfile.TarInfo("train/b/1.png")
    hard.type, hard.linkname = tarfile.LNKTYPE, "train/b/0.png"
    archive = tar_with(tmp_path / "links.tar.gz", members + [(good, None), (hard, None)])
    d = load(dataset="imagefolder", root=str(archive))
    assert d.train_x.shape[0] == 4 and int(d.train_x[1].max()) == 7
    extracted = next((Path(os.environ["TUI_TRAINER_CACHE"]) / "extracted").iterdir())
    assert not any(p.is_symlink() for p in extracted.rglob("*"))


def test_torchvision_set_missing_offline(tmp_path):
    with pytest.raises(DataError) as err:
        load(dataset="cifar10", root=str(tmp_path / "cifar"), download=False)
    msg = one_line_error(err)
    assert "cifar-10-batches-py" in msg and str(tmp_path / "cifar") in msg
    assert "--data-root" in msg and "data.download=true" in msg and "imagefolder" in msg
    with pytest.raises(DataError) as err:  # default root: the cache
        load(dataset="svhn")
    assert "train_32x32.mat" in one_line_error(err)


def test_torchvision_failed_download_is_one_line(tmp_path, monkeypatch):
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution\nmore detail")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataError) as err:
        load(dataset="cifar10", root=str(tmp_path / "cifar"), download=True)
    msg = one_line_error(err)
    assert "downloading https://" in msg and "failed: [Errno -3] Temporary failure in name resolution;" in msg
    assert "--data-root" in msg


def write_mnist(raw: Path, n_train: int = 30, n_test: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Fake torchvision MNIST raw files (idx format; torchvision checks no checksum)."""
    raw.mkdir(parents=True)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (n_train + n_test, 28, 28), dtype=np.uint8)
    labels = (np.arange(n_train + n_test) % 10).astype(np.uint8)
    for prefix, sl in (("train", slice(0, n_train)), ("t10k", slice(n_train, None))):
        x, y = images[sl], labels[sl]
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, len(x), 28, 28) + x.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, len(y)) + y.tobytes())
    return images, labels


@pytest.mark.parametrize("dataset, folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_torchvision_mnist_from_files_and_cache(tmp_path, dataset, folder):
    images, labels = write_mnist(tmp_path / "tv" / folder / "raw")
    log: list[str] = []
    d = load(log, dataset=dataset, root=str(tmp_path / "tv"))
    assert d.train_x.shape == (30, 1, 28, 28) and d.test_x.shape == (10, 1, 28, 28)
    assert torch.equal(d.train_x[:, 0], torch.from_numpy(images[:30]))
    assert torch.equal(d.test_y, torch.from_numpy(labels[30:]).long())
    assert len(d.classes) == 10
    if dataset == "mnist":
        assert d.classes == tuple(str(i) for i in range(10))
    else:
        assert d.classes[0] == "T-shirt/top"
    assert "cached" in d.source
    # Second load: from the cache; pointing --data-root at the data set's own folder works too.
    again = load(dataset=dataset, root=str(tmp_path / "tv"))
    assert "cache hit" in again.source and torch.equal(again.train_x, d.train_x)
    inner = load(dataset=dataset, root=str(tmp_path / "tv" / folder), image_size=14, test_limit=4)
    assert inner.train_x.shape == (30, 1, 14, 14) and inner.test_x.shape == (4, 1, 14, 14)


def test_every_data_set_of_the_config_has_a_loader_and_an_unknown_one_is_the_configs_error():
    assert set(sources._LOADERS) == set(config.DATASETS)
    with pytest.raises(ConfigError) as err:  # at config time, before any loading
        RunConfig.from_dict({"data": {"dataset": "imagenet"}})
    assert 'data.dataset: unknown value "imagenet"' in one_line_error(err) and "allowed: cifar10" in str(err.value)


def test_the_image_shapes_the_config_knows_are_the_loaded_ones(tmp_path):
    """config.BUILTIN_SHAPES lets the config check crops and statistics before loading."""
    assert config.image_shape(DataConfig(dataset="digits")) == (1, 8) == load(dataset="digits").train_x.shape[1:3]
    synthetic = load(dataset="synthetic", synthetic_size=20, synthetic_channels=2, synthetic_image=12)
    assert config.image_shape(DataConfig(dataset="synthetic", synthetic_channels=2, synthetic_image=12)) == (2, 12)
    assert synthetic.train_x.shape[1:] == (2, 12, 12)
    write_mnist(tmp_path / "tv" / "MNIST" / "raw")
    assert load(dataset="mnist", root=str(tmp_path / "tv")).train_x.shape[1:3] == config.BUILTIN_SHAPES["mnist"]
    assert config.image_shape(DataConfig(dataset="cifar10", image_size=64)) == (3, 64)
    assert config.image_shape(DataConfig(dataset="imagefolder", root="x")) == (None, None)  # known once read
