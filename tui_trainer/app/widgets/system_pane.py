"""The system pane: the machine's figures while a run trains, from its ``system.jsonl``.

One row a GPU (utilisation with a bar and a sparkline of the last minutes, memory,
power, temperature), the host's CPU and memory and the training process's resident
memory, the share of step time the host spent preparing batches, and the sampler's
idle-GPU flag as a warning ("input-bound?"). The samples come from the file the run's
sampler writes (:mod:`tui_trainer.system.sampler`), not from this process's NVML: the
same pane for a run training here, watched from another terminal, or ended.

What a sample lacks is left out (no NVML, a CPU run, a figure the driver cannot read);
every figure is spelled out, so the pane reads without colour. Rendering is cheap and
happens only when the text changes (new samples, the width, a stale sample's age): the
dashboard's render budget is tight (``app/pacing.py``).
"""

from __future__ import annotations

import math
import textwrap
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from ... import events as ev
from ... import format as fmt
from ...system.sampler import INTERVAL_S, UNDERUSED, UNDERUSED_PCT, UNDERUSED_S, interval_of
from ...system.tail import SystemTail
from .loss_sparkline import column_means

HISTORY_S = 300.0  # the sparklines' window: long enough to see a minute idle among busy ones
HISTORY_MAX = 1000  # samples kept whatever their times say (a clock jump must not grow it)
FRESH_S = 30.0  # a flag this recent is news (an alert); an older one is the file's history
STALE_S = 10.0  # a latest sample older than this says so: its process may have died
STALE_INTERVALS = 3  # ... or than this many of the run's intervals between samples
TICK_S = 1.0  # how often the age is checked (and a followed file read): cheap when unchanged
BACKLOG_BYTES = 512 * 1024  # a followed file's first read: well over HISTORY_S of samples
MAX_BAR = 10
MAX_SPARK = 30
SPARKS = "▁▂▃▄▅▆▇█"
WARNING, ERROR, NOTE = "bold yellow", "bold red", "dim"
NBSP = "\u00a0"


def number(value: Any) -> float | None:
    """A sample's figure, if it is one: a sample from another version, or a hand-edited
    file, must not crash the UI."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def wrapped(text: str, width: int, style: str, max_lines: int = 3) -> list[Text]:
    """``text`` wrapped at ``width``, its later lines indented, at most ``max_lines``
    (an exception's message can be long: the pane has other figures to show). A
    no-break space (NBSP) keeps a label with its figure ("data 37%")."""
    lines = textwrap.wrap(text, max(1, width), subsequent_indent="  ") or [""]
    lines = [line.replace(NBSP, " ") for line in lines]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(0, width - 1)] + "…"
    return [Text(line, style) for line in lines]


def spark(values: list[float], width: int) -> str:
    """Utilisation history on a fixed 0-100 scale (a busy GPU reads as busy, whatever
    its neighbours), at most ``width`` columns of means, the newest on the right."""
    if width < 1:
        return ""
    cols = column_means(values, width)
    chars = [SPARKS[min(len(SPARKS) - 1, max(0, int(v / 100 * len(SPARKS))))] for v in cols]
    return "".join(chars).ljust(width)  # it grows with the run, as the loss sparkline does


def pack(parts: list[str], width: int, sep: str = " · ") -> list[str]:
    """``parts`` joined on as few lines as fit ``width`` (a part wider is alone on its line)."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(sep) + len(part) <= width:
            lines[-1] += sep + part
        else:
            lines.append(part)
    return lines


def ago(seconds: float) -> str:
    """A sample's age in the coarsest unit that still moves: "25 s", "3 min", "2 h"."""
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    return f"{int(seconds // 3600)} h"


def span(seconds: float) -> str:
    return "a minute" if seconds == 60 else f"{seconds:g} s"


@dataclass(frozen=True)
class GpuRow:
    """One GPU's figures in the latest sample ("" or None: not known) and its history."""

    label: str
    utilisation: float | None
    memory: str
    power: str
    temperature: str
    history: list[float]


def bar_widths(room: int) -> tuple[int, int]:
    """(bar, sparkline) columns in ``room`` cells, each with a space before it. The
    sparkline is kept longest: the % beside the bar says the level already."""
    if room >= 9:
        bar = min(MAX_BAR, max(3, (room - 2) // 3))
        return bar, min(MAX_SPARK, room - 2 - bar)
    return (0, room - 1) if room >= 4 else (0, 0)


def gpu_lines(rows: list[GpuRow], width: int) -> list[Text]:
    """A line a GPU, its columns aligned; where the figures do not fit beside the
    utilisation (a narrow pane), they go on a second line under it."""
    columns = [[r.memory for r in rows], [r.power for r in rows], [r.temperature for r in rows]]
    columns = [c for c in columns if any(c)]  # a figure no GPU has (no power reading) is left out
    widths = [max(len(v) for v in c) for c in columns]
    figures = [
        "  ".join((c[i] or "—").rjust(w) for c, w in zip(columns, widths, strict=True)) for i in range(len(rows))
    ]
    label_w = max(len(r.label) for r in rows)
    head_w = label_w + 5  # label, a space, "100%"
    tail_w = 2 + len(figures[0]) if columns else 0
    one_line = head_w + tail_w + 4 <= width  # with a sparkline of 3 at least
    bar_w, spark_w = bar_widths(width - head_w - (tail_w if one_line else 0))
    out = []
    for row, figs in zip(rows, figures, strict=True):
        line = Text(row.label.ljust(label_w) + " ")
        line.append(fmt.pct(row.utilisation, digits=0).rjust(4), "bold")
        if bar_w:
            filled = fmt.bar(row.utilisation / 100, bar_w) if row.utilisation is not None else " " * bar_w
            line.append(" " + filled)
        if spark_w:
            line.append(" " + spark(row.history, spark_w))
        if not columns:
            out.append(line)
        elif one_line:
            out.append(line + Text("  " + figs))
        else:
            out += [line, Text(" " * (label_w + 1) + figs)]
    return out


class SystemPane(Static, can_focus=True):
    """The figures of a run's ``system.jsonl`` samples: taken by :meth:`add_samples`
    (or read by the pane itself, :meth:`follow`), shown at :meth:`flush`."""

    class Flagged(Message):
        """A fresh sample flags the GPU as idle (the dashboard announces it as an alert)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    DEFAULT_CSS = """
    SystemPane {
        height: auto;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        &:focus { background-tint: $foreground 5%; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.device = ""  # RunStarted's: says what no GPU figures mean (a CPU run or no NVML)
        self.world_size = 1
        self.uuids: list[str] = []  # each rank's GPU: a GPU row is labelled with its rank
        self.ended = False  # no more samples are coming: their age is no news
        self.interval = INTERVAL_S  # the run's log.system_interval, from RunStarted
        self.clock: Callable[[], float] = time.time  # samples' times are wall-clock (tests set it)
        self.samples: deque[dict[str, Any]] = deque(maxlen=HISTORY_MAX)  # figures, last HISTORY_S
        self.error: str | None = None  # the sampler's last word, until figures come again
        self.flag_at: float | None = None  # the latest idle-GPU flag, until a GPU is busy again
        self._tail: SystemTail | None = None
        self._dirty = True
        self._shown: tuple[Text, int, str | None] | None = None  # (text, width, age) on screen
        self._height = 0

    # -- state ---------------------------------------------------------------------------
    def apply(self, e: ev.Event) -> None:
        if isinstance(e, ev.RunStarted):
            self.device, self.world_size, self.uuids = e.device, e.world_size, list(e.device_uuids)
            self.interval = interval_of(e.config)
            self.ended, self._dirty = False, True
        elif isinstance(e, ev.END_EVENTS):
            self.ended, self._dirty = True, True

    def add_samples(self, samples: Iterable[dict[str, Any]]) -> None:
        """Take samples (in the file's order) into the state; :meth:`flush` shows them."""
        for sample in samples:
            when = number(sample.get("time")) if isinstance(sample, dict) else None
            if when is None:
                continue  # cannot be placed in the history
            self._dirty = True
            if "error" in sample:
                self.error = str(sample["error"])
                continue
            self.error = None  # the sampler is sampling again (a resumed run's)
            self.samples.append(sample)
            if sample.get("flag") == UNDERUSED:
                self.flag_at = when
                if self.clock() - when < FRESH_S:  # news, not the file's history: an alert
                    self.post_message(self.Flagged(self._flag_text()))
            elif self.flag_at is not None and self._busy(sample):
                self.flag_at = None  # the sampler's own rule: said again only after a busy GPU
        self._prune()

    @staticmethod
    def _busy(sample: dict[str, Any]) -> bool:
        utilisations = [number(g.get("utilisation")) for g in gpus_of(sample)]
        return any(u is not None and u >= UNDERUSED_PCT for u in utilisations)

    def _prune(self) -> None:
        if not self.samples:
            return
        newest = number(self.samples[-1].get("time")) or 0.0
        while self.samples and (number(self.samples[0].get("time")) or 0.0) < newest - HISTORY_S:
            self.samples.popleft()
        if self.flag_at is not None and self.flag_at < newest - HISTORY_S:
            self.flag_at = None

    @property
    def latest(self) -> dict[str, Any] | None:
        return self.samples[-1] if self.samples else None

    # -- reading the file itself ------------------------------------------------------------
    def follow(self, path: Path | str) -> None:
        """Read ``path`` (a run's system.jsonl) every TICK_S from now on, its last
        minutes first; for a dashboard that does not tail it itself."""
        self._tail = SystemTail(path, backlog_bytes=BACKLOG_BYTES)
        if self.is_mounted:
            self.tick()  # else at mount

    def on_mount(self) -> None:
        self.set_interval(TICK_S, self.tick)
        self.tick()

    def tick(self) -> None:
        """Take what the followed file gained; render if anything (the age too) changed."""
        if self._tail is not None:
            self.add_samples(self._tail.read())
        self.flush()

    # -- rendering -------------------------------------------------------------------------
    def age(self) -> str | None:
        """The latest sample's age where it is news: stale, while the run should be sampled."""
        latest = self.latest
        if latest is None or self.ended or self.error is not None:
            return None  # an error says why the samples stopped
        seconds = self.clock() - (number(latest.get("time")) or 0.0)
        return ago(seconds) if seconds >= max(STALE_S, STALE_INTERVALS * self.interval) else None

    def text_lines(self, width: int) -> list[Text]:
        """The pane's lines at ``width``, each cut to it (the tests read these)."""
        lines = self._warnings(width) + self._figures(width)
        for line in lines:
            line.rstrip()  # a row without figures ends in an empty bar and sparkline
            line.truncate(width, overflow="ellipsis")
        return lines

    def _warnings(self, width: int) -> list[Text]:
        """Wrapped, not cut: each must read whole in a narrow pane."""
        out = []
        if self.error is not None:
            out += wrapped(f"! sampling stopped: {self.error}", width, ERROR)
        if self.flag_at is not None:
            out += wrapped(f"! {self._flag_text()}", width, WARNING)
        age = self.age()
        if age is not None:
            step = number(self.latest.get("step")) if self.latest else None
            at = f" (step {fmt.number(int(step))})" if step is not None else ""
            out += wrapped(f"! last sample {age} ago{at}: is the run alive?", width, WARNING)
        return out

    def _flag_text(self) -> str:
        share = self._data_share()
        data = f" data{NBSP}{fmt.pct(share * 100, digits=0)}" if share is not None else ""
        return f"GPU under {UNDERUSED_PCT:g}% busy for {span(UNDERUSED_S)}: input-bound?{data}"

    def _figures(self, width: int) -> list[Text]:
        latest = self.latest
        if latest is None:
            if self.error is not None:
                return []
            if self.ended:
                return [Text("no system figures for this run", NOTE)]
            return [Text(f"waiting for the first sample (every {self.interval:g} s)", NOTE)]
        rows = self._gpu_rows(latest)
        out = gpu_lines(rows, width) if rows else [Text(self._no_gpus(), NOTE)]
        elsewhere = self._not_sampled(latest)
        if rows and elsewhere:
            gpus = "GPUs" if elsewhere.startswith("ranks") else "GPU"
            out += wrapped(f"{elsewhere}: another machine's {gpus}, not sampled here", width, NOTE)
        out += [Text(line) for line in pack(host_parts(latest), width)]
        share = self._data_share()
        if share is not None:
            out.append(Text(f"data {fmt.pct(share * 100, digits=0)} of step time (host)"))
        if self.ended:
            out.append(Text("the run has ended: these are its last figures", NOTE))
        return out

    def _not_sampled(self, latest: dict[str, Any]) -> str:
        """The ranks whose GPUs the sample lacks: the sampler leaves out those that
        the local NVML does not know (another node's): "rank 3", "ranks 2-3"."""
        sampled = {gpu_key(g, i) for i, g in enumerate(gpus_of(latest))}
        missing = [i for i, uuid in enumerate(self.uuids) if uuid not in sampled]
        if len(missing) <= 1:
            return f"rank {missing[0]}" if missing else ""
        if missing == list(range(missing[0], missing[-1] + 1)):
            return f"ranks {missing[0]}-{missing[-1]}"
        return "ranks " + ", ".join(str(i) for i in missing)

    def _no_gpus(self) -> str:
        if self.device and not self.device.startswith("cuda"):
            return "no GPU figures (CPU run)"
        if self.device:
            return "no GPU figures (NVML unavailable)"
        return "no GPU figures (CPU run or NVML unavailable)"

    def _data_share(self) -> float | None:
        latest = self.latest
        share = number(latest.get("data_share")) if latest else None
        return None if share is None else min(1.0, max(0.0, share))

    def _gpu_rows(self, latest: dict[str, Any]) -> list[GpuRow]:
        gpus = gpus_of(latest)
        keys = [gpu_key(g, i) for i, g in enumerate(gpus)]
        history: dict[str, list[float]] = {k: [] for k in keys}
        for sample in self.samples:
            for i, g in enumerate(gpus_of(sample)):
                values = history.get(gpu_key(g, i))
                util = number(g.get("utilisation"))
                if values is not None and util is not None:
                    values.append(util)
        return [self._row(g, i, history[k]) for i, (g, k) in enumerate(zip(gpus, keys, strict=True))]

    def _row(self, gpu: dict[str, Any], index: int, history: list[float]) -> GpuRow:
        uuid = gpu.get("uuid")
        rank = self.uuids.index(uuid) if uuid in self.uuids else index
        used, total = number(gpu.get("memory_used")), number(gpu.get("memory_total"))
        power, temp = number(gpu.get("power_w")), number(gpu.get("temperature_c"))
        return GpuRow(
            label=f"gpu {rank}",
            utilisation=number(gpu.get("utilisation")),
            memory=fmt.memory(int(used), int(total)) if used is not None and total else "",
            power=f"{power:.0f} W" if power is not None else "",
            temperature=f"{temp:.0f}°C" if temp is not None else "",
            history=history,
        )

    def flush(self) -> None:
        """Render the state, if the text on screen would change."""
        if not self.is_mounted:
            return  # on_mount renders
        if self._shown is not None and not self.region:
            return  # hidden (the narrow layout's other tabs): on_show renders
        width = max(1, self.size.width or 60)  # before the first layout: re-rendered on resize
        age = self.age()
        if not self._dirty and self._shown is not None and self._shown[1:] == (width, age):
            return  # the 1-s tick and the dashboard's live tier land here, nearly always
        self._dirty = False
        lines = self.text_lines(width)
        text = Text("\n").join(lines)
        if self._shown is None or self._shown[0] != text:
            self.update(text, layout=len(lines) != self._height)  # height: auto follows the lines
            self._height = len(lines)
        self._shown = (text, width, age)

    def on_resize(self) -> None:
        self.flush()

    def on_show(self) -> None:
        self._dirty = True  # what came while it was hidden
        self.call_after_refresh(self.flush)


def gpus_of(sample: dict[str, Any]) -> list[dict[str, Any]]:
    gpus = sample.get("gpus")
    return [g for g in gpus if isinstance(g, dict)] if isinstance(gpus, list) else []


def gpu_key(gpu: dict[str, Any], index: int) -> str:
    """A GPU's identity across samples: its UUID, or its place where a sample has none."""
    uuid = gpu.get("uuid")
    return uuid if isinstance(uuid, str) and uuid else f"#{index}"


def host_parts(sample: dict[str, Any]) -> list[str]:
    """The host's figures that the sample has: CPU %, memory used of total, and the
    training process's resident memory."""
    parts = []
    cpu = number(sample.get("cpu_percent"))
    if cpu is not None:
        parts.append(f"host cpu {fmt.pct(cpu, digits=0)}")
    used, total = number(sample.get("ram_used")), number(sample.get("ram_total"))
    if used is not None and total:
        parts.append(f"ram {fmt.memory(int(used), int(total))}")
    rss = number(sample.get("rss"))
    if rss is not None:
        parts.append(f"process rss {fmt.size(int(rss))}")
    if parts and not parts[0].startswith("host"):
        parts[0] = "host " + parts[0]
    return parts
