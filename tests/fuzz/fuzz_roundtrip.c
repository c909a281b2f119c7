/*
 * fuzz_roundtrip.c -- libFuzzer target: arbitrary bytes compressed with every
 * codec (the float codec with 2- and 4-byte elements too) must decode back
 * exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doublecomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    size_t cap = dc_compress_bound(size);
    uint8_t *comp = malloc(cap), *out = malloc(size + 1);
    if (!comp || !out) abort();
    /* every codec, then the float codec with 2- and 4-byte elements */
    for (int c = DC_CODEC_ANS; c <= DC_CODEC_RAW + 2; c++) {
        dc_compress_options o = {sizeof(o), c > DC_CODEC_RAW ? DC_CODEC_FLOAT : (dc_codec)c,
                                 c > DC_CODEC_RAW ? 2 * (c - DC_CODEC_RAW) : 0, DC_CHUNK_SIZE_MIN,
                                 NULL};
        dc_cctx *cc;
        if (dc_cctx_create(&o, &cc) != DC_OK) abort();
        size_t csize, w;
        if (dc_compress(cc, data, size, comp, cap, &csize) != DC_OK) abort();
        if (dc_decompress(NULL, comp, csize, out, size, &w) != DC_OK || w != size) abort();
        if (size && memcmp(out, data, size) != 0) abort();
        dc_cctx_free(cc);
    }
    free(comp);
    free(out);
    return 0;
}
