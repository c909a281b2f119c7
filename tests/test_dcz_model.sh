#!/bin/sh
# stories260K -> dcz compress --calib-text --preset dc8 -> verify
# -> stored CR over INT8 >= 1.28 -> dc-llama ppl from the .dcz must equal the
# in-memory quantized run exactly (same ppl digits); the same for --preset dc4.
# Usage: test_dcz_model.sh DCZ DC_LLAMA SHARED_DIR
set -eu
dcz=$1 llama=$2 shared=$3
model=$shared/models/stories260K.bin tok=$shared/models/tok512.bin
text=$shared/text/tinystories-valid-head.txt
[ -f "$text" ] || text=$shared/text/tinystories-valid-excerpt.txt # examples/data
if [ ! -f "$model" ] || [ ! -f "$text" ]; then
  echo "SKIP: $shared absent (models/stories260K.bin, text/); .dcz model test not run"
  exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
set -- --preset dc8
"$dcz" compress "$model" -o "$dir/s.dcz" --calib-text "$text" --tokenizer "$tok" \
  --calib-tokens 5000 "$@" --json >/dev/null
"$dcz" verify "$dir/s.dcz"
# the dc8 preset stores the linear weights at >= 1.28x their INT8 size
cr=$("$dcz" info "$dir/s.dcz" --json | sed 's/.*"quantized":{[^}]*"cr":\([0-9.]*\).*/\1/')
echo "stored CR over INT8 of the linear weights: $cr"
awk -v cr="$cr" 'BEGIN { exit !(cr >= 1.28) }'
ref=$("$llama" ppl "$model" --tokenizer "$tok" --text "$text" --offset 60000 --max-tokens 1024 \
  --calib-text "$text" --calib-tokens 5000 "$@" --json | tail -n 1 | sed 's/.*"ppl": \([0-9.]*\).*/\1/')
got=$("$llama" ppl "$dir/s.dcz" --tokenizer "$tok" --text "$text" --offset 60000 --max-tokens 1024 \
  --json | tail -n 1 | sed 's/.*"ppl": \([0-9.]*\).*/\1/')
echo "in-memory ppl $ref, from .dcz $got"
[ -n "$ref" ] && [ "$ref" = "$got" ]
# the 4-bit DC format (full grid -8..7, binary16 scales in an entropy-coded
# chunk of the tensor table): written, verified, run exactly as in memory;
# its stored bits per weight (chunks + scales) stay below llama.cpp's Q4_0
set -- --preset dc4
"$dcz" compress "$model" -o "$dir/s4.dcz" --calib-text "$text" --tokenizer "$tok" \
  --calib-tokens 5000 "$@" --json >/dev/null
"$dcz" verify "$dir/s4.dcz"
ref=$("$llama" ppl "$model" --tokenizer "$tok" --text "$text" --offset 60000 --max-tokens 1024 \
  --calib-text "$text" --calib-tokens 5000 "$@" --json | tail -n 1)
got=$("$llama" ppl "$dir/s4.dcz" --tokenizer "$tok" --text "$text" --offset 60000 --max-tokens 1024 \
  --json | tail -n 1)
rp=$(echo "$ref" | sed 's/.*"ppl": \([0-9.]*\).*/\1/') gp=$(echo "$got" | sed 's/.*"ppl": \([0-9.]*\).*/\1/')
bpw=$(echo "$got" | sed 's/.*"bpw": \([0-9.]*\).*/\1/')
echo "dc4: in-memory ppl $rp, from .dcz $gp, $bpw bits per weight (engine's count)"
[ -n "$rp" ] && [ "$rp" = "$gp" ]
awk -v b="$bpw" 'BEGIN { exit !(b > 3 && b <= 4.25) }'
# extract -> compress -> extract keeps a dc4 file's bytes (its flags travel in
# the .quant description)
"$dcz" extract "$dir/s4.dcz" -o "$dir/s4.safetensors"
"$dcz" compress "$dir/s4.safetensors" -o "$dir/s4b.dcz" >/dev/null 2>&1
"$dcz" extract "$dir/s4b.dcz" -o "$dir/s4b.safetensors"
cmp "$dir/s4.safetensors" "$dir/s4b.safetensors"
echo "PASS"
