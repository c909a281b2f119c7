#!/bin/sh
# End-to-end test of the dcz command on a generated safetensors model with
# F32, F16 and BF16 tensors (names with dots and non-ASCII characters):
# compress -> verify -> info -> extract -> equal to the library's reference
# quantization; then damaged files and refused overwrites.
# Usage: test_dcz.sh DCZ BENCHGEN DCZ_CHECK
set -eu
dcz=$1 gen=$2 check=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$gen" safetensors "$dir/m.safetensors" 64 96 2 100 mixed 7
"$dcz" compress "$dir/m.safetensors" -o "$dir/m.dcz" --chunk-size 2048 --threads 2 --json > "$dir/c.json"
grep -q '"quantized_tensors":15' "$dir/c.json"
"$dcz" verify "$dir/m.dcz"
"$dcz" info --json "$dir/m.dcz" > "$dir/info.json"
grep -q '"tensors":23' "$dir/info.json"
grep -q 'extra.ünïcødé.✓.bias' "$dir/info.json"
"$dcz" extract "$dir/m.dcz" -o "$dir/out.safetensors"
"$check" "$dir/m.safetensors" "$dir/out.safetensors"

# Refuses to overwrite without --force (exit 3), and leaves the file alone.
cp "$dir/m.dcz" "$dir/keep.dcz"
rc=0; "$dcz" compress "$dir/m.safetensors" -o "$dir/keep.dcz" 2>/dev/null || rc=$?
[ $rc -eq 3 ] && cmp -s "$dir/m.dcz" "$dir/keep.dcz"
rc=0; "$dcz" extract "$dir/m.dcz" -o "$dir/out.safetensors" 2>/dev/null || rc=$?
[ $rc -eq 3 ]

# A truncated file: a clear error naming the problem, exit 2.
size=$(wc -c < "$dir/m.dcz")
head -c $((size - 100)) "$dir/m.dcz" > "$dir/trunc.dcz"
rc=0; "$dcz" verify "$dir/trunc.dcz" 2> "$dir/err" || rc=$?
[ $rc -eq 2 ] && grep -q 'truncated' "$dir/err"

# A flipped byte in chunk data: verify names the tensor and chunk, exit 2.
cp "$dir/m.dcz" "$dir/flip.dcz"
printf '\377' | dd of="$dir/flip.dcz" bs=1 seek=600 conv=notrunc 2>/dev/null
rc=0; "$dcz" verify "$dir/flip.dcz" 2> "$dir/err" || rc=$?
[ $rc -eq 2 ] && grep -q 'tensor .*chunk' "$dir/err"

# --lossless: every tensor (F32, F16, BF16, the 3-D one) comes back byte for
# byte, float tensors in float-codec chunks; the quantization options are refused.
"$dcz" compress "$dir/m.safetensors" -o "$dir/l.dcz" --lossless --chunk-size 4096 --threads 2 \
  --json > "$dir/l.json"
grep -q '"quantized_tensors":0' "$dir/l.json"
"$dcz" verify "$dir/l.dcz"
"$dcz" info --json "$dir/l.dcz" > "$dir/linfo.json"
grep -q '"codec":"float"' "$dir/linfo.json"
"$dcz" extract "$dir/l.dcz" -o "$dir/l.safetensors"
"$check" "$dir/m.safetensors" "$dir/l.safetensors" --exact
rc=0; "$dcz" compress "$dir/m.safetensors" -o "$dir/x.dcz" --lossless --bits 4 2>/dev/null || rc=$?
[ $rc -eq 1 ]
rc=0; "$dcz" compress "$dir/m.safetensors" -o "$dir/x.dcz" --lossless --codec zstd 2>/dev/null || rc=$?
[ $rc -eq 1 ]

# Usage errors exit 1.
rc=0; "$dcz" compress 2>/dev/null || rc=$?
[ $rc -eq 1 ]
echo "test_dcz: all checks passed"
