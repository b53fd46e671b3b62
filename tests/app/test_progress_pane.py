"""The dashboard's header: the run's title, epoch and run bars, and the stats line."""

from __future__ import annotations

import pytest
from helpers import run_started
from textual.app import App, ComposeResult

from tui_trainer import events as ev
from tui_trainer.app.widgets.progress import ProgressPane


class HeaderApp(App):
    def compose(self) -> ComposeResult:
        yield ProgressPane(id="progress")


def started(epochs: int) -> ev.RunStarted:
    return run_started(
        run_id="20261203-000000-resnet50-cifar10-fast",
        preset="resnet50-cifar10-fast",
        epochs=epochs,
        steps_per_epoch=15630,
    )


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("epochs", [9, 150, 1200])
async def test_the_header_never_wraps_and_keeps_its_stats_line(width, epochs):
    """Issue 19: at 80x24 with 100+ epochs a bar row was a cell too wide, wrapped, and
    pushed the stats line off the screen."""
    app = HeaderApp()
    async with app.run_test(size=(width, 24)) as pilot:
        pane = app.query_one(ProgressPane)
        pane.apply(started(epochs))
        pane.apply(ev.Step(epoch=epochs, step=10**6, batch=10000, batches=15630, loss=0.5, lr=0.01, images_per_s=9e4))
        pane.flush()
        await pilot.pause()
        lines = ["".join(s.text for s in pane.render_line(y)).rstrip() for y in range(pane.size.height)]
        assert pane.size.height == 4, lines
        assert lines[1].startswith(f"epoch {epochs}/{epochs}") and lines[2].startswith("run")
        assert lines[3].startswith("loss 0.5000") and all(len(line) <= width for line in lines)


async def test_the_stats_line_leaves_out_what_is_not_known_yet():
    """Before the first Step no "loss ? · lr ? · ? img/s"; "best" once an epoch is evaluated."""
    app = HeaderApp()
    async with app.run_test(size=(100, 24)) as pilot:
        pane = app.query_one(ProgressPane)

        def stats() -> str:
            pane.flush()
            return "".join(s.text for s in pane.render_line(3)).rstrip()

        pane.apply(started(9))
        await pilot.pause()
        assert "?" not in stats() and "loss" not in stats() and "best" not in stats(), stats()
        pane.apply(ev.Step(epoch=1, step=10, batch=10, batches=15630, loss=0.5, lr=0.01, images_per_s=9e4))
        await pilot.pause()
        assert stats().startswith("loss 0.5000 · lr 0.01 · 90,000 img/s") and "best" not in stats(), stats()


async def test_before_the_run_starts_the_bars_say_it_is_loading_not_epoch_0_of_0():
    app = HeaderApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(ProgressPane)
        pane.title = "20261206-012925-cnn-dropout-cifar10"
        pane.set_state("starting")
        await pilot.pause()
        lines = ["".join(s.text for s in pane.render_line(y)).rstrip() for y in range(3)]
        assert lines[1].startswith("epoch ") and lines[1].endswith("loading…"), lines
        assert "0/0" not in "\n".join(lines) and "--:--" not in "\n".join(lines), lines
        pane.apply(started(9))
        pane.flush()
        await pilot.pause()
        assert "".join(s.text for s in pane.render_line(1)).startswith("epoch 1/9"), "the plan, once known"


async def test_a_failure_cause_from_the_launcher_replaces_rank_0s_lost_contact():
    """Rank 0 saw only a closed connection; the launcher then names the rank that died."""
    app = HeaderApp()
    async with app.run_test(size=(100, 24)) as pilot:
        pane = app.query_one(ProgressPane)
        pane.apply(started(9))
        lost = "lost contact with another rank (its connection closed)"
        pane.apply(ev.Failed(reason=lost, error="RuntimeError", epoch=3, step=40, checkpoint=None))
        assert pane.message == "failed: lost contact with another rank (its connection closed)"
        pane.apply(ev.FailureCause(message="rank 1 exited: signal 9 (SIGKILL)"))
        pane.flush()
        await pilot.pause()
        assert pane.state == "failed" and pane.message == "failed: rank 1 exited: signal 9 (SIGKILL)"
        assert "rank 1 exited: signal 9" in "".join("".join(s.text for s in pane.render_line(y)) for y in range(6))
        pane.apply(started(9))  # resumed: a later cause belongs to a later end only
        pane.apply(ev.FailureCause(message="rank 0 exited: exit status 1"))
        assert pane.state == "training" and pane.message == ""
