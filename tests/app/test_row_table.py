"""The dashboard's fast table (app/widgets/row_table.py) and the tables built on it: rows,
the cursor and its keys, selection, what is rendered when a row comes, the look
(DataTable's, cell for cell), the cursor without colour."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.geometry import Region
from textual.widgets import DataTable

from tui_trainer import events as ev
from tui_trainer.app.widgets.checkpoints import CheckpointsTable
from tui_trainer.app.widgets.epoch_table import EpochTable
from tui_trainer.app.widgets.row_table import RowTable

COLUMNS = ["ep", "loss", "best", "file"]


def cells(i: int) -> list[Text]:
    return [
        Text(str(i), justify="right"),
        Text(f"{1 / (i + 1):.3f}", justify="right"),
        Text("★", style="bold green", justify="center") if i == 2 else Text(""),
        Text.assemble(("name", "red"), f"_{i}.pt") if i == 4 else Text(f"name_{i}.pt"),
    ]


class TableApp(App):
    def __init__(self, table: RowTable, rows: int = 0) -> None:
        super().__init__()
        self.table = table
        self.rows = rows
        self.selected: list[tuple[str, int]] = []

    def compose(self) -> ComposeResult:
        yield self.table

    def on_mount(self) -> None:
        self.table.add_rows((str(i), cells(i)) for i in range(self.rows))

    def on_row_table_selected(self, message: RowTable.Selected) -> None:
        self.selected.append((message.key, message.index))


def line_text(table: RowTable, y: int) -> str:
    return table.render_line(y).text


def cell_styles(strips) -> list[list[tuple[str, object]]]:
    """Each cell's character and looks (colours and attributes; meta left out)."""
    out = []
    for strip in strips:
        line = []
        for seg in strip:
            st = seg.style
            look = None if st is None else (str(st.color), str(st.bgcolor), st.bold, st.reverse, st.italic, st.dim)
            line += [(c, look) for c in seg.text]
        out.append(line)
    return out


async def test_rows_appear_under_a_header_in_columns_as_wide_as_their_cells():
    table = RowTable(COLUMNS)
    app = TableApp(table, rows=3)
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        assert table.row_count == 3 and table.row_keys == ["0", "1", "2"]
        assert table.column_widths == [2, 5, 4, 9]  # "ep", "0.500", "best", "name_0.pt"
        assert line_text(table, 0).startswith(" ep  loss   best  file      ")
        assert line_text(table, 1).startswith("  0  1.000        name_0.pt ")
        assert line_text(table, 3).startswith("  2  0.333   ★    name_2.pt ")
        assert [c.plain for c in table.get_row_at(1)] == ["1", "0.500", "", "name_1.pt"]
        table.update_row("1", ["1", "0.5", "", "a much longer name.pt"])
        assert table.column_widths == [2, 5, 4, 21]
        table.remove_row("0")
        assert table.row_keys == ["1", "2"] and table.get_row_index("2") == 1
        table.set_rows([("2", cells(2)), ("3", cells(3))])
        assert table.row_keys == ["2", "3"] and table.column_widths == [2, 5, 4, 9]
        with pytest.raises(KeyError):
            table.add_row("3", cells(3))
        table.clear()
        assert table.row_count == 0 and table.cursor_key is None


async def test_a_row_added_renders_that_row_only():
    table = RowTable(COLUMNS, zebra_stripes=True)
    app = TableApp(table, rows=5)
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        before = table.rows_rendered
        assert before == 5  # each on screen, once
        table.add_row("5", cells(5))
        await pilot.pause()
        assert table.rows_rendered == before + 1
        table.update_row("3", ["3", "9.999", "", "name_3.pt"])
        await pilot.pause()
        assert table.rows_rendered == before + 2
        table.move_cursor(1)
        await pilot.pause()
        assert table.rows_rendered == before + 4  # the row the cursor left, and its new row
        table.update_row("4", ["4", "0.2", "", "a longer name_4.pt"])  # a wider column
        await pilot.pause()
        assert table.rows_rendered == before + 4 + 6, "every row again, at the new widths"


async def test_keys_move_the_cursor_and_enter_or_a_click_selects():
    table = RowTable(COLUMNS)
    app = TableApp(table, rows=30)
    async with app.run_test(size=(60, 12)) as pilot:  # 11 rows in view under the header
        table.focus()
        await pilot.pause()
        assert table.cursor_row == 0
        await pilot.press("down", "down")
        assert table.cursor_row == 2 and table.cursor_key == "2"
        await pilot.press("up")
        assert table.cursor_row == 1
        await pilot.press("pagedown")
        assert table.cursor_row == 12 and table.scroll_offset.y > 0, "scrolled into view"
        await pilot.press("pageup")
        assert table.cursor_row == 1
        await pilot.press("end")
        assert table.cursor_row == 29
        assert line_text(table, 11).startswith(" 29"), "the last row at the bottom"
        await pilot.press("home")
        assert table.cursor_row == 0 and table.scroll_offset.y == 0
        await pilot.press("up")
        assert table.cursor_row == 0, "clamped"
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == [("0", 0)]
        await pilot.click(table, offset=(3, 4))  # the fourth row: the cursor moves there
        assert table.cursor_row == 3 and app.selected == [("0", 0)]
        await pilot.click(table, offset=(3, 4))  # the cursor's row: selected
        await pilot.pause()
        assert app.selected == [("0", 0), ("3", 3)]
        await pilot.click(table, offset=(3, 0))  # the header selects nothing
        assert table.cursor_row == 3 and len(app.selected) == 2


class Both(App):
    """A DataTable and a RowTable side by side, with the same rows."""

    def __init__(self, zebra: bool, width: int) -> None:
        super().__init__()
        self.zebra = zebra
        self.CSS = f"Horizontal > * {{ width: {width}; }}"

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield DataTable(id="dt", cursor_type="row", zebra_stripes=self.zebra)
            yield RowTable(COLUMNS, id="rt", zebra_stripes=self.zebra)

    def on_mount(self) -> None:
        dt, rt = self.query_one(DataTable), self.query_one(RowTable)
        dt.add_columns(*COLUMNS)
        for i in range(20):
            dt.add_row(*cells(i), key=str(i))
            rt.add_row(str(i), cells(i))


@pytest.mark.parametrize("zebra", [False, True], ids=["plain", "zebra"])
@pytest.mark.parametrize("width", [50, 20], ids=["wide", "scrolled-sideways"])
async def test_rows_the_header_stripes_and_the_cursor_look_as_in_a_datatable(zebra, width):
    # The look of DataTable, cell for cell: focused or not, striped or not, wherever the
    # cursor is, scrolled down, and narrower than the table (Textual 8's DataTable,
    # cursor_type="row").
    app = Both(zebra, width)
    async with app.run_test(size=(100, 12)) as pilot:
        dt, rt = app.query_one(DataTable), app.query_one(RowTable)
        for focus in (False, True):
            for cursor in (0, 3, 19):
                looks = []
                for widget in (dt, rt):
                    if focus:
                        widget.focus()
                    else:
                        app.set_focus(None)
                    dt.move_cursor(row=cursor, animate=False)
                    rt.move_cursor(cursor)
                    await pilot.pause()
                    await pilot.pause()
                    size = widget.outer_size
                    looks.append(cell_styles(widget.render_lines(Region(0, 0, size.width, size.height))))
                assert looks[0] == looks[1], (focus, cursor)


async def test_without_colour_the_cursor_row_is_in_reverse_video(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    table = RowTable(COLUMNS)
    app = TableApp(table, rows=3)
    async with app.run_test(size=(60, 8)) as pilot:
        assert app.no_color
        await pilot.pause()
        for focused in (False, True):
            if focused:
                table.focus()
                await pilot.pause()
            lines = table.render_lines(Region(0, 0, 60, 4))
            assert all(seg.style.reverse for seg in lines[1] if seg.style), "the cursor row"
            assert not any(seg.style.reverse for line in lines[2:] for seg in line if seg.style)
        table.move_cursor(2)
        await pilot.pause()
        assert all(seg.style.reverse for seg in table.render_lines(Region(0, 3, 60, 1))[0] if seg.style)
        app.export_screenshot()  # the whole screen renders without colour


def epoch_end(epoch: int, acc: float) -> ev.EpochEnd:
    return ev.EpochEnd(
        epoch=epoch,
        epochs=100,
        step=10 * epoch,
        train_loss=1 / epoch,
        train_acc=acc - 1,
        test_loss=1 / epoch,
        test_acc=acc,
        lr=0.1,
        seconds=1.0,
        images_per_s=1000.0,
        best=False,
    )


async def test_the_epoch_table_follows_new_epochs_unless_moved_up_and_marks_the_best():
    table = EpochTable(id="epochs")
    app = TableApp(table)
    async with app.run_test(size=(80, 10)) as pilot:
        for epoch in range(1, 21):
            table.apply(epoch_end(epoch, 50 + epoch))
        table.flush()
        await pilot.pause()
        assert table.row_count == 20 and table.cursor_row == 19 and table.best_epoch == 20
        assert line_text(table, 9).startswith(" 20 "), "the newest row in view"
        table.focus()
        await pilot.press("up", "up")
        table.apply(epoch_end(21, 10))
        table.flush()
        await pilot.pause()
        assert table.row_count == 21 and table.cursor_row == 17, "the user looks at epoch 18"
        await pilot.press("end")
        table.apply(epoch_end(22, 99))
        table.flush()
        await pilot.pause()
        assert table.cursor_row == 21 and table.best_epoch == 22
        marks = [table.get_row(str(e))[-1].plain for e in (20, 22)]
        assert marks == ["", "★"], "the mark moved to the new best"
        table.apply(ev.RunStarted(**{**RUN_STARTED, "start_epoch": 10}))  # resumed from epoch 10
        table.flush()
        assert table.row_keys == [str(e) for e in range(1, 11)]


RUN_STARTED = dict(
    run_id="r",
    run_dir="/r",
    preset="p",
    config={},
    model_summary="m",
    param_count=1,
    device="cpu",
    device_name="cpu",
    precision="fp32",
    data_summary="d",
    epochs=100,
    steps_per_epoch=10,
)


def saved(epoch: int, acc: float) -> ev.CheckpointSaved:
    return ev.CheckpointSaved(
        path=f"/r/checkpoints/epoch_{epoch:03d}.pt", epoch=epoch, step=10 * epoch, test_acc=acc, size=1000, best=False
    )


async def test_the_checkpoints_table_keeps_the_selected_row_and_posts_its_choice():
    table = CheckpointsTable(id="checkpoints")
    chosen: list[tuple[str, str]] = []

    class Checkpoints(TableApp):
        def on_checkpoints_table_chosen(self, message: CheckpointsTable.Chosen) -> None:
            chosen.append((message.action, message.row.path))

    app = Checkpoints(table)
    async with app.run_test(size=(90, 10)) as pilot:
        for epoch, acc in [(1, 50.0), (2, 70.0), (3, 60.0)]:
            table.apply(saved(epoch, acc))
        table.flush()
        await pilot.pause()
        assert table.row_count == 3 and table.cursor_row == 2, "the newest"
        assert table.get_row("/r/checkpoints/epoch_002.pt")[3].plain == "★"
        table.focus()
        await pilot.press("up")
        assert table.selected().epoch == 2
        table.apply(ev.CheckpointRemoved(path="/r/checkpoints/epoch_001.pt"))
        table.apply(saved(4, 65.0))
        table.flush()
        await pilot.pause()
        assert table.row_keys == [f"/r/checkpoints/epoch_{e:03d}.pt" for e in (2, 3, 4)]
        assert table.selected().epoch == 2, "still the one the user chose"
        await pilot.press("e")
        await pilot.press("r")
        await pilot.pause()
        assert chosen == [("evaluate", "/r/checkpoints/epoch_002.pt"), ("resume", "/r/checkpoints/epoch_002.pt")]
        assert [b.id for b in table.BINDINGS] == ["checkpoint.evaluate", "checkpoint.resume"]
        await pilot.press("enter")  # in the table, as e (not RowTable's RowSelected: nobody acted on it)
        await pilot.pause()
        assert chosen[-1] == ("evaluate", "/r/checkpoints/epoch_002.pt") and app.selected == []


def screen_cells(app, region: Region) -> list[list[tuple[str, object]]]:
    """What the terminal shows in ``region``: characters and looks (the compositor's lines)."""
    strips = app.screen._compositor.render_strips()
    return [row[region.x : region.right] for row in cell_styles(strips[region.y : region.bottom])]


async def dashboard_table(pilot, moved_up: int) -> EpochTable:
    """A fed dashboard's epoch table, 60 epochs, the cursor moved up ``moved_up`` pages."""
    from app_helpers import epoch_events

    from tui_trainer.app.screens.dashboard import DashboardScreen

    dash = DashboardScreen()
    await pilot.app.push_screen(dash)
    await pilot.pause()
    dash.feed(epoch_events(60))
    await pilot.pause()
    table = dash.query_one(EpochTable)
    table.focus()
    for _ in range(moved_up):
        await pilot.press("pageup")
    await pilot.pause()
    return table


FRESH: dict[tuple[tuple[int, int], int], list] = {}  # (size, moved_up) -> a fresh dashboard's table cells


@pytest.mark.parametrize("moved_up", [0, 2])
@pytest.mark.parametrize("trip", [[(120, 40), (80, 24), (120, 40)], [(80, 24), (120, 40), (60, 20), (80, 24)]])
async def test_after_a_resize_the_epoch_table_shows_the_rows_it_would_have_shown_at_that_size(trip, moved_up):
    """Each size of a round trip shows what a dashboard opened at that size shows, cell
    for cell (no strip of another width, no row of another scroll position), and the
    cursor's row in view: the newest epoch at the bottom while it follows the run."""
    from tui_trainer.app.app import TrainerApp

    fresh = {}
    for size in set(trip):
        if (size, moved_up) not in FRESH:  # the same reference for every trip through a size
            async with TrainerApp().run_test(size=size) as pilot:
                table = await dashboard_table(pilot, moved_up)
                FRESH[size, moved_up] = screen_cells(pilot.app, table.region)
        fresh[size] = FRESH[size, moved_up]
    async with TrainerApp().run_test(size=trip[0]) as pilot:
        table = await dashboard_table(pilot, moved_up)
        for size in trip[1:]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause()
            shown = screen_cells(pilot.app, table.region)
            visible = table.scrollable_content_region.height - 1  # under the header
            top = round(table.scroll_y)
            assert top <= table.cursor_row < top + visible, "the cursor's row in view"
            epochs = ["".join(c for c, _ in line[:4]).strip() for line in shown[1 : 1 + visible]]
            assert epochs == [str(i + 1) for i in range(top, min(60, top + visible))], (size, epochs)
            if not moved_up:  # (a cursor moved by pages sits elsewhere in a table of another height)
                assert table.cursor_key == "60" and epochs[-1] == "60", "following: the newest row at the bottom"
                assert shown == fresh[size], f"at {size}, on the way {trip}"
