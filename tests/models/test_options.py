"""The model families' options without torch (models/options.py): validating a config,
the presets among them, imports neither torch nor torchvision; building a model still
goes through each family's own module."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tui_trainer import schema
from tui_trainer.config import RunConfig
from tui_trainer.errors import ConfigError
from tui_trainer.models import FAMILIES, options
from tui_trainer.models.options import TORCHVISION_MODELS, options_class


def test_the_static_torchvision_list_is_torchvisions():
    import torchvision

    from tui_trainer.models.torchvision_zoo import model_names

    assert TORCHVISION_MODELS == tuple(torchvision.models.list_models(module=torchvision.models)) == model_names()


def test_a_name_beyond_the_static_list_is_asked_of_the_installed_torchvision(monkeypatch):
    # As with a torchvision newer than the list: its models are accepted, a typo is not.
    monkeypatch.setattr(options, "TORCHVISION_MODELS", tuple(n for n in TORCHVISION_MODELS if n != "resnet18"))
    assert options_class("torchvision:resnet18") is FAMILIES["torchvision"]
    with pytest.raises(ConfigError, match="did you mean 'resnet18'"):
        options_class("torchvision:resnet1")


def test_each_family_builds_from_its_own_module():
    from tui_trainer.data.info import DataInfo
    from tui_trainer.models.cifar_resnet import CifarResNet
    from tui_trainer.models.dropout_cnn import ACTIVATIONS, DropoutCNN
    from tui_trainer.models.small_cnn import SmallCNN
    from tui_trainer.models.speedrun import SpeedrunNet
    from tui_trainer.models.vgg import VGG

    info = DataInfo(channels=3, num_classes=10, image_size=32)
    built = {
        "resnet": CifarResNet,
        "vgg": VGG,
        "dropout_cnn": DropoutCNN,
        "small_cnn": SmallCNN,
        "speedrun": SpeedrunNet,
    }
    for family, cls in built.items():
        opts = schema.parse(FAMILIES[family], {"classifier": [8]} if family == "vgg" else {}, "model")
        assert type(opts.build(info)) is cls
    assert tuple(ACTIVATIONS) == options.DROPOUT_CNN_ACTIVATIONS


def test_the_data_check_s_constants_are_the_loaders():
    from tui_trainer.data import availability, cache, raw

    assert availability.TORCHVISION_DIR == cache.TORCHVISION_DIR
    assert raw.LAYOUT_HINT is availability.LAYOUT_HINT


# In a fresh interpreter (this one has torch): validate every family, a torchvision model
# of the static list, every preset, a --set of a model key and the data check.
NO_TORCH = """
import json, sys
from tui_trainer import presets
from tui_trainer.config import RunConfig, declaration
from tui_trainer.data.availability import check
from tui_trainer.models import FAMILIES, options_class
for family in FAMILIES:
    options_class("torchvision:resnet18" if family == "torchvision" else family)
for name, entry in presets.available().items():
    presets.load_file(entry.path, name)
config = RunConfig.from_dict({"model": {"arch": "torchvision:vit_b_16", "resize": 224}})
config = config.with_overrides(["model.resize=96"])
declaration("model.widths", "small_cnn")
check(config.data)
print(json.dumps({m: m in sys.modules for m in ("torch", "torchvision", "numpy")}))
"""


def test_validating_configs_imports_no_torch(isolated_dirs):
    result = subprocess.run([sys.executable, "-c", NO_TORCH], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"torch": False, "torchvision": False, "numpy": False}


def test_options_round_trip_through_a_config():
    config = RunConfig.from_dict({"model": {"arch": "vgg", "cfg": "A", "classifier": [64]}})
    assert config.model.options["cfg"] == "A" and config.model.options["classifier"] == [64]
    assert options.VGGOptions(cfg="A").layer_list() == options.NAMED_CFGS["A"]
