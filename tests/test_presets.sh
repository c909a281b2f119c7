#!/bin/sh
# test_presets.sh DCZ DC_LLAMA DOCS_MD [MODEL_DIR TEXT_DIR] -- the presets are what
# the docs say.
#
# Every preset `dcz compress --help` lists ("preset NAME: OPTIONS", from
# examples/presets.h) must appear in DOCS_MD (docs/pipeline-results.md) as
# the table row "| `NAME` | `OPTIONS` |", dc-llama must list the same, and,
# with a model, `dc-llama ppl --preset NAME` must give exactly the result of
# the options written out.
set -u
DCZ=$1
LLAMA=$2
DOCS=$3
MDIR=${4:-}
TEXT=${5:-}/tinystories-valid-head.txt
[ -f "$TEXT" ] || TEXT=${5:-}/tinystories-valid-excerpt.txt
list=$("$DCZ" compress --help | sed -n 's/^  preset \([a-z0-9_]*\): \(.*\)$/\1|\2/p')
if [ -z "$list" ]; then
    echo "FAIL: dcz compress --help lists no presets"
    exit 1
fi
lhelp=$("$LLAMA" 2>&1 | sed -n 's/^  \([a-z0-9_]*\): \(--.*\)$/\1|\2/p')
bad=0
echo "$list" | while IFS='|' read -r name opts; do
    if ! grep -qF "| \`$name\` | \`$opts\` |" "$DOCS"; then
        echo "FAIL: $DOCS has no row | \`$name\` | \`$opts\` |"
        exit 1
    fi
    if ! echo "$lhelp" | grep -qxF "$name|$opts"; then
        echo "FAIL: dc-llama lists preset $name differently"
        exit 1
    fi
    echo "preset $name = $opts (as documented)"
done || bad=1
[ $bad = 0 ] || exit 1
if [ -n "$MDIR" ] && [ -f "$MDIR/stories260K.bin" ] && [ -f "$TEXT" ]; then
    name=$(echo "$list" | head -n 1 | cut -d'|' -f1)
    opts=$(echo "$list" | head -n 1 | cut -d'|' -f2)
    common="--tokenizer $MDIR/tok512.bin --text $TEXT --max-tokens 200 --calib-text $TEXT --calib-tokens 1500 --offset 20000"
    # shellcheck disable=SC2086
    a=$("$LLAMA" ppl "$MDIR/stories260K.bin" $common --preset "$name" --json | tail -n 1)
    # shellcheck disable=SC2086
    b=$("$LLAMA" ppl "$MDIR/stories260K.bin" $common $opts --json | tail -n 1)
    if [ -z "$a" ] || [ "$a" != "$b" ]; then
        echo "FAIL: --preset $name differs from its options written out"
        echo "  $a"
        echo "  $b"
        exit 1
    fi
    echo "dc-llama ppl --preset $name = the same options written out"
else
    echo "(no model: the run comparison is skipped)"
fi
echo "PASS"
