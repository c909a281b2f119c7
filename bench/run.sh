#!/usr/bin/env bash
# Generates the benchmark inputs and runs dc-bench on them: one JSON line per
# coder and input on stdout (also kept in OUT_DIR/results.jsonl), a summary
# table per input on stderr. Every coder (ANS on each SIMD path, zstd -1/-3/-19,
# lz4, Huff0 X1/X2, htscodecs rANS 32x16, memcpy) runs on the same chunks, with
# interleaved repetitions. Usage: bench/run.sh [BUILD_DIR] [SHARED_DIR] [OUT_DIR]
#   BENCH_REPS  interleaved repetitions (default 5)
#   BENCH_SIZE  bytes of each synthetic file (default 64 MiB)
#   BENCH_SWEEP=1  also sweep chunk sizes 64K..1M (on a 16 MiB file)
set -euo pipefail
build=${1:-build}
shared=${2:-../shared}
out=${3:-$build/bench-data}
size=${BENCH_SIZE:-$((64 << 20))}
reps=${BENCH_REPS:-5}
mkdir -p "$out"
gen="$build/bench/dc-benchgen"
bench="$build/bench/dc-bench"
files=()
for spec in "laplace:0" "laplace-z30:0.3" "laplace-z60:0.6"; do
  name=${spec%%:*} zeros=${spec##*:}
  [ -f "$out/$name.i8" ] || "$gen" laplace "$out/$name.i8" "$size" 4.2 "$zeros" 1
  files+=("$out/$name.i8")
done
for m in stories260K aidreams260K; do
  if [ -f "$shared/models/$m.bin" ]; then
    "$gen" llama2c "$shared/models/$m.bin" "$out/$m.int8"
    files+=("$out/$m.int8")
  else
    echo "note: $shared/models/$m.bin absent; real-weight inputs skipped" >&2
  fi
done
"$bench" --reps "$reps" "${files[@]}" | tee "$out/results.jsonl"
"$bench" --reps "$reps" --threads 2 --codecs ans,zstd1,zstd3,huf "$out/laplace.i8" |
  tee -a "$out/results.jsonl"
if [ "${BENCH_SWEEP:-0}" = 1 ]; then
  [ -f "$out/laplace-16m.i8" ] || "$gen" laplace "$out/laplace-16m.i8" $((16 << 20)) 4.2 0.3 2
  "$bench" --codecs ans,zstd3 --chunk-size 65536 --chunk-size 131072 --chunk-size 262144 \
    --chunk-size 524288 --chunk-size 1048576 "$out/laplace-16m.i8"
fi
