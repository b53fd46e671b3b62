"""The border of the pane that holds the focus, by a class instead of ``:focus-within``.

Textual restyles the whole subtree of a widget that a ``:focus-within`` rule matches on
every focus change inside it: the picker's editor holds about a hundred widgets, and each
Tab between its fields restyled them all (about 0.1 s a key on a 2-core machine). A class
set on the pane when the focus enters or leaves it restyles its subtree only then;
moves within it cost nothing. app.tcss styles ``.-focus-within``.
"""

from __future__ import annotations

from textual.dom import DOMNode
from textual.screen import Screen

#: The containers whose border says the focus is inside them (app.tcss).
MARKED = ".pane, #editor, #runs-top"
CLASS = "-focus-within"


def mark_focus_within(screen: Screen) -> None:
    """Give each marked container of ``screen`` the class exactly while the focus is in it."""
    focused = screen.focused
    holders: set[DOMNode] = set(focused.ancestors_with_self) if focused is not None else set()
    for node in screen.query(MARKED):
        node.set_class(node in holders, CLASS)
