#!/bin/bash
# gen-text.sh ENGINE MODEL TOK N OUT -- N texts sampled from MODEL in FP32
# (temperature 1, seeds 1..N, from BOS, up to seq_len - 1 tokens each), one
# after another with a blank line between them, written to OUT (atomically).
# For models without held-out text of their own (aidreams260K): the
# evaluation protocol then scores a quantized model on what its FP32 model
# generates (docs/pipeline-results.md, section 5).
set -euo pipefail
ENGINE=$1 MODEL=$2 TOK=$3 N=$4 OUT=$5
tmp=$(mktemp "$OUT.tmp.XXXXXX")
trap 'rm -f "$tmp"' EXIT
for seed in $(seq 1 "$N"); do
    "$ENGINE" generate "$MODEL" --tokenizer "$TOK" --prompt "" -n 1000 --temperature 1.0 \
        --seed "$seed" | sed 's/^<unk> *//'
    echo
done >"$tmp"
chmod a+r "$tmp"
mv "$tmp" "$OUT"
trap - EXIT
