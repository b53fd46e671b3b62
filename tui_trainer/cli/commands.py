"""One function per subcommand. Each returns the exit status."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .. import format as fmt
from .. import paths, presets
from ..config import RunConfig
from ..errors import ConfigError, one_of
from ..launch import Launch, preflight, prepare, shorthand_overrides
from ..placement import place_from_env
from ..runs import (
    SORTS,
    STATUS_COLORS,
    STATUS_SHOWN,
    RunSummary,
    checkpoint_or_run,
    filter_runs,
    find_run,
    list_runs,
    run_to_watch,
    sort_runs,
    status_text,
)

if TYPE_CHECKING:
    from ..bench import BenchResult, Loop
    from ..engine.distributed import World
    from ..evaluate import EvalResult
    from .launcher import Plan


def _console() -> Console:
    # Piped output (grep, logs) gets whole lines rather than columns cut to 80.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _overrides(args: argparse.Namespace) -> list[str]:
    devices = getattr(args, "devices", None)
    return list(args.overrides) + shorthand_overrides(args.epochs, args.device, args.data_root, devices)


def cmd_train(args: argparse.Namespace) -> int:
    world = _launched_world()
    if world is not None and world.distributed:  # a rank that torchrun or srun started (ours, or the user's)
        from .ranks import run_rank

        return run_rank(args, _overrides(args), world)
    if args.run_dir is not None:  # the background process started by --detach, or a rank
        from .detach import child_launch

        return _train_headless(child_launch(args.run_dir, args.resume, _overrides(args)))
    launch = prepare(
        args.preset if (args.preset or args.resume) else presets.DEFAULT_PRESET,
        _overrides(args),
        resume=args.resume,
        runs_dir=args.runs_dir,
        check=_check_launch,
    )
    if args.detach:
        from .detach import detach

        return detach(launch)
    if args.headless or not _terminal("training headless"):
        return _train_headless(launch)
    from ..app import run_app

    return run_app(launch=launch)


def _launched_world() -> World | None:
    """The engine's World where a launcher started this process, else None: torch is
    imported only then, so that --detach and the app do not wait for it."""
    if place_from_env() is None:
        return None
    from ..engine.distributed import world_from_env

    return world_from_env()


def _check_launch(config: RunConfig) -> None:
    """The data, and ``train.devices`` against this machine, before a run folder exists."""
    preflight(config)
    if config.train.devices != 1 and not _inside_launcher():
        from .launcher import plan

        plan(config)


def _inside_launcher() -> bool:
    """A worker of a launcher (world size 1 included) trains in its own process."""
    return "WORLD_SIZE" in os.environ


def _train_headless(launch: Launch) -> int:
    """In this process, or in the ranks that ``train.devices`` asks for."""
    if launch.config.train.devices != 1 and not _inside_launcher():
        from .launcher import launch_ranks, plan

        return launch_ranks(launch, plan(launch.config))
    from .headless import run_headless

    return run_headless(launch)


def _terminal(fallback: str | None = None) -> bool:
    """Whether the app can run: it needs a terminal both ways, keys in and screen out.
    Without one (a pipe, cron, `ssh host cmd` without -t) the app would draw escape
    codes into a file and wait for keys that never come; with ``fallback`` the caller
    goes on without it, and says so on stderr. Textual draws on stderr, not stdout: with
    only stderr redirected (`2>log`) the screen stayed blank while keys still worked."""
    streams = {"stdin": sys.stdin, "stdout": sys.stdout, "stderr": sys.__stderr__}
    redirected = [name for name, f in streams.items() if f is None or not f.isatty()]
    if not redirected:
        return True
    if fallback:
        what = (
            "not a terminal"
            if len(redirected) == 3
            else f"{' and '.join(redirected)} {'is' if len(redirected) == 1 else 'are'} not a terminal"
        )
        print(f"tui-trainer: {what}, so {fallback} (--headless does so without this note)", file=sys.stderr)
    return False


def open_app(args: argparse.Namespace) -> int:
    if not _terminal(f"training the default preset {presets.DEFAULT_PRESET} headless"):
        from .headless import run_headless

        return run_headless(prepare(presets.DEFAULT_PRESET, []))
    from ..app import run_app

    return run_app()


def cmd_watch(args: argparse.Namespace) -> int:
    runs_dir = args.runs_dir or paths.runs_dir()
    run = find_run(args.run, runs_dir) if args.run is not None else run_to_watch(runs_dir)
    if not _terminal():
        raise ConfigError(
            f"watch: the dashboard needs a terminal (stdin, stdout and stderr); from a script, "
            f"`tui-trainer runs --json` or the run's {run.dir / 'events.jsonl'}"
        )
    from ..app import run_app

    return run_app(watch=run)


def cmd_presets(args: argparse.Namespace) -> int:
    console = _console()
    if args.action not in (None, "show"):  # `presets NAME` is `presets show NAME`
        if args.name:
            raise ConfigError(f"presets: unknown action {args.action!r}; allowed: show NAME (or just NAME)")
        args.action, args.name = "show", args.action
    if args.action == "show":
        if not args.name:
            raise ConfigError("presets show: name a preset, e.g. `tui-trainer presets show digits-cnn`")
        _show_preset(console, args.name)
        return 0
    _list_presets(console)
    return 0


def _show_preset(console: Console, name: str) -> None:
    """The preset's config as TOML, under a comment that says where it comes from."""
    config = presets.load(name)
    entry = presets.available().get(name)
    where = f" ({entry.source}: {entry.path})" if entry else ""
    console.print(f"# {config.name}{where}", markup=False)
    console.print(config.to_toml(), markup=False, soft_wrap=True)


def _list_presets(console: Console) -> None:
    # A list, not a table: the descriptions are paragraphs, and a seven-column table at 80
    # columns wrapped them one word per line beside columns cut to "…".
    console.print(Text("Presets (`tui-trainer presets NAME` prints one)", style="bold"))
    for name, entry in presets.available().items():
        head = Text(name, style="bold")
        if name == presets.DEFAULT_PRESET:
            head.append(" (default)")
        if entry.source != "built-in":
            head.append(f"  {entry.source}: {entry.path}", style="dim")
        try:
            c = presets.load_file(entry.path, name)
        except Exception as exc:  # noqa: BLE001 - a broken user preset must not hide the others
            console.print(head)
            console.print(Padding(Text(f"invalid: {exc}", style="red"), (0, 0, 0, 2)))
            continue
        head.append("  " + " · ".join(_preset_facts(c)), style="cyan")
        console.print(head)
        if c.meta.description:
            console.print(Padding(Text(c.meta.description), (0, 0, 0, 2)))  # Text: no markup
    console.print(f"User presets folder: {paths.user_presets_dir()}", markup=False)


def _preset_facts(c: RunConfig) -> list[str]:
    """The facts on a preset's line: model, data, epochs and the accuracies it names."""
    facts = [c.model.arch, c.data.dataset, fmt.plural(c.train.epochs, "epoch")]
    if c.meta.reported_acc is not None:
        facts.append(f"reported {fmt.pct(c.meta.reported_acc)}")
    if c.meta.target_acc is not None:
        facts.append(f"target {fmt.pct(c.meta.target_acc)}")
    return facts


def cmd_runs(args: argparse.Namespace) -> int:
    runs_dir = args.runs_dir or paths.runs_dir()
    if runs_dir.is_file():
        raise ConfigError(f"runs folder {runs_dir}: it is a file, not a folder of runs")
    found = _chosen_runs(list_runs(runs_dir), args, runs_dir)
    if args.json:
        import json

        print(json.dumps([r.to_json() for r in found], indent=1))
        return 0
    console = _console()
    if not found:
        missing = "" if runs_dir.is_dir() else " (the folder does not exist yet)"
        some = " of that status and preset" if args.status or args.preset else ""
        console.print(f"No runs{some} in {runs_dir}{missing}; start one with `tui-trainer train`", markup=False)
        return 0
    columns = _runs_columns(found, console.width >= 110)
    # collapse_padding: one space between columns, not two, so that an id of 42 characters,
    # the status, epochs, best (accuracy, as the runs screen heads it) and resume fit 80 columns.
    table = Table(title=Text(f"Runs in {runs_dir}"), title_justify="left", collapse_padding=True)
    for col in columns:
        right = col in ("epochs", "best", "devices", "time")
        # The status alone may wrap: a failure's reason is long, and every other cell is whole.
        table.add_column(col, no_wrap=col != "status", justify="right" if right else "left")
    for r in found:
        table.add_row(*(_runs_cells(r)[c] for c in columns))
    console.print(table)
    return 0


def _chosen_runs(found: list[RunSummary], args: argparse.Namespace, runs_dir: Path) -> list[RunSummary]:
    """--status and --preset keep some runs, --sort orders them; a value they cannot take
    is bad input, said with the values they can."""
    if args.sort is not None and args.sort not in SORTS:
        raise ConfigError(f"--sort {args.sort}: no such column; choose one of {one_of(SORTS)}")
    statuses = ("live", *STATUS_SHOWN)
    if args.status is not None and args.status not in statuses:
        raise ConfigError(f"--status {args.status}: no such status; choose one of {one_of(statuses)}")
    presets_there = sorted({r.preset for r in found})
    if args.preset is not None and found and args.preset not in presets_there:
        raise ConfigError(
            f"--preset {args.preset}: no run in {runs_dir} is of it; its runs' presets: {one_of(presets_there)}"
        )
    chosen = filter_runs(found, args.status, args.preset)
    return sort_runs(chosen, args.sort) if args.sort else chosen


def _runs_columns(found: list[RunSummary], wide: bool) -> list[str]:
    """What tells runs apart first; at 80 columns the table had room for the id alone (the
    rest was "…"). A run id starts with its date and time and ends with its preset, so
    the preset only comes when an id does not say it, the times on a wide terminal."""
    show_preset = any(not r.id.endswith(r.preset) for r in found)
    show_devices = wide or any(r.world_size > 1 for r in found)  # processes, one a GPU
    show_at = any(_mid_epoch(r) for r in found)  # where a stopped or paused run is inside an epoch
    return [
        "id",
        "status",
        "epochs",
        *(["at"] if show_at else []),
        "best",
        "resume",
        *(["devices"] if show_devices else []),
        *(["preset"] if show_preset else []),
        *(["time", "started"] if wide else []),
    ]


def _runs_cells(r: RunSummary) -> dict[str, str | Text]:
    return {
        # Text, not str: rich reads a str as markup, and a folder may be named "[red]x".
        "id": Text(r.id),
        "status": Text(status_text(r), style=STATUS_COLORS.get(r.status, "white")),
        "epochs": f"{r.epoch}/{r.epochs}",
        "best": fmt.pct(r.best_acc) if r.best_acc is not None else "",
        "resume": "yes" if r.resumable else "no",
        "devices": str(r.world_size),
        "preset": Text(r.preset),
        "at": fmt.position(**_mid_epoch(r)) if _mid_epoch(r) else "",
        "time": fmt.run_time(r.train_seconds, r.wall_seconds),
        "started": dt.datetime.fromtimestamp(r.started).strftime("%Y-%m-%d %H:%M") if r.started else "",
    }


def _mid_epoch(r: RunSummary) -> dict[str, int]:
    """The position of a run that stands inside an epoch, as format.position's arguments; {} if none."""
    p = r.position
    if not p or p["epoch_step"] >= p["epoch_steps"]:
        return {}
    return {"epoch": p["epoch"], "epoch_step": p["epoch_step"], "epoch_steps": p["epoch_steps"]}


def cmd_eval(args: argparse.Namespace) -> int:
    from ..engine.device import resolve_device
    from ..evaluate import evaluate_checkpoint

    resolve_device(args.device, what="--device")  # a typo is said before a checkpoint is looked for
    overrides = list(args.overrides) + shorthand_overrides(data_root=args.data_root)
    target = checkpoint_or_run(args.checkpoint, args.runs_dir or paths.runs_dir())
    result = evaluate_checkpoint(target, overrides, device=args.device)
    if args.json:
        import json

        print(json.dumps(result.to_json(), indent=1))
        return 0
    console = _console()
    # The path on a line of its own: as the table's title it wrapped at the table's width.
    console.print(f"{result.checkpoint} ({result.where()})", markup=False, highlight=False, soft_wrap=True)
    table = Table()
    for col in ("class", "correct", "total", "accuracy"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for c in result.classes:
        table.add_row(Text(c.name), fmt.number(c.correct), fmt.number(c.total), fmt.pct(c.acc))
    console.print(table)
    console.print(f"test accuracy {fmt.pct(result.acc)}  test loss {fmt.loss(result.loss)}", markup=False)
    _print_worst_confusions(console, result)
    return 0


def _print_worst_confusions(console: Console, result: EvalResult) -> None:
    """The largest off-diagonal cells of the confusion matrix: what the per-class table
    cannot say (which class a class is taken for); the matrix itself is in --json."""
    worst = result.worst_confusions()
    if not worst:
        console.print("no test image misclassified", markup=False)
        return
    table = Table(title=Text("Worst confusions"), title_justify="left")
    for col in ("true", "predicted", "count", "of the true class"):
        table.add_column(col, justify="right" if col in ("count", "of the true class") else "left")
    for c in worst:
        table.add_row(Text(c.true), Text(c.predicted), fmt.number(c.count), fmt.pct(c.share))
    console.print(table)


def bench_loops(variants: tuple[str, ...]) -> dict[str, Loop]:
    """Each variant's measuring function: the core's own, and the app's leg, which the
    core bench cannot import (textual is imported only when the app variant is asked for)."""
    from ..bench import CORE_LOOPS

    loops: dict[str, Loop] = dict(CORE_LOOPS)
    if "app" in variants:
        from ..app.bench import app_loop

        loops["app"] = app_loop
    return {v: loops[v] for v in variants}


def cmd_export(args: argparse.Namespace) -> int:
    from ..trackers.export import export

    run = find_run(args.run, args.runs_dir or paths.runs_dir())
    out, names = export(run, args.to, args.out)
    line = f"{run.id}: {', '.join(names)} in {out}"
    if args.to == "wandb" and names:
        line += f"; upload it with `wandb sync {os.path.join(out, names[0])}`"
    print(line)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import json

    from ..bench import run_bench

    _check_bench_counts(args)
    variants = _bench_variants(args)
    config = presets.load(args.preset).with_overrides(
        list(args.overrides) + shorthand_overrides(device=args.device, data_root=args.data_root, devices=args.devices)
    )
    variants, rank_plan = _bench_rank_plan(config, variants, args.devices)
    err = Console(stderr=True, highlight=False)
    result = run_bench(
        config,
        bench_loops(variants),
        args.steps,
        args.warmup,
        args.rounds,
        progress=(lambda s: None) if args.json else (lambda s: err.print(Text(s, style="dim"))),
        processes=rank_plan.processes if rank_plan else None,
    )
    if args.json:
        print(json.dumps(result.to_json()))
        return 0
    _print_bench(result, variants, rank_plan)
    return 0


def _check_bench_counts(args: argparse.Namespace) -> None:
    for name in ("steps", "rounds"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name}: {getattr(args, name)} is out of range; allowed: >= 1")
    if args.warmup < 0:
        raise ConfigError(f"--warmup: {args.warmup} is out of range; allowed: >= 0")


def _bench_variants(args: argparse.Namespace) -> tuple[str, ...]:
    """The variants --only names; without it all three, or with --devices the engine alone."""
    from ..bench import VARIANTS

    if not args.only:
        return VARIANTS if args.devices is None else ("engine",)
    variants = tuple(v.strip() for v in args.only.split(",") if v.strip())
    bad = [v for v in variants if v not in VARIANTS]
    if not variants:
        raise ConfigError(f"--only {args.only!r}: no variant named; allowed: plain, engine, app (commas between)")
    if bad:
        raise ConfigError(f"--only: unknown variant {bad[0]!r}; allowed: plain, engine, app")
    return variants


def _bench_rank_plan(
    config: RunConfig, variants: tuple[str, ...], devices: str | None
) -> tuple[tuple[str, ...], Plan | None]:
    """With --devices: the variants plus the engine in those processes, and their plan."""
    if devices is None:
        return variants, None
    from ..bench import DEVICES
    from .launcher import plan

    if "engine" not in variants:
        raise ConfigError("--devices: add engine to --only (the efficiency is over the engine in one process)")
    rank_plan = plan(config)  # train's one-line errors, before any measurement
    return (*variants, DEVICES), rank_plan


def _print_bench(result: BenchResult, variants: tuple[str, ...], rank_plan: Plan | None) -> None:
    console = _console()
    console.print(
        f"{result.preset} on {result.device_name}, batch {result.batch_size}, "  # not a title: see eval
        f"{fmt.plural(result.steps, 'step')} x {fmt.plural(result.rounds, 'round')} (median)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    console.print(_bench_table(result, variants, rank_plan))
    ratios = result.ratios()
    if "engine_vs_plain" in ratios:
        console.print(f"b/a engine vs plain: {fmt.ratio(ratios['engine_vs_plain'])}", markup=False)
    if "app_vs_engine" in ratios:
        console.print(f"c/b app vs engine:   {fmt.ratio(ratios['app_vs_engine'])}", markup=False)
    if "scaling_efficiency" in ratios:
        n = result.processes
        console.print(
            f"scaling efficiency: {ratios['scaling_efficiency']:.2f} (img/s at {n} / ({n} x img/s at 1))", markup=False
        )


def _bench_table(result: BenchResult, variants: tuple[str, ...], rank_plan: Plan | None) -> Table:
    """One row a variant: its median images/s and each round's."""
    from ..bench import DEVICES

    table = Table()
    for col in ("variant", "images/s", "rounds"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    # The letters are the ratios' (b/a, c/b) below the table.
    labels = {
        "plain": "a  plain PyTorch loop (tutorial style)",
        "engine": "b  tui-trainer engine, headless",
        "app": "c  tui-trainer engine + app",
        DEVICES: f"b{rank_plan.processes} tui-trainer engine, {rank_plan.what}" if rank_plan else "",
    }
    for v in variants:
        table.add_row(labels[v], fmt.rate(result.images_per_s[v]), ", ".join(fmt.rate(x) for x in result.samples[v]))
    return table


def cmd_control(args: argparse.Namespace) -> int:
    from .detach import send_and_wait

    run = find_run(args.run, args.runs_dir or paths.runs_dir())
    ack = send_and_wait(run, args.action, args.timeout)
    if ack is None:
        print(
            f"sent {args.action} to run {run.id}; no acknowledgement within {fmt.seconds(args.timeout)}",
            file=sys.stderr,
        )
        return 1
    print(f"run {run.id}: {args.action} acknowledged")
    return 0
