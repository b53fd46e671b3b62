"""Whether a config's data is there, asked before anything is loaded or a run folder made.

A run that fails a second after it starts because its data is absent leaves a failed
run at 0 epochs behind, in the app's runs list as in ``tui-trainer runs``. The picker
shows, for the preset under the cursor, whether its data is present and where it looked;
Start and ``train`` refuse missing data before a run exists (:func:`tui_trainer.launch.preflight`).

Only file names are checked (no decoding, no torchvision import): torchvision's file
names for its data sets are listed here (:data:`TORCHVISION_FILES`; a test checks them
against torchvision's own classes), and an image folder or archive only has to exist
(the loader reports a bad layout, with its own words, when it reads it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import DataConfig
from ..paths import cache_dir

# Imports no torch (the picker asks it on the UI thread, before torch is imported), so
# neither .cache nor .raw: what it needs of them is here.
BUILT_IN = ("digits", "synthetic")
TORCHVISION_DIR = "torchvision"  # cache.TORCHVISION_DIR, the cache's folder for them (a test checks)

# The image-folder layout, for the errors of the image-folder loader and the archives
# (raw.py passes it on to them).
LAYOUT_HINT = (
    "expected train/<class>/<image> and test/<class>/<image> (or val/ instead of test/), "
    "or a .tar/.tar.gz/.tgz/.tar.xz/.zip archive of such a folder"
)


@dataclass(frozen=True)
class TorchvisionFiles:
    cls_name: str  # torchvision.datasets.<cls_name>
    files: tuple[str, ...]  # under the root torchvision is given
    archives: tuple[str, ...]  # downloaded archives torchvision unpacks without a network
    looked_for: str  # as a message says it


def _idx_files(cls: str) -> TorchvisionFiles:
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    return TorchvisionFiles(
        cls,
        tuple(f"{cls}/raw/{n}" for n in names),
        tuple(f"{cls}/raw/{n}.gz" for n in names),
        f"{cls}/raw/ with the idx files",
    )


TORCHVISION_FILES: dict[str, TorchvisionFiles] = {
    "cifar10": TorchvisionFiles(
        "CIFAR10",
        tuple(
            f"cifar-10-batches-py/{n}"
            for n in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta"]
        ),
        ("cifar-10-python.tar.gz",),
        "cifar-10-batches-py/",
    ),
    "cifar100": TorchvisionFiles(
        "CIFAR100",
        tuple(f"cifar-100-python/{n}" for n in ("train", "test", "meta")),
        ("cifar-100-python.tar.gz",),
        "cifar-100-python/",
    ),
    "mnist": _idx_files("MNIST"),
    "fashion_mnist": _idx_files("FashionMNIST"),
    "svhn": TorchvisionFiles("SVHN", ("train_32x32.mat", "test_32x32.mat"), (), "train_32x32.mat and test_32x32.mat"),
}


@dataclass(frozen=True)
class Availability:
    present: bool
    where: str  # where it is, or where it was looked for
    problem: str | None = None  # the one-line error a run would fail with
    downloadable: bool = False  # data.download = true would fetch it (where the network allows)

    @property
    def usable(self) -> bool:
        """A run can start: the data is here, or it is to be downloaded."""
        return self.present or self.downloadable


def torchvision_root(cfg: DataConfig, cache: Path) -> tuple[Path, list[Path]]:
    """The folder torchvision is given, and the folders searched for its files: with
    ``data.root`` also its parents (the data set's own folder inside it works too)."""
    base = Path(cfg.root).expanduser() if cfg.root else cache / TORCHVISION_DIR
    return base, ([base, base.parent, base.parent.parent] if cfg.root else [base])


def missing_message(name: str, base: Path) -> str:
    """What a run says when a torchvision data set's files are not where it looked."""
    spec = TORCHVISION_FILES[name]
    return (
        f"{name}: not found in {base} (looked for {spec.looked_for}, torchvision's {spec.cls_name} files); "
        f"give the folder holding them with --data-root DIR, download them with --set data.download=true "
        f"where the network allows, or use an image folder or archive with --set data.dataset=imagefolder "
        f"--data-root PATH"
    )


def check(cfg: DataConfig, cache: Path | None = None) -> Availability:
    """Whether ``cfg``'s data can be loaded, from file names alone."""
    cache = Path(cache) if cache is not None else cache_dir()
    if cfg.dataset in BUILT_IN:
        return Availability(True, "built in")
    if cfg.dataset == "imagefolder":
        given = Path(cfg.root or "").expanduser()
        if given.exists():
            return Availability(True, str(given))
        return Availability(False, str(given), f"imagefolder: {given} does not exist; {LAYOUT_HINT}")
    spec = TORCHVISION_FILES[cfg.dataset]
    base, candidates = torchvision_root(cfg, cache)
    for root in candidates:
        if all((root / f).is_file() for f in spec.files):
            return Availability(True, str(root))
    if spec.archives and all((base / a).is_file() for a in spec.archives):
        return Availability(True, str(base))  # the downloaded archive: unpacked without a network
    return Availability(False, str(base), missing_message(cfg.dataset, base), downloadable=cfg.download)
