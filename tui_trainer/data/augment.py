"""Batched augmentations on uint8 image tensors ``[N, C, H, W]``, on any device.

Every random choice is drawn from an explicit ``torch.Generator`` that lives on the same
device as the images, in one call per batch: no Python loop over images, no host-device
synchronisation. The ``*_at`` / ``*_where`` variants take the random choices as tensors,
so a caller can draw a whole epoch's choices up front (see :mod:`.batches`).

Settings such as the crop's fill come from a validated config and are not checked again;
what only the images tell (their size, their channels) is.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

Stats = Sequence[float] | torch.Tensor | None


def crop_offsets(n: int, padding: int, generator: torch.Generator, device: torch.device | str) -> torch.Tensor:
    """``[n, 2]`` int64 (row, column) window offsets, uniform in ``[0, 2 * padding]``."""
    return torch.randint(0, 2 * padding + 1, (n, 2), generator=generator, device=device)


def crop_at(x: torch.Tensor, padding: int, offsets: torch.Tensor, fill: str = "zero") -> torch.Tensor:
    """Image ``i`` of the result is the ``H x W`` window at ``offsets[i]`` (row, column) of
    ``x[i]`` padded by ``padding`` on every side: with zeros (``fill="zero"``, as
    torchvision's ``RandomCrop``) or with its mirror image (``fill="reflect"``, as
    ``F.pad(mode="reflect")`` and airbench; ``padding`` must then be below the image side).
    ``fill`` is one of ``config.CROP_FILLS``: any other is taken as "zero"."""
    if padding <= 0:
        return x
    n, c, h, w = x.shape
    dev = x.device
    rows = offsets[:, 0:1] + torch.arange(h, device=dev)  # [N, H], in padded coordinates
    cols = offsets[:, 1:2] + torch.arange(w, device=dev)  # [N, W]
    if fill == "reflect":
        if padding >= min(h, w):  # the images' size: known only here
            raise ValueError(f"reflect padding {padding} needs images larger than {padding} pixels, got {h}x{w}")
        # Reflect the indices instead of padding the images: integer arithmetic and one
        # gather, so uint8 images crop the same on any device, without depending on a
        # uint8 kernel of reflection_pad2d there.
        source, rows, cols = x, _reflect(rows - padding, h), _reflect(cols - padding, w)
    else:
        source = F.pad(x, (padding, padding, padding, padding))
    return source[
        torch.arange(n, device=dev).view(n, 1, 1, 1),
        torch.arange(c, device=dev).view(1, c, 1, 1),
        rows.view(n, 1, h, 1),
        cols.view(n, 1, 1, w),
    ]


def _reflect(i: torch.Tensor, size: int) -> torch.Tensor:
    """Indices in ``[-size + 1, 2 * size - 2]`` mirrored into ``[0, size - 1]`` about the
    edge pixels (the edge itself is not repeated, as in ``mode="reflect"``)."""
    i = i.abs()
    return torch.where(i > size - 1, 2 * (size - 1) - i, i)


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator, fill: str = "zero") -> torch.Tensor:
    """Per-image random translation, as ``RandomCrop(size, padding=padding)``: same shape
    out, each image a window of its padded self (see :func:`crop_at` for ``fill``) at
    offsets drawn uniformly from ``[0, 2 * padding]`` in each direction."""
    if padding <= 0:
        return x
    return crop_at(x, padding, crop_offsets(x.shape[0], padding, generator, x.device), fill)


def flip_mask(n: int, generator: torch.Generator, device: torch.device | str, p: float = 0.5) -> torch.Tensor:
    """``[n]`` bool: which images to flip, each with probability ``p``."""
    return torch.rand(n, generator=generator, device=device) < p


def hflip_where(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mirror (left-right) the images where ``mask`` is true."""
    return torch.where(mask.view(-1, 1, 1, 1), x.flip(-1), x)


def random_hflip(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``."""
    return hflip_where(x, flip_mask(x.shape[0], generator, x.device, p))


def normalization(
    mean: Stats, std: Stats, channels: int, device: torch.device | str, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, shift)``, each ``[1, C, 1, 1]``, such that ``x * scale + shift`` equals
    ``(x / 255 - mean) / std``. Build them once and reuse them: making a tensor from a
    Python list costs a host-to-device copy."""
    m = torch.zeros(channels, dtype=torch.float64) if mean is None else torch.as_tensor(mean, dtype=torch.float64).cpu()
    s = torch.ones(channels, dtype=torch.float64) if std is None else torch.as_tensor(std, dtype=torch.float64).cpu()
    m, s = m.reshape(-1), s.reshape(-1)
    for name, t in (("mean", m), ("std", s)):
        if t.numel() not in (1, channels):
            raise ValueError(f"normalize: {name} has {t.numel()} values for {channels} channels")
    m, s = m.expand(channels), s.expand(channels)
    scale = (1.0 / (255.0 * s)).view(1, channels, 1, 1)
    shift = (-m / s).view(1, channels, 1, 1)
    return scale.to(device=device, dtype=dtype), shift.to(device=device, dtype=dtype)


def apply_normalization(
    x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """``x * scale + shift`` in ``dtype``; keeps ``x``'s memory format (channels_last)."""
    y = x.to(dtype, copy=True)
    return y.mul_(scale).add_(shift)


def normalize(
    x: torch.Tensor, mean: Stats = None, std: Stats = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """``(x / 255 - mean) / std`` per channel; with mean and std None, just ``x / 255``."""
    if mean is None and std is None:
        return x.to(dtype, copy=True).div_(255)
    scale, shift = normalization(mean, std, x.shape[1], x.device, dtype)
    return apply_normalization(x, scale, shift, dtype)
