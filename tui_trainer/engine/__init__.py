"""The training engine: runs a config, emits events, obeys controls. No UI here."""

from .trainer import Trainer, TrainingDiverged

__all__ = ["Trainer", "TrainingDiverged"]
