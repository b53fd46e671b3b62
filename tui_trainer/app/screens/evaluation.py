"""The result of evaluating a checkpoint: overall and per-class accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from ... import format as fmt

if TYPE_CHECKING:
    from ...evaluate import EvalResult


class EvalScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,q", "close", "Close", id="eval.close")]

    def __init__(self, result: "EvalResult") -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        r = self.result
        with Vertical(classes="dialog dialog-wide"):
            yield Label(f"Evaluation of {Path(r.checkpoint).name} (epoch {r.epoch})", classes="dialog-title", markup=False)
            yield Static(f"test accuracy {fmt.pct(r.acc)} · test loss {fmt.loss(r.loss)}")
            table = DataTable(cursor_type="row", id="eval-table")
            table.add_columns("class", "correct", "total", "accuracy")
            for c in r.classes:
                table.add_row(Text(c.name), Text(str(c.correct), justify="right"), Text(str(c.total), justify="right"),
                              Text(fmt.pct(c.acc), justify="right"))
            yield table
            yield Static("esc / enter: close", classes="dialog-detail")

    def action_close(self) -> None:
        self.dismiss(None)
