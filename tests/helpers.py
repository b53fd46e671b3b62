"""Small builders shared by the engine, checkpoint and CLI tests."""

from __future__ import annotations

from tui_trainer import events as ev
from tui_trainer.config import RunConfig
from tui_trainer.engine import Trainer
from tui_trainer.runs import Run


def tiny_config(**sections) -> RunConfig:
    """A config that trains in well under a second per epoch on the CPU (synthetic data)."""
    data = {
        "model": {"arch": "small_cnn", "widths": [8, 16], "hidden": 32},
        "data": {
            "dataset": "synthetic",
            "synthetic_size": 256,
            "synthetic_image": 16,
            "synthetic_classes": 4,
            "batch_size": 32,
            "augment": ["crop", "hflip"],
            "crop_padding": 2,
        },
        "optim": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
        "schedule": {"name": "cosine"},
        "train": {"epochs": 2, "device": "cpu", "seed": 1, "precision": "fp32"},
        "checkpoint": {"every": 1, "keep_last": 2, "keep_best": 1},
    }
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return RunConfig.from_dict(data, name="tiny")


def speedrun_config(**sections) -> RunConfig:
    """A tiny airbench-style run: the speedrun net on 16x16 synthetic images."""
    base = {
        "data": {"crop_fill": "reflect", "flip_mode": "alternate"},
        "optim": {
            "name": "sgd",
            "lr": 0.2,
            "momentum": 0.85,
            "nesterov": True,
            "weight_decay": 5e-4,
            "norm_lr_scale": 8.0,
        },
        "schedule": {"name": "linear", "warmup_epochs": 0.5, "warmup_start": 0.2, "final_lr_ratio": 0.07},
        "train": {
            "epochs": 3,
            "label_smoothing": 0.2,
            "lookahead": 0.95,
            "lookahead_every": 2,
            "lookahead_start": 0,
            "tta_flip": True,
            "tta_translate": True,
        },
    }
    for section, values in sections.items():
        base.setdefault(section, {}).update(values)
    model = ["model.arch=speedrun", "model.widths=[8, 16, 16]", "model.whiten_width=12", "model.whiten_bias_epochs=1"]
    return tiny_config(**base).with_overrides(model)


def run_started(**fields) -> ev.RunStarted:
    """A RunStarted for tests that feed events by hand; ``fields`` replace the defaults."""
    values = dict(
        run_id="20261203-000000-tiny",
        run_dir="",
        preset="tiny",
        config={},
        model_summary="",
        param_count=1000,
        device="cpu",
        device_name="CPU",
        precision="fp32",
        data_summary="",
        epochs=2,
        steps_per_epoch=10,
    )
    return ev.RunStarted(**{**values, **fields})


class Collector:
    """A subscriber that keeps every event."""

    def __init__(self):
        self.events: list[ev.Event] = []

    def __call__(self, event: ev.Event) -> None:
        self.events.append(event)

    def of(self, cls):
        return [e for e in self.events if isinstance(e, cls)]

    @property
    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


# -- training a tiny run in a test -------------------------------------------------------


def run_tiny(runs_dir, config=None, resume=None, run=None, **kw):
    config = config or tiny_config()
    run = run or Run.create(runs_dir, config)
    col = Collector()
    trainer = Trainer(config, run=run, resume=resume, subscribers=[run.recorder(), col], **kw)
    end = trainer.run()
    return trainer, run, col, end


def stop_when(trainer_box: dict, predicate):
    """A subscriber that stops the run (from inside the engine thread) once predicate(event) holds."""

    def subscriber(event):
        if predicate(event) and not trainer_box.get("stopped"):
            trainer_box["stopped"] = True
            trainer_box["trainer"].stop("test")

    return subscriber


def run_until_step(runs_dir, config, step: int):
    """Train ``config`` in a new run folder and stop it (from the engine thread) once a
    Step event reports ``step``; returns the run and its end event."""
    run = Run.create(runs_dir, config)
    box = {}
    trainer = Trainer(
        config,
        run=run,
        subscribers=[run.recorder(), stop_when(box, lambda e: isinstance(e, ev.Step) and e.step >= step)],
    )
    box["trainer"] = trainer
    return run, trainer.run()


# -- deterministic inputs for the app's tests and snapshots -------------------------------

T0 = 1_700_000_000.0  # fixed event times: the dashboard's ETA and elapsed derive from them


def demo_events(
    epochs_done: int = 3,
    epochs: int = 8,
    batches: int = 40,
    mid_epoch_batch: int = 24,
    run_id: str = "20240101-120000-demo",
    preset: str = "resnet-small-cifar10",
) -> list[ev.Event]:
    """A synthetic run, ``epochs_done`` epochs in and part-way through the next: every
    kind of event a dashboard renders, with fixed values and timestamps."""
    import math

    out: list[ev.Event] = []
    t = T0

    def at(dt: float) -> float:
        nonlocal t
        t += dt
        return t

    out.append(ev.Log(message="Loading cifar10 data…", time=at(0)))
    out.append(ev.Log(message="cifar10: 50,000 train / 10,000 test 32x32x3 images in 10 classes", time=at(1.5)))
    out.append(
        ev.RunStarted(
            run_id=run_id,
            run_dir=f"/runs/{run_id}",
            preset=preset,
            config={},
            model_summary="resnet",
            param_count=175_258,
            device="cuda:0",
            device_name="NVIDIA H100 80GB HBM3",
            precision="bf16",
            data_summary="cifar10",
            epochs=epochs,
            steps_per_epoch=batches,
            time=at(0.5),
        )
    )
    begun = t  # the run's wall time counts from its start; its training time is most of it
    step = 0
    best = None
    for epoch in range(1, epochs_done + 2):
        last_batch = batches if epoch <= epochs_done else mid_epoch_batch
        for batch in range(4, last_batch + 1, 4):
            step = (epoch - 1) * batches + batch
            wiggle = 0.08 * math.sin(step / 3.0)
            loss = 2.3 * math.exp(-step / 70) + 0.25 + wiggle
            lr = 0.1 * 0.5 * (1 + math.cos(math.pi * step / (epochs * batches)))
            out.append(
                ev.Step(
                    epoch=epoch,
                    step=step,
                    batch=batch,
                    batches=batches,
                    loss=loss,
                    lr=lr,
                    images_per_s=25_600.0 + 100 * (batch % 3),
                    time=at(0.25),
                    train_seconds=0.85 * (t - begun),
                    wall_seconds=t - begun,
                )
            )
        if epoch > epochs_done:
            break
        test_acc = [62.41, 71.85, 70.12, 78.3, 81.0, 83.2, 84.1, 85.0][epoch - 1]
        is_best = best is None or test_acc > best
        best = test_acc if is_best else best
        out.append(
            ev.EpochEnd(
                epoch=epoch,
                epochs=epochs,
                step=step,
                train_loss=1.45 / epoch + 0.2,
                train_acc=48.0 + 9.5 * epoch,
                test_loss=1.2 / epoch + 0.35,
                test_acc=test_acc,
                lr=0.1 * 0.5 * (1 + math.cos(math.pi * epoch / epochs)),
                seconds=2.75,
                images_per_s=25_432.0,
                best=is_best,
                time=at(0.25),
                train_seconds=0.85 * (t - begun),
                wall_seconds=t - begun,
            )
        )
        name = f"epoch_{epoch:03d}_acc_{test_acc:.2f}.pt"
        out.append(
            ev.CheckpointSaved(
                path=f"/runs/{run_id}/checkpoints/{name}",
                epoch=epoch,
                step=step,
                test_acc=test_acc,
                size=1_412_345,
                best=is_best,
                time=at(0.1),
                epoch_step=batches,
                epoch_steps=batches,
            )
        )
        if epoch == 3:
            out.append(ev.CheckpointRemoved(path=f"/runs/{run_id}/checkpoints/epoch_001_acc_62.41.pt", time=at(0)))
    out.append(ev.Log(message="epoch 3: test accuracy fell from 71.85% to 70.12%", level="warning", time=at(0.1)))
    return out


def write_run_folder(
    runs_dir, run_id: str, preset: str, status: str, accs: list[float], epochs: int, config: dict | None = None
):
    """A finished/stopped/failed run folder written from fixed data (no training); returns its path.
    ``config``: config.json's sections beside its preset (an older folder's has none)."""
    import json
    from pathlib import Path

    folder = Path(runs_dir) / run_id
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    events = [run_started(run_id=run_id, run_dir=str(folder), preset=preset, epochs=epochs, time=T0)]
    for i, acc in enumerate(accs, 1):
        events.append(
            ev.EpochEnd(
                epoch=i,
                epochs=epochs,
                step=10 * i,
                train_loss=2.0 / i,
                train_acc=acc - 3,
                test_loss=1.8 / i,
                test_acc=acc,
                lr=0.01,
                seconds=1.0,
                images_per_s=1000.0,
                best=acc == max(accs[:i]),
                time=T0 + i,
            )
        )
    (folder / "events.jsonl").write_text("".join(json.dumps(e.to_dict()) + "\n" for e in events))
    state = {
        "status": status,
        "preset": preset,
        "epochs": epochs,
        "epoch": len(accs),
        "best_acc": max(accs) if accs else None,
        "started": T0,
    }
    (folder / "status.json").write_text(json.dumps(state))
    (folder / "config.json").write_text(json.dumps({"preset": preset, **(config or {})}))
    return folder
