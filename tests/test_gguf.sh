#!/bin/sh
# test_gguf.sh DCZ DC_LLAMA L2C_GGUF GGUF_CHECK SRC_DIR SHARED_DIR -- GGUF in and out.
#
# With stories260K (../shared) converted by dc-l2c-gguf:
#   - the F32 GGUF runs in dc-llama with the .bin's perplexity, exactly
#   - dcz compress of it, then dcz export --gguf: the exported GGUF, quantized
#     in the engine (--quant tensor), has the .dcz's perplexity, exactly
#   - a Q8_0 GGUF: compress -> export gives identical key/values and
#     bit-identical tensor data (gguf_check same), and the .dcz is at least
#     a CR of at least 1.07 over the GGUF (binary16 block scales, float codec)
#   - the recommended DC setting with --calib-text on the F32 GGUF: the
#     .dcz's perplexity equals dc-llama's in-memory run on the GGUF; its
#     export holds Q8_0 (and F32 where rows do not fit) whose values equal
#     the .dcz's bit for bit (gguf_check values) and whose W8A8 perplexity
#     in the engine equals the .dcz's
#   - the same setting on the llama2.c .bin: export --tokenizer gives F32
#     tensors with the .dcz's values (wo/w2 divided by their smoothing
#     scales), perplexity within 1%
#   - damaged GGUF files get a clear error from dcz compress and dc-llama
#   - the independent parser @huggingface/gguf (npm) reads every written
#     file as gguf_check does (skipped, with a message, without npm/network;
#     DC_GGUF_NODE_DIR may name a folder that already has it in node_modules)
# Skips (exit 0) only when the shared data directory is absent.
set -u
DCZ=$1 LLAMA=$2 L2C=$3 CHECK=$4 SRC=$5 SHARED=$6
if [ ! -d "$SHARED" ]; then
    echo "SKIP: ../shared absent ($SHARED)"
    exit 0
fi
MODEL=$SHARED/models/stories260K.bin
TOK=$SHARED/models/tok512.bin
TEXT=$SHARED/text/tinystories-valid-head.txt
T=$(mktemp -d /tmp/dc_test_gguf_sh.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() {
    echo "FAIL: $*"
    exit 1
}
ppl_of() {
    tail -n 1 | sed -n 's/.*"ppl": *\([0-9.eE+-]*\).*/\1/p'
}
COMMON="--text $TEXT --max-chars 4000 --json"

"$L2C" "$MODEL" "$TOK" -o "$T/f32.gguf" >/dev/null || fail "dc-l2c-gguf f32"
"$L2C" "$MODEL" "$TOK" -o "$T/q8.gguf" --type q8_0 >/dev/null || fail "dc-l2c-gguf q8_0"

# 1. the F32 GGUF (tokenizer from its tokenizer.ggml.* keys) = the .bin
p_bin=$("$LLAMA" ppl "$MODEL" --tokenizer "$TOK" $COMMON | ppl_of)
p_gguf=$("$LLAMA" ppl "$T/f32.gguf" $COMMON | ppl_of)
echo "PPL .bin $p_bin, GGUF F32 $p_gguf"
[ -n "$p_bin" ] && [ "$p_bin" = "$p_gguf" ] || fail "GGUF F32 perplexity $p_gguf != .bin $p_bin"

# 2. F32 GGUF -> .dcz -> GGUF
"$DCZ" compress "$T/f32.gguf" -o "$T/f32.dcz" >/dev/null 2>&1 || fail "dcz compress f32.gguf"
"$DCZ" export "$T/f32.dcz" --gguf -o "$T/f32.rt.gguf" >/dev/null || fail "dcz export f32.dcz"
p_dcz=$("$LLAMA" ppl "$T/f32.dcz" --tokenizer "$T/f32.dcz" $COMMON | ppl_of)
p_rt=$("$LLAMA" ppl "$T/f32.rt.gguf" $COMMON --quant tensor --bits 8 | ppl_of)
echo "PPL .dcz (from GGUF) $p_dcz, exported GGUF re-quantized in the engine $p_rt"
[ -n "$p_dcz" ] && [ "$p_dcz" = "$p_rt" ] || fail "exported GGUF perplexity $p_rt != .dcz $p_dcz"

# 3. Q8_0 GGUF -> .dcz -> GGUF: bit-identical tensors, same key/values
"$DCZ" compress "$T/q8.gguf" -o "$T/q8.dcz" >/dev/null 2>&1 || fail "dcz compress q8.gguf"
"$DCZ" export "$T/q8.dcz" --gguf -o "$T/q8.rt.gguf" >/dev/null || fail "dcz export q8.dcz"
"$CHECK" same "$T/q8.gguf" "$T/q8.rt.gguf" || fail "Q8_0 round trip differs"
"$DCZ" verify "$T/q8.dcz" >/dev/null || fail "dcz verify q8.dcz"
echo "sizes: Q8_0 GGUF $(wc -c <"$T/q8.gguf") -> .dcz $(wc -c <"$T/q8.dcz"); F32 GGUF $(wc -c <"$T/f32.gguf") -> .dcz $(wc -c <"$T/f32.dcz")"
q8_gguf=$(wc -c <"$T/q8.gguf") q8_dcz=$(wc -c <"$T/q8.dcz")
# was 1.005 with 4-byte scales and byte-ANS floats, 1.034 with binary16 scales and --codec ans; now 1.084
[ $((q8_dcz * 107)) -le $((q8_gguf * 100)) ] || fail "Q8_0 .dcz $q8_dcz: CR over the GGUF $q8_gguf below 1.07"

# 3b. DC calibration through the engine on the F32 GGUF (README's setting)
DC="--alpha 0.9 --qmax 90 --sparsity 0.05 --prune dc --prune-group tensor"
CAL="--calib-text $TEXT --calib-tokens 4000"
EVAL="--text $TEXT --offset 60000 --max-chars 4000 --json"
"$DCZ" compress "$T/f32.gguf" -o "$T/dc.dcz" $DC $CAL >/dev/null 2>&1 || fail "dcz compress --calib-text f32.gguf"
p_mem=$("$LLAMA" ppl "$T/f32.gguf" $EVAL $DC $CAL | ppl_of)
p_dc=$("$LLAMA" ppl "$T/dc.dcz" --tokenizer "$T/dc.dcz" $EVAL | ppl_of)
echo "PPL DC setting on the GGUF: in memory $p_mem, .dcz $p_dc"
[ -n "$p_mem" ] && [ "$p_mem" = "$p_dc" ] || fail "calibrated .dcz perplexity $p_dc != in-memory $p_mem"
"$DCZ" export "$T/dc.dcz" --gguf -o "$T/dc.rt.gguf" >"$T/out" || fail "dcz export dc.dcz"
grep -q "30 re-quantized tensors as Q8_0, 5 as F32" "$T/out" || { cat "$T/out"; fail "export: not 30 Q8_0 + 5 F32 (ffn_down)"; }
"$CHECK" values "$T/dc.rt.gguf" "$T/dc.dcz" || fail "exported values differ from the .dcz's"
"$CHECK" list "$T/dc.rt.gguf" | grep -q "tensor blk.0.attn_norm.weight 64 0" || fail "attn_norm not F32"
p_ex=$("$LLAMA" ppl "$T/dc.rt.gguf" $EVAL --quant tensor --bits 8 --qmax 90 | ppl_of)
echo "PPL exported GGUF (W8A8 in the engine) $p_ex"
[ -n "$p_ex" ] && [ "$p_ex" = "$p_dc" ] || fail "exported GGUF perplexity $p_ex != .dcz $p_dc"
# the same from an F16 GGUF (2-D weights F16, norms F32, as llama.cpp converts)
"$L2C" "$MODEL" "$TOK" -o "$T/f16.gguf" --type f16 >/dev/null || fail "dc-l2c-gguf f16"
"$DCZ" compress "$T/f16.gguf" -o "$T/dc16.dcz" $DC $CAL >/dev/null 2>&1 || fail "dcz compress --calib-text f16.gguf"
p_mem16=$("$LLAMA" ppl "$T/f16.gguf" $EVAL $DC $CAL | ppl_of)
p_dc16=$("$LLAMA" ppl "$T/dc16.dcz" --tokenizer "$T/dc16.dcz" $EVAL | ppl_of)
echo "PPL DC setting on the F16 GGUF: in memory $p_mem16, .dcz $p_dc16"
[ -n "$p_mem16" ] && [ "$p_mem16" = "$p_dc16" ] || fail "F16: .dcz perplexity $p_dc16 != in-memory $p_mem16"
"$DCZ" export "$T/dc16.dcz" --gguf -o "$T/dc16.rt.gguf" >/dev/null || fail "dcz export dc16.dcz"
"$CHECK" values "$T/dc16.rt.gguf" "$T/dc16.dcz" || fail "F16: exported values differ from the .dcz's"

# 3c. a llama2.c model calibrated by the engine (f32 scales; wo/w2 with a run-time
# 1/s): exported with --tokenizer as F32 holding the .dcz's values (wo/w2 divided
# by s); its W8A8 perplexity is within 1% of the .dcz's (not equal: see README)
"$DCZ" compress "$MODEL" --tokenizer "$TOK" -o "$T/l2c.dcz" $DC $CAL >/dev/null 2>&1 || fail "dcz compress --calib-text .bin"
"$DCZ" export "$T/l2c.dcz" --gguf -o "$T/l2c.gguf" >"$T/out" 2>&1 && fail "llama2.c export without --tokenizer"
grep -q "give --tokenizer" "$T/out" || { cat "$T/out"; fail "no clear message without --tokenizer"; }
"$DCZ" export "$T/l2c.dcz" --gguf -o "$T/l2c.gguf" --tokenizer "$TOK" >"$T/out" || fail "dcz export l2c.dcz"
grep -q "35 as F32, 10 of them divided by their smoothing scales" "$T/out" || { cat "$T/out"; fail "llama2.c export: unexpected types"; }
"$CHECK" values "$T/l2c.gguf" "$T/l2c.dcz" || fail "llama2.c export values differ from the .dcz's"
p_l2c=$("$LLAMA" ppl "$T/l2c.dcz" --tokenizer "$TOK" $EVAL | ppl_of)
p_l2g=$("$LLAMA" ppl "$T/l2c.gguf" $EVAL --quant tensor --bits 8 --qmax 90 | ppl_of)
echo "PPL llama2.c DC .dcz $p_l2c, its exported GGUF (W8A8 in the engine) $p_l2g"
awk -v a="$p_l2c" -v b="$p_l2g" 'BEGIN { d = (b - a) / a; exit !(a > 0 && d < 0.01 && d > -0.01) }' ||
    fail "llama2.c export perplexity $p_l2g not within 1% of $p_l2c"
# a GGUF that already holds quantized tensors is not calibrated again
"$DCZ" compress "$T/q8.gguf" -o "$T/x.dcz" $DC $CAL >"$T/out" 2>&1 && fail "calibrated a Q8_0 GGUF"
grep -q "already holds quantized tensors" "$T/out" || { cat "$T/out"; fail "no clear message for a Q8_0 GGUF"; }

# 4. damaged files: a clear error (exit 2 or 3), never a crash
head -c 1000 "$T/q8.gguf" >"$T/trunc.gguf"
head -c 300000 "$T/q8.gguf" >"$T/short.gguf"
printf 'GGUF\003\000\000\000\377\377\377\377\377\377\377\377\001\000\000\000\000\000\000\000' >"$T/huge.gguf"
for f in trunc short huge; do
    "$DCZ" compress "$T/$f.gguf" -o "$T/$f.dcz" >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 2 ] || [ $rc -eq 3 ] || { cat "$T/out"; fail "dcz compress $f.gguf: exit $rc"; }
    grep -q "GGUF" "$T/out" || { cat "$T/out"; fail "dcz compress $f.gguf: no clear message"; }
    "$LLAMA" ppl "$T/$f.gguf" $COMMON >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 1 ] || { cat "$T/out"; fail "dc-llama $f.gguf: exit $rc"; }
done
"$DCZ" export "$T/f32.dcz" -o "$T/x.gguf" >/dev/null 2>&1 && fail "export without --gguf accepted"

# 5. the independent parser
node_dir=${DC_GGUF_NODE_DIR:-}
if [ -z "$node_dir" ] && command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
    node_dir=$T/npm
    mkdir -p "$node_dir"
    (cd "$node_dir" && timeout 120 npm install --silent --no-audit --no-fund @huggingface/gguf \
        >/dev/null 2>&1) || node_dir=""
fi
if [ -z "$node_dir" ] || [ ! -d "$node_dir/node_modules/@huggingface/gguf" ]; then
    echo "SKIP (part): @huggingface/gguf not available (no npm, node or network)"
else
    cp "$SRC/tests/gguf_check.mjs" "$node_dir/gguf_check.mjs"
    for f in f32 q8 f16 f32.rt q8.rt dc.rt dc16.rt l2c; do
        "$CHECK" list "$T/$f.gguf" >"$T/ours.txt" || fail "gguf_check list $f.gguf"
        node "$node_dir/gguf_check.mjs" "$T/$f.gguf" >"$T/theirs.txt" 2>&1 ||
            { cat "$T/theirs.txt"; fail "@huggingface/gguf refused $f.gguf"; }
        diff "$T/ours.txt" "$T/theirs.txt" >/dev/null ||
            { diff "$T/ours.txt" "$T/theirs.txt" | head; fail "@huggingface/gguf reads $f.gguf differently"; }
    done
    echo "@huggingface/gguf: accepted f32, q8, f16, f32.rt, q8.rt, dc.rt, dc16.rt, l2c (names, shapes, types, key/values agree)"
fi
echo "PASS"
