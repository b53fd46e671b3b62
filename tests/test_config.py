"""The run config: presets parse, errors are one line with hints, overrides apply."""

from __future__ import annotations

import pytest

from tui_trainer import presets
from tui_trainer.config import RunConfig, load_toml_text, override_text, parse_override, parse_text
from tui_trainer.errors import ConfigError
from tui_trainer.launch import shorthand_overrides

BUILTIN = [
    "resnet50-cifar10",
    "resnet-small-cifar10",
    "resnet-small-adam-cifar10",
    "cnn-dropout-cifar10",
    "resnet18-tv-cifar10",
    "vgg16-cifar10",
    "digits-cnn",
]


def test_all_builtin_presets_are_listed_and_parse():
    names = presets.available()
    for name in BUILTIN:
        assert name in names, name
        config = presets.load(name)
        assert config.name == name
        assert config.meta.description, f"{name} has no description"


@pytest.mark.parametrize("name", BUILTIN)
def test_preset_round_trips_through_toml(name):
    config = presets.load(name)
    again = RunConfig.from_dict(load_toml_text(config.to_toml(), "x"), name=name)
    assert again == config


def test_recipe_numbers_of_the_resnet50_preset():
    c = presets.load("resnet50-cifar10")
    assert (c.optim.name, c.optim.lr, c.optim.momentum, c.optim.weight_decay) == ("sgd", 0.1, 0.9, 5e-4)
    assert (c.schedule.name, c.schedule.step_size, c.schedule.gamma) == ("step", 10, 0.5)
    assert (c.data.batch_size, c.data.augment, c.data.crop_padding, c.data.normalize) == (256, ["crop"], 4, "auto")
    assert (c.train.epochs, c.train.seed) == (150, 777)
    assert c.model.options["layers"] == [3, 4, 6, 3] and c.model.options["block"] == "bottleneck"
    assert "85.76" in c.meta.description


def test_recipe_numbers_of_the_other_presets():
    vgg = presets.load("vgg16-cifar10")
    assert (vgg.optim.lr, vgg.schedule.step_size, vgg.schedule.gamma, vgg.data.batch_size, vgg.train.epochs) == (
        0.005,
        5,
        0.9,
        512,
        50,
    )
    small = presets.load("resnet-small-cifar10")
    assert (small.data.crop_padding, small.data.augment, small.schedule.step_size, small.train.epochs) == (
        1,
        ["crop", "hflip"],
        50,
        300,
    )
    assert small.data.mean == [0.5, 0.5, 0.5]
    for name, acc in [
        ("resnet-small-adam-cifar10", 73.14),
        ("cnn-dropout-cifar10", 64.86),
        ("resnet18-tv-cifar10", 70.31),
    ]:
        c = presets.load(name)
        assert c.meta.reported_acc == acc and str(acc) in c.meta.description
        assert (c.optim.name, c.optim.lr, c.data.batch_size, c.data.augment) == ("adam", 1e-3, 64, ["hflip"])


@pytest.mark.parametrize(
    "data, fragments",
    [
        ({"optim": {"lrr": 0.1}}, ["unknown key 'optim.lrr'", "did you mean 'lr'"]),
        ({"optim": {"lr": -0.1}}, ["optim.lr", "-0.1", "> 0"]),
        ({"optim": {"lr": "fast"}}, ["optim.lr", '"fast"', "a number"]),
        ({"optim": {"name": "adamm"}}, ["optim.name", "did you mean 'adam'", "allowed: sgd"]),
        ({"data": {"batch_size": 0}}, ["data.batch_size", "0", ">= 1"]),
        ({"data": {"batch_size": 1.5}}, ["data.batch_size", "an integer"]),
        ({"train": {"epochs": 0}}, ["train.epochs", ">= 1"]),
        ({"train": {"device": "gpu"}}, ["train.device", "auto, cpu, cuda"]),
        ({"trian": {"epochs": 3}}, ["unknown section 'trian'", "did you mean 'train'"]),
        ({"data": {"augment": ["flip"]}}, ["data.augment", "did you mean 'hflip'"]),
        ({"data": {"dataset": "cifar"}}, ["data.dataset", "did you mean 'cifar10'"]),
        ({"model": {"arch": "resnt"}}, ["model.arch", "did you mean 'resnet'"]),
        ({"optim": {"name": "adam", "nesterov": True}}, ["nesterov", "sgd", '"adam"', "optim.nesterov = false"]),
        ({"train": {"epochs": True}}, ["train.epochs", "an integer"]),
        ({"optim": {"lr": float("nan")}}, ["optim.lr", "finite"]),
        ({"schedule": {"name": "multistep"}}, ["schedule.milestones"]),
        # The right key under the wrong section names its section.
        ({"train": {"lr": 0.1}}, ["unknown key 'train.lr'", "did you mean 'optim.lr'", "allowed in [train]: epochs"]),
        ({"train": {"batch_size": 64}}, ["did you mean 'data.batch_size'"]),
        ({"train": {"lrr": 0.1}}, ["did you mean 'optim.lr'"]),
        (
            {"model": {"arch": "resnet", "momentum": 0.9}},
            ["did you mean 'optim.momentum'", "allowed in [model]: arch, block"],
        ),
        ({"model": {"arch": "resnet"}, "optim": {"block": "basic"}}, ["did you mean 'model.block'"]),
    ],
)
def test_config_errors_are_one_line_and_helpful(data, fragments):
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict(data)
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize("section, key", [("train", "dropout"), ("train", "zzz"), ("data", "depth")])
def test_no_other_section_is_suggested_for_a_key_that_is_nowhere(section, key):
    with pytest.raises(ConfigError) as err:  # a resnet has no dropout; nothing is close to "zzz"
        RunConfig.from_dict({"model": {"arch": "resnet"}, section: {key: 1}})
    assert "did you mean" not in str(err.value), str(err.value)


def test_overrides_apply_with_toml_syntax():
    base = presets.load("digits-cnn")
    c = base.with_overrides(["optim.lr=0.05", 'data.augment=["hflip"]', "optim.name=sgd", "train.seed=none"])
    assert c.optim.lr == 0.05 and c.data.augment == ["hflip"] and c.optim.name == "sgd" and c.train.seed is None
    assert base.optim.lr == 3e-3, "overrides must not change the original"
    # none survives a round trip through TOML
    assert RunConfig.from_dict(load_toml_text(c.to_toml(), "x")).train.seed is None


def test_changing_arch_starts_from_the_new_family_defaults():
    c = presets.load("resnet50-cifar10").with_overrides(["model.arch=vgg"])
    assert c.model.arch == "vgg" and "block" not in c.model.options


def test_model_options_can_be_overridden():
    c = presets.load("resnet-small-cifar10").with_overrides(["model.layers=[1, 1, 1]"])
    assert c.model.options["layers"] == [1, 1, 1]


@pytest.mark.parametrize("path", ["/data/cifar-10", "./data", "~/data/cifar10.tar.xz", "data/imgs+more"])
def test_a_plain_path_needs_no_toml_quotes(path):
    c = presets.load("digits-cnn").with_overrides(["data.dataset=imagefolder", f"data.root={path}"])
    assert c.data.root == path


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("optim.lr", "expected section.key=value"),
        ("lr=0.1", "section.key"),
        ("optimm.lr=0.1", "did you mean 'optim'"),
        ("optim.lr=[1,", "not a TOML value"),
        ("data.root=my data", """strings in quotes: --set 'data.root="my data"'"""),
        ("data.augment=[hflip", "lists in [ ] with their strings quoted"),
        ("train.epochs=", "train.epochs: no value given"),
        ("train.epochs=1 2", 'train.epochs: "1 2" is not valid; expected an integer'),
        ("train.epochs= ", "train.epochs: no value given"),
        ("optim.lr={a=1}", "tables are not allowed"),
        # One item where a list belongs: the message shows the list it would be.
        ("data.augment=crop", 'expected a list of strings, e.g. ["crop"]'),
        ("model.widths=3", "expected a list of integers, e.g. [3]"),
        ("model.widths=true", "expected a list of integers"),
        # Whole bounds in full, not 4.29497e+09.
        ("train.seed=-1", "allowed: >= 0 and <= 4294967295"),
    ],
)
def test_bad_override_syntax(text, fragment):
    with pytest.raises(ConfigError) as err:
        presets.load("digits-cnn").with_overrides([text])
    assert fragment in str(err.value)


def test_parse_override_bare_words_and_quotes():
    assert parse_override("optim.name=adam") == ("optim.name", "adam")
    assert parse_override('optim.name="adam"') == ("optim.name", "adam")
    assert parse_override("train.compile=true") == ("train.compile", True)
    assert parse_override("model.arch=torchvision:resnet18") == ("model.arch", "torchvision:resnet18")
    assert parse_override(" optim.lr = 5e-2 ") == ("optim.lr", 0.05)


# -- one value by key: get, check_value, with_value -----------------------------------------


def test_with_value_returns_a_new_validated_config():
    base = presets.load("digits-cnn")
    c = base.with_value("optim.lr", 0.01)
    assert c.optim.lr == 0.01 and c.get("optim.lr") == 0.01 and c.name == "digits-cnn"
    assert base.optim.lr == 3e-3, "the original is unchanged"
    assert base.with_value("train.epochs", 4.0).train.epochs == 4  # converted as a preset's value is
    assert base.with_value("train.seed", None).train.seed is None
    assert base.with_value("data.augment", ("crop",)).get("data.augment") == ["crop"]


@pytest.mark.parametrize(
    "key, value, fragments",
    [
        ("optim.lr", 0, ["optim.lr: 0", "out of range", "allowed: > 0 and <= 100"]),
        ("optim.name", "adm", ['optim.name: unknown value "adm"', "did you mean 'adam'", "allowed: sgd, adam, adamw"]),
        ("data.augment", ["crop", "flip"], ["data.augment", "allowed: crop, hflip"]),
        ("optim.lrr", 0.1, ["unknown key 'optim.lrr'", "did you mean 'lr'", "allowed in [optim]: name, lr"]),
        ("train.lr", 0.1, ["unknown key 'train.lr'", "did you mean 'optim.lr'", "allowed in [train]: epochs"]),
        ("model.momentum", 0.9, ["unknown key 'model.momentum'", "did you mean 'optim.momentum'"]),
        ("optimm.lr", 0.1, ["unknown section 'optimm'", "did you mean 'optim'", "allowed: meta, model"]),
        ("lr", 0.1, ["key 'lr' is not section.key", "e.g. optim.lr"]),
        ("optim.lr.x", 0.1, ["is not section.key"]),
        # A rule across keys is with_value's too (check_value checks one field only).
        ("optim.nesterov", True, ["optim.nesterov = true needs optim.name"]),
    ],
)
def test_with_value_refuses_in_one_line_naming_what_is_allowed(key, value, fragments):
    base = presets.load("resnet-small-adam-cifar10")
    with pytest.raises(ConfigError) as err:
        base.with_value(key, value)
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_with_values_applies_in_turn_and_a_new_arch_starts_from_its_family_defaults():
    base = presets.load("resnet-small-cifar10")
    c = base.with_values([("model.arch", "small_cnn"), ("model.widths", [8, 16]), ("optim.lr", 0.2)])
    assert c.get("model.arch") == "small_cnn" and c.get("model.widths") == [8, 16] and "block" not in c.model.options
    assert c.optim.lr == 0.2
    # The same arch again keeps the options set before it.
    assert base.with_values([("model.layers", [1, 1, 1]), ("model.arch", "resnet")]).get("model.layers") == [1, 1, 1]
    assert base.with_values([]) == base


def test_check_value_checks_one_field_as_it_is_typed():
    config = presets.load("resnet-small-adam-cifar10")
    assert config.check_value("optim.lr", 1) == 1.0 and isinstance(config.check_value("optim.lr", 1), float)
    assert config.check_value("optim.nesterov", True) is True  # alone it is fine; with adam it is not
    assert config.check_value("model.layers", [2, 2, 2]) == [2, 2, 2]  # the config's arch declares it
    assert config.check_value("model.arch", "vgg") == "vgg"
    with pytest.raises(ConfigError, match=r"optim.lr: -1(\.0)? is out of range"):
        config.check_value("optim.lr", -1)
    with pytest.raises(ConfigError, match="did you mean 'optim.lr'"):
        config.check_value("train.lr", 0.1)


def test_get_names_a_key_that_is_not_there():
    config = presets.load("digits-cnn")
    assert config.get("data.dataset") == "digits" and config.get("model.arch") == config.model.arch
    with pytest.raises(ConfigError, match="did you mean 'data.batch_size'"):
        config.get("train.batch_size")


@pytest.mark.parametrize(
    "text, value",
    [
        ("0.05", 0.05),
        ("[5, 10]", [5, 10]),
        ("adam", "adam"),
        ("/data/cifar-10", "/data/cifar-10"),
        ('"my data"', "my data"),
        ("none", "none"),  # a string: the optional fields read it as None
        (" true ", True),
    ],
)
def test_parse_text_reads_toml_values_and_bare_words(text, value):
    assert parse_text("x.y", text) == value


def test_parse_text_errors_name_the_key():
    with pytest.raises(ConfigError) as err:
        parse_text("train.device", "my gpu")
    assert str(err.value).startswith("train.device: 'my gpu' is not a TOML value")


@pytest.mark.parametrize("value", ["cpu", 'a "quoted" \\ path', 7, 0.1, 1e-7, True, None, ["crop", "hflip"], [1, 2]])
def test_override_text_is_read_back_as_the_same_value(value):
    key, back = parse_override(override_text("data.root", value))
    assert key == "data.root" and back == ("none" if value is None else value)


def test_shorthands_are_overrides(tmp_path):
    c = presets.load("resnet-small-cifar10").with_overrides(shorthand_overrides(7, "cpu", str(tmp_path / 'a "b"')))
    assert c.train.epochs == 7 and c.train.device == "cpu" and c.data.root == str(tmp_path / 'a "b"')


def test_a_relative_data_root_is_kept_absolute(tmp_path, monkeypatch, isolated_dirs):
    # A run's config must find its data from any folder: a resume or an eval started
    # elsewhere, or the app. Relative roots are made absolute, whichever way they came.
    from tui_trainer.launch import prepare

    monkeypatch.chdir(tmp_path)
    assert shorthand_overrides(data_root="data/cifar") == [f'data.root="{tmp_path / "data" / "cifar"}"']
    launch = prepare("resnet-small-cifar10", ['data.root="rel/x"'], check=None)  # no data there: not the point
    assert launch.config.data.root == str(tmp_path / "rel" / "x")
    assert f'root = "{tmp_path / "rel" / "x"}"' in (launch.run.dir / "config.toml").read_text()


# -- rules that need the images' shape: at config time where the config knows it ----------


@pytest.mark.parametrize(
    "data, fragments",
    [
        (
            {"dataset": "cifar10", "normalize": "fixed", "mean": [0.5], "std": [0.25]},
            ['normalize = "fixed" needs 3 value(s) each', "3-channel images; got 1 and 1"],
        ),
        (
            {"dataset": "digits", "augment": ["crop"], "crop_fill": "reflect", "crop_padding": 8},
            ["data.crop_padding: reflect padding must be smaller than the images (8 pixels), got 8"],
        ),
        (
            {"dataset": "cifar10", "image_size": 16, "augment": ["crop"], "crop_fill": "reflect", "crop_padding": 20},
            ["smaller than the images (16 pixels), got 20", 'data.crop_fill = "zero"'],
        ),
        (  # an image folder's side is known once data.image_size sets it
            {
                "dataset": "imagefolder",
                "root": "/x",
                "image_size": 8,
                "augment": ["crop"],
                "crop_fill": "reflect",
                "crop_padding": 8,
            },
            ["smaller than the images (8 pixels), got 8"],
        ),
        (
            {"dataset": "synthetic", "synthetic_channels": 1, "normalize": "fixed", "mean": [0.5] * 3, "std": [1] * 3},
            ["needs 1 value(s) each"],
        ),
    ],
)
def test_image_shape_rules_are_checked_when_the_config_is_read(data, fragments):
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict({"data": data})
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_image_shape_rules_pass_what_fits_and_leave_image_folders_to_load_time():
    ok = {"dataset": "digits", "augment": ["crop"], "crop_fill": "reflect", "crop_padding": 7}
    assert RunConfig.from_dict({"data": ok}).data.crop_padding == 7
    zero = {"dataset": "digits", "augment": ["crop"], "crop_fill": "zero", "crop_padding": 12}
    assert RunConfig.from_dict({"data": zero}).data.crop_padding == 12  # zeros reach any distance
    folder = {"dataset": "imagefolder", "root": "/x", "augment": ["crop"], "crop_fill": "reflect", "crop_padding": 40}
    assert RunConfig.from_dict({"data": folder}).data.crop_padding == 40  # its images' size is not known yet


def test_unknown_preset_suggests():
    with pytest.raises(ConfigError) as err:
        presets.load("digit-cnn")
    assert "did you mean 'digits-cnn'" in str(err.value)


def test_user_presets_add_and_override(isolated_dirs):
    user = isolated_dirs["TUI_TRAINER_PRESETS"]
    c = presets.load("digits-cnn").with_overrides(["train.epochs=3"])
    path = presets.save_user_preset("my-digits", c)
    assert path.parent == user
    assert presets.load("my-digits").train.epochs == 3
    presets.save_user_preset("digits-cnn", c)
    entry = presets.available()["digits-cnn"]
    assert entry.source == "user" and entry.overrides_builtin
    assert presets.load("digits-cnn").train.epochs == 3
    with pytest.raises(ConfigError):
        presets.save_user_preset("../evil", c)


def test_malformed_toml_preset_is_one_line(isolated_dirs):
    user = isolated_dirs["TUI_TRAINER_PRESETS"]
    user.mkdir(parents=True)
    (user / "broken.toml").write_text("[optim\nlr = 1\n")
    with pytest.raises(ConfigError) as err:
        presets.load("broken")
    assert "invalid TOML" in str(err.value) and "\n" not in str(err.value)


def test_a_value_typed_in_the_editor_is_explained_without_the_command_line():
    from tui_trainer.config import parse_text

    for key, text, said in (
        ("data.root", "my data", 'strings in quotes: "my data")'),
        ("model.widths", "[8, x", 'e.g. ["crop", "hflip"])'),
    ):
        with pytest.raises(ConfigError) as err:
            parse_text(key, text, in_editor=True)
        assert str(err.value).endswith(said) and "--set" not in str(err.value) and "data.augment=" not in str(err.value)
