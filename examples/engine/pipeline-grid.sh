#!/bin/bash
# pipeline-grid.sh -- regenerates the stories260K table of docs/pipeline-results.md.
#
#   examples/engine/pipeline-grid.sh [ENGINE] [SHARED_DIR] [OUT_DIR]
#
# ENGINE defaults to build-engine/examples/dc-llama, SHARED_DIR to ../shared.
# Calibration: the first CALIB_TOKENS (20000) tokens of the TinyStories file
# (characters 0..~62k). Evaluation: EVAL_TOKENS (8192) tokens from character
# EVAL_OFFSET (100000) on, in 512-token windows. Writes OUT_DIR/results.jsonl
# (one JSON object per run) and OUT_DIR/table.md (markdown), and prints the table.
set -euo pipefail
ENGINE=${1:-build-engine/examples/dc-llama}
SHARED=${2:-../shared}
OUT=${3:-pipeline-grid-out}
CALIB_TOKENS=${CALIB_TOKENS:-20000}
EVAL_OFFSET=${EVAL_OFFSET:-100000}
EVAL_TOKENS=${EVAL_TOKENS:-8192}
MODEL=$SHARED/models/stories260K.bin
TOK=$SHARED/models/tok512.bin
TEXT=$SHARED/text/tinystories-valid-head.txt
mkdir -p "$OUT"
: >"$OUT/results.jsonl"

run() { # label, extra args...
    local label=$1
    shift
    local json
    json=$("$ENGINE" ppl "$MODEL" --tokenizer "$TOK" --text "$TEXT" --offset "$EVAL_OFFSET" \
        --max-tokens $((EVAL_TOKENS + 1)) --calib-text "$TEXT" --calib-tokens "$CALIB_TOKENS" \
        --json "$@" | tail -n 1)
    echo "{\"label\": \"$label\", \"args\": \"$*\", \"result\": $json}" >>"$OUT/results.jsonl"
    echo "$label: $json" >&2
}

run "FP32"
run "W8A8 per-tensor" --quant tensor
run "W8A8 per-channel" --quant channel
run "W8A8 group:32" --quant group:32
run "W8A8 group:64" --quant group:64
for a in 0.5 0.8 0.9; do
    run "DC a=$a s=0" --quant tensor --alpha $a
    for s in 0.1 0.2; do
        for p in dc wanda magnitude; do
            run "DC a=$a s=$s $p" --quant tensor --alpha $a --sparsity $s --prune $p
        done
    done
done
# exploration rows (docs/pipeline-results.md, section 3); EXTRA (a ';'-separated
# list of "label|args") replaces them
DEFAULT_EXTRA="DC a=0.9 s=0.1 dc, tensor-wide prune (recommended until qmax)|--quant tensor --alpha 0.9 --sparsity 0.1 --prune dc --prune-group tensor"
DEFAULT_EXTRA+=";DC a=0.9 s=0.12 wanda|--quant tensor --alpha 0.9 --sparsity 0.12 --prune wanda"
DEFAULT_EXTRA+=";DC a=1.0 s=0.1 dc, tensor-wide prune|--quant tensor --alpha 1.0 --sparsity 0.1 --prune dc --prune-group tensor"
DEFAULT_EXTRA+=";DC a=1,.9,.9,.9,.9 per layer s=0.1 dc, tensor-wide prune|--quant tensor --layer-alpha 1,0.9,0.9,0.9,0.9 --sparsity 0.1 --prune dc --prune-group tensor"
DEFAULT_EXTRA+=";DC a=0.9 s=0.15 wanda, tensor-wide prune|--quant tensor --alpha 0.9 --sparsity 0.15 --prune wanda --prune-group tensor"
DEFAULT_EXTRA+=";DC a=0.9 qmax=110 s=0|--quant tensor --alpha 0.9 --qmax 110"
DEFAULT_EXTRA+=";DC a=0.9 qmax=100 s=0.05 dc, tensor-wide prune|--quant tensor --alpha 0.9 --qmax 100 --sparsity 0.05 --prune dc --prune-group tensor"
DEFAULT_EXTRA+=";DC a=0.9 qmax=90 s=0.05 dc, tensor-wide prune (recommended)|--quant tensor --alpha 0.9 --qmax 90 --sparsity 0.05 --prune dc --prune-group tensor"
DEFAULT_EXTRA+=";DC a=0.9 qmax=90 s=0.1 dc, tensor-wide prune|--quant tensor --alpha 0.9 --qmax 90 --sparsity 0.1 --prune dc --prune-group tensor"
EXTRA=${EXTRA-$DEFAULT_EXTRA}
if [ -n "$EXTRA" ]; then
    IFS=';' read -ra rows <<<"$EXTRA"
    for r in "${rows[@]}"; do
        # shellcheck disable=SC2086
        run "${r%%|*}" ${r#*|}
    done
fi

# table: PPL, dPPL %, zero fraction, entropy, CR (= bits / entropy), ANS CR
awk '
function get(s, k,   m) {
    if (match(s, "\"" k "\": *\"[^\"]*\"")) { m = substr(s, RSTART, RLENGTH); sub(/^[^:]*: *"/, "", m); sub(/"$/, "", m); return m }
    if (match(s, "\"" k "\": *[^,}]*")) { m = substr(s, RSTART, RLENGTH); sub(/^[^:]*: */, "", m); gsub(/"/, "", m); return m }
    return ""
}
{
    label = get($0, "label"); ppl = get($0, "ppl"); tok = get($0, "tokens")
    if (NR == 1) { base = ppl; print "| setting | PPL | dPPL % | zero frac | entropy bits/w | CR | ANS CR |"; print "|---|---|---|---|---|---|---|" }
    ent = get($0, "entropy_bits_per_weight")
    if (ent == "") { printf "| %s | %.4f | %+.2f | - | 32 (fp32) | - | - |\n", label, ppl, 100 * (ppl / base - 1) }
    else printf "| %s | %.4f | %+.2f | %.4f | %.4f | %.4f | %.4f |\n", label, ppl, 100 * (ppl / base - 1), get($0, "zero_fraction"), ent, get($0, "cr"), get($0, "cr_ans")
    ntok = tok
}
END { printf "\n%d evaluation tokens per run.\n", ntok }
' "$OUT/results.jsonl" | tee "$OUT/table.md"
