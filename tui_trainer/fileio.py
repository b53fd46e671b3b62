"""Atomic file writes: write a temporary file beside the target, fsync, rename over it.

A reader (another process, a resume after a crash) sees the old file or the new one,
never half of one. Used for checkpoints, the data cache, status files and presets.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_writer(path: Path, mode: str = "wb", durable: bool = True) -> Iterator[IO[Any]]:
    """``with atomic_writer(p) as f: f.write(...)`` replaces ``p`` only if the block succeeds.
    ``durable`` fsyncs the file and its folder (checkpoints); status files skip it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if durable:
        _fsync_dir(path.parent)


def atomic_torch_save(obj: Any, path: Path) -> int:
    """``torch.save`` atomically; returns the file's size in bytes."""
    import torch  # here: the commands that never save a checkpoint never import torch

    with atomic_writer(path) as f:
        try:
            torch.save(obj, f)
        except (OSError, RuntimeError) as exc:
            # A full disk reaches us as torch's "[enforce fail at inline_container.cc] unexpected
            # pos" with the OSError (ENOSPC) as its context: raise that, naming the checkpoint
            # (not the temporary file, whose name means nothing to the user).
            error = exc if isinstance(exc, OSError) else exc.__cause__ or exc.__context__
            if isinstance(error, OSError) and error.errno is not None:
                raise OSError(error.errno, error.strerror, str(path)) from exc
            raise
        size = f.tell()
    return size


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_writer(path, "w", durable=False) as f:
        f.write(text)


def write_json_atomic(path: Path, data: Any) -> None:
    with atomic_writer(path, "w", durable=False) as f:
        json.dump(data, f, indent=1)
        f.write("\n")
