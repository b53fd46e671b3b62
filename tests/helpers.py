"""Small builders shared by the engine, checkpoint and CLI tests."""

from __future__ import annotations

from tui_trainer import events as ev
from tui_trainer.config import RunConfig


def tiny_config(**sections) -> RunConfig:
    """A config that trains in well under a second per epoch on the CPU (synthetic data)."""
    data = {
        "model": {"arch": "small_cnn", "widths": [8, 16], "hidden": 32},
        "data": {"dataset": "synthetic", "synthetic_size": 256, "synthetic_image": 16, "synthetic_classes": 4,
                 "batch_size": 32, "augment": ["crop", "hflip"], "crop_padding": 2},
        "optim": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
        "schedule": {"name": "cosine"},
        "train": {"epochs": 2, "device": "cpu", "seed": 1, "precision": "fp32"},
        "checkpoint": {"every": 1, "keep_last": 2, "keep_best": 1},
    }
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return RunConfig.from_dict(data, name="tiny")


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
