"""Archives (.tar, .tar.gz, .tgz, .tar.xz, .tar.bz2, .zip) extracted once, safely, into
the cache: no member may land outside the folder, links become copies, a truncated
archive is refused (never half extracted and cached as whole), and the members' total
size is bounded by the free disk space and by a ratio to the archive's size (a
decompression bomb stops before its big members are written). A failed extraction
leaves nothing behind."""

from __future__ import annotations

import errno
import math
import os
import re
import shutil
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO, Any, Self

from .. import format as fmt
from ..errors import DataError
from . import cache as tcache
from .raw import LAYOUT_HINT, Log, first_line, nolog

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz", ".zip")
# Errors only writing raises: the disk written to is at fault, not the file read.
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
#: Part of the extraction's key and of the tensor cache's key of an archive: bumped when
#: extraction changes what it accepts (2: truncated archives refused; version 1 could
#: cache a partial extraction as complete).
EXTRACT_VERSION = 2

RATIO_ENV = "TUI_TRAINER_MAX_EXTRACT_RATIO"
SIZE_ENV = "TUI_TRAINER_MAX_EXTRACT_SIZE"
#: Extracted members may hold at most this many times the archive's size. Image archives
#: hold compressed images (JPEG, PNG: about 1x); raw pixels of sparse images compress
#: maybe 10-20x; a decompression bomb, thousands.
DEFAULT_MAX_RATIO = 100.0
_SIZE_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_SIZE_TEXT = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


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


def parse_size(text: str) -> int | None:
    """``"500M"``, ``"20G"``, ``"1.5 GiB"``, ``"123456"`` (bytes) as bytes; None if not a size."""
    m = _SIZE_TEXT.match(text)
    return None if m is None else int(float(m[1]) * _SIZE_UNITS[m[2].lower()])


class _Limits:
    """How much an extraction may write: at most ``max_ratio`` times the archive's size,
    and at most the free space of the cache's disk (or TUI_TRAINER_MAX_EXTRACT_SIZE)."""

    def __init__(self, archive: Path, archive_size: int, folder: Path) -> None:
        self.archive, self.archive_size = archive, archive_size
        ratio_text = os.environ.get(RATIO_ENV, "").strip()
        if ratio_text:
            try:
                self.max_ratio = float(ratio_text)
            except ValueError:
                self.max_ratio = math.nan
            if not self.max_ratio > 0:  # nan too
                raise DataError(f"{RATIO_ENV}={ratio_text!r} is not a ratio; allowed: a number > 0 (e.g. 500, or inf)")
        else:
            self.max_ratio = DEFAULT_MAX_RATIO
        size_text = os.environ.get(SIZE_ENV, "").strip()
        if size_text:
            size = parse_size(size_text)
            if size is None:
                raise DataError(
                    f"{SIZE_ENV}={size_text!r} is not a size; allowed: bytes, or a number with K, M, G or T (e.g. 500M, 20G)"
                )
            self.max_bytes, self.bytes_limit = size, f"the {SIZE_ENV}={size_text} allowed"
        else:
            free = shutil.disk_usage(folder).free
            self.max_bytes, self.bytes_limit = free, f"the {fmt.size(free)} free in {folder}"
        self.declared = 0  # the members' sizes as their headers say (before they are written)
        self.written = 0  # bytes written (what a header understated shows here)

    def declare(self, size: int, whole: bool = False) -> None:
        """Before writing: ``size`` more bytes are coming (``whole``: the archive's total)."""
        self.declared += max(0, size)
        self._check(self.declared, "" if whole else "at least ")

    def wrote(self, size: int) -> None:
        self.written += size
        self._check(self.written, "at least ")

    def _check(self, total: int, at_least: str) -> None:
        name = self.archive.name
        if total > self.max_ratio * max(self.archive_size, 1):
            raise DataError(
                f"imagefolder: refusing to extract {name}: its members hold {at_least}{fmt.size(total)}, "
                f"{total / max(self.archive_size, 1):,.0f} times the archive's {fmt.size(self.archive_size)} "
                f"(a decompression bomb?); the limit is {self.max_ratio:g} times, "
                f"set {RATIO_ENV}=N to allow more"
            )
        if total > self.max_bytes:
            raise DataError(
                f"imagefolder: cannot extract {name}: its members hold {at_least}{fmt.size(total)}, more than "
                f"{self.bytes_limit}; free some space, move the cache to a disk with room (TUI_TRAINER_CACHE=DIR), "
                f"set {SIZE_ENV}=SIZE (e.g. 20G), or extract it yourself and give the folder with --data-root"
            )


class _Counted:
    """A file that tells the limits what is written to it, before it is written."""

    def __init__(self, f: IO[bytes], limits: _Limits) -> None:
        self.f, self.limits = f, limits

    def write(self, data: Any) -> int:
        self.limits.wrote(len(data))
        return self.f.write(data)


def _truncated(archive: Path, detail: str) -> DataError:
    return DataError(
        f"imagefolder: archive truncated: {archive.name} {detail}; nothing was extracted or cached, "
        "copy or download it again"
    )


# tarfile's header errors (private classes: named, not imported) as why it stopped reading.
_HEADER_ENDS = {
    "EOFHeaderError": "marker",  # a zero block: the end-of-archive marker
    "EmptyHeaderError": "truncated",  # nothing left to read
    "TruncatedHeaderError": "truncated",  # less than a block left
    "InvalidHeaderError": "invalid",  # a bad checksum: a damaged header
}


def _header_recorder(ends: list[str]) -> type[tarfile.TarInfo]:
    """A TarInfo class that notes why tarfile stopped reading headers: tarfile ends its
    member list quietly at a header cut short or damaged (after the first), which reads
    as the archive's end; only an end-of-archive marker (a zero block) is one."""

    class Header(tarfile.TarInfo):
        @classmethod
        def fromtarfile(cls, tf: tarfile.TarFile) -> Self:
            try:
                return super().fromtarfile(tf)
            except tarfile.HeaderError as exc:
                # A long name's header that fails on the next one (SubsequentHeaderError)
                # was noted by that one's own call.
                end = _HEADER_ENDS.get(type(exc).__name__)
                if end is not None:
                    ends.append(end)
                raise

    return Header


_Parts = tuple[str, ...]  # a member's path inside the archive, as _member_parts gives it


class _Writer:
    """Writes an extraction's folders and files under ``dest``, counting each file's bytes
    against ``limits`` before they are written; collects the archive's links, which become
    copies of their targets once every member is out (a target may come after its link)."""

    def __init__(self, archive: Path, dest: Path, limits: _Limits, log: Log) -> None:
        self.archive, self.dest, self.limits, self.log = archive, dest, limits, log
        self.written, self._last = 0, time.monotonic()
        self._made: set[Path] = set()
        self.links: list[tuple[_Parts, _Parts]] = []  # (the link, its target)

    def folder(self, parts: _Parts) -> None:
        self.dest.joinpath(*parts).mkdir(parents=True, exist_ok=True)

    def file(self, src: IO[bytes], parts: _Parts) -> None:
        t = self.dest.joinpath(*parts)
        if t.parent not in self._made:  # one mkdir per folder, not per file
            t.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(t.parent)
        with src, open(t, "wb") as dst:
            shutil.copyfileobj(src, _Counted(dst, self.limits), 1 << 20)
        self.written += 1
        self._progress()

    def _progress(self) -> None:  # every 2 s: a sign of life on a big archive, and a cancel point
        if time.monotonic() - self._last > 2.0:
            self._last = time.monotonic()
            self.log(f"imagefolder: extracted {fmt.number(self.written)} files from {self.archive.name}")

    def copy_links(self) -> None:
        for parts, target in self.links:
            src_path = self.dest.joinpath(*target)
            if src_path.is_file() and not src_path.is_symlink():
                self.limits.declare(src_path.stat().st_size)  # a copy: a thousand links to one big file are a bomb too
                self.file(open(src_path, "rb"), parts)


def _extract_into(archive: Path, dest: Path, limits: _Limits, log: Log = nolog) -> int:
    """Extract regular files and folders only; links inside the archive become copies
    of their targets; ``limits`` bounds what is written. Returns the number of files written."""
    out = _Writer(archive, dest, limits, log)
    if archive.name.lower().endswith(".zip"):
        _extract_zip(archive, out)
    else:
        _extract_tar(archive, out)
    out.copy_links()
    return out.written


def _extract_zip(archive: Path, out: _Writer) -> None:
    with _open_zip(archive) as zf:
        infos = zf.infolist()
        # A zip lists its members' sizes up front: a bomb is refused before anything is written.
        out.limits.declare(sum(i.file_size for i in infos if not i.is_dir()), whole=True)
        for info in infos:
            parts = _member_parts(archive, info.filename)
            if not parts:
                continue
            mode = (info.external_attr >> 16) & 0o170000
            if info.is_dir():
                out.folder(parts)
            elif mode == 0o120000:  # a symbolic link: its content is the target
                link = zf.read(info).decode("utf-8", "replace")
                out.links.append((parts, _link_target(archive, info.filename, link, True)))
            else:
                out.file(zf.open(info), parts)


def _extract_tar(archive: Path, out: _Writer) -> None:
    """Extract a tar's members; one whose headers end anywhere but at its end-of-archive
    marker is truncated or damaged, and refused (tarfile itself reads it as complete)."""
    ends: list[str] = []  # why tarfile stopped reading headers (see _header_recorder)
    try:
        with tarfile.open(archive, "r:*", tarinfo=_header_recorder(ends)) as tf:
            for m in tf:
                _extract_tar_member(archive, tf, m, out)
            end, offset = (ends[-1] if ends else "marker"), tf.offset
    except tarfile.ReadError as exc:
        if "unexpected end of data" in str(exc):  # a plain tar cut inside a member's data
            raise _truncated(archive, "ends inside a member's data") from None
        if ends and ends[-1] == "truncated":  # a long name's header, then its member's, cut short
            raise _truncated(archive, "ends inside a member header") from None
        raise
    if end == "truncated":
        raise _truncated(archive, f"ends inside a member header at byte {fmt.number(offset)}")
    if end == "invalid":
        raise DataError(
            f"imagefolder: cannot read the archive {archive}: a damaged member header at byte "
            f"{fmt.number(offset)}; copy or download it again"
        )


def _extract_tar_member(archive: Path, tf: tarfile.TarFile, m: tarfile.TarInfo, out: _Writer) -> None:
    parts = _member_parts(archive, m.name)
    if not parts:
        return
    if m.isdir():
        out.folder(parts)
    elif m.isfile():
        # A tar gives each member's size in its header alone: checked before writing it.
        out.limits.declare(m.size)
        member = tf.extractfile(m)
        assert member is not None
        out.file(member, parts)
    elif m.issym():
        out.links.append((parts, _link_target(archive, m.name, m.linkname, True)))
    elif m.islnk():
        out.links.append((parts, _link_target(archive, m.name, m.linkname, False)))
    # devices, fifos and the like are skipped


def _open_zip(archive: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        with open(archive, "rb") as f:
            head = f.read(4)
        if head == b"PK\x03\x04":  # a zip's first member, and no member list at its end
            raise _truncated(
                archive, "ends before its central directory (the list of members at a zip's end)"
            ) from None
        raise


def remove_extraction(folder: Path) -> None:
    """Remove an extraction whose contents proved unusable (the layout, an image), so
    that a bad archive leaves nothing in the cache."""
    shutil.rmtree(folder, ignore_errors=True)


#: An extraction takes minutes; a temporary folder untouched this long was left by one
#: that was killed (SIGKILL, a power cut) before its own clean-up could run.
ABANDONED_S = 24 * 3600


def remove_abandoned(folder: Path) -> None:
    """Remove the temporary folders of killed extractions from ``folder`` (any
    archive's); a younger one may be another process's extraction under way."""
    deadline = time.time() - ABANDONED_S
    for tmp in folder.glob(".tmp-*"):
        try:
            if tmp.is_dir() and tmp.stat().st_mtime < deadline:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:  # gone meanwhile, or not ours to read: not this extraction's concern
            pass


def extract_archive(archive: Path, cache: Path, log: Log = nolog) -> Path:
    """Extract ``archive`` (once) into ``<cache>/extracted/``, keyed by its path, size and
    modification time; returns the folder. Members with absolute paths, ``..`` or links
    leading outside the archive are refused with a DataError."""
    archive = archive.resolve()
    st = archive.stat()
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", archive.name)
    prefix = f"{stem}-{tcache.short_hash(str(archive), 8)}-"
    key = tcache.short_hash(f"{st.st_size}:{st.st_mtime_ns}:v{EXTRACT_VERSION}", 12)
    final = cache / tcache.EXTRACT_DIR / (prefix + key)
    if final.is_dir():
        log(f"imagefolder: using {archive.name} already extracted in {final}")
        return final
    log(f"imagefolder: extracting {archive} into {final}")  # before the temporary folder: it may cancel
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(final.parent)
    limits = _Limits(archive, st.st_size, final.parent)  # a bad override is refused before anything is made
    # Extracted into a temporary folder, renamed when complete: a failure (or a cancel)
    # never leaves a partial extraction where a later load would take it as whole.
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".tmp-{stem}-"))
    try:
        if _extract_or_explain(archive, tmp, cache, limits, log) == 0:
            raise DataError(f"imagefolder: the archive {archive} holds no files; {LAYOUT_HINT}")
        _move_into_place(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _remove_stale(final, prefix)
    return final


def _extract_or_explain(archive: Path, tmp: Path, cache: Path, limits: _Limits, log: Log) -> int:
    """:func:`_extract_into`, with any failure as a one-line DataError that says whose
    fault it is: the archive's (truncated, unreadable) or the cache disk's (full, read-only)."""
    try:
        return _extract_into(archive, tmp, limits, log)
    except DataError:
        raise
    except EOFError:  # gzip, xz and bzip2: "Compressed file ended before the end-of-stream marker"
        raise _truncated(archive, "ends inside its compressed data") from None
    except OSError as exc:
        writing = exc.errno in _FULL_ERRNOS or str(exc.filename or "").startswith(str(tmp))
        if not writing:
            raise _unreadable(archive, exc) from None
        # The archive is fine; the cache's disk is not (full, quota, read-only).
        raise DataError(
            f"imagefolder: cannot extract {archive.name} into {cache}: {exc.strerror} "
            f"(extracted it takes several times the archive's {fmt.size(limits.archive_size)}); move the cache "
            "to a disk with room (TUI_TRAINER_CACHE=DIR) or extract it yourself and give the folder with --data-root"
        ) from None
    except Exception as exc:  # tarfile's and zipfile's errors, ValueError, lzma/zlib errors and the like
        raise _unreadable(archive, exc) from None


def _unreadable(archive: Path, exc: Exception) -> DataError:
    return DataError(f"imagefolder: cannot read the archive {archive}: {type(exc).__name__}: {first_line(exc)}")


def _move_into_place(tmp: Path, final: Path) -> None:
    try:
        os.rename(tmp, final)
    except OSError:
        if not final.is_dir():  # not just a concurrent extraction that won the race
            raise


def _remove_stale(final: Path, prefix: str) -> None:
    """Older extractions of the same archive (it changed since) are stale."""
    for old in final.parent.glob(prefix + "*"):
        if old != final and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
