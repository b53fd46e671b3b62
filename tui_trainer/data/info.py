"""What a model needs to know about its data: shape and classes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataInfo:
    channels: int
    num_classes: int
    image_size: int  # images are square: side in pixels
    classes: tuple[str, ...] = ()

    def shape_text(self) -> str:
        """E.g. "1 channel, 10 classes": what a model's first and last layers are sized by."""
        c, k = self.channels, self.num_classes
        return f"{c} channel{'s' * (c != 1)}, {k} class{'es' * (k != 1)}"
