"""From a config to the parts a training step uses: device, data, model, optimizer,
schedule, precision, weight averaging.

:func:`build_parts` is the one place a config becomes objects; the step
(:mod:`.step`) and the epoch loop (:mod:`.loop`) only use what it built. Its order is
part of the recipe: the seed is set before the model's weights are drawn, the data's
generator is seeded before any batch, and a patch-whitening first layer is fitted on
the training images only for a fresh run (a resumed one loads its fitted weights).

With several ranks (:mod:`.distributed`) this is where data parallelism plugs in
without touching the step: ``forward`` is the DistributedDataParallel wrapper of
``model`` (the step calls ``forward`` and steps the optimizer over ``model``'s
parameters, so the gradients are all-reduced inside backward), SyncBatchNorm converts
``model`` before it is wrapped, each rank trains on its own GPU, and its batches are
its part of each global batch (``data.batch_size`` stays the global batch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..config import RunConfig
from ..data import DeviceData, ImageData
from ..models import build_model
from .device import AUTOCAST_DTYPES, quiet_cuda_home_note, resolve_device, resolve_precision
from .distributed import SOLO, World, rank_device
from .lookahead import Lookahead
from .optim import build_optimizer, build_scheduler


@dataclass
class TrainingParts:
    """What the step and the loop work with, built once per run."""

    config: RunConfig
    device: torch.device
    precision: str  # resolved: fp32, bf16 or fp16
    data: DeviceData
    model: nn.Module  # the module whose state a checkpoint holds
    forward: Callable[[torch.Tensor], torch.Tensor]  # the model, compiled or wrapped
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler  # enabled for fp16 only
    ema: torch.optim.swa_utils.AveragedModel | None
    lookahead: Lookahead | None
    criterion: nn.Module
    generator: torch.Generator  # the data's draws: permutations and augmentation
    steps_per_epoch: int
    max_steps: int  # batches per epoch at most (0: all)
    world: World = SOLO

    def global_batch(self, batch: int) -> int:
        """Images in the epoch's batch ``batch`` (from 0) over all ranks: the last may be short."""
        size = self.config.data.batch_size
        return min(size, self.data.num_train - batch * size)

    @property
    def shard(self) -> tuple[int, int]:
        """(rank, ranks): which part of each global batch and of the test set is this rank's."""
        return self.world.rank, self.world.size

    def autocast(self) -> torch.autocast:
        dtype = AUTOCAST_DTYPES.get(self.precision)
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    @property
    def eval_model(self) -> nn.Module:
        """The weights evaluated and exported: the EMA's when there is one."""
        return self.ema.module if self.ema is not None else self.model


def build_parts(config: RunConfig, images: ImageData, *, fresh: bool, world: World = SOLO) -> TrainingParts:
    """Everything a run trains with; ``fresh`` is False when a checkpoint will be restored."""
    device = rank_device(world, resolve_device(config.train.device))
    precision = resolve_precision(config.train.precision, device)
    _seed_and_tune(config, device)
    channels_last = config.train.channels_last and device.type == "cuda"
    data = DeviceData(images, device, config.data, channels_last=channels_last)
    max_steps = _max_steps(config, data.num_train)
    steps_per_epoch = data.steps_per_epoch(config.data.batch_size, max_steps, world.size)
    generator = torch.Generator(device=device)
    generator.manual_seed(_data_seed(config, world, device))

    model = build_model(config.model, images.info)
    init_whitening = getattr(model, "init_whitening", None)  # a patch-whitening first layer
    if fresh and init_whitening is not None:
        init_whitening(whitening_sample(images, data))
    if world.distributed and config.train.sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)  # type: ignore[no-untyped-call]
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, config.optim)
    if config.train.compile:
        quiet_cuda_home_note(device)
    # torch.compile is lazy (it compiles at the first call), so it shares the model's
    # parameters: a checkpoint restored into ``model`` afterwards is what it runs.
    forward: Callable[[torch.Tensor], torch.Tensor] = torch.compile(model) if config.train.compile else model
    if world.distributed:
        forward = _data_parallel(forward, device)
    return TrainingParts(
        config=config,
        device=device,
        precision=precision,
        data=data,
        model=model,
        forward=forward,
        optimizer=optimizer,
        scheduler=build_scheduler(optimizer, config.schedule, config.train.epochs, steps_per_epoch),
        scaler=torch.amp.GradScaler(device.type, enabled=precision == "fp16"),
        ema=_ema(config, model),
        lookahead=_lookahead(config, steps_per_epoch),
        criterion=nn.CrossEntropyLoss(label_smoothing=config.train.label_smoothing),
        generator=generator,
        steps_per_epoch=steps_per_epoch,
        max_steps=max_steps,
        world=world,
    )


def _data_parallel(module: Callable[[torch.Tensor], torch.Tensor], device: torch.device) -> nn.Module:
    """DDP around the (compiled) model, as nanoGPT does: it broadcasts rank 0's weights
    now, and all-reduces the gradients inside backward."""
    assert isinstance(module, nn.Module)
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=device_ids)


def _data_seed(config: RunConfig, world: World, device: torch.device) -> int:
    """The data generator's seed: every rank must draw the same permutation, so without
    ``train.seed`` rank 0's random seed is everyone's."""
    if config.train.seed is not None:
        return config.train.seed
    seed = torch.tensor([torch.seed() % 2**62], dtype=torch.int64, device=device)
    return int(world.broadcast(seed).item())


def _seed_and_tune(config: RunConfig, device: torch.device) -> None:
    if config.train.seed is not None:
        torch.manual_seed(config.train.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def _max_steps(config: RunConfig, num_train: int) -> int:
    """Batches per epoch at most (0: all): a compiled model recompiles for a new batch
    shape, so it skips the last partial batch as ``data.drop_last`` does."""
    max_steps = config.train.max_steps_per_epoch
    full_batches = num_train // config.data.batch_size
    if (config.data.drop_last or config.train.compile) and full_batches:
        max_steps = min(max_steps, full_batches) if max_steps else full_batches
    return max_steps


def _ema(config: RunConfig, model: nn.Module) -> torch.optim.swa_utils.AveragedModel | None:
    if config.train.ema <= 0:
        return None
    average = torch.optim.swa_utils.get_ema_multi_avg_fn(config.train.ema)  # type: ignore[no-untyped-call]
    return torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=average, use_buffers=True)


def _lookahead(config: RunConfig, steps_per_epoch: int) -> Lookahead | None:
    t = config.train
    if t.lookahead <= 0:
        return None
    return Lookahead(t.lookahead, t.lookahead_every, t.lookahead_start, t.epochs * steps_per_epoch)


def whitening_sample(images: ImageData, data: DeviceData) -> torch.Tensor:
    """Normalized training images (CPU, float) for a patch-whitening first layer."""
    x = images.train_x[:5000].float() / 255
    mean = torch.tensor(data.mean or [0.0] * x.shape[1]).view(1, -1, 1, 1)
    std = torch.tensor(data.std or [1.0] * x.shape[1]).view(1, -1, 1, 1)
    return (x - mean) / std
