/*
 * gen.h -- deterministic test/benchmark data shared by tests/ and bench/:
 * a seeded PRNG, Laplace-distributed int8, and the per-tensor INT8 linear
 * weights of a llama2.c checkpoint. Header-only; not part of the library.
 */
#ifndef DC_TESTS_GEN_H
#define DC_TESTS_GEN_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: small, seeded, reproducible on every platform. */
static inline uint64_t gen_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform double in (0, 1). */
static inline double gen_unit(uint64_t *s) {
    return ((double)(gen_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static inline void gen_uniform(uint8_t *dst, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t)(gen_next(&seed) >> 56);
}

/*
 * Laplace(0, b) rounded to int8 and clamped to [-127, 127]; then a fraction
 * `zeros` of positions (chosen at random) set to 0. b = 4.2 gives an order-0
 * entropy of about 4.5 bits/byte.
 */
static inline void gen_laplace(uint8_t *dst, size_t n, double b, double zeros, uint64_t seed) {
    for (size_t i = 0; i < n; i++) {
        double u = gen_unit(&seed) - 0.5;
        double v = -b * (u < 0 ? -1.0 : 1.0) * log(1.0 - 2.0 * fabs(u));
        long q = lround(v);
        if (q > 127) q = 127;
        if (q < -127) q = -127;
        if (zeros > 0 && gen_unit(&seed) < zeros) q = 0;
        dst[i] = (uint8_t)(int8_t)q;
    }
}

/* Order-0 entropy of buf in bits per byte. */
static inline double gen_entropy_bits(const uint8_t *buf, size_t n) {
    if (n == 0) return 0;
    size_t c[256] = {0};
    for (size_t i = 0; i < n; i++)
        c[buf[i]]++;
    double h = 0;
    for (int s = 0; s < 256; s++)
        if (c[s]) {
            double p = (double)c[s] / (double)n;
            h -= p * log2(p);
        }
    return h;
}

/* Reads a whole file; returns NULL (and *size = 0) if it cannot. */
static inline uint8_t *gen_read_file(const char *path, size_t *size) {
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        if (len >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = (uint8_t *)malloc((size_t)len + 1))) {
            if (fread(buf, 1, (size_t)len, f) == (size_t)len) {
                *size = (size_t)len;
            } else {
                free(buf);
                buf = NULL;
            }
        }
    }
    fclose(f);
    return buf;
}

/*
 * Loads a llama2.c checkpoint and returns the linear weights (wq wk wv wo w1
 * w2 w3, layer by layer) quantized to symmetric INT8 with one scale per
 * tensor (q = round(w * 127 / max|w|)), concatenated. NULL on any error.
 */
static inline uint8_t *gen_llama2c_int8(const char *path, size_t *out_size) {
    size_t size;
    *out_size = 0;
    uint8_t *file = gen_read_file(path, &size);
    if (!file) return NULL;
    int32_t h[7];
    if (size < sizeof(h)) goto fail;
    memcpy(h, file, sizeof(h));
    size_t dim = (size_t)h[0], hid = (size_t)h[1], L = (size_t)h[2], nh = (size_t)h[3];
    size_t nkv = (size_t)h[4], vocab = (size_t)(h[5] < 0 ? -h[5] : h[5]);
    if (h[0] <= 0 || h[1] <= 0 || h[2] <= 0 || h[3] <= 0 || h[4] <= 0 || dim % nh) goto fail;
    size_t kv = nkv * (dim / nh);
    /* float offsets of each tensor group, in file order */
    size_t off = vocab * dim + L * dim; /* skip embedding, rms_att */
    size_t sizes[7] = {dim * dim, dim * kv, dim * kv, dim * dim, hid * dim, dim * hid, hid * dim};
    size_t starts[7];
    for (int t = 0; t < 4; t++)
        starts[t] = off, off += L * sizes[t];
    off += L * dim; /* rms_ffn */
    for (int t = 4; t < 7; t++)
        starts[t] = off, off += L * sizes[t];
    if (sizeof(h) + off * 4 > size) goto fail;
    const float *w = (const float *)(file + sizeof(h));
    size_t total = 0;
    for (int t = 0; t < 7; t++)
        total += L * sizes[t];
    uint8_t *out = (uint8_t *)malloc(total);
    if (!out) goto fail;
    size_t o = 0;
    for (size_t l = 0; l < L; l++)
        for (int t = 0; t < 7; t++) {
            const float *x = w + starts[t] + l * sizes[t];
            float amax = 0;
            for (size_t i = 0; i < sizes[t]; i++)
                amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
            float inv = amax > 0 ? 127.0f / amax : 0;
            for (size_t i = 0; i < sizes[t]; i++)
                out[o++] = (uint8_t)(int8_t)lrintf(x[i] * inv);
        }
    free(file);
    *out_size = total;
    return out;
fail:
    free(file);
    return NULL;
}

#endif /* DC_TESTS_GEN_H */
