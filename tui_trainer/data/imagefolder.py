"""Image folders: ``train/<class>/<image>`` and ``test/<class>/<image>`` (or ``val/``),
in a folder or an archive, decoded once with PIL in a thread pool and cached as tensors."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import format as fmt
from ..config import DataConfig
from ..errors import DataError
from . import cache as tcache
from .archives import EXTRACT_VERSION, extract_archive, is_archive, remove_extraction
from .raw import LAYOUT_HINT, Log, Raw, first_line, raw_from_payload, save_decoded

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".pnm"}
)
TEST_SPLIT_NAMES = ("test", "val", "valid", "validation")
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})


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
    raise DataError(f"imagefolder: no train/ folder in {folder}; {LAYOUT_HINT}")


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
        raise DataError(f"imagefolder: no test/ or val/ folder next to train/ in {root}; {LAYOUT_HINT}")
    train_classes = _class_dirs(train_dir)
    if not train_classes:
        raise DataError(f"imagefolder: {train_dir} has no class subfolders; {LAYOUT_HINT}")
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
        raise DataError(
            f"imagefolder: {train_dir} has only one class folder ({names[0]}); a classifier needs two or more"
        )

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
            raise DataError(f"imagefolder: no images in {root / split}; {LAYOUT_HINT}")
        return items

    return _Layout(root, names, listing(train_classes, "train"), listing(test_classes, test_dir.name))


_FORMAT_BY_EXTENSION = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".gif": "GIF", ".webp": "WEBP"}


def _decode_one(path: Path, size: int | None) -> np.ndarray:
    """One image as uint8 [H, W] (grayscale) or [H, W, 3] (everything else, as RGB)."""
    from PIL import Image, UnidentifiedImageError

    fmt = _FORMAT_BY_EXTENSION.get(path.suffix.lower())
    try:  # naming the format skips probing every plugin: a third faster for small images
        im: Image.Image = Image.open(path, formats=[fmt] if fmt else None)
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


def _decode_images(files: Sequence[Path], size: int | None, root: Path, log: Log, label: str) -> list[np.ndarray]:
    # Small images are bound by Python overhead (the GIL), so more threads stop helping soon.
    workers = max(1, min(8, os.cpu_count() or 1))
    chunk = max(16, min(512, math.ceil(len(files) / (workers * 8))))
    out: list[np.ndarray | None] = [None] * len(files)

    def work(start: int) -> int:
        for i in range(start, min(start + chunk, len(files))):
            try:
                out[i] = _decode_one(files[i], size)
            except Exception as exc:  # noqa: BLE001 - any unreadable image, named
                raise DataError(f"imagefolder: cannot read {_rel(files[i], root)}: {first_line(exc)}") from None
        return min(start + chunk, len(files)) - start

    done, last = 0, time.monotonic()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        futures = [pool.submit(work, s) for s in range(0, len(files), chunk)]
        try:
            for fut in as_completed(futures):
                done += fut.result()
                if time.monotonic() - last > 2.0:
                    last = time.monotonic()
                    log(f"imagefolder: decoded {fmt.number(done)}/{fmt.number(len(files))} {label} images")
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


def _stack(splits: list[tuple[list[np.ndarray], list[Path]]], root: Path, size: int | None) -> list[torch.Tensor]:
    """Stack decoded images into uint8 [N, C, H, W]: RGB, or 1 channel if all are gray."""
    ref_shape, ref_file = splits[0][0][0].shape[:2], splits[0][1][0]
    hint = "resize them all with --set data.image_size=N"
    for arrays, files in splits:
        for a, f in zip(arrays, files, strict=False):
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
        f"imagefolder: decoding {fmt.number(len(train_files))} train and {fmt.number(len(test_files))} test images "
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


def load_imagefolder(cfg: DataConfig, cache: Path, log: Log) -> Raw:
    """``cfg.root`` is set: the config requires it for this data set."""
    given = Path(cfg.root or "").expanduser()
    if not given.exists():
        raise DataError(f"imagefolder: {given} does not exist; {LAYOUT_HINT}")
    source = given.resolve()
    where = f"from {source}"
    t0 = time.perf_counter()
    if source.is_file():
        if not is_archive(source):
            raise DataError(
                f"imagefolder: {source} is a file but not a .tar/.tar.gz/.tgz/.tar.xz/.zip archive; {LAYOUT_HINT}"
            )
        # With the extraction's version: a cache written from an archive that an older
        # version extracted in part (a truncated one) is not taken as the whole.
        signature: Any = [tcache.file_signature([source]), f"extract-v{EXTRACT_VERSION}"]
        key = tcache.make_key("imagefolder", source, signature, cfg.image_size)
        path = tcache.tensor_path(cache, "imagefolder", source, cfg.image_size, key)
        cached = tcache.load_tensors(path, log)
        if cached is not None:
            log(f"imagefolder: loaded from the cache {path}")
            return raw_from_payload(cached, where, "cache hit")
        extracted = extract_archive(source, cache, log)
        try:
            layout = scan_imagefolder(extracted)
            payload = _decode_layout(layout, cfg.image_size, log)
        except DataError:  # the archive's contents are unusable (layout, an image): keep none of them
            remove_extraction(extracted)
            raise
    elif source.is_dir():
        layout = scan_imagefolder(source)
        key = tcache.make_key("imagefolder", source, layout.signature(), cfg.image_size)
        path = tcache.tensor_path(cache, "imagefolder", source, cfg.image_size, key)
        cached = tcache.load_tensors(path, log)
        if cached is not None:
            log(f"imagefolder: loaded from the cache {path}")
            return raw_from_payload(cached, where, "cache hit")
        payload = _decode_layout(layout, cfg.image_size, log)
    else:
        raise DataError(f"imagefolder: {source} is neither a folder nor an archive; {LAYOUT_HINT}")
    how = save_decoded(path, payload, time.perf_counter() - t0, log)
    return raw_from_payload(payload, where, how)
