"""User-facing errors.

Everything a user can get wrong (a config key, a value, a path, a checkpoint) raises
a subclass of :class:`UserError`. Its message is one line that names what was wrong
and what is allowed; the command line prints it and exits with status 2, the app
shows it as a notification. Anything else is a bug or a fault and exits with 1.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """Bad input. ``str(err)`` is a single line fit to show a user."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # Collapse newlines: the contract is one line, whatever a library told us.
        super().__init__(" ".join(str(message).split()))


class ConfigError(UserError):
    """A config, preset or --set override is invalid."""


class DataError(UserError):
    """A data set is missing, unreadable or malformed."""


class CheckpointError(UserError):
    """A checkpoint or run folder cannot be used."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean 'x'?)' for the closest choice, or ''."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


def one_of(choices: Iterable[str]) -> str:
    return ", ".join(str(c) for c in choices)


def one_line(exc: BaseException | None) -> str:
    """The line a user reads for a failure: bad input says what was wrong as it is;
    anything else is a fault of ours, named by its type and its message's first line."""
    if isinstance(exc, UserError):
        return str(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
