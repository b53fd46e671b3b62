"""A test image drawn in the terminal, with its true class and what the model took it for.

In colour the image is drawn by rich-pixels (PyPI ``rich-pixels``): two pixels a cell,
"▄" with the lower pixel as the foreground colour and the upper one as the background.
That is plain text and colour codes through rich, so it shows over SSH, inside tmux and
in any terminal with colour (rich reduces 24-bit colour to what the terminal has); the
graphics protocols (kitty, sixel, iTerm2) that textual-image prefers are missing in many
terminals and need tmux's passthrough. Without colour (NO_COLOR, ``TERM=xterm-mono``)
half blocks would be blank, so each cell is a character of a brightness ramp instead,
from the mean of its two pixels. rich-pixels is imported only here, when an image is
drawn: missing, the image's place says how to install it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image
from rich.columns import Columns
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual.widgets import Static

if TYPE_CHECKING:  # annotations only: the app's first frame comes before torch loads
    import torch

SIDE = 32  # the longer side, in pixels: 32 columns by 16 rows for a square image
RAMP = " .:-=+*#%@"  # dark to bright
MISSING = "images need rich-pixels: pip install rich-pixels"


def to_picture(image: torch.Tensor, side: int = SIDE) -> Image.Image:
    """A uint8 ``[C, H, W]`` image as a PIL image whose longer side is ``side`` pixels
    and whose height is even (two pixels a row). Enlarged by copying pixels (a small
    image stays sharp), reduced by averaging them."""
    array = image.numpy()
    picture = Image.fromarray(array[0]) if array.shape[0] != 3 else Image.fromarray(np.moveaxis(array, 0, -1))
    h, w = array.shape[1:]
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(2, 2 * round(h * scale / 2)))
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BOX
    return picture.convert("RGB").resize(size, resample)


def ramp_text(picture: Image.Image) -> Text:
    """The picture in characters of ``RAMP``, a cell for each two pixels of a column."""
    grey = np.asarray(picture.convert("L"), dtype=np.float32)
    cells = (grey[0::2] + grey[1::2]) / 2
    index = np.minimum((cells / 256 * len(RAMP)).astype(int), len(RAMP) - 1)
    return Text("\n".join("".join(RAMP[i] for i in row) for row in index), no_wrap=True)


def half_blocks(picture: Image.Image) -> RenderableType:
    try:
        from rich_pixels import HalfcellRenderer, Pixels
    except ImportError:
        return Text(MISSING)
    return Pixels.from_image(picture, renderer=HalfcellRenderer())


class Thumbnail:
    """A rich renderable: the picture over its caption, the true class, then the
    predicted one and how sure; as wide as the picture (a long name ends in "…")."""

    def __init__(self, picture: Image.Image, drawing: RenderableType, true: str, predicted: str, confidence: float):
        self.width = max(picture.width, 16)
        self.lines = [
            drawing,
            Text(f"true {true}", no_wrap=True, overflow="ellipsis"),
            Text(f"pred {predicted} {confidence:.0f}%", no_wrap=True, overflow="ellipsis"),
        ]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from console.render(Group(*self.lines), options.update_width(min(self.width, options.max_width)))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.width, self.width)  # what rich's Columns lays out by


class Thumbnails(Static):
    """Misclassified images side by side, as many a row as the width holds."""

    DEFAULT_CSS = """
    Thumbnails { height: auto; }
    """

    def __init__(self, shown: list[tuple[torch.Tensor, str, str, float]], **kw: Any) -> None:
        super().__init__(**kw)
        self.shown = shown

    def on_mount(self) -> None:
        draw = ramp_text if self.app.no_color else half_blocks
        cells = []
        for image, true, predicted, confidence in self.shown:
            picture = to_picture(image)
            cells.append(Thumbnail(picture, draw(picture), true, predicted, confidence))
        self.update(Columns(cells, padding=(1, 2)))
