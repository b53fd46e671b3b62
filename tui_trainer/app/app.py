"""The Textual app: modes (presets, runs, and the dashboard of the live run), the
app-wide keys, and the one training session this process runs at a time."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sys
import threading
import warnings
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App, ScreenStackError, SystemCommand, UnknownModeError
from textual.binding import Binding
from textual.events import DescendantBlur, DescendantFocus, Print
from textual.filter import Monochrome, NoColor
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from .. import events as ev
from .. import format as fmt
from .. import paths, wording
from ..alerts import Alert
from ..errors import UserError
from ..runs import Run
from . import warmup
from .bridge import EngineUpdate, EventBridge, TrainingSession
from .desktop_notify import notify_desktop
from .focus_marks import mark_focus_within
from .pacing import MIN_TAKE_S
from .screens.confirm import ConfirmScreen
from .screens.dashboard import DashboardScreen
from .screens.evaluation import EvalScreen
from .screens.help import NOT_OFFERED, HelpScreen, offered_bindings
from .screens.picker import PickerScreen
from .screens.runs import RunsScreen
from .screens.too_small import TooSmallScreen
from .worker_errors import one_line, task_of

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from ..config import RunConfig
    from ..launch import Launch

# Signals that end the app the way a confirmed quit does (Windows has neither).
HANGUP_SIGNALS = {
    getattr(signal, name): reason
    for name, reason in (("SIGHUP", "SIGHUP (terminal closed)"), ("SIGTERM", "SIGTERM"))
    if hasattr(signal, name)
}
STOP_TIMEOUT = 120.0  # seconds to wait at exit for the engine to write its checkpoint
EXIT_GRACE = 10.0  # seconds Textual may take to shut down on a dead terminal before os._exit


def terminal_hung_up(fd: int | None = None) -> bool:
    """Whether the terminal on ``fd`` (default: stdin) has hung up, as a pty does when the
    SSH session or the tmux pane holding it goes away. The app can then end before it
    sees the SIGHUP: Textual's input thread fails reading the dead terminal first."""
    try:
        if fd is None:
            if sys.__stdin__ is None:
                return False  # no stdin
            fd = sys.__stdin__.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return any(mask & select.POLLHUP for _, mask in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no stdin, or no poll on this platform
        return False


def exit_even_if_textual_hangs(app: TrainerApp) -> None:
    """Make sure the process ends after its terminal went away (SSH dropped, tmux pane
    killed). Textual's output thread can die writing to the dead terminal; its shutdown
    then waits forever to hand it one more write, and the process lingered (found: 1 in
    6 hang-ups, holding its model and, on a server, the GPU's memory). A daemon thread
    waits for the run to end (checkpoint and status written), gives the normal exit
    EXIT_GRACE seconds, then ends the process with the app's exit status."""
    if app.is_headless or getattr(app, "_exit_watchdog", None) is not None:
        return  # headless: a test's app (run_test), whose process must live on

    def watch() -> None:
        session = app.session
        if session is not None:
            session.wait(STOP_TIMEOUT)
        threading.Event().wait(EXIT_GRACE)
        os._exit(app.exit_status)

    app._exit_watchdog = threading.Thread(target=watch, name="tui-trainer-exit-watchdog", daemon=True)
    app._exit_watchdog.start()


MONO_TERMS = ("-mono", "-m", "dumb")  # TERM values (endings) of terminals without colour


def wants_no_color(no_color: bool, term: str | None) -> bool:
    """NO_COLOR (no-color.org), or a terminal that has no colour (``TERM=xterm-mono``)."""
    return no_color or (term or "").endswith(MONO_TERMS)


class AppWarning(Message):
    """A Python warning, from any thread."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class Evaluated(Message):
    """A checkpoint's evaluation is done (its failure goes to report_worker_error)."""

    def __init__(self, path: str, result: Any) -> None:
        super().__init__()
        self.path = path
        self.result = result


class Resumable(Message):
    """A resume is prepared (its failure goes to report_worker_error)."""

    def __init__(self, launch: Launch, history: list[ev.Event]) -> None:
        super().__init__()
        self.launch = launch
        self.history = history


class TrainerApp(App[int]):
    # Absolute: Textual resolves a relative path against the subclass's module (tests subclass).
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "tui-trainer"
    MODES = {"presets": PickerScreen, "runs": RunsScreen}
    BINDINGS = [
        # Each binding is also a command palette entry (get_system_commands), named by its
        # tooltip, and a line of the help screen: one list of what the keys do.
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True, tooltip="Quit"),
        Binding("f1,question_mark", "help", "Help", id="help", tooltip="Help: the keys and what the panes show"),
        Binding("f2", "show_presets", "Presets", id="presets", tooltip="Presets: pick, edit and start a preset"),
        Binding("f3", "show_runs", "Runs", id="runs", tooltip="Runs: open or compare past runs"),
        Binding("f4", "show_dashboard", "Live run", id="dashboard", tooltip="Live run: the run started here"),
    ]
    _exit_watchdog: threading.Thread | None = None  # see exit_even_if_textual_hangs

    def __init__(self, launch: Launch | None = None, watch: Run | None = None, runs_dir: Path | None = None) -> None:
        super().__init__()
        # No animations: over SSH every frame costs bandwidth, and on a busy CPU the UI
        # thread's time (and, through the GIL, the engine's) is better spent elsewhere.
        self.animation_level = "none"
        if wants_no_color(self.no_color, os.environ.get("TERM")):
            # No colour at all, not Textual's greys (its Monochrome filter): selections
            # and focus are drawn in reverse video instead (app.tcss, :nocolor rules).
            self.no_color = True
            self._filters = [f for f in self._filters if not isinstance(f, Monochrome)] + [NoColor()]
        self.launch = launch
        self.watched = watch  # the run to watch (`watch` would hide DOMNode.watch)
        if runs_dir is not None:
            self.runs_dir = Path(runs_dir)
        elif launch is not None:
            self.runs_dir = launch.run.dir.parent
        elif watch is not None:
            self.runs_dir = watch.dir.parent
        else:
            self.runs_dir = paths.runs_dir()
        self.session: TrainingSession | None = None
        self._take_timer: Timer | None = None  # when the held engine events are taken next (pacing.py)
        self.launch_session: TrainingSession | None = None
        # The last run this app started on several devices, when it was the last started:
        # its ranks train in processes of their own, and outlive the app.
        self.background_run: Run | None = None
        self.live_mode: str | None = None
        self._sessions = 0
        self._showwarning: Any = None
        self._printed = ""
        self.first_frame_drawn = False  # see on_ready

    # -- start-up and shutdown ---------------------------------------------------------------
    async def on_mount(self) -> None:
        self._showwarning = warnings.showwarning
        warnings.showwarning = self._warning_hook
        # Anything printed (a library's message on stderr, say) would be lost behind the
        # screen: it goes to the log pane instead.
        self.begin_capture_print(self, stdout=True, stderr=True)
        self._watch_signals(True)
        await self.show_first_screen()

    def on_ready(self) -> None:
        """The first frame is on the terminal (Textual's Ready; the app's Mount runs in a
        batch update, which holds frames back until it ends). On the picker, only now are
        torch, the engine and the models imported, in a background thread, after the
        screen's next refresh so that they do not slow the frame (warmup.py). A dashboard
        first (train, watch) needs no warm-up: its engine imports them, or it only reads
        a run folder; the picker starts the imports when it is opened later."""
        self.first_frame_drawn = True
        if self.current_mode == "presets":
            self.call_after_refresh(warmup.start)

    async def show_first_screen(self) -> None:
        """The dashboard of ``launch`` or of ``watch``, else the picker (tests override it)."""
        if self.launch is not None:
            self.start_session(self.launch, history=self._history_of(self.launch))
            self.launch_session = self.session
        elif self.watched is not None:
            await self.switch_mode("runs")
            await self.push_screen(DashboardScreen(watch=self.watched))
        else:
            await self.switch_mode("presets")

    def _watch_signals(self, on: bool) -> None:
        """SIGHUP (the SSH session dropped) and SIGTERM stop the run like a quit does: the
        engine writes a checkpoint and marks the run stopped, so it can be resumed."""
        try:
            loop = asyncio.get_running_loop()
            for signum in HANGUP_SIGNALS:
                if on:
                    loop.add_signal_handler(signum, self._on_signal, signum)
                else:
                    loop.remove_signal_handler(signum)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (tests), or a platform without them

    def _on_signal(self, signum: int) -> None:
        if self.session is not None and self.session.running:
            self.session.stop(HANGUP_SIGNALS.get(signum, f"signal {signum}"))
        if signum == getattr(signal, "SIGHUP", None) or terminal_hung_up():
            exit_even_if_textual_hangs(self)
        self.exit(self.exit_status)

    def on_unmount(self) -> None:
        self.end_capture_print(self)
        if self._showwarning is not None:
            warnings.showwarning = self._showwarning
        # However the app ends, the engine thread must stop (writing its checkpoint),
        # or the process would wait for it at exit. The signal handlers stay until it
        # has: a SIGHUP that came now with the default handler would kill the process
        # in the middle of the save.
        hung_up = terminal_hung_up()
        if hung_up:
            exit_even_if_textual_hangs(self)
        if self.session is not None and self.session.running:
            self.session.stop(HANGUP_SIGNALS[signal.SIGHUP] if hung_up else "quit")
            self.session.wait(STOP_TIMEOUT)
        if self.session is not None and self.session.error is not None:
            # A worker that raised as the app closed: no handler will report it now,
            # but the run folder must still say it failed.
            self.session.fail(self.session.error)
        self._watch_signals(False)

    def _warning_hook(self, message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
        self.post_message(AppWarning(f"{category.__name__}: {message} ({Path(filename).name}:{lineno})"))

    def on_app_warning(self, message: AppWarning) -> None:
        self._log_line("warning", message.text)

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        self._mark_focus(event)

    def on_descendant_blur(self, event: DescendantBlur) -> None:
        self._mark_focus(event)

    def _mark_focus(self, event: DescendantFocus | DescendantBlur) -> None:
        # The screen's focus as it is now, not the event's widget: a blur and the next
        # focus arrive one after the other, and either may come last.
        screen = event.widget.screen if event.widget.is_attached else None
        if isinstance(screen, Screen) and screen.is_attached:
            mark_focus_within(screen)

    def on_print(self, event: Print) -> None:
        # Printed text arrives in pieces; a line is shown once complete. A progress bar
        # redrawn with carriage returns keeps only its last state.
        self._printed += event.text
        *lines, self._printed = self._printed.split("\n")
        for line in lines:
            line = line.rsplit("\r", 1)[-1].rstrip()
            if line:
                self._log_line("warning" if event.stderr else "info", line)
        self._printed = self._printed[-2000:]

    def _log_line(self, level: str, text: str, notify: bool = True) -> None:
        """To the live run's log pane; without one, a warning or error is a notification
        (unless ``notify`` is False: the caller shows it its own way)."""
        screen = self.session.screen if self.session is not None else None
        if isinstance(screen, DashboardScreen) and screen.is_mounted:
            screen.log_line(level, text)
        elif level != "info" and notify:
            self.notify(text, severity="warning")

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification here is plain text: messages carry paths, class names and
        what the user typed, and as markup "[/]" in one would crash the app at render
        time ("[model]" would vanish). Widget.notify passes markup=True, so it is ignored."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    @property
    def exit_status(self) -> int:
        """Like the headless command: 1 if the run given on the command line failed
        (2 when it was bad input), else 0."""
        s = self.launch_session
        if s is not None and (isinstance(s.result, ev.Failed) or s.error is not None):
            return 2 if isinstance(s.error, UserError) else 1
        if self.launch is not None and self.launch.config.train.devices != 1:
            return 1 if self.launch.run.status().get("status") == "failed" else 0  # its ranks' verdict
        return 0

    # -- training sessions -------------------------------------------------------------------
    def training_now(self) -> bool:
        return self.session is not None and self.session.running

    @staticmethod
    def _history_of(launch: Launch) -> list[ev.Event]:
        """A resumed run's earlier events, so that its dashboard shows the whole run."""
        return launch.run.read_events(0)[0] if launch.resume is not None else []

    def start_session(self, launch: Launch, history: list[ev.Event] | None = None) -> bool:
        """Train ``launch`` in a thread worker, with a new dashboard in a new mode."""
        if self.training_now():
            self.notify("A run is already training; stop it first", severity="warning")
            return False
        if launch.config.train.devices != 1:
            return self._start_ranks(launch)
        session = self.new_session(launch, history)
        self.background_run = None
        screen = DashboardScreen(session=session)
        session.screen = screen
        old = self.live_mode
        self._sessions += 1
        self.live_mode = f"live-{self._sessions}"
        self.add_mode(self.live_mode, lambda: screen)
        self.session = session
        self.switch_mode(self.live_mode)
        if old is not None:
            self.remove_mode(old)
        session.start(self)
        self.refresh_bindings()
        return True

    def _start_ranks(self, launch: Launch) -> bool:
        """Several devices: the ranks train in processes of their own, started in the
        background like ``train --detach`` (they outlive the SSH session), and this
        dashboard watches and steers them through the run folder, as `watch` does."""
        from ..cli.detach import start_detached

        try:
            pid = start_detached(launch)
        except OSError as exc:
            self.notify(f"could not start the ranks: {exc}", severity="error")
            return False
        self.notify(f"{launch.run.id}: training on {launch.config.train.devices} devices in the background (pid {pid})")
        self.background_run = launch.run
        self.push_screen(DashboardScreen(watch=launch.run))
        return True

    def new_session(self, launch: Launch, history: list[ev.Event] | None) -> TrainingSession:
        """The session that trains ``launch`` (the bench's app makes one that times it)."""
        return TrainingSession(launch, self, history)

    def start_new_run(self, config: RunConfig) -> None:
        """The same config again, as a new run folder."""
        if self.training_now():
            return
        try:
            run = Run.create(self.runs_dir, config)
        except UserError as exc:  # the runs folder cannot be written
            self.notify(str(exc), severity="error")
            return
        from ..launch import Launch

        self.start_session(Launch(config, run))

    def resume_from(self, checkpoint: str, overrides: list[str]) -> None:
        if self.training_now():
            self.notify("A run is already training; stop it first", severity="warning")
            return
        self.notify(f"Preparing to resume from {Path(checkpoint).name}…")
        self._prepare_resume(checkpoint, overrides)

    @work(thread=True, group="resume", exclusive=True, exit_on_error=False)
    def _prepare_resume(self, checkpoint: str, overrides: list[str]) -> None:
        from ..launch import prepare

        launch = prepare(None, overrides, resume=checkpoint, runs_dir=self.runs_dir)
        self.post_message(Resumable(launch, self._history_of(launch)))

    def on_resumable(self, message: Resumable) -> None:
        self.start_session(message.launch, message.history)

    def on_engine_update(self, message: EngineUpdate) -> None:
        self._take_events(message.bridge)

    def _take_events(self, bridge: EventBridge) -> None:
        events, steps = bridge.drain(hold=True)
        session = bridge.session
        alerts = session.screen.feed(events, steps) if session is not None else []
        alert_of = {id(e): a for e, a in alerts}
        self._take_later(bridge)
        for e in events:
            alert = alert_of.get(id(e))
            if isinstance(e, ev.Failed) and e.error == "TrainingDiverged" and e.checkpoint and session is not None:
                self._offer_lower_lr(session, e)
                if alert is not None:
                    self.announce(alert, toast=False)  # the dialog says it on screen
            elif alert is not None:
                self.announce(alert)
            elif isinstance(e, ev.Stopped):
                self.notify(
                    f"Stopped ({e.reason}) at {wording.at(e)}",
                    title="Training stopped",
                )
        if any(isinstance(e, ev.END_EVENTS) for e in events):
            try:
                self.refresh_bindings()
            except (ScreenStackError, UnknownModeError):
                pass  # the app is exiting: the run's last events came after its screens went

    def announce(self, alert: Alert, toast: bool = True) -> None:
        """An alert: a toast, the terminal's bell, and a desktop notification where the
        terminal shows one (through SSH too; see desktop_notify)."""
        if toast:
            error = alert.kind in ("failed", "nan")
            self.notify(
                alert.message,
                title=alert.title,
                severity="error" if error else "information",
                timeout=15 if error else 5,
            )
        self.bell()
        notify_desktop(self, alert.title, alert.message)

    def _take_later(self, bridge: EventBridge) -> None:
        """One timer takes what the bridge holds, when the dashboard's pacer next lets a
        pane render (an urgent event posts through the hold and takes earlier)."""
        if self._take_timer is not None:
            self._take_timer.stop()
        session = bridge.session
        pacer = session.screen.pacer if session is not None and session.screen is not None else None
        delay = pacer.next_take() if pacer is not None else MIN_TAKE_S
        self._take_timer = self.set_timer(delay, lambda: self._take_events(bridge) if bridge.release() else None)

    def _offer_lower_lr(self, session: TrainingSession, failed: ev.Failed) -> None:
        """NaN/inf loss: the run is held at its last good checkpoint; the user chooses to
        stop there or to resume from it with a tenth of the learning rate."""
        lr = session.launch.config.optim.lr / 10
        checkpoint = failed.checkpoint
        assert checkpoint is not None  # offered only for a Failed with one (_take_events)

        def answered(yes: bool | None) -> None:
            if yes:
                self.resume_from(checkpoint, [f"optim.lr={fmt.setting(lr)}"])
            else:
                self.notify(
                    "Stopped at the last good checkpoint; resume it later from the Checkpoints pane",
                    title="Run stopped",
                )

        self.push_screen(
            ConfirmScreen(
                "The loss became NaN",
                f"{failed.reason}. Resume from {Path(checkpoint).name} with lr {fmt.setting(lr)}?",
                yes="Resume",
                no="Stop",
            ),
            answered,
        )

    # -- checkpoints ---------------------------------------------------------------------------
    def evaluate_checkpoint(self, path: str) -> None:
        if not Path(path).exists():
            self.notify(f"{path}: the file is gone (pruned or moved)", severity="error")
            return
        self.push_screen(EvalScreen(path))  # "evaluating…" until on_evaluated fills it in
        # Named by its checkpoint: report_worker_error finds the dialog that waits for it.
        self.run_worker(
            partial(self._evaluate, path), name=path, group="evaluate", thread=True, exclusive=True, exit_on_error=False
        )

    def _evaluate(self, path: str) -> None:
        from ..evaluate import evaluate_checkpoint

        self.post_message(Evaluated(path, evaluate_checkpoint(path)))

    def _waiting_eval_screen(self, path: str) -> EvalScreen | None:
        return next(
            (s for s in self.screen_stack if isinstance(s, EvalScreen) and s.waiting and s.checkpoint == path), None
        )

    def on_evaluated(self, message: Evaluated) -> None:
        screen = self._waiting_eval_screen(message.path)
        if screen is not None:
            screen.show_result(message.result)
        else:  # the dialog was closed before it ended: say how it went anyway
            r = message.result
            self.notify(f"{Path(r.checkpoint).name}: test accuracy {fmt.pct(r.acc)}", title="Evaluated")

    # -- workers' errors -------------------------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.report_worker_error(event.worker)

    def report_worker_error(self, worker: Worker) -> None:
        """The one place a worker's exception ends (the app's workers and, forwarded, the
        screens': worker_errors.py). The user reads one line: in the log pane and a
        notification, or in the dialog that waits for it; a training run is marked failed
        (its dashboard shows it, as a failure inside the engine); the app keeps running."""
        error = worker.error or RuntimeError("the worker failed")
        text = one_line(error)
        session = next((s for s in (self.session, self.launch_session) if s is not None and s.worker is worker), None)
        if session is not None:
            session.fail(error)  # a Failed event: its log line, status line and toast
            return
        task = task_of(worker)
        self._log_line("error", f"{task} failed: {text}", notify=False)
        screen = self._waiting_eval_screen(worker.name) if worker.group == "evaluate" else None
        if screen is not None:
            screen.show_error(text)
        else:
            self.notify(text, title=f"{task} failed", severity="error", timeout=10)

    # -- navigation ------------------------------------------------------------------------------
    def open_run(self, path: Path) -> None:
        if self.session is not None and self.session.run.dir.resolve() == Path(path).resolve():
            self.action_show_dashboard()
            return
        try:
            run = Run.open(path)
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return
        self.push_screen(DashboardScreen(watch=run))

    def action_show_presets(self) -> None:
        self.switch_mode("presets")

    def action_show_runs(self) -> None:
        self.switch_mode("runs")

    def action_show_dashboard(self) -> None:
        if self.live_mode is None:
            self.notify("No run has been started here yet: pick a preset (f2) or open a run (f3)")
            return
        self.switch_mode(self.live_mode)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.screen, TooSmallScreen) and action != "quit":
            return False  # the screen under it is off the terminal: no key reaches it blind
        if action == "show_dashboard":
            return self.live_mode is not None and self.current_mode != self.live_mode
        if action == "show_presets":
            return self.current_mode != "presets"
        if action == "show_runs":
            return self.current_mode != "runs" or len(self.screen_stack) > 1
        return True

    # -- quitting --------------------------------------------------------------------------------
    async def action_quit(self) -> None:
        if not self.training_now():
            self.exit(self.exit_status)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._stop_and_exit(), group="quit", exclusive=True)

        self.push_screen(
            ConfirmScreen(
                "Quit while training?",
                "The run is stopped after the current batch: a checkpoint is saved and the run is "
                "marked stopped, so it can be resumed.",
                yes="Quit",
            ),
            answered,
        )

    async def _stop_and_exit(self) -> None:
        session = self.session
        if session is not None and session.running:
            self.notify("Stopping: saving a checkpoint…", timeout=STOP_TIMEOUT)
            session.stop("quit")
            session.screen.progress.set_state("stopping")
            # Until its worker's end is posted: a failure then reaches report_worker_error
            # before the exit (which drops the messages after it).
            while not session.worker.is_finished:
                await asyncio.sleep(0.05)
            # Show the end (and let the recorder's last write land) before leaving.
            events, steps = session.bridge.drain()
            session.screen.feed(events, steps)
        self.exit(self.exit_status)

    # -- help and the command palette -----------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The keys that work on ``screen`` now, each as a command (the same list as the
        help screen's), then Textual's own (theme, screenshot) but for Maximize and
        Minimize: the dashboard's m maximizes a whole pane, not the focused widget."""
        titles = set()
        for offered in offered_bindings(screen):
            if offered.enabled and offered.binding.action not in NOT_OFFERED and offered.title not in titles:
                titles.add(offered.title)
                run = partial(self.run_action, offered.binding.action, offered.namespace)
                yield SystemCommand(offered.title, f"{offered.key}: {offered.binding.description}", run)
        for command in super().get_system_commands(screen):
            if command.title not in titles and command.title not in ("Maximize", "Minimize"):
                yield command
