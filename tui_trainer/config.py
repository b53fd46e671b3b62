"""The run config: every setting of a training run, typed and validated, in one place.

A config is plain TOML with the sections below; a preset is such a file. The model
section holds ``arch`` plus the options of that architecture's family, which the
family declares (see :mod:`tui_trainer.models`). Every error is one line (see
:mod:`.errors`).

One value is addressed by its key, ``"section.key"``: :meth:`RunConfig.get` reads it,
:meth:`RunConfig.with_value` / :meth:`RunConfig.with_values` return a new config with it
changed, validated as a preset is (so every check happens here, once). The command
line's ``--set section.key=value`` is the text form: :func:`parse_override` turns it into
a key and a value (TOML value syntax, bare words and paths without quotes), which
:meth:`RunConfig.with_overrides` applies the same way.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

from . import schema
from .errors import ConfigError, did_you_mean, one_of
from .models.options import options_class  # the families' options: no torch
from .schema import option

DATASETS = ("cifar10", "cifar100", "mnist", "fashion_mnist", "svhn", "imagefolder", "digits", "synthetic")
AUGMENTATIONS = ("crop", "hflip")
CROP_FILLS = ("zero", "reflect")
FLIP_MODES = ("random", "alternate")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "multistep", "cosine", "linear", "onecycle")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass
class MetaConfig:
    description: str = option("", help="What this preset is and which recipe it recreates")
    reported_acc: float | None = option(None, min=0, max=100, help="Test accuracy the recipe reported (%)")
    target_acc: float | None = option(None, min=0, max=100, help="Accuracy at which time-to-accuracy is reported (%)")


@dataclass
class ModelConfig:
    """``arch`` names a family (or ``torchvision:NAME``); ``options`` are that family's settings."""

    arch: str = "small_cnn"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataConfig:
    dataset: str = option("digits", choices=DATASETS, help="Data set")
    root: str | None = option(None, help="Folder (or archive, for imagefolder) holding the data set")
    download: bool = option(False, help="Download a torchvision data set into the cache folder if missing")
    batch_size: int = option(128, min=1, max=65536, help="Training batch size")
    eval_batch_size: int = option(1024, min=1, max=65536, help="Evaluation batch size")
    drop_last: bool = option(False, help="Skip each epoch's last partial batch (always so with train.compile)")
    augment: list[str] = option([], item_choices=AUGMENTATIONS, help="Training augmentations")
    crop_padding: int = option(4, min=0, max=64, help="Padding for random crops (pixels)")
    crop_fill: str = option(
        "zero", choices=CROP_FILLS, help="What pads a random crop: zero (torchvision RandomCrop) or reflect (airbench)"
    )
    flip_mode: str = option(
        "random", choices=FLIP_MODES, help="hflip: random per image, or alternate (airbench: the other way each epoch)"
    )
    normalize: str = option("auto", choices=("auto", "fixed", "none"), help="auto: mean/std of the training set")
    mean: list[float] = option([], help='Per-channel mean when normalize = "fixed"')
    std: list[float] = option([], help='Per-channel std when normalize = "fixed"')
    image_size: int | None = option(None, min=8, max=1024, help="Resize images to this size (none: keep)")
    train_limit: int = option(0, min=0, help="Use only N training images, each class's first in turn (0: all)")
    test_limit: int = option(0, min=0, help="Use only N test images, each class's first in turn (0: all)")
    synthetic_size: int = option(512, min=1, max=1_000_000, help="Training images of the synthetic data set")
    synthetic_classes: int = option(10, min=2, max=1000, help="Classes of the synthetic data set")
    synthetic_image: int = option(32, min=8, max=512, help="Side of the synthetic images")
    synthetic_channels: int = option(3, min=1, max=4, help="Channels of the synthetic images")


@dataclass
class OptimConfig:
    name: str = option("sgd", choices=OPTIMIZERS, help="Optimizer")
    lr: float = option(0.1, gt=0, max=100, help="Learning rate")
    momentum: float = option(0.9, min=0, max=0.9999, help="Momentum (sgd, rmsprop)")
    nesterov: bool = option(False, help="Nesterov momentum (sgd)")
    weight_decay: float = option(0.0, min=0, max=1, help="Weight decay")
    betas: list[float] = option([0.9, 0.999], min=0, max=0.99999, length=2, help="Adam betas")
    norm_lr_scale: float = option(
        1.0,
        gt=0,
        max=1000,
        help="lr multiplier for normalization layers (weight decay per step unchanged; airbench: 64)",
    )


@dataclass
class ScheduleConfig:
    name: str = option("constant", choices=SCHEDULES, help="Learning-rate schedule")
    step_size: int = option(30, min=1, help="step: epochs between decays")
    gamma: float = option(0.1, gt=0, max=1, help="step/multistep: decay factor")
    milestones: list[int] = option([], min=1, help="multistep: epochs at which to decay")
    warmup_epochs: float = option(0.0, min=0, help="Linear warm-up, in epochs")
    warmup_start: float = option(0.0, min=0, max=1, help="Warm-up starts at this fraction of lr")
    final_lr_ratio: float = option(0.0, min=0, max=1, help="cosine/linear/onecycle: final lr as a fraction of lr")
    pct_start: float = option(0.25, gt=0, max=1, help="onecycle: fraction of the run spent rising")
    div_factor: float = option(25.0, min=1, help="onecycle: initial lr = lr / div_factor")


@dataclass
class TrainConfig:
    epochs: int = option(10, min=1, max=100_000, help="Epochs")
    device: str = option("auto", help="auto, cpu, cuda, cuda:N or mps")
    devices: int | str | list[int] = option(
        1, help='Processes, one a device: 1, a count N, "all" GPUs, or GPU indices like [0, 2] (cpu: N processes)'
    )
    sync_bn: bool = option(False, help="Synchronise BatchNorm statistics across GPUs (SyncBatchNorm; GPUs only)")
    dist_timeout: float = option(
        300.0,
        min=5,
        max=86_400,
        help="Seconds a rank waits for the others (a collective, the data load) before failing",
    )
    precision: str = option("auto", choices=PRECISIONS, help="auto: bf16 on GPUs that support it, else fp32")
    seed: int | None = option(0, min=0, max=2**32 - 1, help="Random seed (none: nondeterministic)")
    label_smoothing: float = option(0.0, min=0, max=0.99, help="Label smoothing")
    compile: bool = option(False, help="torch.compile the model (warm-up reported separately)")
    channels_last: bool = option(True, help="channels_last memory format on CUDA")
    grad_clip: float = option(0.0, min=0, help="Clip the gradient norm (0: off)")
    ema: float = option(0.0, min=0, max=0.99999, help="Keep an exponential moving average of the weights (0: off)")
    lookahead: float = option(
        0.0, min=0, max=0.99999, help="Lookahead weight averaging, per-step decay (airbench: 0.95; 0: off)"
    )
    lookahead_every: int = option(5, min=1, max=10_000, help="lookahead: steps between averaging")
    lookahead_start: int = option(3, min=0, max=100_000, help="lookahead: epochs trained before averaging starts")
    tta_flip: bool = option(False, help="Evaluate on the image and its mirror image")
    tta_translate: bool = option(False, help="Also evaluate on the image shifted a pixel up-left and down-right")
    max_steps_per_epoch: int = option(0, min=0, help="Cap on batches per epoch (0: all)")
    log_interval: float = option(0.25, gt=0, max=60, help="Seconds between step events (loss readbacks)")


@dataclass
class CheckpointConfig:
    every: int = option(1, min=0, help="Save every N epochs (0: only at the end)")
    keep_last: int = option(2, min=0, max=10_000, help="Keep the newest N epoch checkpoints")
    keep_best: int = option(1, min=0, max=10_000, help="Keep the N best checkpoints by test accuracy")


@dataclass
class LogConfig:
    tensorboard: bool = option(True, help="Also write TensorBoard event files into the run folder")
    system: bool = option(True, help="Sample GPU, CPU and memory use into the run's system.jsonl")
    system_interval: float = option(2.0, min=0.1, max=3600, help="Seconds between system samples")
    wandb: bool = option(False, help="Also log to W&B: an offline run in RUN/wandb (WANDB_MODE=online uploads live)")
    wandb_project: str = option("tui-trainer", help="The W&B project the run goes in")
    mlflow_uri: str = option(
        "", help="Also log to MLflow at this tracking URI (sqlite:///mlflow.db, http://...); empty: off"
    )


ALERTS = ("finished", "failed", "nan", "stalled", "target", "gpu_underused")


@dataclass
class NotifyConfig:
    command: str = option("", help="Shell command run on each alert (TUI_TRAINER_EVENT, _MESSAGE, _RUN_DIR set)")
    urls: list[str] = option([], help="Where alerts go, as apprise URLs (ntfy://, slack://, mailto://, json://, ...)")
    on: list[str] = option(list(ALERTS), item_choices=ALERTS, help="Which alerts are sent")
    stall_minutes: float = option(0.0, min=0, help="Alert when no step is trained for this long (0: off)")
    target_acc: float | None = option(None, min=0, max=100, help="Alert when the test accuracy first reaches it (%)")
    timeout: float = option(30.0, gt=0, max=3600, help="Seconds a notification may take before it counts as failed")


SECTIONS: dict[str, type] = {
    "meta": MetaConfig,
    "data": DataConfig,
    "optim": OptimConfig,
    "schedule": ScheduleConfig,
    "train": TrainConfig,
    "checkpoint": CheckpointConfig,
    "log": LogConfig,
    "notify": NotifyConfig,
}
ALL_SECTIONS = ("meta", "model", "data", "optim", "schedule", "train", "checkpoint", "log", "notify")


@dataclass
class RunConfig:
    name: str = "custom"
    meta: MetaConfig = field(default_factory=MetaConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    log: LogConfig = field(default_factory=LogConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)

    # -- conversion -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain data, as written to TOML, JSON and checkpoints. The name is not part of it."""
        out: dict[str, Any] = {}
        for section in ALL_SECTIONS:
            if section == "model":
                out["model"] = {"arch": self.model.arch, **schema.to_plain(self.model.options)}
            else:
                out[section] = schema.to_plain(getattr(self, section))
        return out

    @classmethod
    def from_dict(cls, data: Any, name: str = "custom") -> RunConfig:
        """The one place a config is validated: every key, every value, the rules across keys."""
        if not isinstance(data, dict):
            raise ConfigError(f"a config must be a table of sections, got {schema.fmt(data)}")
        for key, value in data.items():
            if key not in ALL_SECTIONS:
                raise ConfigError(_unknown_section(key))
            if not isinstance(value, dict):
                raise ConfigError(f"'{key}' must be a section ([{key}]), got {schema.fmt(value)}")
        _check_sections_of_keys(data)
        sections = {s: schema.parse(c, data.get(s, {}), s) for s, c in SECTIONS.items()}
        config = cls(name=name, model=parse_model(data.get("model", {})), **sections)
        validate(config)
        return config

    # -- one value, by key --------------------------------------------------------------
    def get(self, key: str) -> Any:
        """The value of ``key`` ("section.key"), as plain data (lists as lists, none as None)."""
        section, name = split_key(key)
        if (section, name) == ("model", "arch"):
            return self.model.arch
        values = self.model.options if section == "model" else schema.to_plain(getattr(self, section))
        if name not in values:
            declaration(key, self.model.arch)  # raises the unknown key's error
        return schema.to_plain(values[name])

    def check_value(self, key: str, value: Any) -> Any:
        """``value`` as ``key`` would hold it (converted, range-checked), or the one-line error.

        The field's own declaration only: the rules across keys (nesterov needs sgd, ...)
        are :meth:`with_value`'s. An editor checks each field with this as it is typed."""
        section, name = split_key(key)
        if (section, name) == ("model", "arch"):
            return parse_model({"arch": value}).arch
        f, annotation = declaration(key, self.model.arch)
        return schema.check_field(f, annotation, value, f"{section}.{name}")

    def with_value(self, key: str, value: Any) -> RunConfig:
        """A new config with ``key`` ("section.key") set to ``value``, validated as a preset is."""
        return self.with_values([(key, value)])

    def with_values(self, changes: Iterable[tuple[str, Any]]) -> RunConfig:
        """A new config with each ``(key, value)`` applied in turn, then validated as a whole.

        A new ``model.arch`` starts from its family's defaults: the options set so far
        belong to the old family (set the new family's options after it)."""
        data = self.to_dict()
        for key, value in changes:
            section, name = split_key(key)
            if (section, name) == ("model", "arch") and value != data["model"]["arch"]:
                data["model"] = {"arch": value}
            else:
                data[section][name] = value
        return RunConfig.from_dict(data, name=self.name)

    def with_overrides(self, overrides: Iterable[str]) -> RunConfig:
        """The command line's ``--set section.key=value`` texts applied (see :func:`parse_override`)."""
        return self.with_values(parse_override(text) for text in overrides)

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(copy.deepcopy(self), **changes)

    def to_toml(self) -> str:
        return dump_toml(self.to_dict())


def _unknown_section(section: str) -> str:
    return f"unknown section '{section}'{did_you_mean(section, ALL_SECTIONS)}; allowed: {one_of(ALL_SECTIONS)}"


def split_key(key: str) -> tuple[str, str]:
    """``"optim.lr"`` -> ``("optim", "lr")``, or the one-line error for a malformed key or an
    unknown section. Whether the section has that key is :func:`declaration`'s to say."""
    parts = key.strip().split(".")
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"key {key.strip()!r} is not section.key, e.g. optim.lr; sections: {one_of(ALL_SECTIONS)}")
    if parts[0] not in ALL_SECTIONS:
        raise ConfigError(_unknown_section(parts[0]))
    return parts[0], parts[1]


def declaration(key: str, arch: str = ModelConfig.arch) -> tuple[dataclasses.Field[Any], Any]:
    """The field ``key`` is declared by, and its type (a model option: of the family of
    ``arch``); or the error from_dict gives for that key, naming the section it belongs to."""
    section, name = split_key(key)
    if section == "model":
        known = schema.fields_of(options_class(arch))
    else:
        known = schema.fields_of(SECTIONS[section])
    if name not in known:
        data: dict[str, Any] = {"model": {"arch": arch}}
        data.setdefault(section, {})[name] = None
        _check_sections_of_keys(data)
        raise ConfigError(schema.unknown_key(section, name, known))
    return known[name]


def _check_sections_of_keys(data: dict[str, Any]) -> None:
    """A key put in the wrong section (``train.lr``, ``train.batch_size``) names the right one.

    schema.parse knows one section and can only suggest its own keys; the common mistake is
    the right key under another section, which it would answer with a list of unrelated keys.
    """
    keys: dict[str, Any] = {s: schema.fields_of(c) for s, c in SECTIONS.items()}
    model = data.get("model", {})
    arch = model.get("arch", ModelConfig.arch) if isinstance(model, dict) else None
    if isinstance(arch, str):
        try:
            keys["model"] = {"arch": None, **schema.fields_of(options_class(arch))}
        except ConfigError:
            pass  # parse_model says what is wrong with the arch
    for section, known in keys.items():
        for key in data.get(section, {}):
            if key in known:
                continue
            homes = [f"{s}.{key}" for s, names in keys.items() if key in names]
            if not homes and not did_you_mean(key, known):
                close = difflib.get_close_matches(key, [k for names in keys.values() for k in names], n=1, cutoff=0.75)
                homes = [f"{s}.{k}" for s, names in keys.items() for k in close if k in names]
            if homes:
                raise ConfigError(
                    f"unknown key '{section}.{key}' (did you mean '{homes[0]}'?); "
                    f"allowed in [{section}]: {one_of(known)}"
                )


def parse_model(data: Any) -> ModelConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"model: expected a table of settings, got {schema.fmt(data)}")
    rest = dict(data)
    arch = rest.pop("arch", ModelConfig.arch)
    if not isinstance(arch, str):
        raise ConfigError(f"model.arch: {schema.fmt(arch)} is not valid; expected a string")
    options = schema.parse(options_class(arch), rest, "model")
    return ModelConfig(arch=arch, options=schema.to_plain(options))


def validate(config: RunConfig) -> None:
    """Checks that span several keys (single keys are checked by their declarations)."""
    if not DEVICE_PATTERN.match(config.train.device):
        raise ConfigError(
            f"train.device: unknown device {schema.fmt(config.train.device)}; allowed: auto, cpu, cuda, cuda:N, mps"
        )
    problem = devices_problem(config.train)
    if problem:
        raise ConfigError(problem)
    if config.optim.nesterov and (config.optim.name != "sgd" or config.optim.momentum == 0):
        # Name the values the user has: a preset's `nesterov = true` outlives `--set optim.name=adamw`.
        raise ConfigError(
            f'optim.nesterov = true needs optim.name = "sgd" and optim.momentum > 0 '
            f"(got name {schema.fmt(config.optim.name)}, momentum {schema.fmt(config.optim.momentum)}); "
            "set optim.nesterov = false for other optimizers"
        )
    if config.train.ema > 0 and config.train.lookahead > 0:
        raise ConfigError("train.ema and train.lookahead: choose one way to average the weights (set the other to 0)")
    if config.schedule.name == "multistep" and not config.schedule.milestones:
        raise ConfigError("schedule.milestones: multistep needs at least one milestone epoch, e.g. [30, 60]")
    _validate_data(config.data)


DEVICES_ALLOWED = '1 or more, "all", or a list of GPU indices like [0, 2]'


def devices_problem(train: TrainConfig) -> str | None:
    """What is wrong with ``train.devices`` on its own and beside ``train.device``; None
    if nothing (whether the GPUs exist is known only where torch runs: the launcher)."""
    devices, device = train.devices, train.device
    if isinstance(devices, bool) or (isinstance(devices, int) and devices < 1):
        return f"train.devices: {schema.fmt(devices)} is not valid; allowed: {DEVICES_ALLOWED}"
    if isinstance(devices, str) and devices != "all":
        return f"train.devices: {schema.fmt(devices)} is not valid; allowed: {DEVICES_ALLOWED}"
    if isinstance(devices, list):
        if not devices or any(i < 0 for i in devices) or len(set(devices)) != len(devices):
            return (
                f"train.devices: {schema.fmt(devices)} is not valid; a list names distinct GPU indices (0 or more), "
                f"e.g. [0, 2]"
            )
    several = devices != 1
    if several and device in ("cpu", "mps") and not isinstance(devices, int):
        return (
            f"train.devices = {schema.fmt(devices)} names GPUs, but train.device = {schema.fmt(device)}; "
            f"with {device} give a count of processes, e.g. train.devices = 2"
        )
    if several and device == "mps":
        return 'train.devices: mps trains in one process; set train.devices = 1 (or train.device = "cpu")'
    if several and device.startswith("cuda:"):
        return (
            f'train.device = {schema.fmt(device)} picks one GPU; to train on several set train.device = "cuda" '
            f"and name them in train.devices, e.g. [0, 2]"
        )
    if train.sync_bn and device == "cpu" and several:
        return (
            "train.sync_bn: PyTorch's SyncBatchNorm needs GPUs (NCCL), not CPU processes (gloo); "
            "set train.sync_bn = false"
        )
    return None


def _validate_data(data: DataConfig) -> None:
    if data.normalize == "fixed" and (not data.mean or len(data.mean) != len(data.std)):
        raise ConfigError('data.mean / data.std: normalize = "fixed" needs one mean and one std per channel')
    if any(s <= 0 for s in data.std):
        raise ConfigError(f"data.std: {schema.fmt(data.std)} is out of range; allowed: every value > 0")
    if data.dataset in ("digits", "synthetic") and data.root:
        # Not ignored in silence: `train --data-root cifar.tar.xz` on the default preset would
        # otherwise train on the digits while the user believes it trains on their files.
        raise ConfigError(
            f"data.root: the {data.dataset} data set reads no files, so {schema.fmt(data.root)} "
            'would be ignored; for files set data.dataset = "imagefolder" (or cifar10, mnist, ...), '
            "or drop data.root"
        )
    if data.dataset == "imagefolder" and not data.root:
        raise ConfigError("data.root: the imagefolder data set needs a folder or archive (--data-root DIR)")
    channels, side = image_shape(data)
    for problem in (
        stats_problem(data, channels),
        reflect_crop_problem(data.augment, data.crop_padding, data.crop_fill, side),
    ):
        if problem:
            raise ConfigError(problem)


# -- rules that need the images' shape ------------------------------------------------

#: (channels, side) of the images of the data sets whose files are always the same.
BUILTIN_SHAPES = {
    "digits": (1, 8),
    "mnist": (1, 28),
    "fashion_mnist": (1, 28),
    "cifar10": (3, 32),
    "cifar100": (3, 32),
    "svhn": (3, 32),
}


def image_shape(data: DataConfig) -> tuple[int | None, int | None]:
    """The training images' (channels, side), as far as the config tells; None where only
    the images do (an image folder's channels, and its side unless data.image_size sets
    it): data/ checks those once they are read."""
    channels: int | None
    side: int | None
    if data.dataset == "synthetic":
        channels, side = data.synthetic_channels, data.synthetic_image
    else:
        channels, side = BUILTIN_SHAPES.get(data.dataset, (None, None))
    return channels, data.image_size or side


def stats_problem(data: DataConfig, channels: int | None) -> str | None:
    """What is wrong with fixed normalisation statistics for images of ``channels`` channels."""
    if data.normalize != "fixed" or channels is None or len(data.mean) == len(data.std) == channels:
        return None
    return (
        f'data.mean / data.std: normalize = "fixed" needs {channels} value(s) each, one per channel '
        f"of the {channels}-channel images; got {len(data.mean)} and {len(data.std)}"
    )


def reflect_crop_problem(augment: Sequence[str], padding: int, fill: str, side: int | None) -> str | None:
    """What is wrong with a reflect-filled crop of ``padding`` on images of ``side`` pixels:
    a reflection cannot reach further than the image is wide."""
    if "crop" not in augment or fill != "reflect" or side is None or padding < side:
        return None
    return (
        f"data.crop_padding: reflect padding must be smaller than the images ({side} pixels), got {padding}; "
        'lower it or use data.crop_fill = "zero"'
    )


# -- values as typed (the --set text form) ----------------------------------------

# Taken as a string without TOML quotes: names (adam, imagefolder, torchvision:resnet18)
# and plain paths (/data/cifar, ./data, ~/data), which a shell makes awkward to quote.
_BARE_WORD = re.compile(r"^[A-Za-z_/.~][A-Za-z0-9_.:\-/~+]*$")


def parse_text(key: str, text: str, *, in_editor: bool = False) -> Any:
    """The value ``text`` stands for, as typed for ``key``: TOML value syntax, where a bare
    word or path needs no quotes. Plain data, not yet checked against ``key``'s field.
    ``in_editor``: typed into the app's field, not ``--set`` (an error's examples follow it)."""
    raw = text.strip()
    if not raw:
        raise ConfigError(f"{key}: no value given")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        if _BARE_WORD.match(raw) and raw.lower() not in ("true", "false"):
            return raw  # `--set optim.name=adam` without TOML quotes
        cli = not in_editor
        if raw.startswith("["):
            example = 'data.augment=["crop", "hflip"]' if cli else '["crop", "hflip"]'
            how = f"lists in [ ] with their strings quoted, e.g. {example}"
        elif not _takes_text(key):
            return raw  # "1 2" for a number: its field's check says what it expects
        else:
            quoted = '"' + raw.strip("\"'") + '"'
            how = "strings in quotes: " + (f"--set '{key}={quoted}'" if cli else quoted)
        raise ConfigError(f"{key}: {raw!r} is not a TOML value ({how})") from None
    if isinstance(value, dict):
        raise ConfigError(f"{key}: tables are not allowed here; set one key at a time")
    return value


def _takes_text(key: str) -> bool:
    """Whether ``key`` may hold a string (an unknown key: as if it did)."""
    try:
        kind = declaration(key)[1]
    except ConfigError:
        return True
    return kind is str or str in get_args(kind)


def parse_override(text: str) -> tuple[str, Any]:
    """The command line's ``section.key=value`` -> ``("section.key", value)`` (see :func:`parse_text`)."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected section.key=value, e.g. optim.lr=0.05")
    key, raw = text.split("=", 1)
    section, name = split_key(key)  # a bad key is said before its value
    key = f"{section}.{name}"
    return key, parse_text(key, raw)


def override_text(key: str, value: Any) -> str:
    """``key=value`` as :func:`parse_override` reads it back: a typed value (an option of
    the command line, ``--epochs 5``) said as the ``--set`` it stands for."""
    return f"{key}={_toml_value('none' if value is None else value)}"


# -- TOML output ----------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, float):
        return (
            repr(value)
            if value == value and abs(value) != float("inf")
            else ("nan" if value != value else ("inf" if value > 0 else "-inf"))
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dump_toml(data: dict[str, dict[str, Any]]) -> str:
    """Write a two-level table (sections of scalars and lists). ``None`` is written as
    "none", which every optional field reads back as None."""
    lines: list[str] = []
    for section, values in data.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            lines.append(f"{key} = {_toml_value('none' if value is None else value)}")
        lines.append("")
    return "\n".join(lines)


def load_toml_text(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
