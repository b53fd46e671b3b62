"""Hostile and damaged archives: truncated at any byte, decompression bombs, link bombs.
Each is one line of DataError, and nothing of it stays in the cache."""

from __future__ import annotations

import io
import lzma
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tui_trainer.config import DataConfig
from tui_trainer.data import archives, load_data
from tui_trainer.errors import DataError

CLASSES = ("ant", "bee")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("TUI_TRAINER_CACHE", str(folder))
    monkeypatch.delenv(archives.RATIO_ENV, raising=False)
    monkeypatch.delenv(archives.SIZE_ENV, raising=False)
    return folder


def load(root: Path):
    return load_data(DataConfig(dataset="imagefolder", root=str(root)), log=lambda s: None)


def error_of(root: Path) -> str:
    with pytest.raises(DataError) as err:
        load(root)
    msg = str(err.value)
    assert "\n" not in msg and msg, msg
    return msg


def left_in(cache: Path) -> list[str]:
    """What the cache holds beyond empty folders: extractions (finished or not), tensors."""
    return sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file())


def png(value: int) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(value)  # noise: the archive does not compress away
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def members() -> list[tuple[str, bytes]]:
    return [
        (f"{split}/{c}/{i}.png", png(n * 10 + i))
        for n, split in enumerate(("train", "test"))
        for c in CLASSES
        for i in range(3)
    ]


def write_tar(out: Path, mode: str = "w") -> Path:
    with tarfile.open(out, mode) as tf:
        for name, data in members():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out


def write_zip(out: Path) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members():
            zf.writestr(name, data)
    return out


# -- truncated archives ------------------------------------------------------------------------


def tar_cuts(archive: Path) -> dict[str, int]:
    """Offsets to cut a plain tar at: inside member headers, at member boundaries,
    inside a member's data, and where the data ends but the end-of-archive marker is missing."""
    with tarfile.open(archive) as tf:
        infos = tf.getmembers()
    cuts = {}
    for k in (1, len(infos) // 2, len(infos) - 1):
        cuts[f"header of member {k}"] = infos[k].offset + 100
        cuts[f"before member {k}"] = infos[k].offset
    cuts["data of member 2"] = infos[2].offset_data + 10
    last = infos[-1]
    cuts["before the end marker"] = last.offset_data + -(-last.size // 512) * 512
    return cuts


def test_a_tar_cut_anywhere_is_truncated_and_nothing_is_cached(tmp_path, cache):
    whole = write_tar(tmp_path / "whole.tar")
    data = whole.read_bytes()
    for where, at in tar_cuts(whole).items():
        cut = tmp_path / f"cut-{at}.tar"
        cut.write_bytes(data[:at])
        msg = error_of(cut)
        assert f"archive truncated: {cut.name}" in msg, (where, msg)
        assert "class folders" not in msg, msg
        assert left_in(cache) == [], (where, left_in(cache))
        # A second attempt is refused again: no partial result was cached as complete.
        assert "archive truncated" in error_of(cut)
    d = load(whole)
    assert d.num_train == 2 * 3 and d.num_test == 2 * 3


def test_a_cut_inside_a_header_names_the_byte(tmp_path):
    whole = write_tar(tmp_path / "whole.tar")
    header = tar_cuts(whole)["header of member 1"]
    cut = tmp_path / "data.tar"
    cut.write_bytes(whole.read_bytes()[:header])
    assert f"ends inside a member header at byte {header - 100:,}" in error_of(cut)


@pytest.mark.parametrize("suffix", [".tar.xz", ".tar.gz", ".zip"])
def test_compressed_archives_and_zips_cut_short_are_truncated(tmp_path, cache, suffix):
    whole = tmp_path / f"whole{suffix}"
    write_zip(whole) if suffix == ".zip" else write_tar(whole, "w:" + suffix.rsplit(".", 1)[1])
    data = whole.read_bytes()
    for fraction in (0.2, 0.5, 0.9):
        cut = tmp_path / f"cut-{fraction}{suffix}"
        cut.write_bytes(data[: int(len(data) * fraction)])
        msg = error_of(cut)
        assert f"archive truncated: {cut.name}" in msg, msg
        assert left_in(cache) == []
    assert load(whole).num_train == 6


def test_a_damaged_header_is_not_taken_for_the_end(tmp_path, cache):
    whole = write_tar(tmp_path / "whole.tar")
    data = bytearray(whole.read_bytes())
    at = tar_cuts(whole)["before member 6"]
    data[at : at + 100] = b"\xff" * 100  # the name field: the header's checksum no longer matches
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(data))
    msg = error_of(bad)
    assert "damaged member header" in msg and "class folders" not in msg, msg
    assert left_in(cache) == []


# -- decompression bombs -----------------------------------------------------------------------


def zeros_tar_xz(out: Path, files: int, size: int, prefix: str = "train/a/") -> Path:
    """``files`` members of ``size`` zero bytes, xz-compressed to a few KiB."""
    with lzma.open(out, "wb", preset=0) as xz, tarfile.open(fileobj=xz, mode="w") as tf:
        for i in range(files):
            info = tarfile.TarInfo(f"{prefix}{i}.png")
            info.size = size
            tf.addfile(info, _Zeros(size))
    return out


class _Zeros(io.RawIOBase):
    def __init__(self, n: int) -> None:
        self.left = n

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


@pytest.fixture
def writes(monkeypatch) -> list[int]:
    """The bytes of each member the extraction starts to write."""
    started: list[int] = []
    real = archives.shutil.copyfileobj

    def counting(src, dst, length=0):
        started.append(1)
        return real(src, dst, length)

    monkeypatch.setattr(archives.shutil, "copyfileobj", counting)
    return started


def test_a_decompression_bomb_is_refused_before_it_is_written(tmp_path, cache, writes):
    bomb = zeros_tar_xz(tmp_path / "bomb.tar.xz", files=3, size=8 << 20)
    assert bomb.stat().st_size < 64 << 10
    msg = error_of(bomb)
    assert "refusing to extract bomb.tar.xz" in msg and "decompression bomb" in msg, msg
    assert f"the limit is {archives.DEFAULT_MAX_RATIO:g} times, set {archives.RATIO_ENV}=N" in msg, msg
    assert writes == [], "refused from the first member's header, before writing it"
    assert left_in(cache) == []


def test_a_zip_bomb_is_refused_from_its_member_list(tmp_path, cache, writes):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train/a/1.png", png(1))  # a small member first: nothing at all is written
        for i in range(3):
            zf.writestr(f"train/b/{i}.png", bytes(4 << 20))
    msg = error_of(bomb)
    assert "refusing to extract bomb.zip: its members hold 12.0 MiB" in msg, msg
    assert writes == []
    assert left_in(cache) == []


def test_the_extraction_stops_at_the_size_limit_and_leaves_nothing(tmp_path, cache, monkeypatch, writes):
    monkeypatch.setenv(archives.RATIO_ENV, "inf")
    monkeypatch.setenv(archives.SIZE_ENV, "3M")
    bomb = zeros_tar_xz(tmp_path / "big.tar.xz", files=4, size=1 << 20)
    msg = error_of(bomb)
    assert "cannot extract big.tar.xz: its members hold at least 4.0 MiB" in msg, msg
    assert f"the {archives.SIZE_ENV}=3M allowed" in msg, msg
    assert len(writes) == 3, "the fourth member is refused before it is written"
    assert left_in(cache) == []


def test_the_free_disk_space_bounds_the_extraction(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(archives.RATIO_ENV, "inf")
    real = archives.shutil.disk_usage
    monkeypatch.setattr(archives.shutil, "disk_usage", lambda p: real(p)._replace(free=2 << 20))
    msg = error_of(zeros_tar_xz(tmp_path / "big.tar.xz", files=3, size=1 << 20))
    assert "more than the 2.0 MiB free in" in msg and "TUI_TRAINER_CACHE=DIR" in msg, msg
    assert left_in(cache) == []


def test_links_copied_into_a_bomb_are_counted(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(archives.RATIO_ENV, "inf")
    monkeypatch.setenv(archives.SIZE_ENV, "5M")
    bomb = tmp_path / "links.tar.gz"
    with tarfile.open(bomb, "w:gz") as tf:
        info = tarfile.TarInfo("train/a/0.png")
        info.size = 1 << 20
        tf.addfile(info, io.BytesIO(bytes(info.size)))
        for i in range(1, 10):
            link = tarfile.TarInfo(f"train/a/{i}.png")
            link.type, link.linkname = tarfile.LNKTYPE, "train/a/0.png"
            tf.addfile(link)
    msg = error_of(bomb)
    assert "its members hold at least 6.0 MiB" in msg, msg
    assert left_in(cache) == []


def test_an_extraction_that_is_no_image_folder_is_removed(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(archives.RATIO_ENV, "inf")
    msg = error_of(zeros_tar_xz(tmp_path / "bomb.tar.xz", files=2, size=1 << 20, prefix="junk/"))
    assert "no train/ folder" in msg, msg
    assert left_in(cache) == [], "the extracted files went with the layout error"


def test_an_unreadable_image_removes_its_extraction(tmp_path, cache):
    archive = write_tar(tmp_path / "data.tar")
    with tarfile.open(archive, "a") as tf:
        info = tarfile.TarInfo("train/ant/bad.png")
        info.size = 5
        tf.addfile(info, io.BytesIO(b"nopng"))
    assert "cannot read train/ant/bad.png" in error_of(archive)
    assert left_in(cache) == []


@pytest.mark.parametrize(
    "env, value, says",
    [
        (archives.RATIO_ENV, "lots", "is not a ratio; allowed: a number > 0"),
        (archives.RATIO_ENV, "0", "is not a ratio"),
        (archives.RATIO_ENV, "nan", "is not a ratio"),
        (archives.SIZE_ENV, "20 gigs", "is not a size; allowed: bytes, or a number with K, M, G or T"),
    ],
)
def test_bad_limits_are_named(tmp_path, cache, monkeypatch, env, value, says):
    monkeypatch.setenv(env, value)
    msg = error_of(write_tar(tmp_path / "data.tar"))
    assert msg.startswith(f"{env}={value!r} {says}"), msg
    assert left_in(cache) == []


def test_the_limits_allow_more_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv(archives.RATIO_ENV, "1e9")
    monkeypatch.setenv(archives.SIZE_ENV, "1G")
    archive = tmp_path / "sparse.tar.xz"
    with lzma.open(archive, "wb", preset=0) as xz, tarfile.open(fileobj=xz, mode="w") as tf:
        for name, data in members():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    assert load(archive).num_train == 6


@pytest.mark.parametrize(
    "text, size", [("123", 123), ("500M", 500 << 20), ("1.5 GiB", 3 << 29), ("2g", 2 << 30), ("4KB", 4096)]
)
def test_sizes_parse(text, size):
    assert archives.parse_size(text) == size


def test_an_extraction_removes_what_killed_extractions_left_and_spares_one_under_way(tmp_path, cache):
    """A SIGKILL mid-extraction cannot clean up: its temporary folder stays. The next
    extraction removes those a day old, of any archive, and leaves a fresh one alone
    (another process may be extracting into it)."""
    import os
    import time

    extracted = cache / "extracted"
    old, fresh = extracted / ".tmp-other.tar-abc123", extracted / ".tmp-data.tar-def456"
    for folder in (old, fresh):
        (folder / "train" / "ant").mkdir(parents=True)
        (folder / "train" / "ant" / "0.png").write_bytes(png(0))
    day_ago = time.time() - archives.ABANDONED_S - 60
    os.utime(old, (day_ago, day_ago))
    data = load(write_tar(tmp_path / "data.tar"))
    assert data.train_x.shape[0] == 6
    assert not old.exists() and fresh.is_dir()
