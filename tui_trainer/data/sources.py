"""Data sets, loaded once into uint8 tensors.

Every loader returns an :class:`ImageData`: the whole training and test sets as uint8
``[N, C, H, W]`` CPU tensors plus int64 labels, the class names and the per-channel mean
and std of the training images. Nothing is decoded per step: training moves these
tensors to the device once (see :mod:`.batches`).

Data sets (``data.dataset``):

``cifar10``, ``cifar100``, ``mnist``, ``fashion_mnist``, ``svhn``
    torchvision's files, read from ``data.root`` (the folder torchvision would be given;
    pointing at the data set's own folder inside it works too) or ``<cache>/torchvision``.
    They are downloaded only with ``data.download = true``. The arrays torchvision loads
    are converted to tensors directly, and cached (see :mod:`.cache`).
``imagefolder``
    ``data.root`` is a folder holding ``train/<class>/<image>`` and ``test/<class>/<image>``
    (or ``val/`` instead of ``test/``), possibly inside a single top-level folder, or a
    ``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.xz``, ``.tar.bz2`` or ``.zip`` archive of one.
    Archives are extracted safely into the cache; images are decoded once with PIL
    (in a thread pool) and cached as tensors. Classes are the sorted subfolder names.
    Images are RGB, or grayscale if every image is; ``data.image_size`` resizes them
    (shorter side, then a centre crop to a square), otherwise they must all be the same
    square size.
``digits``
    scikit-learn's 8x8 handwritten digits (1,797 images, shipped with scikit-learn, no
    download), scaled from 0..16 to 0..255, split 80/20 stratified by class with a fixed
    seed: 1,437 train / 360 test.
``synthetic``
    Generated, deterministic (fixed seed :data:`SYNTHETIC_SEED`) and learnable: each class
    is a smooth random pattern, each image its class's pattern plus Gaussian noise (std
    :data:`SYNTHETIC_NOISE` on the 0..255 scale). ``synthetic_size`` training images and
    ``max(synthetic_size // 4, 10 * synthetic_classes)`` test images, classes balanced
    (labels cycle through the classes, then are shuffled).

For every data set ``data.image_size`` resizes (antialiased bilinear) and
``data.train_limit`` / ``data.test_limit`` keep N images, the classes' first ones in turn
(so a limit keeps the classes balanced where it can). The mean and std are
those of the training images that are kept, after resizing.
"""

from __future__ import annotations

import contextlib
import errno
import io
import math
import os
import re
import shutil
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .. import format as fmt
from ..config import DataConfig
from ..errors import DataError
from ..paths import cache_dir
from . import cache as tcache
from .info import DataInfo

Log = Callable[[str], None]

SYNTHETIC_SEED = 20240917
SYNTHETIC_NOISE = 40.0
DIGITS_SEED = 0
DIGITS_TEST_FRACTION = 0.2

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".pnm"}
)
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz", ".zip")
TEST_SPLIT_NAMES = ("test", "val", "valid", "validation")
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})

# Errors only writing raises: the disk written to is at fault, not the file read.
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
_LAYOUT_HINT = (
    "expected train/<class>/<image> and test/<class>/<image> (or val/ instead of test/), "
    "or a .tar/.tar.gz/.tgz/.tar.xz/.zip archive of such a folder"
)


def _nolog(_: str) -> None:
    pass


class LoadCancelled(BaseException):
    """Raised from a load's ``log`` callback to abandon the load: the callback runs every
    few seconds of a long decode or extraction, which makes it the load's cancel point (a
    thread cannot be killed). A BaseException, so that no ``except Exception`` on the way
    turns it into a data error; what was half written is removed as on any error."""


# -- the result ---------------------------------------------------------------------------


@dataclass
class ImageData:
    """A whole data set in memory: uint8 ``[N, C, H, W]`` images, int64 labels (CPU)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    mean: tuple[float, ...]  # per channel, 0..1 scale, of the training images
    std: tuple[float, ...]
    source: str  # one line for logs

    @property
    def info(self) -> DataInfo:
        return DataInfo(
            channels=int(self.train_x.shape[1]),
            num_classes=len(self.classes),
            image_size=int(self.train_x.shape[-1]),
            classes=tuple(self.classes),
        )

    @property
    def num_train(self) -> int:
        return int(self.train_x.shape[0])

    @property
    def num_test(self) -> int:
        return int(self.test_x.shape[0])


@dataclass
class _Raw:
    """What a loader hands back before limits and statistics."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    where: str  # "from /data/cifar", "embedded in scikit-learn", ...
    how: str  # "cache hit", "decoded in 2.1 s, cached", ...


def load_data(cfg: DataConfig, cache: Path | None = None, log: Log = _nolog) -> ImageData:
    """Load ``cfg.dataset`` as uint8 tensors (decoding and caching it the first time)."""
    cache = Path(cache) if cache is not None else cache_dir()
    loader = _LOADERS.get(cfg.dataset)
    if loader is None:
        raise DataError(f"unknown data set '{cfg.dataset}'; allowed: {', '.join(_LOADERS)}")
    raw = loader(cfg, cache, log)

    train_x, train_y = _limit(raw.train_x, raw.train_y, cfg.train_limit)
    test_x, test_y = _limit(raw.test_x, raw.test_y, cfg.test_limit)
    if cfg.image_size is not None:
        train_x = resize_images(train_x, cfg.image_size)
        test_x = resize_images(test_x, cfg.image_size)
    _check_labels(cfg.dataset, train_y, test_y, len(raw.classes))
    mean, std = channel_stats(train_x)
    source = (
        f"{cfg.dataset}: {train_x.shape[0]:,} train / {test_x.shape[0]:,} test "
        f"{train_x.shape[2]}x{train_x.shape[3]}x{train_x.shape[1]} images in {len(raw.classes)} classes "
        f"{raw.where} ({raw.how})"
    )
    log(source)
    return ImageData(
        train_x=train_x.contiguous(),
        train_y=train_y.contiguous(),
        test_x=test_x.contiguous(),
        test_y=test_y.contiguous(),
        classes=tuple(raw.classes),
        mean=mean,
        std=std,
        source=source,
    )


def _limit(x: torch.Tensor, y: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images, taken from the classes in turn: the first image of each class, then
    the second of each, and so on, kept in their original order. The first ``n`` alone
    would be one class where a set is stored class by class (an image folder)."""
    if n and n < x.shape[0]:
        # Each image's rank within its class, in the set's order.
        order = torch.argsort(y, stable=True)
        sorted_y = y[order]
        starts = torch.searchsorted(sorted_y, sorted_y, right=False)
        rank = torch.empty_like(y)
        rank[order] = torch.arange(y.shape[0], dtype=y.dtype) - starts
        # Round by round (rank), each round in class order; then back to the set's order.
        keep = torch.argsort(rank * (int(y.max()) + 1) + y, stable=True)[:n].sort().values
        return x[keep], y[keep]  # indexing copies: the rest of the full set can be freed
    return x, y


def _check_labels(name: str, train_y: torch.Tensor, test_y: torch.Tensor, num_classes: int) -> None:
    for split, y in (("train", train_y), ("test", test_y)):
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
            raise DataError(f"{name}: {split} labels fall outside 0..{num_classes - 1}; the data set files look corrupt")
    if train_y.numel() == 0 or test_y.numel() == 0:
        raise DataError(f"{name}: the {'train' if train_y.numel() == 0 else 'test'} split is empty")


# -- tensor helpers ------------------------------------------------------------------------


def resize_images(x: torch.Tensor, size: int, chunk: int = 256) -> torch.Tensor:
    """Resize uint8 ``[N, C, H, W]`` images to ``size x size`` (antialiased bilinear); a
    non-square image is centre-cropped to a square first. Unchanged if already that size."""
    n, c, h, w = x.shape
    if h == size and w == size:
        return x
    if h != w:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        x = x[:, :, top : top + side, left : left + side]
    out = torch.empty((n, c, size, size), dtype=torch.uint8)
    for i in range(0, n, chunk):
        xb = x[i : i + chunk].float()
        yb = F.interpolate(xb, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[i : i + chunk] = yb.round_().clamp_(0, 255).to(torch.uint8)
    return out


def channel_stats(x: torch.Tensor, chunk: int = 1 << 26) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Exact per-channel mean and (population) std of uint8 images, on the 0..1 scale."""
    n, c = x.shape[0], x.shape[1]
    per_image = max(1, x[0].numel() // c) if n else 1
    step = max(1, chunk // per_image)
    counts = torch.zeros(c, 256, dtype=torch.int64)
    for ch in range(c):
        for i in range(0, n, step):
            counts[ch] += torch.bincount(x[i : i + step, ch].reshape(-1), minlength=256)
    values = torch.arange(256, dtype=torch.float64) / 255.0
    total = counts.sum(dim=1).to(torch.float64)
    mean = (counts * values).sum(dim=1) / total
    var = (counts * (values - mean[:, None]) ** 2).sum(dim=1) / total
    std = var.sqrt()
    return (
        tuple(float(m) for m in mean),
        tuple(float(s) if s > 1e-12 else 1.0 for s in std),
    )


# -- digits -------------------------------------------------------------------------------


def _load_digits(cfg: DataConfig, cache: Path, log: Log) -> _Raw:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)  # [N, 8, 8]
    labels = bunch.target.astype(np.int64)
    idx = np.arange(len(labels))
    train_idx, test_idx = train_test_split(
        idx, test_size=DIGITS_TEST_FRACTION, stratify=labels, random_state=DIGITS_SEED
    )
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    x = torch.from_numpy(images).unsqueeze(1)
    y = torch.from_numpy(labels)
    return _Raw(
        train_x=x[train_idx].contiguous(),
        train_y=y[train_idx].contiguous(),
        test_x=x[test_idx].contiguous(),
        test_y=y[test_idx].contiguous(),
        classes=tuple(str(i) for i in range(10)),
        where="from scikit-learn's embedded copy",
        how="built in",
    )


# -- synthetic ----------------------------------------------------------------------------


def synthetic_test_size(train_size: int, classes: int) -> int:
    return max(train_size // 4, 10 * classes)


def _load_synthetic(cfg: DataConfig, cache: Path, log: Log) -> _Raw:
    k, c, s = cfg.synthetic_classes, cfg.synthetic_channels, cfg.synthetic_image
    n_train = cfg.synthetic_size
    n_test = synthetic_test_size(n_train, k)
    g = torch.Generator().manual_seed(SYNTHETIC_SEED)
    # One smooth pattern per class: coarse random values, upsampled, spread over 40..215.
    coarse = torch.rand(k, c, 4, 4, generator=g, dtype=torch.float64)
    templates = F.interpolate(coarse, size=(s, s), mode="bicubic", align_corners=False).clamp_(0, 1) * 175 + 40

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = (torch.arange(n) % k)[torch.randperm(n, generator=g)]
        x = torch.empty((n, c, s, s), dtype=torch.uint8)
        step = max(1, 2**22 // (c * s * s))
        for i in range(0, n, step):
            yb = labels[i : i + step]
            noise = torch.randn((yb.shape[0], c, s, s), generator=g, dtype=torch.float64) * SYNTHETIC_NOISE
            x[i : i + step] = (templates[yb] + noise).round_().clamp_(0, 255).to(torch.uint8)
        return x, labels

    train_x, train_y = make(n_train)
    test_x, test_y = make(n_test)
    return _Raw(
        train_x=train_x,
        train_y=train_y,
        test_x=test_x,
        test_y=test_y,
        classes=tuple(f"class_{i}" for i in range(k)),
        where=f"generated (seed {SYNTHETIC_SEED})",
        how="built in",
    )


# -- torchvision data sets ----------------------------------------------------------------


@dataclass(frozen=True)
class _TV:
    cls_name: str
    kind: str  # "cifar" | "mnist" | "svhn"
    digit_classes: bool = False  # class names "0".."9" instead of torchvision's


_TORCHVISION: dict[str, _TV] = {
    "cifar10": _TV("CIFAR10", "cifar"),
    "cifar100": _TV("CIFAR100", "cifar"),
    "mnist": _TV("MNIST", "mnist", digit_classes=True),
    "fashion_mnist": _TV("FashionMNIST", "mnist"),
    "svhn": _TV("SVHN", "svhn", digit_classes=True),
}


def _tv_class(spec: _TV) -> Any:
    import torchvision.datasets as tvd

    return getattr(tvd, spec.cls_name)


def _tv_files(spec: _TV, cls: Any, root: Path) -> list[Path]:
    """The files torchvision reads for the train and test splits."""
    if spec.kind == "cifar":
        names = [n for n, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]
        return [root / cls.base_folder / n for n in names]
    if spec.kind == "mnist":
        return [root / cls.__name__ / "raw" / os.path.splitext(n)[0] for n, _ in cls.resources]
    return [root / cls.split_list[s][1] for s in ("train", "test")]


def _tv_archives(spec: _TV, cls: Any, root: Path) -> list[Path]:
    """Downloaded archives which torchvision can unpack without the network."""
    if spec.kind == "cifar":
        return [root / cls.filename]
    if spec.kind == "mnist":
        return [root / cls.__name__ / "raw" / n for n, _ in cls.resources]
    return []


def _tv_looked_for(spec: _TV, cls: Any) -> str:
    if spec.kind == "cifar":
        return f"{cls.base_folder}/"
    if spec.kind == "mnist":
        return f"{cls.__name__}/raw/ with the idx files"
    return " and ".join(cls.split_list[s][1] for s in ("train", "test"))


def _tv_decode(spec: _TV, cls: Any, root: Path, download: bool) -> tuple[torch.Tensor, ...]:
    def split(train: bool) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
        if spec.kind == "svhn":
            ds = cls(str(root), split="train" if train else "test", download=download)
            x = torch.from_numpy(np.ascontiguousarray(ds.data))  # [N, 3, H, W]
            y = torch.from_numpy(np.asarray(ds.labels, dtype=np.int64))
            return x, y, ()
        ds = cls(str(root), train=train, download=download)
        if spec.kind == "cifar":
            x = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2)  # NHWC -> NCHW
            y = torch.as_tensor(np.asarray(ds.targets, dtype=np.int64))
        else:
            data = ds.data if isinstance(ds.data, torch.Tensor) else torch.from_numpy(np.asarray(ds.data))
            x = data.to(torch.uint8).unsqueeze(1)
            y = torch.as_tensor(ds.targets).to(torch.int64)
        return x, y, tuple(str(c) for c in getattr(ds, "classes", ()))

    train_x, train_y, classes = split(True)
    test_x, test_y, _ = split(False)
    if spec.digit_classes or not classes:
        classes = tuple(str(i) for i in range(int(train_y.max()) + 1))
    return train_x.contiguous(), train_y, test_x.contiguous(), test_y, classes


def _load_torchvision(cfg: DataConfig, cache: Path, log: Log) -> _Raw:
    name = cfg.dataset
    spec = _TORCHVISION[name]
    try:
        cls = _tv_class(spec)
    except (ImportError, AttributeError) as exc:
        raise DataError(f"{name}: torchvision's {spec.cls_name} is not available ({exc})") from None
    base = Path(cfg.root).expanduser() if cfg.root else cache / tcache.TORCHVISION_DIR
    # Accept the folder torchvision wants, or the data set's own folder inside it.
    candidates = [base, base.parent, base.parent.parent] if cfg.root else [base]
    found = next((r for r in candidates if all(p.is_file() for p in _tv_files(spec, cls, r))), None)

    decoded: tuple[torch.Tensor, ...] | None = None
    t0 = time.perf_counter()
    if found is None:
        archives = _tv_archives(spec, cls, base)
        local = bool(archives) and all(p.is_file() for p in archives)
        if not local and not cfg.download:
            raise DataError(
                f"{name}: not found in {base} (looked for {_tv_looked_for(spec, cls)}, torchvision's "
                f"{spec.cls_name} files); give the folder holding them with --data-root DIR, download them "
                f"with --set data.download=true where the network allows, or use an image folder or archive "
                f"with --set data.dataset=imagefolder --data-root PATH"
            )
        log(f"{name}: {'unpacking the downloaded archive' if local else 'downloading'} into {base}")
        try:
            base.mkdir(parents=True, exist_ok=True)
            # torchvision prints progress; keep it off the terminal the app draws on.
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                decoded = _tv_decode(spec, cls, base, download=True)
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001 - network and archive errors of every kind
            raise DataError(
                f"{name}: {'unpacking' if local else 'download'} into {base} failed "
                f"({type(exc).__name__}: {_first_line(exc)}); without a network, give a folder holding "
                f"{_tv_looked_for(spec, cls)} with --data-root DIR"
            ) from None
        found = base
        if not all(p.is_file() for p in _tv_files(spec, cls, found)):
            raise DataError(f"{name}: torchvision did not leave the expected files in {base}")

    root = found.resolve()
    files = _tv_files(spec, cls, found)
    signature = tcache.file_signature(files, found)
    key = tcache.make_key(name, root, signature, cfg.image_size)
    path = tcache.tensor_path(cache, name, root, cfg.image_size, key)
    where = f"from {root}"
    if decoded is None:
        cached = tcache.load_tensors(path, log)
        if cached is not None:
            log(f"{name}: loaded from the cache {path}")
            return _raw_from_payload(cached, where, "cache hit")
        log(f"{name}: reading torchvision's files in {root}")
        try:
            decoded = _tv_decode(spec, cls, found, download=False)
        except Exception as exc:  # noqa: BLE001
            raise DataError(
                f"{name}: the files in {root} are incomplete or corrupt ({type(exc).__name__}: "
                f"{_first_line(exc)}); delete them and download again with --set data.download=true, "
                f"or point --data-root at a good copy"
            ) from None
    train_x, train_y, test_x, test_y, classes = decoded
    if cfg.image_size is not None:
        train_x = resize_images(train_x, cfg.image_size)
        test_x = resize_images(test_x, cfg.image_size)
    payload = dict(train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y, classes=list(classes))
    how = _save(path, payload, time.perf_counter() - t0, log)
    return _Raw(train_x, train_y, test_x, test_y, tuple(classes), where, how)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else "")[:300]


def _raw_from_payload(payload: dict[str, Any], where: str, how: str) -> _Raw:
    return _Raw(
        train_x=payload["train_x"],
        train_y=payload["train_y"],
        test_x=payload["test_x"],
        test_y=payload["test_y"],
        classes=tuple(payload["classes"]),
        where=where,
        how=how,
    )


def _save(path: Path, payload: dict[str, Any], seconds: float, log: Log) -> str:
    if tcache.save_tensors(path, payload, log):
        return f"decoded in {seconds:.1f} s, cached"
    return f"decoded in {seconds:.1f} s, not cached"


# -- image folders and archives -----------------------------------------------------------


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


@dataclass
class _Layout:
    root: Path  # the folder holding train/ and test/
    classes: tuple[str, ...]
    train: list[tuple[Path, int]]
    test: list[tuple[Path, int]]

    def signature(self) -> list[list[Any]]:
        files = [p for p, _ in self.train + self.test]
        return [list(self.classes), tcache.file_signature(files, self.root)]


def _find_root(folder: Path) -> Path:
    if (folder / "train").is_dir():
        return folder
    subdirs = [d for d in folder.iterdir() if d.is_dir() and not _hidden(d.name)]
    if len(subdirs) == 1 and (subdirs[0] / "train").is_dir():
        return subdirs[0]
    raise DataError(f"imagefolder: no train/ folder in {folder}; {_LAYOUT_HINT}")


def _class_dirs(split_dir: Path) -> list[Path]:
    return sorted((d for d in split_dir.iterdir() if d.is_dir() and not _hidden(d.name)), key=lambda d: d.name)


def _images_under(folder: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not _hidden(d))
        for f in sorted(filenames):
            if not _hidden(f) and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS:
                out.append(Path(dirpath) / f)
    return out


def scan_imagefolder(folder: Path) -> _Layout:
    """Find train/ and test/ (or val/) and list their images by class."""
    root = _find_root(folder)
    train_dir = root / "train"
    test_dir = next((root / n for n in TEST_SPLIT_NAMES if (root / n).is_dir()), None)
    if test_dir is None:
        raise DataError(f"imagefolder: no test/ or val/ folder next to train/ in {root}; {_LAYOUT_HINT}")
    train_classes = _class_dirs(train_dir)
    if not train_classes:
        raise DataError(f"imagefolder: {train_dir} has no class subfolders; {_LAYOUT_HINT}")
    test_classes = _class_dirs(test_dir)
    names = tuple(d.name for d in train_classes)
    test_names = tuple(d.name for d in test_classes)
    if names != test_names:
        missing = sorted(set(names) - set(test_names))
        extra = sorted(set(test_names) - set(names))
        parts = []
        if missing:
            parts.append(f"missing from {test_dir.name}/: {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
        if extra:
            parts.append(f"not in train/: {', '.join(extra[:5])}{' ...' if len(extra) > 5 else ''}")
        raise DataError(
            f"imagefolder: the class folders of {test_dir.name}/ and train/ differ in {root} ({'; '.join(parts)}); "
            f"both splits need the same class subfolders"
        )
    if len(names) < 2:
        raise DataError(f"imagefolder: {train_dir} has only one class folder ({names[0]}); a classifier needs two or more")

    def listing(dirs: list[Path], split: str) -> list[tuple[Path, int]]:
        items: list[tuple[Path, int]] = []
        for label, d in enumerate(dirs):
            files = _images_under(d)
            if not files and split == "train":
                raise DataError(
                    f"imagefolder: class folder {d} has no images ({', '.join(sorted(IMAGE_EXTENSIONS)[:6])}, ...)"
                )
            items.extend((f, label) for f in files)
        if not items:
            raise DataError(f"imagefolder: no images in {root / split}; {_LAYOUT_HINT}")
        return items

    return _Layout(root, names, listing(train_classes, "train"), listing(test_classes, test_dir.name))


_FORMAT_BY_EXTENSION = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".gif": "GIF", ".webp": "WEBP"}


def _decode_one(path: Path, size: int | None) -> np.ndarray:
    """One image as uint8 [H, W] (grayscale) or [H, W, 3] (everything else, as RGB)."""
    from PIL import Image, UnidentifiedImageError

    fmt = _FORMAT_BY_EXTENSION.get(path.suffix.lower())
    try:  # naming the format skips probing every plugin: a third faster for small images
        im = Image.open(path, formats=[fmt] if fmt else None)
    except UnidentifiedImageError:
        if fmt is None:
            raise
        im = Image.open(path)  # the extension lied
    with im:
        gray = im.mode in _GRAY_MODES
        mode = "L" if gray else "RGB"
        if im.mode != mode:
            im = im.convert(mode)
        else:
            im.load()
        if size is not None and im.size != (size, size):
            w, h = im.size
            side = min(w, h)
            left, top = (w - side) / 2, (h - side) / 2
            im = im.resize((size, size), Image.Resampling.BILINEAR, box=(left, top, left + side, top + side))
        w, h = im.size
        shape = (h, w) if gray else (h, w, 3)
        return np.frombuffer(im.tobytes(), dtype=np.uint8).reshape(shape)


def _decode_images(
    files: Sequence[Path], size: int | None, root: Path, log: Log, label: str
) -> list[np.ndarray]:
    # Small images are bound by Python overhead (the GIL), so more threads stop helping soon.
    workers = max(1, min(8, os.cpu_count() or 1))
    chunk = max(16, min(512, math.ceil(len(files) / (workers * 8))))
    out: list[np.ndarray | None] = [None] * len(files)

    def work(start: int) -> int:
        for i in range(start, min(start + chunk, len(files))):
            try:
                out[i] = _decode_one(files[i], size)
            except Exception as exc:  # noqa: BLE001 - any unreadable image, named
                raise DataError(f"imagefolder: cannot read {_rel(files[i], root)}: {_first_line(exc)}") from None
        return min(start + chunk, len(files)) - start

    done, last = 0, time.monotonic()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        futures = [pool.submit(work, s) for s in range(0, len(files), chunk)]
        try:
            for fut in as_completed(futures):
                done += fut.result()
                if time.monotonic() - last > 2.0:
                    last = time.monotonic()
                    log(f"imagefolder: decoded {done:,}/{len(files):,} {label} images")
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return out  # type: ignore[return-value]


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _stack(
    splits: list[tuple[list[np.ndarray], list[Path]]], root: Path, size: int | None
) -> list[torch.Tensor]:
    """Stack decoded images into uint8 [N, C, H, W]: RGB, or 1 channel if all are gray."""
    ref_shape, ref_file = splits[0][0][0].shape[:2], splits[0][1][0]
    hint = "resize them all with --set data.image_size=N"
    for arrays, files in splits:
        for a, f in zip(arrays, files):
            if a.shape[:2] != ref_shape:
                raise DataError(
                    f"imagefolder: images differ in size: {_rel(f, root)} is {a.shape[1]}x{a.shape[0]}, "
                    f"{_rel(ref_file, root)} is {ref_shape[1]}x{ref_shape[0]}; {hint}"
                )
    h, w = ref_shape
    if h != w:
        raise DataError(f"imagefolder: images are {w}x{h}, not square (e.g. {_rel(ref_file, root)}); {hint}")
    gray = all(a.ndim == 2 for arrays, _ in splits for a in arrays)
    channels = 1 if gray else 3
    out = []
    for arrays, _ in splits:
        x = np.empty((len(arrays), h, w, channels), dtype=np.uint8)
        for i, a in enumerate(arrays):
            x[i] = a[..., None] if a.ndim == 2 else a
        out.append(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous())
    return out


def _decode_layout(layout: _Layout, size: int | None, log: Log) -> dict[str, Any]:
    train_files = [p for p, _ in layout.train]
    test_files = [p for p, _ in layout.test]
    log(
        f"imagefolder: decoding {len(train_files):,} train and {len(test_files):,} test images "
        f"in {len(layout.classes)} classes from {layout.root}"
    )
    train = _decode_images(train_files, size, layout.root, log, "train")
    test = _decode_images(test_files, size, layout.root, log, "test")
    train_x, test_x = _stack([(train, train_files), (test, test_files)], layout.root, size)
    return dict(
        train_x=train_x,
        train_y=torch.tensor([y for _, y in layout.train], dtype=torch.int64),
        test_x=test_x,
        test_y=torch.tensor([y for _, y in layout.test], dtype=torch.int64),
        classes=list(layout.classes),
    )


def _load_imagefolder(cfg: DataConfig, cache: Path, log: Log) -> _Raw:
    if not cfg.root:
        raise DataError("imagefolder: needs a folder or archive: --data-root PATH (or --set data.root=PATH)")
    given = Path(cfg.root).expanduser()
    if not given.exists():
        raise DataError(f"imagefolder: {given} does not exist; {_LAYOUT_HINT}")
    source = given.resolve()
    where = f"from {source}"
    t0 = time.perf_counter()
    if source.is_file():
        if not is_archive(source):
            raise DataError(f"imagefolder: {source} is a file but not a .tar/.tar.gz/.tgz/.tar.xz/.zip archive; {_LAYOUT_HINT}")
        signature: Any = tcache.file_signature([source])
        key = tcache.make_key("imagefolder", source, signature, cfg.image_size)
        path = tcache.tensor_path(cache, "imagefolder", source, cfg.image_size, key)
        cached = tcache.load_tensors(path, log)
        if cached is not None:
            log(f"imagefolder: loaded from the cache {path}")
            return _raw_from_payload(cached, where, "cache hit")
        layout = scan_imagefolder(extract_archive(source, cache, log))
    elif source.is_dir():
        layout = scan_imagefolder(source)
        key = tcache.make_key("imagefolder", source, layout.signature(), cfg.image_size)
        path = tcache.tensor_path(cache, "imagefolder", source, cfg.image_size, key)
        cached = tcache.load_tensors(path, log)
        if cached is not None:
            log(f"imagefolder: loaded from the cache {path}")
            return _raw_from_payload(cached, where, "cache hit")
    else:
        raise DataError(f"imagefolder: {source} is neither a folder nor an archive; {_LAYOUT_HINT}")
    payload = _decode_layout(layout, cfg.image_size, log)
    how = _save(path, payload, time.perf_counter() - t0, log)
    return _raw_from_payload(payload, where, how)


# -- safe archive extraction --------------------------------------------------------------

_DRIVE = re.compile(r"^[A-Za-z]:")


def _member_parts(archive: Path, name: str) -> tuple[str, ...]:
    """The path components of an archive member, refusing anything that could escape."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        raise DataError(f"imagefolder: refusing to extract {archive.name}: member '{name}' has an absolute path")
    parts = tuple(p for p in PurePosixPath(norm).parts if p not in ("", "."))
    if ".." in parts:
        raise DataError(f"imagefolder: refusing to extract {archive.name}: member '{name}' points outside the archive (..)")
    return parts


def _link_target(archive: Path, member: str, link: str, relative_to_member: bool) -> tuple[str, ...]:
    """Resolve a link inside the archive; refuse one that leads outside it."""
    norm = link.replace("\\", "/")
    bad = DataError(f"imagefolder: refusing to extract {archive.name}: link '{member}' -> '{link}' leads outside the archive")
    if norm.startswith("/") or _DRIVE.match(norm):
        raise bad
    base = list(_member_parts(archive, member)[:-1]) if relative_to_member else []
    for part in PurePosixPath(norm).parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not base:
                raise bad
            base.pop()
        else:
            base.append(part)
    return tuple(base)


def _extract_into(archive: Path, dest: Path, log: Log = _nolog) -> int:
    """Extract regular files and folders only; links inside the archive become copies
    of their targets. Returns the number of files written."""
    links: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    written, last = 0, time.monotonic()

    def progress() -> None:  # every 2 s: a sign of life on a big archive, and a cancel point
        nonlocal last
        if time.monotonic() - last > 2.0:
            last = time.monotonic()
            log(f"imagefolder: extracted {written:,} files from {archive.name}")

    made: set[Path] = set()

    def target_of(parts: tuple[str, ...]) -> Path:
        t = dest.joinpath(*parts)
        if t.parent not in made:  # one mkdir per folder, not per file
            t.parent.mkdir(parents=True, exist_ok=True)
            made.add(t.parent)
        return t

    if archive.name.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                parts = _member_parts(archive, info.filename)
                if not parts:
                    continue
                mode = (info.external_attr >> 16) & 0o170000
                if info.is_dir():
                    dest.joinpath(*parts).mkdir(parents=True, exist_ok=True)
                elif mode == 0o120000:  # a symbolic link: its content is the target
                    link = zf.read(info).decode("utf-8", "replace")
                    links.append((parts, _link_target(archive, info.filename, link, True)))
                else:
                    with zf.open(info) as src, open(target_of(parts), "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    written += 1
                    progress()
    else:
        with tarfile.open(archive, "r:*") as tf:
            for m in tf:
                parts = _member_parts(archive, m.name)
                if not parts:
                    continue
                if m.isdir():
                    dest.joinpath(*parts).mkdir(parents=True, exist_ok=True)
                elif m.isfile():
                    src = tf.extractfile(m)
                    assert src is not None
                    with src, open(target_of(parts), "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    written += 1
                    progress()
                elif m.issym():
                    links.append((parts, _link_target(archive, m.name, m.linkname, True)))
                elif m.islnk():
                    links.append((parts, _link_target(archive, m.name, m.linkname, False)))
                # devices, fifos and the like are skipped
    for parts, target in links:
        src_path = dest.joinpath(*target)
        if src_path.is_file() and not src_path.is_symlink():
            shutil.copyfile(src_path, target_of(parts))
            written += 1
    return written


def extract_archive(archive: Path, cache: Path, log: Log = _nolog) -> Path:
    """Extract ``archive`` (once) into ``<cache>/extracted/``, keyed by its path, size and
    modification time; returns the folder. Members with absolute paths, ``..`` or links
    leading outside the archive are refused with a DataError."""
    archive = archive.resolve()
    st = archive.stat()
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", archive.name)
    prefix = f"{stem}-{tcache.short_hash(str(archive), 8)}-"
    final = cache / tcache.EXTRACT_DIR / (prefix + tcache.short_hash(f"{st.st_size}:{st.st_mtime_ns}", 12))
    if final.is_dir():
        log(f"imagefolder: using {archive.name} already extracted in {final}")
        return final
    log(f"imagefolder: extracting {archive} into {final}")  # before the temporary folder: it may cancel
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".tmp-{stem}-"))
    try:
        try:
            n = _extract_into(archive, tmp, log)
        except DataError:
            raise
        except OSError as exc:
            writing = exc.errno in _FULL_ERRNOS or str(exc.filename or "").startswith(str(tmp))
            if not writing:
                raise DataError(f"imagefolder: cannot read the archive {archive}: {type(exc).__name__}: {_first_line(exc)}") from None
            # The archive is fine; the cache's disk is not (full, quota, read-only).
            raise DataError(
                f"imagefolder: cannot extract {archive.name} into {cache}: {exc.strerror} "
                f"(extracted it takes several times the archive's {fmt.size(st.st_size)}); move the cache "
                "to a disk with room (TUI_TRAINER_CACHE=DIR) or extract it yourself and give the folder with --data-root"
            ) from None
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, ValueError) as exc:
            raise DataError(f"imagefolder: cannot read the archive {archive}: {type(exc).__name__}: {_first_line(exc)}") from None
        except Exception as exc:  # lzma/zlib errors and the like
            raise DataError(f"imagefolder: cannot read the archive {archive}: {type(exc).__name__}: {_first_line(exc)}") from None
        if n == 0:
            raise DataError(f"imagefolder: the archive {archive} holds no files; {_LAYOUT_HINT}")
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # not just a concurrent extraction that won the race
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    # Older extractions of the same archive (it changed since) are stale.
    for old in final.parent.glob(prefix + "*"):
        if old != final and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return final


_LOADERS: dict[str, Callable[[DataConfig, Path, Log], _Raw]] = {
    **{name: _load_torchvision for name in _TORCHVISION},
    "imagefolder": _load_imagefolder,
    "digits": _load_digits,
    "synthetic": _load_synthetic,
}

DATASETS = tuple(_LOADERS)
