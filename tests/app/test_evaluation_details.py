"""The evaluation dialog's confusions and misclassified images (screens/evaluation.py,
widgets/confusion.py, widgets/thumbnails.py), from a result made by hand: at 80x24 and
120x40, with few classes and with cifar100's hundred, in colour and without."""

from __future__ import annotations

import pytest
import torch
from app_helpers import screen_text

from tui_trainer.app.app import TrainerApp
from tui_trainer.app.screens.evaluation import EvalScreen
from tui_trainer.app.widgets.thumbnails import RAMP
from tui_trainer.evaluate import ClassResult, EvalResult, Misclassified

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])


def result(n: int, wrong: int = 3) -> EvalResult:
    """``n`` classes of 10 test images: class i takes i % 3 images for class i+1."""
    matrix = [[0] * n for _ in range(n)]
    for t in range(n):
        matrix[t][t] = 10 - t % 3
        matrix[t][(t + 1) % n] = t % 3
    names = [f"class_{i}" for i in range(n)]
    classes = [ClassResult(names[i], matrix[i][i], 10) for i in range(n)]
    gradient = torch.arange(64, dtype=torch.uint8).reshape(1, 8, 8) * 4  # dark top left, bright bottom right
    misclassified = [Misclassified(i, names[2], names[3], 90.0 - i) for i in range(wrong)]
    return EvalResult(
        "/runs/x/checkpoints/best.pt", 2, 0.5, 80.0, classes, confusion=matrix,
        misclassified=misclassified, images=[gradient] * wrong,
    )  # fmt: skip


async def open_result(pilot, r: EvalResult) -> EvalScreen:
    screen = EvalScreen(r.checkpoint)
    await pilot.app.push_screen(screen)
    await pilot.pause()
    screen.show_result(r)
    await pilot.pause()
    return screen


async def show_tab(pilot, key: str) -> list[str]:
    await pilot.press(key)
    await pilot.pause()
    await pilot.pause()
    return screen_text(pilot.app)


@SIZES
async def test_confusions_the_worst_listed_and_the_matrix_where_it_fits(size):
    app = TrainerApp()
    async with app.run_test(size=size) as pilot:
        screen = await open_result(pilot, result(10))
        text = "\n".join(await show_tab(pilot, "2"))
        worst = screen.query_one("#eval-worst")
        # Classes 2, 5, 8 lose 2 images each, 1, 4, 7 one: the twos first, in class order.
        assert worst.row_count == 6 and [str(c) for c in worst.get_row_at(0)] == ["class_2", "class_3", "2", "20.00%"]
        assert "The worst confusions" in text and "class_2" in text
        counts, shares = screen.query_one("#eval-matrix"), screen.query_one("#eval-matrix-share")
        assert counts.fits and shares.fits, "10 classes fit 80 columns"
        rows = [line for line in text.splitlines() if "2 class_2" in line]
        cells = rows[0].strip("█ ").split()[2:]  # past "2 class_2", within the dialog's border
        assert cells == ["·", "·", "8", "2", "·", "·", "·", "·", "·", "·"], "row 2: 8 right, 2 taken for class 3"


@SIZES
async def test_a_hundred_classes_list_the_worst_and_say_the_matrix_does_not_fit(size):
    app = TrainerApp()
    async with app.run_test(size=size) as pilot:
        screen = await open_result(pilot, result(100))
        await show_tab(pilot, "2")
        matrix = screen.query_one("#eval-matrix")
        assert not matrix.fits and screen.query_one("#eval-worst").row_count == 10
        matrix.scroll_visible(animate=False)  # below the worst confusions: scrolled to
        await pilot.pause()
        await pilot.pause()
        text = " ".join(line.strip("█ ") for line in screen_text(app))
        assert "The 100x100 matrix needs" in text and "see the worst confusions" in text, text


@SIZES
async def test_misclassified_images_in_half_blocks_with_their_classes(size):
    app = TrainerApp()
    async with app.run_test(size=size) as pilot:
        await open_result(pilot, result(4, wrong=3))
        lines = await show_tab(pilot, "3")
        blocks = [line for line in lines if line.startswith("█ " + "▄" * 32)]  # not the border's bottom
        per_row = max(line.count("▄" * 32) for line in blocks)
        assert per_row == (2 if size[0] == 80 else 3), "as many a row as fit: 32 columns and a gap each"
        if size[1] == 40:  # a whole image, 8x8 pixels drawn as 32x16 cells, and its caption
            assert len(blocks) == 16
            text = "\n".join(lines)
            assert "true class_2" in text and "pred class_3 90%" in text


async def test_without_colour_the_images_are_a_brightness_ramp(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = TrainerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_result(pilot, result(4, wrong=1))
        lines = await show_tab(pilot, "3")
        assert not any("▄" in line.strip("█▄") for line in lines), "no half block but the dialog's border"
        image = [line for line in lines if "@" * 8 in line or "." * 8 in line]
        assert len(image) >= 2 and RAMP[-1] * 8 in "".join(image), "the bright corner is the ramp's last character"


async def test_all_right_says_so_on_both_tabs():
    app = TrainerApp()
    async with app.run_test(size=(80, 24)) as pilot:
        r = result(4, wrong=0)
        r.confusion = [[10 if t == p else 0 for p in range(4)] for t in range(4)]
        await open_result(pilot, r)
        assert any("No test image was misclassified" in line for line in await show_tab(pilot, "2"))
        assert any("No test image was misclassified" in line for line in await show_tab(pilot, "3"))
