"""Small text formatters: one wording for the panes, the headless printers and the CLI
(pure functions of the standard library, so every layer can import them)."""

from __future__ import annotations

import math

# The best epoch's (and checkpoint's) mark, under a column headed "best": a glyph, not a
# colour, so NO_COLOR and monochrome terminals keep it; one character, so the tables
# fit the dashboard's side column (a word here clipped them at 120 columns).
BEST_MARK = "★"


def duration(seconds: float | None) -> str:
    """3725 -> "1:02:05"; 65 -> "1:05"; None or non-finite -> "--:--"."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def elapsed(seconds: float) -> str:
    """A run's length: "12.3s" under a minute (short runs differ in tenths), else "1:02:05"."""
    return f"{seconds:.1f}s" if 0 <= seconds < 59.95 else duration(seconds)


def plural(n: int, noun: str) -> str:
    """(1, "epoch") -> "1 epoch"; (3, "epoch") -> "3 epochs"."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def lr(value: float | None) -> str:
    """Learning rates span decades: 3 significant digits, no trailing noise."""
    if value is None or not math.isfinite(value):
        return "?"
    if value == 0:
        return "0"
    return f"{value:.3g}"


def loss(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "nan" if value is not None else "?"
    return f"{value:.4f}"


def pct(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.2f}%"


def rate(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "?"
    return f"{value:,.0f}"


def count(n: int | None) -> str:
    """53_098 -> "53.1K"; 850 -> "850"."""
    if n is None:
        return "?"
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= scale:
            return f"{n / scale:.1f}{suffix}"
    return str(n)


def bar(fraction: float, width: int) -> str:
    """A text progress bar that reads without colour (NO_COLOR, plain terminals)."""
    width = max(0, width)
    fraction = min(1.0, max(0.0, fraction if math.isfinite(fraction) else 0.0))
    full = int(round(fraction * width))
    return "█" * full + "░" * (width - full)


def run_title(preset: str, run_id: str) -> str:
    """ "20261202-043017-resnet-small-cifar10", not "resnet-small-cifar10 · " before it:
    a run id ends with its preset's name, and the line is narrow (a resumed or renamed
    run whose id does not is shown with both)."""
    if not run_id:
        return preset
    return run_id if not preset or run_id.endswith(preset) else f"{preset} · {run_id}"
