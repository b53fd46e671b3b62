"""Every preset builds its model and takes real training steps through the engine, on
synthetic data of the preset's image shape (the real data sets are not needed)."""

from __future__ import annotations

import pytest
from helpers import Collector

from tui_trainer import events as ev
from tui_trainer import presets
from tui_trainer.engine import Trainer


@pytest.mark.parametrize("name", sorted(presets.available()))
def test_preset_takes_a_step(name):
    config = presets.load(name)
    image, channels = (8, 1) if config.data.dataset == "digits" else (32, 3)
    config = config.with_overrides(
        [
            'data.dataset="synthetic"',
            f"data.synthetic_image={image}",
            f"data.synthetic_channels={channels}",
            "data.synthetic_size=8",
            "data.batch_size=4",
            "data.test_limit=4",
            'train.device="cpu"',
            "train.epochs=1",
            "train.max_steps_per_epoch=2",
            "train.compile=false",
        ]
        + (['data.normalize="auto"'] if config.data.normalize == "fixed" and len(config.data.mean) != channels else [])
    )
    col = Collector()
    end = Trainer(config, subscribers=[col]).run()
    assert isinstance(end, ev.Finished), getattr(end, "reason", end)
    (epoch,) = col.of(ev.EpochEnd)
    assert epoch.step == 2 and epoch.train_loss > 0
    assert col.of(ev.RunStarted)[0].param_count > 0
