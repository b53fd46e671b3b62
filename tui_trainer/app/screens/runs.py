"""Past runs: status, epochs, best accuracy, ranks, preset; open one, or compare curves.

Mark runs with space: their per-epoch curves are drawn in one chart (``t`` picks the
metric, ``l`` all epochs or the recent ones); with none marked, the chart shows the run
under the cursor. The legend gives each run's best of the metric shown: the highest
accuracy, the lowest loss. The curves of a run still training grow as its epochs end.
Enter opens a run in the dashboard (the live one if it is training here).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ... import format as fmt
from ...runs import STATUS_COLORS, Run, RunSummary, list_runs
from ..widgets.braille_plot import BraillePlot
from ..widgets.epoch_chart import SERIES, draw, epoch_window, window_note
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


def _cells(runs: list[RunSummary]) -> list[tuple]:
    """What of the runs the table shows that may change: unchanged, no redraw."""
    return [(r.id, r.status, r.epoch, r.best_acc, r.world_size) for r in runs]


class CurvesLoaded(Message):
    def __init__(self, curves: dict[str, list[dict]]) -> None:
        super().__init__()
        self.curves = curves


class RunsScreen(NeedsSize, ForwardsWorkerErrors, Screen):
    MIN_SIZE = (80, 20)  # below it: the too-small panel (screens/too_small.py)
    if TYPE_CHECKING:  # for the checker: self.app is the TrainerApp (textual's own idiom)
        app = getters.app(TrainerApp)

    AUTO_FOCUS = "#runs-table"
    BINDINGS = [
        Binding("enter", "open", "Open", id="runs.open"),
        Binding("space", "mark", "Mark to compare", id="runs.mark"),
        Binding("t", "metric", "Metric", id="runs.metric"),
        Binding("l", "window", "Recent/all", show=False, id="runs.window"),
        Binding("escape", "back", "Back", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[RunSummary] = []
        self.marked: list[str] = []  # run ids, in the order marked (their colours)
        self.preview: str | None = None  # the run under the cursor, charted while none is marked
        self.metric = 0
        self.show_all = True  # finished runs are compared whole; l: the recent epochs
        self.curves: dict[str, list[dict]] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="runs-top"):
            yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        with Vertical(id="compare"):
            yield BraillePlot(id="compare-plot")
            yield Static("", id="compare-legend", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # The preset last: the run id already starts with it, and at 80 columns the
        # numbers matter more than its repetition. Short labels, as every cell before
        # the preset fits 80 columns with the table's scrollbar: "best" (accuracy, as
        # the legend says it) and "ranks" (the processes, one a device, that trained it:
        # "devices" would take the two columns the scrollbar needs).
        for label, key in (
            ("", "mark"),
            ("run", "id"),
            ("status", "status"),
            ("epochs", "epochs"),
            ("best", "best"),
            ("ranks", "ranks"),
            ("preset", "preset"),
        ):
            table.add_column(label, key=key)
        self.query_one("#runs-top").border_title = Content(f"Runs in {self.app.runs_dir}")  # a path: not markup
        self.query_one("#runs-top").border_subtitle = "enter open · space mark"
        self.refresh_runs()
        self.draw_compare()
        self.set_interval(REFRESH_SECONDS, self.refresh_runs)

    def on_screen_resume(self) -> None:
        self.refresh_runs()

    # -- the table ----------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        runs = list_runs(Path(self.app.runs_dir))
        if _cells(runs) == _cells(self.runs) and self.query_one(DataTable).row_count:
            return
        before = {(r.id, r.epoch) for r in self.runs}
        grown = {r.id for r in runs if (r.id, r.epoch) not in before}  # new epochs, or new runs
        self.runs = runs
        ids = [r.id for r in runs]
        self.marked = [i for i in self.marked if i in ids]  # a run folder deleted meanwhile
        table = self.query_one(DataTable)
        current = self._cursor_id()
        table.clear()
        for r in runs:
            status = r.status + (" (process gone)" if r.status == "dead" else "")
            table.add_row(
                # Ids and presets as Text: a run folder may be named anything, and a
                # str cell is read as markup ("[/]" in a name would crash the table).
                self._mark(r.id),
                Text(r.id),
                Text(status, style=STATUS_COLORS.get(r.status, "")),
                Text(f"{r.epoch}/{r.epochs}", justify="right"),
                Text(fmt.pct(r.best_acc) if r.best_acc is not None else "", justify="right"),
                Text(str(r.world_size), justify="right"),
                Text(r.preset),
                key=r.id,
            )
        if current in ids:
            table.move_cursor(row=ids.index(current), animate=False)
        if not runs:
            self.query_one("#compare-legend", Static).update(
                f"No runs yet in {self.app.runs_dir}: pick a preset (f2) and start one"
            )
        if grown & set(self.charted()) or (not self.marked and self._cursor_id() != self.preview):
            self._chart_cursor_or_marked()

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
        table = self.query_one(DataTable)
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
        table = self.query_one(DataTable)
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
        curves = {}
        for run_id in run_ids:
            epochs = {e.epoch: e for e in Run(Path(self.app.runs_dir) / run_id).epochs()}  # a resumed epoch: last wins
            curves[run_id] = [epochs[k].to_dict() for k in sorted(epochs)]
        self.post_message(CurvesLoaded(curves))

    def on_curves_loaded(self, message: CurvesLoaded) -> None:
        self.curves = message.curves
        self.draw_compare()

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
            lines.append("   (space marks runs to compare)", "dim")
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
