#!/usr/bin/env bash
# A model larger than its memory budget, streamed from storage every step:
# INT8 (a raw-stored .dcz) against double compression (an ANS .dcz), same
# file layout, reader, threads and budget, cold (O_DIRECT reads, or buffered
# reads dropped from the page cache). Also resident INT8 and resident
# all-compressed for reference. Writes docs/stream-results.md (table +
# acceptance checks) and docs/stream-results.png (gnuplot).
# Not part of ctest: a few minutes and a few GiB of disk.
#
# Usage: bench/stream_bench.sh [BUILD_DIR] [WORK_DIR]
#   STREAM_LAYERS   layers of the generated llama (default 40: 2.0 GiB of INT8
#                   linear weights at dim 2048, hidden 5632)
#   STREAM_BUDGET   the memory budget in bytes (default 512 MiB)
#   STREAM_STEPS    one-token steps timed per run (default 8)
#   STREAM_REPS     runs per configuration, interleaved; the median-step run
#                   is reported (default 3)
#   STREAM_THREADS  decoder threads (default 1: with the compute thread,
#                   which decodes while it waits, two decoders on two cores)
#   STREAM_DOCS     where the .md/.png go (default docs)
set -euo pipefail
build=${1:-build}
work=${2:-$build/stream-bench}
layers=${STREAM_LAYERS:-40}
budget=${STREAM_BUDGET:-536870912}
steps=${STREAM_STEPS:-8}
reps=${STREAM_REPS:-3}
threads=${STREAM_THREADS:-1}
docs=${STREAM_DOCS:-docs}
gen="$build/bench/dc-benchgen"
dcz="$build/examples/dcz"
llama="$build/examples/dc-llama"
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work" "$docs"

# 1. the model (dim 2048, hidden 5632, 16 heads, vocab 512, seq 256), as an
# ANS .dcz and a raw-stored INT8 .dcz; the .bin is deleted once both exist
shape="2048 5632 $layers 16 16 512 256"
dc="$work/gen-$layers.dcz" int8="$work/gen-$layers-int8.dcz"
if [ ! -f "$dc" ] || [ ! -f "$int8" ]; then
  bin="$work/gen-$layers.bin"
  [ -f "$bin" ] || "$gen" llama2c-gen "$bin" $shape 1
  [ -f "$dc" ] || "$dcz" compress "$bin" -o "$dc" --json >/dev/null
  [ -f "$int8" ] || "$dcz" compress "$bin" -o "$int8" --codec raw --json >/dev/null
  rm -f "$bin"
fi
toks=$(awk -v n="$steps" 'BEGIN { s = 12345; for (i = 0; i < n; i++) {
  s = (s * 1103515245 + 12345) % 2147483648; printf "%s%d", (i ? "," : ""), 3 + s % 509 } }')
jget() { sed -n "s/.*\"$1\": \"\{0,1\}\([^\",}]*\)\"\{0,1\}[,}].*/\1/p"; }

# run1 NAME FILE ARGS...: one bench run, its JSON line appended to NAME.all
run1() {
  local name=$1 file=$2
  shift 2
  "$llama" bench "$file" -n "$steps" --tokens "$toks" --threads "$threads" "$@" \
    >>"$work/$name.all" 2>"$work/$name.err" || {
    echo "$name: failed: $(tail -n 1 "$work/$name.err")" >&2
    return 1
  }
}
# pick NAME: NAME.json = the run of NAME.all with the median step
pick() {
  local name=$1 n k
  n=$(wc -l <"$work/$name.all")
  k=$(((n + 1) / 2))
  awk -F'"median_step_s": ' '{ split($2, a, ","); print a[1] "\t" NR }' "$work/$name.all" |
    sort -g | awk -v k="$k" 'NR == k { print $2 }' >"$work/$name.pick"
  sed -n "$(cat "$work/$name.pick")p" "$work/$name.all" >"$work/$name.json"
}
fresh() { rm -f "$work/$1.all" "$work/$1.json"; }

echo "load: $(uptime)" >&2
# 2. the planner's constants, from separate calibration runs: B = memcpy
# (the engine's probe); I = INT8 bytes / resident INT8 step (each raw chunk
# costs max(S/B, S/I) on the compute thread); D = per-thread decode rate
# from the resident all-compressed step (decoding on both cores: step =
# (S/D + S/I) / 2 over the model); the storage bandwidth = INT8 bytes read
# per step / the all-streamed INT8 step; the read cost (core-seconds the
# decode and compute cores lose per byte read: on this VM the virtual disk
# is emulated on the same host cores, and reads slow down when both cores
# are busy) = what the all-streamed DC step takes beyond decoding and
# compute on the cores, per byte read: (n step - W/D - W/I) / bytes read.
for c in cal-res cal-comp cal-int8s cal-dcs; do fresh "$c"; done
for _ in $(seq "$reps"); do
  run1 cal-res "$int8" --policy all-resident
  run1 cal-comp "$dc" --policy all-compressed
  run1 cal-int8s "$int8" --storage
  run1 cal-dcs "$dc" --storage
done
for c in cal-res cal-comp cal-int8s cal-dcs; do pick "$c"; done
int8b=$(jget int8_bytes <"$work/cal-res.json")
B=$(jget host_bandwidth <"$work/cal-res.json")
I=$(awk -v w="$int8b" -v t="$(jget median_step_s <"$work/cal-res.json")" 'BEGIN { printf "%.6g", w / t }')
cores=$(jget cores <"$work/cal-comp.json")
D=$(awk -v w="$int8b" -v t="$(jget median_step_s <"$work/cal-comp.json")" -v i="$I" -v c="$cores" \
  -v th="$threads" 'BEGIN { n = (th + 1 < c ? th + 1 : c); r = n * t - w / i;
  printf "%.6g", (r > 0 ? w / r : w / t) }')
S=$(awk -v r="$(jget bytes_read_per_token <"$work/cal-int8s.json")" \
  -v t="$(jget median_step_s <"$work/cal-int8s.json")" 'BEGIN { printf "%.6g", r / t }')
Sprobe=$(jget storage_bandwidth <"$work/cal-int8s.json")
RC=$(awk -v w="$int8b" -v t="$(jget median_step_s <"$work/cal-dcs.json")" -v i="$I" -v d="$D" \
  -v c="$cores" -v th="$threads" -v r="$(jget bytes_read_per_token <"$work/cal-dcs.json")" \
  'BEGIN { n = (th + 1 < c ? th + 1 : c); x = (n * t - w / d - w / i) / r;
  printf "%.6g", (x > 0 ? 1e9 * x : 0) }')
consts=(--host-bandwidth "$B" --compute-rate "$I" --decode-rate "$D" --storage-bandwidth "$S"
  --read-cost "$RC")
echo "constants: B $B I $I D $D storage $S (the engine's own probe: $Sprobe) read cost $RC ns/B" >&2

# 3. the rows (new runs, interleaved)
rows="int8-resident dc-resident int8-streamed dc-streamed int8-planned dc-planned"
args_of() {
  case $1 in
  int8-resident) echo "$int8" --policy all-resident ;;
  dc-resident) echo "$dc" --policy all-compressed ;;
  int8-streamed) echo "$int8" --storage --policy all-streamed ;;
  dc-streamed) echo "$dc" --storage --policy all-streamed ;;
  int8-planned) echo "$int8" --storage --memory-budget "$budget" ;;
  dc-planned) echo "$dc" --storage --memory-budget "$budget" ;;
  esac
}
for c in $rows; do fresh "$c"; done
for _ in $(seq "$reps"); do
  for c in $rows; do
    # shellcheck disable=SC2046
    run1 "$c" $(args_of "$c") "${consts[@]}" || true
  done
done
for c in $rows; do pick "$c"; done
echo "load: $(uptime)" >&2

# 4. the page
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
md="$docs/stream-results.md"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
  cat <<'MD'
# Streaming from storage: measured (`bench/stream_bench.sh`)

A model that does not fit its memory budget is read from storage on every
step. Double compression moves fewer bytes, so if decoding keeps up, it runs
faster than INT8, not just smaller (the case of the second seed paper, "On
the Compressibility of Quantized Large Language Models"). Reproduce with
`bench/stream_bench.sh BUILD_DIR` (a few minutes; not part of ctest).

**Setup.** A generated llama2.c model (`dc-benchgen llama2c-gen`, seed 1:
heavy-tailed Laplace rows, log-normal row scales) is stored twice by `dcz
compress` without calibration: per-tensor INT8 coded with ANS (DC), and the
same INT8 bytes raw-stored (`--codec raw`, INT8): same file layout, same
256 KiB chunks, same reader. `dc-llama bench FILE --storage` keeps what the
plan says resident and reads every other chunk from the file every step
(`examples/engine/feed.c`: reader threads pread each chunk's 4 KiB-aligned
extent with O_DIRECT into a ring of aligned buffers; a decoder thread, and
the compute thread while it waits, decode; the compute multiplies INT8 x
INT8 with exact int32 sums, so every row gives the same logits). The file is
dropped from the page cache after loading. Peak RSS is `getrusage`
`ru_maxrss`; "accounted" is the planner's memory (resident raw + resident
compressed chunks + ring and read buffers), which `--memory-budget` caps.

Rows: *resident* INT8 (all raw) and DC (all compressed, decoded every step)
for reference; *streamed*: every chunk read each step; *planned*: the
planner (`dc_planner.h`, threaded model with streaming, docs/planner.md)
chooses, under the budget, what stays raw, what stays compressed and what
streams. The planner's constants come from separate calibration runs (INT8
resident: compute rate; DC resident: decode rate; INT8 streamed: storage
bandwidth; DC streamed: the read cost, the core time a byte read takes from
decoding and compute, docs/planner.md); every row is a new run, and its
prediction is out of sample except for the calibrated quantity.
MD
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $cpu ($(nproc) cores), $threads decoder thread(s) + the compute thread; model $shape (dim hidden layers heads kv_heads vocab seq): $(mib "$int8b") MiB of INT8 linear weights, DC file $(mib "$(stat -c %s "$dc")") MiB, INT8 file $(mib "$(stat -c %s "$int8")") MiB; budget $(mib "$budget") MiB; $steps one-token steps per run, median of $reps interleaved runs per row. Constants: B $B B/s, I $I B/s, D $D B/s per thread, storage $S B/s (the engine's own probe: $Sprobe B/s), read cost $RC core-ns per byte read."
  echo
  echo "| row | resident raw / compressed / streamed chunks | accounted (MiB) | peak RSS (MiB) | read per token (MiB) | tokens/s | measured step (ms) | predicted (ms) | error | O_DIRECT |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for c in $rows; do
    j="$work/$c.json"
    [ -s "$j" ] || { echo "| $c | failed | | | | | | | | |"; continue; }
    n=$(jget chunks <"$j") nc=$(jget compressed_chunks <"$j") ns=$(jget streamed_chunks <"$j")
    meas=$(jget measured_ms <"$j") pred=$(jget predicted_ms <"$j")
    echo "| $c | $((n - nc - ns)) / $nc / $ns | $(mib "$(jget accounted_weight_bytes <"$j")") | $(mib "$(jget peak_rss_bytes <"$j")") | $(mib "$(jget bytes_read_per_token <"$j")") | $(jget tok_s <"$j") | $meas | $pred | $(awk -v p="$pred" -v m="$meas" 'BEGIN { printf "%+.1f%%", 100 * (p - m) / m }') | $(jget direct_io <"$j") |"
  done
  echo
  echo "### Acceptance checks"
  echo
  tok() { jget tok_s <"$work/$1.json"; }
  ratio() { awk -v a="$(tok "$1")" -v b="$(tok "$2")" 'BEGIN { printf "%.2f", a / b }'; }
  chk() { awk -v v="$1" -v t="$2" 'BEGIN { print (v >= t ? "PASS" : "FAIL") }'; }
  cr=$(awk -v a="$(stat -c %s "$int8")" -v b="$(stat -c %s "$dc")" 'BEGIN { printf "%.3f", a / b }')
  r=$(ratio dc-planned int8-planned)
  echo "- Streamed, cold, same budget: DC planned $(tok dc-planned) tok/s vs INT8 planned $(tok int8-planned): $r x (target >= 1.3, CR $cr): $(chk "$r" 1.3)."
  r2=$(ratio dc-streamed int8-streamed)
  echo "- All streamed: DC $(tok dc-streamed) vs INT8 $(tok int8-streamed) tok/s: $r2 x."
  r3=$(ratio dc-resident int8-resident)
  echo "- Resident, all compressed: $(tok dc-resident) vs all-resident INT8 $(tok int8-resident) tok/s: $r3 x (target >= 0.5): $(chk "$r3" 0.5)."
  worst=0 okrss=PASS
  for c in int8-streamed dc-streamed int8-planned dc-planned; do
    j="$work/$c.json"
    [ -s "$j" ] || continue
    over=$(awk -v r="$(jget peak_rss_bytes <"$j")" -v b="$budget" 'BEGIN { printf "%d", r - b }')
    [ "$over" -le $((32 << 20)) ] || okrss=FAIL
    [ "$over" -le "$worst" ] || worst=$over
  done
  echo "- Peak RSS <= budget + 32 MiB in every streamed row (largest: budget + $(mib "$worst") MiB): $okrss."
  emax=0
  for c in $rows; do
    j="$work/$c.json"
    [ -s "$j" ] || continue
    e=$(awk -v p="$(jget predicted_ms <"$j")" -v m="$(jget measured_ms <"$j")" 'BEGIN { e = (p - m) / m; printf "%.1f", 100 * (e < 0 ? -e : e) }')
    emax=$(awk -v a="$e" -v b="$emax" 'BEGIN { print (a > b ? a : b) }')
  done
  echo "- Planner predictions within 15% of measured in every row (largest |error| $emax%): $(awk -v e="$emax" 'BEGIN { print (e <= 15 ? "PASS" : "FAIL") }')."
  h=$(for c in $rows; do jget logits_hash <"$work/$c.json"; done | sort -u | wc -l)
  echo "- Logits identical in every row: $([ "$h" = 1 ] && echo PASS || echo FAIL) ($(jget logits_hash <"$work/int8-resident.json"))."
  echo
  echo "![tokens/s against memory](stream-results.png)"
} >"$md"
# 5. the plot: tokens/s against accounted memory
dat="$work/plot.dat"
for c in $rows; do
  j="$work/$c.json"
  [ -s "$j" ] && echo "$c $(awk -v b="$(jget accounted_weight_bytes <"$j")" 'BEGIN { printf "%.1f", b / 1048576 }') $(jget tok_s <"$j")"
done >"$dat"
if command -v gnuplot >/dev/null; then
  gnuplot -e "dat='$dat'; out='$docs/stream-results.png'; budget=$(mib "$budget")" "$here/plot_stream.gp" ||
    echo "gnuplot failed; no plot" >&2
else
  echo "gnuplot not installed; no plot" >&2
fi
cat "$md"
