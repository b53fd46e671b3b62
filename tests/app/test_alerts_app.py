"""Alerts in the app: a toast, the terminal's bell and a desktop notification (OSC 9 and
777, through tmux's passthrough inside tmux), from the same alerts.alert_for as the
notifier's."""

from __future__ import annotations

from app_helpers import SIZE, notifications, until_trained, wait_for
from helpers import tiny_config

from tui_trainer.app import app as app_module
from tui_trainer.app.app import TrainerApp
from tui_trainer.app.desktop_notify import sequences
from tui_trainer.launch import Launch
from tui_trainer.runs import Run


def test_the_sequences_ask_for_a_notification_and_cannot_be_broken_out_of():
    assert sequences("Training finished", "Finished 2 epochs") == (
        "\x1b]9;Training finished: Finished 2 epochs\x07\x1b]777;notify;Training finished;Finished 2 epochs\x07"
    )
    # A run's text with controls or separators in it cannot end the sequence early.
    evil = sequences("t", "a\x07b\x1b]0;owned\x07;c")
    assert evil.count("\x07") == 2 and evil.count("\x1b") == 2
    assert "\x1b]9;t: a b ]0 owned  c\x07" in evil
    # Windows Terminal reads "9;4;..." as progress: a message never starts with a digit.
    assert sequences("4", "x").startswith("\x1b]9;· 4: x\x07")


def test_inside_tmux_each_sequence_goes_through_its_passthrough():
    out = sequences("T", "m", tmux=True)
    assert out == "\x1bPtmux;\x1b\x1b]9;T: m\x07\x1b\\\x1bPtmux;\x1b\x1b]777;notify;T;m\x07\x1b\\"


async def test_a_finished_run_and_its_target_are_a_toast_a_bell_and_a_desktop_notification(runs_dir, monkeypatch):
    desktop, bells = [], []
    monkeypatch.setattr(app_module, "notify_desktop", lambda app, title, message: desktop.append((title, message)))
    monkeypatch.setattr(TrainerApp, "bell", lambda self: bells.append(1))
    config = tiny_config(train={"epochs": 2}, notify={"target_acc": 0})
    app = TrainerApp(launch=Launch(config, Run.create(runs_dir, config)))
    async with app.run_test(size=SIZE) as pilot:
        await until_trained(pilot, app)
        await wait_for(pilot, lambda: len(desktop) >= 2, what="the alerts")
        assert [t for t, _ in desktop] == ["Target accuracy reached", "Training finished"], "the target once"
        assert desktop[1][1].startswith("Finished 2 epochs, best test accuracy ")
        assert len(bells) == 2
        assert desktop[1][1] in notifications(app)
