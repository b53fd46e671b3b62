"""One wording of each kind of number, and of a run's start and end, whoever prints it."""

import dataclasses
import io
import math

import pytest
from helpers import run_started

from tui_trainer import events as ev
from tui_trainer import format as fmt
from tui_trainer import wording


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
    assert wording.end_line(finished(1, 1.2)).startswith("finished: 1 epoch, 1.2s wall, best test accuracy 91.50%")
    assert wording.end_line(finished(150, 7234.5)).startswith("finished: 150 epochs, 2:00:34 wall,")
    stopped = ev.Stopped(
        reason="stopped by user",
        epoch=2,
        step=1234,
        checkpoint="/r/last.pt",
        epoch_step=13,
        epoch_steps=1000,
        train_seconds=26.0,
        wall_seconds=51.0,
    )
    assert wording.end_line(stopped) == (
        "stopped by user at epoch 2, step 13 of 1,000, trained 26.0s of 51.0s wall; "
        "resume with: tui-trainer train --resume /r/last.pt"
    )
    # An older run's Stopped (no position within the epoch, no times) names what it knew.
    old = ev.Stopped(reason="stopped by user", epoch=1, step=1234, checkpoint=None)
    assert wording.end_line(old) == "stopped by user at step 1,234 of the run"
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
    assert wording.start_line(started) == "run r1: p on CPU (fp32), 53,098 params, 1 epoch x 1 step"


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
        assert describe(end)[1] == wording.end_line(end)
        assert pane.message == wording.end_line(end, where=False)
        assert "/r/x.pt" not in pane.message  # two lines of a pane: no path to be cut


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0:00"), (59.4, "0:59"), (65, "1:05"), (3725, "1:02:05"), (90_061, "25:01:01"), (None, "--:--")],
)
def test_a_clock_duration_counts_hours_past_a_day_and_says_when_it_is_unknown(seconds, text):
    assert fmt.duration(seconds) == text
    assert fmt.eta(seconds) == f"ETA {text}"


@pytest.mark.parametrize("seconds", [math.nan, math.inf, -1.0])
def test_an_eta_that_cannot_be_known_reads_as_dashes(seconds):
    assert fmt.eta(seconds) == "ETA --:--"


@pytest.mark.parametrize("n, text", [(0, "0"), (999, "999"), (1234, "1,234"), (23_528_522, "23,528,522"), (None, "?")])
def test_an_exact_count_is_in_full_with_thousands_separated(n, text):
    assert fmt.number(n) == text


@pytest.mark.parametrize(
    "value, text",
    [
        (0.9, "0.9"),
        (5e-4, "0.0005"),
        (1e-5, "1e-05"),
        (0.0, "0"),
        (30.0, "30"),
        (2**32 - 1, "4294967295"),
        (2.5, "2.5"),
    ],
)
def test_a_setting_reads_as_one_would_type_it(value, text):
    assert fmt.setting(value) == text


@pytest.mark.parametrize("value, text", [(10, "10s"), (0.25, "0.25s"), (0, "0s"), (7200, "7200s")])
def test_a_time_the_user_set_keeps_its_digits(value, text):
    assert fmt.seconds(value) == text


@pytest.mark.parametrize(
    "value, digits, text",
    [(91.5, 2, "91.50%"), (0.0, 2, "0.00%"), (100.0, 2, "100.00%"), (42.4, 0, "42%"), (99.6, 0, "100%"), (0, 0, "0%")],
)
def test_a_percentage_has_the_digits_asked_for(value, digits, text):
    assert fmt.pct(value, digits=digits) == text


@pytest.mark.parametrize("value", [None, math.nan, math.inf])
def test_a_percentage_that_is_not_a_number_reads_as_a_dash(value):
    assert fmt.pct(value) == "—"
    assert fmt.pct(value, digits=0) == "—"


@pytest.mark.parametrize(
    "value, bare, line", [(0.0, "0", "0 img/s"), (45.4, "45", "45 img/s"), (123_456.7, "123,457", "123,457 img/s")]
)
def test_images_per_second_read_the_same_bare_and_in_a_line(value, bare, line):
    assert fmt.rate(value) == bare
    assert fmt.throughput(value) == line


@pytest.mark.parametrize("value", [None, math.nan])
def test_an_unknown_rate_is_a_question_mark(value):
    assert fmt.rate(value) == "?"
    assert fmt.throughput(value) == "? img/s"


@pytest.mark.parametrize("value, text", [(0.9846, "0.985x"), (1.0, "1.000x"), (12.5, "12.500x"), (0.0, "0.000x")])
def test_a_speed_ratio_keeps_thousandths(value, text):
    assert fmt.ratio(value) == text


@pytest.mark.parametrize("value", [None, math.nan, math.inf])
def test_a_ratio_that_is_not_a_number_is_a_question_mark(value):
    assert fmt.ratio(value) == "?"


@pytest.mark.parametrize(
    "used, total, text",
    [
        (0, 80 * 2**30, "0.0/80.0 GiB"),
        (int(12.3 * 2**30), int(79.6 * 2**30), "12.3/79.6 GiB"),
        (2**20, 2**30, "0.0/1.0 GiB"),
    ],
)
def test_device_memory_reads_in_gib_whatever_the_amount(used, total, text):
    assert fmt.memory(used, total) == text


@pytest.mark.parametrize(
    "value, text",
    [
        (0.12345, "0.1235"),
        (0.0, "0.0000"),
        (1234.5, "1234.5000"),
        (0.0005, "0.0005"),
        (0.00042137, "4.21e-04"),
        (3.3e-06, "3.30e-06"),
        (math.nan, "nan"),
        (None, "?"),
    ],
)
def test_loss(value, text):
    assert fmt.loss(value) == text


@pytest.mark.parametrize(
    "value, text", [(0.1, "0.1"), (3e-4, "0.0003"), (1.23456e-5, "1.23e-05"), (0, "0"), (math.nan, "?"), (None, "?")]
)
def test_a_learning_rate_keeps_three_significant_digits(value, text):
    assert fmt.lr(value) == text


def test_the_target_note_says_whether_and_after_how_long_the_target_was_reached():
    def end(target_acc, time_to_target):
        return ev.Finished(
            epochs=3, best_acc=94.1, final_acc=94.0, seconds=9000, time_to_target=time_to_target, target_acc=target_acc
        )

    assert wording.target_note(end(None, None)) == ""
    assert wording.target_note(end(94.0, None)) == "; target 94.00% not reached"
    assert wording.target_note(end(94.0, 3.41)) == "; target 94.00% reached after 3.4s of training"
    # Over a minute it reads as the engine's "Reached ..." line and the run's length do: a clock.
    assert wording.target_note(end(94.0, 4000.0)) == "; target 94.00% reached after 1:06:40 of training"
    assert wording.end_line(end(94.0, 4000.0)) == (
        "finished: 3 epochs, 2:30:00 wall, best test accuracy 94.10%; target 94.00% reached after 1:06:40 of training"
    )


def test_the_end_line_of_a_run_without_an_epoch_and_of_an_event_that_is_not_an_end():
    nothing = ev.Finished(epochs=0, best_acc=None, final_acc=None, seconds=0.0)
    assert wording.end_line(nothing) == "finished: 0 epochs, 0.0s wall, best test accuracy n/a"
    failed = ev.Failed(reason="boom", error="RuntimeError", epoch=1, step=3, checkpoint="/r/last.pt")
    assert wording.end_line(failed) == "failed: boom; last good checkpoint: /r/last.pt"
    assert wording.end_line(failed, where=False) == "failed: boom"
    assert wording.end_line(ev.Paused(epoch=1, step=2)) == ""


def test_a_resumed_run_s_start_says_so_and_a_run_without_a_folder_says_that():
    started = ev.RunStarted(
        run_id="",
        run_dir="",
        preset="p",
        config={},
        model_summary="",
        param_count=1,
        device="cuda:0",
        device_name="NVIDIA H100",
        precision="bf16",
        data_summary="",
        epochs=150,
        steps_per_epoch=12_000,
        start_epoch=40,
    )
    assert wording.start_line(started) == (
        "run (no folder): p on NVIDIA H100 (bf16), 1 param, 150 epochs x 12,000 steps, "
        "resumed at epoch 40, step 12,000 of 12,000"
    )
    inside = dataclasses.replace(started, start_epoch_step=13, start_step=40 * 12_000 + 13)
    assert wording.start_line(inside).endswith("resumed at epoch 41, step 13 of 12,000")


def test_a_position_is_the_epoch_it_lies_in_and_the_steps_done_in_it():
    assert fmt.position(2, 16, 32) == "epoch 2, step 16 of 32"
    assert fmt.position(2, 16) == "epoch 2, step 16"
    # An epoch's boundary is its end, not step 0 of the next; before any step, epoch 1 step 0.
    assert ev.epoch_position(1, 0, 32) == (1, 32)
    assert ev.epoch_position(1, 13, 32) == (2, 13)
    assert ev.epoch_position(0, 0, 32) == (1, 0)
    paused = ev.Paused(epoch=2, step=45, epoch_step=13, epoch_steps=32)
    assert (wording.at(paused), paused.epochs_done) == ("epoch 2, step 13 of 32", 1)
    end = ev.CheckpointSaved(
        path="x", epoch=2, step=64, test_acc=90.0, size=1, best=True, epoch_step=32, epoch_steps=32
    )
    assert (wording.at(end), end.epochs_done) == ("epoch 2, step 32 of 32", 2)


def test_a_run_s_two_durations_are_always_labelled():
    assert fmt.run_time(26, 51) == "trained 26.0s of 51.0s wall"
    assert fmt.run_time(3725, 7200) == "trained 1:02:05 of 2:00:00 wall"
    assert fmt.run_time(None, 51) == "51.0s wall"  # an older run: its training time unknown
    assert fmt.run_time(26, None) == "trained 26.0s"
    assert fmt.run_time(None, None) == ""


def test_events_are_plain_data_without_wording_of_their_own():
    import inspect

    for cls in ev.EVENT_TYPES.values():
        own = {name for name, value in vars(cls).items() if inspect.isfunction(value) and not name.startswith("__")}
        assert own <= {"to_dict"}, (cls.__name__, own)
    assert not hasattr(ev, "end_line") and not hasattr(ev, "start_line") and not hasattr(ev, "BEST_SAVED")


def test_the_headless_bars_say_the_eta_as_the_progress_pane_does_and_the_run_s_times_labelled():
    from rich.console import Console
    from rich.progress import Progress

    from tui_trainer.cli.headless import RichPrinter, _Eta

    now = [1000.0]
    progress = Progress(get_time=lambda: now[0])
    task_id = progress.add_task("epoch 1", total=100)
    assert _Eta().render(progress.tasks[0]).plain == "ETA --:--"  # no speed yet
    now[0] += 3700
    progress.update(task_id, completed=40)
    now[0] += 25
    progress.update(task_id, completed=50)  # 10 batches in 25 s: 50 more in 125 s
    assert _Eta().render(progress.tasks[0]).plain == "ETA 2:05"
    # The run's bar: its training and wall time, each labelled, as the pane's stats line.
    printer = RichPrinter(Console(file=io.StringIO(), width=120))
    printer(run_started())
    printer(
        ev.Step(
            epoch=1, step=3, batch=3, batches=10, loss=1.0, lr=0.1, images_per_s=1.0, train_seconds=26, wall_seconds=51
        )
    )
    run_bar = printer.progress.tasks[0]
    assert run_bar.description == "run" and run_bar.fields["info"] == "trained 26.0s of 51.0s wall"
    printer.progress.stop()


def test_an_epoch_reads_the_same_in_the_dashboard_and_headless():
    e = ev.EpochEnd(
        epoch=3, epochs=10, step=300, train_loss=0.51234, train_acc=81.256, test_loss=0.6, test_acc=79.5,
        lr=0.0125, seconds=72.0, images_per_s=12345.6, best=True,
    )  # fmt: skip
    assert wording.epoch_figures(e) == ("0.5123", "81.26%", "0.6000", "79.50%", "0.0125", "1:12", "12,346")
