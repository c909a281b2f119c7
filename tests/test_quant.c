/*
 * test_quant.c -- quantizer: round-trip error bounds for every granularity
 * and width, layouts (scales, 4-bit nibble order), error report, import,
 * and bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doublecomp.h"
#include "gen.h"

static void gen_weights(float *w, size_t rows, size_t cols, uint64_t seed) {
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            double u = gen_unit(&seed) * 2 - 1;
            /* rows and columns of different spread, so blocks differ */
            w[i * cols + j] = (float)(u * (1.0 + (double)(i % 3)) * (j % 11 == 0 ? 8.0 : 1.0));
        }
}

/* The element (i, j) of q decoded from the documented layout. */
static int elem(const dc_qtensor_info *info, const uint8_t *d, size_t i, size_t j) {
    const uint8_t *r = d + i * info->row_bytes;
    if (info->bits == 8) return (int8_t)r[j];
    unsigned nib = (j & 1) ? r[j / 2] >> 4 : r[j / 2] & 15u;
    return nib >= 8 ? (int)nib - 16 : (int)nib;
}

static float scale_of(const dc_qtensor_info *info, const float *s, size_t i, size_t j) {
    switch (info->granularity) {
    case DC_QUANT_PER_TENSOR:
        return s[0];
    case DC_QUANT_PER_CHANNEL:
        return s[i];
    case DC_QUANT_PER_GROUP: {
        size_t ng = (info->cols + info->group_size - 1) / info->group_size;
        return s[i * ng + j / info->group_size];
    }
    }
    return NAN;
}

static void check_roundtrip(size_t rows, size_t cols, dc_quant_granularity g, size_t G,
                            unsigned bits, uint64_t seed) {
    float *w = malloc(4 * rows * cols), *deq = malloc(4 * rows * cols);
    gen_weights(w, rows, cols, seed);
    dc_quant_options o = {sizeof(o), g, G, bits, NULL, 0, 0};
    dc_qtensor *q;
    assert_int_equal(dc_quantize(w, rows, cols, &o, &q), DC_OK);
    dc_qtensor_info info = {.struct_size = sizeof(info)};
    assert_int_equal(dc_qtensor_get_info(q, &info), DC_OK);
    unsigned B = bits ? bits : 8;
    int Q = B == 8 ? 127 : 7;
    size_t GG = g == DC_QUANT_PER_GROUP ? (G ? G : DC_QUANT_GROUP_SIZE_DEFAULT) : 0;
    size_t ng = g == DC_QUANT_PER_GROUP ? (cols + GG - 1) / GG : 1;
    assert_int_equal(info.rows, rows);
    assert_int_equal(info.cols, cols);
    assert_int_equal(info.bits, B);
    assert_int_equal(info.granularity, g);
    assert_int_equal(info.group_size, g == DC_QUANT_PER_TENSOR    ? 0
                                      : g == DC_QUANT_PER_CHANNEL ? cols
                                                                  : GG);
    assert_int_equal(info.n_scales, g == DC_QUANT_PER_TENSOR    ? 1
                                    : g == DC_QUANT_PER_CHANNEL ? rows
                                                                : rows * ng);
    assert_int_equal(info.row_bytes, B == 8 ? cols : (cols + 1) / 2);
    assert_int_equal(info.data_size, rows * info.row_bytes);
    const uint8_t *d = dc_qtensor_data(q);
    const float *s = dc_qtensor_scales(q);

    /* Delta = block max / Q, exactly as documented */
    float *bmax = calloc(info.n_scales, 4);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            size_t k = g == DC_QUANT_PER_TENSOR    ? 0
                       : g == DC_QUANT_PER_CHANNEL ? i
                                                   : i * ng + j / GG;
            bmax[k] = fmaxf(bmax[k], fabsf(w[i * cols + j]));
        }
    for (size_t k = 0; k < info.n_scales; k++)
        assert_true(s[k] == bmax[k] / (float)Q);
    free(bmax);

    assert_int_equal(dc_qtensor_dequantize(q, deq, rows * cols), DC_OK);
    double se = 0, mx = 0, sq = 0;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            int v = elem(&info, d, i, j);
            assert_true(v >= -Q && v <= Q);
            float delta = scale_of(&info, s, i, j);
            float x = w[i * cols + j];
            assert_true(deq[i * cols + j] == (float)v * delta);
            /* the round-trip bound, |W - dequant| <= Delta / 2 */
            double err = fabs((double)x - (double)deq[i * cols + j]);
            assert_true(err <= 0.5 * delta * (1 + 1e-6) + 1e-30);
            /* q is round-to-nearest of W / Delta */
            assert_true(v == (int)round((double)x / (double)delta));
            se += err * err;
            sq += (double)x * x;
            mx = fmax(mx, err);
        }
    if (B == 4 && (cols & 1))
        for (size_t i = 0; i < rows; i++)
            assert_int_equal(d[i * info.row_bytes + cols / 2] >> 4, 0);
    dc_quant_error e = {.struct_size = sizeof(e)};
    assert_int_equal(dc_qtensor_error(q, &e), DC_OK);
    double n = (double)rows * (double)cols;
    assert_true(fabs(e.mse - se / n) <= 1e-9 * (se / n) + 1e-300);
    assert_true(e.max_abs == mx);
    assert_true(fabs(e.mean_sq - sq / n) <= 1e-9 * (sq / n));
    assert_true(e.mse >= 0 && e.mse < e.mean_sq);
    dc_quant_error e2 = {.struct_size = sizeof(e2)};
    assert_int_equal(dc_qtensor_compare(q, w, rows, cols, &e2), DC_OK);
    assert_true(e2.mse == e.mse && e2.max_abs == e.max_abs);

    /* import of the same data gives the same tensor */
    dc_qtensor *q2;
    assert_int_equal(dc_qtensor_import(d, info.data_size, s, info.n_scales, rows, cols, &o, &q2),
                     DC_OK);
    assert_memory_equal(dc_qtensor_data(q2), d, info.data_size);
    assert_memory_equal(dc_qtensor_scales(q2), s, 4 * info.n_scales);
    dc_qtensor_free(q2);
    dc_qtensor_free(q);
    free(w);
    free(deq);
}

static void test_roundtrip(void **state) {
    (void)state;
    size_t shapes[][2] = {{1, 1}, {3, 7}, {16, 128}, {9, 300}, {64, 257}};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
        for (unsigned b = 0; b <= 8; b += 4) /* 0 (=8), 4, 8 */
            for (int g = 0; g < 3; g++) {
                size_t G = g == 2 ? (s % 2 ? 32 : 0) : 0;
                check_roundtrip(shapes[s][0], shapes[s][1], (dc_quant_granularity)g, G, b, 100 + s);
            }
    check_roundtrip(5, 40, DC_QUANT_PER_GROUP, 1, 8, 1);
    check_roundtrip(5, 40, DC_QUANT_PER_GROUP, 1000, 4, 2); /* G > cols: one group */
    check_roundtrip(5, 41, DC_QUANT_PER_GROUP, 7, 4, 3);
}

/* Explicit values: the default is per-tensor 8-bit; the 4-bit nibble order
 * is low nibble first. */
static void test_layout(void **state) {
    (void)state;
    float w[2 * 3] = {1.27f, -1.27f, 0.0f, 0.5f, -0.013f, 0.011f};
    dc_qtensor *q;
    assert_int_equal(dc_quantize(w, 2, 3, NULL, &q), DC_OK);
    const int8_t *d = dc_qtensor_data(q);
    assert_true(dc_qtensor_scales(q)[0] == 1.27f / 127.0f);
    assert_int_equal(d[0], 127);
    assert_int_equal(d[1], -127);
    assert_int_equal(d[2], 0);
    assert_int_equal(d[3], 50);
    assert_int_equal(d[4], -1);
    assert_int_equal(d[5], 1);
    dc_qtensor_free(q);

    float v[3] = {0.7f, -0.7f, 0.2f}; /* Delta = 0.1: q = 7, -7, 2 */
    dc_quant_options o = {sizeof(o), DC_QUANT_PER_TENSOR, 0, 4, NULL, 0, 0};
    assert_int_equal(dc_quantize(v, 1, 3, &o, &q), DC_OK);
    const uint8_t *b = dc_qtensor_data(q);
    assert_int_equal(b[0], 0x97); /* low nibble 7, high nibble -7 = 0x9 */
    assert_int_equal(b[1], 0x02); /* low nibble 2, padding 0 */
    dc_qtensor_free(q);

    /* halves round away from zero: 0.5 * Delta -> 1 */
    float h[3] = {127.0f, 0.5f, -0.5f};
    assert_int_equal(dc_quantize(h, 1, 3, NULL, &q), DC_OK);
    d = dc_qtensor_data(q);
    assert_int_equal(d[1], 1);
    assert_int_equal(d[2], -1);
    dc_qtensor_free(q);
}

static void test_zero_blocks(void **state) {
    (void)state;
    float w[2 * 4] = {0, 0, 0, 0, 1, -2, 3, -4};
    dc_quant_options o = {sizeof(o), DC_QUANT_PER_CHANNEL, 0, 0, NULL, 0, 0};
    dc_qtensor *q;
    assert_int_equal(dc_quantize(w, 2, 4, &o, &q), DC_OK);
    const float *s = dc_qtensor_scales(q);
    assert_true(s[0] == 0.0f);
    assert_true(s[1] == 4.0f / 127.0f);
    const int8_t *d = dc_qtensor_data(q);
    for (int j = 0; j < 4; j++)
        assert_int_equal(d[j], 0);
    float deq[8];
    assert_int_equal(dc_qtensor_dequantize(q, deq, 8), DC_OK);
    for (int j = 0; j < 4; j++)
        assert_true(deq[j] == 0.0f);
    assert_int_equal(dc_qtensor_dequantize(q, deq, 7), DC_ERR_DST_TOO_SMALL);
    dc_qtensor_free(q);
}

/* A NaN or an infinity anywhere (every position of a shape whose rows are not
 * a multiple of the kernels' 8-wide blocks) is refused, for every layout. */
static void test_nonfinite_anywhere(void **state) {
    (void)state;
    enum { R = 3, C = 37 };
    float w[R * C];
    const float bad[3] = {NAN, INFINITY, -INFINITY};
    for (int g = 0; g < 3; g++)
        for (unsigned b = 4; b <= 8; b += 4) {
            dc_quant_options o = {sizeof(o), (dc_quant_granularity)g, 5, b, NULL, 0, 0};
            for (size_t p = 0; p < R * C; p++) {
                gen_weights(w, R, C, 7);
                w[p] = bad[p % 3];
                dc_qtensor *q = (dc_qtensor *)1;
                assert_int_equal(dc_quantize(w, R, C, &o, &q), DC_ERR_NOT_FINITE);
                assert_null(q);
            }
        }
}

/* Subnormal and near-subnormal weights: Delta may round coarsely, so the
 * quotient can pass Q; the result is still round(W / Delta) clamped to +-Q. */
static void test_tiny_weights(void **state) {
    (void)state;
    enum { R = 4, C = 19 };
    const float mags[] = {1e-45f, 3e-44f, 1.2e-43f, 5e-40f, 1e-38f};
    float w[R * C];
    for (size_t m = 0; m < sizeof(mags) / sizeof(mags[0]); m++)
        for (int g = 0; g < 3; g++)
            for (unsigned b = 4; b <= 8; b += 4) {
                gen_weights(w, R, C, 11 + m);
                for (size_t k = 0; k < R * C; k++)
                    w[k] = w[k] * mags[m];
                dc_quant_options o = {sizeof(o), (dc_quant_granularity)g, 4, b, NULL, 0, 0};
                dc_qtensor *q;
                assert_int_equal(dc_quantize(w, R, C, &o, &q), DC_OK);
                dc_qtensor_info info = {.struct_size = sizeof(info)};
                assert_int_equal(dc_qtensor_get_info(q, &info), DC_OK);
                const uint8_t *d = dc_qtensor_data(q);
                const float *s = dc_qtensor_scales(q);
                double Q = b == 8 ? 127 : 7;
                for (size_t i = 0; i < R; i++)
                    for (size_t j = 0; j < C; j++) {
                        float delta = scale_of(&info, s, i, j);
                        double want = 0;
                        if (delta > 0) {
                            want = round((double)w[i * C + j] / (double)delta);
                            want = want > Q ? Q : want < -Q ? -Q : want;
                        }
                        assert_int_equal(elem(&info, d, i, j), (int)want);
                    }
                dc_qtensor_free(q);
            }
}

/* qmax: Delta = max / qmax, |q| <= qmax, round(W / Delta); above the width's
 * range is refused; import checks values against it. */
static void test_qmax(void **state) {
    (void)state;
    enum { R = 6, C = 33 };
    float w[R * C];
    gen_weights(w, R, C, 5);
    const unsigned qs[] = {1, 3, 7, 90, 126, 127};
    for (size_t t = 0; t < sizeof(qs) / sizeof(qs[0]); t++)
        for (unsigned b = 4; b <= 8; b += 4) {
            if (b == 4 && qs[t] > 7) continue;
            for (int g = 0; g < 3; g++) {
                dc_quant_options o = {sizeof(o), (dc_quant_granularity)g, 8, b, NULL, qs[t], 0};
                dc_qtensor *q;
                assert_int_equal(dc_quantize(w, R, C, &o, &q), DC_OK);
                dc_qtensor_info info = {.struct_size = sizeof(info)};
                assert_int_equal(dc_qtensor_get_info(q, &info), DC_OK);
                assert_int_equal(info.qmax, qs[t]);
                const uint8_t *d = dc_qtensor_data(q);
                const float *s = dc_qtensor_scales(q);
                int seen_max = 0;
                for (size_t i = 0; i < R; i++)
                    for (size_t j = 0; j < C; j++) {
                        int v = elem(&info, d, i, j);
                        float delta = scale_of(&info, s, i, j);
                        assert_true(abs(v) <= (int)qs[t]);
                        assert_int_equal(v, (int)round((double)w[i * C + j] / (double)delta));
                        seen_max |= abs(v) == (int)qs[t];
                    }
                assert_true(seen_max); /* each block's max maps to +-qmax */
                /* import: the same data passes; a value above a smaller qmax does not */
                dc_qtensor *q2;
                assert_int_equal(
                    dc_qtensor_import(d, info.data_size, s, info.n_scales, R, C, &o, &q2), DC_OK);
                dc_qtensor_free(q2);
                if (qs[t] > 1) {
                    dc_quant_options o2 = o;
                    o2.qmax = qs[t] - 1;
                    assert_int_equal(
                        dc_qtensor_import(d, info.data_size, s, info.n_scales, R, C, &o2, &q2),
                        DC_ERR_RANGE);
                    assert_null(q2);
                }
                dc_qtensor_free(q);
            }
        }
    dc_qtensor *q = (dc_qtensor *)1;
    dc_quant_options o = {sizeof(o), DC_QUANT_PER_TENSOR, 0, 8, NULL, 128, 0};
    assert_int_equal(dc_quantize(w, R, C, &o, &q), DC_ERR_RANGE);
    assert_null(q);
    o.bits = 4;
    o.qmax = 8;
    assert_int_equal(dc_quantize(w, R, C, &o, &q), DC_ERR_RANGE);
    o.qmax = 0; /* default: the full range */
    assert_int_equal(dc_quantize(w, R, C, &o, &q), DC_OK);
    dc_qtensor_info info = {.struct_size = sizeof(info)};
    assert_int_equal(dc_qtensor_get_info(q, &info), DC_OK);
    assert_int_equal(info.qmax, 7);
    dc_qtensor_free(q);
}

static void test_bad_input(void **state) {
    (void)state;
    float w[12];
    gen_weights(w, 3, 4, 1);
    dc_qtensor *q = (dc_qtensor *)1;
    assert_int_equal(dc_quantize(NULL, 3, 4, NULL, &q), DC_ERR_INVALID_ARGUMENT);
    assert_null(q);
    assert_int_equal(dc_quantize(w, 3, 4, NULL, NULL), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_quantize(w, 0, 4, NULL, &q), DC_ERR_DIMENSION);
    assert_int_equal(dc_quantize(w, 3, 0, NULL, &q), DC_ERR_DIMENSION);
    assert_int_equal(dc_quantize(w, SIZE_MAX / 2, 4, NULL, &q), DC_ERR_DIMENSION);
    dc_quant_options o = {sizeof(o), DC_QUANT_PER_TENSOR, 0, 5, NULL, 0, 0};
    assert_int_equal(dc_quantize(w, 3, 4, &o, &q), DC_ERR_RANGE);
    o.bits = 16;
    assert_int_equal(dc_quantize(w, 3, 4, &o, &q), DC_ERR_RANGE);
    o.bits = 8;
    o.granularity = (dc_quant_granularity)3;
    assert_int_equal(dc_quantize(w, 3, 4, &o, &q), DC_ERR_INVALID_ARGUMENT);
    o.granularity = DC_QUANT_PER_TENSOR;
    o.struct_size = 2;
    assert_int_equal(dc_quantize(w, 3, 4, &o, &q), DC_ERR_INVALID_ARGUMENT);
    w[7] = NAN;
    assert_int_equal(dc_quantize(w, 3, 4, NULL, &q), DC_ERR_NOT_FINITE);
    w[7] = INFINITY;
    assert_int_equal(dc_quantize(w, 3, 4, NULL, &q), DC_ERR_NOT_FINITE);
    w[7] = 1.0f;

    /* import */
    int8_t d8[12] = {0};
    float s1 = 0.1f;
    assert_int_equal(dc_qtensor_import(d8, 12, &s1, 1, 3, 4, NULL, &q), DC_OK);
    dc_qtensor_free(q);
    assert_int_equal(dc_qtensor_import(d8, 11, &s1, 1, 3, 4, NULL, &q), DC_ERR_SIZE_MISMATCH);
    assert_int_equal(dc_qtensor_import(d8, 12, &s1, 2, 3, 4, NULL, &q), DC_ERR_SIZE_MISMATCH);
    d8[5] = -128;
    assert_int_equal(dc_qtensor_import(d8, 12, &s1, 1, 3, 4, NULL, &q), DC_ERR_RANGE);
    d8[5] = 0;
    s1 = -0.1f;
    assert_int_equal(dc_qtensor_import(d8, 12, &s1, 1, 3, 4, NULL, &q), DC_ERR_RANGE);
    s1 = NAN;
    assert_int_equal(dc_qtensor_import(d8, 12, &s1, 1, 3, 4, NULL, &q), DC_ERR_NOT_FINITE);
    s1 = 0.1f;
    assert_int_equal(dc_qtensor_import(NULL, 12, &s1, 1, 3, 4, NULL, &q), DC_ERR_INVALID_ARGUMENT);
    o = (dc_quant_options){sizeof(o), DC_QUANT_PER_TENSOR, 0, 4, NULL, 0, 0};
    uint8_t d4[3 * 2] = {0x77, 0x09, 0, 0, 0, 0}; /* cols 3: second byte pads high nibble */
    assert_int_equal(dc_qtensor_import(d4, 6, &s1, 1, 3, 3, &o, &q), DC_OK);
    dc_qtensor_free(q);
    d4[0] = 0x87; /* -8 */
    assert_int_equal(dc_qtensor_import(d4, 6, &s1, 1, 3, 3, &o, &q), DC_ERR_RANGE);
    d4[0] = 0x77;
    d4[1] = 0x19; /* non-zero padding nibble */
    assert_int_equal(dc_qtensor_import(d4, 6, &s1, 1, 3, 3, &o, &q), DC_ERR_RANGE);

    /* accessors */
    assert_int_equal(dc_quantize(w, 3, 4, NULL, &q), DC_OK);
    dc_qtensor_info info = {0};
    assert_int_equal(dc_qtensor_get_info(q, &info), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_qtensor_get_info(NULL, &info), DC_ERR_INVALID_ARGUMENT);
    /* an older, shorter info struct gets only its fields */
    struct {
        size_t struct_size, rows;
    } small = {2 * sizeof(size_t), 0};
    assert_int_equal(dc_qtensor_get_info(q, (dc_qtensor_info *)&small), DC_OK);
    assert_int_equal(small.rows, 3);
    dc_quant_error e = {.struct_size = sizeof(e)};
    assert_int_equal(dc_qtensor_compare(q, w, 3, 5, &e), DC_ERR_DIMENSION);
    w[0] = NAN;
    assert_int_equal(dc_qtensor_compare(q, w, 3, 4, &e), DC_ERR_NOT_FINITE);
    e.struct_size = 0;
    assert_int_equal(dc_qtensor_error(q, &e), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_qtensor_dequantize(q, NULL, 12), DC_ERR_INVALID_ARGUMENT);
    dc_qtensor_free(q);
    dc_qtensor_free(NULL);
    assert_null(dc_qtensor_data(NULL));
    assert_null(dc_qtensor_scales(NULL));
}

/* Per-channel / per-group errors are no larger than per-tensor ones. */
static void test_granularity_error_order(void **state) {
    (void)state;
    enum { R = 32, C = 256 };
    float *w = malloc(4 * R * C);
    gen_weights(w, R, C, 77);
    double mse[3];
    for (int g = 0; g < 3; g++) {
        dc_quant_options o = {sizeof(o), (dc_quant_granularity)g, 64, 8, NULL, 0, 0};
        dc_qtensor *q;
        assert_int_equal(dc_quantize(w, R, C, &o, &q), DC_OK);
        dc_quant_error e = {.struct_size = sizeof(e)};
        dc_qtensor_error(q, &e);
        mse[g] = e.mse;
        dc_qtensor_free(q);
    }
    assert_true(mse[1] <= mse[0]);
    assert_true(mse[2] <= mse[1]);
    free(w);
}

/* Is x an IEEE binary16 value (as a float)? */
static int is_f16(float x) {
    float a = fabsf(x);
    if (a == 0.0f) return 1;
    if (a > 65504.0f) return 0;
    int e;
    frexpf(a, &e);                         /* a = m 2^e, m in [0.5, 1) */
    int lsb = e - 11 < -24 ? -24 : e - 11; /* 11 significant bits, or subnormal */
    float k = ldexpf(a, -lsb);
    return k == floorf(k);
}

/* DC_QUANT_FULL_GRID | DC_QUANT_F16_SCALES (4 bits, the Q4_0 grid): each
 * group's largest |w| maps to -8, codes stay in [-8, 7], scales are binary16
 * values (negative where the extreme is positive), the error is at most half
 * a step, and import takes such a tensor back; the codes, one per byte, are
 * entropy-coded at >= 99% of their order-0 bound (printed: the packed pairs'
 * size, which on large chunks of these independent codes is about the same). */
static void test_full_grid_f16(void **state) {
    (void)state;
    const size_t R = 512, C = 1024, G = 32, ng = C / G;
    float *w = malloc(R * C * sizeof(float));
    assert_non_null(w);
    uint64_t seed = 99;
    for (size_t k = 0; k < R * C; k++) { /* roughly Gaussian: sum of 4 uniforms */
        double u = 0;
        for (int t = 0; t < 4; t++)
            u += gen_unit(&seed) - 0.5;
        w[k] = (float)(u * (1.0 + (double)(k % 7)));
    }
    dc_quant_options o = {
        sizeof(o), DC_QUANT_PER_GROUP, G, 4, NULL, 0, DC_QUANT_FULL_GRID | DC_QUANT_F16_SCALES};
    dc_qtensor *q;
    assert_int_equal(dc_quantize(w, R, C, &o, &q), DC_OK);
    dc_qtensor_info info = {.struct_size = sizeof(info)};
    assert_int_equal(dc_qtensor_get_info(q, &info), DC_OK);
    assert_int_equal(info.flags, DC_QUANT_FULL_GRID | DC_QUANT_F16_SCALES);
    assert_int_equal(info.qmax, 8);
    const uint8_t *d = dc_qtensor_data(q);
    const float *sc = dc_qtensor_scales(q);
    uint8_t *codes = malloc(R * C);
    assert_non_null(codes);
    int neg = 0, pos = 0;
    uint64_t hist[16] = {0};
    for (size_t i = 0; i < R; i++)
        for (size_t g = 0; g < ng; g++) {
            const float s = sc[i * ng + g];
            assert_true(is_f16(s));
            neg += s<0, pos += s> 0;
            float amax = 0;
            size_t at = 0;
            for (size_t j = g * G; j < (g + 1) * G; j++)
                if (fabsf(w[i * C + j]) > amax) amax = fabsf(w[i * C + j]), at = j;
            assert_int_equal(elem(&info, d, i, at), -8); /* the extreme is on -8 */
            for (size_t j = g * G; j < (g + 1) * G; j++) {
                int v = elem(&info, d, i, j);
                assert_true(v >= -8 && v <= 7);
                float err = fabsf(w[i * C + j] - (float)v * s);
                /* half a step (a whole one where the grid's short side, 7,
                 * clamps), plus the binary16 rounding of the step at +-8 */
                const float steps = v == 7 || v == -7 ? 1.0f : 0.5f;
                assert_true(err <= steps * fabsf(s) + 8.0f * fabsf(s) / 1024.0f + 1e-6f);
                codes[i * C + j] = (uint8_t)(v & 15);
                hist[v & 15]++;
            }
        }
    assert_true(neg > 0 && pos > 0);
    /* import: the same bytes and scales come back; without the flags, -8 and
     * negative scales are out of range; with F16, a non-binary16 scale is */
    dc_qtensor *q2;
    assert_int_equal(dc_qtensor_import(d, info.data_size, sc, info.n_scales, R, C, &o, &q2), DC_OK);
    assert_memory_equal(dc_qtensor_data(q2), d, info.data_size);
    dc_qtensor_free(q2);
    dc_quant_options plain = {sizeof(plain), DC_QUANT_PER_GROUP, G, 4, NULL, 0, 0};
    assert_int_equal(dc_qtensor_import(d, info.data_size, sc, info.n_scales, R, C, &plain, &q2),
                     DC_ERR_RANGE);
    float *sc2 = malloc(info.n_scales * sizeof(float));
    assert_non_null(sc2);
    memcpy(sc2, sc, info.n_scales * sizeof(float));
    sc2[0] = sc2[0] * (1.0f + 1.0f / 4096.0f);
    assert_int_equal(dc_qtensor_import(d, info.data_size, sc2, info.n_scales, R, C, &o, &q2),
                     DC_ERR_RANGE);
    free(sc2);
    /* bad flag combinations */
    dc_quant_options bad = o;
    bad.bits = 8;
    assert_int_equal(dc_quantize(w, R, C, &bad, &q2), DC_ERR_RANGE);
    bad = o;
    bad.qmax = 7;
    assert_int_equal(dc_quantize(w, R, C, &bad, &q2), DC_ERR_RANGE);
    bad = o;
    bad.flags = 4;
    assert_int_equal(dc_quantize(w, R, C, &bad, &q2), DC_ERR_INVALID_ARGUMENT);

    /* entropy coding: one code per byte, 256 KiB chunks, against the order-0
     * bound of the codes; the packed pairs for comparison */
    double bound = 0;
    for (int k = 0; k < 16; k++)
        if (hist[k]) bound -= (double)hist[k] * log2((double)hist[k] / (double)(R * C));
    bound /= 8;
    dc_cctx *cc;
    assert_int_equal(dc_cctx_create(NULL, &cc), DC_OK);
    size_t cap = dc_compress_bound(R * C), got = 0, got_packed = 0;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    assert_int_equal(dc_compress(cc, codes, R * C, buf, cap, &got), DC_OK);
    assert_int_equal(dc_compress(cc, d, info.data_size, buf, cap, &got_packed), DC_OK);
    print_message("4-bit codes: order-0 bound %.0f bytes, one per byte %zu (%.2f%%), packed %zu "
                  "(%.2f%%)\n",
                  bound, got, 100 * bound / (double)got, got_packed,
                  100 * bound / (double)got_packed);
    assert_true(bound >= 0.99 * (double)got);
    dc_cctx_free(cc);
    free(buf);
    free(codes);
    dc_qtensor_free(q);
    free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_layout),
        cmocka_unit_test(test_zero_blocks),   cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_qmax),          cmocka_unit_test(test_nonfinite_anywhere),
        cmocka_unit_test(test_tiny_weights),  cmocka_unit_test(test_granularity_error_order),
        cmocka_unit_test(test_full_grid_f16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
