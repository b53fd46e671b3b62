"""The result of evaluating a checkpoint: overall and per-class accuracy, the confusion
matrix and the most confidently misclassified test images, a tab each (1, 2, 3).

The dialog opens at once, saying it is evaluating, and fills in when the app hands it
the result: evaluating a large test set on the CPU takes a while, and a toast saying so
lingered over the result (and beside an error). It takes the whole terminal (up to 124
columns): a 32x32 image is 32 columns by 16 rows, and a matrix of 10 classes is 50
columns wide."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, LoadingIndicator, Static, TabbedContent, TabPane

from ... import format as fmt
from ..widgets.confusion import ConfusionMatrix
from ..widgets.thumbnails import Thumbnails

if TYPE_CHECKING:
    from ...evaluate import EvalResult

TABS = {"1": "eval-classes", "2": "eval-confusions", "3": "eval-misclassified"}


class EvalScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,enter,q", "close", "Close", id="eval.close"),
        Binding("1", "tab('eval-classes')", "Classes", id="eval.classes", tooltip="Evaluation: per class"),
        Binding("2", "tab('eval-confusions')", "Confusions", id="eval.confusions", tooltip="Evaluation: confusions"),
        Binding(
            "3", "tab('eval-misclassified')", "Misclassified", id="eval.misclassified", tooltip="Evaluation: images"
        ),
    ]
    DEFAULT_CSS = """
    EvalScreen > #eval-dialog {
        width: 100%; max-width: 124; height: 1fr; margin: 0 0 1 0;  /* the footer beneath shows */
        border: thick $accent; background: $surface; padding: 0 1;
    }
    EvalScreen #eval-tabs { height: 1fr; }
    EvalScreen #eval-tabs TabPane { padding: 0; }
    EvalScreen .eval-heading { text-style: bold; margin: 1 0 0 0; }
    EvalScreen .eval-keys { color: $text-muted; }
    EvalScreen #eval-worst { height: auto; max-height: 12; }
    """

    def __init__(self, checkpoint: str) -> None:
        super().__init__()
        self.checkpoint = checkpoint
        self.result: EvalResult | None = None
        self.error: str | None = None

    @property
    def waiting(self) -> bool:
        return self.result is None and self.error is None

    def compose(self) -> ComposeResult:
        with Vertical(id="eval-dialog"):
            yield Label(
                f"Evaluation of {Path(self.checkpoint).name}", id="eval-title", classes="dialog-title", markup=False
            )
            yield Static("evaluating on the test set…", id="eval-summary", markup=False)
            yield LoadingIndicator(id="eval-loading")
            tabs = TabbedContent(id="eval-tabs")
            tabs.display = False  # until the result
            with tabs:
                with TabPane("1 classes", id="eval-classes"):
                    table: DataTable[Text] = DataTable(cursor_type="row", id="eval-table")
                    table.add_columns("class", "correct", "total", "accuracy")
                    table.display = False
                    yield table
                yield TabPane("2 confusions", VerticalScroll(id="eval-confusions-body"), id="eval-confusions")
                yield TabPane("3 misclassified", VerticalScroll(id="eval-images-body"), id="eval-misclassified")
            yield Static("1 2 3: tabs · esc / enter: close", classes="eval-keys")

    def show_result(self, r: EvalResult) -> None:
        self.result = r
        self.query_one("#eval-title", Label).update(f"Evaluation of {Path(r.checkpoint).name} ({r.where()})")
        self.query_one("#eval-summary", Static).update(f"test accuracy {fmt.pct(r.acc)} · test loss {fmt.loss(r.loss)}")
        self.query_one("#eval-loading").display = False
        table = self.query_one("#eval-table", DataTable)
        for c in r.classes:
            table.add_row(
                Text(c.name),
                Text(fmt.number(c.correct), justify="right"),
                Text(fmt.number(c.total), justify="right"),
                Text(fmt.pct(c.acc), justify="right"),
            )
        self.query_one("#eval-confusions-body").mount_all(self._confusions(r))
        self.query_one("#eval-images-body").mount_all(self._images(r))
        table.display = True
        self.query_one("#eval-tabs").display = True

    def _confusions(self, r: EvalResult) -> list[Static | DataTable[Text] | ConfusionMatrix]:
        """The worst confusions first (they fit any width), then the matrix twice: counts,
        and each row in percent of its true class."""
        worst = r.worst_confusions()
        if not worst:
            return [Static("No test image was misclassified.", id="eval-worst-none")]
        table: DataTable[Text] = DataTable(cursor_type="row", id="eval-worst")
        table.add_columns("true", "predicted", "count", "of the true class")
        for c in worst:
            count, share = Text(fmt.number(c.count), justify="right"), Text(fmt.pct(c.share), justify="right")
            table.add_row(Text(c.true), Text(c.predicted), count, share)
        names = [c.name for c in r.classes]
        return [
            Static("The worst confusions", classes="eval-heading"),
            table,
            Static("Counts (rows: the true class; columns: predicted, numbered as the rows)", classes="eval-heading"),
            ConfusionMatrix(names, r.confusion, shares=False, id="eval-matrix"),
            Static("Share of the true class (%)", classes="eval-heading"),
            ConfusionMatrix(names, r.confusion, shares=True, id="eval-matrix-share"),
        ]

    def _images(self, r: EvalResult) -> list[Static | Thumbnails]:
        if not r.misclassified:
            return [Static("No test image was misclassified.")]
        shown = [(image, m.true, m.predicted, m.confidence) for image, m in zip(r.images, r.misclassified, strict=True)]
        title = f"The {len(shown)} test images misclassified most confidently (%: softmax probability)"
        return [Static(title, classes="eval-heading"), Thumbnails(shown, id="eval-images")]

    def show_error(self, message: str) -> None:
        self.error = message
        summary = self.query_one("#eval-summary", Static)
        summary.update(f"failed: {message}")
        summary.add_class("dialog-error")
        self.query_one("#eval-loading").display = False

    def action_tab(self, pane: str) -> None:
        if self.result is not None:
            self.query_one("#eval-tabs", TabbedContent).active = pane

    def action_close(self) -> None:
        self.dismiss(None)
