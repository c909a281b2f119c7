#!/bin/sh
# The ABI gate: compares libdoublecomp.so's ABI (from its debug info, types
# limited to the public headers) with the committed baseline
# abi/libdoublecomp.abi, and fails on any change the ABI promise (README,
# "ABI") does not allow: a stable function removed or changed, a type's
# layout changed (appending to a struct_size struct is allowed), and so on.
# Added functions, appended enumerators and the experimental API
# (abi/suppressions.abignore) pass. A member appended to a struct_size
# struct (compatible by the promise) fails here: refresh the baseline with
# --update in that commit.
#   abi/check.sh LIB             check LIB against the baseline
#   abi/check.sh --update LIB    write LIB's ABI as the new baseline (a
#                                release that adds to the stable API does this)
# Needs abidw and abidiff (Debian: abigail-tools); LIB must have debug info
# (the library is built with -g unless DC_DEBUG_INFO=OFF).
set -eu
update=0
if [ "${1:-}" = --update ]; then update=1; shift; fi
lib=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
abidw --no-show-locs --no-comp-dir-path --no-corpus-path --drop-private-types \
  --headers-dir "$src/include/doublecomp" --header-file "$src/include/doublecomp.h" \
  --out-file "$tmp/new.abi" "$lib"
if [ $update = 1 ]; then
  # translation units named relative to the tree, not this checkout
  sed "s|path='$src/|path='|" "$tmp/new.abi" >"$here/libdoublecomp.abi"
  echo "abi/libdoublecomp.abi updated from $lib"
  exit 0
fi
rc=0
abidiff --no-added-syms --suppressions "$here/suppressions.abignore" \
  "$here/libdoublecomp.abi" "$tmp/new.abi" || rc=$?
if [ $rc -ne 0 ]; then
  echo "ABI gate: FAIL (abidiff exit $rc): the stable ABI changed against abi/libdoublecomp.abi."
  echo "If the change is intended and compatible, run abi/check.sh --update $lib and say why in the commit."
  exit 1
fi
echo "ABI gate: OK (no change to the stable ABI against abi/libdoublecomp.abi)"
