"""The dashboard's log pane (app/widgets/log.py) and its word wrapping
(app/widgets/scrolling.py): wrapped as RichLog wrapped, it follows the newest line,
wraps again when resized, stays bounded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.geometry import Region
from textual.widgets import RichLog

from tui_trainer import events as ev
from tui_trainer.app.widgets import log as log_module
from tui_trainer.app.widgets.log import LogPane
from tui_trainer.app.widgets.scrolling import wrap

CONSOLE = Console(width=200)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab cd  ef-.,:;!\té日😀\u3000")), max_size=90), st.integers(1, 50))
def test_wrap_is_richs_word_wrap(text, width):
    assert wrap(text, width) == [line.plain for line in Text(text).wrap(CONSOLE, width)]


LINES = [
    ("info", "checkpoint saved (epoch): epoch_001_acc_62.41.pt, 1.3 MiB (best saved)"),
    ("warning", "epoch 3: test accuracy fell from 71.85% to 70.12%"),
    ("info", "short"),
    ("error", "a_word_longer_than_the_pane_is_wide_so_it_is_folded_across_lines"),
    ("info", "two\nlines"),
]


class Both(App):
    CSS = "Horizontal > * { width: 30; }"

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield RichLog(id="rich", wrap=True, markup=False, min_width=20)
            yield LogPane(id="log")


async def test_lines_look_as_in_a_richlog():
    # What the old pane (a RichLog fed one Text per flush) showed, cell for cell.
    app = Both()
    async with app.run_test(size=(60, 12)) as pilot:
        rich, pane = app.query_one(RichLog), app.query_one(LogPane)
        await pilot.pause()
        rich.write(
            Text("\n").join(
                Text(m if lv == "info" else f"{lv}: {m}", style=log_module.LEVEL_STYLES[lv]) for lv, m in LINES
            )
        )
        for line in LINES:
            pane.apply(ev.Log(level=line[0], message=line[1]))
        pane.flush()
        await pilot.pause()
        await pilot.pause()
        assert pane.line_count == len(rich.lines) > pane.size.height
        assert pane.scroll_offset.y == rich.scroll_offset.y > 0, "both at the newest line"

        async def cells(widget, focused: bool):
            if focused:
                widget.focus()
            else:
                app.set_focus(None)
            await pilot.pause()
            strips = widget.render_lines(Region(0, 0, widget.outer_size.width, widget.outer_size.height))
            return [
                [(c, seg.style.color, seg.style.bgcolor, seg.style.bold) for seg in s for c in seg.text] for s in strips
            ]

        for focused in (False, True):
            assert await cells(pane, focused) == await cells(rich, focused)
        assert pane.visual_lines()[:3] == [
            "checkpoint saved (epoch): ",
            "epoch_001_acc_62.41.pt, 1.3 ",
            "MiB (best saved)",
        ]


class One(App):
    def compose(self) -> ComposeResult:
        yield LogPane(id="log")


async def test_the_pane_follows_the_newest_line_and_wraps_again_when_resized():
    app = One()
    async with app.run_test(size=(40, 10)) as pilot:
        pane = app.query_one(LogPane)
        await pilot.pause()
        for i in range(30):
            pane.apply(ev.Log(level="info", message=f"line {i} " + "word " * 8))
        pane.flush()
        await pilot.pause()
        assert pane.render_line(pane.size.height - 1).text.startswith("word word"), "the last line in view"
        before = pane.line_count
        pane.add("warning", "printed now")
        await pilot.pause()
        assert pane.line_count == before + 1
        assert pane.render_line(pane.size.height - 1).text.startswith("warning: printed now")
        await pilot.resize_terminal(80, 10)
        await pilot.pause()
        assert pane.line_count < before, "fewer lines, wider"
        assert all(len(line) <= pane.scrollable_content_region.width for line in pane.visual_lines())
        assert pane.render_line(pane.size.height - 1).text.startswith("warning: printed now")


async def test_the_pane_is_bounded(monkeypatch):
    monkeypatch.setattr(log_module, "MAX_LINES", 50)
    app = One()
    async with app.run_test(size=(40, 8)) as pilot:
        pane = app.query_one(LogPane)
        pane.lines_kept = type(pane.lines_kept)(maxlen=50)
        pane._visual = type(pane._visual)(maxlen=50)
        await pilot.pause()
        for i in range(200):
            pane.add("info", f"line {i}")
        await pilot.pause()
        assert len(pane.lines_kept) == 50 and pane.line_count == 50
        assert pane.visual_lines()[-1] == "line 199" and pane.visual_lines()[0] == "line 150"
        assert pane.render_line(pane.size.height - 1).text.startswith("line 199")
        assert len(pane._strips) <= 50
