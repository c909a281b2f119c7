#!/bin/bash
# pipeline-grid.sh -- the evaluation protocol of docs/pipeline-results.md:
# regenerates its tables and chooses the presets (examples/presets.h).
#
#   examples/engine/pipeline-grid.sh [ENGINE] [SHARED_DIR] [OUT_DIR]
#
# ENGINE defaults to build/examples/dc-llama, SHARED_DIR to ../shared (or the
# copy shipped in examples/data when that is absent).
#
# Protocol (stories260K, TinyStories validation text; every range below is in
# characters of that file and disjoint from every other one; dc-llama warns
# on any calibration/evaluation overlap and this script fails if it does):
#   calibration sets  A from 0, B from 370000, C from 740000 (CALIB_TOKENS
#                     = 20000 tokens each: [0, 41765), [370000, 408792),
#                     [740000, 780159))
#   selection         SEL_SEGS: 4 segments of SEG_TOKENS (2044) tokens;
#                     used to choose, with calibration set A only
#   test              TEST_SEGS: 12 segments of 2044 tokens; never used to
#                     choose; every calibration set
# Per run: pooled dPPL = exp((sum NLL_q - sum NLL_fp32) / tokens) - 1 over
# the segments of a set, its paired standard error (the per-segment mean NLL
# differences q - fp32 on the same tokens: sd / sqrt(n), times 1 + dPPL), and
# the worst segment's dPPL. bpw counts every stored byte of the linear
# weights (ANS chunks, scales, smoothing vectors); stored CR = 8 / bpw is
# over INT8 including those side bytes. Both W8A8 (--act int8) and
# weight-only (--act f32) runs are made.
#
# Choice of dc8 (automatic, selection segments and calibration set A only):
# the candidate (CANDIDATES) with the fewest bpw, at most 6.25, whose pooled
# selection dPPL + 2 SE is <= +1.0% in both act modes. It is then run on
# the test segments with all three calibration sets.
#
# Writes OUT_DIR/results.jsonl (one JSON object per run), OUT_DIR/table.md and
# OUT_DIR/pareto.dat (bpw, test dPPL, SE, label; for gnuplot), prints the
# table, and OUT_DIR/pareto.png where gnuplot is installed. GRID=quick runs
# fewer settings (the baselines, three dc8 candidates with the dc8 preset's
# setting, dc4's setting and its form without GPTQ). The full protocol is 50-odd runs: about 6 minutes on a quiet
# 2-core machine.
set -euo pipefail
ENGINE=${1:-build/examples/dc-llama}
SHARED=${2:-../shared}
OUT=${3:-pipeline-grid-out}
[ -f "$SHARED/models/stories260K.bin" ] || SHARED=$(dirname "$0")/../data
# MODEL, TOK, TEXT (and the ranges below) may be given in the environment:
# another model, e.g. aidreams260K on its own generations (gen-text.sh)
MODEL=${MODEL:-$SHARED/models/stories260K.bin}
TOK=${TOK:-$SHARED/models/tok512.bin}
TEXT=${TEXT:-$SHARED/text/tinystories-valid-head.txt}
CALIB_TOKENS=${CALIB_TOKENS:-20000}
SEG_TOKENS=${SEG_TOKENS:-2044}
SEL_SEGS=${SEL_SEGS:-50000,100000,150000,200000}
TEST_SEGS=${TEST_SEGS:-240000,270000,300000,330000,430000,470000,510000,550000,590000,630000,670000,710000}
CALIBS=${CALIBS:-"A:0 B:370000 C:740000"}
mkdir -p "$OUT"
# SUMMARY_ONLY=1: no runs, only the tables from an earlier OUT_DIR/results.jsonl;
# RESUME=1: keep it and make only the runs it lacks
[ -n "${SUMMARY_ONLY:-}${RESUME:-}" ] || : >"$OUT/results.jsonl"
touch "$OUT/results.jsonl"

# run LABEL CALIB_NAME:OFFSET ACT ARGS... -> one line in results.jsonl
run() {
    local label=$1 cal=$2 act=$3
    shift 3
    [ -z "${SUMMARY_ONLY:-}" ] || return 0
    if [ -n "${RESUME:-}" ] && grep -qF "{\"label\": \"$label\", \"calib\": \"${cal%%:*}\", \"act\": \"$act\"," "$OUT/results.jsonl"; then
        return 0
    fi
    local json err
    err=$(mktemp)
    json=$("$ENGINE" ppl "$MODEL" --tokenizer "$TOK" --text "$TEXT" \
        --segments "$SEL_SEGS,$TEST_SEGS" --max-tokens $((SEG_TOKENS + 1)) \
        --calib-text "$TEXT" --calib-offset "${cal#*:}" --calib-tokens "$CALIB_TOKENS" \
        --act "$act" --json "$@" 2>"$err" | tail -n 1)
    if grep -q WARNING "$err"; then
        cat "$err" >&2
        echo "pipeline-grid: calibration and evaluation overlap" >&2
        exit 1
    fi
    rm -f "$err"
    echo "{\"label\": \"$label\", \"calib\": \"${cal%%:*}\", \"act\": \"$act\", \"args\": \"$*\", \"result\": $json}" >>"$OUT/results.jsonl"
    echo "$label [${cal%%:*}, $act]: $(echo "$json" | sed 's/, "segments.*//')" >&2
}

# summary of results.jsonl: one line per run with the selection and test
# statistics (awk; FP32 is the first line)
summarize() {
    awk -v nsel="$(echo "$SEL_SEGS" | tr ',' '\n' | wc -l)" '
function get(s, k,   m) {
    if (match(s, "\"" k "\": *\"[^\"]*\"")) { m = substr(s, RSTART, RLENGTH); sub(/^[^:]*: *"/, "", m); sub(/"$/, "", m); return m }
    if (match(s, "\"" k "\": *[^,}]*")) { m = substr(s, RSTART, RLENGTH); sub(/^[^:]*: */, "", m); return m }
    return ""
}
function segs(s, nl, tk,   n, t, m) {
    n = 0; t = s
    while (match(t, /"tokens": [0-9]+, "nll_sum": [0-9.eE+-]+/)) {
        m = substr(t, RSTART, RLENGTH); t = substr(t, RSTART + RLENGTH)
        split(m, f, /[:,]/); n++; tk[n] = f[2] + 0; nl[n] = f[4] + 0
    }
    return n
}
# pooled dPPL, SE and worst over segments [a, b]
function stats(a, b,   i, d, sum, sq, n, dq, df, tokq, worst, mean, sd) {
    n = 0; sum = 0; sq = 0; dq = 0; df = 0; tokq = 0; worst = -1e9
    for (i = a; i <= b; i++) {
        d = qn[i] / qt[i] - fn[i] / ft[i]
        n++; sum += d; sq += d * d; dq += qn[i]; df += fn[i]; tokq += qt[i]
        if (exp(d) - 1 > worst) worst = exp(d) - 1
    }
    mean = sum / n; sd = n > 1 ? sqrt((sq - n * mean * mean) / (n - 1)) : 0
    P = exp((dq - df) / tokq) - 1; SE = (1 + P) * sd / sqrt(n); W = worst
}
NR == 1 { nf = segs($0, fn, ft); next }
{
    nq = segs($0, qn, qt)
    if (nq != nf) { print "segment count mismatch" > "/dev/stderr"; exit 1 }
    stats(1, nsel); sp = P; sse = SE; sw = W
    stats(nsel + 1, nf); tp = P; tse = SE; tw = W
    printf "%s\t%s\t%s\t%s\t%.4f\t%.4f\t%+.3f\t%.3f\t%+.3f\t%+.3f\t%.3f\t%+.3f\t%s\n", get($0, "label"), get($0, "calib"), get($0, "act"), get($0, "args"), get($0, "bpw"), (get($0, "bpw") > 0 ? 8 / get($0, "bpw") : 0), 100 * sp, 100 * sse, 100 * sw, 100 * tp, 100 * tse, 100 * tw, get($0, "cr_ans")
}' "$OUT/results.jsonl"
}

[ -n "${SUMMARY_ONLY:-}" ] || [ -s "$OUT/results.jsonl" ] || echo "{\"label\": \"FP32\", \"calib\": \"-\", \"act\": \"f32\", \"args\": \"\", \"result\": $("$ENGINE" ppl "$MODEL" --tokenizer "$TOK" --text "$TEXT" --segments "$SEL_SEGS,$TEST_SEGS" --max-tokens $((SEG_TOKENS + 1)) --json | tail -n 1)}" >>"$OUT/results.jsonl"

# reference formats and earlier settings: calibration set A, both act modes
# (Q4_K-like runs weight-only only: its asymmetric grid has no integer path)
BASELINES=(
    "INT8 per-tensor|--quant tensor"
    "INT8 per-channel|--quant channel"
    "Q8_0 (llama.cpp)|--quant q8_0"
    "Q4_0 (llama.cpp)|--quant q4_0"
    "Q4_K-like (llama.cpp)|--quant q4_k"
    "INT4 sym group:32 (old --bits 4)|--bits 4 --quant group:32"
)
# dc8 candidates, in no particular order (the rule below picks)
P="--prune dc --prune-group tensor"
CANDIDATES=(
    "DC8 a0.9 q90 s0.05 (old recommended)|--quant tensor --alpha 0.9 --qmax 90 --sparsity 0.05 $P"
    "DC8 a0.9 q100 s0.05|--quant tensor --alpha 0.9 --qmax 100 --sparsity 0.05 $P"
    "DC8 a0.9 q90 s0.05 gptq|--quant tensor --alpha 0.9 --qmax 90 --sparsity 0.05 $P --gptq on"
    "DC8 a0.9 q90 gptq|--quant tensor --alpha 0.9 --qmax 90 --gptq on"
    "DC8 a0.9 q100 s0.1 gptq|--quant tensor --alpha 0.9 --qmax 100 --sparsity 0.1 $P --gptq on"
    "DC8 a0.9 q95 s0.05 gptq|--quant tensor --alpha 0.9 --qmax 95 --sparsity 0.05 $P --gptq on"
    "DC8 a0.9 q85 s0.05 gptq|--quant tensor --alpha 0.9 --qmax 85 --sparsity 0.05 $P --gptq on"
)
# dc4 candidates: 4-bit codes on the full grid [-8, 7], binary16 group scales
G4="--bits 4 --quant group:32 --grid full --scales f16"
CANDIDATES4=(
    "DC4 g32 (no gptq)|$G4"
    "DC4 g32 gptq m4|$G4 --gptq on --scale-mantissa 4"
    "DC4 g32 gptq m3|$G4 --gptq on --scale-mantissa 3"
    "DC4 g32 a0.5 folded gptq m4|$G4 --alpha 0.5 --scale-inputs folded --gptq on --scale-mantissa 4"
    "DC4 g32 a0.3 folded gptq m4|$G4 --alpha 0.3 --scale-inputs folded --gptq on --scale-mantissa 4"
    "DC4 g32 a0.5 gptq m4|$G4 --alpha 0.5 --gptq on --scale-mantissa 4"
    "DC4 g32 s0.03 gptq m4|$G4 --sparsity 0.03 $P --gptq on --scale-mantissa 4"
    "DC4 g32 s0.06 gptq m4|$G4 --sparsity 0.06 $P --gptq on --scale-mantissa 4"
    "DC4 g32 a0.5 folded s0.03 gptq m4|$G4 --alpha 0.5 --scale-inputs folded --sparsity 0.03 $P --gptq on --scale-mantissa 4"
)
if [ "${GRID:-full}" = quick ]; then
    CANDIDATES=("${CANDIDATES[@]:0:3}")
    CANDIDATES4=("${CANDIDATES4[0]}" "${CANDIDATES4[6]}")
fi
EXTRA_ROWS=()
if [ -n "${EXTRA:-}" ]; then IFS=';' read -ra EXTRA_ROWS <<<"$EXTRA"; fi

for r in "${BASELINES[@]}" "${CANDIDATES[@]}" "${CANDIDATES4[@]}" "${EXTRA_ROWS[@]}"; do
    for act in int8 f32; do
        case "$r" in *q4_k*) [ $act = f32 ] || continue ;; esac
        # shellcheck disable=SC2086
        run "${r%%|*}" "A:0" "$act" ${r#*|}
    done
done

# confirm LABEL|ARGS: the test segments with every other calibration set
confirm() {
    for cal in $CALIBS; do
        [ "${cal%%:*}" = A ] && continue
        for act in int8 f32; do
            # shellcheck disable=SC2086
            run "${1%%|*}" "$cal" "$act" ${1#*|}
        done
    done
}

# the choice of dc8: fewest bpw <= 6.25 with selection dPPL + 2 SE <= 1% in both modes
summarize >"$OUT/summary.tsv"
cands=$(printf '%s\n' "${CANDIDATES[@]}" | sed 's/|.*//')
chosen=$(awk -F'\t' -v cands="$cands" '
BEGIN { n = split(cands, c, "\n"); for (i = 1; i <= n; i++) isc[c[i]] = 1 }
isc[$1] && $2 == "A" { x = (($1 in ok) ? ok[$1] : 1); ok[$1] = x && ($7 + 2 * $8 <= 1.0); bpw[$1] = $5; args[$1] = $4 }
END { best = ""; for (k in ok) if (ok[k] && bpw[k] <= 6.25 && (best == "" || bpw[k] < bpw[best])) best = k; if (best != "") print best "|" args[best] }' "$OUT/summary.tsv")
# the choice of dc4: least selection dPPL (weight-only) among bpw <= 4.25
cands=$(printf '%s\n' "${CANDIDATES4[@]}" | sed 's/|.*//')
chosen4=$(awk -F'\t' -v cands="$cands" '
BEGIN { n = split(cands, c, "\n"); for (i = 1; i <= n; i++) isc[c[i]] = 1 }
isc[$1] && $2 == "A" && $3 == "f32" && $5 <= 4.25 { if (best == "" || $7 < bd) { best = $1; bd = $7; ba = $4 } }
END { if (best != "") print best "|" ba }' "$OUT/summary.tsv")
for c in "$chosen" "$chosen4"; do
    [ -n "$c" ] || continue
    echo "pipeline-grid: chosen ${c%%|*}: ${c#*|}" >&2
    confirm "$c"
done
[ -n "$chosen" ] || echo "pipeline-grid: no dc8 candidate passes the selection rule" >&2
[ -n "$chosen4" ] || echo "pipeline-grid: no dc4 candidate at <= 4.25 bpw" >&2
# the Q4_0 reference on the other calibration sets too (it uses none: a check)
confirm "${BASELINES[3]}"

{
    echo "| setting | calib | activations | bpw | stored CR | selection dPPL % (± SE) | test dPPL % (± SE) | worst test segment % |"
    echo "|---|---|---|---|---|---|---|---|"
    summarize | awk -F'\t' '{ printf "| %s | %s | %s | %.3f | %.4f | %+.2f ± %.2f | %+.2f ± %.2f | %+.2f |\n", $1, $2, $3 == "int8" ? "int8" : "float", $5, $6, $7, $8, $10, $11, $12 }'
    echo
    echo "Selection: $(echo "$SEL_SEGS" | tr ',' '\n' | wc -l) segments, test: $(echo "$TEST_SEGS" | tr ',' '\n' | wc -l) segments, $SEG_TOKENS tokens each; calibration $CALIB_TOKENS tokens."
    [ -n "$chosen" ] && echo "dc8 = ${chosen%%|*}: \`${chosen#*|}\`"
    [ -n "$chosen4" ] && echo "dc4 = ${chosen4%%|*}: \`${chosen4#*|}\`"
} | tee "$OUT/table.md"
summarize | awk -F'\t' '{ printf "%.4f %.4f %.4f %s %s \"%s\"\n", $5, $10, $11, $2, $3, $1 }' >"$OUT/pareto.dat"
# the Pareto plot (calibration set A, test segments), where gnuplot is installed
if command -v gnuplot >/dev/null 2>&1; then
    awk '$4 == "A" && $5 == "int8"' "$OUT/pareto.dat" >"$OUT/pareto-int8.dat"
    awk '$4 == "A" && $5 == "f32"' "$OUT/pareto.dat" >"$OUT/pareto-f32.dat"
    # labels: the reference formats and the chosen presets
    awk -v a="\"${chosen%%|*}\"" -v b="\"${chosen4%%|*}\"" '{ l = $0; sub(/^[^"]*/, "", l) }
        l !~ /^"DC/ || l == a || l == b { if (l == a) sub(/^"/, "\"dc8 = ", l); if (l == b) sub(/^"/, "\"dc4 = ", l); print $1, $2, l }' \
        "$OUT/pareto-f32.dat" >"$OUT/pareto-labels.dat"
    gnuplot <<GP
set terminal pngcairo size 1100,700 font ",10" noenhanced
set output "$OUT/pareto.png"
set title "${PLOT_TITLE:-stories260K}: bits per weight (all stored bytes of the linear weights) vs test dPPL\n(test segments, calibration set A; error bars: paired SE; dPPL below 0.05% drawn at 0.05%)"
set xlabel "bits per weight"
set ylabel "pooled test dPPL vs FP32 (%)"
set logscale y 2
set xrange [4:9.6]
set yrange [0.05:16]
set grid
set key top right
plot "$OUT/pareto-int8.dat" using 1:(\$2 > 0.05 ? \$2 : 0.05):3 with yerrorbars pt 7 title "int8 activations (W·A8)", \
     "$OUT/pareto-f32.dat" using 1:(\$2 > 0.05 ? \$2 : 0.05):3 with yerrorbars pt 5 title "float activations (weight-only)", \
     "$OUT/pareto-labels.dat" using 1:(\$2 > 0.05 ? \$2 : 0.05):3 with labels left offset 1,0.6 font ",8" notitle
GP
    echo "pipeline-grid: $OUT/pareto.png" >&2
fi
