"""Lookahead weight averaging, as airbench94 trains with it.

From epoch ``start`` on, every ``every`` steps, a running average of the weights (and
of the float buffers, the BatchNorm statistics) moves toward the model's current
weights, and the model is then set to the average: training continues from the
averaged point (Zhang et al.'s Lookahead). The average's decay grows as the cube of
training progress, ``rho = decay**every * (step / total)**3``: early on the average
follows the model almost exactly, at the end it averages strongly. At the end of each
epoch the model is set to the average once more, so evaluation and checkpoints see it.

Unlike an EMA kept beside the model, this changes the training trajectory; the run's
checkpoints carry the average so that a resume continues it exactly.
"""

from __future__ import annotations

import torch
from torch import nn

POWER = 3.0  # airbench: the decay's warm-up over training, (step / total) ** 3


class Lookahead:
    def __init__(self, decay: float, every: int, start_epoch: int, total_steps: int) -> None:
        self.decay, self.every, self.start_epoch = decay, every, start_epoch
        self.total_steps = max(1, total_steps)
        self.average: dict[str, torch.Tensor] | None = None
        self._live: dict[str, torch.Tensor] | None = None  # the model's float tensors (views, not copies)

    def _float_state(self, model: nn.Module) -> dict[str, torch.Tensor]:
        if self._live is None:
            # state_dict() tensors share storage with the parameters and buffers, which
            # training updates in place: taken once, they stay the model's own.
            self._live = {k: v for k, v in model.state_dict().items() if v.is_floating_point()}
        return self._live

    @torch.no_grad()
    def after_step(self, model: nn.Module, step: int, epoch: int) -> None:
        """Called after every optimizer step: ``step`` counts steps done in the whole
        run, ``epoch`` is the index (from 0) of the epoch being trained."""
        if epoch < self.start_epoch or step % self.every:
            return
        live = self._float_state(model)
        if self.average is None:
            self.average = {k: v.detach().clone() for k, v in live.items()}
            return
        rho = self.decay**self.every * min(1.0, step / self.total_steps) ** POWER
        self._pull(live, rho)

    @torch.no_grad()
    def end_epoch(self, model: nn.Module) -> None:
        """Set the model to the average (once averaging has started)."""
        if self.average is not None:
            self._pull(self._float_state(model), 1.0)

    def _pull(self, live: dict[str, torch.Tensor], rho: float) -> None:
        assert self.average is not None  # pulled only once averaging has started
        for key, param in live.items():
            avg = self.average[key]
            avg.lerp_(param, 1 - rho)
            param.copy_(avg)

    def state_dict(self) -> dict[str, torch.Tensor] | None:
        return self.average

    def load_state_dict(self, state: dict[str, torch.Tensor] | None, device: torch.device) -> None:
        self.average = None if state is None else {k: v.to(device) for k, v in state.items()}
