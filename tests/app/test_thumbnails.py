"""Drawing a test image in cells (app/widgets/thumbnails.py): the size it is drawn at,
the half blocks, the no-colour ramp, and the line that says rich-pixels is missing."""

from __future__ import annotations

import sys

import torch
from rich.console import Console

from tui_trainer.app.widgets.thumbnails import MISSING, RAMP, half_blocks, ramp_text, to_picture


def test_small_images_are_enlarged_by_whole_pixels_and_large_ones_reduced():
    digit = torch.arange(64, dtype=torch.uint8).reshape(1, 8, 8)
    picture = to_picture(digit)
    assert picture.size == (32, 32) and picture.getpixel((3, 3)) == (0, 0, 0), "4x4 cells of pixel (0, 0)"
    assert picture.getpixel((4, 0)) == (1, 1, 1)
    assert to_picture(torch.zeros(3, 32, 32, dtype=torch.uint8)).size == (32, 32)
    assert to_picture(torch.zeros(3, 150, 224, dtype=torch.uint8)).size == (32, 22), "height even: two pixels a row"


def test_half_blocks_two_pixels_a_cell_in_their_colours():
    image = torch.zeros(3, 32, 32, dtype=torch.uint8)
    image[0, 1::2] = 255  # odd rows red: each cell's lower half
    segments = list(Console(width=40, color_system="truecolor").render(half_blocks(to_picture(image))))
    cells = [s for s in segments if s.text == "▄"]
    assert len(cells) == 32 * 16
    assert cells[0].style.color.triplet == (255, 0, 0) and cells[0].style.bgcolor.triplet == (0, 0, 0)


def test_the_ramp_is_the_mean_brightness_of_two_pixels():
    image = torch.zeros(1, 32, 32, dtype=torch.uint8)
    image[0, 16:] = 255
    rows = ramp_text(to_picture(image)).plain.splitlines()
    assert len(rows) == 16 and rows[0] == RAMP[0] * 32 and rows[-1] == RAMP[-1] * 32


def test_without_rich_pixels_the_image_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "rich_pixels", None)  # an import of it fails
    drawn = half_blocks(to_picture(torch.zeros(1, 8, 8, dtype=torch.uint8)))
    assert drawn.plain == MISSING and "pip install rich-pixels" in MISSING
