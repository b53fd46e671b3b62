"""The panel shown while the terminal is smaller than the screen under it needs.

At 60x20 the picker's hyperparameter editor and its Start button were off screen but
still took keystrokes blind. Each screen says the size it needs (``MIN_SIZE``, through
:class:`NeedsSize`); below it the app covers the screen with this panel, which takes
no key but quit, and takes it away once the terminal is large enough again.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


class TooSmallScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    TooSmallScreen { align: center middle; }
    TooSmallScreen > Static { width: auto; height: auto; padding: 0 1; text-style: bold; }
    """
    BINDINGS = [Binding("q", "app.quit", "Quit", id="too_small.quit")]

    def __init__(self, under: Screen, need: tuple[int, int]) -> None:
        super().__init__()
        self.under = under  # the screen this one covers
        self.need = need

    def compose(self) -> ComposeResult:
        yield Static(self.text(), id="too-small", markup=False)

    def text(self) -> str:
        (w, h), (now_w, now_h) = self.need, self.app.size
        return f"terminal too small: {w}x{h} needed (now {now_w}x{now_h})\nenlarge it, or press q to quit"

    def on_resize(self) -> None:
        if self.app.screen is not self:
            return  # dismissed already (a resize comes in several events)
        if fits(self.app.size, self.need):
            self.dismiss()
        else:
            self.query_one("#too-small", Static).update(self.text())


def fits(size: tuple[int, int], need: tuple[int, int]) -> bool:
    return size[0] >= need[0] and size[1] >= need[1]


class NeedsSize:
    """For a screen: below ``MIN_SIZE`` (columns, lines) the app covers it with
    :class:`TooSmallScreen`."""

    MIN_SIZE: tuple[int, int] = (60, 20)

    def on_resize(self) -> None:
        self._guard_size()

    def on_screen_resume(self) -> None:
        self._guard_size()

    def _guard_size(self) -> None:
        screen = self
        assert isinstance(screen, Screen)
        app = screen.app
        if screen is app.screen and not fits(app.size, self.MIN_SIZE):
            app.push_screen(TooSmallScreen(screen, self.MIN_SIZE))
