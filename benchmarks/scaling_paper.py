"""Data parallel on paper: each preset's gradient all-reduce beside its step's compute.

    python3 benchmarks/scaling_paper.py [--json]

For every preset in presets/ it builds the model with the project's code
(``tui_trainer.models.build_model``) and counts, on the CPU: the trainable parameters
(``count_parameters``: what DDP all-reduces, fp32), the buffers (DDP broadcasts them
from rank 0 before each forward), the FLOPs of one training image (forward and
backward, ``torch.utils.flop_counter``) and the ops of one step (forward, loss,
backward; each a kernel launch on a GPU, under autocast where the preset trains in
bf16). Then, with the assumptions below (no GPU figure of this project exists yet), it
prints per preset: the step's time on one H100/H200 at its batch, and the expected
scaling efficiency (images/s at N over N x images/s at one GPU) for 8 GPUs on NVLink
and 16 GPUs on two nodes joined by one 400 Gb/s link, both as the engine trains
(``data.batch_size`` is the global batch: each GPU takes batch/N) and with the batch
raised N-fold (each GPU keeps the preset's batch).

The model of a step on N GPUs, per GPU:

    compute(b)  = max(b x train FLOPs per image / (peak x UTIL), ops x HOST_S_PER_OP)
    all-reduce  = buckets x ALPHA + 2 (N-1)/N x gradient bytes / link bandwidth
    exposed     = max(all-reduce - backward, the last bucket's all-reduce) + buffer broadcast
    step(N)     = compute(B/N) + exposed
    efficiency  = step(1) / (N x step(N))     (the bench's definition, at a global batch B)

DDP all-reduces 25 MiB buckets (the first 1 MiB; filled in reverse parameter order) as
their gradients become ready in backward, so all but the last bucket (the first layers'
gradients, ready when backward ends) can hide behind the rest of backward (2/3 of the
step's compute); the buffer broadcast precedes the forward and hides behind nothing.
Under DDP a step has more ops: two copies per parameter tensor (its gradient into its
bucket and back) and a division per bucket. Every step also has EXTRA_OPS: a foreach
optimizer's multi-tensor kernels and the engine's own four.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tui_trainer import presets  # noqa: E402
from tui_trainer.config import image_shape  # noqa: E402
from tui_trainer.data.info import DataInfo  # noqa: E402
from tui_trainer.models import build_model, count_parameters  # noqa: E402

# -- assumptions (BENCHMARKS.md, "Data parallel: what scales, on paper") --------------------
PEAK = {"bf16": 989e12, "tf32": 495e12}  # H100 SXM / H200 dense tensor-core FLOP/s (fp32 presets: TF32)
# Fraction of that peak a convnet on 32x32 images reaches at a batch that fills the GPU.
# Calibrated on airbench94 (3.83 s on an A100, 312e12 bf16 peak, for 9.9 epochs of 50,000
# images plus its TTA evaluation): with this net's FLOPs that is about 0.2 (printed).
UTIL = 0.2
HOST_S_PER_OP = 5e-6  # eager PyTorch's host time per op (Python, dispatcher, launch)
DDP_S_PER_OP = 2.5e-6  # DDP's own copies and divisions: launched from C++ (its reducer), no Python
NVLINK_BW = 450e9  # bytes/s per direction per GPU, NVLink 4 through NVSwitch
NODE_LINK_BW = 400e9 / 8  # one 400 Gb/s link between the two nodes
ALPHA = {"nvlink": 15e-6, "nodes": 40e-6}  # fixed cost of one NCCL all-reduce (latency)
BUCKET_BYTES, FIRST_BUCKET_BYTES = 25 * 2**20, 2**20  # DDP's defaults
EXTRA_OPS = 16  # per step, beside the model's: the optimizer (foreach) and the engine
AIRBENCH_A100_S, AIRBENCH_IMAGES, A100_BF16 = 3.83, 9.9 * 50_000, 312e12
CLASSES = {"cifar100": 100}  # the presets' data sets have 10 classes otherwise


class OpCounter(TorchDispatchMode):
    """Ops dispatched (views, which launch nothing, aside): a GPU kernel each, about."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.n += not func.is_view
        return func(*args, **(kwargs or {}))


def measure_model(name: str) -> dict:
    config = presets.load(name)
    channels, side = image_shape(config.data)
    assert channels and side, name
    info = DataInfo(channels, CLASSES.get(config.data.dataset, 10), side)
    torch.manual_seed(0)
    model = build_model(config.model, info)
    model.train()
    params = count_parameters(model)
    trained = [p for p in model.parameters() if p.requires_grad]
    buffer_bytes = sum(b.numel() * b.element_size() for b in model.buffers())
    bf16 = config.train.precision in ("auto", "bf16")  # auto is bf16 on an H100
    batch = 4  # FLOPs scale with the batch; 4 keeps BatchNorm in its training mode

    def step() -> None:
        x = torch.randn(batch, channels, side, side)
        y = torch.randint(0, info.num_classes, (batch,))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()

    step()  # a first step: lazy set-up (none in these models, but cheap to rule out)
    model.zero_grad(set_to_none=True)
    flops = FlopCounterMode(display=False)
    with flops:
        step()
    model.zero_grad(set_to_none=True)
    with OpCounter() as ops:
        step()
    return {
        "preset": name,
        "arch": config.model.arch,
        "batch": config.data.batch_size,
        "precision": "bf16" if bf16 else "tf32",
        "params": params,
        "grad_bytes": 4 * params,
        "param_tensors": len(trained),
        "buckets": buckets([4 * p.numel() for p in reversed(trained)]),
        "buffer_bytes": buffer_bytes,
        "train_flops_per_image": flops.get_total_flops() / batch,
        "ops_per_step": ops.n + EXTRA_OPS,
    }


def buckets(grad_bytes: list[int]) -> list[int]:
    """DDP's bucket sizes, in the order they are reduced, from the gradients' sizes in
    reverse parameter order (the order backward makes them, roughly): as
    ``dist._compute_bucket_assignment_by_size`` fills them, a bucket closes once it holds
    its cap or more (1 MiB for the first, 25 MiB after)."""
    sizes, open_, cap = [], 0, FIRST_BUCKET_BYTES
    for nbytes in grad_bytes:
        open_ += nbytes
        if open_ >= cap:
            sizes.append(open_)
            open_, cap = 0, BUCKET_BYTES
    return sizes + ([open_] if open_ else [])


def compute_s(m: dict, per_gpu_batch: float, ddp: bool = False) -> float:
    arithmetic = per_gpu_batch * m["train_flops_per_image"] / (PEAK[m["precision"]] * UTIL)
    host = m["ops_per_step"] * HOST_S_PER_OP
    if ddp:
        host += (2 * m["param_tensors"] + len(m["buckets"])) * DDP_S_PER_OP
    return max(arithmetic, host)


def allreduce_s(nbytes: float, n: int, where: str) -> float:
    bw = NVLINK_BW if where == "nvlink" else NODE_LINK_BW
    return ALPHA[where] + 2 * (n - 1) / n * nbytes / bw


def step_s(m: dict, n: int, where: str, per_gpu_batch: float) -> tuple[float, float]:
    """(compute, exposed communication) of one step on each of ``n`` GPUs."""
    compute = compute_s(m, per_gpu_batch, ddp=n > 1)
    if n == 1:
        return compute, 0.0
    sizes = m["buckets"]
    total = sum(allreduce_s(s, n, where) for s in sizes)
    exposed = max(total - 2 / 3 * compute, allreduce_s(sizes[-1], n, where))
    if m["buffer_bytes"]:
        exposed += allreduce_s(m["buffer_bytes"], n, where) / 2  # a broadcast moves half an all-reduce
    return compute, exposed


def scaling(m: dict) -> dict:
    b = m["batch"]
    one = compute_s(m, b)
    out = {"step_1gpu_s": one, "images_per_s_1gpu": b / one}
    for key, n, where in (("nvlink8", 8, "nvlink"), ("nodes16", 16, "nodes")):
        compute, exposed = step_s(m, n, where, b / n)  # the engine: the global batch split
        out[f"{key}_compute_s"], out[f"{key}_exposed_s"] = compute, exposed
        out[f"{key}_eff"] = one / (n * (compute + exposed))
        compute, exposed = step_s(m, n, where, b)  # the batch raised N-fold
        out[f"{key}_eff_batch_x_n"] = one / (compute + exposed)
    out["ring_bytes_per_gpu_8"] = 2 * 7 / 8 * m["grad_bytes"]
    return out


def us(s: float) -> str:
    return f"{s * 1e6:,.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="one JSON object per preset instead of the table")
    args = ap.parse_args()
    torch.set_num_threads(1)
    names = sorted(p.stem for p in (REPO / "presets").glob("*.toml"))
    rows = [{**m, **scaling(m)} for m in map(measure_model, names)]
    if args.json:
        for r in rows:
            print(json.dumps(r))
        return
    speedrun = next(r for r in rows if r["arch"] == "speedrun")
    implied = AIRBENCH_IMAGES * speedrun["train_flops_per_image"] / AIRBENCH_A100_S / A100_BF16
    print(
        f"airbench94 on an A100 ({AIRBENCH_A100_S} s, evaluation included) implies {implied:.2f} of its bf16 peak "
        f"for this speedrun net; assumed here: UTIL {UTIL}"
    )
    print(
        "| preset | params | fp32 gradients / step | ring all-reduce per GPU, N=8 | train GFLOP / image | ops / step "
        "| batch | step on 1 GPU (est., µs) | img/s on 1 GPU (est.) | 8 GPUs NVLink: compute / exposed comm (µs) "
        "| eff, 8 NVLink | eff, 16 on 2 nodes | eff 8 / 16, batch x N |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['preset']} | {r['params'] / 1e6:.2f} M | {r['grad_bytes'] / 1e6:.1f} MB "
            f"| {r['ring_bytes_per_gpu_8'] / 1e6:.1f} MB | {r['train_flops_per_image'] / 1e9:.3f} "
            f"| {r['ops_per_step']} | {r['batch']} ({r['precision']}) | {us(r['step_1gpu_s'])} "
            f"| {r['images_per_s_1gpu']:,.0f} | {us(r['nvlink8_compute_s'])} / {us(r['nvlink8_exposed_s'])} "
            f"| {r['nvlink8_eff']:.2f} | {r['nodes16_eff']:.2f} "
            f"| {r['nvlink8_eff_batch_x_n']:.2f} / {r['nodes16_eff_batch_x_n']:.2f} |"
        )
    assert all(math.isfinite(r["nvlink8_eff"]) for r in rows)


if __name__ == "__main__":
    main()
