"""One wording for a run's start and end, whoever prints it."""

import pytest

from tui_trainer import events as ev
from tui_trainer import format as fmt


@pytest.mark.parametrize("n, text", [(0, "0 epochs"), (1, "1 epoch"), (2, "2 epochs"), (12_000, "12,000 epochs")])
def test_plural(n, text):
    assert fmt.plural(n, "epoch") == text


@pytest.mark.parametrize(
    "seconds, text",
    [(0.04, "0.0s"), (12.34, "12.3s"), (59.9, "59.9s"), (59.97, "1:00"), (65, "1:05"), (3725, "1:02:05")],
)
def test_a_run_length_keeps_tenths_under_a_minute_and_reads_as_a_clock_after(seconds, text):
    assert fmt.elapsed(seconds) == text


@pytest.mark.parametrize("n, text", [(850, "850"), (12_345, "12.3K"), (23_528_522, "23.5M"), (1_500_000_000, "1.5B")])
def test_count(n, text):
    assert fmt.count(n) == text


def test_an_epoch_s_time_reads_the_same_in_the_headless_line_and_the_table():
    from tui_trainer.app.widgets.epoch_table import EpochTable
    from tui_trainer.cli.headless import fmt_epoch_line

    def epoch(seconds: float) -> ev.EpochEnd:
        return ev.EpochEnd(
            epoch=3,
            epochs=6,
            step=300,
            train_loss=0.5,
            train_acc=80.0,
            test_loss=0.6,
            test_acc=75.0,
            lr=0.01,
            seconds=seconds,
            images_per_s=45.0,
            best=True,
        )

    for seconds, text in ((12.34, "12.3s"), (1100.3, "18:20"), (4000, "1:06:40")):
        assert f"  {text}  45 img/s" in fmt_epoch_line(epoch(seconds))
        assert text in [c.plain for c in EpochTable._cells(epoch(seconds), best=True)]


def finished(epochs: int, seconds: float) -> ev.Finished:
    return ev.Finished(epochs=epochs, best_acc=91.5, final_acc=91.5, seconds=seconds)


def test_end_and_start_lines_count_in_words():
    assert ev.end_line(finished(1, 1.2)).startswith("finished: 1 epoch in 1.2s, best test accuracy 91.50%")
    assert ev.end_line(finished(150, 7234.5)).startswith("finished: 150 epochs in 2:00:34,")
    stopped = ev.Stopped(reason="stopped by user", epoch=1, step=1234, checkpoint="/r/last.pt")
    assert ev.end_line(stopped) == (
        "stopped (stopped by user) after 1 epoch, step 1,234; resume with: tui-trainer train --resume /r/last.pt"
    )
    started = ev.RunStarted(
        run_id="r1",
        run_dir="/r",
        preset="p",
        config={},
        model_summary="",
        param_count=53_098,
        device="cpu",
        device_name="CPU",
        precision="fp32",
        data_summary="",
        epochs=1,
        steps_per_epoch=1,
    )
    assert ev.start_line(started) == "run r1: p on CPU (fp32), 53,098 params, 1 epoch x 1 step"


def test_the_log_and_progress_panes_end_a_run_in_the_headless_words():
    from tui_trainer.app.widgets.log import describe
    from tui_trainer.app.widgets.progress import ProgressPane

    for end in (
        finished(3, 80.0),
        ev.Stopped(reason="stopped by user", epoch=2, step=20, checkpoint="/r/x.pt"),
        ev.Failed(reason="boom", error="RuntimeError", epoch=1, step=3, checkpoint=None),
    ):
        pane = ProgressPane()
        pane.apply(end)
        assert describe(end)[1] == ev.end_line(end)
        assert pane.message == ev.end_line(end, where=False)
        assert "/r/x.pt" not in pane.message  # two lines of a pane: no path to be cut
