"""The command line: `tui-trainer [train|presets|runs|eval|watch|bench] ...`.

Exit status: 0 success, 2 bad input (one line on stderr, never a traceback), 1 failure.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any, NoReturn

from ..errors import UserError, did_you_mean, one_of
from ..placement import place_from_env

PROG = "tui-trainer"
CONTROL_ACTIONS = ("pause", "resume", "stop", "save")


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(PROG)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but its errors are one line and exit with 2 like every other bad input."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see `{self.prog} --help`)")


class IntermixedParser(ArgumentParser):
    """A subcommand whose optional positional may follow its options (``export RUN --to
    wandb OUT``): plain argparse gives ``OUT`` up as unrecognized once an option came
    between (its nargs='?' quirk); the intermixed parse takes positionals anywhere."""

    _inner = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if self._inner:  # parse_known_intermixed_args calls back here
            return super().parse_known_args(args, namespace)
        self._inner = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inner = False


def _add_train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("preset", nargs="?", help="preset name or path to a .toml file (default: digits-cnn)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key with a TOML value, e.g. --set optim.lr=0.05 (repeatable)",
    )
    p.add_argument("--epochs", type=int, help="shorthand for --set train.epochs=N")
    p.add_argument("--device", help="shorthand for --set train.device=... (auto, cpu, cuda, cuda:N, mps)")
    p.add_argument("--data-root", help="shorthand for --set data.root=DIR (a folder, or an imagefolder archive)")
    p.add_argument(
        "--devices",
        help="shorthand for --set train.devices=...: processes, one a GPU (4, all, [0,2]); with --device cpu, "
        "CPU processes",
    )
    p.add_argument(
        "--runs-dir", type=Path, help="where run folders go (default: $TUI_TRAINER_RUNS or the user data folder)"
    )


# One run named on the command line, as find_run resolves it.
_RUN_HELP = "run folder, run id, or a unique part of one"


def _add_runs_dir(p: argparse.ArgumentParser) -> None:
    # control, runs, watch, eval and export: the bare option (train's, in _add_train_args,
    # has a help line; theirs never had one, and --help stays as it was).
    p.add_argument("--runs-dir", type=Path)


def _add_overrides(p: argparse.ArgumentParser) -> None:
    """--set as eval and bench take it: train's, without its help line."""
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Train image classifiers with PyTorch from the terminal. Without a command: "
        "the app (pick a preset, edit its hyperparameters and data, train, watch; f3 lists past runs).",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
    sub = parser.add_subparsers(dest="command", parser_class=ArgumentParser)
    # In the order `tui-trainer --help` lists them.
    for add in (_add_train, _add_control, _add_presets, _add_runs, _add_watch, _add_eval, _add_export, _add_bench):
        add(sub)
    return parser


def _add_train(sub: argparse._SubParsersAction[ArgumentParser]) -> None:
    train = sub.add_parser("train", help="train a preset (opens the dashboard unless --headless)")
    _add_train_args(train)
    train.add_argument("--headless", action="store_true", help="no UI: progress and one row per epoch on stdout")
    train.add_argument(
        "--resume",
        metavar="RUN_OR_CHECKPOINT",
        help="continue a run (folder, id or a unique part of one) or a checkpoint",
    )
    train.add_argument(
        "--detach",
        action="store_true",
        help="train headless in the background, in its own session (survives the terminal closing)",
    )
    train.add_argument("--run-dir", type=Path, help=argparse.SUPPRESS)  # a detached child: train into this run


def _add_control(sub: argparse._SubParsersAction[ArgumentParser]) -> None:
    control = sub.add_parser("control", help="send pause/resume/stop/save to the process training a run")
    control.add_argument("run", help=f"{_RUN_HELP} (e.g. its time)")
    control.add_argument("action", metavar="COMMAND", choices=CONTROL_ACTIONS, help="pause, resume, stop or save")
    _add_runs_dir(control)
    control.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the acknowledgement")


def _add_presets(sub: argparse._SubParsersAction[ArgumentParser]) -> None:
    presets = sub.add_parser("presets", help="list presets, or show one")
    # `presets NAME` works too: cmd_presets moves a name given as the action over.
    presets.add_argument("action", nargs="?", metavar="show", help="show NAME (or just NAME): print a preset's config")
    presets.add_argument("name", nargs="?")


def _add_runs(sub: argparse._SubParsersAction[ArgumentParser]) -> None:
    runs = sub.add_parser("runs", help="list runs")
    _add_runs_dir(runs)
    runs.add_argument("--json", action="store_true", help="print a JSON list (newest first) instead of a table")
    runs.add_argument(
        "--sort",
        metavar="COLUMN",
        help="order by a column: best, time, epochs, status, preset, ... (default: started, newest first)",
    )
    runs.add_argument("--status", help="only runs of this status: finished, stopped, failed, live, ...")
    runs.add_argument("--preset", metavar="NAME", help="only runs of this preset")


def _add_watch(sub: argparse._SubParsersAction[ArgumentParser]) -> None:
    watch = sub.add_parser("watch", help="open the dashboard on a run: live if it is training, else its history")
    watch.add_argument(
        "run",
        nargs="?",
        help=f"{_RUN_HELP} (see `{PROG} runs`); none: the newest run that is training, else the newest",
    )
    _add_runs_dir(watch)


def _add_eval(sub: argparse._SubParsersAction[ArgumentParser]) -> None:
    ev = sub.add_parser("eval", help="evaluate a checkpoint: test accuracy and a per-class table")
    ev.add_argument(
        "checkpoint",
        metavar="CHECKPOINT_OR_RUN",
        help="checkpoint file, or a run (folder, id or a unique part of one): its last checkpoint",
    )
    _add_runs_dir(ev)
    _add_overrides(ev)
    ev.add_argument("--data-root")
    ev.add_argument("--device", default="auto")
    ev.add_argument(
        "--json", action="store_true", help="print one JSON object (accuracy, loss, per class) instead of a table"
    )


def _add_export(sub: argparse._SubParsersAction[ArgumentParser]) -> None:
    export = sub.add_parser("export", help="a run's figures for other tools: CSV, TensorBoard, W&B or MLflow")
    # add_parser makes every subcommand the same class; OUT after --to needs the intermixed parse.
    export.__class__ = IntermixedParser
    export.add_argument("run", help=f"{_RUN_HELP} (see `{PROG} runs`)")
    export.add_argument(
        "out",
        nargs="?",
        help="a new or empty folder (default: RUN/export/FORMAT); for mlflow a tracking URI or a SQLite file "
        "(default: RUN/export/mlflow.db)",
    )
    export.add_argument("--to", default="csv", help="csv (default), tensorboard, wandb (an offline run) or mlflow")
    _add_runs_dir(export)


def _add_bench(sub: argparse._SubParsersAction[ArgumentParser]) -> None:
    bench = sub.add_parser("bench", help="images/s: the tutorials' loop vs the engine vs the engine under the app")
    bench.add_argument("preset")
    _add_overrides(bench)
    bench.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    bench.add_argument("--data-root")
    bench.add_argument("--steps", type=int, default=100, help="timed steps per measurement (default 100)")
    bench.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    bench.add_argument("--rounds", type=int, default=3, help="alternating rounds; the median is reported (default 3)")
    bench.add_argument("--only", help="comma-separated subset of plain,engine,app")
    bench.add_argument(
        "--devices",
        help="also the engine in the processes of train.devices (4, all, [0,2]; with --device cpu, CPU processes), "
        "and the scaling efficiency over one process; without --only, the engine alone",
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def main(argv: list[str] | None = None) -> int:
    code = _main(sys.argv[1:] if argv is None else argv)
    place = place_from_env()  # torchrun's variables, or Slurm's for an srun launch without it
    if place is not None and place[2] > 1 and "tui_trainer.cli.ranks" in sys.modules:
        from .ranks import exit_now

        exit_now(code)  # a rank of a distributed run: see exit_now
    return code


def _main(argv: list[str]) -> int:
    try:
        return _dispatch(build_parser(), argv)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line; the traceback only when asked for
        if os.environ.get("TUI_TRAINER_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(
            f"{PROG}: internal error: {type(exc).__name__}: {first} (set TUI_TRAINER_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


def _dispatch(parser: ArgumentParser, argv: list[str]) -> int:
    from . import commands

    _check_command(parser, argv)
    args = parser.parse_args(argv)
    if args.command is None:
        return commands.open_app(args)
    return getattr(commands, f"cmd_{args.command}")(args)


def _check_command(parser: ArgumentParser, argv: list[str]) -> None:
    """A mistyped command gets a "did you mean" (argparse lists the choices alone), and
    `tui-trainer stop RUN` the control command it meant."""
    if not argv or argv[0].startswith("-"):
        return
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    word = argv[0]
    if word in commands:
        return
    if word in CONTROL_ACTIONS:
        raise UserError(f"'{word}' is a control command: {PROG} control {shlex.join(argv[1:]) or 'RUN'} {word}")
    from .. import presets

    if word.endswith(".toml") or word in presets.available():
        raise UserError(f"'{word}' is a preset, not a command: {PROG} train {shlex.join(argv)}")
    raise UserError(
        f"unknown command '{word}'{did_you_mean(word, commands)}; allowed: {one_of(commands)} (see `{PROG} --help`)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
