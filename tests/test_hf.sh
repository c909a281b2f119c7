#!/bin/sh
# Hugging Face checkpoints in and out of dcz: a 2-shard BF16 stories260K
# (dc-l2c-hf) compressed losslessly from its directory and from its index
# file, extracted with --hf to the very same files; quantized and extracted
# with --dtype; hostile index files (missing shard, path traversal, a tensor
# in the wrong shard, in two shards, or not in the index, bad JSON) refused
# with clear errors and nothing read outside the directory.
# Usage: test_hf.sh DCZ DC_L2C_HF DC_LLAMA SHARED_DIR
set -eu
dcz=$1 l2c=$2 llama=$3 shared=$4
model="$shared/models/stories260K.bin"
if [ ! -f "$model" ]; then
  echo "SKIP: $model not found (../shared absent); Hugging Face tests not run"
  exit 0
fi
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

"$l2c" "$model" "$d/hf" --shards 2 --dtype bf16 > /dev/null
ls "$d/hf" > "$d/ls"
grep -q '^model-00001-of-00002.safetensors$' "$d/ls"
grep -q '^model-00002-of-00002.safetensors$' "$d/ls"
grep -q '"total_size"' "$d/hf/model.safetensors.index.json"
grep -q '"LlamaForCausalLM"' "$d/hf/config.json"

# lossless in, from the directory and from the index file: the same .dcz
"$dcz" compress "$d/hf" -o "$d/a.dcz" --lossless > /dev/null
"$dcz" compress "$d/hf/model.safetensors.index.json" -o "$d/b.dcz" --lossless > /dev/null
"$dcz" verify "$d/a.dcz" > /dev/null
"$dcz" info --json "$d/a.dcz" > "$d/info.json"
grep -q '"config.json":' "$d/info.json"
grep -q '"generation_config.json":' "$d/info.json"
grep -q '"shards":\["model-00001-of-00002.safetensors","model-00002-of-00002.safetensors"\]' \
  "$d/info.json"
grep -q '"codec":"float"' "$d/info.json"
"$dcz" extract "$d/b.dcz" --hf "$d/b" > /dev/null

# lossless out: every file identical (shards, index, config files)
"$dcz" extract "$d/a.dcz" --hf "$d/out" > /dev/null
for f in model-00001-of-00002.safetensors model-00002-of-00002.safetensors \
  model.safetensors.index.json config.json generation_config.json; do
  cmp "$d/hf/$f" "$d/out/$f"
  cmp "$d/hf/$f" "$d/b/$f"
done
# an existing output needs --force (exit 3, nothing changed)
rc=0; "$dcz" extract "$d/a.dcz" --hf "$d/out" 2> "$d/err" || rc=$?
[ $rc -eq 3 ] && grep -q 'exists' "$d/err"
"$dcz" extract "$d/a.dcz" --hf "$d/out" --force > /dev/null
# re-sharded and converted: a valid checkpoint that compresses again
"$dcz" extract "$d/a.dcz" --hf "$d/f32" --dtype f32 --max-shard-size 300K > /dev/null
[ "$(ls "$d/f32" | grep -c 'safetensors$')" -ge 3 ]
"$dcz" compress "$d/f32" -o "$d/f32.dcz" --lossless > /dev/null

# quantized in (INT8), dequantized out to BF16
"$dcz" compress "$d/hf" -o "$d/q.dcz" > /dev/null 2>&1
"$dcz" extract "$d/q.dcz" --hf "$d/q" --dtype bf16 > /dev/null
cmp "$d/hf/config.json" "$d/q/config.json"
"$dcz" compress "$d/q" -o "$d/q2.dcz" --lossless > /dev/null

# dc-llama runs Hugging Face checkpoints: an F32 conversion gives exactly the
# llama2.c checkpoint's perplexity (q/k permutation undone), the BF16
# directory exactly what its lossless .dcz gives, and the quantized .dcz runs
C="--tokenizer $shared/models/tok512.bin --text $shared/text/tinystories-valid-head.txt"
C="$C --max-chars 2000 --max-tokens 256 --json"
ppl() { "$llama" ppl "$1" $C | tail -n 1 | sed -n 's/.*"ppl": *\([0-9.eE+-]*\).*/\1/p'; }
"$l2c" "$model" "$d/hf32" --shards 3 --dtype f32 > /dev/null
"$dcz" compress "$d/hf32" -o "$d/hf32.dcz" --lossless > /dev/null
p_bin=$(ppl "$model") p_hf32=$(ppl "$d/hf32") p_hf32z=$(ppl "$d/hf32.dcz")
p_hf=$(ppl "$d/hf") p_hfz=$(ppl "$d/a.dcz") p_q=$(ppl "$d/q.dcz")
echo "ppl: bin $p_bin, hf f32 $p_hf32 (.dcz $p_hf32z), hf bf16 $p_hf (.dcz $p_hfz), int8 .dcz $p_q"
[ -n "$p_bin" ] && [ "$p_bin" = "$p_hf32" ] && [ "$p_bin" = "$p_hf32z" ]
[ -n "$p_hf" ] && [ "$p_hf" = "$p_hfz" ]
awk -v a="$p_q" -v b="$p_hf" 'BEGIN { exit !(a > 0 && a < 1.05 * b) }'

# --token-file: evaluation from token ids (no tokenizer), checked against the vocabulary
printf '\001\000\000\000\100\000\000\000\041\001\000\000\007\000\000\000' > "$d/ids"
t1=$("$llama" ppl "$d/hf" --token-file "$d/ids" --json | tail -n 1)
t2=$("$llama" ppl "$d/a.dcz" --token-file "$d/ids" --json | tail -n 1)
[ "$t1" = "$t2" ] && echo "$t1" | grep -q '"tokens": 4'
printf '\001\000\000\000\377\377\000\000' > "$d/badids"
rc=0; "$llama" ppl "$d/hf" --token-file "$d/badids" 2> "$d/err" || rc=$?
[ $rc -ne 0 ] && grep -q 'not below the vocabulary size' "$d/err"

# hostile index files: a clear error (exit 2, or 3 for a missing file)
bad() { # NAME EXPECTED_RC PATTERN: compress $d/NAME, check rc and message
  rc=0; "$dcz" compress "$d/$1" -o "$d/$1.dcz" --lossless 2> "$d/err" > /dev/null || rc=$?
  if [ $rc -ne "$2" ] || ! grep -q "$3" "$d/err"; then
    echo "test_hf: $1: exit $rc, expected $2 and '$3':"; cat "$d/err"; exit 1
  fi
  [ ! -e "$d/$1.dcz" ]
}
mk() { rm -rf "${d:?}/$1"; cp -r "$d/hf" "$d/$1"; }
idx=model.safetensors.index.json

mk missing; rm "$d/missing/model-00002-of-00002.safetensors"
bad missing 3 'shard model-00002-of-00002.safetensors, named by the index, is missing'

mk traversal
cp "$d/hf/model-00002-of-00002.safetensors" "$d/x.safetensors" # outside: must not be read
sed 's|"model-00002-of-00002.safetensors"|"../x.safetensors"|' "$d/hf/$idx" > "$d/traversal/$idx"
bad traversal 2 'names "../x.safetensors", not a .safetensors file in the'
mk absolute
sed "s|\"model-00002-of-00002.safetensors\"|\"$d/x.safetensors\"|" "$d/hf/$idx" > "$d/absolute/$idx"
bad absolute 2 "no '/' allowed"

mk wrong # one tensor moved to the other shard in the index only
sed 's|\("model.norm.weight": \)"model-00002-of-00002.safetensors"|\1"model-00001-of-00002.safetensors"|' \
  "$d/hf/$idx" > "$d/wrong/$idx"
grep -q '"model.norm.weight": "model-00001-of-00002' "$d/wrong/$idx"
bad wrong 2 'tensor model.norm.weight is in shard model-00002-of-00002.safetensors but the index'

mk dup # a third shard holding every tensor again
"$l2c" "$model" "$d/one" --shards 1 --dtype bf16 > /dev/null
cp "$d/one/model-00001-of-00001.safetensors" "$d/dup/"
sed 's|\("model.norm.weight": \)"model-00002-of-00002.safetensors"|\1"model-00001-of-00001.safetensors"|' \
  "$d/hf/$idx" > "$d/dup/$idx"
bad dup 2 'is in two shards, model-00001-of-00001.safetensors and model-0000'

mk unlisted # a tensor of a shard that the index does not name
grep -v '"model.layers.4.mlp.up_proj.weight"' "$d/hf/$idx" > "$d/unlisted/$idx"
bad unlisted 2 "tensor model.layers.4.mlp.up_proj.weight of shard model-00002-of-00002.safetensors is not in the index"

mk phantom # the index names a tensor its shard does not hold
sed 's|"weight_map": {|"weight_map": {\n    "model.phantom.weight": "model-00001-of-00002.safetensors",|' \
  "$d/hf/$idx" > "$d/phantom/$idx"
bad phantom 2 'tensor model.phantom.weight is in the index.s weight_map but not in shard'

mk dupkey # one name twice in the weight_map object
sed 's|"weight_map": {|"weight_map": {\n    "model.norm.weight": "model-00002-of-00002.safetensors",|' \
  "$d/hf/$idx" > "$d/dupkey/$idx"
bad dupkey 2 'duplicate key'

mk notjson; printf '{"weight_map": {' > "$d/notjson/$idx"
bad notjson 2 'model.safetensors.index.json: '
mk badconfig; printf '{"hidden_size": ' > "$d/badconfig/config.json"
bad badconfig 2 'config.json: not a JSON object'
mk empty; rm "$d/empty/"*
bad empty 3 'needs model.safetensors.index.json or model.safetensors'

echo "test_hf: all checks passed"
