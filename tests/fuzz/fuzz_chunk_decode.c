/*
 * fuzz_chunk_decode.c -- libFuzzer target: arbitrary bytes as a chunk (and as
 * a chunk sequence) through every SIMD decoder path. The decoder must return
 * a status, never crash or touch memory outside its buffers (run under ASan),
 * and all paths must agree on both status and output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doublecomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* The first byte picks the destination capacity: exact, short or roomy. */
    size_t raw = 0;
    if (dc_chunk_info(data, size, NULL, &raw, NULL) != DC_OK) raw = 4096;
    if (raw > (1u << 20)) raw = 1u << 20;
    size_t cap = raw;
    if (size > 0 && (data[size - 1] & 3) == 1 && cap > 0) cap--;
    if (size > 0 && (data[size - 1] & 3) == 2) cap += 17;
    uint8_t *ref = malloc(cap + 1), *out = malloc(cap + 1);
    if (!ref || !out) abort();
    dc_status ref_st = DC_OK;
    size_t ref_w = 0;
    int have_ref = 0;
    for (int s = DC_SIMD_SCALAR; s <= DC_SIMD_NEON; s++) {
        if (!dc_simd_supported((dc_simd)s)) continue;
        dc_decompress_options o = {sizeof(o), (dc_simd)s, NULL, 0};
        dc_dctx *d;
        if (dc_dctx_create(&o, &d) != DC_OK) abort();
        size_t w = 0;
        memset(out, 0, cap + 1);
        dc_status st = dc_chunk_decompress(d, data, size, out, cap, &w);
        if (st == DC_OK && w > cap) abort();
        if (!have_ref) {
            ref_st = st, ref_w = w, have_ref = 1;
            memcpy(ref, out, cap + 1);
        } else if (st != ref_st || (st == DC_OK && (w != ref_w || memcmp(out, ref, w) != 0))) {
            abort(); /* SIMD paths disagree */
        }
        dc_dctx_free(d);
    }
    size_t total = 0, w = 0;
    if (dc_decompressed_size(data, size, &total) == DC_OK && total <= (1u << 22)) {
        uint8_t *all = malloc(total + 1);
        if (!all) abort();
        (void)dc_decompress(NULL, data, size, all, total, &w);
        free(all);
    }
    free(ref);
    free(out);
    return 0;
}
