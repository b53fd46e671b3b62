"""Data sets as uint8 tensors, decoded once, cached on disk and kept on the training device.

- :func:`load_data` loads a data set (``DataConfig.dataset``) into an :class:`ImageData`.
- :class:`DeviceData` moves it to the training device once and yields batches,
  augmented and normalised there.
- :mod:`.augment` holds the batched augmentations, :mod:`.cache` the on-disk cache.

The names below are imported when first used (PEP 562), so importing a torch-free
module of this package (:mod:`.info`, :mod:`.availability`: what the app's first frame
and config validation need) does not import torch through this file.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .info import DataInfo

if TYPE_CHECKING:
    from .archives import extract_archive
    from .augment import normalize, random_crop, random_hflip
    from .batches import DeviceData
    from .sources import DATASETS, ImageData, LoadCancelled, channel_stats, load_data, resize_images

__all__ = [
    "DATASETS",
    "DataInfo",
    "DeviceData",
    "ImageData",
    "LoadCancelled",
    "channel_stats",
    "extract_archive",
    "load_data",
    "normalize",
    "random_crop",
    "random_hflip",
    "resize_images",
]

# Name -> the module of this package that defines it (each imports torch).
_LAZY = {
    "extract_archive": "archives",
    "normalize": "augment",
    "random_crop": "augment",
    "random_hflip": "augment",
    "DeviceData": "batches",
    "DATASETS": "sources",
    "ImageData": "sources",
    "LoadCancelled": "sources",
    "channel_stats": "sources",
    "load_data": "sources",
    "resize_images": "sources",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next lookup finds it without this function
    return value
