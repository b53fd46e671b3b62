#!/usr/bin/env bash
# The GPU measurements of BENCHMARKS.md in one call of the device tool, within a time
# budget: items run in priority order and the one that would pass the deadline is cut
# (its run folder still says how far it got). Prepare with benchmarks/gpu-prepare.sh.
#
#   bash benchmarks/gpu-check.sh [ITEM ...]     (default: every item, in the order below)
#
# Items: speedrun bench-cnn bench-resnet-small bench-cnn-ui ddp-1 ddp-2-one-gpu fast-resnet18 fast-cnn
#        fast-resnet-small speedrun-seeds tutorial-resnet18 tutorial-cnn fast-vgg16 fast-resnet50
#        speedrun-compile
# Environment: BUDGET_S (default 540) seconds for all items; OUT (the device tool sets it)
# receives env.txt, log.txt, runs.json and bench-*.json. SMOKE=1 runs every item for a
# step or two on the CPU with cifar10-mini, to check this script without a GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
carry=$repo/.gpu-carry
OUT=${OUT:-/tmp/gpu-check-out}
mkdir -p "$OUT"
work=$(mktemp -d)
export PYTHONUNBUFFERED=1 TUI_TRAINER_CACHE=$work/cache TUI_TRAINER_RUNS=$work/runs TUI_TRAINER_PRESETS=$work/presets
start=$(date +%s)
budget=${BUDGET_S:-540}
log=$OUT/log.txt
: >"$log"

if [ -n "${SMOKE:-}" ]; then
  data=${DATA:-../shared/datasets/cifar10-mini.tar.xz}
  dev=cpu
  bench_args=(--steps 30 --warmup 1 --rounds 1)  # enough for two of the engine's 0.25 s Step events
  ui_steps=30
  # Batches of 100: speedrun's own 1,024 made its one CPU step 10 s of the suite's time.
  short=(--epochs 1 --set train.max_steps_per_epoch=2 --set data.batch_size=100)
else
  data=${DATA:-$carry/cifar10-jpeg.tar.xz}
  dev=cuda
  # Enough steps that the engine, at tens of thousands of images/s, spans several of
  # its 0.25 s Step events; the tutorials' PIL loop takes most of the time.
  bench_args=(--steps 1000 --rounds 3)
  ui_steps=10000
  short=()
fi
D=(--set data.dataset=imagefolder --data-root "$data" --device "$dev")

# The app's packages, from the carried wheels, where this machine lacks them.
if ! python3 -c "import textual, platformdirs" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$work/site" \
    "$carry"/wheels/*.whl >>"$log" 2>&1 || { echo "could not install the carried wheels (run benchmarks/gpu-prepare.sh here first)"; exit 1; }
  export PYTHONPATH=$repo:$work/site
else
  export PYTHONPATH=$repo
fi
tt=(python3 -m tui_trainer)

{
  date -u +"%Y-%m-%d %H:%M UTC"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  python3 -c "import torch, torchvision, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'torchvision', torchvision.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available() and torch.cuda.get_device_name())"
  nproc
  git -C "$repo" log -1 --format='commit %h %s' 2>/dev/null
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# run NAME COMMAND...: one item under what is left of the budget.
run() {
  local name=$1; shift
  local left=$((start + budget - $(date +%s)))
  if [ "$left" -lt 20 ]; then
    echo "== $name: skipped, ${left}s of the budget left" | tee -a "$log"
    return
  fi
  echo "== $name ($(($(date +%s) - start))s in, ${left}s left): $*" | tee -a "$log"
  local t0; t0=$(date +%s)
  timeout --signal=TERM --kill-after=15 "$left" "$@" >>"$log" 2>&1
  local rc=$?
  echo "== $name: rc $rc after $(($(date +%s) - t0))s" | tee -a "$log"
  tail -n 2 "$log" | head -n 1
}

# train NAME PRESET [ARGS]: a headless training run; bench NAME PRESET: tui-trainer bench.
train() { local name=$1 preset=$2; shift 2; run "$name" "${tt[@]}" train "$preset" --headless "${D[@]}" "${short[@]}" "$@"; }
# ddp NAME NPROC PRESET [ARGS]: the distributed path (NCCL on a GPU, gloo in SMOKE) under
# torchrun, forced at one process too (TUI_TRAINER_DDP=always): its cost beside a solo run.
ddp() { local name=$1 n=$2 preset=$3; shift 3
  run "$name" env TUI_TRAINER_DDP=always python3 -m torch.distributed.run --standalone --nproc-per-node "$n" \
    -m tui_trainer train "$preset" --headless "${D[@]}" "${short[@]}" "$@"; }
# bench NAME PRESET [ARGS]: writes $OUT/NAME.json (ARGS after the usual ones win).
bench() { local name=$1 preset=$2; shift 2
  run "$name" sh -c '"$@" > "$0"' "$OUT/$name.json" "${tt[@]}" bench "$preset" "${D[@]}" "${bench_args[@]}" "$@" --json; }

item() {
  case $1 in
    speedrun) train speedrun speedrun-cifar10 ;;
    speedrun-seeds) for s in 1 2; do train "speedrun-seed$s" speedrun-cifar10 --set train.seed=$s; done ;;
    speedrun-compile) train speedrun-compile speedrun-cifar10 --set train.compile=true ;;
    bench-cnn) bench bench-cnn cnn-dropout-cifar10 ;;
    bench-resnet-small) bench bench-resnet-small resnet-small-cifar10 ;;
    # c/b again over ten times the steps (engine and app only): at GPU speed 1,000 steps
    # are about a second, in which the app's start (its first renders, before the pacer
    # has measured anything) weighs far more than it does in a run of minutes.
    # Two rounds: each measurement is a fresh process (torch, CUDA, the data: seconds).
    bench-cnn-ui) bench bench-cnn-ui cnn-dropout-cifar10 --only engine,app --steps "${ui_steps}" --rounds 2 ;;
    # The NCCL path at world size 1, beside the same run in one process (fast-cnn), and two
    # ranks sharing the one GPU (NCCL may refuse: "Duplicate GPU detected"; the log says).
    ddp-1) ddp ddp-1 1 cnn-dropout-cifar10-fast; train solo-1 cnn-dropout-cifar10-fast ;;
    ddp-2-one-gpu) ddp ddp-2-one-gpu 2 cnn-dropout-cifar10-fast ;;
    fast-resnet18) train fast-resnet18 resnet18-tv-cifar10-fast ;;
    fast-cnn) train fast-cnn cnn-dropout-cifar10-fast ;;
    fast-resnet-small) train fast-resnet-small resnet-small-cifar10-fast ;;
    fast-vgg16) train fast-vgg16 vgg16-cifar10-fast ;;
    fast-resnet50) train fast-resnet50 resnet50-cifar10-fast ;;
    tutorial-resnet18) train tutorial-resnet18 resnet18-tv-cifar10 ;;
    tutorial-cnn) train tutorial-cnn cnn-dropout-cifar10 ;;
    *) echo "unknown item '$1'" | tee -a "$log"; return 2 ;;
  esac
}

items=("$@")
[ ${#items[@]} -gt 0 ] || items=(speedrun bench-cnn bench-resnet-small bench-cnn-ui ddp-1 ddp-2-one-gpu fast-resnet18 fast-cnn fast-resnet-small
  speedrun-seeds tutorial-resnet18 tutorial-cnn fast-vgg16 fast-resnet50 speedrun-compile)
for i in "${items[@]}"; do item "$i"; done

# What each run reached, for BENCHMARKS.md: accuracy, training seconds, time to target.
"${tt[@]}" runs --json >"$OUT/runs.json" 2>>"$log"
python3 - "$OUT/runs.json" <<'EOF' | tee -a "$log"
import json, sys
runs = json.load(open(sys.argv[1]))
print("| run | status | epochs | last acc | best acc | train s | target | time to target s |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
f = lambda v, p=2: "" if v is None else f"{v:.{p}f}"
for r in reversed(runs):
    print(f"| {r['id']} | {r['status']} | {r['epoch']}/{r['epochs']} | {f(r['last_acc'])} | {f(r['best_acc'])} "
          f"| {f(r['train_seconds'], 1)} | {f(r['target_acc'])} | {f(r['time_to_target'], 1)} |")
EOF
for b in "$OUT"/bench-*.json; do [ -s "$b" ] && { echo "$b"; cat "$b"; echo; }; done
echo "total $(($(date +%s) - start))s"
rm -rf "$work"
