"""A table of rows with a row cursor, cheap to grow: the dashboard's epoch and checkpoint tables.

Why not Textual's DataTable: its render caches are keyed by an update counter that
every ``add_row`` and ``update_cell`` bumps, so each change renders every visible cell
again, through rich's ``Console.render_lines`` (about 0.25 ms a cell). An epoch render
of a fast run adds rows to two tables: ``benchmarks/render_cost.py`` measured about
50 ms of UI-thread CPU per render at 120x40, over half of it in DataTable, and that
time holds the GIL that training in the same process needs.

This table is a Line API widget (``ScrollView`` and ``render_line``): columns are as
wide as their widest cell (they grow as rows come, like DataTable's auto width), and a
row's strip is built straight from its cells' text and cached per (row content,
cursor, hover, stripe); the cache is dropped only when what every row depends on
changes (column widths, the pane's width, the styles: focus, theme). Adding a row
renders that row; moving the cursor renders two.

It looks like DataTable: the same component classes (``datatable--header``,
``datatable--cursor``, ``datatable--hover``, ``datatable--even-row``,
``datatable--odd-row``) styled from the same theme variables. The cursor row is also
in reverse video where there is no colour (NO_COLOR: the ``:nocolor`` rule below).

Keys: up/down, page up/down, home/end (and ctrl+home/ctrl+end) move the cursor;
left/right scroll a table wider than its pane; enter, or a click on the cursor row,
posts :class:`RowTable.Selected`; a click on another row moves the cursor there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .scrolling import set_virtual_size

CellType = Text | str
CELL_PADDING = 1  # blank cells each side of a column, as DataTable's cell_padding


def _as_text(cell: CellType) -> Text:
    # A str is shown as typed, never read as markup (a path or a name may hold "[/]").
    return cell if isinstance(cell, Text) else Text(cell)


class RowTable(ScrollView, can_focus=True):
    """Rows of cells under a header; one row (the cursor) is highlighted.

    Rows have a string key. ``add_row``/``update_row``/``remove_row``/``clear`` change
    them; ``cursor_row`` (an index) and ``cursor_key`` tell where the cursor is, and
    ``move_cursor`` moves it (scrolling it into view).
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "datatable--cursor",
        "datatable--hover",
        "datatable--header",
        "datatable--odd-row",
        "datatable--even-row",
    }

    # DataTable's own look (Textual 8), for the component classes kept here.
    DEFAULT_CSS = """
    RowTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;

        &:focus {
            background-tint: $foreground 5%;
            & > .datatable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .datatable--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark {
            & > .datatable--even-row {
                background: $surface-darken-1 40%;
            }
        }
        & > .datatable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .datatable--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .datatable--odd-row {
        }
        & > .datatable--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .datatable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .datatable--hover {
            background: $block-hover-background;
        }
        /* Without colour (NO_COLOR) the cursor row is in reverse video. */
        &:nocolor > .datatable--cursor {
            text-style: reverse;
        }
        &:nocolor:focus > .datatable--cursor {
            text-style: reverse bold;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "cursor_first", "First row", show=False),
        Binding("end,ctrl+end", "cursor_last", "Last row", show=False),
    ]

    class Selected(Message):
        """Enter was pressed on a row, or the cursor row was clicked."""

        def __init__(self, table: RowTable, key: str, index: int) -> None:
            super().__init__()
            self.table = table
            self.key = key
            self.index = index

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[CellType],
        *,
        zebra_stripes: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.zebra_stripes = zebra_stripes
        self._labels = [_as_text(c) for c in columns]
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self._row_cells: dict[str, tuple[Text, ...]] = {}
        self._widths = [cell_len(label.plain) for label in self._labels]
        self._cursor = 0
        self._hover: int | None = None
        # Row strips: key -> ((cells, cursor, hover, stripe), strip); valid while the
        # environment (widths, width, styles) is the one they were built in.
        self._strips: dict[str, tuple[tuple[object, ...], Strip]] = {}
        self._header: Strip | None = None
        self._environment: tuple[object, ...] | None = None
        self._styles: dict[str, Style] = {}
        self._styles_key: tuple[object, ...] | None = None
        self.rows_rendered = 0  # rows built into strips, the header not counted (for tests)

    # -- rows -----------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def row_keys(self) -> list[str]:
        """The keys of the rows, top to bottom."""
        return list(self._keys)

    @property
    def column_widths(self) -> list[int]:
        """Each column's content width, padding not counted."""
        return list(self._widths)

    def get_row(self, key: str) -> tuple[Text, ...]:
        return self._row_cells[key]

    def get_row_at(self, index: int) -> tuple[Text, ...]:
        return self._row_cells[self._keys[index]]

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def _cells_of(self, cells: Iterable[CellType]) -> tuple[Text, ...]:
        row = tuple(_as_text(c) for c in cells)
        if len(row) != len(self._labels):
            raise ValueError(f"{len(row)} cells for {len(self._labels)} columns")
        return row

    def _widen(self, row: tuple[Text, ...]) -> bool:
        """Widen the columns to fit ``row``; True if any grew."""
        grew = False
        widths = self._widths
        for i, cell in enumerate(row):
            w = cell_len(cell.plain)
            if w > widths[i]:
                widths[i] = w
                grew = True
        return grew

    def _fit_widths(self) -> None:
        """Recompute the widths from every row (after a row shrank or went)."""
        widths = [cell_len(label.plain) for label in self._labels]
        for row in self._row_cells.values():
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], cell_len(cell.plain))
        self._widths = widths

    def add_row(self, key: str, cells: Iterable[CellType]) -> None:
        """A row at the bottom."""
        self.add_rows([(key, cells)])

    def add_rows(self, rows: Iterable[tuple[str, Iterable[CellType]]]) -> None:
        """Rows at the bottom, in this order."""
        self._add(rows)
        self._update_virtual_size()

    def update_row(self, key: str, cells: Iterable[CellType]) -> None:
        """New cells for an existing row (nothing is repainted if they are the same)."""
        self._update(key, cells)
        self._update_virtual_size()

    def remove_row(self, key: str) -> None:
        self._remove(key)
        self._update_virtual_size()

    def set_rows(self, rows: Sequence[tuple[str, Iterable[CellType]]]) -> None:
        """Make the rows these, in this order, changing only what differs: rows gone
        are removed, rows kept are updated, new rows (after the kept ones) are added;
        another order rebuilds the table."""
        keys = [key for key, _ in rows]
        wanted = set(keys)
        kept = [key for key in self._keys if key in wanted]
        if keys[: len(kept)] != kept:
            self._clear()
            kept = []
        for key in [key for key in self._keys if key not in wanted]:
            self._remove(key)
        for key, cells in rows[: len(kept)]:
            self._update(key, cells)
        self._add(rows[len(kept) :])
        self._update_virtual_size()

    def clear(self) -> None:
        """No rows (the columns stay); the cursor goes back to the top."""
        self._clear()
        self._update_virtual_size()

    def _add(self, rows: Iterable[tuple[str, Iterable[CellType]]]) -> None:
        first = len(self._keys)
        for key, cells in rows:
            if key in self._index:
                raise KeyError(f"a row with key {key!r} exists already")
            row = self._cells_of(cells)
            self._index[key] = len(self._keys)
            self._keys.append(key)
            self._row_cells[key] = row
            if self._widen(row):
                self._changed_all()
        if len(self._keys) > first and self.is_mounted:
            self.refresh_lines(first + 1, len(self._keys) - first)

    def _update(self, key: str, cells: Iterable[CellType]) -> None:
        row = self._cells_of(cells)
        old = self._row_cells[key]
        if row == old:
            return
        self._row_cells[key] = row
        widths = list(self._widths)
        if any(cell_len(o.plain) == w > cell_len(n.plain) for o, n, w in zip(old, row, widths, strict=True)):
            self._fit_widths()  # its column may narrow
        else:
            self._widen(row)
        if self._widths != widths:
            self._changed_all()
        else:
            self._refresh_row(self._index[key])

    def _remove(self, key: str) -> None:
        index = self._index.pop(key)
        del self._keys[index]
        del self._row_cells[key]
        self._strips.pop(key, None)
        for i in range(index, len(self._keys)):
            self._index[self._keys[i]] = i
        self._fit_widths()
        if self._cursor > index or self._cursor >= len(self._keys):
            self._cursor = max(0, self._cursor - 1)
        if self._hover is not None and self._hover >= len(self._keys):
            self._hover = None
        self._changed_all()  # the rows below moved up

    def _clear(self) -> None:
        self._keys.clear()
        self._index.clear()
        self._row_cells.clear()
        self._strips.clear()
        self._widths = [cell_len(label.plain) for label in self._labels]
        self._cursor = 0
        self._hover = None
        self._changed_all()
        self.scroll_to(0, 0, animate=False)

    # -- cursor ---------------------------------------------------------------------------
    @property
    def cursor_row(self) -> int:
        """The cursor's row index (0 when there are no rows)."""
        return self._cursor

    @cursor_row.setter
    def cursor_row(self, row: int) -> None:
        self.move_cursor(row)

    @property
    def cursor_key(self) -> str | None:
        """The key of the cursor's row; None without rows."""
        return self._keys[self._cursor] if self._keys else None

    def move_cursor(self, row: int, *, scroll: bool = True) -> None:
        """Put the cursor on row ``row`` (clamped to the rows) and, unless told not to,
        scroll it into view."""
        row = max(0, min(row, len(self._keys) - 1))
        if row != self._cursor:
            old, self._cursor = self._cursor, row
            self._refresh_row(old)
            self._refresh_row(row)
        if scroll:
            self.scroll_to_cursor()

    def scroll_to_cursor(self) -> None:
        """Scroll (at once) so that the cursor's row is in view, under the header."""
        visible = self.scrollable_content_region.height - 1  # the header is not scrolled
        if visible < 1 or not self._keys:
            return
        top = round(self.scroll_y)
        if self._cursor < top:
            top = self._cursor
        elif self._cursor >= top + visible:
            top = self._cursor - visible + 1
        else:
            return
        self.scroll_to(y=top, animate=False)

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _key_moved(self, row: int) -> None:
        self._set_hover(None)  # as DataTable: the keyboard hides the mouse's highlight
        self.move_cursor(row)

    def action_cursor_up(self) -> None:
        self._key_moved(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._key_moved(self._cursor + 1)

    def action_page_up(self) -> None:
        self._key_moved(self._cursor - self._page())

    def action_page_down(self) -> None:
        self._key_moved(self._cursor + self._page())

    def action_cursor_first(self) -> None:
        self._key_moved(0)

    def action_cursor_last(self) -> None:
        self._key_moved(len(self._keys) - 1)

    def action_select_cursor(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key, self._cursor))

    # -- mouse ----------------------------------------------------------------------------
    def _row_at(self, event: events.MouseEvent) -> int | None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:  # outside the rows, or the header
            return None
        row = offset.y - 1 + round(self.scroll_y)
        return row if row < len(self._keys) else None

    def _set_hover(self, row: int | None) -> None:
        if row != self._hover:
            old, self._hover = self._hover, row
            if old is not None:
                self._refresh_row(old)
            if row is not None:
                self._refresh_row(row)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_hover(self._row_at(event))

    def on_leave(self, event: events.Leave) -> None:
        self._set_hover(None)

    def on_click(self, event: events.Click) -> None:
        row = self._row_at(event)
        if row is None:
            return
        event.stop()
        if row == self._cursor:
            self.action_select_cursor()
        else:
            self.move_cursor(row)

    # -- rendering ------------------------------------------------------------------------
    @property
    def table_width(self) -> int:
        return sum(self._widths) + 2 * CELL_PADDING * len(self._widths)

    def _update_virtual_size(self) -> None:
        """The scrollable size follows the rows and the columns' widths (every line is
        repainted when the widths changed: the strips of other widths are dropped)."""
        set_virtual_size(self, Size(self.table_width, len(self._keys) + 1))

    def _refresh_row(self, index: int) -> None:
        """Repaint one row's line (its strip is rebuilt if its state is not the cached one's)."""
        if self.is_mounted:
            self.refresh_line(index + 1)  # a line of the virtual table: the header is line 0

    def _changed_all(self) -> None:
        """Repaint every line: rows moved, or the columns' widths changed (the strips
        built for other widths are dropped when they are painted next)."""
        if self.is_mounted:
            self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self.scroll_to_cursor()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles_key = None  # the CSS changed: the component styles are read again

    def _check_environment(self) -> None:
        """Drop the cached strips if what they all depend on changed."""
        base = self.rich_style
        # The component styles follow the widget's own style, its pseudo-classes (focus,
        # hover) and the theme; reading them walks the DOM, so not at every paint.
        key = (base, self.get_pseudo_class_state(), self.app.theme)
        if key != self._styles_key:
            self._styles_key = key
            get = self.get_component_styles
            self._styles = {
                "base": base,
                "header": get("datatable--header").rich_style,
                "even": get("datatable--even-row").rich_style,
                "odd": get("datatable--odd-row").rich_style,
                "cursor": self.get_component_rich_style("datatable--cursor"),
                "hover": self.get_component_rich_style("datatable--hover"),
            }
        environment = (tuple(self._widths), self.size.width, self.zebra_stripes, *self._styles.values())
        if environment != self._environment:
            self._environment = environment
            self._strips.clear()
            self._header = None

    def render_lines(self, crop: Region) -> list[Strip]:
        self._check_environment()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if self._environment is None:
            self._check_environment()
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if y == 0:
            if self._header is None:
                self._header = self._build(self._labels, self._styles["header"], Style(), None)
            strip = self._header
        else:
            index = y - 1 + scroll_y
            if index >= len(self._keys):
                return Strip.blank(width, self._styles["base"])
            strip = self._row_strip(index)
        return strip.crop(scroll_x, scroll_x + width)

    def _row_strip(self, index: int) -> Strip:
        key = self._keys[index]
        cells = self._row_cells[key]
        cursor = index == self._cursor
        hover = index == self._hover
        stripe = index % 2 if self.zebra_stripes else -1
        state = (cells, cursor, hover, stripe)
        cached = self._strips.get(key)
        if cached is not None and cached[0] == state:
            return cached[1]
        self.rows_rendered += 1
        styles = self._styles
        row_style = styles["base"] if stripe < 0 else styles["odd" if stripe else "even"]
        highlight = Style()
        if hover:
            highlight += styles["hover"]
        if cursor:
            highlight += styles["cursor"]
        # DataTable's cursor_foreground_priority="css": the cursor's colour over the cells'.
        post = Style.from_color(color=highlight.color) if highlight.color is not None else None
        strip = self._build(cells, row_style, highlight, post)
        self._strips[key] = (state, strip)
        return strip

    def _build(self, cells: Sequence[Text], row_style: Style, highlight: Style, post: Style | None) -> Strip:
        """One line: each cell padded to its column, then blank to the pane's width."""
        pre = row_style + highlight
        plain = pre + post if post else pre  # a cell's padding, and its text without a style
        pad = " " * CELL_PADDING
        console = self.app.console
        # Runs of one style make one segment each (as Strip.simplify would, cheaper).
        segments: list[Segment] = []
        run: list[str] = []
        run_style = plain
        for cell, width in zip(cells, self._widths, strict=True):
            for text, style in _cell_pieces(console, cell, width, pre, post, plain, pad):
                if style is not run_style and style != run_style:
                    if run:
                        segments.append(Segment("".join(run), run_style))
                    run, run_style = [], style
                run.append(text)
        table_width = self.table_width
        width = max(table_width, self.size.width)
        if width > table_width:
            if pre is not run_style and pre != run_style:
                segments.append(Segment("".join(run), run_style))
                run, run_style = [], pre
            run.append(" " * (width - table_width))
        if run:
            segments.append(Segment("".join(run), run_style))
        return Strip(segments, width)


def _cell_pieces(
    console: Console, cell: Text, width: int, pre: Style, post: Style | None, plain: Style, pad: str
) -> list[tuple[str, Style]]:
    """``cell`` in ``width`` cells with its padding, as (text, style) pieces: as rich
    renders a Text (its justify; its own style over the blank that justify adds)
    under the row's ``pre`` style and the cursor's ``post`` style."""
    text = cell
    length = cell_len(text.plain)
    if length > width:
        text = text.copy()
        text.truncate(width, overflow="ellipsis")
        length = cell_len(text.plain)
    gap = width - length
    justify = text.justify
    left = right = 0
    if gap:
        if justify == "right":
            left = gap
        elif justify == "center":
            left = gap // 2
            right = gap - left
        elif justify in ("left", "full"):
            right = gap
    rest = gap - left - right  # justify "default": the remainder is blank, in the row's style
    if not text.spans:
        own = console.get_style(text.style, default=Style.null()) if text.style else None
        body = " " * left + text.plain + " " * right
        if own is None:
            return [(pad + body + " " * rest + pad, plain)]
        style = pre + own
        pieces = [(pad, plain), (body, style + post if post else style)]
    else:
        if left or right:
            text = text.copy()
            text.pad_left(left)
            text.pad_right(right)
        pieces = [(pad, plain)]
        for segment in text.render(console):
            style = pre + segment.style if segment.style else pre
            pieces.append((segment.text, style + post if post else style))
    pieces.append((" " * rest + pad, plain))
    return pieces
