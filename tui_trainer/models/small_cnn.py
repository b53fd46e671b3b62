"""A small, fast CNN for tiny images (scikit-learn's 8x8 digits) and anything larger.

Each stage is a 3x3 conv + BN + ReLU; stages are separated by a 2x2 max-pool while
the image is at least 4 pixels wide, and the last stage is average-pooled to 2x2, so
the head has the same size (and some spatial layout) for 8x8 and for 32x32 inputs.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.info import DataInfo
from ..schema import fmt
from .options import SmallCNNOptions


class SmallCNN(nn.Module):
    def __init__(self, opts: SmallCNNOptions, info: DataInfo) -> None:
        super().__init__()
        self.opts = opts
        layers: list[nn.Module] = []
        in_ch, side = info.channels, info.image_size
        for i, w in enumerate(opts.widths):
            if i > 0 and side >= 4:
                layers.append(nn.MaxPool2d(2))
                side //= 2
            layers += [nn.Conv2d(in_ch, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            in_ch = w
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.head = nn.Sequential(
            nn.Linear(in_ch * 4, opts.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(opts.dropout),
            nn.Linear(opts.hidden, info.num_classes),
        )

    def describe(self) -> str:
        o = self.opts
        return f"small_cnn: convs {fmt(o.widths)}, hidden {o.hidden}, dropout {o.dropout:g}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(torch.flatten(self.pool(self.features(x)), 1))
        return logits
