#!/usr/bin/env bash
# The main job, end to end, on a real model: calibrate stories260K on
# TinyStories, compress it with the dc8 preset (scaling, quantization,
# pruning, ANS coding; examples/presets.h) into a .dcz, verify it, inspect it,
# and run perplexity and generation straight from the .dcz.
#
# The model, its tokenizer and a 100 KB TinyStories excerpt ship in
# examples/data (licences: examples/data/SOURCES.md), so this runs on a fresh
# clone; SHARED_DIR (default ../shared), when it holds models/stories260K.bin,
# supplies the model and the full text file instead (the excerpt is its first
# 99,666 bytes, so the numbers are the same).
# Usage: examples/main-job.sh [BUILD_DIR] [SHARED_DIR]
set -euo pipefail
build=${1:-build}
shared=${2:-../shared}
data=$(cd "$(dirname "$0")/data" && pwd)
work="$build/main-job"
mkdir -p "$work"
dcz="$build/examples/dcz" llama="$build/examples/dc-llama"
if [ -f "$shared/models/stories260K.bin" ] && [ -f "$shared/text/tinystories-valid-head.txt" ]; then
  model="$shared/models/stories260K.bin" tok="$shared/models/tok512.bin"
  text="$shared/text/tinystories-valid-head.txt"
else
  model="$data/models/stories260K.bin" tok="$data/models/tok512.bin"
  text="$data/text/tinystories-valid-excerpt.txt"
fi
echo "== REAL model: $model (calibration: the first 20000 tokens of $text)"
"$dcz" compress "$model" -o "$work/stories260K.dcz" --force \
  --calib-text "$text" --tokenizer "$tok" --preset dc8
"$dcz" verify "$work/stories260K.dcz"
"$dcz" info "$work/stories260K.dcz" | tail -n 2
echo "== perplexity, run from the .dcz (4096 tokens from character 60000, after the calibration text)"
"$llama" ppl "$work/stories260K.dcz" --tokenizer "$tok" --text "$text" --offset 60000 --max-tokens 4096
echo "== the same tokens with the FP32 model"
"$llama" ppl "$model" --tokenizer "$tok" --text "$text" --offset 60000 --max-tokens 4096
echo "== generation from the .dcz"
"$llama" generate "$work/stories260K.dcz" --tokenizer "$tok" --prompt "Once upon a time" -n 60
