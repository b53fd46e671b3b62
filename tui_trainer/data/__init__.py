"""Data sets as uint8 tensors, decoded once, cached on disk and kept on the training device.

- :func:`load_data` loads a data set (``DataConfig.dataset``) into an :class:`ImageData`.
- :class:`DeviceData` moves it to the training device once and yields batches,
  augmented and normalised there.
- :mod:`.augment` holds the batched augmentations, :mod:`.cache` the on-disk cache.
"""

from __future__ import annotations

from .archives import extract_archive
from .augment import normalize, random_crop, random_hflip
from .batches import DeviceData
from .info import DataInfo
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
