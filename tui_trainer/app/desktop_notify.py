"""Desktop notifications through the terminal: OSC 9 and OSC 777 escape sequences.

They reach the laptop through SSH: iTerm2, Windows Terminal, WezTerm, kitty, Ghostty
and foot show OSC 9; urxvt, VTE terminals (GNOME Terminal, Tilix) and foot OSC 777. A
terminal that knows neither ignores both, as the standard asks of an unknown OSC.
Inside tmux they are wrapped in its passthrough (tmux shows them with
``set -g allow-passthrough on``). No library does this for Textual, so it is these
few lines; ``TUI_TRAINER_DESKTOP_NOTIFY=0`` turns them off.
"""

from __future__ import annotations

import os
import re
from typing import Any

from textual.app import App

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f;]")  # controls end the sequence early; ';' separates fields


def _clean(text: str) -> str:
    text = _UNSAFE.sub(" ", text).strip()
    # Windows Terminal and ConEmu read "9;<digit>;" as a progress command, not a message.
    return f"· {text}" if text[:1].isdigit() else text


def sequences(title: str, message: str, tmux: bool = False) -> str:
    """The escape sequences that ask the terminal for a notification."""
    title, message = _clean(title), _clean(message)
    out = f"\x1b]9;{title}: {message}\x07\x1b]777;notify;{title};{message}\x07"
    if tmux:  # tmux passes a DCS on, its ESCs doubled
        out = "".join(f"\x1bPtmux;{seq.replace(chr(27), chr(27) * 2)}\x1b\\" for seq in _split(out))
    return out


def _split(text: str) -> list[str]:
    return [part + "\x07" for part in text.split("\x07") if part]


def notify_desktop(app: App[Any], title: str, message: str) -> bool:
    """Ask the terminal for a desktop notification; False where none can be sent."""
    driver = app._driver  # Textual's own bell() writes through it too
    if app.is_headless or driver is None or os.environ.get("TUI_TRAINER_DESKTOP_NOTIFY") == "0":
        return False
    driver.write(sequences(title, message, tmux=bool(os.environ.get("TMUX"))))
    return True
