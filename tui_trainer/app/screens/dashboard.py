"""The dashboard: one run's progress, curves, epochs, checkpoints and log.

A dashboard is fed lists of events by :meth:`DashboardScreen.feed`, whatever their
source: the bridge of a run training in this process (live), the tail of a run
folder's ``events.jsonl`` (watch), or a fixed list (tests and snapshots). The panes
only render what the events say.

Rendering is paced (see ``pacing.py``): panes take events into their state at once,
and render when the UI thread's CPU budget allows, so a fast run is not slowed down by
its own dashboard. Starts, pauses, ends and a run's first epoch render at once.

Layout: below 110x34 the lower panes share the space and tabs (or the keys 1-6) pick
one. On a large terminal the epochs, checkpoints and log panes are all visible, and the
fourth place shows one of the chart, the metrics and the system panes (2, 5, 6).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Tab, Tabs

from ... import events as ev
from ... import format as fmt
from ...alerts import FLAG_TITLES, Alert, AlertTracker
from ...config import NotifyConfig
from ...errors import UserError
from ...runs import Run
from ...system.sampler import SYSTEM, UNDERUSED
from ..pacing import STATE_EVENTS, URGENT, RenderPacer
from ..widgets.checkpoints import CheckpointsTable
from ..widgets.device import DeviceLine
from ..widgets.epoch_chart import LEGEND, EpochChart
from ..widgets.epoch_table import EpochTable
from ..widgets.footer import FittingFooter
from ..widgets.log import LogPane
from ..widgets.loss_sparkline import LossSparkline
from ..widgets.metrics import MetricsPane
from ..widgets.progress import ProgressPane
from ..widgets.system_pane import SystemPane
from ..worker_errors import ForwardsWorkerErrors
from .confirm import ConfirmScreen, PromptScreen
from .too_small import NeedsSize

if TYPE_CHECKING:
    from textual import getters

    from ..app import TrainerApp
    from ..bridge import TrainingSession

WATCH_INTERVAL = 0.5  # seconds between reads of a watched run's events.jsonl
PANES = ("epochs", "chart", "checkpoints", "log", "metrics", "system")
PLOT_PANES = ("chart", "metrics", "system")  # one place in the roomy layout, for one of them
# What the dashboard feeds events to (each takes them with apply, renders with flush).
Pane = ProgressPane | DeviceLine | EpochChart | EpochTable | CheckpointsTable | LogPane | MetricsPane | SystemPane
STALL_CHECK_S = 5.0  # how often a stall (notify.stall_minutes) is looked for
NOT_LIVE = "this run is not training any more: nothing to control"


class HistoryLoaded(Message):
    def __init__(self, events: list[ev.Event], offset: int) -> None:
        super().__init__()
        self.events = events
        self.offset = offset


class DashboardScreen(NeedsSize, ForwardsWorkerErrors, Screen):
    MIN_SIZE = (60, 20)  # below it: the too-small panel (screens/too_small.py)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
    AUTO_FOCUS = "#epochs"

    # The tooltips name the keys in the command palette and the help screen (screens/help.py).
    BINDINGS = [
        Binding("s", "start", "Start", id="start", tooltip="Start a new run of this config"),
        # One key, two labels: the footer says what p does now (check_action shows one).
        Binding("p", "pause", "Pause", id="pause", tooltip="Pause the run"),
        # Not "Resume": r resumes a checkpoint.
        Binding("p", "unpause", "Unpause", id="unpause", tooltip="Unpause the run"),
        Binding("x", "stop", "Stop", id="stop", tooltip="Stop the run (asks first; saves a checkpoint)"),
        Binding("c", "checkpoint", "Checkpoint", id="checkpoint", tooltip="Save a checkpoint now"),
        Binding(
            "l",
            "loss_view",
            "Loss: recent/all",
            show=False,
            id="loss_view",
            tooltip="Recent or all steps: the loss sparkline, the chart and the metrics",
        ),
        Binding("m", "maximize_pane", "Maximize", show=False, id="maximize", tooltip="Maximize the pane / restore"),
        Binding("escape", "back", "Back", show=False, id="back", tooltip="Back to the screen before"),
        *(
            Binding(
                str(i + 1),
                f"show_pane('{name}')",
                name.title(),
                show=False,
                id=f"pane.{name}",
                tooltip=f"{name.title()} pane",
            )
            for i, name in enumerate(PANES)
        ),
        # The checkpoints pane's own keys, from anywhere on the dashboard: in the roomy
        # layout the pane and its "e evaluate · r resume" are on screen without focus.
        # Priority: the names the palette shows are these, with the pane focused too.
        Binding(
            "e",
            "checkpoint_chosen('evaluate')",
            "Evaluate",
            show=False,
            id="evaluate",
            priority=True,
            tooltip="Evaluate the selected checkpoint",
        ),
        Binding(
            "r",
            "checkpoint_chosen('resume')",
            "Resume",
            show=False,
            id="resume",
            priority=True,
            tooltip="Resume from the selected checkpoint",
        ),
    ]
    HELP = (
        "Top: the run's state, progress, speed and time left; the device line; the loss of "
        "recent steps (l: recent or all). Epochs: a row an epoch (best marked). Chart: loss "
        "and accuracy by epoch. Checkpoints: the saved files (e or enter evaluates, r "
        "resumes). Log: events and messages. Metrics: one curve at a time (left/right picks: "
        "loss, lr, gradient norm, images/s by step, test loss and accuracy by epoch; g log "
        "scale). System: GPU, CPU and memory, sampled every 2 s (log.system_interval). Below "
        "110x34 one pane at a time (1-6); on a large screen the chart, metrics and system "
        "share a place; m maximizes one."
    )

    if TYPE_CHECKING:  # for the checker: self.app is the TrainerApp (textual's own idiom)
        app = getters.app(TrainerApp)

    def __init__(
        self, session: TrainingSession | None = None, watch: Run | None = None, name: str | None = None
    ) -> None:
        super().__init__(name=name)
        self.session = session
        self.watched = watch  # the run read in watch mode (`watch` would hide DOMNode.watch)
        self.watch_offset = 0
        self.watch_status = ""
        self._backlog: list[tuple[list[ev.Event], list[ev.Step] | None]] = []
        self._ready = False
        self.ended = False
        self.active_pane = "epochs"  # the pane shown when they do not all fit
        self.plot_pane = "chart"  # the one of PLOT_PANES the roomy layout shows
        # Live and watched runs render at the pacer's pace; a fed dashboard (tests,
        # snapshots) renders every feed at once, so that it is deterministic.
        self.pacer = RenderPacer() if session is not None or watch is not None else None
        self._live_waiting = False
        self._epoch_waiting = False
        self._pace_timer: Timer | None = None
        self._pace_due: float | None = None
        self._epoch_shown = False  # has this run's first EpochEnd been rendered
        self._keys_shown: tuple[bool | None, ...] | None = None  # check_action of the footer's keys, last refresh
        # What of this run's events is an alert (the app announces them): its own notify config.
        self.alerts = AlertTracker(self._notify_config())

    @property
    def mode(self) -> str:
        return "live" if self.session is not None else "watch" if self.watched is not None else "fed"

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="head"):
            with Vertical(id="status"):
                yield ProgressPane(id="progress")
                yield DeviceLine(id="device")
            yield LossSparkline(id="sparkline")
        yield Tabs(*(Tab(name.title(), id=f"tab-{name}") for name in PANES), id="pane-tabs")
        with Container(id="panes"):
            with Vertical(id="pane-chart", classes="pane"):
                yield EpochChart(id="chart")
            with Vertical(id="pane-metrics", classes="pane"):
                yield MetricsPane(id="metrics")
            with Vertical(id="pane-system", classes="pane"):
                yield SystemPane(id="system")
            with Vertical(id="pane-epochs", classes="pane"):
                yield EpochTable(id="epochs")
            with Vertical(id="pane-log", classes="pane"):
                yield LogPane(id="log")
            with Vertical(id="pane-checkpoints", classes="pane"):
                yield CheckpointsTable(id="checkpoints")
        yield FittingFooter()

    def on_mount(self) -> None:
        self.query_one("#pane-chart").border_title = f"Chart  {LEGEND}"
        self.query_one("#pane-epochs").border_title = "Epochs"
        self.query_one("#pane-log").border_title = "Log"
        self.query_one("#pane-checkpoints").border_title = "Checkpoints"
        self.query_one("#pane-checkpoints").border_subtitle = "e evaluate · r resume"
        self.query_one("#pane-metrics").border_title = "Metrics"
        self.query_one("#pane-metrics").border_subtitle = "←/→ metric · g log · l recent/all"
        self.query_one("#pane-system").border_title = "System"
        self.query_one("#sparkline").border_title = "loss (mean per column)"
        progress = self.query_one(ProgressPane)
        device = self.query_one(DeviceLine)
        if self.session is not None:
            progress.set_state("starting")
            progress.title = fmt.run_title(self.session.launch.config.name, self.session.run.id)
            device.poll = device.in_process = True
            if self.session.history:
                self.feed(self.session.history)
        elif self.watched is not None:
            progress.title = self.watched.id
            progress.mode_note = "watching"
            # GPU figures come from this machine's NVML: only meaningful for a run on it.
            device.poll = self.watched.status().get("host") == socket.gethostname()
            self.load_history()
        run = self.session.run if self.session is not None else self.watched
        if run is not None:  # live or watched: the sampler's file, as `watch` reads it too
            self.query_one(SystemPane).follow(run.dir / SYSTEM)
            if self.alerts.config.stall_minutes > 0:
                self.set_interval(STALL_CHECK_S, self._check_stall)
        self._ready = True
        for events, steps in self._backlog:
            self.feed(events, steps)
        self._backlog.clear()

    # -- feeding events ---------------------------------------------------------------------
    @property
    def progress(self) -> ProgressPane:
        return self.query_one(ProgressPane)

    def feed(self, events: Iterable[ev.Event], steps: list[ev.Step] | None = None) -> list[tuple[ev.Event, Alert]]:
        """Take ``events`` into the panes and render them, now or when the pacer allows.
        ``steps`` are the Steps the bridge kept while it coalesced them in ``events``;
        without them the Steps in ``events`` are all there are. Returns the events that
        are alerts (the caller announces those that are news: not a run's history)."""
        events = list(events)
        if not self._ready:
            self._backlog.append((events, steps))
            return []
        alerts = [(e, a) for e in events if (a := self.alerts.feed(e)) is not None]
        try:
            spark = self.query_one(LossSparkline)
            metrics = self.query_one(MetricsPane)
            # The pane's own display stays on; its place (#pane-metrics) is what hides it.
            metrics_shown = self.query_one("#pane-metrics").display
            panes = self._event_panes(metrics)
        except NoMatches:
            return alerts  # the screen is being torn down (the app is exiting)
        self._apply_events(events, steps, spark, metrics, panes)
        self._mark_waiting(events, steps, metrics_shown)
        # The first epoch of a run is a milestone (its first test accuracy): shown at once.
        first_epoch = any(isinstance(e, ev.EpochEnd) for e in events) and not self._epoch_shown
        self._epoch_shown = self._epoch_shown or first_epoch
        urgent = first_epoch or any(isinstance(e, URGENT) for e in events)
        self.render_waiting(force=urgent)
        # Footer keys depend on the run's state only; recomposing the footer (a relayout
        # of the screen) per Step, or for the first epoch, would cost the UI thread
        # (and, through the GIL, the engine) for nothing.
        if any(isinstance(e, STATE_EVENTS) for e in events):
            self._refresh_keys_if_changed()
        return alerts

    def _event_panes(self, metrics: MetricsPane) -> list[Pane]:
        """The panes that take every event (``Pane.apply``), in the order they take it."""
        return [
            metrics,
            self.query_one(ProgressPane),
            self.query_one(DeviceLine),
            self.query_one(EpochChart),
            self.query_one(EpochTable),
            self.query_one(CheckpointsTable),
            self.query_one(LogPane),
            self.query_one(SystemPane),  # the ranks' GPUs; no stale-sample warning once ended
        ]

    def _apply_events(
        self,
        events: list[ev.Event],
        steps: list[ev.Step] | None,
        spark: LossSparkline,
        metrics: MetricsPane,
        panes: list[Pane],
    ) -> None:
        """Each event into the panes' state and the screen's (has the run ended; a new
        run's first epoch is not shown yet). The sparkline takes the Steps' losses: those
        the bridge kept (``steps``, which the metrics pane takes too), else those in ``events``."""
        for e in events:
            if isinstance(e, ev.RunStarted):
                spark.rewind_to(e.start_step)
                self._epoch_shown = False
            elif isinstance(e, ev.Step) and steps is None:
                spark.add([(e.step, e.loss)])
            if isinstance(e, ev.END_EVENTS):
                self.ended = True
            elif isinstance(e, ev.RunStarted):
                self.ended = False
            for pane in panes:
                if pane is metrics and isinstance(e, ev.Step) and steps is not None:
                    continue  # it takes every Step below, in order: this coalesced one first would drop the rest
                pane.apply(e)  # state only: rendering is the flush's job
        if steps:
            spark.add((s.step, s.loss) for s in steps)
            metrics.add_steps(steps)

    def _mark_waiting(self, events: list[ev.Event], steps: list[ev.Step] | None, metrics_shown: bool) -> None:
        """Which tiers have news to render (``render_waiting`` renders them at their pace)."""
        self._live_waiting = self._live_waiting or bool(events) or bool(steps)
        # Everything but a Step may change an epoch pane (rows, checkpoints, log lines);
        # a Step changes the metrics pane, drawn at the epoch tier's pace when on screen.
        self._epoch_waiting = (
            self._epoch_waiting
            or any(not isinstance(e, ev.Step) for e in events)
            or (metrics_shown and bool(steps or events))
        )

    def _notify_config(self) -> NotifyConfig:
        """The run's [notify]: its target accuracy and stall time are the app's alerts too."""
        if self.session is not None:
            return self.session.launch.config.notify
        if self.watched is not None:
            try:
                return self.watched.config().notify
            except (OSError, ValueError, UserError):
                pass  # an unreadable config: the alerts that need none still come
        return NotifyConfig()

    def _check_stall(self) -> None:
        alert = self.alerts.stall()
        if alert is not None:
            self.app.announce(alert)

    @on(SystemPane.Flagged)
    def _gpu_flagged(self, message: SystemPane.Flagged) -> None:
        self.app.announce(Alert(UNDERUSED, FLAG_TITLES[UNDERUSED], message.text))

    def render_waiting(self, force: bool = False) -> None:
        """Flush the panes whose events wait, as far as the pacer allows (all of them
        when ``force``d or unpaced); schedule a retry for the rest."""
        if not (self._live_waiting or self._epoch_waiting):
            return
        pacer = self.pacer
        if force or pacer is None:
            live, epoch = True, self._epoch_waiting
        else:
            live, epoch = pacer.due(self._live_waiting, self._epoch_waiting)
        if pacer is not None and (live or epoch):
            pacer.rendering(epoch, forced=force)
        try:
            if live:
                for live_pane in (
                    self.query_one(ProgressPane),
                    self.query_one(DeviceLine),
                    self.query_one(LossSparkline),
                ):
                    live_pane.flush()
                self._live_waiting = False
            if epoch:
                for pane in (
                    self.query_one(EpochChart),
                    self.query_one(MetricsPane),
                    self.query_one(EpochTable),
                    self.query_one(CheckpointsTable),
                    self.query_one(LogPane),
                ):
                    pane.flush()
                self._epoch_waiting = False
        except NoMatches:
            return  # the screen is being torn down
        if pacer is not None:
            self._schedule(pacer.next_due(self._live_waiting, self._epoch_waiting))

    def _schedule(self, due: float | None) -> None:
        """One timer for the next paced render, kept while its time stays the same."""
        if self._pace_timer is not None:
            if due == self._pace_due:
                return
            self._pace_timer.stop()
            self._pace_timer = None
        self._pace_due = due
        if due is not None:
            assert self.pacer is not None  # only a paced dashboard schedules
            self._pace_timer = self.set_timer(max(0.0, due - self.pacer.clock()), self._pace_timer_fired)

    def _pace_timer_fired(self) -> None:
        self._pace_timer = None
        self.render_waiting()

    def log_line(self, level: str, message: str) -> None:
        """A line from the app itself (warnings, evaluation results)."""
        try:
            self.query_one(LogPane).add(level, message)
        except NoMatches:
            pass  # the app is closing (a print during its exit): the panes are gone already

    # -- watch mode ----------------------------------------------------------------------------
    @work(thread=True, group="watch-history", exit_on_error=False)
    def load_history(self) -> None:
        # The whole file may be large (a long run): read and parse it off the UI thread.
        assert self.watched is not None  # watch mode
        events, offset = self.watched.read_events(0)
        self.post_message(HistoryLoaded(events, offset))

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        self.watch_offset = message.offset
        self.feed(message.events)
        self._update_watch_status()
        self.set_interval(WATCH_INTERVAL, self.tail)

    def tail(self) -> None:
        assert self.watched is not None  # watch mode
        events, self.watch_offset = self.watched.read_events(self.watch_offset)
        if events:  # news, unlike the history: its alerts are announced
            for _, alert in self.feed(events):
                self.app.announce(alert)
        self._update_watch_status()

    def _update_watch_status(self) -> None:
        assert self.watched is not None  # watch mode
        status = self.watched.status().get("status", "unknown")
        if status != self.watch_status:
            self.watch_status = status
            note = {
                "running": "watching live",
                "paused": "watching live (paused)",
                "dead": "watching: the training process is gone",
            }.get(status, f"watching ({status})")
            progress = self.progress
            progress.mode_note = note
            if status == "dead" and not self.ended:
                progress.set_state("stopped")
            progress.refresh(layout=True)
            self.refresh_bindings()  # p's label follows the run's pause

    # -- controls -----------------------------------------------------------------------------
    def _keys(self) -> tuple[bool | None, ...]:
        return tuple(self.check_action(a, ()) for a in ("start", "pause", "unpause", "stop", "checkpoint"))

    def refresh_bindings(self) -> None:
        # Every refresh, the app's and the actions' too, so that the keys last shown are known.
        self._keys_shown = self._keys()
        super().refresh_bindings()

    def _refresh_keys_if_changed(self) -> None:
        """The footer recomposes on every refresh_bindings, a relayout of the screen:
        only when a key's state did change (a run's start changes none: its keys are
        live while it loads)."""
        if self._keys() != self._keys_shown:
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only the controls that apply: p, x and c while the run trains (here or, watched,
        in its process), s on a run of this app's that ended (greyed while it trains)."""
        if action in ("pause", "unpause"):
            if action != ("unpause" if self._shows_paused() else "pause"):
                return False  # the other label of p
            action = "pause"
        if action == "back":
            return len(self.app.screen_stack) > 1  # a mode's own dashboard has nothing under it
        if action not in ("start", "pause", "stop", "checkpoint"):
            return True
        if self.session is not None:
            running = self.session.running
            if action == "start":
                return None if running else True
            return running
        if self.watched is not None:  # its process takes commands while it trains; s is the picker's
            return action != "start" and self.watch_status in ("running", "paused")
        return True  # a fed dashboard (tests, snapshots) says why instead (see _live_session)

    def _shows_paused(self) -> bool:
        if self.session is not None:
            return self.session.running and self.session.paused
        return self.watched is not None and self.watch_status == "paused"

    def _send(self, command: str) -> None:
        """Watch mode: the command goes through the run folder's control channel; the
        trainer's acknowledgement arrives in the log pane with the next tail."""
        assert self.watched is not None  # watch mode
        try:
            self.watched.send_control(command)
        except UserError as exc:
            self.notify(str(exc), title="Not sent", severity="warning")
            return
        self.notify(f"Sent {command} to the training process", title=self.watched.id)

    def _live_session(self) -> TrainingSession | None:
        """The session of the run this dashboard trains; without one, None (the user is told why)."""
        if self.session is not None:
            return self.session
        if self.watched is not None:
            self.notify("Start it from the Presets screen (f2) or resume it with r on a checkpoint", severity="warning")
        else:
            self.notify("No run here: pick a preset (f2) or open a run (f3)", severity="warning")
        return None

    def action_start(self) -> None:
        session = self._live_session()
        if session is None:
            return
        if session.running:
            self.notify("This run is already training", severity="warning")
            return
        # The same config again, as a new run: asked, as s on an ended run is easily a slip.
        config = session.launch.config
        self.app.push_screen(
            ConfirmScreen(
                f"Start a new run of {config.name}?",
                f"The same config again ({fmt.plural(config.train.epochs, 'epoch')}), in a new run folder.",
                yes="Start",
            ),
            lambda yes: self.app.start_new_run(config) if yes else None,
        )

    def action_pause(self) -> None:
        if self.watched is not None:
            self._send("resume" if self.watched.status().get("status") == "paused" else "pause")
            return
        session = self._live_session()
        if session is None or not session.running:
            return
        if session.paused:
            session.resume()
            self.progress.set_state("training")
        else:
            session.pause()
            # Shown at once; the engine confirms with a Paused event after the batch.
            self.progress.set_state("pausing")
        self.refresh_bindings()  # p's label

    def action_unpause(self) -> None:
        self.action_pause()  # p toggles; this is its "Unpause" label

    def action_stop(self) -> None:
        if self.watched is not None:
            self.app.push_screen(
                ConfirmScreen(
                    "Stop the training process?", "It saves a checkpoint first; resume it later.", yes="Stop"
                ),
                lambda yes: self._send("stop") if yes else None,
            )
            return
        session = self._live_session()
        if session is None or not session.running:
            return

        def answered(yes: bool | None) -> None:
            if yes and session.running:
                session.stop("stopped by user")
                self.progress.set_state("stopping")

        self.app.push_screen(
            ConfirmScreen(
                "Stop this run?", "A checkpoint is saved first; resume it later from the Checkpoints pane.", yes="Stop"
            ),
            answered,
        )

    def action_checkpoint(self) -> None:
        if self.watched is not None:
            self._send("save")
            return
        session = self._live_session()
        if session is None or not session.running:
            return
        if session.save_now():
            # While paused the loop waits between batches and writes it at once.
            when = "now (the run is paused)" if self._shows_paused() else "after the current batch"
            self.notify(f"A checkpoint will be saved {when}")
        else:
            self.notify("The run is still starting; try again in a moment", severity="warning")

    def action_loss_view(self) -> None:
        self.query_one(LossSparkline).toggle_view()
        self.query_one(EpochChart).toggle_view()  # one window for all three: recent or all
        self.query_one(MetricsPane).toggle_view()

    def action_maximize_pane(self) -> None:
        """The pane in focus (or the one shown) fills the screen; m again, or escape, restores."""
        if self.maximized is not None:
            self.minimize()
            return
        focused = self.focused
        panes = [a for a in focused.ancestors if isinstance(a, Widget) and a.has_class("pane")] if focused else []
        if not panes or not panes[0].display:  # the focus stayed in a hidden pane (a chart takes none)
            panes = [self.query_one(f"#pane-{self.active_pane}", Widget)]
        self.maximized = panes[0]

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_show_pane(self, name: str) -> None:
        """Show the pane (the narrow layout shows one at a time) and focus it, so its keys
        and arrows work (in the roomy layout it was on screen already and took no keys)."""
        self.query_one(Tabs).active = f"tab-{name}"
        self.active_pane = name
        if name in PLOT_PANES:
            self.plot_pane = name
        self._show_panes()  # now, not when TabActivated arrives: a hidden widget takes no focus
        self.query_one(f"#{name}").focus()

    def action_checkpoint_chosen(self, action: str) -> None:
        self.action_show_pane("checkpoints")  # the row acted on is in sight
        table = self.query_one(CheckpointsTable)
        getattr(table, f"action_{action}")()

    @on(Tabs.TabActivated)
    def _tab(self, event: Tabs.TabActivated) -> None:
        self.active_pane = (event.tab.id or "tab-epochs").removeprefix("tab-")
        if self.active_pane in PLOT_PANES:
            self.plot_pane = self.active_pane
        self._show_panes()
        self.render_waiting(force=True)  # the pane the user turned to shows the latest
        if self.active_pane in ("chart", "metrics"):
            plot = self.query_one(EpochChart) if self.active_pane == "chart" else self.query_one(MetricsPane)
            plot.call_after_refresh(plot.flush)

    @property
    def roomy(self) -> bool:
        return self.has_class("-wide") and self.has_class("-tall")

    def _show_panes(self) -> None:
        # Inline display rather than a CSS class: a class change restyles every widget
        # inside the panes (plots, tables), a display change only lays them out again.
        roomy = self.roomy
        for pane in PANES:
            shown = pane == self.plot_pane if pane in PLOT_PANES else True
            self.query_one(f"#pane-{pane}").display = shown if roomy else pane == self.active_pane

    def on_resize(self) -> None:
        # Textual calls this handler before Screen._on_resize (a subclass's handlers come
        # first), and that is what sets the breakpoint classes: read them after it. Read
        # at once, a dashboard opened from the picker on a wide terminal showed one pane
        # in the roomy grid until the terminal was resized.
        self.call_next(self._show_panes)

    # -- checkpoints -------------------------------------------------------------------------
    @on(CheckpointsTable.Chosen)
    def _checkpoint_chosen(self, message: CheckpointsTable.Chosen) -> None:
        if message.action == "evaluate":
            self.app.evaluate_checkpoint(message.row.path)
            return
        if self.app.training_now():
            self.notify("A run is training: stop it before resuming another", severity="warning")
            return
        done = message.row.epochs_done
        total = self.progress.epochs or done
        default = total if done < total else done + max(1, total)

        def check(text: str) -> str | None:
            # The rest (enough epochs left?) is checked by the core when the run is prepared.
            if not text.isdigit() or int(text) < 1:
                return "train.epochs: enter a whole number of epochs"
            return None

        def answered(text: str | None) -> None:
            if text:
                self.app.resume_from(message.row.path, [f"train.epochs={int(text)}"])

        self.app.push_screen(
            PromptScreen("Resume training to epoch", str(default), check, detail=f"from {message.row.path}"),
            answered,
        )

    def show_error(self, exc: UserError) -> None:
        self.notify(str(exc), severity="error", timeout=10)
