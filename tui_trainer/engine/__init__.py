"""The training engine: runs a config, emits events, obeys controls. No UI here.

See :mod:`.trainer` for how its modules fit together."""

from .failures import TrainingDiverged
from .trainer import Trainer

__all__ = ["Trainer", "TrainingDiverged"]
