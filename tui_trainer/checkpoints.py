"""Checkpoints: atomic writes, safe loads, and a saver that keeps the best-k and last-k.

A checkpoint is a plain dict (tensors, numbers, strings, lists) so that it loads with
``torch.load(weights_only=True)``: loading never runs code from the file. Files are
written to a temporary name and renamed, so a crash mid-write leaves the previous
file (and the ``last.pt`` / ``best.pt`` links) intact.

``last.pt`` and ``best.pt`` are relative symlinks where the filesystem has them, else
hard links, else copies (FAT disks, some network shares, Windows without the symlink
privilege): each is a complete checkpoint to any reader, ``torch.load`` included, and
:func:`linked_checkpoint` is the one place that says which saved file one stands for.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError
from .fileio import atomic_torch_save

FORMAT = "tui-trainer-checkpoint"
VERSION = 1
LAST = "last.pt"
BEST = "best.pt"
# What a save killed midway leaves: the temporary file of a checkpoint (fileio.atomic_writer's
# ".epoch_003_acc_71.20.pt.k2j4x9.tmp", as big as the checkpoint) or of a link (".last.pt.4711.tmp").
PARTIAL_SAVES = ".*.pt.*.tmp"
_NAME = re.compile(r"^epoch_(\d+)(?:_step_(\d+))?(?:_acc_(\d+\.\d+))?\.pt$")


def atomic_save(obj: Any, path: Path) -> int:
    """Write a checkpoint atomically; returns its size in bytes."""
    return atomic_torch_save(obj, Path(path))


def _atomic_link(link: Path, target_name: str) -> None:
    """Point ``link`` at ``target_name`` (a file beside it), replacing it atomically.
    An error is the link's own (the checkpoint it names is saved), and says so."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")  # a PARTIAL_SAVES name
    try:
        tmp.unlink(missing_ok=True)
        _write_link(tmp, link.with_name(target_name))
        os.replace(tmp, link)
        # A rename onto a hard link of the same file does nothing (POSIX), leaving tmp.
        tmp.unlink(missing_ok=True)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        why = exc.strerror or type(exc).__name__
        raise OSError(exc.errno, f"{why} (the link to {target_name}, which is saved)", str(link)) from exc


def _write_link(tmp: Path, target: Path) -> None:
    """A relative symlink; where the filesystem refuses one (EPERM, ENOTSUP, ENOSYS, ...:
    which errno depends on the filesystem and OS), a hard link; else a copy."""
    try:
        os.symlink(target.name, tmp)
        return
    except OSError:
        tmp.unlink(missing_ok=True)
    try:
        os.link(target, tmp)
        return
    except OSError:
        tmp.unlink(missing_ok=True)
    with open(target, "rb") as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())  # durable before the rename, as the checkpoint itself is


def linked_checkpoint(folder: Path, name: str = LAST) -> Path | None:
    """The saved checkpoint that ``folder/name`` (``last.pt``, ``best.pt``) stands for,
    or None if there is none: a symlink's target, the epoch file a hard link shares its
    data with, or else the file itself (a copy). A symlink may name only a file beside
    it: one pointing elsewhere (absolute, ``..``, a subfolder) was not written by us."""
    link = Path(folder) / name
    if link.is_symlink():
        target = os.readlink(link)
        if target in ("", ".", "..") or Path(target).name != target:
            raise CheckpointError(
                f"{link}: points outside its folder (to {target}); tui-trainer's links name a file beside them"
            )
        found = link.with_name(target)
        return found if found.is_file() else None
    if not link.is_file():
        return None
    same = (c.path for c in list_checkpoints(link.parent) if _same_file(c.path, link))
    return next(same, link)


def last_saved(folder: Path) -> str | None:
    """The file ``last.pt`` stands for, as a path to name in a run's end line; None if
    there is none or the link is not ours (the end of a run must not fail for it)."""
    try:
        last = linked_checkpoint(folder)
    except CheckpointError:
        return None
    return str(last.resolve()) if last is not None else None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:  # pruned meanwhile
        return False


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run folder / its checkpoints folder (→ its last checkpoint)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise CheckpointError(f"{path}: no such checkpoint or run folder")
    if p.is_dir():
        folder = p / "checkpoints" if (p / "checkpoints").is_dir() else p
        last = linked_checkpoint(folder)
        if last is not None:
            return last
        saved = sorted(folder.glob("epoch_*.pt"), key=lambda q: q.stat().st_mtime)
        if not saved:
            raise CheckpointError(f"{path}: no checkpoint found in this folder (expected checkpoints/last.pt)")
        return saved[-1]
    if p.name in (LAST, BEST):  # the file it stands for: what the events and status name
        return linked_checkpoint(p.parent, p.name) or p
    return p


def _looks_like_torch_save(path: Path) -> bool:
    """torch.save writes a zip archive (a legacy one, a pickle starting with protocol 2+)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"


# torch.load(weights_only=True) refusing a pickled object that is not a tensor (or a plain
# container of them): its error starts with this, and names the object as "GLOBAL module.Name".
_WEIGHTS_ONLY_REFUSAL = "Weights only load failed"
_UNSAFE_GLOBAL = re.compile(r"\bGLOBAL ([\w.]+)")  # "Unsupported global: GLOBAL x.Y", "unsupported GLOBAL x.y"


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load and sanity-check a checkpoint (file or run folder) onto the CPU."""
    p = resolve_checkpoint(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about odd pickle protocols in garbage
            state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - garbage raises anything: Unpickling, Index, Key, Unicode errors
        if isinstance(exc, IsADirectoryError | PermissionError):
            raise CheckpointError(f"{path}: cannot read: {exc.strerror}") from None
        if not _looks_like_torch_save(p):
            # What torch.load says of a text file or a JPEG ("174812789", "list index out of
            # range") tells the user nothing; what the file is not does.
            raise CheckpointError(
                f"{path}: not a checkpoint (not a file saved by PyTorch); expected a .pt file or run folder written by tui-trainer"
            ) from None
        text = str(exc)
        refused = _UNSAFE_GLOBAL.search(text) if _WEIGHTS_ONLY_REFUSAL in text else None
        if refused is not None:
            # PyTorch's text (a paragraph on weights_only, cut by a one-line error) in our words.
            raise CheckpointError(
                f"{path}: refused for safety: the file holds objects other than tensors ({refused[1]}), and "
                "loading them could run code from the file; a tui-trainer checkpoint holds only tensors, "
                "numbers and text, so this file was not written by tui-trainer or was altered"
            ) from None
        if _WEIGHTS_ONLY_REFUSAL in text:  # a damaged pickle: the unpickler's own line, not the paragraph
            text = next((line for line in text.splitlines() if "WeightsUnpickler error:" in line), "")
            text = text.split("WeightsUnpickler error:", 1)[-1].strip() or "its contents do not unpickle"
        reason = text.splitlines()[0][:120] if text else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or corrupted?): {reason}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a tui-trainer checkpoint (it has no '{FORMAT}' header)")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(
            f"{path}: written by a newer tui-trainer (format {state.get('version')}); upgrade to load it"
        )
    for key in ("config", "model", "epoch", "step"):
        if key not in state:
            raise CheckpointError(f"{path}: incomplete checkpoint (no '{key}')")
    state["path"] = str(p.resolve())
    return state


_SIZE_MISMATCH = re.compile(
    r"size mismatch for (\S+): copying a param with shape torch\.Size\((\[[^\]]*\])\) from checkpoint, "
    r"the shape in current model is torch\.Size\((\[[^\]]*\])\)"
)


def weights_mismatch(exc: BaseException) -> str:
    """The first concrete problem in a failed ``load_state_dict``, in one short line:
    PyTorch's message starts with a header that names only the class."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    detail = next((line for line in lines[1:]), lines[0] if lines else type(exc).__name__)
    m = _SIZE_MISMATCH.search(detail)
    if m:
        detail = f"{m.group(1)} is {m.group(2)} in the checkpoint, {m.group(3)} in this model"
    return detail[:200]


def checkpoint_name(epoch: int, step: int | None, acc: float | None) -> str:
    """``epoch_012_acc_85.07.pt``; a save inside an epoch also names its step."""
    name = f"epoch_{epoch:03d}"
    if step is not None:
        name += f"_step_{step:03d}"
    if acc is not None:
        name += f"_acc_{acc:05.2f}"
    return name + ".pt"


@dataclass
class SavedCheckpoint:
    path: Path
    epoch: int
    step: int
    acc: float | None


def list_checkpoints(folder: Path) -> list[SavedCheckpoint]:
    """The epoch checkpoints in a folder, oldest first: by epoch, an epoch's saves inside
    it (``_step_N``, in step order) before its end's."""
    found = []
    for p in Path(folder).glob("epoch_*.pt"):
        m = _NAME.match(p.name)
        if m:
            found.append(SavedCheckpoint(p, int(m[1]), int(m[2] or 0), float(m[3]) if m[3] else None))
    return sorted(found, key=lambda c: (c.epoch, c.step or math.inf, c.path.stat().st_mtime if c.path.exists() else 0))


def _by_accuracy(saved: list[SavedCheckpoint]) -> list[SavedCheckpoint]:
    """Scored checkpoints, most accurate first; of equal accuracy, the earliest first."""

    def rank(c: SavedCheckpoint) -> tuple[float, int, int]:
        assert c.acc is not None  # only the scored ones are ranked
        return (-c.acc, c.epoch, c.step)

    return sorted((c for c in saved if c.acc is not None), key=rank)


def remove_partial_saves(folder: Path) -> list[Path]:
    """Remove the temporary files of saves interrupted by a kill (see PARTIAL_SAVES);
    complete checkpoints and the links are untouched. Returns what was removed."""
    removed = []
    for p in Path(folder).glob(PARTIAL_SAVES):
        if p.is_dir() and not p.is_symlink():
            continue
        try:
            p.unlink()
        except OSError:
            continue
        removed.append(p)
    return removed


class CheckpointSaver:
    """Writes checkpoints into one folder and prunes to keep-last-N ∪ keep-best-N.

    The newest checkpoint is always kept (it is what ``--resume`` continues from), and
    so is the best one while keep_best > 0. ``last.pt`` and ``best.pt`` are links (see
    the module's docstring), replaced atomically after the file they name is complete.
    """

    def __init__(self, folder: Path, keep_last: int, keep_best: int) -> None:
        self.folder = Path(folder)
        self.keep_last = keep_last
        self.keep_best = keep_best
        # The process that saves into a run folder is its only writer (a resume refuses a
        # live run), so what an earlier one left half written is garbage now.
        remove_partial_saves(self.folder)

    def best(self) -> SavedCheckpoint | None:
        """The most accurate; of equals, the first to get there (as the trainer's best
        epoch is: a later tie does not take best.pt, nor push the first out)."""
        scored = _by_accuracy(list_checkpoints(self.folder))
        return scored[0] if scored else None

    def save(
        self, state: dict[str, Any], epoch: int, acc: float | None, step: int | None = None
    ) -> tuple[Path, int, bool, list[Path]]:
        """Write ``state``; returns (path, size, is_best, removed paths)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        previous_best = self.best()
        previous_acc = previous_best.acc if previous_best is not None else None  # best() is scored
        path = self.folder / checkpoint_name(epoch, step, acc)
        size = atomic_save(state, path)
        _atomic_link(self.folder / LAST, path.name)
        # Against the accuracy in the file name, which has two decimals: 99.4444 is no
        # better than the 99.44 saved before it.
        is_best = acc is not None and (previous_acc is None or round(acc, 2) > previous_acc)
        best = self.best()
        if best is not None and self.keep_best > 0:
            _atomic_link(self.folder / BEST, best.path.name)
        removed = self._prune(newest=path)
        return path, size, is_best, removed

    def _prune(self, newest: Path) -> list[Path]:
        saved = list_checkpoints(self.folder)
        keep = {newest}
        keep.update(c.path for c in saved[-self.keep_last :] if self.keep_last > 0)
        keep.update(c.path for c in _by_accuracy(saved)[: self.keep_best])
        removed = []
        for c in saved:
            if c.path not in keep:
                c.path.unlink(missing_ok=True)
                removed.append(c.path)
        return removed
