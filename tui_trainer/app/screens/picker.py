"""The preset picker: the presets with their descriptions, a preview, the editor.

The presets are loaded and validated when the screen mounts (milliseconds: validating
imports no torch), so its first frame already shows the default preset's values in
the editor, ready to edit. Torch, the engine and the models are imported after that
frame, in a background thread (:mod:`..warmup`), while the user reads the picker; the
preview's parameter count, which builds the model, waits for them.
"""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from ... import format as fmt
from ... import presets
from ...config import RunConfig
from ...errors import UserError, one_line
from .. import warmup
from ..widgets.footer import FittingFooter
from ..widgets.hparams import HParamsEditor
from ..widgets.preview import PresetPreview, cached_param_count, param_count
from ..worker_errors import ForwardsWorkerErrors
from .confirm import ChoiceScreen, ConfirmScreen, PromptScreen
from .too_small import NeedsSize

if TYPE_CHECKING:
    from textual import getters

    from ..app import TrainerApp


def quick_description(entry: presets.PresetEntry) -> str:
    """The description straight from the TOML (no validation, no torch)."""
    try:
        meta = tomllib.loads(entry.path.read_text()).get("meta", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return f"unreadable: {exc}"
    return str(meta.get("description", "")) if isinstance(meta, dict) else ""


def option_prompt(name: str, source: str, description: str, error: str | None = None) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(name, "bold")
    text.append(f"  {source}", "dim")
    if name == presets.DEFAULT_PRESET:
        text.append("  default", "dim italic")
    text.append("\n")
    if error:
        text.append(f"invalid: {error}", "red")
    else:
        text.append(description or "(no description)", "dim")
    return text


def load_presets(entries: dict[str, presets.PresetEntry]) -> tuple[dict[str, RunConfig], dict[str, str]]:
    """Each preset's validated config, or the one line saying what is wrong with it."""
    configs, errors = {}, {}
    for name, entry in entries.items():
        try:
            configs[name] = presets.load_file(entry.path, name)
        except UserError as exc:
            errors[name] = str(exc)
        except Exception as exc:  # noqa: BLE001 - one broken preset must not hide the others
            errors[name] = f"{type(exc).__name__}: {exc}"
    return configs, errors


class WarmedUp(Message):
    """Torch, the engine and the models are imported (see ..warmup)."""


class ParamsCounted(Message):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class Prepared(Message):
    def __init__(self, launch: Any = None, error: str | None = None, missing: Any = None) -> None:
        super().__init__()
        self.launch = launch
        self.error = error
        self.missing = missing  # the data's Availability when it is not there


def _name_problem(text: str) -> str | None:
    """What is wrong with ``text`` as a user preset's name, for the prompt; None if nothing."""
    try:
        presets.check_name(text)
    except UserError as exc:
        return str(exc)
    return None


class PickerScreen(NeedsSize, ForwardsWorkerErrors, Screen):
    MIN_SIZE = (80, 24)  # below it: the too-small panel (screens/too_small.py)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
    AUTO_FOCUS = "#preset-list"
    BINDINGS = [
        # f5 starts from anywhere, a text field too (where s is typed): the footer shows it
        # alone, and s is the short way from the list (check_action: not while typing).
        Binding("f5", "start", "Start", id="start", tooltip="Start training"),
        Binding("s", "start('s')", "Start", show=False, id="start.s", tooltip="Start training"),
        Binding("ctrl+s", "save_preset", "Save as preset", id="save_preset", priority=True, tooltip="Save as preset"),
        Binding("escape", "focus_list", "Presets list", id="focus_list", tooltip="Back to the presets list"),
    ]
    HELP = (
        "Presets: built-in and user presets (enter edits one). Preview: its model, data (here "
        "or not), size and recipe. Hyperparameters: what the run starts with, checked as "
        "typed; below them, the focused field's help and whether the run can start."
    )

    if TYPE_CHECKING:  # for the checker: self.app is the TrainerApp (textual's own idiom)
        app = getters.app(TrainerApp)

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, presets.PresetEntry] = {}
        self.configs: dict[str, RunConfig] = {}
        self.errors: dict[str, str] = {}
        self.loaded = False  # the presets are loaded (on mount)
        self.current: str | None = None
        self.starting = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="picker"):
            with Vertical(id="picker-left"):
                yield OptionList(id="preset-list")
                yield PresetPreview(id="preview")
            with Vertical(id="picker-right"):
                yield HParamsEditor(id="editor")
                yield Static("", id="field-help", markup=False)
                yield Static("", id="picker-status", markup=False)
                with Horizontal(id="picker-buttons"):
                    yield Button("Start (f5)", id="start", variant="success", compact=True)
                    yield Button("Save as preset (^s)", id="save", compact=True)
        yield FittingFooter()

    def on_mount(self) -> None:
        self.query_one("#preset-list").border_title = "Presets"
        self.query_one("#preset-list").border_subtitle = "enter edit · s start"
        self.query_one("#preview").border_title = "Preview"
        self.query_one("#editor").border_title = "Hyperparameters"
        # All before the first frame: it shows the default preset's values, editable.
        self.configs, self.errors = load_presets(presets.available())
        self.loaded = True
        self.fill_list(presets.DEFAULT_PRESET)
        highlighted = self.query_one(OptionList).highlighted_option
        self.select(highlighted.id if highlighted is not None else None)
        warmup.when_done(self._warmed_up)
        if self.app.first_frame_drawn:  # opened later (f2): else the app starts them after its first frame
            self.call_after_refresh(warmup.start)

    def _warmed_up(self) -> None:
        self.post_message(WarmedUp())  # from the warm-up thread: post_message is thread-safe

    def on_warmed_up(self) -> None:
        if self.is_mounted:
            try:
                self.show_preview()  # the parameter count can be computed now
            except NoMatches:
                pass  # torn down meanwhile

    # -- the list ---------------------------------------------------------------------------
    def fill_list(self, select: str | None = None) -> None:
        self.entries = presets.available()
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(
            Option(option_prompt(name, entry.source, quick_description(entry), self.errors.get(name)), id=name)
            for name, entry in self.entries.items()
        )
        names = list(self.entries)
        if names:
            target = select if select in self.entries else names[0]
            options.highlighted = names.index(target)

    @on(OptionList.OptionHighlighted, "#preset-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id != self.current:
            self.select(event.option.id)

    @on(OptionList.OptionSelected, "#preset-list")
    def _selected(self) -> None:
        # Enter on a preset: go and edit it, at its first field (f5 or the button start).
        if self.current in self.configs:
            self.query_one(HParamsEditor).focus_first()

    def select(self, name: str | None) -> None:
        self.current = name
        if name is None:
            return
        config = self.configs.get(name)
        if config is not None:
            self.query_one(HParamsEditor).load(config)  # revalidates: Changed updates the preview
        else:
            error = self.errors.get(name) or "no config"
            self.query_one(HParamsEditor).unload(error)
            self.show_preview()
            self.set_status(error, error=True)

    # -- preview and status -------------------------------------------------------------------
    def edited_config(self) -> RunConfig | None:
        editor = self.query_one(HParamsEditor)
        return editor.config or self.configs.get(self.current or "")

    def show_preview(self) -> None:
        name = self.current or ""
        entry = self.entries.get(name)
        config = self.edited_config()
        params = cached_param_count(config) if config is not None else None
        self.query_one(PresetPreview).show(name, entry.source if entry else "", config, params, self.errors.get(name))
        if params is False and config is not None and warmup.done.is_set():
            self.count_params(name, config)  # else on_warmed_up asks again

    @work(thread=True, group="params", exclusive=True, exit_on_error=False)
    def count_params(self, name: str, config: RunConfig) -> None:
        param_count(config)
        self.post_message(ParamsCounted(name))

    def on_params_counted(self, message: ParamsCounted) -> None:
        if message.name == self.current and self.is_mounted:
            try:
                self.show_preview()
            except NoMatches:
                pass  # torn down meanwhile

    def set_status(self, text: str | None, error: bool = False) -> None:
        status = self.query_one("#picker-status", Static)
        status.update(Text(text or "", style="bold red" if error else ""))
        status.set_class(error, "-error")

    @on(HParamsEditor.Changed)
    def _edited(self, message: HParamsEditor.Changed) -> None:
        if self.current not in self.configs:
            return  # a late message from the preset shown before this (broken) one
        self.show_preview()
        if message.error:
            self.set_status(message.error, error=True)
        else:
            changed = len(message.changes)
            self.set_status(f"ready · {fmt.plural(changed, 'change')} · f5 starts")

    @on(HParamsEditor.Help)
    def _help(self, message: HParamsEditor.Help) -> None:
        self.query_one("#field-help", Static).update(message.text)

    # -- actions --------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start" and parameters == ("s",):
            # Not where s is typed (a text field, an open list's type-to-search).
            return self.focused is None or not self.focused.check_consume_key("s", "s")
        if action == "focus_list":
            return self.focused is not None and not isinstance(self.focused, OptionList)
        return True

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    def action_start(self, key: str = "f5") -> None:  # noqa: ARG002 - the key is check_action's
        editor = self.query_one(HParamsEditor)
        if self.current not in self.configs:
            self.notify(self.errors.get(self.current or "", "No preset to start"), severity="error")
            return
        if editor.error or editor.config is None:
            error = editor.error or "no valid config"
            self.notify(f"Not started: {error}", severity="error")
            self.set_status(error, error=True)
            return
        if self.app.training_now():
            self.notify("A run is already training (f4 shows it); stop it first", severity="warning")
            return
        if self.starting:
            return
        self.starting = True
        self.set_status("preparing the run…")
        self.prepare(editor.config)

    @work(thread=True, group="prepare", exclusive=True, exit_on_error=False)
    def prepare(self, config: RunConfig) -> None:
        """A run folder for the config the editor shows: that config, not the preset read
        again, is the one that trains."""
        from ...data.availability import check
        from ...launch import new_run, preflight_beyond_data

        found = check(config.data)  # before a run folder exists: a missing data set leaves none
        if not found.usable:
            self.post_message(Prepared(error=found.problem, missing=found))
            return
        try:
            preflight_beyond_data(config)  # what the command line checks too: the device, extras, notify URLs
            if config.train.devices != 1:  # more GPUs than there are: said before a run folder exists
                from ...cli.launcher import plan

                plan(config)
            launch = new_run(config, runs_dir=self.app.runs_dir)
        except UserError as exc:
            self.post_message(Prepared(error=str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - e.g. a runs folder that cannot be written
            self.post_message(Prepared(error=one_line(exc)))
            return
        import tui_trainer.engine.trainer  # noqa: F401 - warm the engine import here, off the UI thread

        self.post_message(Prepared(launch))

    def on_prepared(self, message: Prepared) -> None:
        self.starting = False
        if message.missing is not None:
            self.ask_for_data(message.missing)
            return
        if message.error:
            self.set_status(message.error, error=True)
            self.notify(message.error, severity="error", timeout=10)
            return
        self.set_status("started · f4 shows the run")
        self.app.start_session(message.launch)

    def ask_for_data(self, missing: Any) -> None:
        """Start on missing data: the choices that exist, as a dialog."""
        from ...data.availability import TORCHVISION_FILES

        config = self.edited_config()
        dataset = config.data.dataset if config is not None else ""
        choices = [("root", "Point at a folder or archive", "f"), ("cancel", "Cancel", "c")]
        if dataset in TORCHVISION_FILES:  # torchvision can fetch these where the network allows
            choices.insert(0, ("download", "Download", "d"))
        self.set_status(missing.problem, error=True)

        def answered(choice: str | None) -> None:
            if choice == "download" and config is not None and not self.starting:
                self.starting = True
                self.set_status(f"preparing the run ({dataset} to download)…")
                self.prepare(config.with_value("data.download", True))
            elif choice == "root":
                self.query_one("#hp-data-root").focus()

        detail = f"Looked in {missing.where}. {missing.problem}"
        self.app.push_screen(ChoiceScreen(f"No {dataset} data here", choices, detail=detail), answered)

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save_preset()

    def action_save_preset(self) -> None:
        editor = self.query_one(HParamsEditor)
        config = editor.config
        if config is None:
            self.notify(f"Cannot save: {editor.error}", severity="error")
            return

        def answered(name: str | None) -> None:
            if name:
                self._save_unless_declined(name, config)

        base = self.current or "preset"
        self.app.push_screen(PromptScreen("Save as user preset named", f"{base}-custom", _name_problem), answered)

    def _save_unless_declined(self, name: str, config: RunConfig) -> None:
        """Save ``config`` as user preset ``name``; another user preset of that name would be
        lost, so that asks first (saving the preset being edited under its own name is the
        ordinary save, and asks nothing)."""
        entry = self.entries.get(name)
        if entry is None or entry.source != "user" or name == self.current:
            self._save_preset(name, config)
            return
        self.app.push_screen(
            ConfirmScreen(
                f"Replace the user preset {name}?", f"{entry.path} is overwritten.", yes="Replace", no="Keep it"
            ),
            lambda yes: self._save_preset(name, config) if yes else None,
        )

    def _save_preset(self, name: str, config: RunConfig) -> None:
        try:
            path = presets.save_user_preset(name, config)
        except (UserError, OSError) as exc:
            self.notify(str(exc), severity="error")
            return
        entry = self.entries.get(name)
        note = " (it overrides the built-in preset of that name)" if entry and entry.source == "built-in" else ""
        self.notify(f"Saved preset {name} to {path}{note}")
        self.configs[name] = config.replace(name=name)
        self.errors.pop(name, None)
        self.current = None
        self.fill_list(name)
        self.select(name)

    def action_focus_list(self) -> None:
        self.query_one(OptionList).focus()
