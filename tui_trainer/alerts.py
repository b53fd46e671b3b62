"""Being told when a run needs you: what is worth an alert, and where it goes.

:func:`alert_for` says which events are alerts (one place, for every consumer: the
app shows them as a toast and a desktop notification; a run's notifier sends them
out). The :class:`Notifier` is a subscriber of rank 0's events that sends each alert
to ``notify.command`` (run with the run folder and the alert in environment variables,
within a timeout) and to ``notify.urls`` through apprise, the maintained library that
speaks Slack, Discord, ntfy, e-mail, Telegram and a hundred more by URL (the
``notify`` extra; imported only when a URL is configured). It also watches for a
stall: no training step for ``notify.stall_minutes`` while the run is not paused, and
takes the system sampler's flag of a GPU sitting idle (:meth:`Notifier.flag`).

Sending happens in a thread of the notifier's own, never in the training loop, and a
delivery that fails is a warning in the run's log (said from the training thread, at
its next event): a notification never stops training.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import events as ev
from . import format as fmt
from .config import ALERTS, NotifyConfig
from .errors import ConfigError, one_line

Warn = Callable[[str], None]
KINDS = ALERTS
FLAG_TITLES = {"gpu_underused": "GPU underused"}  # alerts raised outside the event stream


class NotSent(Exception):
    """A delivery that failed for a reason we can say in our words."""


@dataclass(frozen=True)
class Alert:
    kind: str  # one of KINDS
    title: str
    message: str


def alert_for(event: ev.Event, target_acc: float | None = None, reached: bool = False) -> Alert | None:
    """The alert an event is, if any. ``target_acc``: alert once when an epoch's test
    accuracy first reaches it (``reached``: it did already)."""
    if isinstance(event, ev.Finished):
        best = f", best test accuracy {fmt.pct(event.best_acc)}" if event.best_acc is not None else ""
        return Alert("finished", "Training finished", f"Finished {fmt.plural(event.epochs, 'epoch')}{best}")
    if isinstance(event, ev.Failed):
        kind = "nan" if event.error == "TrainingDiverged" else "failed"
        return Alert(kind, "Training stopped: NaN loss" if kind == "nan" else "Training failed", event.reason)
    if isinstance(event, ev.EpochEnd) and target_acc is not None and not reached and event.test_acc >= target_acc:
        return Alert(
            "target",
            "Target accuracy reached",
            f"{fmt.pct(event.test_acc)} test accuracy at epoch {event.epoch} (target {fmt.pct(target_acc)})",
        )
    return None


def stalled(minutes: float) -> Alert:
    return Alert("stalled", "Training stalled", f"no training step for {fmt.setting(minutes)} min")


class AlertTracker:
    """The alerts of one run's event stream, with the state they need: the target said
    once, and the stall clock (no Step for ``notify.stall_minutes`` while not paused).
    One for every consumer: the notifier, the app's live run and a watched one."""

    def __init__(self, config: NotifyConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config, self.clock = config, clock
        self.reached = False
        self.last_step = clock()
        self.paused = False
        self.ended = False
        self.stall_said = False

    def feed(self, event: ev.Event) -> Alert | None:
        """The alert ``event`` is, if any (of every kind: ``config.on`` filters sending)."""
        if isinstance(event, ev.Step | ev.RunStarted | ev.Resumed):
            self.last_step, self.paused, self.stall_said = self.clock(), False, False
            self.ended = self.ended and not isinstance(event, ev.RunStarted)
        elif isinstance(event, ev.Paused):
            self.paused = True
        elif isinstance(event, ev.END_EVENTS):
            self.ended = True
        alert = alert_for(event, self.config.target_acc, self.reached)
        if alert is not None and alert.kind == "target":
            self.reached = True
        return alert

    def stall(self) -> Alert | None:
        """The stall alert, once, when the run has trained no step for too long."""
        limit = self.config.stall_minutes * 60
        if limit <= 0 or self.paused or self.ended or self.stall_said:
            return None
        if self.clock() - self.last_step <= limit:
            return None
        self.stall_said = True
        return stalled(self.config.stall_minutes)


def check_urls(urls: list[str]) -> None:
    """Before a run starts: apprise is installed and understands every notify URL (a
    typo found at the run's end, when its alert would go, is found hours too late)."""
    if not urls:
        return
    try:
        import apprise
    except ImportError:
        raise ConfigError("notify.urls: the notify extra is not installed: pip install 'tui-trainer[notify]'") from None
    for url in urls:
        if not apprise.Apprise().add(url):
            raise ConfigError(
                f"notify.urls: apprise does not understand {url!r}; forms such as ntfy://TOPIC, "
                "json://HOST/PATH, slack://..., discord://..., mailto://... (see apprise's wiki)"
            )


class Notifier:
    """A subscriber sending a run's alerts to a command and to apprise URLs."""

    def __init__(self, run_dir: Path, config: NotifyConfig, run_id: str, warn: Warn) -> None:
        self.run_dir, self.config, self.run_id, self.warn = run_dir, config, run_id, warn
        self.tracker = AlertTracker(config)
        self._outbox: queue.Queue[Alert | None] = queue.Queue()
        self._failures: queue.Queue[str] = queue.Queue()
        self._done = threading.Event()
        self._sender = threading.Thread(target=self._send_all, name="tui-trainer-notify", daemon=True)
        self._sender.start()
        self._watch: threading.Thread | None = None
        if config.stall_minutes > 0:
            self._watch = threading.Thread(target=self._watch_stall, name="tui-trainer-stall", daemon=True)
            self._watch.start()

    # -- the training thread ----------------------------------------------------------------
    def __call__(self, event: ev.Event) -> None:
        self._say_failures()
        alert = self.tracker.feed(event)
        if alert is not None and alert.kind in self.config.on:
            self._outbox.put(alert)
        if isinstance(event, ev.END_EVENTS):
            self.close()

    def flag(self, kind: str, message: str) -> None:
        """An alert another thread raised (the system sampler's ``gpu_underused``)."""
        if kind in self.config.on and not self._done.is_set():
            self._outbox.put(Alert(kind, FLAG_TITLES.get(kind, kind), message))

    def _say_failures(self) -> None:
        while not self._failures.empty():
            self.warn(self._failures.get_nowait())

    def close(self) -> None:
        """Send what is queued (within the timeout), then stop; failures are said."""
        if self._done.is_set():
            return
        self._done.set()
        self._outbox.put(None)
        self._sender.join(timeout=self.config.timeout + 5)
        self._say_failures()

    # -- the notifier's threads ---------------------------------------------------------------
    def _watch_stall(self) -> None:
        limit = self.config.stall_minutes * 60
        while not self._done.wait(min(5.0, limit / 4)):
            alert = self.tracker.stall()
            if alert is not None and alert.kind in self.config.on:
                self._outbox.put(alert)

    def _send_all(self) -> None:
        while (alert := self._outbox.get()) is not None:
            if self.config.command:
                self._deliver("notify.command", self._run_command, alert)
            if self.config.urls:
                self._deliver("notify.urls", self._apprise, alert)

    def _deliver(self, where: str, send: Callable[[Alert], None], alert: Alert) -> None:
        try:
            send(alert)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, training goes on
            said = str(exc) if isinstance(exc, NotSent) else one_line(exc)
            self._failures.put(f"notification not sent ({where}): {said}")

    def _run_command(self, alert: Alert) -> None:
        env = {
            **os.environ,
            "TUI_TRAINER_RUN_DIR": str(self.run_dir),
            "TUI_TRAINER_RUN_ID": self.run_id,
            "TUI_TRAINER_EVENT": alert.kind,
            "TUI_TRAINER_TITLE": alert.title,
            "TUI_TRAINER_MESSAGE": alert.message,
        }
        try:
            done = subprocess.run(
                self.config.command,
                shell=True,  # the user's own command line, from their own config
                env=env,
                cwd=self.run_dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=self.config.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise NotSent(f"the command did not end within {fmt.seconds(self.config.timeout)}") from None
        if done.returncode != 0:
            said = done.stderr.decode(errors="replace").strip().splitlines()
            raise NotSent(f"the command exited {done.returncode}" + (f": {said[-1]}" if said else ""))

    def _apprise(self, alert: Alert) -> None:
        try:
            import apprise
        except ImportError:
            raise NotSent("apprise is not installed: pip install 'tui-trainer[notify]'") from None
        sender = apprise.Apprise()
        for url in self.config.urls:
            if not sender.add(url):
                raise NotSent(f"apprise does not understand the URL {url!r}")
        if not sender.notify(title=f"{alert.title} ({self.run_id})", body=alert.message):
            raise NotSent("apprise could not deliver it (see the URL's service)")
