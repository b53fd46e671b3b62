"""Archives (.tar, .tar.gz, .tgz, .tar.xz, .tar.bz2, .zip) extracted once, safely, into
the cache: no member may land outside the folder, links become copies."""

from __future__ import annotations

import errno
import os
import re
import shutil
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath

from .. import format as fmt
from ..errors import DataError
from . import cache as tcache
from .raw import LAYOUT_HINT, Log, first_line, nolog

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz", ".zip")
# Errors only writing raises: the disk written to is at fault, not the file read.
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


_DRIVE = re.compile(r"^[A-Za-z]:")


def _member_parts(archive: Path, name: str) -> tuple[str, ...]:
    """The path components of an archive member, refusing anything that could escape."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        raise DataError(f"imagefolder: refusing to extract {archive.name}: member '{name}' has an absolute path")
    parts = tuple(p for p in PurePosixPath(norm).parts if p not in ("", "."))
    if ".." in parts:
        raise DataError(
            f"imagefolder: refusing to extract {archive.name}: member '{name}' points outside the archive (..)"
        )
    return parts


def _link_target(archive: Path, member: str, link: str, relative_to_member: bool) -> tuple[str, ...]:
    """Resolve a link inside the archive; refuse one that leads outside it."""
    norm = link.replace("\\", "/")
    bad = DataError(
        f"imagefolder: refusing to extract {archive.name}: link '{member}' -> '{link}' leads outside the archive"
    )
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


def _extract_into(archive: Path, dest: Path, log: Log = nolog) -> int:
    """Extract regular files and folders only; links inside the archive become copies
    of their targets. Returns the number of files written."""
    links: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    written, last = 0, time.monotonic()

    def progress() -> None:  # every 2 s: a sign of life on a big archive, and a cancel point
        nonlocal last
        if time.monotonic() - last > 2.0:
            last = time.monotonic()
            log(f"imagefolder: extracted {fmt.number(written)} files from {archive.name}")

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
                    member = tf.extractfile(m)
                    assert member is not None
                    with member, open(target_of(parts), "wb") as dst:
                        shutil.copyfileobj(member, dst, 1 << 20)
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


def extract_archive(archive: Path, cache: Path, log: Log = nolog) -> Path:
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
                raise DataError(
                    f"imagefolder: cannot read the archive {archive}: {type(exc).__name__}: {first_line(exc)}"
                ) from None
            # The archive is fine; the cache's disk is not (full, quota, read-only).
            raise DataError(
                f"imagefolder: cannot extract {archive.name} into {cache}: {exc.strerror} "
                f"(extracted it takes several times the archive's {fmt.size(st.st_size)}); move the cache "
                "to a disk with room (TUI_TRAINER_CACHE=DIR) or extract it yourself and give the folder with --data-root"
            ) from None
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, ValueError) as exc:
            raise DataError(
                f"imagefolder: cannot read the archive {archive}: {type(exc).__name__}: {first_line(exc)}"
            ) from None
        except Exception as exc:  # lzma/zlib errors and the like
            raise DataError(
                f"imagefolder: cannot read the archive {archive}: {type(exc).__name__}: {first_line(exc)}"
            ) from None
        if n == 0:
            raise DataError(f"imagefolder: the archive {archive} holds no files; {LAYOUT_HINT}")
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
