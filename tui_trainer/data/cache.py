"""The on-disk cache of decoded data sets: uint8 tensors, written once, loaded fast.

Only what is expensive to decode is cached (image folders and archives, torchvision
sets); ``digits`` and ``synthetic`` are rebuilt in milliseconds. A cache file is named
after its source and keyed by a hash of everything that decides its contents: the data
set, the resolved source path, the sizes and modification times of the source files,
the image size and :data:`FORMAT_VERSION`. Change any of them and the key changes,
so a stale file is never used; an older file for the same source and image size is
removed when its replacement is written.

Files are written with ``torch.save`` to a temporary file in the same folder and moved
into place with ``os.replace``, so a reader sees either nothing or a whole file. They
are read with ``torch.load(weights_only=True)``; a file that cannot be read or does not
hold what it should is deleted and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch

from ..fileio import atomic_torch_save

#: Bump when the layout or the decoding of cached tensors changes.
FORMAT_VERSION = 1

TENSOR_DIR = "tensors"
EXTRACT_DIR = "extracted"
TORCHVISION_DIR = "torchvision"

Log = Callable[[str], None]


def _nolog(_: str) -> None:
    pass


def short_hash(text: str, n: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def file_signature(paths: Iterable[Path], base: Path | None = None) -> list[list[Any]]:
    """``[name, size, mtime_ns]`` for each file (name relative to ``base`` when given)."""
    out: list[list[Any]] = []
    for path in paths:
        st = os.stat(path)
        name = path.relative_to(base).as_posix() if base is not None else str(path)
        out.append([name, st.st_size, st.st_mtime_ns])
    return out


def make_key(dataset: str, root: Path | str, signature: Any, image_size: int | None) -> str:
    """The hash of everything that decides a cached data set's contents."""
    payload = {
        "version": FORMAT_VERSION,
        "dataset": dataset,
        "root": str(root),
        "files": signature,
        "image_size": image_size,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def tensor_path(cache: Path, dataset: str, root: Path | str, image_size: int | None, key: str) -> Path:
    """``<cache>/tensors/<dataset>-<source>-<size>-<key>.pt``. Files sharing all but the
    key hold older versions of the same source at the same size."""
    return cache / TENSOR_DIR / f"{_prefix(dataset, root, image_size)}{key[:20]}.pt"


def _prefix(dataset: str, root: Path | str, image_size: int | None) -> str:
    return f"{dataset}-{short_hash(str(root), 10)}-{image_size or 'native'}-"


def load_tensors(path: Path, log: Log = _nolog) -> dict[str, Any] | None:
    """The cached payload, or None if there is none or it is unusable (then it is deleted)."""
    if not path.is_file():
        return None
    try:
        payload: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
        problem = _check_payload(payload)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is just a cache miss
        problem = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    if problem is None:
        return payload
    log(f"cache file {path} is unusable ({problem}); rebuilding it")
    try:
        path.unlink()
    except OSError:
        pass
    return None


def _check_payload(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return "not a table"
    if payload.get("version") != FORMAT_VERSION:
        return f"format version {payload.get('version')!r}, expected {FORMAT_VERSION}"
    for split in ("train", "test"):
        x, y = payload.get(f"{split}_x"), payload.get(f"{split}_y")
        if not isinstance(x, torch.Tensor) or x.dtype != torch.uint8 or x.dim() != 4:
            return f"{split}_x is not a uint8 [N, C, H, W] tensor"
        if not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or y.shape != (x.shape[0],):
            return f"{split}_y does not match {split}_x"
    if payload["train_x"].shape[1:] != payload["test_x"].shape[1:]:
        return "train and test images differ in shape"
    classes = payload.get("classes")
    if not isinstance(classes, (list, tuple)) or not classes or not all(isinstance(c, str) for c in classes):
        return "no class names"
    return None


def save_tensors(path: Path, payload: dict[str, Any], log: Log = _nolog) -> bool:
    """Write the payload atomically and drop older versions of it; False (logged) on failure."""
    payload = {**payload, "version": FORMAT_VERSION}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_torch_save(payload, path)
    except (OSError, RuntimeError) as exc:
        log(f"could not write the data cache {path}: {exc}")
        return False
    prefix = path.name[: -len(path.name.split("-")[-1])]
    for old in path.parent.glob(prefix + "*.pt"):
        if old != path:
            try:
                old.unlink()
            except OSError:
                pass
    return True
