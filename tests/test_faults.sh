#!/bin/sh
# Faults and the file system (issue 9, section 4), with the LD_PRELOAD shim
# tests/fault_inject.c to make each fault happen at a known moment:
#  - SIGINT / SIGTERM / SIGHUP during compress and extract (calibrate writes
#    through the same code as extract) leave no
#    temporary file; after SIGKILL the next run removes the leftover (and only
#    leftovers of dead processes);
#  - new outputs get 0666 & ~umask, a replaced file keeps its mode, and
#    character devices are written in place, not replaced;
#  - error messages keep the system's reason (No such file or directory,
#    Permission denied, No space left on device);
#  - a .dcz truncated while being read is an error (exit 2), not SIGBUS;
#  - FIFOs are refused instead of blocking the open;
#  - dc-llama opens a .dcz once (a second open that failed was silent).
# Usage: test_faults.sh DCZ DC_LLAMA BENCHGEN FAULT_INJECT.so
set -eu
dcz=$1 llama=$2 gen=$3 shim=$4
dir=$(mktemp -d)
trap 'chmod -R u+w "$dir" 2>/dev/null; rm -rf "$dir"' EXIT
# The shim is not instrumented; let a sanitized dcz start with it preloaded.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
fail() { echo "FAIL: $*"; [ -f "$dir/err" ] && cat "$dir/err"; exit 1; }
leftovers() { find "$1" -name '*.dcz-tmp.*' | wc -l; }

"$gen" safetensors "$dir/m.safetensors" 64 96 2 100 mixed 7
"$gen" llama2c-gen "$dir/l.bin" 16 32 2 2 1 64 8 3
"$dcz" compress "$dir/m.safetensors" -o "$dir/m.dcz" --chunk-size 2048 >/dev/null
printf 'Once upon a time there was a little dog. ' > "$dir/text.txt"

# ---- signals: no temporary file left --------------------------------------
mkdir "$dir/sig"
for sig in 2 15 1; do
  rc=0
  FAULT_SIGNAL=$sig LD_PRELOAD="$shim" "$dcz" compress "$dir/m.safetensors" \
    -o "$dir/sig/o.dcz" 2>"$dir/err" || rc=$?
  [ $rc -eq $((128 + sig)) ] || fail "compress: signal $sig gave exit $rc"
  [ "$(leftovers "$dir/sig")" -eq 0 ] || fail "compress: signal $sig left $(ls -A "$dir/sig")"
  rc=0
  FAULT_SIGNAL=$sig LD_PRELOAD="$shim" "$dcz" extract "$dir/m.dcz" \
    -o "$dir/sig/o.safetensors" 2>"$dir/err" || rc=$?
  [ $rc -eq $((128 + sig)) ] || fail "extract: signal $sig gave exit $rc"
  [ "$(leftovers "$dir/sig")" -eq 0 ] || fail "extract: signal $sig left $(ls -A "$dir/sig")"
done
[ ! -e "$dir/sig/o.dcz" ] && [ ! -e "$dir/sig/o.safetensors" ] || fail "partial output kept"

# SIGKILL cannot be caught: the file stays, and the next run removes it.
rc=0
FAULT_SIGNAL=9 LD_PRELOAD="$shim" "$dcz" compress "$dir/m.safetensors" -o "$dir/sig/k.dcz" \
  2>/dev/null || rc=$?
[ $rc -eq 137 ] || fail "SIGKILL gave exit $rc"
[ "$(leftovers "$dir/sig")" -eq 1 ] || fail "SIGKILL: expected one leftover"
# A leftover of a live process (this shell) and a foreign name stay.
touch "$dir/sig/.k.dcz.dcz-tmp.$$.abcdef" "$dir/sig/.k.dcz.tmp.123.abcdef"
"$dcz" compress "$dir/m.safetensors" -o "$dir/sig/k.dcz" >/dev/null
[ "$(leftovers "$dir/sig")" -eq 1 ] || fail "stale temporary file not removed: $(ls -A "$dir/sig")"
[ -e "$dir/sig/.k.dcz.dcz-tmp.$$.abcdef" ] && [ -e "$dir/sig/.k.dcz.tmp.123.abcdef" ] ||
  fail "removed a file that was not a dead process's leftover"
"$dcz" verify "$dir/sig/k.dcz" >/dev/null

# ---- modes: the umask, as cp ----------------------------------------------
mkdir "$dir/mode"
for mask in 022 027 077; do
  want=$(printf '%o' $((0666 & ~0$mask)))
  (umask $mask && "$dcz" compress "$dir/m.safetensors" -o "$dir/mode/$mask.dcz" >/dev/null)
  [ "$(stat -c %a "$dir/mode/$mask.dcz")" = "$want" ] || fail "compress umask $mask: mode $(stat -c %a "$dir/mode/$mask.dcz"), want $want"
  (umask $mask && "$dcz" extract "$dir/m.dcz" -o "$dir/mode/$mask.safetensors" >/dev/null)
  [ "$(stat -c %a "$dir/mode/$mask.safetensors")" = "$want" ] || fail "extract umask $mask"
done
chmod 604 "$dir/mode/022.dcz"
(umask 077 && "$dcz" compress "$dir/m.safetensors" -o "$dir/mode/022.dcz" --force >/dev/null)
[ "$(stat -c %a "$dir/mode/022.dcz")" = 604 ] || fail "a replaced file lost its mode"

# A character device is written in place (and not replaced by a file).
"$dcz" compress "$dir/m.safetensors" -o /dev/null --force >/dev/null
[ -c /dev/null ] || fail "/dev/null was replaced"

# ---- error messages keep the reason ---------------------------------------
rc=0; "$dcz" compress "$dir/m.safetensors" -o "$dir/missing/o.dcz" 2>"$dir/err" || rc=$?
[ $rc -eq 3 ] && grep -q 'No such file or directory' "$dir/err" || fail "missing dir (compress)"
rc=0; "$dcz" extract "$dir/m.dcz" -o "$dir/missing/o.safetensors" 2>"$dir/err" || rc=$?
[ $rc -eq 3 ] && grep -q 'No such file or directory' "$dir/err" || fail "missing dir (extract)"
rc=0; "$dcz" compress "$dir/nope.safetensors" -o "$dir/o.dcz" 2>"$dir/err" || rc=$?
[ $rc -eq 3 ] && grep -q 'No such file or directory' "$dir/err" || fail "missing input"
rc=0; "$dcz" verify "$dir/nope.dcz" 2>"$dir/err" || rc=$?
[ $rc -eq 3 ] && grep -q 'No such file or directory' "$dir/err" || fail "missing .dcz"
rc=0; "$dcz" compress "$dir/m.safetensors" -o /dev/full --force 2>"$dir/err" || rc=$?
[ $rc -eq 3 ] && grep -q 'No space left on device' "$dir/err" || fail "/dev/full (compress)"
rc=0; "$dcz" extract "$dir/m.dcz" -o /dev/full --force 2>"$dir/err" || rc=$?
[ $rc -eq 3 ] && grep -q 'No space left on device' "$dir/err" || fail "/dev/full (extract)"
# A FIFO as input or output: refused at once (opening one used to wait forever).
mkfifo "$dir/f.dcz" "$dir/f.safetensors"
rc=0; timeout 20 "$dcz" verify "$dir/f.dcz" 2>"$dir/err" || rc=$?
[ $rc -eq 3 ] && grep -q 'not a regular file' "$dir/err" || fail "FIFO input (verify): exit $rc"
rc=0; timeout 20 "$dcz" compress "$dir/f.safetensors" -o "$dir/o.dcz" 2>"$dir/err" || rc=$?
[ $rc -eq 3 ] && grep -q 'not a regular file' "$dir/err" || fail "FIFO input (compress): exit $rc"
rc=0; timeout 20 "$dcz" compress "$dir/m.safetensors" -o "$dir/f.dcz" --force 2>"$dir/err" || rc=$?
[ $rc -eq 3 ] && [ -p "$dir/f.dcz" ] || fail "FIFO output: exit $rc"
# A directory without write permission (as root, run as nobody: root may write anywhere).
mkdir "$dir/ro"
cp "$dir/m.safetensors" "$dir/m.dcz" "$dir/ro/"
chmod 555 "$dir/ro"
chmod 755 "$dir"
as_user=""
if [ "$(id -u)" -eq 0 ]; then
  if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$dcz" verify "$dir/ro/m.dcz" >/dev/null 2>&1; then
    as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
  else
    echo "note: cannot run as an unprivileged user; permission check skipped"
  fi
fi
if [ "$(id -u)" -ne 0 ] || [ -n "$as_user" ]; then
  rc=0; $as_user "$dcz" compress "$dir/ro/m.safetensors" -o "$dir/ro/o.dcz" 2>"$dir/err" || rc=$?
  [ $rc -eq 3 ] && grep -q 'Permission denied' "$dir/err" || fail "read-only dir (compress)"
  rc=0; $as_user "$dcz" extract "$dir/ro/m.dcz" -o "$dir/ro/o.safetensors" 2>"$dir/err" || rc=$?
  [ $rc -eq 3 ] && grep -q 'Permission denied' "$dir/err" || fail "read-only dir (extract)"
fi
# A full file system (a small tmpfs, where a private mount is allowed).
mkdir "$dir/full"
if command -v unshare >/dev/null &&
  unshare -m sh -c "mount -t tmpfs -o size=8k tmpfs '$dir/full'" 2>/dev/null; then
  rc=0
  unshare -m sh -c "mount -t tmpfs -o size=8k tmpfs '$dir/full' &&
    exec '$dcz' compress '$dir/m.safetensors' -o '$dir/full/o.dcz'" 2>"$dir/err" || rc=$?
  [ $rc -eq 3 ] && grep -q 'No space left on device' "$dir/err" || fail "full file system"
else
  echo "note: no private tmpfs mount; full-file-system check skipped (/dev/full is checked)"
fi

# ---- a .dcz truncated while it is read: an error, not SIGBUS ---------------
size=$(wc -c <"$dir/m.dcz")
for cmd in verify info extract; do
  cp "$dir/m.dcz" "$dir/t.dcz"
  rm -f "$dir/t.safetensors"
  rc=0
  FAULT_TRUNCATE=t.dcz:$((size / 2)) LD_PRELOAD="$shim" "$dcz" $cmd "$dir/t.dcz" \
    $([ $cmd = extract ] && echo "-o $dir/t.safetensors") >/dev/null 2>"$dir/err" || rc=$?
  [ $rc -eq 2 ] && grep -q 'truncated' "$dir/err" || fail "$cmd of a file truncated while read: exit $rc"
done

# ---- dc-llama opens the .dcz once -----------------------------------------
"$dcz" compress "$dir/l.bin" -o "$dir/l.dcz" >/dev/null
"$llama" bench "$dir/l.dcz" -n 2 --tokens 1,5 >/dev/null 2>"$dir/err" || fail "dc-llama bench"
rc=0
FAULT_FAIL_OPEN=l.dcz:2 LD_PRELOAD="$shim" "$llama" bench "$dir/l.dcz" -n 2 --tokens 1,5 \
  >/dev/null 2>"$dir/err" || rc=$?
[ $rc -eq 0 ] || [ -s "$dir/err" ] || fail "dc-llama: exit $rc without a message"
[ $rc -eq 0 ] || fail "dc-llama opened the .dcz twice (exit $rc)"
rc=0
FAULT_FAIL_OPEN=l.dcz:1 LD_PRELOAD="$shim" "$llama" bench "$dir/l.dcz" -n 2 --tokens 1,5 \
  >/dev/null 2>"$dir/err" || rc=$?
[ $rc -ne 0 ] && grep -q 'Permission denied' "$dir/err" || fail "dc-llama: open failure not reported"
echo "test_faults: OK"
