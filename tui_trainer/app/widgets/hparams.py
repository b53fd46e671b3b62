"""The hyperparameter editor: the fields a user changes most, validated as typed.

Each field is a config key. Its text is read as the command line reads a value
(:func:`tui_trainer.config.parse_text`) and checked with ``RunConfig.check_value``, so
the messages are the core's. When every field passes, the changed values are applied
with ``RunConfig.with_values``, which also checks the rules that span keys (nesterov,
multistep milestones, the device pattern). The editor reports the resulting config with
a :class:`HParamsEditor.Changed` message: that config is the one a run starts with.

The data set and its folder are fields too: on a server without internet the data is a
local copy, and without them the app could only fail with "not found" (the CLI's
``--data-root`` was the only way in).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Checkbox, Input, Label, Select, Static

from ... import schema
from ...config import AUGMENTATIONS, DATASETS, OPTIMIZERS, PRECISIONS, SCHEDULES, RunConfig, declaration, parse_text
from ...errors import ConfigError, UserError

Values = dict[str, Any]  # "section.key" -> value


@dataclass(frozen=True)
class Field:
    key: str  # "section.key"
    label: str
    kind: str = "text"  # text, path (taken as typed; empty is none), select, flags
    choices: tuple[str, ...] = ()
    show_if: Callable[[Values], bool] | None = None

    @property
    def dom_id(self) -> str:
        return "hp-" + self.key.replace(".", "-")


def _schedule(*names: str) -> Callable[[Values], bool]:
    return lambda v: v.get("schedule.name") in names


FIELDS: tuple[Field, ...] = (
    Field("train.epochs", "epochs"),
    Field("data.dataset", "data set", "select", DATASETS),
    Field("data.root", "data root", "path"),
    Field("data.batch_size", "batch size"),
    Field("optim.name", "optimizer", "select", OPTIMIZERS),
    Field("optim.lr", "lr"),
    Field("optim.momentum", "momentum", show_if=lambda v: v.get("optim.name") in ("sgd", "rmsprop")),
    Field("optim.weight_decay", "weight decay"),
    Field("schedule.name", "schedule", "select", SCHEDULES),
    Field("schedule.warmup_epochs", "warmup epochs"),
    Field("schedule.step_size", "step size", show_if=_schedule("step")),
    Field("schedule.milestones", "milestones", show_if=_schedule("multistep")),
    Field("schedule.gamma", "gamma", show_if=_schedule("step", "multistep")),
    Field("schedule.final_lr_ratio", "final lr ratio", show_if=_schedule("cosine", "linear", "onecycle")),
    Field("schedule.pct_start", "pct start", show_if=_schedule("onecycle")),
    Field("schedule.div_factor", "div factor", show_if=_schedule("onecycle")),
    Field("data.augment", "augment", "flags", AUGMENTATIONS),
    Field("train.precision", "precision", "select", PRECISIONS),
    Field("train.device", "device"),
    Field("train.devices", "devices"),
    Field("train.seed", "seed"),
)
BY_ID = {f.dom_id: f for f in FIELDS}


def to_text(value: Any) -> str:
    """A config value as the user would type it (strings without quotes)."""
    if isinstance(value, str):
        return value
    return schema.fmt(value)


TYPED = ("text", "path")  # the kinds typed into an Input, checked as they are typed


def parse_field(config: RunConfig, field: Field, text: str) -> Any:
    """The typed value of ``text`` for ``field``, or a UserError with the core's message."""
    # A path is not TOML: "/data/my cifar" or a folder named 1e3 is meant as typed.
    value = (text.strip() or None) if field.kind == "path" else parse_text(field.key, text, in_editor=True)
    return config.check_value(field.key, value)


def help_text(field: Field) -> str:
    meta = declaration(field.key)[0].metadata
    parts = [f"{field.key}: {meta['help']}"]
    bounds = schema.bounds_text(meta)
    if bounds:
        parts.append("allowed: " + bounds)
    choices = meta["choices"] or meta["item_choices"]
    if choices:
        parts.append("choices: " + ", ".join(choices))
    if field.key == "train.devices":
        parts.append(visible_gpus_text())
    return "; ".join(parts)


def visible_gpus_text() -> str:
    """How many GPUs this process sees (asked of torch only once something imported it:
    a help line must not stall the screen for torch's import)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return "GPUs visible: not known yet"
    n = torch.cuda.device_count()
    return f"{n} GPU{'s' if n != 1 else ''} visible" if n else "no GPU visible (CPU: a count of processes)"


class Flag(Checkbox):
    """A checkbox whose mark is a character, not only a colour (NO_COLOR, plain terminals)."""

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # noqa: N802
        return "X" if self.value else " "


class CoreRule(Validator):
    """Input validation by the core's own rules and messages."""

    def __init__(self, editor: HParamsEditor, field: Field) -> None:
        super().__init__()
        self.editor = editor
        self.field = field

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_field(self.editor.base or RunConfig(), self.field, value)
        except UserError as exc:
            return self.failure(str(exc))
        return self.success()


class HParamsEditor(VerticalScroll):
    """Fields for one base config; ``changes()`` are the edited values, by key."""

    # Tab goes from the preset list straight to the first field: the scroll container
    # itself was a tab stop of its own that did nothing visible (a focused field scrolls
    # itself into view anyway).
    can_focus = False

    DEFAULT_CSS = """
    HParamsEditor { height: 1fr; }
    HParamsEditor .hp-row { height: auto; }
    HParamsEditor .hp-label { width: 15; padding: 0 1 0 0; }
    HParamsEditor .hp-row Input, HParamsEditor .hp-row Select { width: 1fr; }
    HParamsEditor .hp-error { color: $error; padding: 0 0 0 15; display: none; }
    HParamsEditor .hp-error.-shown { display: block; }
    HParamsEditor .hp-flags { height: 1; width: 1fr; }
    HParamsEditor .hp-flags Checkbox { width: auto; margin: 0 2 0 0; }
    """

    class Changed(Message):
        """Sent after every edit: the changed values, and the first error (None when valid)."""

        def __init__(self, editor: HParamsEditor, changes: Values, error: str | None, config: RunConfig | None) -> None:
            super().__init__()
            self.editor = editor
            self.changes = changes
            self.error = error
            self.config = config

    class Help(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.base: RunConfig | None = None
        self.field_errors: dict[str, str] = {}
        self.error: str | None = "no preset loaded"
        self.config: RunConfig | None = None
        self._loading = False

    def compose(self) -> ComposeResult:
        for f in FIELDS:
            with Horizontal(classes="hp-row", id=f"row-{f.dom_id}"):
                yield Label(f.label, classes="hp-label")
                if f.kind == "select":
                    yield Select([(c, c) for c in f.choices], allow_blank=False, compact=True, id=f.dom_id)
                elif f.kind == "flags":
                    with Horizontal(classes="hp-flags", id=f.dom_id):
                        for choice in f.choices:
                            yield Flag(choice, compact=True, id=f"{f.dom_id}-{choice}")
                else:
                    yield Input(
                        compact=True,
                        id=f.dom_id,
                        validators=[CoreRule(self, f)],
                        validate_on=["changed"],
                        placeholder="none" if f.kind == "path" else "",
                    )
            yield Static("", classes="hp-error", id=f"err-{f.dom_id}", markup=False)

    # -- loading a config ------------------------------------------------------------------
    def load(self, config: RunConfig) -> None:
        """Show ``config``'s values; edits start over from it.

        The picker highlights a preset as soon as its list exists, which can be before
        this editor's fields are mounted (or after they went, while the app exits):
        then the values wait for the next refresh, when the fields are there. Any field
        can be missing (a flags row's checkboxes mount after the rows below it), so the
        test is the loading itself, not one field standing for all."""
        self.base = config
        self.disabled = False
        self._loading = True
        try:
            # The fields' Changed messages would each revalidate the whole form (20 times
            # for the first preset, about 0.1 s before the first frame): once, below.
            with self.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
                for f in FIELDS:
                    value = config.get(f.key)
                    if f.kind == "select":
                        self.query_one(f"#{f.dom_id}", Select).value = value
                    elif f.kind == "flags":
                        for choice in f.choices:
                            self.query_one(f"#{f.dom_id}-{choice}", Checkbox).value = choice in value
                    else:
                        self.query_one(f"#{f.dom_id}", Input).value = "" if value is None else to_text(value)
        except NoMatches:
            if self.is_attached:
                self.call_after_refresh(self.load, config)
            return
        finally:
            self._loading = False
        self.field_errors.clear()
        self.revalidate()

    def unload(self, error: str) -> None:
        """No valid config to edit (a broken preset): nothing can start."""
        self.base = None
        self.config = None
        self.error = error
        self.disabled = True

    def focus_first(self) -> None:
        """The first field shown (the scroll container itself takes no focus)."""
        first = next((w for w in self.query("Input, Select, Checkbox") if w.focusable), None)
        if first is not None:
            first.focus()

    # -- reading the edits -----------------------------------------------------------------
    def values(self) -> Values:
        out: Values = {}
        for f in FIELDS:
            if f.kind == "select":
                out[f.key] = self.query_one(f"#{f.dom_id}", Select).value
        return out

    def shows(self, f: Field, values: Values | None = None) -> bool:
        return f.show_if is None or f.show_if(values if values is not None else self.values())

    def changes(self) -> Values:
        """The values of the visible fields that differ from the base config, by key; a
        field whose text is invalid is left out (revalidate() reports it)."""
        if self.base is None:
            return {}
        values = self.values()
        out: Values = {}
        for f in FIELDS:
            if not self.shows(f, values):
                continue
            try:
                value = self._value(f)
            except UserError:
                continue
            base = self.base.get(f.key)
            if (sorted(value) != sorted(base)) if f.kind == "flags" else (value != base):
                out[f.key] = value
        return out

    def _value(self, f: Field) -> Any:
        """The field's value as the config holds it (a UserError for invalid text)."""
        if f.kind == "select":
            return self.query_one(f"#{f.dom_id}", Select).value
        if f.kind == "flags":
            return [c for c in f.choices if self.query_one(f"#{f.dom_id}-{c}", Checkbox).value]
        assert self.base is not None
        return parse_field(self.base, f, self.query_one(f"#{f.dom_id}", Input).value)

    def revalidate(self) -> None:
        """Check every visible field, then the whole config; report with Changed."""
        values = self.values()
        for f in FIELDS:
            self.query_one(f"#row-{f.dom_id}").display = self.shows(f, values)
        self.field_errors = {}
        for f in FIELDS:
            if f.kind not in TYPED or not self.shows(f, values) or self.base is None:
                self._show_error(f, None)
                continue
            try:
                value = self._value(f)
                if f.kind == "path":
                    self._check_exists(value)
                self._show_error(f, None)
            except UserError as exc:
                self.field_errors[f.key] = str(exc)
                self._show_error(f, str(exc))
        self.config = None
        changes = self.changes()
        if self.base is None:
            self.error = "no preset loaded"
        elif self.field_errors:
            self.error = next(iter(self.field_errors.values()))
        else:
            try:
                self.config = self.base.with_values(changes.items())
                self.error = None
            except UserError as exc:
                self.error = str(exc)
                self._show_cross_key_error(self.error, values)
        self.post_message(self.Changed(self, changes, self.error, self.config))

    def _show_cross_key_error(self, error: str, values: Values) -> None:
        """A rule across keys that names one of the typed fields is shown under that field."""
        for f in FIELDS:
            if error.startswith(f.key) and f.kind in TYPED and self.shows(f, values):
                self._show_error(f, error)
                return

    def _check_exists(self, root: str | None) -> None:
        """Said as it is typed, not by a run that fails a moment after it starts. (A data
        set that downloads creates its folder.)"""
        if root and not Path(root).expanduser().exists() and not (self.base and self.base.data.download):
            raise ConfigError(f"data.root: {root}: no such file or folder")

    def _show_error(self, f: Field, message: str | None) -> None:
        err = self.query_one(f"#err-{f.dom_id}", Static)
        err.update(message or "")
        err.set_class(bool(message), "-shown")
        if f.kind in TYPED:
            self.query_one(f"#{f.dom_id}", Input).set_class(bool(message), "-invalid")

    # -- events ---------------------------------------------------------------------------
    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _edited(self, event: Message) -> None:
        event.stop()
        if not self._loading and self.base is not None:
            self.revalidate()

    def on_descendant_focus(self, event) -> None:
        widget = event.widget
        for node in (widget, widget.parent):
            field = BY_ID.get(getattr(node, "id", None) or "")
            if field is not None:
                self.post_message(self.Help(help_text(field)))
                return
