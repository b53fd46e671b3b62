"""Past runs: status with its reason, epochs, best accuracy, resumable, ranks, time,
preset (the columns of `tui-trainer runs`, from runs.py); open one, or compare curves.

``o`` cycles the column the table is sorted by, ``f`` shows one status at a time, ``p``
one preset. Mark runs with space: their per-epoch curves are drawn in one chart (``t``
picks the metric, ``l`` all epochs or the recent ones), and beside it, with two or more
marked, the config keys whose values differ among them, a column a run; with none
marked, the chart shows the run under the cursor. The legend gives each run's best of
the metric shown: the highest accuracy, the lowest loss. The curves of a run still
training grow as its epochs end. Enter opens a run in the dashboard (the live one if it
is training here).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from ... import format as fmt
from ...runs import (
    STATUS_COLORS,
    STATUS_SHOWN,
    Run,
    RunSummary,
    config_differences,
    config_of,
    filter_runs,
    list_runs,
    sort_runs,
    status_text,
)
from ..widgets.braille_plot import BraillePlot
from ..widgets.epoch_chart import SERIES, draw, epoch_window, window_note
from ..widgets.footer import FittingFooter
from ..worker_errors import ForwardsWorkerErrors
from .too_small import NeedsSize

if TYPE_CHECKING:
    from textual import getters

    from ..app import TrainerApp

METRICS = (  # (the EpochEnd field, the axis' label); an accuracy is a percentage, higher is better
    ("test_acc", "test acc %"),
    ("test_loss", "test loss"),
    ("train_acc", "train acc %"),
    ("train_loss", "train loss"),
)
REFRESH_SECONDS = 3.0
SORT_ORDER = ("started", "status", "best", "epochs", "time", "resumable", "preset")  # what o cycles through
# A status cell's fewest and most characters: a failure's reason is long (the legend
# says it whole); the cell gets what the row leaves it, within these.
STATUS_WIDTH = (8, 40)
VALUE_WIDTH = 8  # a config value's most characters in the differences table ("0.0005", "resnet_…")


def _cells(runs: list[RunSummary]) -> list[tuple]:
    """What of the runs the table shows that may change: unchanged, no redraw."""
    return [
        (r.id, r.status, r.reason, r.epoch, r.best_acc, r.world_size, r.resumable, r.train_seconds, r.wall_seconds)
        for r in runs
    ]


def _clipped(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _next(values: list, current) -> object:
    """The value after ``current`` in ``values``, round to the first (a value gone: the first)."""
    return values[(values.index(current) + 1) % len(values)] if current in values else values[0]


class CurvesLoaded(Message):
    def __init__(self, curves: dict[str, list[dict]], configs: dict[str, dict[str, str]]) -> None:
        super().__init__()
        self.curves = curves
        self.configs = configs  # each run's config as dotted keys, for the differences table


class RunsScreen(NeedsSize, ForwardsWorkerErrors, Screen):
    MIN_SIZE = (80, 20)  # below it: the too-small panel (screens/too_small.py)
    if TYPE_CHECKING:  # for the checker: self.app is the TrainerApp (textual's own idiom)
        app = getters.app(TrainerApp)

    HELP = (
        "The table lists every run in the runs folder: its status and why it ended, epochs done "
        "of planned, best test accuracy, whether it can be resumed, ranks, time and preset; o sorts, "
        "f and p filter (the border says how). The chart below plots the run under the cursor, or the "
        "runs marked with space; with two or more marked, the config keys that differ among them "
        "stand beside it."
    )
    AUTO_FOCUS = "#runs-table"
    # The differences beside the chart: as wide as its columns, at most half the pane (at
    # 80 columns a key and two runs' values of VALUE_WIDTH fit; a third run scrolls in),
    # so that the chart keeps 38 columns; shown only with two or more runs marked.
    DEFAULT_CSS = """
    #compare-body { height: 1fr; }
    #compare-plot { width: 1fr; }
    #compare-config { width: auto; max-width: 50%; height: 1fr; border-left: vkey $panel-lighten-2; }
    """
    BINDINGS = [
        Binding("enter", "open", "Open", id="runs.open"),
        Binding("space", "mark", "Mark to compare", id="runs.mark"),
        Binding("t", "metric", "Metric", id="runs.metric"),
        Binding("l", "window", "Recent/all", show=False, id="runs.window"),
        # Not in the footer (its row is full at 80 columns): the table's border names these
        # keys beside what they set; help and the palette list them as every binding.
        Binding("o", "sort", "Sort", show=False, id="runs.sort", tooltip="Sort the runs by the next column"),
        Binding(
            "f", "filter_status", "Status filter", show=False, id="runs.status", tooltip="Show one status, then all"
        ),
        Binding(
            "p", "filter_preset", "Preset filter", show=False, id="runs.preset", tooltip="Show one preset, then all"
        ),
        Binding("escape", "back", "Back", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[RunSummary] = []  # those shown: filtered and sorted
        self.all_runs: list[RunSummary] = []  # every run in the folder, newest first
        self.sort = "started"
        self.status_filter: str | None = None  # None: every status
        self.preset_filter: str | None = None
        self.configs: dict[str, dict[str, str]] = {}
        self.marked: list[str] = []  # run ids, in the order marked (their colours)
        self.preview: str | None = None  # the run under the cursor, charted while none is marked
        self.metric = 0
        self.show_all = True  # finished runs are compared whole; l: the recent epochs
        self.curves: dict[str, list[dict]] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="runs-top"):
            yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        with Vertical(id="compare"):
            with Horizontal(id="compare-body"):
                yield BraillePlot(id="compare-plot")
                yield DataTable(id="compare-config", cursor_type="none", zebra_stripes=True)
            yield Static("", id="compare-legend", markup=False)
        yield FittingFooter()

    def on_mount(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        # The figures first, the preset last: the run id already starts with it. Short
        # labels: "best" (accuracy, as the legend says it), "ranks" (the processes, one a
        # device, that trained it). At 80 columns the cells up to "best" fit; the rest
        # (resume, ranks, time, preset) scroll in from the right.
        for label, key in (
            ("", "mark"),
            ("run", "id"),
            ("status", "status"),
            ("epochs", "epochs"),
            ("best", "best"),
            ("resume", "resume"),
            ("ranks", "ranks"),
            ("time", "time"),
            ("preset", "preset"),
        ):
            table.add_column(label, key=key)
        self.query_one("#runs-top").border_title = Content(f"Runs in {self.app.runs_dir}")  # a path: not markup
        self.query_one("#compare-config").display = False
        self.refresh_runs()
        self.draw_compare()
        self.set_interval(REFRESH_SECONDS, self.refresh_runs)

    def on_screen_resume(self) -> None:
        self.refresh_runs()

    # -- the table ----------------------------------------------------------------------------
    def refresh_runs(self, force: bool = False) -> None:
        """Read the folder again; redraw the table if what it shows changed (``force``:
        the sort or a filter did)."""
        self.all_runs = list_runs(Path(self.app.runs_dir))
        runs = filter_runs(self.all_runs, self.status_filter, self.preset_filter)
        runs = sort_runs(runs, self.sort)
        self._say_order()
        if not force and _cells(runs) == _cells(self.runs) and self.query_one("#runs-table", DataTable).row_count:
            return
        before = {(r.id, r.epoch) for r in self.runs}
        grown = {r.id for r in runs if (r.id, r.epoch) not in before}  # new epochs, or new runs
        self.runs = runs
        # Marks outlive a filter (a run hidden stays compared); a run folder deleted loses its mark.
        self.marked = [i for i in self.marked if i in {r.id for r in self.all_runs}]
        self._fill_table(runs)
        if not runs:
            self.query_one("#compare-legend", Static).update(
                f"No runs yet in {self.app.runs_dir}: pick a preset (f2) and start one"
                if not self.all_runs
                else "No runs of this status and preset: f and p come back round to all"
            )
        if grown & set(self.charted()) or (not self.marked and self._cursor_id() != self.preview):
            self._chart_cursor_or_marked()

    def _fill_table(self, runs: list[RunSummary]) -> None:
        table = self.query_one("#runs-table", DataTable)
        ids = [r.id for r in runs]
        current = self._cursor_id()
        width = self._status_width(runs)
        table.clear()
        for r in runs:
            table.add_row(
                # Ids and presets as Text: a run folder may be named anything, and a
                # str cell is read as markup ("[/]" in a name would crash the table).
                self._mark(r.id),
                Text(r.id),
                Text(_clipped(status_text(r), width), style=STATUS_COLORS.get(r.status, "")),
                Text(f"{r.epoch}/{r.epochs}", justify="right"),
                Text(fmt.pct(r.best_acc) if r.best_acc is not None else "", justify="right"),
                Text("yes" if r.resumable else "no"),
                Text(str(r.world_size), justify="right"),
                Text(fmt.run_time(r.train_seconds, r.wall_seconds)),
                Text(r.preset),
                key=r.id,
            )
        if current in ids:
            table.move_cursor(row=ids.index(current), animate=False)

    def _status_width(self, runs: list[RunSummary]) -> int:
        """What the screen's width leaves the status cells once the mark, id, epochs
        and best are whole (a cell's padding, 2; the pane's border and scrollbar, 4): at
        80 columns those five fit, and resume, ranks, time and preset scroll in."""
        run = max((len(r.id) for r in runs), default=3)
        epochs = max((len(f"{r.epoch}/{r.epochs}") for r in runs), default=0)
        others = [len("[1]"), run, max(epochs, len("epochs")), len("100.00%")]
        room = self.size.width - 4 - sum(w + 2 for w in others) - 2
        return min(max(room, STATUS_WIDTH[0]), STATUS_WIDTH[1])

    def on_resize(self) -> None:
        if self.runs:
            self._fill_table(self.runs)  # the status cells' room changed

    def _say_order(self) -> None:
        """The sort and filters in the table's bottom border, each after its key: what
        the list leaves out, and how to change it."""
        status = self.status_filter or "all"
        preset = self.preset_filter or "all"
        self.query_one("#runs-top").border_subtitle = f"o sorted by {self.sort} · f status {status} · p preset {preset}"

    def action_sort(self) -> None:
        self.sort = str(_next(list(SORT_ORDER), self.sort))
        self.refresh_runs(force=True)

    def action_filter_status(self) -> None:
        present = [s for s in STATUS_SHOWN if any(r.status == s for r in self.all_runs)]
        self.status_filter = _next([None, *present], self.status_filter)  # type: ignore[assignment]
        self.refresh_runs(force=True)

    def action_filter_preset(self) -> None:
        present = sorted({r.preset for r in self.all_runs})
        self.preset_filter = _next([None, *present], self.preset_filter)  # type: ignore[assignment]
        self.refresh_runs(force=True)

    def charted(self) -> list[str]:
        """The runs the chart shows: those marked, else the one under the cursor."""
        return list(self.marked) if self.marked else [self.preview] if self.preview else []

    def _chart_cursor_or_marked(self) -> None:
        if not self.marked:
            self.preview = self._cursor_id()
        self.load_curves(self.charted())

    @on(DataTable.RowHighlighted, "#runs-table")
    def _highlighted(self) -> None:
        if not self.marked and self._cursor_id() != self.preview:
            self._chart_cursor_or_marked()

    def _mark(self, run_id: str) -> Text:
        return Text(f"[{self.marked.index(run_id) + 1}]" if run_id in self.marked else "[ ]")

    def _cursor_id(self) -> str | None:
        table = self.query_one("#runs-table", DataTable)
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001
            return None

    def action_open(self) -> None:
        run_id = self._cursor_id()
        if run_id is not None:
            self.app.open_run(Path(self.app.runs_dir) / run_id)

    @on(DataTable.RowSelected, "#runs-table")
    def _selected(self) -> None:
        self.action_open()

    def action_mark(self) -> None:
        run_id = self._cursor_id()
        if run_id is None:
            return
        if run_id in self.marked:
            self.marked.remove(run_id)
        else:
            self.marked.append(run_id)
        table = self.query_one("#runs-table", DataTable)
        for r in self.runs:
            table.update_cell(r.id, "mark", self._mark(r.id))
        self._chart_cursor_or_marked()

    def action_metric(self) -> None:
        self.metric = (self.metric + 1) % len(METRICS)
        self.draw_compare()

    def action_window(self) -> None:
        self.show_all = not self.show_all
        self.draw_compare()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    # -- the comparison ---------------------------------------------------------------------
    @work(thread=True, group="curves", exclusive=True, exit_on_error=False)
    def load_curves(self, run_ids: list[str]) -> None:
        curves, configs = {}, {}
        for run_id in run_ids:
            folder = Path(self.app.runs_dir) / run_id
            epochs = {e.epoch: e for e in Run(folder).epochs()}  # a resumed epoch: last wins
            curves[run_id] = [epochs[k].to_dict() for k in sorted(epochs)]
            configs[run_id] = config_of(folder)
        self.post_message(CurvesLoaded(curves, configs))

    def on_curves_loaded(self, message: CurvesLoaded) -> None:
        self.curves = message.curves
        self.configs = message.configs
        self.draw_compare()
        self.draw_differences()

    def draw_differences(self) -> None:
        """Beside the chart, with two or more runs marked: the config keys whose values
        differ among them, a column a run under its mark's number in its curve's colour
        (an id would not fit); keys with one value in all are left out."""
        table = self.query_one("#compare-config", DataTable)
        ids = [i for i in self.marked if i in self.configs]
        table.display = len(ids) >= 2
        if not table.display:
            return
        table.clear(columns=True)
        table.add_column("differs", key="key")
        for n, run_id in enumerate(ids):
            table.add_column(Text(f"[{self.marked.index(run_id) + 1}]", SERIES[n % len(SERIES)][0]), key=run_id)
        rows = config_differences([self.configs[i] for i in ids])
        for key, values in rows:
            table.add_row(Text(key), *(Text(_clipped(v, VALUE_WIDTH)) for v in values))
        if not rows:
            table.add_row(Text("same config"), *(Text("") for _ in ids))

    def draw_compare(self) -> None:
        key, label = METRICS[self.metric]
        plot = self.query_one("#compare-plot", BraillePlot)
        ids = [i for i in self.charted() if i in self.curves]
        series, last = [], 1
        for n, run_id in enumerate(ids):
            style, marker = SERIES[n % len(SERIES)]
            rows = self.curves[run_id]
            x = [float(r["epoch"]) for r in rows]
            series.append((x, [float(r[key]) for r in rows], style, marker))
            last = max(last, int(x[-1]) if x else 1)
        first, last = epoch_window(last, self.show_all)
        draw(plot, label, series, last, floor0=key.endswith("loss"), x_first=first)
        plot.set_note(window_note(last, self.show_all))
        self.query_one("#compare").border_title = f"Compare: {label} per epoch  (t: metric)"
        legend = self.query_one("#compare-legend", Static)
        if ids:
            legend.update(self._legend(ids, key, label))
        elif self.runs:
            legend.update("Mark two or more runs with space to compare their curves")

    def _legend(self, ids: list[str], key: str, label: str) -> Text:
        """A line a run: its marker, id and best of the metric charted (or why it failed)."""
        summaries = {r.id: r for r in self.runs}
        lines = Text()
        for n, run_id in enumerate(ids):
            style, marker = SERIES[n % len(SERIES)]
            if lines:
                lines.append("\n")
            lines.append(f"─{marker}─ {run_id}", style)
            best = best_of(self.curves[run_id], key, label)
            run = summaries.get(run_id)
            failed = run is not None and run.status == "failed" and run.reason
            if best or not failed:
                lines.append(f"  {best}" if best else "  no epochs yet", "dim")
            if failed and run is not None:
                # Why it failed, where the user looks at it (else only in its folder's files).
                lines.append(f"  failed: {run.reason}", STATUS_COLORS.get("failed", ""))
        if not self.marked:
            hint = "(space marks runs to compare)"
            # Beside the run's line where it fits whole, else on a line of its own (not
            # wrapped mid-phrase at 80 columns).
            last_line = lines.plain.rsplit("\n", 1)[-1]
            fits = cell_len(last_line) + 3 + len(hint) <= self.query_one("#compare-legend").size.width
            lines.append(f"   {hint}" if fits else f"\n{hint}", "dim")
        return lines


def best_of(rows: list[dict], key: str, label: str) -> str:
    """The best of a metric, as the legend says it: "best test acc 97.12%" (the
    highest), "best test loss 0.0931" (the lowest); "" without epochs."""
    values = [float(r[key]) for r in rows if r.get(key) is not None and math.isfinite(float(r[key]))]
    if not values:
        return ""
    name = label.removesuffix(" %")
    if key.endswith("loss"):
        return f"best {name} {fmt.loss(min(values))}"
    return f"best {name} {fmt.pct(max(values))}"
