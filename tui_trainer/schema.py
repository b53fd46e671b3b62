"""Strict, typed parsing of plain data (TOML tables) into dataclasses.

A config section is a dataclass whose fields are declared with :func:`option`, which
carries the default, the allowed range or choices and a one-line help text. The
parser accepts only known keys (with a "did you mean" hint for the others), checks
every type and range, and reports the first problem as one line that names the key,
the bad value and what is allowed. The same metadata drives the app's field editors.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import types
import typing
from typing import Any

from .errors import ConfigError, did_you_mean, one_of
from .format import setting as value_text


def option(
    default: Any,
    *,
    help: str = "",
    min: float | None = None,
    max: float | None = None,
    gt: float | None = None,
    choices: typing.Sequence[str] | None = None,
    item_choices: typing.Sequence[str] | None = None,
    length: int | None = None,
) -> Any:
    """Declare a config field. ``gt`` is an exclusive lower bound (e.g. lr > 0)."""
    meta = {
        "help": help,
        "min": min,
        "max": max,
        "gt": gt,
        "choices": tuple(choices) if choices is not None else None,
        "item_choices": tuple(item_choices) if item_choices is not None else None,
        "length": length,
    }
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=functools.partial(copy.copy, default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def fmt(value: Any) -> str:
    """Format a value the way the user would write it in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    if value is None:
        return "none"
    return str(value)


def type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation)
        plural = {int: "integers", float: "numbers", str: "strings", bool: "true/false values"}
        return f"a list of {plural.get(item) or type_name(item)}"
    return {
        int: "an integer",
        float: "a number",
        bool: "true/false",
        str: "a string",
        type(None): "none",
    }.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    """Return ``value`` converted to ``annotation`` or raise a one-line ConfigError."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            if type(None) in args:
                return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: {fmt(value)} is not valid; expected {type_name(annotation)}")
    if origin is list:
        (item,) = typing.get_args(annotation)
        if not isinstance(value, (list, tuple)):
            try:  # one item where a list belongs: show the list it would be
                hint = f", e.g. {fmt([_coerce(value, item, key)])}"
            except ConfigError:
                hint = ""
            raise ConfigError(f"{key}: {fmt(value)} is not valid; expected {type_name(annotation)}{hint}")
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif annotation is str:
        if isinstance(value, str):
            return value
    elif annotation is Any:
        return value
    raise ConfigError(f"{key}: {fmt(value)} is not valid; expected {type_name(annotation)}")


def bounds_text(meta: typing.Mapping[str, Any]) -> str:
    """A field's numeric bounds as the user reads them, e.g. "> 0 and <= 100"; "" if none."""

    parts = []
    if meta["gt"] is not None:
        parts.append(f"> {value_text(meta['gt'])}")
    if meta["min"] is not None:
        parts.append(f">= {value_text(meta['min'])}")
    if meta["max"] is not None:
        parts.append(f"<= {value_text(meta['max'])}")
    return " and ".join(parts)


def _check_range(value: Any, meta: typing.Mapping[str, Any], key: str) -> None:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if v != v or v in (float("inf"), float("-inf")):
            raise ConfigError(f"{key}: {fmt(v)} is not allowed; expected a finite number")
        if (
            (meta["gt"] is not None and not v > meta["gt"])
            or (meta["min"] is not None and v < meta["min"])
            or (meta["max"] is not None and v > meta["max"])
        ):
            raise ConfigError(f"{key}: {fmt(v)} is out of range; allowed: {bounds_text(meta)}")
    if meta["choices"] is not None and isinstance(value, str) and value not in meta["choices"]:
        raise ConfigError(
            f"{key}: unknown value {fmt(value)}{did_you_mean(value, meta['choices'])}; "
            f"allowed: {one_of(meta['choices'])}"
        )
    if meta["item_choices"] is not None and isinstance(value, list):
        for item in value:
            if isinstance(item, str) and item not in meta["item_choices"]:
                raise ConfigError(
                    f"{key}: unknown item {fmt(item)}{did_you_mean(item, meta['item_choices'])}; "
                    f"allowed: {one_of(meta['item_choices'])}"
                )
    if meta["length"] is not None and isinstance(value, list) and len(value) != meta["length"]:
        raise ConfigError(f"{key}: {fmt(value)} has {len(value)} items; expected {meta['length']}")


def fields_of(cls: type) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
    """Map field name to (field, resolved annotation): a new dict each call."""
    return dict(_fields_of(cls))


@functools.cache
def _fields_of(cls: type) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
    # Resolving the annotations (typing.get_type_hints) is most of what parsing a config
    # costs, and a dataclass's annotations do not change: once per class.
    hints = typing.get_type_hints(cls)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(cls) if f.init}


def unknown_key(prefix: str, key: str, known: typing.Iterable[str]) -> str:
    """The message for ``prefix.key`` where only ``known`` are declared."""
    known = list(known)
    return f"unknown key '{prefix}.{key}'{did_you_mean(key, known)}; allowed in [{prefix}]: {one_of(known)}"


def check_field(f: dataclasses.Field[Any], annotation: Any, value: Any, key: str) -> Any:
    """``value`` converted to field ``f``'s type and checked against its declaration; errors
    name ``key``. Every value of a config passes through here."""
    value = _coerce(value, annotation, key)
    _check_range(value, f.metadata, key)
    return value


def parse(cls: type, data: Any, prefix: str) -> Any:
    """Build dataclass ``cls`` from mapping ``data``; keys are reported as ``prefix.key``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix}: expected a table of settings, got {fmt(data)}")
    known = fields_of(cls)
    for key in data:
        if key not in known:
            raise ConfigError(unknown_key(prefix, key, known))
    kwargs = {
        name: check_field(f, annotation, data[name], f"{prefix}.{name}")
        for name, (f, annotation) in known.items()
        if name in data
    }
    return cls(**kwargs)


def to_plain(obj: Any) -> Any:
    """Dataclasses to dicts, tuples to lists: plain data for TOML, JSON and checkpoints."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj
