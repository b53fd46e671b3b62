"""Downloading torchvision's data files ourselves, with the standard library's urllib,
so that a download of minutes shows its progress and can be stopped.

torchvision's own download draws a tqdm bar on stdout (the app draws there, so it is
swallowed: the user saw nothing for minutes) and has no cancel point. Here the file
comes in chunks; every second the load's ``log`` callback gets a progress line (a bar,
bytes done of the total, the percentage, the rate) and, being the load's cancel point
(:class:`.raw.LoadCancelled`), lets a stop end the download. torchvision then finds
the file in place, checks its md5 and unpacks it without the network.

A file is written to a temporary name beside it and renamed only once it is complete
and its md5 matches: a cut connection, a stop or a kill never leaves a file that looks
complete (torchvision would take it, or a later run would).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .. import format as fmt
from .raw import Log

PROGRESS_EVERY = 1.0  # seconds between progress lines (each one a cancel point)
# Seconds without a byte before a download fails; also the longest a stop waits for a
# server that went silent (no chunk, no callback).
READ_TIMEOUT = 20.0
CHUNK = 1 << 16
USER_AGENT = "pytorch/vision"  # torchvision's: some hosts refuse urllib's default agent
BAR_WIDTH = 20


class DownloadFailed(Exception):
    """Every mirror of a file failed; the message is one line naming the file and why."""


@dataclass(frozen=True)
class Remote:
    """A file to fetch: its mirrors' URLs (tried in order), where it goes, its md5."""

    urls: tuple[str, ...]
    path: Path
    md5: str | None = None


def fetch_all(name: str, files: list[Remote], log: Log) -> None:
    """Download the files of data set ``name`` that are not there (or not intact) yet."""
    for remote in files:
        if remote.path.is_file():
            if remote.md5 is None or _md5_of(remote.path) == remote.md5:
                continue
            log(f"{name}: {remote.path.name} is damaged (its md5 does not match): downloading it again")
        fetch(name, remote, log)


def fetch(name: str, remote: Remote, log: Log) -> None:
    """Download one file, from its first mirror that works; raises DownloadFailed."""
    reasons = []
    for i, url in enumerate(remote.urls):
        try:
            _download(name, url, remote, log)
            return
        except DownloadFailed as exc:
            reasons.append(str(exc))
            if i + 1 < len(remote.urls):
                log(f"{name}: {exc}; trying the next mirror")
    raise DownloadFailed("; ".join(reasons) or f"no address to download {remote.path.name} from")


def _download(name: str, url: str, remote: Remote, log: Log) -> None:
    dest = remote.path
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.download")
    try:
        try:
            size, digest, seconds = _receive(Progress(name, dest.name, log), url, tmp)
        except (http.client.HTTPException, OSError) as exc:  # URLError, timeouts, resets are OSErrors
            raise DownloadFailed(f"downloading {url} failed: {_reason(exc)}") from None
        if remote.md5 is not None and digest != remote.md5:
            raise DownloadFailed(f"{url} sent a damaged {dest.name} (its md5 is {digest}, not {remote.md5})")
        os.replace(tmp, dest)
    except BaseException:  # LoadCancelled too: a partial file must not stay behind
        tmp.unlink(missing_ok=True)
        raise
    log(f"{name}: downloaded {dest.name}, {fmt.size(size)} in {fmt.elapsed(seconds)}")


def _remove_stale(dest: Path) -> None:
    """The temporary files of downloads killed midway. A live one is written to at least
    every READ_TIMEOUT seconds (or fails), so one untouched for twice that is dead: no
    process id to ask (nor a way to ask that is safe on Windows, where os.kill kills)."""
    for p in dest.parent.glob(f".{dest.name}.*.download"):
        with contextlib.suppress(OSError):  # gone meanwhile: its own download removed it
            if time.time() - p.stat().st_mtime > 2 * READ_TIMEOUT:
                p.unlink()


def _receive(progress: Progress, url: str, tmp: Path) -> tuple[int, str, float]:
    """Write what ``url`` sends into ``tmp``; returns (bytes, their md5, seconds)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=READ_TIMEOUT) as response, open(tmp, "wb") as out:
        length = response.headers.get("Content-Length")
        progress.total = int(length) if length and length.isdigit() else None
        done, digest = _copy(response, out, progress)
    if progress.total is not None and done < progress.total:
        raise DownloadFailed(f"downloading {url} failed: the connection closed after {progress.amount(done)}")
    return done, digest, progress.elapsed()


def _copy(src: IO[bytes], out: IO[bytes], progress: Progress) -> tuple[int, str]:
    digest = hashlib.md5(usedforsecurity=False)
    done = 0
    progress.show(0, force=True)  # the total at once (and a cancel point before any byte)
    # read1: what has come, up to CHUNK (read would wait for all CHUNK bytes: on a slow
    # link, many seconds without a progress line or a cancel point).
    read = getattr(src, "read1", src.read)
    while chunk := read(CHUNK):
        out.write(chunk)
        digest.update(chunk)
        done += len(chunk)
        progress.show(done)
    return done, digest.hexdigest()


class Progress:
    """A download's progress line, at most every PROGRESS_EVERY seconds."""

    def __init__(self, name: str, filename: str, log: Log) -> None:
        self.name, self.filename, self.log = name, filename, log
        self.total: int | None = None  # the server's Content-Length, once it answers
        self.start = self.last = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def show(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= PROGRESS_EVERY:
            self.last = now
            self.log(self.line(done))

    def amount(self, done: int) -> str:
        """ "12.0 MiB of 162.6 MiB (7%)", or "12.0 MiB" when the server gave no size."""
        if not self.total:
            return fmt.size(done)
        return f"{fmt.size(done)} of {fmt.size(self.total)} ({fmt.pct(100 * done / self.total, 0)})"

    def line(self, done: int) -> str:
        seconds = self.elapsed()
        rate = f", {fmt.size(int(done / seconds))}/s" if seconds > 0 and done else ""
        bar = f" {fmt.bar(done / self.total, BAR_WIDTH)}" if self.total else ""
        return f"{self.name}: downloading {self.filename}{bar} {self.amount(done)}{rate}"


def _reason(exc: BaseException) -> str:
    """One short line for a network error."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else OSError(str(exc.reason))
    if isinstance(exc, TimeoutError):
        return f"no data from the server for {READ_TIMEOUT:.0f} s"
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection closed early"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f": {exc.filename}" if exc.filename else "")
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__


def _md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
