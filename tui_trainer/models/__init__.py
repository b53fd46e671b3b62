"""Model families and the registry that builds them from a config.

A family is an options dataclass (declared with :func:`tui_trainer.schema.option`, so
the config parser and the app's editors validate it) with a ``build(info)`` method
that returns an ``nn.Module`` mapping ``(B, C, H, W)`` images to ``(B, classes)``
logits. ``model.arch`` names the family, or ``torchvision:NAME`` for any torchvision
classifier. Models draw their random init from torch's global RNG only, so seeding it
makes a build reproducible.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .. import schema
from ..data.info import DataInfo
from ..errors import ConfigError, did_you_mean, one_of
from ..format import count as format_count
from .cifar_resnet import ResNetOptions
from .dropout_cnn import DropoutCNNOptions
from .small_cnn import SmallCNNOptions
from .speedrun import SpeedrunOptions
from .torchvision_zoo import TorchvisionOptions, model_names
from .vgg import VGGOptions

__all__ = [
    "FAMILIES",
    "options_class",
    "build_model",
    "describe_model",
    "count_parameters",
    "format_count",
    "torchvision_names",
]

TORCHVISION = "torchvision"

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


def torchvision_names() -> tuple[str, ...]:
    """The NAMEs allowed in ``torchvision:NAME`` (classification models), for pickers."""
    return model_names()


def _split(arch: str) -> tuple[str, str | None]:
    """``"torchvision:resnet18"`` -> ("torchvision", "resnet18"); ``"vgg"`` -> ("vgg", None)."""
    family, sep, name = arch.partition(":")
    return family, (name if sep else None)


def options_class(arch: str) -> type:
    """The options dataclass of ``arch``; a one-line ConfigError if it is unknown."""
    family, name = _split(arch)
    if family == TORCHVISION:
        names = model_names()
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


def build_model(model_cfg: Any, info: DataInfo) -> nn.Module:
    """Build the model of ``model_cfg`` (``.arch`` and ``.options``, plain data) for ``info``.

    The options go through the schema again, so options saved by an older version
    (a checkpoint) get today's defaults for keys they lack, or a clear error.
    """
    cls = options_class(model_cfg.arch)
    opts = schema.parse(cls, dict(model_cfg.options), "model")
    family, name = _split(model_cfg.arch)
    model: nn.Module = opts.build(info, name) if family == TORCHVISION else opts.build(info)
    return model


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (frozen ones, like speedrun's whitening filters, excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def describe_model(model: nn.Module) -> str:
    """Two lines: what the model is, then its layer counts and trainable parameters."""
    model = getattr(model, "_orig_mod", model)  # see through torch.compile
    describe = getattr(model, "describe", None)  # the models' own one-line summary
    first = describe() if describe is not None else type(model).__name__
    kinds: dict[str, type[nn.Module] | tuple[type[nn.Module], ...]] = {
        "conv": nn.modules.conv._ConvNd,
        "linear": nn.Linear,
        "norm": (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm),
    }
    counts = {k: sum(isinstance(m, t) for m in model.modules()) for k, t in kinds.items()}
    layers = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    return f"{first}\n{layers} layers; {format_count(count_parameters(model))} params"
