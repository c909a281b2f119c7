#!/bin/sh
# Resource limits of the tools on crafted inputs (written here by dc_craft):
#  - decompression bombs (.dcz files of a few KB that decode to GBs) are
#    refused under the default memory limit, with a message, a nonzero exit
#    and a peak RSS under 4 x the input + 64 MiB; a raised limit
#    (--max-memory, DC_MAX_MEMORY) lets a trusted file through;
#  - a llama2.c header asking for a 64 GiB KV cache is refused before
#    anything is allocated (dc-llama, dcz calibrate, dcz compress --calib-text);
#  - 100,000 tensor names cost O(n log n): writing, opening, verifying,
#    extracting such a .dcz, and compressing a 100,000-tensor safetensors
#    model with a 100,000-layer statistics file each finish well within a
#    generous timeout (they took minutes when name handling was quadratic).
# Usage: test_limits.sh DCZ DC_LLAMA DC_CRAFT
# DC_TEST_TIMEOUT_SCALE (default 1) multiplies the timeouts; DC_TEST_NO_RSS=1
# skips the RSS bound (sanitizer builds, whose allocator inflates RSS).
set -eu
dcz=$1 llama=$2 craft=$3
k=${DC_TEST_TIMEOUT_SCALE:-1}
t20=$((20 * k)) t40=$((40 * k))
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
unset DC_MAX_MEMORY || true

# Runs "$@" recording its exit status in $rc and peak RSS (KiB) in $rss
# (0 when GNU time is unavailable); stderr goes to $dir/err.
timed() {
    rc=0
    if [ -x /usr/bin/time ] && [ "${DC_TEST_NO_RSS:-0}" != 1 ]; then
        /usr/bin/time -o "$dir/rss" -f %M "$@" > "$dir/out" 2> "$dir/err" || rc=$?
        rss=$(tail -n 1 "$dir/rss")
    else
        "$@" > "$dir/out" 2> "$dir/err" || rc=$?
        rss=0
    fi
}

# Fails unless the last command was refused (nonzero exit, a message about
# the memory limit) within 4 x the size of file $1 + 64 MiB of RSS.
refused() {
    size=$(wc -c < "$1")
    cap=$(( (4 * size) / 1024 + 65536 ))
    if [ "$rc" -eq 0 ] || ! grep -q "${3:-memory limit}" "$dir/err" || [ "$rss" -gt "$cap" ]; then
        echo "FAIL: $2: rc=$rc rss=${rss}KiB (cap ${cap}KiB)"; cat "$dir/err"; exit 1
    fi
}

# ---- decompression bombs ----------------------------------------------------
"$craft" bomb-dcz "$dir/bomb.dcz" 32       # 32 x 64 MiB of zeros in a few KB
"$craft" bomb-dcz "$dir/one.dcz" 1         # one 64 MiB tensor
"$craft" bomb-llama "$dir/bomb-llama.dcz"  # a 256 MiB embedding
timed "$dcz" extract "$dir/bomb.dcz" -o "$dir/x.safetensors"; refused "$dir/bomb.dcz" extract
[ ! -e "$dir/x.safetensors" ]
timed "$dcz" info "$dir/bomb.dcz"; refused "$dir/bomb.dcz" info
timed "$dcz" verify "$dir/bomb.dcz"; refused "$dir/bomb.dcz" verify
timed "$llama" bench "$dir/bomb-llama.dcz" -n 1; refused "$dir/bomb-llama.dcz" dc-llama
timed "$llama" bench "$dir/bomb-llama.dcz" -n 1 --policy all-compressed
refused "$dir/bomb-llama.dcz" "dc-llama plan"

# A raised limit lets a trusted file through, and the output is right:
# extract holds one tensor at a time (64 MiB here), not the whole file.
timed "$dcz" extract "$dir/one.dcz" -o "$dir/one.safetensors" --max-memory 100M
[ "$rc" -eq 0 ] || { echo "FAIL: extract with --max-memory"; cat "$dir/err"; exit 1; }
[ "$(wc -c < "$dir/one.safetensors")" -gt 67108864 ]
rm -f "$dir/one.safetensors"
rc=0; DC_MAX_MEMORY=1G "$dcz" verify "$dir/bomb.dcz" > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: verify with DC_MAX_MEMORY"; exit 1; }
rc=0; "$dcz" verify "$dir/bomb.dcz" --max-memory lots 2> "$dir/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'bad --max-memory' "$dir/err"

# ---- a llama2.c header asking for a 64 GiB KV cache -------------------------
"$craft" kv-llama "$dir/kv.bin"
timed "$llama" ppl "$dir/kv.bin" --tokenizer "$dir/none" --text "$dir/none"
refused "$dir/kv.bin" "dc-llama ppl"
timed "$dcz" calibrate "$dir/kv.bin" --tokenizer "$dir/none" --text "$dir/none" -o "$dir/s"
refused "$dir/kv.bin" "dcz calibrate"
timed "$dcz" compress "$dir/kv.bin" -o "$dir/kv.dcz" --calib-text "$dir/none" \
    --tokenizer "$dir/none"
refused "$dir/kv.bin" "dcz compress --calib-text"
[ ! -e "$dir/kv.dcz" ]
# A header whose tensors do not fit in the file: refused by dcz before
# anything is listed (exit 2, "shorter").
head -c 4000000 "$dir/kv.bin" > "$dir/short.bin"
rc=0; "$dcz" compress "$dir/short.bin" -o "$dir/short.dcz" 2> "$dir/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q 'shorter' "$dir/err"

# ---- 100,000 tensor names ---------------------------------------------------
n=100000
timeout $t20 "$craft" many-dcz "$dir/many.dcz" $n
timeout $t20 "$dcz" verify "$dir/many.dcz" > "$dir/out"
grep -q "$n tensors" "$dir/out"
timeout $t20 "$dcz" info --json "$dir/many.dcz" > "$dir/out"
grep -q "\"tensors\":$n" "$dir/out"
timeout $t20 "$dcz" extract "$dir/many.dcz" -o "$dir/many.safetensors"
rm -f "$dir/many.dcz" "$dir/many.safetensors"
timeout $t20 "$craft" many-st "$dir/many.safetensors" $n
timeout $t20 "$craft" many-stats "$dir/many.stats" $n
timeout $t40 "$dcz" compress "$dir/many.safetensors" -o "$dir/many.dcz" --stats "$dir/many.stats" \
    --codec raw --json > "$dir/out"
grep -q "\"quantized_tensors\":$n" "$dir/out"
timeout $t20 "$dcz" verify "$dir/many.dcz" > /dev/null
rm -f "$dir"/many.*

# ---- many tensors or metadata entries in few bytes --------------------------
# A million scalar tensors (68 MB): refused by the table check, within RSS.
"$craft" tiny-st "$dir/tiny.safetensors" 1000000
timed "$dcz" compress "$dir/tiny.safetensors" -o "$dir/tiny.dcz" --codec raw
refused "$dir/tiny.safetensors" "compress, a million tensors"
rm -f "$dir/tiny.safetensors"
# A million empty metadata entries (6 MB): refused by the parser.
"$craft" meta-st "$dir/meta.safetensors" 1000000
timed "$dcz" compress "$dir/meta.safetensors" -o "$dir/meta.dcz"
refused "$dir/meta.safetensors" "compress, a million metadata entries" "not a valid safetensors"
echo "test_limits: all checks passed"
