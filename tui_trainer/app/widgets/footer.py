"""Textual's compact footer, less the keys that would be cut at its right end.

Textual's Footer lays the keys out in one row and lets those that do not fit run on
under the palette key, so at 80 columns the dashboard's footer ended in "f3 Ru". Here a
key that does not fit whole is left out, in the order the screen binds them (it still
works, and the help screen (f1) and the palette (^p) list it); the help key is fitted
before the others (and shown in its place), so the way to every key stays on screen at
any width.

The keys Footer composes are kept as they are (a subclass, not a copy of its compose):
only which of them are yielded changes, and the footer recomposes when the width does,
as Footer itself recomposes when the bindings change.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: Actions whose key is shown before any other is fitted.
KEPT = frozenset({"help"})
#: The compact footer's cells around a key's "key description" label (app.tcss, Footer's
#: DEFAULT_CSS): a key's right margin; the palette key's left border and right padding.
KEY_MARGIN = 1
PALETTE_FRAME = 2


class FittingFooter(Footer):
    """A compact Footer that shows only whole keys."""

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._composed_width = -1

    def compose(self) -> ComposeResult:
        self._composed_width = self.app.size.width
        yield from fitted(list(super().compose()), self._composed_width)

    def on_resize(self, event: events.Resize) -> None:
        if self.app.size.width != self._composed_width:
            self.call_after_refresh(self.recompose)


def fitted(widgets: Sequence[Widget], width: int) -> list[Widget]:
    """The footer's widgets that fit ``width`` cells whole, in their order: the palette
    key, the kept keys, then each other key that still fits."""
    palette = [w for w in widgets if w.has_class("-command-palette")]
    room = width - sum(label_width(w) + PALETTE_FRAME for w in palette)
    keys = [w for w in widgets if w not in palette]
    chosen = set(palette)
    for key in sorted(keys, key=lambda w: not (isinstance(w, FooterKey) and w.action in KEPT)):  # stable
        if label_width(key) <= room:  # its margin may fall under the palette key
            chosen.add(key)
            room -= label_width(key) + (KEY_MARGIN if isinstance(key, FooterKey) else 0)
    return [w for w in widgets if w in chosen]


def label_width(key: Widget) -> int:
    """Cells of a compact footer key's label: "key description". Anything else Footer
    composes (a binding group: this app binds none) counts as nothing and is kept."""
    if not isinstance(key, FooterKey):
        return 0
    if not key.description:
        return cell_len(key.key_display)
    return cell_len(key.key_display) + 1 + cell_len(key.description)
