#!/bin/sh
# stories260K .dcz run under partial-compression plans (examples/engine/plan.c):
# every plan must give exactly the perplexity of the unplanned run from the
# same .dcz (and of each other), with weights cut into 1 KiB chunks so that
# chunks end mid-row; per-tensor and per-group (G=32) scales, calibrated and
# not (the latter carries no llama2c_header), decoding on the compute thread
# or on decoder threads, and streamed from the file every step (--storage:
# all chunks, or a planner's mix under a memory budget; ANS and raw-stored
# INT8 files). Then a tiny generated model: bench runs under several plans
# give the same logits hash, and streamed runs read the file every step.
# Usage: test_plan_model.sh DCZ DC_LLAMA SHARED_DIR [DC_BENCHGEN]
set -eu
dcz=$1 llama=$2 shared=$3 gen=${4:-}
model=$shared/models/stories260K.bin tok=$shared/models/tok512.bin
text=$shared/text/tinystories-valid-head.txt
if [ ! -f "$model" ] || [ ! -f "$text" ]; then
  echo "SKIP: $shared absent (models/stories260K.bin, text/); plan test not run"
  exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ppl() { # MODEL.dcz [plan options]: prints the ppl digits
  m=$1
  shift
  "$llama" ppl "$m" --tokenizer "$tok" --text "$text" --offset 100000 --max-tokens 1024 --json "$@" \
    2>"$dir/err" | tail -n 1 | sed 's/.*"ppl": \([0-9.]*\).*/\1/'
}
fail=0
"$dcz" compress "$model" -o "$dir/cal.dcz" --calib-text "$text" --tokenizer "$tok" \
  --calib-tokens 5000 --alpha 0.9 --qmax 90 --sparsity 0.05 --prune dc --prune-group tensor \
  --chunk-size 1024 --json >/dev/null
"$dcz" compress "$model" -o "$dir/grp.dcz" --quant group:32 --chunk-size 1024 --json >/dev/null
"$dcz" compress "$model" -o "$dir/raw.dcz" --codec raw --chunk-size 1024 --json >/dev/null
for m in "$dir/cal.dcz" "$dir/grp.dcz" "$dir/raw.dcz"; do
  ref=$(ppl "$m")
  [ -n "$ref" ] || { echo "FAIL: no reference ppl for $m"; cat "$dir/err"; exit 1; }
  for plan in "--policy all-resident" "--policy all-compressed" "--policy every-N:2" \
    "--policy every-N:5" "--latency-budget 1.25" "--latency-budget 3" "--memory-budget 100%" "--policy every-N:3 --prefetch 2" \
    "--policy all-compressed --prefetch 3" "--policy all-compressed --threads 2" \
    "--storage" "--storage --threads 2 --prefetch 2 --io-threads 3" "--storage --memory-budget 60% --prefetch 4 --read-ahead 4" \
    "--storage --threads 1 --prefetch 1 --read-ahead 2 --latency-budget 400"; do
    # shellcheck disable=SC2086
    got=$(ppl "$m" $plan)
    if [ "$got" = "$ref" ]; then
      echo "ok   $(basename "$m") $plan: ppl $got"
    else
      echo "FAIL $(basename "$m") $plan: ppl '$got' != unplanned $ref"
      cat "$dir/err"
      fail=1
    fi
  done
done
if [ -n "$gen" ]; then
  "$gen" llama2c-gen "$dir/g.bin" 128 352 2 4 2 512 64 7 2>/dev/null
  "$dcz" compress "$dir/g.bin" -o "$dir/g.dcz" --chunk-size 4096 --json >/dev/null
  h1=$("$llama" bench "$dir/g.dcz" -n 24 --policy all-resident 2>/dev/null | sed 's/.*"logits_hash": "\([0-9a-f]*\)".*/\1/')
  h2=$("$llama" bench "$dir/g.dcz" -n 24 --policy all-compressed 2>/dev/null | sed 's/.*"logits_hash": "\([0-9a-f]*\)".*/\1/')
  h3=$("$llama" bench "$dir/g.dcz" -n 24 --policy every-N:3 2>/dev/null | sed 's/.*"logits_hash": "\([0-9a-f]*\)".*/\1/')
  h4=$("$llama" bench "$dir/g.dcz" -n 24 --policy every-N:2 --prefetch 2 2>/dev/null | sed 's/.*"logits_hash": "\([0-9a-f]*\)".*/\1/')
  "$llama" bench "$dir/g.dcz" -n 24 --storage --threads 2 >"$dir/s.json" 2>/dev/null
  h5=$(sed 's/.*"logits_hash": "\([0-9a-f]*\)".*/\1/' "$dir/s.json")
  echo "generated model logits hashes: $h1 $h2 $h3 $h4 $h5"
  if [ -z "$h1" ] || [ "$h1" != "$h2" ] || [ "$h1" != "$h3" ] || [ "$h1" != "$h4" ] ||
    [ "$h1" != "$h5" ]; then
    echo "FAIL: bench logits differ between plans"
    fail=1
  fi
fi
if [ -n "$gen" ]; then
  # streamed: every chunk read from the file each step (about its stored size)
  stored=$(sed 's/.*"streamed_bytes": \([0-9]*\).*/\1/' "$dir/s.json")
  read=$(sed 's/.*"bytes_read_per_token": \([0-9]*\).*/\1/' "$dir/s.json")
  echo "streamed: $stored stored bytes, $read bytes read per token"
  if [ -z "$stored" ] || [ "$stored" -le 0 ] || [ "$read" -lt "$stored" ]; then
    echo "FAIL: a streamed run did not read its chunks every step"
    fail=1
  fi
fi
[ $fail = 0 ] && echo "PASS"
exit $fail
