"""What a model needs to know about its data: shape and classes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataInfo:
    channels: int
    num_classes: int
    image_size: int  # images are square: side in pixels
    classes: tuple[str, ...] = ()
