"""The result of evaluating a checkpoint: overall and per-class accuracy.

The dialog opens at once, saying it is evaluating, and fills in when the app hands it
the result: evaluating a large test set on the CPU takes a while, and a toast saying so
lingered over the result (and beside an error)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, LoadingIndicator, Static

from ... import format as fmt

if TYPE_CHECKING:
    from ...evaluate import EvalResult


class EvalScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,q", "close", "Close", id="eval.close")]

    def __init__(self, checkpoint: str) -> None:
        super().__init__()
        self.checkpoint = checkpoint
        self.result: EvalResult | None = None
        self.error: str | None = None

    @property
    def waiting(self) -> bool:
        return self.result is None and self.error is None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide"):
            yield Label(
                f"Evaluation of {Path(self.checkpoint).name}", id="eval-title", classes="dialog-title", markup=False
            )
            yield Static("evaluating on the test set…", id="eval-summary", markup=False)
            yield LoadingIndicator(id="eval-loading")
            table: DataTable[Text] = DataTable(cursor_type="row", id="eval-table")
            table.add_columns("class", "correct", "total", "accuracy")
            table.display = False
            yield table
            yield Static("esc / enter: close", classes="dialog-detail")

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
        table.display = True

    def show_error(self, message: str) -> None:
        self.error = message
        summary = self.query_one("#eval-summary", Static)
        summary.update(f"failed: {message}")
        summary.add_class("dialog-error")
        self.query_one("#eval-loading").display = False

    def action_close(self) -> None:
        self.dismiss(None)
