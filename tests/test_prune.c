/*
 * test_prune.c -- pruner: exact target count per group, agreement with a
 * sort-based reference (ties broken by lower index), quantized tensors of
 * every granularity and width, already-zero weights, invariance of DC/Wanda
 * scores under scaling, and bad input.
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

static void gen_weights(float *w, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) {
        double u = gen_unit(&seed) * 2 - 1;
        w[i] = (float)(u == 0 ? 0.5 : u);
    }
}

static dc_stats *gen_stats(size_t cols, uint64_t seed) {
    enum { T = 12 };
    float *x = malloc(4 * T * cols);
    for (size_t t = 0; t < T; t++)
        for (size_t j = 0; j < cols; j++)
            x[t * cols + j] = (float)((gen_unit(&seed) * 2 - 1) * (j % 9 == 2 ? 30.0 : 1.0));
    dc_stats *s;
    assert_int_equal(dc_stats_create(cols, NULL, &s), DC_OK);
    assert_int_equal(dc_stats_observe(s, x, DC_DTYPE_F32, T, 0), DC_OK);
    free(x);
    return s;
}

/* The per-column factor exactly as documented. */
static float *colf_of(const dc_stats *st, dc_prune_method m, const float *s, size_t cols) {
    float *f = malloc(4 * cols);
    if (m == DC_PRUNE_MAGNITUDE) {
        for (size_t j = 0; j < cols; j++)
            f[j] = 1.0f;
        return f;
    }
    float *a = malloc(4 * cols);
    double *ss = malloc(8 * cols);
    dc_stats_get_amax(st, a, cols);
    dc_stats_get_sumsq(st, ss, cols);
    for (size_t j = 0; j < cols; j++) {
        double v = m == DC_PRUNE_DC ? (double)a[j] : sqrt(ss[j]);
        if (s) v /= (double)s[j];
        f[j] = (float)v;
    }
    free(a);
    free(ss);
    return f;
}

typedef struct item {
    float s;
    size_t idx;
} item;

static int cmp_item(const void *a, const void *b) {
    const item *x = a, *y = b;
    if (x->s != y->s) return x->s < y->s ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static size_t k_of(float sp, size_t n) {
    return (size_t)floor((double)sp * (double)n + 0.5);
}

/* Reference: zero the k lowest (score, index) of every group in v. For
 * magnitude, colf is all ones (1.0f * |w| == |w|). */
static void ref_prune(float *v, size_t rows, size_t cols, const float *colf, int tensor, float sp) {
    size_t n = tensor ? rows * cols : cols;
    item *it = malloc(sizeof(item) * n);
    for (size_t g = 0; g < (tensor ? 1 : rows); g++) {
        for (size_t e = 0; e < n; e++) {
            size_t idx = g * cols + e;
            it[e].s = fabsf(v[idx]) * colf[idx % cols];
            if (it[e].s == 0) it[e].s = 0; /* -0 */
            it[e].idx = idx;
        }
        qsort(it, n, sizeof(item), cmp_item);
        for (size_t e = 0; e < k_of(sp, n); e++)
            v[it[e].idx] = 0.0f;
    }
    free(it);
}

static void test_exact_and_reference_f32(void **state) {
    (void)state;
    enum { R = 13, C = 97 };
    float w[R * C], ref[R * C];
    dc_stats *st = gen_stats(C, 4);
    float sps[] = {0.0f, 0.1f, 0.25f, 0.4f, 0.5f, 0.7f, 0.99f};
    for (int m = 0; m < 3; m++)
        for (int grp = 0; grp < 2; grp++)
            for (size_t si = 0; si < sizeof(sps) / sizeof(sps[0]); si++) {
                gen_weights(w, R * C, 10 + si);
                memcpy(ref, w, sizeof(w));
                dc_prune_options o = {sizeof(o), (dc_prune_method)m, (dc_prune_group)grp, NULL,
                                      NULL};
                dc_prune_report rep = {.struct_size = sizeof(rep)};
                assert_int_equal(dc_prune_f32(w, R, C, m == 2 ? NULL : st, sps[si], &o, &rep),
                                 DC_OK);
                float *cf = colf_of(st, (dc_prune_method)m, NULL, C);
                ref_prune(ref, R, C, cf, grp, sps[si]);
                free(cf);
                assert_memory_equal(w, ref, sizeof(w));
                /* exact target count */
                if (grp == 0) {
                    for (size_t i = 0; i < R; i++) {
                        size_t z = 0;
                        for (size_t j = 0; j < C; j++)
                            z += w[i * C + j] == 0.0f;
                        assert_int_equal(z, k_of(sps[si], C));
                    }
                } else {
                    size_t z = 0;
                    for (size_t i = 0; i < R * C; i++)
                        z += w[i] == 0.0f;
                    assert_int_equal(z, k_of(sps[si], R * C));
                }
                assert_int_equal(rep.total, R * C);
                assert_int_equal(rep.zeros_before, 0);
                assert_int_equal(rep.selected, grp ? k_of(sps[si], R * C) : R * k_of(sps[si], C));
                assert_int_equal(rep.zeros_after, rep.selected);
                assert_true(fabs(rep.sparsity - (double)rep.zeros_after / (R * C)) < 1e-12);
            }
    dc_stats_free(st);
}

/* Equal scores: the lower flat index goes first. */
static void test_tie_break(void **state) {
    (void)state;
    float w[2 * 10];
    for (int i = 0; i < 20; i++)
        w[i] = (i % 2) ? -1.0f : 1.0f;
    dc_prune_options o = {sizeof(o), DC_PRUNE_MAGNITUDE, DC_PRUNE_GROUP_ROW, NULL, NULL};
    assert_int_equal(dc_prune_f32(w, 2, 10, NULL, 0.3f, &o, NULL), DC_OK);
    for (int i = 0; i < 20; i++)
        assert_true((w[i] == 0.0f) == (i % 10 < 3));
    for (int i = 0; i < 20; i++)
        w[i] = 2.0f;
    o.group = DC_PRUNE_GROUP_TENSOR;
    assert_int_equal(dc_prune_f32(w, 2, 10, NULL, 0.55f, &o, NULL), DC_OK);
    for (int i = 0; i < 20; i++)
        assert_true((w[i] == 0.0f) == (i < 11));
    /* k rounds to nearest, halves up: 0.25 * 10 = 2.5 -> 3; 0.24 * 10 -> 2 */
    for (int i = 0; i < 10; i++)
        w[i] = 1.0f;
    o.group = DC_PRUNE_GROUP_ROW;
    assert_int_equal(dc_prune_f32(w, 1, 10, NULL, 0.25f, &o, NULL), DC_OK);
    int z = 0;
    for (int i = 0; i < 10; i++)
        z += w[i] == 0.0f;
    assert_int_equal(z, 3);
    for (int i = 0; i < 10; i++)
        w[i] = 1.0f;
    assert_int_equal(dc_prune_f32(w, 1, 10, NULL, 0.24f, &o, NULL), DC_OK);
    z = 0;
    for (int i = 0; i < 10; i++)
        z += w[i] == 0.0f;
    assert_int_equal(z, 2);
}

/* Zeros already present are selected first; a row with more zeros than k
 * keeps its other weights. */
static void test_already_zero(void **state) {
    (void)state;
    enum { C = 10 };
    float w[3 * C];
    gen_weights(w, 3 * C, 5);
    for (int j = 0; j < 6; j++)
        w[j] = 0.0f;      /* row 0: 6 zeros > k = 4 */
    w[C + 9] = 0.0f;      /* row 1: 1 zero < k */
    w[2 * C + 2] = -0.0f; /* row 2: a negative zero */
    float orig[3 * C];
    memcpy(orig, w, sizeof(w));
    dc_prune_options o = {sizeof(o), DC_PRUNE_MAGNITUDE, DC_PRUNE_GROUP_ROW, NULL, NULL};
    dc_prune_report rep = {.struct_size = sizeof(rep)};
    assert_int_equal(dc_prune_f32(w, 3, C, NULL, 0.4f, &o, &rep), DC_OK);
    assert_memory_equal(w, orig, sizeof(float) * C); /* row 0 unchanged */
    int z1 = 0, z2 = 0;
    for (int j = 0; j < C; j++) {
        z1 += w[C + j] == 0.0f;
        z2 += w[2 * C + j] == 0.0f;
    }
    assert_int_equal(z1, 4);
    assert_int_equal(z2, 4);
    assert_true(w[C + 9] == 0.0f && w[2 * C + 2] == 0.0f);
    assert_int_equal(rep.zeros_before, 8);
    assert_int_equal(rep.zeros_after, 14);
    assert_int_equal(rep.selected, 12);
    /* pruned weights become +0.0f */
    for (int j = 0; j < 3 * C; j++)
        if (w[j] == 0.0f && orig[j] != 0.0f) assert_false(signbit(w[j]));
}

/* Quantized tensors: scores from the dequantized |q| * Delta. Int data have
 * many ties, which exercises the tie-break. */
static void test_qtensor(void **state) {
    (void)state;
    enum { R = 9, C = 70 };
    float w[R * C], deq[R * C], ref[R * C];
    gen_weights(w, R * C, 8);
    for (size_t i = 0; i < R * C; i++)
        w[i] *= (float)(1 + i / C); /* rows of different range */
    dc_stats *st = gen_stats(C, 9);
    for (int bits = 4; bits <= 8; bits += 4)
        for (int g = 0; g < 3; g++)
            for (int m = 0; m < 3; m++)
                for (int grp = 0; grp < 2; grp++) {
                    dc_quant_options qo = {
                        sizeof(qo), (dc_quant_granularity)g, 16, (unsigned)bits, NULL, 0, 0};
                    dc_qtensor *q;
                    assert_int_equal(dc_quantize(w, R, C, &qo, &q), DC_OK);
                    assert_int_equal(dc_qtensor_dequantize(q, ref, R * C), DC_OK);
                    dc_prune_options o = {sizeof(o), (dc_prune_method)m, (dc_prune_group)grp, NULL,
                                          NULL};
                    dc_prune_report rep = {.struct_size = sizeof(rep)};
                    assert_int_equal(dc_prune_qtensor(q, st, 0.45f, &o, &rep), DC_OK);
                    assert_int_equal(dc_qtensor_dequantize(q, deq, R * C), DC_OK);
                    float *cf = colf_of(st, (dc_prune_method)m, NULL, C);
                    ref_prune(ref, R, C, cf, grp, 0.45f);
                    free(cf);
                    for (size_t i = 0; i < R * C; i++)
                        assert_true(deq[i] == ref[i]);
                    /* at least the target; more only where quantization
                     * already produced zeros */
                    assert_true(rep.zeros_after >= rep.selected);
                    assert_true(rep.zeros_after <= rep.selected + rep.zeros_before);
                    if (grp == 0) assert_int_equal(rep.selected, R * k_of(0.45f, C));
                    dc_qtensor_free(q);
                }
    dc_stats_free(st);
}

/* If W was scaled by s and the stats are those of the unscaled input, the
 * scaler option makes DC and Wanda choose the same weights as on the
 * unscaled layer. */
static void test_scaled_invariance(void **state) {
    (void)state;
    enum { R = 16, C = 128 };
    float w[R * C], wh[R * C], s[C];
    gen_weights(w, R * C, 21);
    dc_stats *st = gen_stats(C, 22);
    uint64_t seed = 23;
    for (size_t j = 0; j < C; j++)
        s[j] = ldexpf(1.0f, (int)(gen_next(&seed) % 9) - 4);
    dc_scaler *pow2;
    assert_int_equal(dc_scaler_create_from_scales(s, C, NULL, &pow2), DC_OK);
    const float *ws[1] = {w};
    size_t rows[1] = {R};
    dc_scaler *real;
    assert_int_equal(dc_scaler_create(st, 0.8f, ws, rows, 1, NULL, &real), DC_OK);
    dc_scaler *scs[2] = {pow2, real};
    for (int k = 0; k < 2; k++)
        for (int m = 0; m < 2; m++)
            for (int grp = 0; grp < 2; grp++) {
                float a[R * C];
                memcpy(a, w, sizeof(w));
                memcpy(wh, w, sizeof(w));
                assert_int_equal(dc_scaler_apply(scs[k], wh, R, C), DC_OK);
                dc_prune_options o = {sizeof(o), (dc_prune_method)m, (dc_prune_group)grp, NULL,
                                      NULL};
                assert_int_equal(dc_prune_f32(a, R, C, st, 0.5f, &o, NULL), DC_OK);
                o.scaler = scs[k];
                assert_int_equal(dc_prune_f32(wh, R, C, st, 0.5f, &o, NULL), DC_OK);
                for (size_t i = 0; i < R * C; i++)
                    assert_true((a[i] == 0) == (wh[i] == 0));
                /* without the scaler option the choice differs */
                if (k == 0) {
                    memcpy(wh, w, sizeof(w));
                    dc_scaler_apply(scs[k], wh, R, C);
                    o.scaler = NULL;
                    assert_int_equal(dc_prune_f32(wh, R, C, st, 0.5f, &o, NULL), DC_OK);
                    size_t diff = 0;
                    for (size_t i = 0; i < R * C; i++)
                        diff += (a[i] == 0) != (wh[i] == 0);
                    assert_true(diff > 0);
                }
            }
    dc_scaler_free(pow2);
    dc_scaler_free(real);
    dc_stats_free(st);
}

static void test_bad_input(void **state) {
    (void)state;
    enum { R = 3, C = 8 };
    float w[R * C], orig[R * C];
    gen_weights(w, R * C, 1);
    memcpy(orig, w, sizeof(w));
    dc_stats *st = gen_stats(C, 2), *st9 = gen_stats(C + 1, 3), *empty;
    assert_int_equal(dc_stats_create(C, NULL, &empty), DC_OK);
    dc_prune_options o = {sizeof(o), DC_PRUNE_DC, DC_PRUNE_GROUP_ROW, NULL, NULL};
    /* sparsity outside [0, 1) */
    assert_int_equal(dc_prune_f32(w, R, C, st, 1.0f, &o, NULL), DC_ERR_RANGE);
    assert_int_equal(dc_prune_f32(w, R, C, st, -0.01f, &o, NULL), DC_ERR_RANGE);
    assert_int_equal(dc_prune_f32(w, R, C, st, NAN, &o, NULL), DC_ERR_RANGE);
    assert_int_equal(dc_prune_f32(w, R, C, st, INFINITY, &o, NULL), DC_ERR_RANGE);
    /* stats */
    assert_int_equal(dc_prune_f32(w, R, C, NULL, 0.5f, &o, NULL), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_prune_f32(w, R, C, empty, 0.5f, &o, NULL), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_prune_f32(w, R, C, st9, 0.5f, &o, NULL), DC_ERR_DIMENSION);
    o.method = DC_PRUNE_WANDA;
    assert_int_equal(dc_prune_f32(w, R, C, NULL, 0.5f, &o, NULL), DC_ERR_INVALID_ARGUMENT);
    /* scaler width */
    float s9[C + 1];
    for (size_t j = 0; j < C + 1; j++)
        s9[j] = 1.0f;
    dc_scaler *sc9;
    assert_int_equal(dc_scaler_create_from_scales(s9, C + 1, NULL, &sc9), DC_OK);
    o.scaler = sc9;
    assert_int_equal(dc_prune_f32(w, R, C, st, 0.5f, &o, NULL), DC_ERR_DIMENSION);
    o.scaler = NULL;
    /* options */
    o.method = (dc_prune_method)3;
    assert_int_equal(dc_prune_f32(w, R, C, st, 0.5f, &o, NULL), DC_ERR_INVALID_ARGUMENT);
    o.method = DC_PRUNE_DC;
    o.group = (dc_prune_group)2;
    assert_int_equal(dc_prune_f32(w, R, C, st, 0.5f, &o, NULL), DC_ERR_INVALID_ARGUMENT);
    o.group = DC_PRUNE_GROUP_ROW;
    o.struct_size = 3;
    assert_int_equal(dc_prune_f32(w, R, C, st, 0.5f, &o, NULL), DC_ERR_INVALID_ARGUMENT);
    o.struct_size = sizeof(o);
    dc_prune_report rep = {.struct_size = 0};
    assert_int_equal(dc_prune_f32(w, R, C, st, 0.5f, &o, &rep), DC_ERR_INVALID_ARGUMENT);
    /* dimensions, NULL, NaN */
    assert_int_equal(dc_prune_f32(w, 0, C, st, 0.5f, &o, NULL), DC_ERR_DIMENSION);
    dc_prune_options om = {sizeof(om), DC_PRUNE_MAGNITUDE, DC_PRUNE_GROUP_ROW, NULL, NULL};
    assert_int_equal(dc_prune_f32(w, R, 0, NULL, 0.5f, &om, NULL), DC_ERR_DIMENSION);
    assert_int_equal(dc_prune_f32(w, SIZE_MAX / 2, 4, NULL, 0.5f, &om, NULL), DC_ERR_DIMENSION);
    assert_int_equal(dc_prune_f32(NULL, R, C, st, 0.5f, &o, NULL), DC_ERR_INVALID_ARGUMENT);
    w[4] = NAN;
    assert_int_equal(dc_prune_f32(w, R, C, st, 0.5f, &o, NULL), DC_ERR_NOT_FINITE);
    w[4] = -INFINITY;
    assert_int_equal(dc_prune_f32(w, R, C, st, 0.5f, &o, NULL), DC_ERR_NOT_FINITE);
    w[4] = orig[4];
    assert_memory_equal(w, orig, sizeof(w)); /* nothing was written */
    /* magnitude ignores the stats, NULL options = DC (needs stats) */
    o.method = DC_PRUNE_MAGNITUDE;
    assert_int_equal(dc_prune_f32(w, R, C, st9, 0.5f, &o, NULL), DC_OK);
    assert_int_equal(dc_prune_f32(w, R, C, NULL, 0.5f, NULL, NULL), DC_ERR_INVALID_ARGUMENT);
    /* qtensor */
    dc_qtensor *q;
    assert_int_equal(dc_quantize(orig, R, C, NULL, &q), DC_OK);
    assert_int_equal(dc_prune_qtensor(NULL, st, 0.5f, NULL, NULL), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_prune_qtensor(q, st9, 0.5f, NULL, NULL), DC_ERR_DIMENSION);
    assert_int_equal(dc_prune_qtensor(q, st, 1.5f, NULL, NULL), DC_ERR_RANGE);
    assert_int_equal(dc_prune_qtensor(q, st, 0.5f, NULL, NULL), DC_OK);
    dc_qtensor_free(q);
    dc_scaler_free(sc9);
    dc_stats_free(st);
    dc_stats_free(st9);
    dc_stats_free(empty);
}

/* A larger tensor-group case, to exercise the radix select at scale. */
static void test_large_tensor_group(void **state) {
    (void)state;
    enum { R = 256, C = 512 };
    float *w = malloc(4 * R * C), *ref = malloc(4 * R * C);
    gen_weights(w, R * C, 31);
    for (size_t i = 0; i < R * C; i += 7)
        w[i] = 0.25f; /* many exact ties */
    memcpy(ref, w, 4 * R * C);
    dc_stats *st = gen_stats(C, 32);
    dc_prune_options o = {sizeof(o), DC_PRUNE_DC, DC_PRUNE_GROUP_TENSOR, NULL, NULL};
    assert_int_equal(dc_prune_f32(w, R, C, st, 0.6f, &o, NULL), DC_OK);
    float *cf = colf_of(st, DC_PRUNE_DC, NULL, C);
    ref_prune(ref, R, C, cf, 1, 0.6f);
    free(cf);
    assert_memory_equal(w, ref, 4 * R * C);
    dc_stats_free(st);
    free(w);
    free(ref);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_and_reference_f32),
        cmocka_unit_test(test_tie_break),
        cmocka_unit_test(test_already_zero),
        cmocka_unit_test(test_qtensor),
        cmocka_unit_test(test_scaled_invariance),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_large_tensor_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
