"""What the dashboard's Line API widgets (the row tables, the log) share: a virtual size
that changes without a relayout of the screen, and word wrapping as rich does it, fast."""

from __future__ import annotations

import re

from rich.cells import cell_len, chop_cells, set_cell_size
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView

_WORD = re.compile(r"\s*\S+\s*")


def set_virtual_size(view: ScrollView, size: Size) -> None:
    """Give ``view`` a new virtual (scrollable) size.

    Setting ``virtual_size`` relayouts the whole screen (the reactive asks for a
    layout), about 1 ms of the UI thread's time on the dashboard, for every epoch
    render. A view whose own size does not follow its content (a height in fr, not
    auto) needs only what a relayout would do for it (``ScrollView._size_updated``):
    its scrollbars updated. A scrollbar that appears or goes still relayouts (its
    reactive asks for it)."""
    old = view.virtual_size
    if size == old:
        return
    height = view.styles.height
    if height is None or height.is_auto or not view.is_mounted or not view.container_size:
        view.virtual_size = size
        return
    view.set_reactive(ScrollView.virtual_size, size)
    view._scroll_update(size)
    if size.width != old.width:
        view.refresh()


def wrap(text: str, width: int) -> list[str]:
    """``text`` (one line) word-wrapped in ``width`` cells, as rich's ``Text.wrap``
    wraps a Text of one style (words too long are folded; a line keeps its trailing
    space when it fits), in a third of its time: no Text objects."""
    if "\t" in text:  # to tab stops in cells (str.expandtabs counts characters)
        tabbed = Text(text)
        tabbed.expand_tabs(8)
        text = tabbed.plain
    # Printable ASCII: a character is a cell (rich's cell_len is 4x slower than len).
    measure = len if text.isascii() and text.isprintable() else cell_len
    if measure is len and len(text) <= width:
        return [text]
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group(0)
        word_length = measure(word.rstrip())
        if width - offset >= word_length:
            offset += measure(word)
        elif word_length > width:
            folded = chop_cells(word, width)
            for i, piece in enumerate(folded):
                if start:
                    breaks.append(start)
                if i == len(folded) - 1:
                    offset = measure(piece)
                else:
                    start += len(piece)
        elif offset and start:
            breaks.append(start)
            offset = measure(word)
    lines = [text[a:b] for a, b in zip([0, *breaks], [*breaks, len(text)], strict=True)]
    return [_fit(line, width) for line in lines]


def _fit(line: str, width: int) -> str:
    """As rich ends a wrapped line: whitespace beyond ``width`` characters dropped from
    its end (Text.rstrip_end), then cropped to ``width`` cells (Text.truncate)."""
    excess = len(line) - width
    if excess > 0:
        line = line[: len(line) - min(len(line) - len(line.rstrip()), excess)]
    return set_cell_size(line, width) if cell_len(line) > width else line
