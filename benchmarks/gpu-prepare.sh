#!/usr/bin/env bash
# Run here (the build machine), once per session, before benchmarks/gpu-check.sh runs on
# the GPU machine. The GPU machine reaches no network and has torch and torchvision but
# not textual or platformdirs, and ../shared does not travel to it: this puts the wheels
# and the JPEG CIFAR-10 copy into .gpu-carry/ (git-ignored), which the device call carries.
#
#   bash benchmarks/gpu-prepare.sh
#   then, with the device tool:  run(command="bash benchmarks/gpu-check.sh", carry=[".gpu-carry"], timeout_s=600)
set -euo pipefail
cd "$(dirname "$0")/.."
carry=.gpu-carry
mkdir -p "$carry/wheels"

# The pure-Python packages the app and the core need beyond what that machine has
# (its pygments and rich may be older than textual 8 asks for). Versions as resolved
# here by `pip install -e .`, so the GPU machine runs what the tests ran.
pkgs=(textual textual-plot textual-hires-canvas platformdirs rich pygments markdown-it-py mdurl mdit-py-plugins linkify-it-py uc-micro-py)
specs=()
for p in "${pkgs[@]}"; do
  v=$(python3 -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$p" 2>/dev/null || true)
  specs+=("$p${v:+==$v}")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --platform any \
  -d "$carry/wheels" "${specs[@]}"

data=../shared/datasets/cifar10-jpeg.tar.xz
if [ -f "$data" ]; then
  cp -u "$data" "$carry/"
else
  echo "warning: $data is missing; the GPU check needs it in $carry/" >&2
fi
du -sh "$carry"
ls "$carry/wheels"
