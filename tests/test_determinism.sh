#!/bin/sh
# The same model + calibration text + options give a byte-identical .dcz
# whatever the BLAS settings in the environment (OPENBLAS_CORETYPE,
# OPENBLAS_NUM_THREADS), dcz's --threads, and the CPU: where qemu-x86_64 is
# installed, dcz also runs on an emulated CPU without AVX (Nehalem), so the
# baseline code paths are compared with the ones this CPU picks.
# Usage: test_determinism.sh DCZ SHARED_DIR
set -eu
dcz=$1 shared=$2
model=$shared/models/stories260K.bin tok=$shared/models/tok512.bin
text=$shared/text/tinystories-valid-head.txt
if [ ! -f "$model" ] || [ ! -f "$text" ]; then
  echo "SKIP: $shared absent (models/stories260K.bin, text/); determinism test not run"
  exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
n=0
opts=""
run() { # run LABEL PREFIX...: compress (recommended setting + $opts), record the hash
  label=$1; shift
  n=$((n + 1))
  "$@" "$dcz" compress "$model" -o "$dir/$n.dcz" --calib-text "$text" --tokenizer "$tok" \
    --calib-tokens 3000 --alpha 0.9 --qmax 90 --sparsity 0.05 --prune dc --prune-group tensor \
    $opts --json >/dev/null
  h=$(sha256sum <"$dir/$n.dcz" | cut -c1-64)
  echo "$h  $label"
  echo "$h" >>"$dir/hashes"
}
run "as is" env
run "OPENBLAS_CORETYPE=Haswell" env OPENBLAS_CORETYPE=Haswell
run "OPENBLAS_CORETYPE unset" env -u OPENBLAS_CORETYPE
run "OPENBLAS_NUM_THREADS=1" env OPENBLAS_NUM_THREADS=1
run "OPENBLAS_NUM_THREADS=2, CORETYPE unset" env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=2
opts="--threads 1"; run "dcz --threads 1" env
opts="--threads 2"; run "dcz --threads 2" env
opts=""
if command -v qemu-x86_64 >/dev/null 2>&1; then
  run "emulated CPU without AVX (qemu-x86_64 -cpu Nehalem)" qemu-x86_64 -cpu Nehalem
else
  echo "note: qemu-x86_64 not installed; the no-AVX CPU run is skipped (apt-get install qemu-user)"
fi
[ "$(sort -u "$dir/hashes" | wc -l)" -eq 1 ] || { echo "FAIL: .dcz bytes differ"; exit 1; }
echo "PASS: $n runs, one hash"
