"""Batches straight from the training device.

:class:`DeviceData` moves the uint8 data set to the device once. A training epoch is then
one random permutation plus, drawn up front, every image's crop offsets and flip; each
batch is gathered from the resident tensor, augmented, normalised to float32 and yielded,
all as device operations: no DataLoader, no PIL, no host-device synchronisation per step.

The values come from a validated config (:mod:`tui_trainer.config`): the names of the
augmentations, fills and flip modes, the batch sizes and the normalisation are not checked
again here. What is checked is what only the images tell: their channels and their size.

All randomness comes from the generator passed to :meth:`DeviceData.train_batches`, which
must live on the data's device, and is drawn when the epoch's first batch is requested, in
a fixed order (permutation, crop offsets, flips). The generator's state before an epoch
therefore determines the whole epoch, whatever else happens between batches; saving
``generator.get_state()`` between epochs resumes exactly.

The augmentation runs on blocks of batches (about :data:`BLOCK_BYTES` of float32 images,
at least one batch), and each batch is then a slice of its block: on a GPU every op is a
kernel launch costing host time, and for a small net at a small batch the dozen ops of
gathering, cropping, flipping and normalising one batch were a third of the step's
launches. A block's images are exactly what the batch-by-batch definition gives (the
draws are the same, and every op works image by image); only the op count changes.

Alternating flips (airbench's flip scheme) are not drawn per epoch: each image gets one
random flip for epoch 0, from a generator seeded with the epoch generator's initial
seed (which its saved state carries), and every later epoch shows it the other way
round from the epoch before. Over two epochs every image is seen both ways, where random
flips show a quarter of them the same way twice.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch

from ..config import DataConfig, reflect_crop_problem, stats_problem
from ..errors import DataError
from .augment import apply_normalization, crop_at, crop_offsets, flip_mask, hflip_where, normalization
from .info import DataInfo
from .raw import ImageData, SplitSizes

_FLIP_SALT = 0x9E3779B97F4A7C15

#: The float32 size of one block of augmented batches (see the module docstring): 64 MiB
#: is 5,400 CIFAR images, 85 batches of 64, and small beside any training device's memory.
BLOCK_BYTES = 64 * 2**20


def shard_of(n: int, rank: int, ranks: int) -> tuple[int, int]:
    """Rank's contiguous part ``[lo, hi)`` of ``n`` items (the parts differ by one at most)."""
    base, extra = divmod(n, ranks)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


class DeviceData(SplitSizes):
    """The data set on the training device: uint8 tensors, moved once."""

    def __init__(self, data: ImageData, device: torch.device | str, cfg: DataConfig, channels_last: bool = False):
        self.device = torch.device(device)
        self.channels_last = channels_last
        self._info = data.info
        self.source = data.source
        channels = int(data.train_x.shape[1])
        # The config checks the channels of the data sets it knows; an image folder's are
        # known only now, once its images are read.
        problem = stats_problem(cfg, channels)
        if problem:
            raise DataError(problem)
        mean: tuple[float, ...] | None = None
        std: tuple[float, ...] | None = None
        if cfg.normalize == "auto":
            mean, std = tuple(data.mean), tuple(data.std)
        elif cfg.normalize == "fixed":
            mean, std = tuple(float(m) for m in cfg.mean), tuple(float(s) for s in cfg.std)
        #: The per-channel mean and std used (None with normalize = "none").
        self.mean = mean
        self.std = std
        self._scale, self._shift = normalization(mean, std, channels, self.device)

        self.train_x = data.train_x.to(self.device).contiguous()
        self.train_y = data.train_y.to(self.device, dtype=torch.int64)
        self.test_x = data.test_x.to(self.device).contiguous()
        self.test_y = data.test_y.to(self.device, dtype=torch.int64)
        self._alternate_base: tuple[int, torch.Tensor] | None = None  # (seed, epoch 0's flip of each image)
        self.block_bytes = BLOCK_BYTES

    # -- facts ------------------------------------------------------------------------
    @property
    def info(self) -> DataInfo:
        return self._info

    def steps_per_epoch(self, batch_size: int, max_steps: int = 0, ranks: int = 1) -> int:
        """``ceil(num_train / batch_size)``, capped by ``max_steps`` when it is > 0. With
        several ranks the global batch is split among them, and a last partial batch with
        fewer images than ranks is left out (a rank without an image would have no loss;
        the permutation changes each epoch, so no image is always the one left out)."""
        steps = math.ceil(self.num_train / batch_size)
        if ranks > 1 and 0 < self.num_train % batch_size < ranks:
            steps -= 1
        return min(steps, max_steps) if max_steps > 0 else steps

    # -- batches ----------------------------------------------------------------------
    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 images on the device -> normalised float32 (channels_last if asked)."""
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.mean is None:
            return x.to(torch.float32, copy=True).div_(255)
        return apply_normalization(x, self._scale, self._shift)

    def train_batches(
        self,
        batch_size: int,
        generator: torch.Generator,
        augment: Sequence[str] = (),
        padding: int = 0,
        max_steps: int = 0,
        *,
        crop_fill: str = "zero",
        flip_mode: str = "random",
        epoch: int = 0,
        start: int = 0,
        shard: tuple[int, int] = (0, 1),
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of shuffled, augmented, normalised ``(x, y)`` batches on the device.

        The last partial batch is kept. ``augment`` may hold "crop" (padding ``padding``
        filled as ``crop_fill``, off when 0) and "hflip" (``flip_mode`` "random": each
        image with probability 1/2; "alternate": see the module's docstring, for which
        ``epoch`` counts from 0). ``start`` skips the epoch's first batches without
        augmenting them (a mid-epoch resume): the draws, and so the batches after, are
        those of the whole epoch. ``shard`` is ``(rank, ranks)`` of a distributed run: every
        rank draws the same permutation and augmentations (the same generator state) and
        takes its contiguous part of each global batch of ``batch_size``."""
        # The config checks this for the data sets whose image size it knows; an image
        # folder's is known only now.
        problem = reflect_crop_problem(augment, padding, crop_fill, int(min(self.train_x.shape[-2:])))
        if problem:
            raise DataError(problem)
        crop = "crop" in augment and padding > 0
        if generator.device.type != self.device.type:
            raise ValueError(
                f"the generator is on {generator.device} but the data is on {self.device}; "
                f"make it with torch.Generator(device=...)"
            )
        steps = self.steps_per_epoch(batch_size, max_steps, shard[1])
        if not 0 <= start <= steps:
            raise ValueError(f"start must be in [0, {steps}], got {start}")
        flip = None if "hflip" not in augment else (flip_mode, epoch)
        return self._train_batches(batch_size, generator, crop, crop_fill, flip, padding, steps, start, shard)

    def _train_batches(
        self,
        batch_size: int,
        generator: torch.Generator,
        crop: bool,
        crop_fill: str,
        flip: tuple[str, int] | None,
        padding: int,
        steps: int,
        start: int,
        shard: tuple[int, int],
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = self.num_train
        perm = torch.randperm(n, generator=generator, device=self.device)
        offsets = crop_offsets(n, padding, generator, self.device) if crop else None
        flips = None
        if flip is not None:
            mode, epoch = flip
            if mode == "random":
                flips = flip_mask(n, generator, self.device)
            else:  # alternate: the batch slots' images, flipped the other way each epoch
                flips = self._alternate_flips(generator.initial_seed())[perm] ^ (epoch % 2 == 1)
        image_bytes = 4 * self.train_x[0].numel()
        per_block = max(1, self.block_bytes // (image_bytes * batch_size))
        end = min(n, steps * batch_size)  # the epoch's images (fewer when max_steps caps it)
        for first in range(start, steps, per_block):
            batches = range(first, min(steps, first + per_block))
            if shard[1] == 1:  # images [lo, hi) of the epoch's order: a slice, no index op
                lo, hi = first * batch_size, min(end, batches[-1] * batch_size + batch_size)
                where: slice | torch.Tensor = slice(lo, hi)
                sizes = [min(batch_size, hi - b) for b in range(lo, hi, batch_size)]
            else:
                where, sizes = self._rank_positions(batches, batch_size, end, shard)
            idx = perm[where]
            x = self.train_x[idx]
            if offsets is not None:
                x = crop_at(x, padding, offsets[where], crop_fill)
            if flips is not None:
                x = hflip_where(x, flips[where])
            x, y = self.prepare(x), self.train_y[idx]
            b = 0
            for size in sizes:
                yield x[b : b + size], y[b : b + size]  # views: no op per batch
                b += size

    def _rank_positions(
        self, batches: range, batch_size: int, end: int, shard: tuple[int, int]
    ) -> tuple[torch.Tensor, list[int]]:
        """The epoch-order positions of this rank's part of each of ``batches``, and its
        batch sizes: global batch k is positions [k*B, (k+1)*B), cut into ``ranks``
        contiguous parts that differ by one image at most."""
        parts, sizes = [], []
        for k in batches:
            lo = k * batch_size
            a, b = shard_of(min(end, lo + batch_size) - lo, *shard)
            parts.append(torch.arange(lo + a, lo + b))
            sizes.append(b - a)
        return torch.cat(parts).to(self.device), sizes

    def _alternate_flips(self, seed: int) -> torch.Tensor:
        """``[num_train]`` bool: each image's flip in epoch 0 of the alternating scheme."""
        if self._alternate_base is None or self._alternate_base[0] != seed:
            # Salted, so the flips are not the epoch generator's own first draws.
            g = torch.Generator(device=self.device).manual_seed((seed + _FLIP_SALT) % 2**64)
            self._alternate_base = (seed, flip_mask(self.num_train, g, self.device))
        return self._alternate_base[1]

    def test_batches(
        self, batch_size: int, shard: tuple[int, int] = (0, 1)
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The test set in order, normalised, without augmentation; with ``shard``
        ``(rank, ranks)``, the rank's contiguous part of it (sizes differ by one at most)."""
        first, last = shard_of(self.num_test, *shard)
        for lo in range(first, last, batch_size):
            hi = min(last, lo + batch_size)
            yield self.prepare(self.test_x[lo:hi]), self.test_y[lo:hi]
