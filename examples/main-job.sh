#!/usr/bin/env bash
# The main job, end to end, until the dcz CLI lands: quantize the real weights
# in SHARED (INT8 per tensor), compress them into chunks, decode and verify
# every chunk on its own, then benchmark ANS against zstd/lz4/memcpy.
# Without SHARED/models it uses a generated Laplace weight file and says so.
# Usage: examples/main-job.sh [BUILD_DIR] [SHARED_DIR]
set -euo pipefail
build=${1:-build}
shared=${2:-../shared}
work="$build/main-job"
mkdir -p "$work"
inputs=()
if [ -f "$shared/models/stories260K.bin" ]; then
  echo "== real model weights from $shared/models"
  for m in stories260K aidreams260K; do
    "$build/bench/dc-benchgen" llama2c "$shared/models/$m.bin" "$work/$m.int8"
    inputs+=("$work/$m.int8")
  done
else
  echo "== $shared/models not found: using a GENERATED Laplace weight file instead"
  "$build/bench/dc-benchgen" laplace "$work/generated.int8" $((4 << 20)) 4.2 0.2 1
  inputs+=("$work/generated.int8")
fi
for f in "${inputs[@]}"; do "$build/examples/dc-decode-chunks" "$f" 65536; done
echo "== benchmark (one JSON line per codec/path)"
"$build/bench/dc-bench" --reps 3 "${inputs[@]}"
