"""The airbench94 network (Keller Jordan, "94% on CIFAR-10 in 3.29 seconds", 2024).

A 2x2 conv whose filters are fixed to whiten the data's 2x2 patches (computed from
the training images by :meth:`SpeedrunNet.init_whitening`), then three blocks of
(conv, max-pool, BN, GELU, conv, BN, GELU), a global max-pool and a linear layer
whose output is scaled down (by 1/9) so early logits stay small. Other airbench
details kept here: convs start as partial identities (dirac init), BN weights are
frozen at 1 and BN uses a tiny eps, and the whitening conv's bias trains for the
first ``whiten_bias_epochs`` epochs only (the engine calls :meth:`start_epoch`). The
training tricks (lr per group, label smoothing, lookahead, TTA) belong to the engine
and the preset, not the model.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.info import DataInfo
from ..errors import ConfigError
from ..schema import fmt
from .options import SpeedrunOptions

WHITEN_KERNEL = 2
BN_MOMENTUM = 0.4  # PyTorch convention; airbench writes it as 0.6 = 1 - 0.4
WHITEN_EPS = 5e-4
WHITEN_MAX_IMAGES = 5000  # airbench whitens from the first 5,000 training images


class Conv(nn.Conv2d):
    """3x3 'same' conv without bias, initialised as a partial identity (airbench)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size=3, padding=1, bias=False)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        # The first in_channels filters pass their input straight through: the block
        # starts close to the identity, which makes the very short training stable.
        w = self.weight.data
        nn.init.dirac_(w[: w.size(1)])


class BatchNorm(nn.BatchNorm2d):
    def __init__(self, num_features: int) -> None:
        super().__init__(num_features, eps=1e-12, momentum=BN_MOMENTUM)
        # Only the shift is learned: a scale right before GELU adds little (airbench).
        self.weight.requires_grad_(False)


class ConvGroup(nn.Module):
    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.conv1 = Conv(channels_in, channels_out)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = BatchNorm(channels_out)
        self.conv2 = Conv(channels_out, channels_out)
        self.norm2 = BatchNorm(channels_out)
        self.activ = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Pooling before the BN: normalising a quarter of the pixels is cheaper.
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        out: torch.Tensor = self.activ(self.norm2(self.conv2(x)))
        return out


class SpeedrunNet(nn.Module):
    def __init__(self, opts: SpeedrunOptions, info: DataInfo) -> None:
        super().__init__()
        self.opts = opts
        side = info.image_size - (WHITEN_KERNEL - 1)
        for _ in opts.widths:
            side //= 2
        if side < 1:
            raise ConfigError(
                f"model.widths: {len(opts.widths)} blocks halve a {info.image_size}x{info.image_size} image "
                f"below 1 pixel; use fewer blocks for this data"
            )
        self.whiten = nn.Conv2d(info.channels, opts.whiten_width, WHITEN_KERNEL, padding=0, bias=True)
        # The whitening filters are set from data, not learned (only their bias is).
        self.whiten.weight.requires_grad_(False)
        assert self.whiten.bias is not None  # made with bias=True
        nn.init.zeros_(self.whiten.bias)
        self.activ = nn.GELU()
        groups, width = [], opts.whiten_width
        for w in opts.widths:
            groups.append(ConvGroup(width, w))
            width = w
        self.groups = nn.Sequential(*groups)
        # airbench uses MaxPool2d(3) on the final 3x3 map of a 32x32 image: a global max.
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.head = nn.Linear(width, info.num_classes, bias=False)
        self.scale = opts.scale

    @torch.no_grad()
    def init_whitening(self, images: torch.Tensor, eps: float = WHITEN_EPS) -> None:
        """Set the first conv's filters to whiten the 2x2 patches of ``images``.

        ``images`` are normalised training images, (N, C, H, W) floats. With the patch
        covariance C = V diag(l) V^T, the filters are the eigenvectors scaled by
        1/sqrt(l + eps), strongest first, each followed later by its negation (so the
        GELU after it lets both signs through): the conv's outputs are decorrelated
        with unit variance. If ``whiten_width`` is less than twice the patch size, the
        weakest directions are dropped; extra filters beyond that are zero.
        """
        images = images[:WHITEN_MAX_IMAGES].float()
        c, k = images.shape[1], WHITEN_KERNEL
        if c != self.whiten.in_channels:
            raise ValueError(f"init_whitening: images have {c} channels, the model expects {self.whiten.in_channels}")
        dim = c * k * k
        # Accumulate the (uncentred, as in airbench) patch covariance in chunks so
        # 5,000 CIFAR images never hold all 4.8M patches in memory at once.
        cov = torch.zeros(dim, dim, dtype=torch.float64, device=images.device)
        count = 0
        for chunk in torch.split(images, 500):
            patches = patch_matrix(chunk, k).double()
            cov += patches.T @ patches
            count += patches.shape[0]
        cov /= count
        eigenvalues, eigenvectors = torch.linalg.eigh(cov)  # ascending order
        eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(1)
        filters = (eigenvectors / torch.sqrt(eigenvalues.clamp_min(0) + eps)).T  # one row per direction
        pairs = min(self.whiten.out_channels // 2, dim)
        top = filters[:pairs].reshape(pairs, c, k, k)
        weight = torch.zeros_like(self.whiten.weight, dtype=torch.float64)
        weight[:pairs] = top
        weight[pairs : 2 * pairs] = -top
        self.whiten.weight.copy_(weight.to(self.whiten.weight.dtype))

    def start_epoch(self, epoch: int) -> None:
        """Before epoch ``epoch`` (from 0): train the whitening bias only early on. It
        stays in the optimizer (it is created trainable); a parameter without a
        gradient is skipped by the step."""
        assert self.whiten.bias is not None  # made with bias=True
        self.whiten.bias.requires_grad_(epoch < self.opts.whiten_bias_epochs)

    def describe(self) -> str:
        o = self.opts
        return f"speedrun (airbench94): whiten {o.whiten_width}, blocks {fmt(o.widths)}, scale {o.scale:.4g}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.groups(self.activ(self.whiten(x)))
        logits: torch.Tensor = self.head(torch.flatten(self.pool(x), 1))
        return logits * self.scale


def patch_matrix(images: torch.Tensor, k: int) -> torch.Tensor:
    """All k x k patches (stride 1) of (N, C, H, W) images as rows of a (P, C*k*k)
    matrix, flattened in the same (C, kh, kw) order as a conv weight."""
    n, c = images.shape[:2]
    patches = images.unfold(2, k, 1).unfold(3, k, 1)  # N, C, H', W', k, k
    return patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * k * k)
