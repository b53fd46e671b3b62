"""An epoch's running training loss and accuracy (and the window's gradient norm), kept
on the training device.

The step path must not wait for the device (no readback per step), and on a GPU every
small op is a kernel launch that costs host time: keeping running sums with ``+=`` and
checking the loss for NaN with ``torch.where`` took ten launches a step, as many as a
small net's whole forward pass. So a step only writes two numbers into slots of device
buffers (the batch's loss x n, and its correct count: four ops with the argmax) and
keeps its gradient norm's tensor in a list (no op: stacked when folded); sums, the window's means and the first non-finite step are worked out when
the engine reads back (a few times a second) or, with device ops only, when the buffers
fill. The gradient norm a Step reports is the mean over the window's steps whose norm
was finite (fp16's scaler skips a step whose gradients overflowed: its inf is left out).

With several ranks each keeps the sums of its own images, and the readbacks are where
they are all-reduced (every rank reads back at the same step: :mod:`.distributed`), so
the figures are the global ones. A mid-epoch checkpoint's carried totals are global:
rank 0 alone starts from them.
"""

from __future__ import annotations

import torch

from .distributed import SOLO, World

_NONE = 2**62  # "no non-finite step" in the all-reduced minimum


class StepTotals:
    """Loss and accuracy sums over an epoch and over the window since the last readback.

    ``loss_sum``, ``correct`` and ``seen`` carry totals over from a mid-epoch checkpoint;
    ``step`` is the global step before the first :meth:`add` (non-finite losses are
    reported by the global step, counted from 1, that produced them)."""

    def __init__(
        self,
        device: torch.device,
        loss_sum: float = 0.0,
        correct: float = 0.0,
        seen: int = 0,
        step: int = 0,
        capacity: int = 256,
        world: World = SOLO,
    ):
        if not world.main:  # the carried totals are the whole run's: counted once, by rank 0
            loss_sum, correct, seen = 0.0, 0.0, 0
        self.world = world
        self.capacity = capacity
        self._loss = torch.zeros(capacity, device=device)  # loss x n of each step since the last fold
        self._correct = torch.zeros(capacity, dtype=torch.int64, device=device)
        self._norms: list[torch.Tensor] = []  # the gradient norms (0-d) of the steps since the last fold
        self._k = 0  # slots in use
        self._first_step = step + 1  # the global step of slot 0
        self._epoch_loss = torch.tensor(float(loss_sum), device=device)
        self._epoch_correct = torch.tensor(float(correct), device=device)
        self._window_loss = torch.zeros((), device=device)
        self._window_grad = torch.zeros((), dtype=torch.float64, device=device)  # finite norms' sum
        self._window_grad_n = torch.zeros((), dtype=torch.float64, device=device)  # and count
        self._nonfinite_at = torch.full((), -1, dtype=torch.int64, device=device)
        self.seen = seen  # images this epoch (host count: batch sizes are known on the host)
        self.window_n = 0  # images since the last window_mean()

    def add(
        self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor, grad_norm: torch.Tensor | None = None
    ) -> None:
        """Record one step: its mean loss, the logits, the labels and the gradient norm
        (None: not known, left out of the mean). Device ops only."""
        if self._k == self.capacity:
            self._fold()
        n = int(y.shape[0])
        torch.mul(loss.detach(), n, out=self._loss[self._k])
        torch.sum(logits.detach().argmax(1) == y, dim=0, out=self._correct[self._k])
        if grad_norm is not None:
            self._norms.append(grad_norm.detach())
        self._k += 1
        self.seen += n
        self.window_n += n

    def _fold(self) -> None:
        """Move the buffered steps into the running sums (device ops only; a few per fold)."""
        k = self._k
        if k == 0:
            return
        losses = self._loss[:k]
        total = losses.sum()
        self._epoch_loss += total
        self._window_loss += total
        self._epoch_correct += self._correct[:k].sum()
        if self._norms:
            norms = torch.stack(self._norms).double()
            finite = torch.isfinite(norms)
            self._window_grad += torch.where(finite, norms, 0.0).sum()
            self._window_grad_n += finite.sum()
            self._norms.clear()
        bad = ~torch.isfinite(losses)
        # The first non-finite slot of this fold (argmax finds the first True), kept only
        # if no earlier fold saw one.
        first = torch.where(bad.any(), self._first_step + bad.float().argmax(), -1)
        self._nonfinite_at = torch.where(self._nonfinite_at < 0, first, self._nonfinite_at)
        self._first_step += k
        self._k = 0

    # -- readbacks: each waits for the device --------------------------------------------
    def window(self) -> tuple[float, float | None]:
        """The mean loss (per image) and gradient norm (per step; None if no step had a
        finite one) since the last call, and a new window: one readback for both."""
        self._fold()
        n_images = torch.tensor(float(self.window_n), dtype=torch.float64, device=self._loss.device)
        sums = torch.stack([self._window_loss.double(), n_images, self._window_grad, self._window_grad_n])
        if self.world.distributed:
            # DDP averaged the gradients, so every rank's norm is the same: summed over
            # the ranks with their counts, the mean is that norm.
            sums = self.world.all_sum(sums)
        loss, n, grad, grad_n = sums.tolist()
        self._window_loss.zero_()
        self._window_grad.zero_()
        self._window_grad_n.zero_()
        self.window_n = 0
        return loss / max(1, int(n)), (grad / grad_n if grad_n else None)

    def window_mean(self) -> float:
        """The mean loss since the last call (per image), and a new window."""
        return self.window()[0]

    def nonfinite_step(self) -> int:
        """The global step whose loss was first NaN or infinite this epoch (on any rank), or -1."""
        self._fold()
        if not self.world.distributed:
            return int(self._nonfinite_at.item())
        at = torch.where(self._nonfinite_at < 0, _NONE, self._nonfinite_at)
        first = int(self.world.all_min(at.reshape(1)).item())
        return -1 if first == _NONE else first

    def epoch_totals(self) -> tuple[float, float, int]:
        """``(loss sum, correct, seen)`` so far this epoch: what a mid-epoch checkpoint keeps."""
        self._fold()
        if not self.world.distributed:
            return self._epoch_loss.item(), self._epoch_correct.item(), self.seen
        seen = torch.tensor(float(self.seen), dtype=torch.float64, device=self._loss.device)
        loss, correct, n = self.world.all_sum(
            torch.stack([self._epoch_loss.double(), self._epoch_correct.double(), seen])
        ).tolist()
        return loss, correct, int(n)
