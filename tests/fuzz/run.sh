#!/usr/bin/env bash
# Builds the fuzz targets with clang and runs each for SECONDS (default 60),
# seeding the corpora with valid chunks of every codec, a .dcz and a
# safetensors header.
# Usage: tests/fuzz/run.sh [SECONDS] [BUILD_DIR]
set -euo pipefail
secs=${1:-60}
build=${2:-build-fuzz}
src=$(cd "$(dirname "$0")/../.." && pwd)
CC=clang cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDC_BUILD_FUZZ=ON \
  -DDC_BUILD_BENCH=OFF -DDC_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j2 --target fuzz_chunk_decode fuzz_roundtrip fuzz_container fuzz_safetensors \
  dc-benchgen-seeds >/dev/null
corpus="$build/corpus-chunk"
mkdir -p "$corpus" "$build/corpus-rt" "$build/corpus-dcz" "$build/corpus-st"
"$build/tests/fuzz/dc-benchgen-seeds" "$corpus"
cp "$src/tests/data/chunks_v1.dcc" "$corpus/seed-v1" # chunk format v1, as the previous release wrote it
for t in fuzz_chunk_decode fuzz_roundtrip fuzz_container fuzz_safetensors; do
  case $t in
    fuzz_chunk_decode) c="$corpus" ;;
    fuzz_container) c="$build/corpus-dcz" ;;
    fuzz_safetensors) c="$build/corpus-st" ;;
    *) c="$build/corpus-rt" ;;
  esac
  echo "== $t for ${secs}s"
  rc=0
  len=70000
  [ $t = fuzz_chunk_decode ] && len=300000 # chunks up to 256 KiB reach the 64- and 128-state kernels
  "$build/tests/fuzz/$t" -max_total_time="$secs" -max_len=$len -print_final_stats=1 "$c" \
    >"$build/$t.log" 2>&1 || rc=$?
  grep -E 'stat::number_of_executed_units|stat::peak_rss|Done' "$build/$t.log" || true
  if [ $rc -ne 0 ]; then
    tail -n 40 "$build/$t.log"
    echo "$t FAILED (exit $rc); reproducer saved as crash-*/leak-* in $(pwd)"
    exit 1
  fi
done
