"""The model families' options and the registry of families, without torch.

Validating a config (``tui-trainer presets``, the picker's first frame, every
``--set model.KEY=...``) needs each family's options dataclass and nothing else, so
they live here, apart from the ``nn.Module`` code in the family modules, which imports
torch. A family's ``build(info)`` imports its module when a model is built.

``torchvision:NAME`` is checked against :data:`TORCHVISION_MODELS`, a static copy of
``torchvision.models.list_models(module=torchvision.models)`` (the classification
models; a test keeps it equal to the installed torchvision's list). The rule: a name in
the copy is accepted without importing torchvision; any other name is looked up in the
installed torchvision (an import, on the error path or for a model newer than the
copy), so a newer torchvision's models are accepted and a typo's message lists the
installed names. The copy is a subset of every supported torchvision's list (>= 0.19:
no classification model has been removed since), so it never accepts a name that
cannot be built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..data.info import DataInfo
from ..errors import ConfigError, did_you_mean, one_of
from ..schema import fmt, option

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "FAMILIES",
    "TORCHVISION",
    "TORCHVISION_MODELS",
    "DropoutCNNOptions",
    "ResNetOptions",
    "SmallCNNOptions",
    "SpeedrunOptions",
    "TorchvisionOptions",
    "VGGOptions",
    "options_class",
    "split_arch",
    "torchvision_names",
]

TORCHVISION = "torchvision"


# -- resnet (cifar_resnet.py) ---------------------------------------------------------


@dataclass
class ResNetOptions:
    block: str = option(
        "basic", choices=("basic", "bottleneck"), help="Residual block (bottleneck: 1x1-3x3-1x1, 4x wider output)"
    )
    layers: list[int] = option([2, 2, 2], min=1, max=64, help="Blocks per stage")
    widths: list[int] = option([16, 32, 64], min=1, max=4096, help="Planes per stage (bottleneck outputs 4x this)")
    strides: list[int] = option([1, 2, 2], min=1, max=4, help="Stride of the first block of each stage")
    stem_width: int = option(16, min=1, max=4096, help="Channels of the 3x3 stem conv")
    zero_init_residual: bool = option(False, help="Zero-init the last BN of each block, so blocks start as identities")
    init: str = option(
        "kaiming", choices=("kaiming", "default"), help="kaiming: He-normal convs (fan_out); default: PyTorch's"
    )

    def __post_init__(self) -> None:
        # Checked at parse time so a bad config fails before any data is loaded.
        if not (len(self.layers) == len(self.widths) == len(self.strides)):
            raise ConfigError(
                f"model.layers / model.widths / model.strides: need one entry per stage each, got "
                f"{len(self.layers)}, {len(self.widths)} and {len(self.strides)} "
                f"({fmt(self.layers)}, {fmt(self.widths)}, {fmt(self.strides)})"
            )
        if not self.layers:
            raise ConfigError("model.layers: need at least one stage, e.g. [2, 2, 2]")

    def build(self, info: DataInfo) -> nn.Module:
        from .cifar_resnet import CifarResNet

        return CifarResNet(self, info)


# -- vgg (vgg.py) ---------------------------------------------------------------------

NAMED_CFGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


@dataclass
class VGGOptions:
    cfg: str | list[int | str] = option(
        "D",
        choices=tuple(NAMED_CFGS),
        item_choices=("M",),
        min=1,
        max=8192,
        help='"A", "B", "D", "E" (VGG11/13/16/19) or a list of conv widths and "M" (max-pool)',
    )
    batch_norm: bool = option(True, help="BatchNorm after every conv")
    classifier: list[int] = option([4096, 4096], min=1, max=65536, help="Hidden sizes of the fully connected layers")
    dropout: float = option(0.5, min=0, max=1, help="Dropout after each hidden fully connected layer")
    init: str = option(
        "kaiming", choices=("kaiming", "default"), help="kaiming: as torchvision's VGG; default: PyTorch's"
    )

    def __post_init__(self) -> None:
        if isinstance(self.cfg, list) and not any(isinstance(v, int) for v in self.cfg):
            raise ConfigError(
                f'model.cfg: {fmt(self.cfg)} has no conv layer; expected conv widths and "M", e.g. [64, "M", 128, "M"]'
            )

    def layer_list(self) -> list[int | str]:
        return list(NAMED_CFGS[self.cfg]) if isinstance(self.cfg, str) else list(self.cfg)

    def build(self, info: DataInfo) -> nn.Module:
        from .vgg import VGG

        return VGG(self, info)


# -- dropout_cnn (dropout_cnn.py) -----------------------------------------------------

DROPOUT_CNN_ACTIVATIONS = ("tanh", "relu")  # dropout_cnn.ACTIVATIONS maps them to modules


@dataclass
class DropoutCNNOptions:
    channels: list[int] = option(
        [8, 16, 32, 64], min=1, max=4096, help="Conv blocks: 3x3 conv + BN + activation + 2x2 max-pool each"
    )
    hidden: list[int] = option([256, 64, 32], min=1, max=65536, help="Fully connected hidden sizes")
    dropout: float = option(0.2, min=0, max=1, help="Dropout after each hidden FC layer but the last")
    activation: str = option("tanh", choices=DROPOUT_CNN_ACTIVATIONS, help="Activation of convs and FC layers")
    init: str = option(
        "xavier", choices=("xavier", "default"), help="xavier: Glorot-uniform weights, zero biases (Keras' default)"
    )

    def __post_init__(self) -> None:
        if not self.channels:
            raise ConfigError("model.channels: need at least one conv block, e.g. [8, 16, 32, 64]")

    def build(self, info: DataInfo) -> nn.Module:
        from .dropout_cnn import DropoutCNN

        return DropoutCNN(self, info)


# -- small_cnn (small_cnn.py) ---------------------------------------------------------


@dataclass
class SmallCNNOptions:
    widths: list[int] = option([32, 64], min=1, max=4096, help="Channels of each conv stage")
    hidden: int = option(128, min=1, max=65536, help="Fully connected hidden size")
    dropout: float = option(0.1, min=0, max=1, help="Dropout before the last layer")

    def __post_init__(self) -> None:
        if not self.widths:
            raise ConfigError("model.widths: need at least one conv stage, e.g. [32, 64]")

    def build(self, info: DataInfo) -> nn.Module:
        from .small_cnn import SmallCNN

        return SmallCNN(self, info)


# -- speedrun (speedrun.py) -----------------------------------------------------------


@dataclass
class SpeedrunOptions:
    widths: list[int] = option([64, 256, 256], min=1, max=4096, help="Channels of each conv block")
    whiten_width: int = option(
        24, min=2, max=4096, help="Filters of the whitening conv (2 x channels x 2 x 2 covers every patch direction)"
    )
    scale: float = option(1 / 9, gt=0, max=100, help="Multiplier on the logits")
    whiten_bias_epochs: int = option(
        3, min=0, max=100_000, help="Epochs during which the whitening conv's bias is trained (then frozen)"
    )

    def __post_init__(self) -> None:
        if not self.widths:
            raise ConfigError("model.widths: need at least one block, e.g. [64, 256, 256]")
        if self.whiten_width % 2:
            raise ConfigError(
                f"model.whiten_width: {self.whiten_width} is odd; the whitening filters come in +/- pairs, so it must be even"
            )

    def build(self, info: DataInfo) -> nn.Module:
        from .speedrun import SpeedrunNet

        return SpeedrunNet(self, info)


# -- torchvision:NAME (torchvision_zoo.py) --------------------------------------------

# torchvision.models.list_models(module=torchvision.models) of torchvision 0.29: see the
# module docstring for how a name outside it is checked.
TORCHVISION_MODELS: tuple[str, ...] = (
    "alexnet",
    "convnext_base",
    "convnext_large",
    "convnext_small",
    "convnext_tiny",
    "densenet121",
    "densenet161",
    "densenet169",
    "densenet201",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "efficientnet_b4",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "efficientnet_v2_l",
    "efficientnet_v2_m",
    "efficientnet_v2_s",
    "googlenet",
    "inception_v3",
    "maxvit_t",
    "mnasnet0_5",
    "mnasnet0_75",
    "mnasnet1_0",
    "mnasnet1_3",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "regnet_x_16gf",
    "regnet_x_1_6gf",
    "regnet_x_32gf",
    "regnet_x_3_2gf",
    "regnet_x_400mf",
    "regnet_x_800mf",
    "regnet_x_8gf",
    "regnet_y_128gf",
    "regnet_y_16gf",
    "regnet_y_1_6gf",
    "regnet_y_32gf",
    "regnet_y_3_2gf",
    "regnet_y_400mf",
    "regnet_y_800mf",
    "regnet_y_8gf",
    "resnet101",
    "resnet152",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "resnext50_32x4d",
    "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0",
    "squeezenet1_0",
    "squeezenet1_1",
    "swin_b",
    "swin_s",
    "swin_t",
    "swin_v2_b",
    "swin_v2_s",
    "swin_v2_t",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "vit_b_16",
    "vit_b_32",
    "vit_h_14",
    "vit_l_16",
    "vit_l_32",
    "wide_resnet101_2",
    "wide_resnet50_2",
)


@dataclass
class TorchvisionOptions:
    resize: int | None = option(
        None, min=8, max=1024, help="Resize inputs inside the model to this side (none: only if the model needs it)"
    )

    def build(self, info: DataInfo, name: str) -> nn.Module:
        from .torchvision_zoo import ZooModel

        return ZooModel(name, self, info)


def torchvision_names() -> tuple[str, ...]:
    """The NAMEs allowed in ``torchvision:NAME`` (classification models), for pickers:
    the static copy, without importing torchvision."""
    return TORCHVISION_MODELS


def _installed_torchvision_names() -> tuple[str, ...]:
    from .torchvision_zoo import model_names  # imports torchvision (and torch)

    return model_names()


# -- the registry ---------------------------------------------------------------------

# Family name -> options dataclass, in the order the app lists them.
FAMILIES: dict[str, type] = {
    "resnet": ResNetOptions,
    "vgg": VGGOptions,
    "dropout_cnn": DropoutCNNOptions,
    "small_cnn": SmallCNNOptions,
    "speedrun": SpeedrunOptions,
    TORCHVISION: TorchvisionOptions,
}
_ALLOWED = [*(f for f in FAMILIES if f != TORCHVISION), "torchvision:NAME"]


def split_arch(arch: str) -> tuple[str, str | None]:
    """``"torchvision:resnet18"`` -> ("torchvision", "resnet18"); ``"vgg"`` -> ("vgg", None)."""
    family, sep, name = arch.partition(":")
    return family, (name if sep else None)


def options_class(arch: str) -> type:
    """The options dataclass of ``arch``; a one-line ConfigError if it is unknown.
    Imports no torch, but for a ``torchvision:NAME`` outside :data:`TORCHVISION_MODELS`."""
    family, name = split_arch(arch)
    if family == TORCHVISION:
        if name and name in TORCHVISION_MODELS:
            return TorchvisionOptions
        names = _installed_torchvision_names() if name else TORCHVISION_MODELS
        if not name:
            raise ConfigError(
                f'model.arch: "{arch}" needs a model name, e.g. "torchvision:resnet18"; allowed names: {one_of(names)}'
            )
        if name not in names:
            raise ConfigError(
                f'model.arch: unknown torchvision model "{name}"{did_you_mean(name, names)}; allowed: {one_of(names)}'
            )
        return TorchvisionOptions
    if family in FAMILIES and name is None:
        return FAMILIES[family]
    raise ConfigError(
        f'model.arch: unknown architecture "{arch}"{did_you_mean(arch, _ALLOWED)}; allowed: {one_of(_ALLOWED)}'
    )
