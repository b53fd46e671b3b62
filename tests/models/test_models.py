"""Model families: recipe architectures, init schemes, builds, errors, reproducibility."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tui_trainer import schema
from tui_trainer.config import ModelConfig, RunConfig
from tui_trainer.data.info import DataInfo
from tui_trainer.errors import ConfigError
from tui_trainer.models import (
    FAMILIES,
    build_model,
    count_parameters,
    describe_model,
    format_count,
    options_class,
)

CIFAR = DataInfo(channels=3, num_classes=10, image_size=32)
MNIST = DataInfo(channels=1, num_classes=10, image_size=28)
DIGITS = DataInfo(channels=1, num_classes=10, image_size=8)

RESNET50_VARIANT = {
    "block": "bottleneck",
    "layers": [3, 4, 6, 3],
    "widths": [16, 32, 64, 128],
    "strides": [1, 1, 2, 2],
    "stem_width": 16,
    "zero_init_residual": True,
    "init": "kaiming",
}
SMALL_RESNET = {"block": "basic", "layers": [2, 2, 2], "widths": [16, 32, 64], "strides": [1, 2, 2], "stem_width": 16}
VGG_RECIPE_CFG = [32, 32, "M", 64, 64, 128, 128, 128, "M", 256, 256, 256, 512, 512, 512, "M"]


def build(arch: str, info: DataInfo = CIFAR, seed: int = 0, **options) -> nn.Module:
    """Parse options the way a config file is parsed, then build with a fixed seed."""
    config = RunConfig.from_dict({"model": {"arch": arch, **options}})
    torch.manual_seed(seed)
    return build_model(config.model, info)


def train_step(model: nn.Module, info: DataInfo, batch: int = 4) -> torch.Tensor:
    """One SGD step on random data; returns the logits. Checks that weights moved."""
    torch.manual_seed(123)
    x = torch.randn(batch, info.channels, info.image_size, info.image_size)
    y = torch.arange(batch) % info.num_classes
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    logits = model(x)
    assert isinstance(logits, torch.Tensor)
    assert logits.shape == (batch, info.num_classes)
    loss = F.cross_entropy(logits, y)
    assert torch.isfinite(loss)
    loss.backward()
    opt.step()
    assert any(not torch.equal(b, p.detach()) for b, p in zip(before, params, strict=False))
    return logits


def layers_of(model: nn.Module, kind: type) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, kind)]


def one_line_error(excinfo: pytest.ExceptionInfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# -- ResNet ---------------------------------------------------------------------------


def bottleneck_params(in_planes: int, planes: int, stride: int) -> int:
    out = 4 * planes
    n = in_planes * planes + 2 * planes  # 1x1 conv + BN
    n += 9 * planes * planes + 2 * planes  # 3x3 conv + BN
    n += planes * out + 2 * out  # 1x1 conv + BN
    if stride != 1 or in_planes != out:
        n += in_planes * out + 2 * out  # projection shortcut
    return n


def basic_params(in_planes: int, planes: int, stride: int) -> int:
    n = 9 * in_planes * planes + 2 * planes + 9 * planes * planes + 2 * planes
    if stride != 1 or in_planes != planes:
        n += in_planes * planes + 2 * planes
    return n


def resnet_params(block_params, expansion: int, layers, widths, strides, stem: int, channels: int, classes: int) -> int:
    n = 9 * channels * stem + 2 * stem
    in_planes = stem
    for blocks, planes, stride in zip(layers, widths, strides, strict=False):
        for i in range(blocks):
            n += block_params(in_planes, planes, stride if i == 0 else 1)
            in_planes = planes * expansion
    return n + in_planes * classes + classes


def test_resnet50_variant_architecture():
    model = build("resnet", **RESNET50_VARIANT)
    assert model.fc.in_features == 512 and model.fc.out_features == 10
    assert [len(stage) for stage in model.stages] == [3, 4, 6, 3]
    assert len(layers_of(model, nn.Conv2d)) == 1 + 3 * 16 + 4  # stem, 3 per block, 4 projections
    expected = resnet_params(bottleneck_params, 4, [3, 4, 6, 3], [16, 32, 64, 128], [1, 1, 2, 2], 16, 3, 10)
    assert count_parameters(model) == expected
    # Stem: 3x3 stride 1, no max-pool; stages down-sample 32 -> 32 -> 32 -> 16 -> 8.
    stem_conv = model.stem[0]
    assert stem_conv.kernel_size == (3, 3) and stem_conv.stride == (1, 1)
    assert not layers_of(model, nn.MaxPool2d)
    shapes = []
    hooks = [s.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:]))) for s in model.stages]
    train_step(model, CIFAR, batch=2)
    for h in hooks:
        h.remove()
    assert shapes == [(64, 32, 32), (128, 32, 32), (256, 16, 16), (512, 8, 8)]


def test_resnet_zero_init_and_kaiming():
    model = build("resnet", **RESNET50_VARIANT)
    blocks = [b for stage in model.stages for b in stage]
    assert len(blocks) == 16
    for block in blocks:
        assert torch.count_nonzero(block.bn3.weight) == 0
        assert torch.all(block.bn1.weight == 1) and torch.all(block.bn2.weight == 1)
    # Kaiming normal, fan_out: std = sqrt(2 / (out_channels * k * k)).
    conv = model.stages[3][0].conv2  # 128 -> 128, 3x3: 147k weights
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (128 * 9)), rel=0.03)

    plain = build("resnet", **{**RESNET50_VARIANT, "zero_init_residual": False})
    assert all(torch.all(b.bn3.weight == 1) for stage in plain.stages for b in stage)
    default = build("resnet", **{**RESNET50_VARIANT, "zero_init_residual": False, "init": "default"})
    # PyTorch's default conv init is uniform with bound 1/sqrt(fan_in).
    w = default.stages[3][0].conv2.weight
    assert w.abs().max().item() <= 1 / math.sqrt(128 * 9) + 1e-6


def test_small_resnet_architecture():
    model = build("resnet", **SMALL_RESNET)
    assert [len(stage) for stage in model.stages] == [2, 2, 2]
    assert model.fc.in_features == 64
    assert count_parameters(model) == resnet_params(basic_params, 1, [2, 2, 2], [16, 32, 64], [1, 2, 2], 16, 3, 10)
    assert isinstance(model.stages[0][0].shortcut, nn.Identity)  # 16 -> 16 at stride 1
    assert model.stages[1][0].shortcut[0].stride == (2, 2)
    # The defaults are this small ResNet.
    assert schema.to_plain(options_class("resnet")()) == {
        **SMALL_RESNET,
        "zero_init_residual": False,
        "init": "kaiming",
    }


def test_resnet_mismatched_lists_is_one_line_error():
    with pytest.raises(ConfigError) as excinfo:
        RunConfig.from_dict({"model": {"arch": "resnet", "layers": [3, 4, 6, 3], "widths": [16, 32, 64]}})
    message = one_line_error(excinfo)
    assert "model.layers" in message and "4, 3 and 3" in message


# -- VGG ------------------------------------------------------------------------------


def test_vgg_recipe_classifier():
    model = build("vgg", cfg=VGG_RECIPE_CFG, batch_norm=False, classifier=[4096, 4096], dropout=0.5)
    linears = layers_of(model.classifier, nn.Linear)
    assert [(l.in_features, l.out_features) for l in linears] == [(8192, 4096), (4096, 4096), (4096, 10)]
    kinds = [type(m) for m in model.classifier]
    assert kinds == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert all(d.p == 0.5 for d in layers_of(model, nn.Dropout))
    assert len(layers_of(model, nn.Conv2d)) == 13 and len(layers_of(model, nn.MaxPool2d)) == 3
    assert not layers_of(model, nn.BatchNorm2d)
    convs = sum(
        9 * a * b + b
        for a, b in zip(
            [3, 32, 32, 64, 64, 128, 128, 128, 256, 256, 256, 512, 512],
            [32, 32, 64, 64, 128, 128, 128, 256, 256, 256, 512, 512, 512],
            strict=False,
        )
    )
    fcs = 8192 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 10 + 10
    assert count_parameters(model) == convs + fcs


@pytest.mark.parametrize(
    ("name", "convs", "tv"), [("A", 8, "vgg11"), ("B", 10, "vgg13"), ("D", 13, "vgg16"), ("E", 16, "vgg19")]
)
def test_vgg_named_configs_match_torchvision_features(name, convs, tv):
    import torchvision

    model = build("vgg", cfg=name, batch_norm=False, classifier=[16])
    assert len(layers_of(model, nn.Conv2d)) == convs
    with torch.device("meta"):  # shapes only: skip torchvision's 100M-weight init
        reference = torchvision.models.get_model(tv, weights=None).features
    ours = [tuple(p.shape) for p in model.features.parameters()]
    assert ours == [tuple(p.shape) for p in reference.parameters()]
    assert model.classifier[0].in_features == 512  # 32 px through five pools: 1x1


def test_vgg_init():
    model = build("vgg", cfg=[64, "M", 128, "M"], batch_norm=True, classifier=[512])
    conv = model.features[4]  # 64 -> 128
    assert isinstance(conv, nn.Conv2d) and conv.bias is None  # BN makes the bias redundant
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (128 * 9)), rel=0.03)
    big = model.classifier[0]
    assert big.in_features == 128 * 8 * 8
    assert big.weight.std().item() == pytest.approx(0.01, rel=0.03)
    assert torch.all(big.bias == 0)


def test_vgg_too_many_pools_is_one_line_error():
    with pytest.raises(ConfigError) as excinfo:
        build("vgg", info=MNIST)  # VGG16's five pools: 28 -> 14 -> 7 -> 3 -> 1 -> 0
    message = one_line_error(excinfo)
    assert "model.cfg" in message and "28x28" in message and "at most 4" in message


@pytest.mark.parametrize("bad", [[64, "X"], "C", 3, ["M"], [0, "M"]])
def test_vgg_bad_cfg_is_one_line_error(bad):
    with pytest.raises(ConfigError) as excinfo:
        RunConfig.from_dict({"model": {"arch": "vgg", "cfg": bad}})
    assert "model.cfg" in one_line_error(excinfo)


def test_vgg_cfg_round_trips_through_toml():
    config = RunConfig.from_dict({"model": {"arch": "vgg", "cfg": VGG_RECIPE_CFG}})
    again = RunConfig.from_dict(__import__("tomllib").loads(config.to_toml()))
    assert again.model.options["cfg"] == VGG_RECIPE_CFG
    assert RunConfig.from_dict({"model": {"arch": "vgg", "cfg": "E"}}).model.options["cfg"] == "E"


# -- dropout CNN ----------------------------------------------------------------------


def test_dropout_cnn_recipe():
    model = build("dropout_cnn")
    convs = layers_of(model, nn.Conv2d)
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (3, 8, (3, 3), (1, 1)),
        (8, 16, (3, 3), (1, 1)),
        (16, 32, (3, 3), (1, 1)),
        (32, 64, (3, 3), (1, 1)),
    ]
    assert len(layers_of(model, nn.BatchNorm2d)) == 4 and len(layers_of(model, nn.MaxPool2d)) == 4
    head = list(model.classifier)
    assert [(l.in_features, l.out_features) for l in head if isinstance(l, nn.Linear)] == [
        (256, 256),
        (256, 64),
        (64, 32),
        (32, 10),  # 64 channels x 2 x 2 after four pools of 32 px
    ]
    # Dropout 0.2 right after the first two hidden layers (after their activation), not the third.
    kinds = [type(m) for m in head]
    assert kinds == [nn.Linear, nn.Tanh, nn.Dropout, nn.Linear, nn.Tanh, nn.Dropout, nn.Linear, nn.Tanh, nn.Linear]
    assert all(d.p == pytest.approx(0.2) for d in layers_of(model, nn.Dropout))
    assert len(layers_of(model.features, nn.Tanh)) == 4
    expected = (
        9 * (3 * 8 + 8 * 16 + 16 * 32 + 32 * 64)
        + 2 * (8 + 16 + 32 + 64)
        + 256 * 256
        + 256
        + 256 * 64
        + 64
        + 64 * 32
        + 32
        + 32 * 10
        + 10
    )
    assert count_parameters(model) == expected


def test_dropout_cnn_xavier_bounds():
    model = build("dropout_cnn")
    for layer in layers_of(model, nn.Conv2d) + layers_of(model, nn.Linear):
        w = layer.weight
        fan_in, fan_out = w[0].numel(), w.shape[0] * w[0, 0].numel()
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert w.abs().max().item() <= bound + 1e-6
        if w.numel() >= 2000:  # enough draws to come close to the bound
            assert w.abs().max().item() > 0.95 * bound
            # Uniform(-b, b) has std b / sqrt(3).
            assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.1)
        if layer.bias is not None:
            assert torch.all(layer.bias == 0)
    relu = build("dropout_cnn", activation="relu", init="default")
    assert layers_of(relu, nn.ReLU) and not layers_of(relu, nn.Tanh)


def test_dropout_cnn_on_mnist():
    model = build("dropout_cnn", info=MNIST)  # 28 -> 14 -> 7 -> 3 -> 1
    assert model.classifier[0].in_features == 64
    train_step(model, MNIST)
    with pytest.raises(ConfigError) as excinfo:
        build("dropout_cnn", info=DIGITS)  # 8 px cannot take four pools
    assert "model.channels" in one_line_error(excinfo)


# -- small CNN ------------------------------------------------------------------------


@pytest.mark.parametrize("info", [DIGITS, MNIST, CIFAR], ids=["8x8x1", "28x28x1", "32x32x3"])
def test_small_cnn_sizes(info):
    model = build("small_cnn", info=info)
    assert model.head[0].in_features == 64 * 2 * 2  # same head for every image size
    train_step(model, info, batch=8)


def test_small_cnn_learns_digits():
    """The digits preset's model must reach >= 95% in a few fast CPU epochs."""
    import time

    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16
    x = (x - x.mean()) / x.std()
    y = torch.tensor(digits.target)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    train, test = order[:1400], order[1400:]
    model = build("small_cnn", info=DIGITS)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    epoch_times, acc = [], 0.0
    for _ in range(5):
        start = time.perf_counter()
        model.train()
        batches = train[torch.randperm(len(train), generator=gen)].split(128)
        for idx in batches:
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        epoch_times.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            acc = (model(x[test]).argmax(1) == y[test]).float().mean().item()
        if acc >= 0.95:
            break
    assert acc >= 0.95
    # About 0.15 s an epoch on 2 idle cores; the bound is loose for busy CI machines.
    assert min(epoch_times) < 3.0


# -- speedrun -------------------------------------------------------------------------


def smooth_images(n: int, channels: int, side: int) -> torch.Tensor:
    """Random images with strongly correlated neighbouring pixels and channels."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(n, channels, side + 2, side + 2, generator=g)
    x = F.avg_pool2d(x, 3, stride=1)  # neighbours share most of their inputs
    if channels > 1:
        mix = torch.eye(channels) + 0.5  # channels share a common part
        x = torch.einsum("dc,nchw->ndhw", mix, x)
    return (x - x.mean()) / x.std()


def test_speedrun_architecture():
    model = build("speedrun")
    assert model.whiten.weight.shape == (24, 3, 2, 2) and not model.whiten.weight.requires_grad
    assert model.head.in_features == 256 and model.head.bias is None
    assert model.scale == pytest.approx(1 / 9)
    groups = list(model.groups)
    assert [(g.conv1.in_channels, g.conv1.out_channels) for g in groups] == [(24, 64), (64, 256), (256, 256)]
    assert [type(m) for m in groups[0].children()] == [
        type(groups[0].conv1),
        nn.MaxPool2d,
        type(groups[0].norm1),
        type(groups[0].conv2),
        type(groups[0].norm2),
        nn.GELU,
    ]
    # airbench: convs start as partial identities; BN scales frozen at 1.
    w = groups[1].conv1.weight
    assert torch.equal(w[:64, :, 1, 1], torch.eye(64)) and w[:64, :, 0].abs().sum() == 0
    assert all(not bn.weight.requires_grad for bn in layers_of(model, nn.BatchNorm2d))
    convs = 24 * 64 * 9 + 64 * 64 * 9 + 64 * 256 * 9 + 256 * 256 * 9 * 3
    expected = convs + 24 + 2 * (64 + 256 + 256) + 256 * 10  # whiten bias, BN biases, head
    assert count_parameters(model) == expected
    logits = train_step(model, CIFAR)
    assert logits.abs().max() < 10  # the 1/9 scale keeps early logits small


def test_speedrun_whitening_decorrelates_patches():
    model = build("speedrun")
    images = smooth_images(64, 3, 32)
    model.init_whitening(images)
    weight = model.whiten.weight.detach().double()
    assert weight.shape == (24, 3, 2, 2)
    assert torch.allclose(weight[12:], -weight[:12])  # +/- pairs

    # Independent patch covariance (F.unfold flattens in the conv weight's C, kh, kw order).
    patches = F.unfold(images.double(), 2).transpose(1, 2).reshape(-1, 12)
    cov = patches.T @ patches / len(patches)
    eigenvalues = torch.linalg.eigvalsh(cov).flip(0)  # largest first
    filters = weight[:12].reshape(12, 12)
    whitened = filters @ cov @ filters.T
    assert torch.allclose(whitened, torch.diag(eigenvalues / (eigenvalues + 5e-4)), atol=1e-3)
    assert torch.allclose(whitened, torch.eye(12, dtype=torch.float64), atol=0.05)
    # Filters are strongest-direction first: their norms are 1/sqrt(eigenvalue + eps).
    assert torch.allclose(filters.norm(dim=1), 1 / torch.sqrt(eigenvalues + 5e-4), rtol=1e-4)
    # The conv itself: output channels 0..11 have (near) identity second moment.
    out = F.conv2d(images, model.whiten.weight)[:, :12].permute(0, 2, 3, 1).reshape(-1, 12).double()
    assert torch.allclose(out.T @ out / len(out), torch.eye(12, dtype=torch.float64), atol=0.05)
    train_step(model, CIFAR)


def test_speedrun_grayscale_whitening_and_sizes():
    model = build("speedrun", info=MNIST)  # 28 -> 27 -> 13 -> 6 -> 3
    model.init_whitening(smooth_images(32, 1, 28))
    weight = model.whiten.weight.detach()
    assert weight.shape == (24, 1, 2, 2)
    assert torch.count_nonzero(weight[:8].flatten(1).norm(dim=1)) == 8  # 4 directions, +/-
    assert torch.all(weight[8:] == 0)  # no more directions to whiten
    train_step(model, MNIST)
    with pytest.raises(ConfigError) as excinfo:
        build("speedrun", info=DIGITS)
    assert "model.widths" in one_line_error(excinfo)
    with pytest.raises(ConfigError):
        RunConfig.from_dict({"model": {"arch": "speedrun", "whiten_width": 23}})


# -- every family ---------------------------------------------------------------------

FAMILY_BUILDS = [
    ("resnet", {}, [CIFAR, MNIST]),
    ("resnet", RESNET50_VARIANT, [CIFAR]),
    ("vgg", {"cfg": [16, "M", 32, "M", 64, "M"], "classifier": [64]}, [CIFAR, MNIST]),
    ("dropout_cnn", {}, [CIFAR, MNIST]),
    ("small_cnn", {}, [CIFAR, MNIST]),
    ("speedrun", {}, [CIFAR, MNIST]),
]


@pytest.mark.parametrize(
    ("arch", "options", "infos"), FAMILY_BUILDS, ids=[f"{a}-{i}" for i, (a, _, _) in enumerate(FAMILY_BUILDS)]
)
def test_family_builds_and_trains(arch, options, infos):
    for info in infos:
        model = build(arch, info=info, **options)
        train_step(model, info)
        text = describe_model(model)
        assert 1 <= len(text.splitlines()) <= 3
        assert arch in text and text.endswith(f"{format_count(count_parameters(model))} params")


def test_families_registry():
    assert list(FAMILIES) == ["resnet", "vgg", "dropout_cnn", "small_cnn", "speedrun", "torchvision"]
    for name, cls in FAMILIES.items():
        assert dataclasses.is_dataclass(cls)
        defaults = schema.to_plain(cls())
        # Defaults survive the config parser unchanged (what the app's picker relies on).
        assert schema.to_plain(schema.parse(cls, defaults, "model")) == defaults
        for f in dataclasses.fields(cls):
            assert f.metadata.get("help"), f"{name}.{f.name} has no help text"
        if name != "torchvision":
            assert options_class(name) is cls
    assert options_class("torchvision:resnet18") is FAMILIES["torchvision"]


@pytest.mark.parametrize(
    ("arch", "options"),
    [
        ("resnet", SMALL_RESNET),
        ("vgg", {"cfg": "A", "classifier": [32]}),
        ("dropout_cnn", {}),
        ("small_cnn", {}),
        ("speedrun", {}),
        ("torchvision:googlenet", {}),
    ],
)
def test_same_seed_same_weights(arch, options):
    a = build(arch, seed=3, **options).state_dict()
    b = build(arch, seed=3, **options).state_dict()
    c = build(arch, seed=4, **options).state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point())


def test_build_model_accepts_plain_options_and_fills_defaults():
    # What a checkpoint holds: plain data, maybe from before a key existed.
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(
            arch="resnet", options={"block": "bottleneck", "layers": [1, 1], "widths": [8, 16], "strides": [1, 2]}
        ),
        CIFAR,
    )
    assert model.fc.in_features == 64 and model.opts.stem_width == 16
    with pytest.raises(ConfigError):
        build_model(ModelConfig(arch="resnet", options={"layers": [1]}), CIFAR)


def test_describe_and_count():
    model = build("resnet", **RESNET50_VARIANT)
    text = describe_model(model)
    assert text.splitlines()[0].startswith("resnet: bottleneck blocks [3, 4, 6, 3]")
    assert "53 conv, 1 linear, 53 norm layers" in text
    assert text.endswith(f"{format_count(count_parameters(model))} params")
    assert [format_count(n) for n in (850, 12_345, 23_528_522, 1_500_000_000)] == ["850", "12.3K", "23.5M", "1.5B"]
    frozen = nn.Linear(10, 10)
    frozen.weight.requires_grad_(False)
    assert count_parameters(frozen) == 10
    assert describe_model(frozen).startswith("Linear\n")


# -- errors ---------------------------------------------------------------------------


def test_unknown_arch_is_one_line_error_with_hint():
    with pytest.raises(ConfigError) as excinfo:
        options_class("resnt")
    assert one_line_error(excinfo) == (
        "model.arch: unknown architecture \"resnt\" (did you mean 'resnet'?); "
        "allowed: resnet, vgg, dropout_cnn, small_cnn, speedrun, torchvision:NAME"
    )
    with pytest.raises(ConfigError) as excinfo:
        RunConfig.from_dict({"model": {"arch": "small-cnn"}})
    assert "did you mean 'small_cnn'" in one_line_error(excinfo)


@pytest.mark.parametrize(
    "arch", ["torchvision:resnt18", "torchvision:", "torchvision", "torchvision:fasterrcnn_resnet50_fpn"]
)
def test_unknown_torchvision_name(arch):
    with pytest.raises(ConfigError) as excinfo:
        options_class(arch)
    message = one_line_error(excinfo)
    assert message.startswith("model.arch:") and "resnet18" in message
    if arch.endswith("resnt18"):
        assert "did you mean 'resnet18'?" in message


def test_unknown_option_key_names_the_family_keys():
    with pytest.raises(ConfigError) as excinfo:
        RunConfig.from_dict({"model": {"arch": "resnet", "layer": [1, 1, 1]}})
    message = one_line_error(excinfo)
    assert "model.layer" in message and "did you mean 'layers'" in message


# -- torchvision zoo ------------------------------------------------------------------

ZOO = [
    "alexnet",
    "vgg16",
    "squeezenet1_0",
    "densenet161",
    "googlenet",
    "shufflenet_v2_x1_0",
    "mobilenet_v2",
    "resnext50_32x4d",
    "wide_resnet50_2",
    "mnasnet1_0",
    "inception_v3",
    "resnet18",
]


@pytest.mark.parametrize("name", ZOO)
def test_torchvision_zoo_trains_on_cifar_batch(name):
    model = build(f"torchvision:{name}")
    train_step(model, CIFAR, batch=4)
    text = describe_model(model)
    assert text.startswith(f"torchvision:{name}")
    if name == "alexnet":
        assert model.resize == 64  # 63 px is the smallest AlexNet can take
    elif name == "inception_v3":
        assert model.resize == 75  # Inception v3's minimum
    else:
        assert model.resize is None


def test_torchvision_grayscale_first_conv():
    model = build("torchvision:resnet18", info=MNIST)
    assert model.net.conv1.in_channels == 1 and model.net.conv1.out_channels == 64
    assert model.net.conv1.weight.shape == (64, 1, 7, 7)
    # The new conv reuses the model's own init (first input channel of the original filters).
    reference = build("torchvision:resnet18")
    assert torch.equal(model.net.conv1.weight[:, 0], reference.net.conv1.weight[:, 0])
    train_step(model, MNIST)
    alex = build("torchvision:alexnet", info=MNIST)
    assert alex.net.features[0].in_channels == 1 and alex.resize == 64
    train_step(alex, MNIST)


def test_torchvision_resize_option():
    model = build("torchvision:squeezenet1_0", resize=48)
    assert model.resize == 48 and "48x48" in describe_model(model)
    train_step(model, CIFAR)
    with pytest.raises(ConfigError) as excinfo:
        build("torchvision:alexnet", resize=32)
    message = one_line_error(excinfo)
    assert message.startswith("model.resize: torchvision:alexnet cannot run on 32x32")
