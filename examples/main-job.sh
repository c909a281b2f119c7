#!/usr/bin/env bash
# The main job, end to end: compress a model into a .dcz, verify it, inspect
# it and run it. With SHARED/models (the real stories260K model) it calibrates
# on TinyStories, compresses with the recommended DC setting, and runs the
# reference engine straight from the .dcz; without it, it uses a GENERATED
# safetensors model (and says so) and round-trips it through extract.
# Usage: examples/main-job.sh [BUILD_DIR] [SHARED_DIR]
set -euo pipefail
build=${1:-build}
shared=${2:-../shared}
work="$build/main-job"
mkdir -p "$work"
dcz="$build/examples/dcz" llama="$build/examples/dc-llama"
if [ -f "$shared/models/stories260K.bin" ]; then
  echo "== REAL model: $shared/models/stories260K.bin"
  text="$shared/text/tinystories-valid-head.txt" tok="$shared/models/tok512.bin"
  "$dcz" compress "$shared/models/stories260K.bin" -o "$work/stories260K.dcz" --force \
    --calib-text "$text" --tokenizer "$tok" --alpha 0.9 --qmax 90 --sparsity 0.05 --prune dc --prune-group tensor
  "$dcz" verify "$work/stories260K.dcz"
  "$dcz" info "$work/stories260K.dcz" | tail -n 2
  echo "== perplexity, run from the .dcz (evaluation text from character 100000)"
  "$llama" ppl "$work/stories260K.dcz" --tokenizer "$tok" --text "$text" --offset 100000 --max-tokens 4096
  echo "== generation from the .dcz"
  "$llama" generate "$work/stories260K.dcz" --tokenizer "$tok" --prompt "Once upon a time" -n 60
else
  echo "== $shared/models not found: using a GENERATED model instead"
  "$build/bench/dc-benchgen" safetensors "$work/generated.safetensors" 256 688 4 1000 mixed 1
  "$dcz" compress "$work/generated.safetensors" -o "$work/generated.dcz" --force
  "$dcz" verify "$work/generated.dcz"
  "$dcz" info "$work/generated.dcz" | tail -n 2
  "$dcz" extract "$work/generated.dcz" -o "$work/generated.extracted.safetensors" --force
fi
