"""VGG (Simonyan & Zisserman 2014): stacks of 3x3 convs separated by 2x2 max-pools,
then a fully connected classifier.

``cfg`` lists the conv widths in order, with "M" for a max-pool; the named configs
"A", "B", "D" and "E" are VGG11/13/16/19. Torchvision's VGG pools to 7x7 whatever
the input; here the classifier's input size is computed from the data's image size
instead, so small images keep a small classifier (a 32x32 image through VGG16's five
pools flattens to 512 features, not 25,088).
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.info import DataInfo
from ..errors import ConfigError
from .options import VGGOptions


class VGG(nn.Module):
    def __init__(self, opts: VGGOptions, info: DataInfo) -> None:
        super().__init__()
        self.opts = opts
        self.num_classes = info.num_classes
        cfg = opts.layer_list()
        layers: list[nn.Module] = []
        channels, side = info.channels, info.image_size
        for v in cfg:
            if v == "M":
                side //= 2
                if side < 1:
                    pools = cfg.count("M")
                    raise ConfigError(
                        f"model.cfg: its {pools} max-pools shrink a {info.image_size}x{info.image_size} image "
                        f'below 1 pixel; use at most {info.image_size.bit_length() - 1} "M" for this data'
                    )
                layers.append(nn.MaxPool2d(2, 2))
            else:
                assert isinstance(v, int)  # a width: the schema admits no string but "M"
                # With BN the conv bias is redundant (BN subtracts the mean), as in torchvision.
                layers.append(nn.Conv2d(channels, v, 3, padding=1, bias=not opts.batch_norm))
                if opts.batch_norm:
                    layers.append(nn.BatchNorm2d(v))
                layers.append(nn.ReLU(inplace=True))
                channels = v
        self.features = nn.Sequential(*layers)
        self.flat_features = channels * side * side

        head: list[nn.Module] = []
        width = self.flat_features
        for hidden in opts.classifier:
            head += [nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Dropout(opts.dropout)]
            width = hidden
        head.append(nn.Linear(width, info.num_classes))
        self.classifier = nn.Sequential(*head)
        if opts.init == "kaiming":
            self._init_weights()

    def _init_weights(self) -> None:
        # The same scheme as torchvision's VGG.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def describe(self) -> str:
        o = self.opts
        cfg = o.cfg if isinstance(o.cfg, str) else "custom"
        convs = sum(1 for v in o.layer_list() if v != "M")
        return (
            f"vgg: cfg {cfg} ({convs} conv{', BN' if o.batch_norm else ''}), "
            f"classifier {self.flat_features} -> {' -> '.join(map(str, [*o.classifier, self.num_classes]))}"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.classifier(torch.flatten(self.features(x), 1))
        return logits
