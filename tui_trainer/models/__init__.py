"""Model families and the registry that builds them from a config.

A family is an options dataclass (declared with :func:`tui_trainer.schema.option`, so
the config parser and the app's editors validate it) with a ``build(info)`` method
that returns an ``nn.Module`` mapping ``(B, C, H, W)`` images to ``(B, classes)``
logits. ``model.arch`` names the family, or ``torchvision:NAME`` for any torchvision
classifier. Models draw their random init from torch's global RNG only, so seeding it
makes a build reproducible.

Importing this package imports no torch: the options and the registry live in
:mod:`.options` (what validating a config needs: ``tui-trainer presets``, the app's
first frame), the ``nn.Module`` code in the family modules, imported by a family's
``build`` when a model is built (and :func:`describe_model` imports torch when called).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import schema
from ..format import count as format_count
from .options import FAMILIES, TORCHVISION, options_class, split_arch, torchvision_names

if TYPE_CHECKING:
    from torch import nn

    from ..data.info import DataInfo

__all__ = [
    "FAMILIES",
    "options_class",
    "build_model",
    "describe_model",
    "count_parameters",
    "format_count",
    "torchvision_names",
]


def build_model(model_cfg: Any, info: DataInfo) -> nn.Module:
    """Build the model of ``model_cfg`` (``.arch`` and ``.options``, plain data) for ``info``.

    The options go through the schema again, so options saved by an older version
    (a checkpoint) get today's defaults for keys they lack, or a clear error.
    """
    cls = options_class(model_cfg.arch)
    opts = schema.parse(cls, dict(model_cfg.options), "model")
    family, name = split_arch(model_cfg.arch)
    model: nn.Module = opts.build(info, name) if family == TORCHVISION else opts.build(info)
    return model


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (frozen ones, like speedrun's whitening filters, excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def describe_model(model: nn.Module) -> str:
    """Two lines: what the model is, then its layer counts and trainable parameters."""
    from torch import nn

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
