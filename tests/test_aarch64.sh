#!/bin/sh
# The AArch64 ANS paths: build tests/ans_portable.c with lib/ans.c and the NEON
# kernel (lib/arm/ans_neon.c) for AArch64, with the scalar decoder's asm refill
# and with the plain C one (-DDC_ANS_NO_ASM), run both under qemu-aarch64
# (each decodes with the scalar and the NEON kernel), and check
# that they round-trip and write the same payloads as this machine's build
# (NATIVE, the same test linked against the library: SIMD encoder included).
# Usage: test_aarch64.sh NATIVE SOURCE_DIR [FILES...]
# Skips (exit 0, "SKIP: ") without aarch64-linux-gnu-gcc or qemu-aarch64
# (Debian: gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user).
set -eu
native=$1 src=$2
shift 2
cc=${DC_CROSS_CC:-aarch64-linux-gnu-gcc}
if ! command -v "$cc" >/dev/null 2>&1 || ! command -v qemu-aarch64 >/dev/null 2>&1; then
  echo "SKIP: $cc or qemu-aarch64 not installed"
  exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
want=$("$native" "$@")
echo "native:        $want"
for variant in asm plain; do
  def=""
  [ $variant = plain ] && def=-DDC_ANS_NO_ASM
  "$cc" -std=c11 -O2 -static -Wall -Wextra -Werror $def -I"$src/include" -I"$src/lib" \
    "$src/tests/ans_portable.c" "$src/lib/ans.c" "$src/lib/arm/ans_neon.c" -lm -o "$dir/ans_portable_$variant"
  got=$(qemu-aarch64 "$dir/ans_portable_$variant" "$@")
  echo "aarch64 $variant: $got"
  if [ "$got" != "$want" ]; then
    echo "FAIL: the aarch64 ($variant) build differs from the native one"
    exit 1
  fi
done
case $want in *", 0 failures,"*) ;; *) echo "FAIL: native round trip"; exit 1 ;; esac
echo "OK"
