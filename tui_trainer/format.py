"""Small text formatters: the one wording of each kind of number (a loss, an accuracy, a
learning rate, a duration, a count, a rate, a size) for the panes, the headless printers
and the CLI, so that a figure reads the same wherever it is shown. Pure functions of the
standard library, so every layer can import them; sentences about a run's events (its
start and end lines) are wording.py's, which builds them from these."""

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


def run_time(train_seconds: float | None, wall_seconds: float | None) -> str:
    """A run's two durations, each labelled, for every place that shows them (the
    progress pane, the end lines, `runs`): "trained 0:26 of 0:51 wall". Training time
    leaves out evaluation, pauses and the compile warm-up; wall time counts them; both
    span all of a run's attempts. One unknown (an older run's) is left out; "" for both."""
    words = []
    if train_seconds is not None:
        words.append(f"trained {elapsed(train_seconds)}")
    if wall_seconds is not None:
        words.append(f"{elapsed(wall_seconds)} wall")
    return " of ".join(words)


def position(epoch: int, epoch_step: int, epoch_steps: int = 0) -> str:
    """Where a run is, in the one convention of every pane, line and file name: the
    epoch the position lies in (1-based) and the steps done in it: (2, 16, 32) ->
    "epoch 2, step 16 of 32"; the end of epoch 2 is "epoch 2, step 32 of 32" (the
    epoch's steps unknown: "epoch 2, step 16")."""
    of = f" of {number(epoch_steps)}" if epoch_steps else ""
    return f"epoch {number(epoch)}, step {number(epoch_step)}{of}"


def eta(seconds: float | None) -> str:
    """Time left: "ETA 1:05"; "ETA --:--" while unknown."""
    return f"ETA {duration(seconds)}"


def seconds(value: float) -> str:
    """A time the user set (a timeout, an interval), as typed: 10 -> "10s", 0.25 -> "0.25s"
    (a measured time reads as :func:`elapsed`)."""
    return f"{setting(value)}s"


def number(n: int | None) -> str:
    """An exact count or index, in full: 53098 -> "53,098" (params, steps, images); :func:`count`
    is its short form."""
    return "?" if n is None else f"{n:,}"


def plural(n: int, noun: str) -> str:
    """(1, "epoch") -> "1 epoch"; (3, "epoch") -> "3 epochs"."""
    return f"{number(n)} {noun}" + ("" if n == 1 else "s")


def size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def memory(used: int, total: int) -> str:
    """Device memory in use of the total, in GiB whatever the amount (so that one reads
    against the other): "12.3/79.6 GiB"."""
    return f"{used / 2**30:.1f}/{total / 2**30:.1f} GiB"


def lr(value: float | None) -> str:
    """Learning rates span decades: 3 significant digits, no trailing noise."""
    if value is None or not math.isfinite(value):
        return "?"
    if value == 0:
        return "0"
    return f"{value:.3g}"


def setting(value: float) -> str:
    """A setting's value as one would type it (a momentum, a weight decay, an lr to set):
    0.9 -> "0.9", 5e-4 -> "0.0005", 1e-5 -> "1e-05"; whole numbers in full (a seed's
    4294967295, not 4.29497e+09)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"


def loss(value: float | None) -> str:
    """Four decimals; a loss below 0.0005 (it would read 0.0000, or 0.0001 for all of
    them) in three significant digits, "4.21e-05"."""
    if value is None or not math.isfinite(value):
        return "nan" if value is not None else "?"
    if 0 < abs(value) < 0.0005:
        return f"{value:.2e}"
    return f"{value:.4f}"


def pct(value: float | None, digits: int = 2) -> str:
    """A percentage: accuracies in hundredths (91.5 -> "91.50%"); ``digits=0`` for the
    whole percents of progress and utilisation ("42%"); None or NaN -> "—"."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}%"


def rate(value: float | None) -> str:
    """Images per second, the bare figure (under a column headed "img/s"): "1,234"."""
    if value is None or not math.isfinite(value):
        return "?"
    return f"{value:,.0f}"


def throughput(value: float | None) -> str:
    """Images per second in a line of text: "1,234 img/s"."""
    return f"{rate(value)} img/s"


def ratio(value: float | None) -> str:
    """One speed over another: "0.985x", in thousandths (the app's cost over the engine is
    under a percent: hundredths would round it away)."""
    if value is None or not math.isfinite(value):
        return "?"
    return f"{value:.3f}x"


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
