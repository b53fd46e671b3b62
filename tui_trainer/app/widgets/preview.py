"""The preset preview: architecture, parameter count, data set, the recipe's key numbers.

The parameter count builds the model (a second for the big ones), so it is computed
off the UI thread by :func:`param_count` and cached per architecture and data shape.
"""

from __future__ import annotations

import json
import threading

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ... import format as fmt
from ...config import RunConfig

# dataset -> (channels, classes, image side); None: unknown until the data is read.
KNOWN_SHAPES: dict[str, tuple[int, int, int] | None] = {
    "cifar10": (3, 10, 32),
    "cifar100": (3, 100, 32),
    "svhn": (3, 10, 32),
    "mnist": (1, 10, 28),
    "fashion_mnist": (1, 10, 28),
    "digits": (1, 10, 8),
    "imagefolder": None,
}

_cache: dict[str, int | None] = {}
_cache_lock = threading.Lock()


def data_shape(config: RunConfig) -> tuple[int, int, int] | None:
    d = config.data
    shape: tuple[int, int, int] | None
    if d.dataset == "synthetic":
        shape = (d.synthetic_channels, d.synthetic_classes, d.synthetic_image)
    else:
        shape = KNOWN_SHAPES.get(d.dataset)
    if shape is not None and d.image_size:
        shape = (shape[0], shape[1], d.image_size)  # the data is resized to this side
    return shape


def _key(config: RunConfig) -> str | None:
    shape = data_shape(config)
    if shape is None:
        return None
    return json.dumps([config.model.arch, config.model.options, shape], sort_keys=True, default=str)


def cached_param_count(config: RunConfig) -> int | None | bool:
    """The cached count; False when it has not been computed yet."""
    key = _key(config)
    if key is None:
        return None
    with _cache_lock:
        return _cache.get(key, False)


def param_count(config: RunConfig) -> int | None:
    """Build the model for the data set's shape and count its trainable parameters.
    Slow (imports torch, builds the model): call it from a thread worker."""
    key = _key(config)
    if key is None:
        return None
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    from ...data.info import DataInfo
    from ...models import build_model, count_parameters

    shape = data_shape(config)
    assert shape is not None  # _key() made the key from it
    channels, classes, side = shape
    try:
        n: int | None = count_parameters(build_model(config.model, DataInfo(channels, classes, side)))
    except Exception:  # noqa: BLE001 - a preview must not fail; "?" says enough
        n = None
    with _cache_lock:
        _cache[key] = n
    return n


def data_presence(config: RunConfig) -> Text:
    """Whether the data is here, and where it is or was looked for (file names only: cheap
    enough to ask each time the cursor moves)."""
    from ...data.availability import check

    found = check(config.data)
    if found.present:
        return Text.assemble(("present", "green"), f" · {found.where}")
    if found.downloadable:
        return Text.assemble(("to download", "yellow"), f" into {found.where}")
    return Text.assemble(("missing", "bold red"), f" · looked in {found.where}")


def recipe_lines(config: RunConfig) -> list[tuple[str, str]]:
    d, o, s, t = config.data, config.optim, config.schedule, config.train
    optim = f"{o.name} lr {fmt.lr(o.lr)}"
    if o.name in ("sgd", "rmsprop"):
        optim += f" mom {fmt.setting(o.momentum)}"
    if o.weight_decay:
        optim += f" wd {fmt.setting(o.weight_decay)}"
    sched = s.name
    if s.name == "step":
        sched += f" {s.step_size}/{fmt.setting(s.gamma)}"
    elif s.name == "multistep":
        sched += f" {s.milestones}/{fmt.setting(s.gamma)}"
    if s.warmup_epochs:
        sched += f", warm-up {fmt.setting(s.warmup_epochs)}"
    aug = ", ".join(d.augment) or "no augmentation"
    return [
        ("optim", optim),
        ("schedule", f"{sched} · {fmt.plural(t.epochs, 'epoch')}"),
        ("batch", f"{d.batch_size} · {aug} · {t.precision} · {t.device}"),
    ]


class PresetPreview(Vertical):
    """Name, description (hidden on short terminals: the list shows its first line) and facts."""

    DEFAULT_CSS = """
    PresetPreview { height: auto; }
    PresetPreview > Static { height: auto; }
    PresetPreview > #preview-desc { text-style: italic; }
    PresetPreview > #preview-desc.-empty { display: none; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="preview-head")
        yield Static("", id="preview-desc", markup=False)
        yield Static("", id="preview-facts")

    def show(
        self, name: str, source: str, config: RunConfig | None, params: int | None | bool, error: str | None = None
    ) -> None:
        self.query_one("#preview-head", Static).update(Text.assemble((name, "bold"), (f"  {source}", "dim")))
        desc = self.query_one("#preview-desc", Static)
        facts = self.query_one("#preview-facts", Static)
        if config is None:
            desc.update("")
            facts.update(Text(error or "loading…", style="bold red" if error else "dim"))
            return
        desc.update(config.meta.description)
        desc.set_class(not config.meta.description, "-empty")
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        count = "…" if params is False else fmt.count(params if isinstance(params, int) else None)
        grid.add_row("model", f"{config.model.arch} · {count} params")
        shape = data_shape(config)
        dims = f"{shape[0]}×{shape[2]}×{shape[2]}, {shape[1]} classes" if shape else "shape known once read"
        grid.add_row("data", f"{config.data.dataset} · {dims}")
        grid.add_row("", data_presence(config))
        for label, value in recipe_lines(config):
            grid.add_row(label, Text(value))  # values hold paths and names: plain text
        m = config.meta
        if m.reported_acc is not None or m.target_acc is not None:
            bits = []
            if m.reported_acc is not None:
                bits.append(f"reported {fmt.pct(m.reported_acc)}")
            if m.target_acc is not None:
                bits.append(f"target {fmt.pct(m.target_acc)}")
            grid.add_row("accuracy", " · ".join(bits))
        facts.update(grid)
