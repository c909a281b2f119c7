#!/bin/sh
# test_engine.sh ENGINE SHARED_DIR -- smoke test of the dc-llama reference engine.
#
# Runs stories260K on the first 1000 characters of TinyStories (BOS + encoding,
# capped at 256 tokens) and checks
#   FP32 perplexity = 4.038 +- 0.01 (independent float64 reference: 4.038)
#   W8A8 per-tensor perplexity <= FP32 * 1.02
#   weight-only (--act f32) per-tensor perplexity <= FP32 * 1.02, not equal to W8A8
#   no overlap warning for disjoint calibration/evaluation text, one for overlapping
# Skips (exit 0) only when the shared data directory is absent.
set -u
ENGINE=$1
SHARED=$2
if [ ! -d "$SHARED" ]; then
    echo "SKIP: ../shared absent ($SHARED)"
    exit 0
fi
MODEL=$SHARED/models/stories260K.bin
TOK=$SHARED/models/tok512.bin
TEXT=$SHARED/text/tinystories-valid-head.txt
[ -f "$TEXT" ] || TEXT=$SHARED/text/tinystories-valid-excerpt.txt # examples/data
for f in "$ENGINE" "$MODEL" "$TOK" "$TEXT"; do
    if [ ! -f "$f" ]; then
        echo "FAIL: missing $f"
        exit 1
    fi
done

# last line of the output is the JSON object; pull out "ppl"
ppl_of() {
    tail -n 1 | sed -n 's/.*"ppl": *\([0-9.eE+-]*\).*/\1/p'
}

COMMON="--tokenizer $TOK --text $TEXT --max-chars 1000 --max-tokens 256 --json"
fp32=$("$ENGINE" ppl "$MODEL" $COMMON | ppl_of)
w8=$("$ENGINE" ppl "$MODEL" $COMMON --quant tensor --bits 8 | ppl_of)
echo "FP32 ppl: ${fp32:-?}   W8A8 per-tensor ppl: ${w8:-?}"
if [ -z "$fp32" ] || [ -z "$w8" ]; then
    echo "FAIL: engine did not report a perplexity"
    exit 1
fi
# weight-only (--act f32): int8 per-tensor weights, float activations: a
# different product from W8A8 with the same weights (so a different ppl),
# within 2% of FP32
wo=$("$ENGINE" ppl "$MODEL" $COMMON --quant tensor --act f32 | ppl_of)
echo "W8A32 (weight-only) per-tensor ppl: ${wo:-?}"
awk -v f="$fp32" -v q="$w8" -v o="$wo" 'BEGIN {
    bad = 0
    if (f < 4.028 || f > 4.048) { print "FAIL: FP32 ppl " f " not in 4.038 +- 0.01"; bad = 1 }
    if (q > f * 1.02) { print "FAIL: W8A8 ppl " q " more than 2% above FP32 " f; bad = 1 }
    if (o == "" || o == f || o == q) { print "FAIL: weight-only ppl " o " missing or equal to FP32/W8A8"; bad = 1 }
    else if (o > f * 1.02) { print "FAIL: weight-only ppl " o " more than 2% above FP32 " f; bad = 1 }
    if (bad) exit 1
}' || exit 1

# calibration/evaluation overlap: calibration from character 70000 (2000
# tokens) and evaluation from 20000 without --max-chars must not warn; an
# evaluation segment inside the calibration range must
CAL="--calib-text $TEXT --calib-offset 70000 --calib-tokens 2000 --alpha 0.9 --max-tokens 300"
if "$ENGINE" ppl "$MODEL" --tokenizer $TOK --text $TEXT --offset 20000 $CAL 2>&1 >/dev/null |
    grep -q WARNING; then
    echo "FAIL: false overlap warning"
    exit 1
fi
if ! "$ENGINE" ppl "$MODEL" --tokenizer $TOK --text $TEXT --segments 20000,71000 $CAL 2>&1 \
    >/dev/null | grep -q "WARNING: calibration text \[70000, "; then
    echo "FAIL: no warning for an evaluation segment inside the calibration text"
    exit 1
fi
echo "PASS"

