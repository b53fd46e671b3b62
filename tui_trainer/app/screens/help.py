"""The help screen (? or F1), and the one list of keys it and the command palette share.

The keys are read from the screen's active bindings when help is asked for, so they are
the ones that work now (a key its screen's check_action hides is left out) and cannot go
stale; each screen's ``HELP`` says what its panes show.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

NOT_OFFERED = {"command_palette"}  # ctrl+p is the palette itself: in the help, not in it
# Textual's own screen keys (tab, shift+tab, copy): there on every screen, not this app's.
TEXTUAL_OWN = {b.action for b in Binding.make_bindings([*Screen.BINDINGS, *App.BINDINGS])} - NOT_OFFERED


@dataclass(frozen=True)
class Offered:
    """A key that works now: where its action runs, and how it is shown."""

    key: str  # as displayed ("^s", "f5")
    namespace: DOMNode
    binding: Binding
    enabled: bool

    @property
    def title(self) -> str:
        """The palette's name for it: the tooltip says it in full, the footer's label is short."""
        return self.binding.tooltip or self.binding.description

    @property
    def everywhere(self) -> bool:
        return isinstance(self.namespace, App)


def offered_bindings(screen: Screen) -> list[Offered]:
    """The app's own keys active on ``screen`` (its focused widget's, the screen's, the
    app's): bindings with an id, or a screen's or the app's. Textual's own (a widget's
    arrows, a field's editing keys, tab) carry no id and are left out."""
    app = screen.app
    by_name: dict[tuple[int, str], Offered] = {}
    for active in screen.active_bindings.values():
        binding, namespace = active.binding, active.node
        if binding.system or not binding.description:
            continue
        if binding.id is None and (not isinstance(namespace, (Screen, App)) or binding.action in TEXTUAL_OWN):
            continue
        offered = Offered(app.get_key_display(binding), namespace, binding, active.enabled)
        same = by_name.get((id(namespace), offered.title))
        if same is not None:  # two keys for one thing (? and f1): one line, both keys
            offered = Offered(f"{same.key} · {offered.key}", namespace, same.binding, same.enabled or active.enabled)
        by_name[(id(namespace), offered.title)] = offered
    return list(by_name.values())


def screen_help(screen: Screen) -> str:
    return getattr(screen, "HELP", "")


def key_lines(offered: list[Offered]) -> Text:
    """One line a key: the key, then what it does (greyed while it does nothing)."""
    text = Text(end="")
    width = max((len(o.key) for o in offered), default=0)
    for i, o in enumerate(offered):
        text.append("\n" if i else "")
        text.append(o.key.ljust(width + 2), "bold" if o.enabled else "dim")
        text.append(o.title, "" if o.enabled else "dim")
        if not o.enabled:
            text.append(" (not now)", "dim")
    return text


class HelpScreen(ModalScreen[None]):
    """The keys that work on ``screen`` now, and what its panes show."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="help.close")]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.for_screen = screen
        self.offered = offered_bindings(screen)

    def compose(self) -> ComposeResult:
        here = [o for o in self.offered if not o.everywhere]
        anywhere = [o for o in self.offered if o.everywhere]
        with Vertical(classes="dialog dialog-wide", id="help"):
            yield Label("Keys and panes", classes="dialog-title")
            with VerticalScroll(id="help-body"):
                about = screen_help(self.for_screen)
                if about:
                    yield Static(about, classes="dialog-detail", id="help-about", markup=False)
                if here:
                    yield Label("On this screen", classes="help-heading")
                    yield Static(key_lines(here), id="help-keys", classes="help-keys")
                yield Label("Anywhere", classes="help-heading")
                yield Static(key_lines(anywhere), id="help-app-keys", classes="help-keys")
            yield Static("esc, q, ? or f1 closes · ctrl+p: every key as a command", classes="dialog-detail")

    def action_close(self) -> None:
        self.dismiss(None)
