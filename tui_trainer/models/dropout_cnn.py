"""A plain CNN with dropout in its fully connected head, as in the classic Keras
CIFAR-10 tutorials: conv blocks (3x3 conv, BN, activation, 2x2 max-pool), then
fully connected layers 256-64-32 with dropout after the first two.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.info import DataInfo
from ..errors import ConfigError
from ..schema import fmt
from .options import DROPOUT_CNN_ACTIVATIONS, DropoutCNNOptions

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
assert tuple(ACTIVATIONS) == DROPOUT_CNN_ACTIVATIONS  # the choices the options offer


class DropoutCNN(nn.Module):
    def __init__(self, opts: DropoutCNNOptions, info: DataInfo) -> None:
        super().__init__()
        self.opts = opts
        self.num_classes = info.num_classes
        act = ACTIVATIONS[opts.activation]
        blocks: list[nn.Module] = []
        in_ch, side = info.channels, info.image_size
        for ch in opts.channels:
            side //= 2
            if side < 1:
                raise ConfigError(
                    f"model.channels: {len(opts.channels)} conv blocks halve a {info.image_size}x{info.image_size} "
                    f"image below 1 pixel; use at most {info.image_size.bit_length() - 1} for this data"
                )
            # No conv bias: the BatchNorm right after it has its own shift.
            blocks += [nn.Conv2d(in_ch, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch), act(), nn.MaxPool2d(2)]
            in_ch = ch
        self.features = nn.Sequential(*blocks)
        self.flat_features = in_ch * side * side

        head: list[nn.Module] = []
        width = self.flat_features
        for i, h in enumerate(opts.hidden):
            head += [nn.Linear(width, h), act()]
            # The recipe drops out after every hidden layer except the last, so the
            # small final feature vector reaches the classifier intact.
            if i < len(opts.hidden) - 1:
                head.append(nn.Dropout(opts.dropout))
            width = h
        head.append(nn.Linear(width, info.num_classes))
        self.classifier = nn.Sequential(*head)
        if opts.init == "xavier":
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.xavier_uniform_(m.weight)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)

    def describe(self) -> str:
        o = self.opts
        return (
            f"dropout_cnn: convs {fmt(o.channels)} ({o.activation}), flatten {self.flat_features}, "
            f"FC {' -> '.join(map(str, [*o.hidden, self.num_classes]))}, dropout {o.dropout:g}"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.classifier(torch.flatten(self.features(x), 1))
        return logits
