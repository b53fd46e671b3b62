"""The command line end to end: output, files and exit codes, in real subprocesses where
the process itself is under test (its exit status, its terminal, its stderr), else
through main() in this process."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import cli, subprocess_env

FAST = ["--set", "train.epochs=2", "--device", "cpu"]


@pytest.fixture
def env(isolated_dirs):
    return subprocess_env(isolated_dirs)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    err = result.stderr.strip()
    assert "Traceback" not in result.stderr and len(err.splitlines()) == 1, result.stderr
    assert err.startswith("tui-trainer: error: ")
    for f in fragments:
        assert f in err, (f, err)


def in_process(args: list[str], capsys) -> subprocess.CompletedProcess:
    """``tui-trainer ARGS`` through main() in this process, its output captured."""
    from tui_trainer.cli import main

    capsys.readouterr()  # what came before is not this command's
    code = main(args)
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def test_headless_train_then_resume_then_eval(env, runs_dir, capsys):
    r = cli(["train", "digits-cnn", "--headless", *FAST, "--runs-dir", str(runs_dir)], env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(l.startswith("run ") and "digits-cnn" in l for l in lines), r.stdout
    epoch_lines = [l for l in lines if l.startswith("epoch ")]
    assert [l.split()[1] for l in epoch_lines] == ["1/2", "2/2"], r.stdout
    assert "test_acc" in epoch_lines[0] and lines[-1].startswith("finished: 2 epochs")
    assert "target 95.00%" in lines[-1], "digits-cnn has a target accuracy: the end line says how it went"
    (run_dir,) = runs_dir.iterdir()
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "finished" and status["epoch"] == 2
    assert (run_dir / "checkpoints" / "last.pt").exists()

    # Resume the run to 3 epochs, by run id.
    r = cli(["train", "--headless", "--resume", run_dir.name, "--epochs", "3", "--runs-dir", str(runs_dir)], env)
    assert r.returncode == 0, r.stderr
    assert [l.split()[1] for l in r.stdout.splitlines() if l.startswith("epoch ")] == ["3/3"]
    assert len(list(runs_dir.iterdir())) == 1, "resume continues in the same run folder"
    assert "epochs = 3" in (run_dir / "config.toml").read_text(), "the resume's --epochs is the run's now"
    assert json.loads((run_dir / "config.json").read_text())["train"]["epochs"] == 3

    # Resuming a finished run without more epochs is bad input.
    # The rest in this process (the same main() as the console script): a subprocess
    # for each was a torch import apiece, and the real exit status and stderr are above.
    r = in_process(["train", "--headless", "--resume", str(run_dir), "--runs-dir", str(runs_dir)], capsys)
    assert_one_line_error(r, "already trained 3 of 3 epochs", "--epochs")

    r = in_process(["eval", str(run_dir / "checkpoints" / "best.pt")], capsys)
    assert r.returncode == 0, r.stderr
    assert "test accuracy" in r.stdout and all(str(d) in r.stdout for d in range(10))
    # By the time in its id, as `watch` and `--resume` take it: its last checkpoint (epoch 3).
    r = in_process(["eval", run_dir.name.split("-")[1], "--runs-dir", str(runs_dir)], capsys)
    assert r.returncode == 0, r.stderr
    assert "epoch_003" in r.stdout and "test accuracy" in r.stdout
    # The checkpoint's path whole on its line (as a table title it wrapped at the table's width).
    assert any(
        l.startswith(str(run_dir / "checkpoints" / "epoch_003")) and l.endswith("(epoch 3)")
        for l in r.stdout.splitlines()
    ), r.stdout
    table_acc = next(l for l in r.stdout.splitlines() if l.startswith("test accuracy")).split()[2]
    r = in_process(["eval", run_dir.name, "--json", "--runs-dir", str(runs_dir)], capsys)
    result = json.loads(r.stdout)
    assert result["epoch"] == 3 and f"{result['acc']:.2f}%" == table_acc
    assert [c["name"] for c in result["classes"]] == [str(d) for d in range(10)]
    assert sum(c["correct"] for c in result["classes"]) / sum(c["total"] for c in result["classes"]) * 100 == (
        pytest.approx(result["acc"])
    )
    assert_one_line_error(
        in_process(["eval", "no-such-run", "--runs-dir", str(runs_dir)], capsys),
        "no-such-run: no such checkpoint, run folder or run id in",
    )

    r = in_process(["runs", "--runs-dir", str(runs_dir)], capsys)
    assert r.returncode == 0 and run_dir.name[:15] in r.stdout and "finished" in r.stdout

    # The same for scripts, with what the end of the run said (BENCHMARKS.md's GPU check reads this).
    r = in_process(["runs", "--runs-dir", str(runs_dir), "--json"], capsys)
    assert r.returncode == 0, r.stderr
    (run,) = json.loads(r.stdout)
    metrics = map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
    epochs = [m for m in metrics if m["type"] == "epoch"]
    assert (run["id"], run["preset"], run["status"], run["epoch"], run["epochs"]) == (
        run_dir.name,
        "digits-cnn",
        "finished",
        3,
        3,
    )
    assert run["last_acc"] == epochs[-1]["test_acc"] and run["best_acc"] == max(e["test_acc"] for e in epochs)
    assert run["target_acc"] == 95.0 and run["device"].startswith("CPU")
    # Training time of all three epochs (two processes), less evaluation: below their epoch times' sum.
    assert 0 < run["train_seconds"] <= sum(e["seconds"] for e in epochs)
    assert run["time_to_target"] is None or run["time_to_target"] <= run["train_seconds"]


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["train", "digits-cnn", "--headless", "--set", "optim.lr=-1"], ["optim.lr", "> 0"]),
        (["train", "digits-cnn", "--headless", "--set", "optim.lrr=1"], ["did you mean 'lr'"]),
        (["train", "digits-cnn", "--headless", "--set", "optim.lr"], ["section.key=value"]),
        (["train", "digit-cnn", "--headless"], ["unknown preset", "did you mean 'digits-cnn'"]),
        (["train", "digits-cnn", "--headless", "--epochs", "0"], ["train.epochs", ">= 1"]),
        (["train", "digits-cnn", "--headless", "--epochs", "many"], ["invalid int value"]),
        (["train", "digits-cnn", "--headless", "--device", "tpu"], ["train.device"]),
        (
            ["train", "--headless", "--resume", "/nonexistent/run"],
            ["/nonexistent/run: no such checkpoint, run folder or run id"],
        ),
        (["eval", "/nonexistent.pt"], ["no such checkpoint"]),
        (["eval", "/nonexistent.pt", "--device", "banana"], ['--device: unknown device "banana"', "auto, cpu, cuda"]),
        (["bogus"], ["unknown command 'bogus'", "allowed: train, control"]),
        (["trian", "digits-cnn"], ["did you mean 'train'"]),
        (["stop", "0713"], ["control command: tui-trainer control 0713 stop"]),
        (["digits-cnn", "--epochs", "3"], ["is a preset, not a command: tui-trainer train digits-cnn --epochs 3"]),
        (["presets", "show", "nope"], ["unknown preset"]),
        (["watch", "/"], ["not a run folder"]),
        (["control", "no-such-run", "stop"], ["no such run folder or run id"]),
        (
            [
                "train",
                "digits-cnn",
                "--headless",
                "--set",
                "model.arch=vgg",
                "--set",
                'model.cfg=[8, "M", 8, "M", 8, "M", 8, "M"]',
            ],
            ["model.cfg", "max-pools"],
        ),
        (["train", "resnet-small-adam-cifar10", "--headless", "--epochs", "1"], ["cifar10", "--data-root"]),
        (["bench", "digits-cnn", "--only", "plain,fast"], ["--only", "fast"]),
        (["bench", "digits-cnn", "--only", ","], ["--only ','", "no variant named"]),
        # The default preset's digits are embedded: a --data-root given to it is a mistake
        # (the user thinks they train on their files), not something to ignore.
        (
            ["train", "--headless", "--data-root", "/data/cifar10.tar.xz"],
            ["data.root", "reads no files", "imagefolder"],
        ),
        (["train", "digits-cnn", "--headless", "--set", "train.seed=-1"], ["train.seed", "<= 4294967295"]),
        (["presets", "show", "digits-cnn", "extra"], ["unrecognized arguments"]),
        (["presets", "frobnicate", "digits-cnn"], ["unknown action 'frobnicate'", "show NAME"]),
    ],
)
def test_bad_input_exits_2_with_one_line(args, fragments, capsys):
    # In-process (the same main() as the console script) to keep the suite fast; the
    # subprocess tests below check the real exit status and stderr of the installed tool.
    assert_one_line_error(in_process(args, capsys), *fragments)


def test_bad_input_in_a_real_process(env):
    assert_one_line_error(cli(["train", "digits-cnn", "--headless", "--set", "optim.lr=-1"], env), "optim.lr")
    assert_one_line_error(cli(["bogus"], env), "unknown command 'bogus'")


def test_version(env):
    from importlib.metadata import version

    r = cli(["--version"], env)
    assert r.returncode == 0 and r.stdout.strip() == f"tui-trainer {version('tui-trainer')}", r


def test_missing_data_is_bad_input(env, runs_dir, tmp_path):
    r = cli(
        [
            "train",
            "digits-cnn",
            "--headless",
            "--set",
            'data.dataset="imagefolder"',
            "--data-root",
            str(tmp_path / "nothing"),
            "--runs-dir",
            str(runs_dir),
        ],
        env,
    )
    # Said before a run exists (issue 19): one line, and no failed run at 0 epochs left behind.
    assert_one_line_error(r, "imagefolder:", "nothing", "does not exist")
    assert r.stdout == "" and not (runs_dir.exists() and any(runs_dir.iterdir()))


@pytest.mark.parametrize("extra", [[], ["--detach"], ["--resume", "RUN"]])
def test_a_cifar_preset_without_its_data_is_refused_before_a_run_folder(env, runs_dir, tmp_path, extra, capsys):
    if extra[-1:] == ["RUN"]:  # a resume whose data has gone since: refused the same way
        trained = in_process(["train", "digits-cnn", "--headless", *FAST, "--runs-dir", str(runs_dir)], capsys)
        assert trained.returncode == 0, trained.stderr
        (run,) = runs_dir.iterdir()
        before = (run / "events.jsonl").read_text()
        extra = ["--resume", str(run), "--epochs", "3", "--set", "data.dataset=cifar10"]
        args = ["train", "--headless", *extra, "--data-root", str(tmp_path / "none"), "--runs-dir", str(runs_dir)]
        r = cli(args, env)
        assert_one_line_error(r, "cifar10: not found in", str(tmp_path / "none"))
        assert (run / "events.jsonl").read_text() == before  # the run is as it was
        return
    args = ["train", "cnn-dropout-cifar10", "--headless", "--device", "cpu", *extra]
    r = cli([*args, "--data-root", str(tmp_path / "none"), "--runs-dir", str(runs_dir)], env)
    assert_one_line_error(r, "cifar10: not found in", "--set data.download=true")
    assert not (runs_dir.exists() and any(runs_dir.iterdir()))


def test_checkpoint_of_another_architecture_is_bad_input(env, runs_dir, capsys):
    from tui_trainer.cli import main

    assert (
        main(["train", "digits-cnn", "--headless", "--epochs", "1", "--device", "cpu", "--runs-dir", str(runs_dir)])
        == 0
    )
    (run_dir,) = runs_dir.iterdir()
    config_before = (run_dir / "config.json").read_text(), (run_dir / "config.toml").read_text()
    args = ["train", "--headless", "--resume", str(run_dir), "--epochs", "2", "--set", "model.widths=[8, 8]"]
    assert_one_line_error(in_process([*args, "--runs-dir", str(runs_dir)], capsys), "does not fit model")
    # The failed attempt leaves the run's own outcome as it was, and says what happened.
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "finished" and status["epoch"] == 1, status
    assert status["last_attempt"]["status"] == "failed" and "does not fit" in status["last_attempt"]["reason"]
    # ... and its config: the overrides of an attempt that never trained are not the run's.
    assert ((run_dir / "config.json").read_text(), (run_dir / "config.toml").read_text()) == config_before
    args = ["train", "resnet50-cifar10", "--headless", "--resume", str(run_dir), "--runs-dir", str(runs_dir)]
    assert_one_line_error(in_process(args, capsys), "trained preset 'digits-cnn'")


def test_presets_table_and_show(env):
    r = cli(["presets"], env)
    assert r.returncode == 0
    for name in ("resnet50-cifar10", "vgg16-cifar10", "digits-cnn"):
        assert name in r.stdout
    r = cli(["presets", "show", "resnet50-cifar10"], env)
    assert r.returncode == 0 and "[optim]" in r.stdout and "lr = 0.1" in r.stdout
    r2 = cli(["presets", "resnet50-cifar10"], env)  # `show` may be left out
    assert r2.returncode == 0 and r2.stdout == r.stdout


def test_presets_list_reads_at_80_columns_and_survives_a_broken_user_preset(isolated_dirs, monkeypatch):
    import io

    from rich.console import Console

    from tui_trainer import presets
    from tui_trainer.cli import commands, main

    isolated_dirs["TUI_TRAINER_PRESETS"].mkdir(parents=True, exist_ok=True)
    (isolated_dirs["TUI_TRAINER_PRESETS"] / "broken.toml").write_text("[optim]\nlr = -1\n")
    out = io.StringIO()
    monkeypatch.setattr(commands, "_console", lambda: Console(file=out, width=80, color_system=None))
    assert main(["presets"]) == 0
    text = out.getvalue()
    assert "…" not in text
    lines = text.splitlines()
    for name in presets.available():
        assert any(line.startswith(name) for line in lines), name  # a name starts its own line, whole
    assert "digits-cnn (default)  small_cnn · digits · 15 epochs · target 95.00%" in text
    assert "reported 64.86%" in text  # a tutorial's number
    broken = lines.index(next(line for line in lines if line.startswith("broken")))
    error = next(line for line in lines[broken : broken + 3] if line.strip().startswith("invalid: "))
    assert "optim.lr" in error  # under its name (after the user preset's path), the others listed too
    # The descriptions, whole, under their names (wrapped, indented).
    description = presets.load("vgg16-cifar10").meta.description
    assert " ".join(text.split()).count(" ".join(description.split())) == 1


def test_runs_folder_that_cannot_hold_runs_is_bad_input(tmp_path, capsys):
    a_file = tmp_path / "runs.txt"
    a_file.write_text("not a folder")
    for args, fragment in [
        (["train", "digits-cnn", "--headless", "--runs-dir", str(a_file)], "it is a file, not a folder"),
        (["train", "digits-cnn", "--headless", "--runs-dir", str(a_file / "sub")], "cannot create a run folder"),
        (["runs", "--runs-dir", str(a_file)], "it is a file, not a folder of runs"),
    ]:
        assert_one_line_error(in_process(args, capsys), str(a_file), fragment)
    assert a_file.read_text() == "not a folder"


def test_a_failed_run_says_its_error_once_on_one_terminal(env, runs_dir, tmp_path):
    # A folder that is there (so the run starts) but holds no image folder: the load fails.
    (tmp_path / "nothing").mkdir()
    args = [
        "train",
        "digits-cnn",
        "--headless",
        "--set",
        'data.dataset="imagefolder"',
        "--data-root",
        str(tmp_path / "nothing"),
        "--runs-dir",
        str(runs_dir),
    ]
    # stdout and stderr into one file, as on a terminal: the "failed:" line alone.
    both = subprocess.run(
        [sys.executable, "-m", "tui_trainer", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert both.returncode == 2
    assert sum(str(tmp_path / "nothing") in line for line in both.stdout.splitlines()) == 1, both.stdout
    # Apart (stdout to a log): each stream says it.
    apart = cli(args, env)
    assert apart.returncode == 2 and "failed:" in apart.stdout
    assert_one_line_error(apart, str(tmp_path / "nothing"))
    # And the runs list says why, for scripts.
    listed = json.loads(cli(["runs", "--json", "--runs-dir", str(runs_dir)], env).stdout)
    assert listed[0]["status"] == "failed" and str(tmp_path / "nothing") in listed[0]["reason"]


def test_corrupt_checkpoint_eval_is_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 100)  # not even a zip
    assert_one_line_error(in_process(["eval", str(bad)], capsys), "not a checkpoint (not a file saved by PyTorch)")


@pytest.mark.parametrize("width", [80, 160])
def test_runs_table_keeps_status_epochs_and_accuracy_readable_at_80_columns(runs_dir, monkeypatch, capsys, width):
    import io

    from helpers import write_run_folder
    from rich.console import Console

    from tui_trainer.cli import commands, main

    write_run_folder(
        runs_dir, "20261202-050911-resnet-small-adam-cifar10", "resnet-small-adam-cifar10", "stopped", [12.0, 16.25], 20
    )
    write_run_folder(runs_dir, "20261202-043017-resnet-small-cifar10", "resnet-small-cifar10", "finished", [41.5], 30)
    out = io.StringIO()
    monkeypatch.setattr(commands, "_console", lambda: Console(file=out, width=width, color_system=None))
    assert main(["runs", "--runs-dir", str(runs_dir)]) == 0
    text = out.getvalue()
    assert "…" not in text, text  # nothing cut
    for shown in ("20261202-050911-resnet-small-adam-cifar10", "stopped", "2/20", "16.25%", "1/30", "41.50%"):
        assert shown in text, (shown, text)
    assert "preset" not in text  # the ids end with their presets
    assert ("started" in text) == (width >= 110)
    write_run_folder(runs_dir, "20261203-000000-renamed", "digits-cnn", "finished", [90.0], 1)
    out.truncate(0)
    assert main(["runs", "--runs-dir", str(runs_dir)]) == 0
    assert "preset" in out.getvalue() and "digits-cnn" in out.getvalue()  # an id that does not say it


def test_the_terminal_printer_shows_paths_and_reasons_as_they_are():
    # On a terminal the headless run prints with rich, which reads a str as markup: a runs
    # folder named "x[/y]" would raise MarkupError (the run goes on, its printing would not).
    import io

    from rich.console import Console

    from tui_trainer import events as ev
    from tui_trainer.cli.headless import RichPrinter

    out = io.StringIO()
    printer = RichPrinter(Console(file=out, force_terminal=True, width=200, color_system=None))
    where = "/runs/x[/y]/run [bold]1"
    printer(ev.Log(message="imagefolder from /data/[/]"))
    printer(
        ev.RunStarted(
            run_id="run [bold]1",
            run_dir=where,
            preset="odd",
            config={},
            model_summary="",
            param_count=10,
            device="cpu",
            device_name="CPU [red]",
            precision="fp32",
            data_summary="imagefolder from /data/[/]",
            epochs=1,
            steps_per_epoch=1,
        )
    )
    printer(ev.CheckpointSaved(path=f"{where}/checkpoints/last.pt", epoch=1, step=1, test_acc=50.0, size=1, best=True))
    printer(
        ev.Failed(
            reason="data.root: [/] is odd",
            error="DataError",
            epoch=1,
            step=1,
            checkpoint=f"{where}/checkpoints/last.pt",
        )
    )
    assert not printer.broken
    text = out.getvalue()
    for shown in (
        f"run folder {where}",
        "CPU [red]",
        "/data/[/]",
        "checkpoint last.pt (best saved)",
        "failed: data.root: [/] is odd; last good checkpoint: " + where,
    ):
        assert shown in text, (shown, text)


@pytest.mark.parametrize("terminal", [True, False], ids=["rich", "plain"])
def test_the_headless_printers_say_each_thing_once_and_leave_no_bar_for_an_epoch_after_the_last(terminal):
    import io

    from rich.console import Console

    from tui_trainer import events as ev
    from tui_trainer.cli.headless import PlainPrinter, RichPrinter

    out = io.StringIO()
    printer = (
        RichPrinter(Console(file=out, force_terminal=True, width=200, color_system=None))
        if terminal
        else PlainPrinter(out)
    )
    summary = "digits: 1,437 train / 360 test 8x8x1 images in 10 classes"
    printer(ev.Log(message=summary))  # the loader says it...
    printer(
        ev.RunStarted(
            run_id="r1",
            run_dir="/runs/r1",
            preset="p",
            config={},
            model_summary="",
            param_count=10,
            device="cpu",
            device_name="CPU",
            precision="fp32",
            data_summary=summary,
            epochs=2,
            steps_per_epoch=4,
        )
    )  # ...and the run's start carries it too
    for epoch in (1, 2):
        printer(ev.Step(epoch=epoch, step=4 * epoch, batch=4, batches=4, loss=1.0, lr=0.1, images_per_s=100.0))
        printer(
            ev.EpochEnd(
                epoch=epoch,
                epochs=2,
                step=4 * epoch,
                train_loss=1.0,
                train_acc=50.0,
                test_loss=1.0,
                test_acc=60.0 - epoch,
                lr=0.1,
                seconds=1.0,
                images_per_s=100.0,
                best=epoch == 1,
            )
        )
    # Saved only at the end (checkpoint.every > 1): the best of the saved, not of the run.
    printer(
        ev.CheckpointSaved(
            path="/runs/r1/checkpoints/epoch_002.pt", epoch=2, step=8, test_acc=58.0, size=1, best=True, reason="final"
        )
    )
    printer(ev.Finished(epochs=2, best_acc=59.0, final_acc=58.0, seconds=2.0))
    text = out.getvalue()
    assert text.count(summary) == 1, text
    assert "epoch 3" not in text, text
    if terminal:
        # The run's folder once; each checkpoint by its file's name (full paths wrapped
        # over three lines at 80 columns).
        assert "checkpoint epoch_002.pt (best saved)" in text and "(best)" not in text
        assert text.count("/runs/r1") == 1 and "run folder /runs/r1" in text, text


def test_with_only_stderr_redirected_the_app_does_not_draw_into_it(env, runs_dir, tmp_path):
    """Keys and stdout on a terminal, stderr to a file: Textual draws on stderr, so the
    app would fill the file with its screen and leave the terminal blank."""
    import os
    import pty
    import select
    import time

    leader, follower = pty.openpty()
    log = tmp_path / "err.log"
    shown = b""
    try:
        with open(log, "w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tui_trainer", "train", "digits-cnn", *FAST, "--runs-dir", str(runs_dir)],
                env=env,
                stdin=follower,
                stdout=follower,
                stderr=err,
            )
        os.close(follower)  # the child has its copies: the leader reads EOF (EIO) once they are closed
        follower = -1
        try:
            # Read while it runs: the pty holds about 16 KiB, and a child whose progress
            # output filled it would block writing until the timeout.
            deadline = time.monotonic() + 180
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(proc.args, 180, output=shown)
                ready, _, _ = select.select([leader], [], [], min(left, 1.0))
                if not ready:
                    if proc.poll() is not None:
                        break  # it has exited and all it wrote is read
                    continue
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal's other end is closed and drained
                    break
                if not chunk:
                    break
                shown += chunk
            returncode = proc.wait(timeout=max(deadline - time.monotonic(), 1.0))
        finally:
            if proc.poll() is None:  # timed out: no child outlives the test
                proc.kill()
                proc.wait()
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert returncode == 0
    text = log.read_text()
    assert "stderr is not a terminal, so training headless" in text and "\x1b[" not in text
    assert "finished: 2 epochs" in re.sub(r"\x1b\[[0-9;]*m", "", shown.decode())  # headless, on the terminal


def test_without_a_terminal_the_app_falls_back_to_headless(env, runs_dir):
    # A pipe, cron or `ssh host tui-trainer ...` without -t: the app would draw into a
    # file and wait for keys forever. Training goes headless (and says so); bare
    # `tui-trainer` trains the default preset; watching needs a terminal and says so.
    r = cli(["train", "digits-cnn", *FAST, "--runs-dir", str(runs_dir)], env)
    assert r.returncode == 0, r.stderr
    assert "not a terminal, so training headless" in r.stderr
    assert r.stdout.splitlines()[-1].startswith("finished: 2 epochs") and "\x1b[" not in r.stdout
    r = cli([], {**env, "TUI_TRAINER_RUNS": str(runs_dir)})
    assert r.returncode == 0, r.stderr
    assert "training the default preset digits-cnn headless" in r.stderr
    assert r.stdout.splitlines()[-1].startswith("finished: 15 epochs")
    assert {p.name.split("-", 2)[-1] for p in runs_dir.iterdir()} == {"digits-cnn"} and len(
        list(runs_dir.iterdir())
    ) == 2
    run = sorted(runs_dir.iterdir())[0]
    assert_one_line_error(cli(["watch", str(run)], env), "needs a terminal", "events.jsonl")
