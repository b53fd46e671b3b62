"""What a user reads when a run fails: one line, with what to do next.

Every exception that ends a run becomes a Failed event whose ``reason`` is this line.
Failures the user can act on (bad input, out of memory, a NaN loss, a full or
read-only disk) are worded here; anything else is a bug of ours, reported with its
type and first line (and its traceback in the run's log).
"""

from __future__ import annotations

import contextlib
import errno
import shutil
from pathlib import Path

import torch

from .. import format as fmt
from ..errors import UserError, one_line


class TrainingDiverged(Exception):
    """The loss became NaN or infinite."""


#: How a rank words a collective that broke: another rank died or stopped answering. The
#: launcher, which knows which rank ended and how, replaces a reason that starts so.
COMMUNICATION = "lost contact with another rank"
_BACKEND_WORDS = ("gloo", "NCCL", "ProcessGroup", "Connection reset by peer", "Connection closed by peer")


def is_communication(exc: BaseException) -> bool:
    """A collective failed: a peer is gone (its socket closed) or silent past the timeout."""
    if isinstance(exc, torch.distributed.DistError):
        return True
    return isinstance(exc, RuntimeError) and any(w in str(exc) for w in _BACKEND_WORDS)


def is_expected(exc: BaseException) -> bool:
    """A failure with a worded reason (no traceback needed to understand it)."""
    return isinstance(exc, UserError | torch.OutOfMemoryError | TrainingDiverged) or (
        (isinstance(exc, OSError) and exc.errno is not None) or is_communication(exc)
    )


def failure_reason(exc: BaseException, batch_size: int) -> str:
    """The one line a Failed event carries for ``exc``."""
    if isinstance(exc, UserError | TrainingDiverged):
        return str(exc)
    if isinstance(exc, torch.OutOfMemoryError):
        return (
            f"CUDA out of memory at batch size {batch_size}; try --set data.batch_size={max(1, batch_size // 2)} "
            f"(or precision bf16); resume with --resume"
        )
    if is_communication(exc):
        timed_out = "timed out" in str(exc).lower() or "timeout" in str(exc).lower()
        why = "no answer within train.dist_timeout" if timed_out else "its connection closed"
        return f"{COMMUNICATION} ({why})"  # the Failed event names the last checkpoint
    if isinstance(exc, OSError) and exc.errno is not None:
        return _write_failure(exc)
    return one_line(exc)


def _write_failure(exc: OSError) -> str:
    """Disk full, folder removed or made read-only: training stops; what was written
    before stays valid (checkpoints are replaced atomically)."""
    where = f" {exc.filename}" if exc.filename else ""
    free = ""
    if exc.errno == errno.ENOSPC and exc.filename:
        with contextlib.suppress(OSError):
            free = f" ({fmt.size(shutil.disk_usage(Path(exc.filename).parent).free)} free there)"
    return f"cannot write{where}: {exc.strerror}{free}; training stopped, earlier checkpoints are intact"
