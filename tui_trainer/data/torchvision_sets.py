"""torchvision's data sets (CIFAR-10/100, MNIST, Fashion-MNIST, SVHN) from the files
torchvision keeps, converted to uint8 tensors directly and cached; downloaded only when
``data.download`` allows, by :mod:`.download` (progress lines, a cancel point), after
which torchvision checks and unpacks the files it finds in place."""

from __future__ import annotations

import contextlib
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import DataConfig
from ..errors import DataError
from . import cache as tcache
from .availability import TORCHVISION_FILES, missing_message, torchvision_root
from .download import DownloadFailed, Remote, fetch_all
from .raw import Log, Raw, first_line, raw_from_payload, resize_images, save_decoded


@dataclass(frozen=True)
class _TV:
    cls_name: str
    kind: str  # "cifar" | "mnist" | "svhn"
    digit_classes: bool = False  # class names "0".."9" instead of torchvision's


TORCHVISION: dict[str, _TV] = {
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


def _tv_remotes(spec: _TV, cls: Any, root: Path) -> list[Remote]:
    """What torchvision would download, where it looks for it first, and its md5."""
    if spec.kind == "cifar":
        return [Remote((cls.url,), root / cls.filename, cls.tgz_md5)]
    if spec.kind == "mnist":
        raw = root / cls.__name__ / "raw"
        return [Remote(tuple(m + n for m in cls.mirrors), raw / n, md5) for n, md5 in cls.resources]
    return [Remote((url,), root / n, md5) for url, n, md5 in (cls.split_list[s] for s in ("train", "test"))]


Decoded = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, tuple[str, ...]]


def _tv_decode(spec: _TV, cls: Any, root: Path, download: bool) -> Decoded:
    """train_x, train_y, test_x, test_y and the class names."""

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


def load_torchvision(cfg: DataConfig, cache: Path, log: Log) -> Raw:
    name = cfg.dataset
    spec = TORCHVISION[name]
    try:
        cls = _tv_class(spec)
    except (ImportError, AttributeError) as exc:
        raise DataError(f"{name}: torchvision's {spec.cls_name} is not available ({exc})") from None
    base, candidates = torchvision_root(cfg, cache)
    found = next((r for r in candidates if all(p.is_file() for p in _tv_files(spec, cls, r))), None)

    decoded: Decoded | None = None
    t0 = time.perf_counter()
    if found is None:
        decoded = _fetch_and_decode(cfg, spec, cls, base, log)
        found = base

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
            return raw_from_payload(cached, where, "cache hit")
        decoded = _decode_found(name, spec, cls, found, root, log)
    return _resized_and_cached(cfg, decoded, path, where, t0, log)


def _fetch_and_decode(cfg: DataConfig, spec: _TV, cls: Any, base: Path, log: Log) -> Decoded:
    """The data set torchvision's files are not found for: downloaded into ``base`` (if
    ``data.download`` allows; archives already there are only unpacked) and decoded."""
    name = cfg.dataset
    archives = _tv_archives(spec, cls, base)
    local = bool(archives) and all(p.is_file() for p in archives)
    if not local and not cfg.download:
        raise DataError(missing_message(name, base))
    log(f"{name}: {'unpacking the downloaded archive' if local else 'downloading'} into {base}")
    try:
        base.mkdir(parents=True, exist_ok=True)
        if not local:
            fetch_all(name, _tv_remotes(spec, cls, base), log)
        # torchvision prints what it does; keep it off the terminal the app draws on.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            decoded = _tv_decode(spec, cls, base, download=True)
    except DataError:
        raise
    except DownloadFailed as exc:
        raise DataError(f"{name}: {exc}; {_offline_hint(name)}") from None
    except Exception as exc:  # noqa: BLE001 - network and archive errors of every kind
        raise DataError(
            f"{name}: {'unpacking' if local else 'download'} into {base} failed "
            f"({type(exc).__name__}: {first_line(exc)}); {_offline_hint(name)}"
        ) from None
    if not all(p.is_file() for p in _tv_files(spec, cls, base)):
        raise DataError(f"{name}: torchvision did not leave the expected files in {base}")
    return decoded


def _offline_hint(name: str) -> str:
    return f"without a network, give a folder holding {TORCHVISION_FILES[name].looked_for} with --data-root DIR"


def _decode_found(name: str, spec: _TV, cls: Any, found: Path, root: Path, log: Log) -> Decoded:
    """Torchvision's files found in ``found`` (``root``, resolved), decoded; a failure blames the files."""
    log(f"{name}: reading torchvision's files in {root}")
    try:
        return _tv_decode(spec, cls, found, download=False)
    except Exception as exc:  # noqa: BLE001
        raise DataError(
            f"{name}: the files in {root} are incomplete or corrupt ({type(exc).__name__}: "
            f"{first_line(exc)}); delete them and download again with --set data.download=true, "
            f"or point --data-root at a good copy"
        ) from None


def _resized_and_cached(cfg: DataConfig, decoded: Decoded, path: Path, where: str, t0: float, log: Log) -> Raw:
    """The decoded tensors at ``data.image_size``, saved to the tensor cache at ``path``
    (``t0``: when the load began, for the time it took)."""
    train_x, train_y, test_x, test_y, classes = decoded
    if cfg.image_size is not None:
        train_x = resize_images(train_x, cfg.image_size)
        test_x = resize_images(test_x, cfg.image_size)
    payload = dict(train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y, classes=list(classes))
    how = save_decoded(path, payload, time.perf_counter() - t0, log)
    return Raw(train_x, train_y, test_x, test_y, tuple(classes), where, how)
