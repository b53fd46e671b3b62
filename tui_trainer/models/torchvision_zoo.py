"""Any torchvision classification model, by name: ``arch = "torchvision:resnet18"``.

Models are built from scratch (``weights=None``: nothing is ever downloaded) with the
data's number of classes. Three adaptations make the ImageNet zoo usable on small data:

* a first conv for 1-channel (or 4-channel) images, reusing the model's own init;
* inputs resized inside the model when the network cannot run at the data's size
  (AlexNet needs 63 px, Inception v3 75 px, ViT exactly 224 px): with ``resize =
  none`` the smallest side that works is found by a dry run, or set it yourself;
* auxiliary heads switched off (GoogLeNet, Inception v3), so the model returns plain
  logits in training mode too.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from ..data.info import DataInfo
from ..errors import ConfigError
from .options import TorchvisionOptions

# Sides tried, in order, when the data's own side is too small for a model. Every
# torchvision classifier runs at 224, the size it was designed for.
AUTO_SIDES = (32, 48, 64, 75, 96, 128, 160, 224)
NATIVE_SIDE = 224
AUX_HEADS = ("googlenet", "inception_v3")


@functools.cache
def model_names() -> tuple[str, ...]:
    """Classification models only (detection, video, ... live in submodules)."""
    return tuple(torchvision.models.list_models(module=torchvision.models))


class ZooModel(nn.Module):
    def __init__(self, name: str, opts: TorchvisionOptions, info: DataInfo) -> None:
        super().__init__()
        self.name = name
        kwargs = {}
        if name in AUX_HEADS:
            # No auxiliary classifiers (their outputs would be a namedtuple in training
            # mode), and the models' own init chosen explicitly (silences a warning).
            kwargs = {"aux_logits": False, "init_weights": True}
        self.net = torchvision.models.get_model(name, weights=None, num_classes=info.num_classes, **kwargs)
        if info.channels != 3:
            _adapt_first_conv(self.net, info.channels)
        self.resize = opts.resize
        side = opts.resize or info.image_size
        if side < NATIVE_SIDE:
            error = self._dry_run(info.channels, side)
            if error and opts.resize is None:
                for candidate in (s for s in AUTO_SIDES if s > side):
                    if not self._dry_run(info.channels, candidate):
                        self.resize = candidate
                        break
                else:
                    self.resize = NATIVE_SIDE
            elif error:
                raise ConfigError(
                    f"model.resize: torchvision:{name} cannot run on {side}x{side} inputs ({error}); "
                    f"set a larger model.resize, or none to pick one automatically"
                )

    @torch.no_grad()
    def _dry_run(self, channels: int, side: int) -> str | None:
        """Run one blank image through the net (eval mode: no batch statistics, no
        randomness); return the error's first line if the size is too small."""
        was_training = self.net.training
        self.net.eval()
        try:
            self.net(torch.zeros(1, channels, side, side))
            return None
        except (RuntimeError, ValueError, AssertionError, IndexError) as exc:
            return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        finally:
            self.net.train(was_training)

    def describe(self) -> str:
        resize = f", inputs resized to {self.resize}x{self.resize}" if self.resize else ""
        return f"torchvision:{self.name} (random init){resize}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.resize is not None and x.shape[-2:] != (self.resize, self.resize):
            x = F.interpolate(x, size=(self.resize, self.resize), mode="bilinear", align_corners=False)
        out = self.net(x)
        # Models with auxiliary heads return a namedtuple (logits first) when they have them.
        return out if isinstance(out, torch.Tensor) else out[0]


def _pair(size: tuple[int, ...]) -> tuple[int, int]:
    """A Conv2d's size (typed for convs of any dimension) as the pair it is."""
    height, width = size
    return height, width


@torch.no_grad()
def _adapt_first_conv(net: nn.Module, channels: int) -> None:
    """Swap the first conv for one taking ``channels`` inputs. Its filters are the
    original random filters, input channels taken in turn, so the model keeps its
    own init scheme and no extra random numbers are drawn."""
    name, old = next((n, m) for n, m in net.named_modules() if isinstance(m, nn.Conv2d))
    new = nn.Conv2d(
        channels,
        old.out_channels,
        _pair(old.kernel_size),
        stride=_pair(old.stride),
        padding=old.padding if isinstance(old.padding, str) else _pair(old.padding),
        dilation=_pair(old.dilation),
        groups=old.groups,
        bias=old.bias is not None,
        padding_mode=old.padding_mode,
        device="meta",  # the weights are copied below; don't draw random ones
        dtype=old.weight.dtype,
    ).to_empty(device=old.weight.device)
    new.weight.copy_(old.weight[:, [i % old.in_channels for i in range(channels)]])
    if old.bias is not None:
        assert new.bias is not None  # made with bias=True
        new.bias.copy_(old.bias)
    parent_name, _, attr = name.rpartition(".")
    setattr(net.get_submodule(parent_name) if parent_name else net, attr, new)
