/*
 * ans_portable.c -- round trip of the ANS codec (lib/ans.c) on synthetic data
 * of every state count and a range of sizes, plus any files named on the
 * command line, decoded by the scalar kernel (and on AArch64 by the NEON one,
 * which must give the same bytes); truncated and corrupted payloads
 * must fail cleanly. Prints the number of failures and an FNV-1a hash of every
 * payload written, so that builds for different CPUs (test_aarch64.sh: this
 * machine's, AArch64 under qemu, and the plain-C refill) can be compared: they
 * must write the same bytes. Off x86, lib/ans.c and lib/arm/ans_neon.c are all
 * it needs.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

static uint64_t rng = 88172645463325252ull;
static uint64_t xr(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t h = 1469598103934665603ull;
static void hash(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
}

static int one(const uint8_t *src, size_t n, unsigned states) {
    uint32_t counts[256];
    dc_histogram(src, n, counts);
    int distinct = 0;
    for (int s = 0; s < 256; s++)
        distinct += counts[s] != 0;
    if (distinct < 2) return 0; /* the chunk layer stores runs */
    size_t cap = 2 * n + 4096;
    uint8_t *dst = malloc(cap), *out = malloc(n);
    void *scr = malloc(dc_ans_scratch_size(n));
    dc_ans_table *t = malloc(sizeof *t);
    int bad = 0;
    if (!dst || !out || !scr || !t) {
        printf("out of memory\n");
        bad = 1;
        goto done;
    }
    unsigned param = 0;
    size_t len = dc_ans_encode(src, n, counts, dst, cap, scr, states, &param);
    if (len == 0) {
        printf("FAIL: n=%zu states=%u did not encode\n", n, states);
        bad = 1;
        goto done;
    }
    hash(dst, len);
    uint8_t pb = (uint8_t)param;
    hash(&pb, 1);
    dc_status st = dc_ans_decode(2, dst, len, param, out, n, DC_SIMD_SCALAR, t);
    if (st != DC_OK || memcmp(out, src, n) != 0) {
        printf("FAIL: n=%zu states=%u: status %d\n", n, states, (int)st);
        bad = 1;
    }
#if DC_ARM64
    /* the NEON kernel: the same bytes, and the same errors below */
    memset(out, 0, n);
    st = dc_ans_decode(2, dst, len, param, out, n, DC_SIMD_NEON, t);
    if (st != DC_OK || memcmp(out, src, n) != 0) {
        printf("FAIL: n=%zu states=%u: neon status %d\n", n, states, (int)st);
        bad = 1;
    }
    if (len > 8 && dc_ans_decode(2, dst, len - 2, param, out, n, DC_SIMD_NEON, t) == DC_OK) {
        printf("FAIL: n=%zu states=%u: neon decoded a truncated payload\n", n, states);
        bad = 1;
    }
#endif
    /* a truncated stream is an error; a flipped byte may decode to anything,
     * but inside the bounds (ASan builds check) */
    if (len > 8 && dc_ans_decode(2, dst, len - 2, param, out, n, DC_SIMD_SCALAR, t) == DC_OK) {
        printf("FAIL: n=%zu states=%u: truncated payload decoded\n", n, states);
        bad = 1;
    }
    dst[len / 2] ^= 0x55;
    (void)dc_ans_decode(2, dst, len, param, out, n, DC_SIMD_SCALAR, t);
done:
    free(dst), free(out), free(scr), free(t);
    return bad;
}

int main(int argc, char **argv) {
    static const size_t sizes[] = {2,    3,     7,     8,     9,     15,     16,     17,
                                   31,   64,    100,   255,   256,   257,    1000,   4095,
                                   4096, 16384, 16385, 65536, 65537, 100000, 196608, 262144};
    static const unsigned states[] = {0, 4, 8, 16, 32, 64, 128};
    int bad = 0, runs = 0;
    uint8_t *buf = malloc(262144);
    if (!buf) return 1;
    for (int dist = 0; dist < 4; dist++)
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
            const size_t n = sizes[si];
            for (size_t i = 0; i < n; i++) {
                const uint64_t r = xr();
                const unsigned g = (unsigned)__builtin_ctzll(r | (1ull << 40));
                switch (dist) {
                case 0: /* uniform */
                    buf[i] = (uint8_t)r;
                    break;
                case 1: /* two-sided geometric, like int8 weights */
                    buf[i] = (uint8_t)((r >> 62) & 1 ? 0u - g : g);
                    break;
                case 2: /* mostly zeros */
                    buf[i] = (r & 7) ? 0 : (uint8_t)(r >> 8);
                    break;
                default: /* one symbol at half the probability (12-bit coder) */
                    buf[i] = (uint8_t)((r & 1) ? 3 : (r >> 8) % 5);
                    break;
                }
            }
            for (size_t k = 0; k < sizeof states / sizeof *states; k++, runs++)
                bad += one(buf, n, states[k]);
        }
    for (int a = 1; a < argc; a++) {
        FILE *f = fopen(argv[a], "rb");
        if (!f) {
            printf("cannot open %s\n", argv[a]);
            return 1;
        }
        const size_t n = fread(buf, 1, 262144, f);
        fclose(f);
        for (size_t k = 0; k < sizeof states / sizeof *states; k++, runs++)
            bad += one(buf, n, states[k]);
    }
    free(buf);
    printf("%d runs, %d failures, payload hash %016llx\n", runs, bad, (unsigned long long)h);
    return bad != 0;
}
