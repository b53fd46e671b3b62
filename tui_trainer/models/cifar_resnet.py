"""CIFAR-style ResNet (He et al. 2016), sized by its options.

Unlike the ImageNet ResNet there is no 7x7 stride-2 stem and no max-pool: a 32x32
image is already small, so the stem is one 3x3 conv at stride 1 and all down-sampling
happens in the stages (``strides``). With the defaults this is a small three-stage
ResNet of basic blocks; ``block = "bottleneck"`` with ``layers = [3, 4, 6, 3]`` is
the ResNet-50 layout at CIFAR widths.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.info import DataInfo
from ..schema import fmt
from .options import ResNetOptions


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        # Convs feeding a BN need no bias: the BN's shift replaces it.
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = _shortcut(in_planes, planes * self.expansion, stride)

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        # Stride on the 3x3 conv (as in torchvision's "ResNet v1.5"), not the 1x1:
        # a strided 1x1 would simply skip three quarters of the pixels.
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.shortcut = _shortcut(in_planes, out_planes, stride)

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + self.shortcut(x))


def _shortcut(in_planes: int, out_planes: int, stride: int) -> nn.Module:
    """Identity when shapes match, else a strided 1x1 conv + BN projection (option B)."""
    if stride == 1 and in_planes == out_planes:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_planes, out_planes, 1, stride, bias=False),
        nn.BatchNorm2d(out_planes),
    )


class CifarResNet(nn.Module):
    def __init__(self, opts: ResNetOptions, info: DataInfo) -> None:
        super().__init__()
        self.opts = opts
        block = Bottleneck if opts.block == "bottleneck" else BasicBlock
        self.stem = nn.Sequential(
            nn.Conv2d(info.channels, opts.stem_width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(opts.stem_width),
            nn.ReLU(inplace=True),
        )
        in_planes = opts.stem_width
        stages = []
        for blocks, planes, stride in zip(opts.layers, opts.widths, opts.strides, strict=False):
            stage = []
            for i in range(blocks):  # only the first block of a stage changes the shape
                stage.append(block(in_planes, planes, stride if i == 0 else 1))
                in_planes = planes * block.expansion
            stages.append(nn.Sequential(*stage))
        self.stages = nn.Sequential(*stages)
        # Global average pooling makes the head independent of the image size.
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_planes, info.num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        if self.opts.init == "kaiming":
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
        if self.opts.zero_init_residual:
            # Each block then starts as the identity, which helps deep nets train early
            # ("Bag of Tricks", Goyal et al. 2017).
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    nn.init.zeros_(m.last_bn.weight)

    def describe(self) -> str:
        o = self.opts
        return (
            f"resnet: {o.block} blocks {fmt(o.layers)}, widths {fmt(o.widths)}, "
            f"strides {fmt(o.strides)}, stem {o.stem_width}"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        logits: torch.Tensor = self.fc(torch.flatten(self.pool(x), 1))
        return logits
