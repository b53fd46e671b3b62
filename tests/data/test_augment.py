"""Batched augmentations and the device-resident batches."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tui_trainer.config import DataConfig, RunConfig
from tui_trainer.data import DeviceData, ImageData, normalize, random_crop, random_hflip
from tui_trainer.data.augment import crop_at, crop_offsets
from tui_trainer.data.sources import channel_stats
from tui_trainer.errors import ConfigError, DataError


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TUI_TRAINER_CACHE", str(tmp_path / "cache"))


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_images(n: int, c: int = 3, h: int = 8, w: int = 8, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, 256, (n, c, h, w), generator=gen(seed), dtype=torch.uint8)


def window_offsets(out: torch.Tensor, x: torch.Tensor, p: int) -> list[tuple[int, int]]:
    """Every (row, col) offset at which out is a window of x zero-padded by p."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (p, p, p, p))
    return [
        (dy, dx)
        for dy in range(2 * p + 1)
        for dx in range(2 * p + 1)
        if torch.equal(padded[:, dy : dy + h, dx : dx + w], out)
    ]


# -- random_crop ----------------------------------------------------------------------------


@pytest.mark.parametrize("p", [1, 3])
def test_crop_is_a_window_of_the_padded_image(p):
    x = random_images(64, c=3, h=8, w=6)
    y = random_crop(x, p, gen())
    assert y.shape == x.shape and y.dtype == torch.uint8
    seen = set()
    for i in range(len(x)):
        offsets = window_offsets(y[i], x[i], p)
        assert offsets, f"image {i} is not a window of its padded input"
        assert all(0 <= dy <= 2 * p and 0 <= dx <= 2 * p for dy, dx in offsets)
        seen.update(offsets)
    assert len(seen) > 5  # not all the same translation
    assert torch.equal(random_crop(x, p, gen()), y)  # same generator state, same crops


def test_crop_offsets_cover_the_range_uniformly():
    p, n, size = 2, 5000, 9
    x = torch.zeros(n, 1, size, size, dtype=torch.uint8)
    x[:, :, size // 2, size // 2] = 255  # a single bright pixel tells where the window went
    y = random_crop(x, p, gen(3))
    pos = y.view(n, -1).argmax(1)
    assert bool((y.view(n, -1).max(1).values == 255).all())  # the centre never falls out
    dy = size // 2 - pos // size + p
    dx = size // 2 - pos % size + p
    counts = torch.bincount(dy * (2 * p + 1) + dx, minlength=(2 * p + 1) ** 2)
    assert counts.numel() == 25 and bool((counts > 0).all())
    expected = n / 25
    assert bool(((counts - expected).abs() < 0.35 * expected).all()), counts.tolist()


def test_crop_without_padding_and_with_channels_last():
    x = random_images(10)
    assert torch.equal(random_crop(x, 0, gen()), x)
    cl = x.contiguous(memory_format=torch.channels_last)
    assert torch.equal(random_crop(cl, 2, gen(5)), random_crop(x, 2, gen(5)))


@pytest.mark.parametrize("p", [1, 2, 4])
def test_reflect_crop_is_a_window_of_the_reflect_padded_image(p):
    x = random_images(40, c=3, h=7, w=5, seed=4)
    # The definition: F.pad's reflect mode (on float, which every device supports).
    padded = F.pad(x.float(), (p, p, p, p), mode="reflect").to(torch.uint8)
    h, w = x.shape[-2:]
    every = torch.tensor([(dy, dx) for dy in range(2 * p + 1) for dx in range(2 * p + 1)])
    for i in range(len(x)):
        out = crop_at(x[i : i + 1].expand(len(every), -1, -1, -1), p, every, fill="reflect")
        for (dy, dx), img in zip(every.tolist(), out, strict=False):
            assert torch.equal(img, padded[i, :, dy : dy + h, dx : dx + w]), (i, dy, dx)
    # random_crop draws its offsets as the zero-filled crop does; only the fill differs.
    y = random_crop(x, p, gen(2), fill="reflect")
    drawn = crop_offsets(len(x), p, gen(2), "cpu")
    assert y.dtype == torch.uint8 and torch.equal(y, crop_at(x, p, drawn, fill="reflect"))
    assert torch.equal(random_crop(x, p, gen(2)), crop_at(x, p, drawn))
    assert not torch.equal(y, crop_at(x, p, drawn))


def test_reflect_crop_refuses_padding_as_large_as_the_image():
    x = random_images(2, h=4, w=4)
    with pytest.raises(ValueError, match="reflect padding 4"):
        random_crop(x, 4, gen(), fill="reflect")


def test_fill_and_flip_names_are_the_configs_to_check():
    # The batches do not check the names again: an unknown one is refused, in one line,
    # when the config is read, before any data is loaded.
    for key, bad, allowed in (
        ("crop_fill", "mirror", "allowed: zero, reflect"),
        ("flip_mode", "sometimes", "allowed: random, alternate"),
        ("augment", ["crop", "rotate"], "allowed: crop, hflip"),
        ("normalize", "z", "allowed: auto, fixed, none"),
    ):
        with pytest.raises(ConfigError, match=f"data.{key}: .*{allowed}"):
            RunConfig.from_dict({"data": {key: bad}})


# -- random_hflip ---------------------------------------------------------------------------


def test_hflip_flips_exactly_the_chosen_images():
    x = random_images(2000, c=2, h=4, w=5)
    y = random_hflip(x, gen(7))
    same = (y == x).flatten(1).all(1)
    flipped = (y == x.flip(-1)).flatten(1).all(1)
    assert bool((same ^ flipped).all())  # each image is itself or its exact mirror (none symmetric)
    mask = torch.rand(2000, generator=gen(7)) < 0.5  # the documented draw
    assert torch.equal(flipped, mask)
    assert 0.45 < float(flipped.double().mean()) < 0.55
    assert torch.equal(random_hflip(x, gen(), p=0.0), x)
    assert torch.equal(random_hflip(x, gen(), p=1.0), x.flip(-1))


# -- normalize ------------------------------------------------------------------------------


def test_normalize_matches_the_formula_and_statistics():
    x = random_images(500, c=3, h=6, w=6)
    x[:, 1] //= 2  # give the channels different statistics
    mean, std = (0.4, 0.3, 0.6), (0.2, 0.25, 0.5)
    y = normalize(x, mean, std)
    ref = (x.double() / 255 - torch.tensor(mean).view(1, 3, 1, 1).double()) / torch.tensor(std).view(
        1, 3, 1, 1
    ).double()
    assert y.dtype == torch.float32 and torch.allclose(y.double(), ref, atol=1e-5)
    # With the data's own statistics: mean 0, std 1 per channel.
    m, s = channel_stats(x)
    z = normalize(x, m, s).double()
    assert torch.allclose(z.mean(dim=(0, 2, 3)), torch.zeros(3, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(
        z.transpose(0, 1).reshape(3, -1).std(1, unbiased=False), torch.ones(3, dtype=torch.float64), atol=1e-5
    )
    # None: just x / 255; dtype honoured; memory format kept.
    assert torch.equal(normalize(x), x.float() / 255)
    assert normalize(x, mean, std, dtype=torch.float64).dtype == torch.float64
    cl = x.contiguous(memory_format=torch.channels_last)
    assert normalize(cl, mean, std).is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError):
        normalize(x, (0.5, 0.5), (0.2, 0.2))


# -- DeviceData -----------------------------------------------------------------------------


def make_data(n_train: int = 1000, n_test: int = 300, c: int = 3, size: int = 8) -> ImageData:
    """Labels are image indices, so batches show which images they hold."""
    train_x = random_images(n_train, c, size, size, seed=2)
    test_x = random_images(n_test, c, size, size, seed=3)
    mean, std = channel_stats(train_x)
    return ImageData(
        train_x=train_x,
        train_y=torch.arange(n_train),
        test_x=test_x,
        test_y=torch.arange(n_test),
        classes=tuple(str(i) for i in range(max(n_train, n_test))),
        mean=mean,
        std=std,
        source="test data",
    )


def test_every_training_image_once_per_epoch():
    data = make_data()
    dd = DeviceData(data, "cpu", DataConfig(normalize="none"))
    assert dd.num_train == 1000 and dd.num_test == 300 and dd.info == data.info
    g = gen(0)
    epochs = []
    for _ in range(2):
        batches = list(dd.train_batches(128, g, augment=[], padding=0))
        assert [len(y) for _, y in batches] == [128] * 7 + [104]  # last partial batch kept
        ys = torch.cat([y for _, y in batches])
        assert torch.equal(ys.sort().values, torch.arange(1000))
        for x, y in batches:
            assert x.dtype == torch.float32
            assert torch.equal(x, data.train_x[y].float() / 255)  # no augmentation: the images themselves
        epochs.append(ys)
    assert not torch.equal(epochs[0], epochs[1])  # reshuffled each epoch


def test_same_generator_state_same_batches():
    dd = DeviceData(make_data(), "cpu", DataConfig())
    g = gen(42)
    state = g.get_state()
    first = list(dd.train_batches(100, g, ["crop", "hflip"], 2))
    after = g.get_state()
    g.set_state(state)
    second = list(dd.train_batches(100, g, ["crop", "hflip"], 2))
    assert torch.equal(g.get_state(), after)
    for (x1, y1), (x2, y2) in zip(first, second, strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    # The epoch is fixed when it starts: other draws between batches do not change it.
    g.set_state(state)
    third = []
    for x, y in dd.train_batches(100, g, ["crop", "hflip"], 2):
        torch.rand(5, generator=g)
        third.append((x, y))
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, third, strict=True))


def test_augmented_batches_are_crops_and_flips_of_the_right_images():
    data = make_data(n_train=200)
    dd = DeviceData(data, "cpu", DataConfig(normalize="none"))
    p = 2
    flips = 0
    for x, y in dd.train_batches(64, gen(9), ["crop", "hflip"], p):
        u8 = (x * 255).round().to(torch.uint8)
        for img, idx in zip(u8, y.tolist(), strict=False):
            src = data.train_x[idx]
            if window_offsets(img, src, p):
                continue
            assert window_offsets(img.flip(-1), src, p), f"image {idx} is neither a crop nor a flipped crop"
            flips += 1
    assert 60 < flips < 140


def epoch_batches(dd: DeviceData, block_bytes: int, seed: int = 4, **kw) -> list[tuple[torch.Tensor, torch.Tensor]]:
    dd.block_bytes = block_bytes
    return list(dd.train_batches(64, gen(seed), ["crop", "hflip"], 2, crop_fill="reflect", **kw))


def test_batches_augmented_in_blocks_are_the_batch_by_batch_ones():
    """Blocks of batches are augmented at once (fewer ops a step); the batches must be
    what one block per batch gives, at any block size, from any start, in any layout."""
    dd = DeviceData(make_data(n_train=1000), "cpu", DataConfig(), channels_last=True)
    per_image = 4 * 3 * 8 * 8
    one_per_batch = epoch_batches(dd, 1)  # every block one batch: the definition
    assert [len(y) for _, y in one_per_batch] == [64] * 15 + [40]
    for block in (3 * 64 * per_image, 7 * 64 * per_image, 2**30):  # 3 or 7 batches a block, or the whole epoch
        blocked = epoch_batches(dd, block)
        assert len(blocked) == 16
        for (x1, y1), (x2, y2) in zip(one_per_batch, blocked, strict=True):
            assert torch.equal(y1, y2) and torch.equal(x1, x2)
            assert x2.is_contiguous(memory_format=torch.channels_last)
        # A mid-epoch resume starts at a batch, with the epoch's draws: the same tail.
        for start in (5, 15, 16):
            tail = epoch_batches(dd, block, start=start)
            assert len(tail) == 16 - start
            assert all(
                torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
                for a, b in zip(one_per_batch[start:], tail, strict=True)
            )
        capped = epoch_batches(dd, block, max_steps=10)  # a cap ends the last block early
        assert [len(y) for _, y in capped] == [64] * 10 and torch.equal(capped[-1][1], one_per_batch[9][1])
    with pytest.raises(ValueError, match="start"):
        epoch_batches(dd, 2**30, start=17)


def flipped_per_image(dd: DeviceData, data: ImageData, g: torch.Generator, epoch: int, **kw) -> torch.Tensor:
    """``[num_train]`` bool: which images an epoch showed mirrored (labels are indices)."""
    out = torch.zeros(dd.num_train, dtype=torch.bool)
    for x, y in dd.train_batches(96, g, ["hflip"], 0, epoch=epoch, **kw):
        u8 = (x * 255).round().to(torch.uint8)
        mirrored = (u8 == data.train_x[y].flip(-1)).flatten(1).all(1)
        assert bool((mirrored | (u8 == data.train_x[y]).flatten(1).all(1)).all())
        out[y] = mirrored
    return out


def test_alternating_flips_show_each_image_the_other_way_each_epoch():
    data = make_data(n_train=1000)
    dd = DeviceData(data, "cpu", DataConfig(normalize="none"))
    g = gen(5)
    seen = [flipped_per_image(dd, data, g, e, flip_mode="alternate") for e in range(4)]
    assert 0.4 < float(seen[0].double().mean()) < 0.6  # epoch 0: each image at random
    assert torch.equal(seen[1], ~seen[0]) and torch.equal(seen[2], seen[0]) and torch.equal(seen[3], ~seen[0])
    # The scheme depends on the generator's seed alone, not on its state: a run resumed
    # at epoch 3 (its generator restored from a saved state) flips as the straight run did.
    resumed = torch.Generator()
    resumed.set_state(g.get_state())
    assert torch.equal(flipped_per_image(dd, data, resumed, 3, flip_mode="alternate"), seen[3])
    assert not torch.equal(flipped_per_image(dd, data, gen(6), 0, flip_mode="alternate"), seen[0])
    # Random flips, for contrast: epoch 1 is not epoch 0 mirrored.
    r0, r1 = (flipped_per_image(dd, data, g, e) for e in range(2))
    assert not torch.equal(r1, ~r0) and 0.35 < float((r0 == r1).double().mean()) < 0.65


def test_reflect_crops_in_batches_and_bad_fill_or_mode():
    data = make_data(n_train=100, size=8)
    dd = DeviceData(data, "cpu", DataConfig(normalize="none"))
    p = 3
    for x, y in dd.train_batches(50, gen(1), ["crop"], p, crop_fill="reflect"):
        u8 = (x * 255).round().to(torch.uint8)
        for img, idx in zip(u8, y.tolist(), strict=False):
            padded = F.pad(data.train_x[idx].float(), (p, p, p, p), mode="reflect").to(torch.uint8)
            assert any(
                torch.equal(img, padded[:, dy : dy + 8, dx : dx + 8])
                for dy in range(2 * p + 1)
                for dx in range(2 * p + 1)
            ), idx
    # The images' size is known only now (the config knows it for the built-in sets only).
    with pytest.raises(DataError) as err:
        list(dd.train_batches(50, gen(), ["crop"], 8, crop_fill="reflect"))
    assert "smaller than the images (8 pixels)" in str(err.value) and "\n" not in str(err.value)


def test_test_batches_in_order_and_normalized():
    data = make_data()
    dd = DeviceData(data, "cpu", DataConfig())
    batches = list(dd.test_batches(128))
    assert [len(y) for _, y in batches] == [128, 128, 44]
    assert torch.equal(torch.cat([y for _, y in batches]), torch.arange(300))
    x = torch.cat([x for x, _ in batches])
    assert torch.allclose(x, normalize(data.test_x, data.mean, data.std), atol=1e-6)
    # "auto" normalisation: the training images have mean 0 and std 1 per channel.
    train = torch.cat([x for x, _ in dd.train_batches(1000, gen(), [], 0)]).double()
    assert torch.allclose(train.mean(dim=(0, 2, 3)), torch.zeros(3, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(
        train.transpose(0, 1).reshape(3, -1).std(1, unbiased=False), torch.ones(3, dtype=torch.float64), atol=1e-5
    )


def test_steps_per_epoch_and_max_steps():
    dd = DeviceData(make_data(), "cpu", DataConfig())
    assert dd.steps_per_epoch(128) == 8
    assert dd.steps_per_epoch(1000) == 1 and dd.steps_per_epoch(999) == 2
    assert dd.steps_per_epoch(128, max_steps=3) == 3
    assert dd.steps_per_epoch(128, max_steps=20) == 8
    assert len(list(dd.train_batches(128, gen(), [], 0, max_steps=3))) == 3


def test_normalization_modes_and_channels_last():
    data = make_data(n_train=50, n_test=10)
    fixed = DeviceData(data, "cpu", DataConfig(normalize="fixed", mean=[0.5] * 3, std=[0.25] * 3))
    x, y = next(fixed.test_batches(10))
    assert torch.allclose(x, (data.test_x.float() / 255 - 0.5) / 0.25, atol=1e-5)
    assert fixed.mean == (0.5,) * 3 and fixed.std == (0.25,) * 3
    with pytest.raises(DataError) as err:
        DeviceData(data, "cpu", DataConfig(normalize="fixed", mean=[0.5], std=[0.25]))
    assert "3" in str(err.value) and "\n" not in str(err.value)
    none = DeviceData(data, "cpu", DataConfig(normalize="none"))
    assert none.mean is None and torch.equal(next(none.test_batches(10))[0], data.test_x.float() / 255)
    auto = DeviceData(data, "cpu", DataConfig(), channels_last=True)
    assert auto.mean == data.mean
    for x, _ in auto.train_batches(16, gen(), ["crop", "hflip"], 4):
        assert x.is_contiguous(memory_format=torch.channels_last) and x.shape[1:] == (3, 8, 8)
    assert next(auto.test_batches(4))[0].is_contiguous(memory_format=torch.channels_last)


def test_generator_on_another_device_is_refused():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device to have a generator on another device than the data")
    dd = DeviceData(make_data(n_train=10, n_test=2), "cpu", DataConfig())
    with pytest.raises(ValueError):
        list(dd.train_batches(4, torch.Generator(device="cuda"), [], 0))
