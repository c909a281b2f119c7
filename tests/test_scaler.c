/*
 * test_scaler.c -- per-channel scaling: the formula, invariance of X W^T,
 * shared inputs, folding into a norm, clamping, and bad input.
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

static void gen_matrix(float *w, size_t n, double scale, uint64_t seed) {
    for (size_t i = 0; i < n; i++)
        w[i] = (float)((gen_unit(&seed) * 2 - 1) * scale);
}

/* Activations with outlier channels (every 5th channel x50). */
static void gen_acts(float *x, size_t rows, size_t n, uint64_t seed) {
    for (size_t t = 0; t < rows; t++)
        for (size_t j = 0; j < n; j++)
            x[t * n + j] = (float)((gen_unit(&seed) * 2 - 1) * (j % 5 == 0 ? 50.0 : 1.0));
}

static dc_stats *stats_of(const float *x, size_t rows, size_t n) {
    dc_stats *s;
    assert_int_equal(dc_stats_create(n, NULL, &s), DC_OK);
    assert_int_equal(dc_stats_observe(s, x, DC_DTYPE_F32, rows, 0), DC_OK);
    return s;
}

/* Y = X W^T in double. */
static void matmul(const float *x, const float *w, size_t T, size_t out, size_t in, double *y) {
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < out; i++) {
            double acc = 0;
            for (size_t j = 0; j < in; j++)
                acc += (double)x[t * in + j] * w[i * in + j];
            y[t * out + i] = acc;
        }
}

static void test_formula(void **state) {
    (void)state;
    enum { T = 9, IN = 33, OUT = 7 };
    float x[T * IN], w[OUT * IN], amax[IN], s[IN];
    gen_acts(x, T, IN, 1);
    gen_matrix(w, OUT * IN, 0.3, 2);
    dc_stats *st = stats_of(x, T, IN);
    dc_stats_get_amax(st, amax, IN);
    const float *ws[1] = {w};
    size_t rows[1] = {OUT};
    float alphas[4] = {0.0f, 0.5f, 0.85f, 1.0f};
    for (int k = 0; k < 4; k++) {
        dc_scaler *sc;
        assert_int_equal(dc_scaler_create(st, alphas[k], ws, rows, 1, NULL, &sc), DC_OK);
        assert_int_equal(dc_scaler_in_features(sc), IN);
        assert_int_equal(dc_scaler_get_scales(sc, s, IN), DC_OK);
        for (size_t j = 0; j < IN; j++) {
            double m = 0;
            for (size_t i = 0; i < OUT; i++)
                m = fmax(m, fabs((double)w[i * IN + j]));
            double want = pow((double)amax[j], alphas[k]) / pow(m, 1.0 - alphas[k]);
            assert_true(fabs(s[j] - want) <= 1e-6 * want);
        }
        dc_scaler_free(sc);
    }
    dc_stats_free(st);
}

/* X_hat W_hat^T == X W^T, with the scaling applied to activations at run
 * time and, separately, folded into a preceding RMSNorm weight. */
static void test_invariance(void **state) {
    (void)state;
    enum { T = 16, IN = 64, OUT = 24 };
    float *x = malloc(4 * T * IN), *w = malloc(4 * OUT * IN);
    float *xh = malloc(4 * T * IN), *wh = malloc(4 * OUT * IN);
    double *y = malloc(8 * T * OUT), *yh = malloc(8 * T * OUT);
    /* x = g (.) z: a norm weight g times a normalised signal z */
    float g[IN], z[T * IN];
    gen_matrix(g, IN, 2.0, 5);
    gen_acts(z, T, IN, 6);
    for (size_t t = 0; t < T; t++)
        for (size_t j = 0; j < IN; j++)
            x[t * IN + j] = g[j] * z[t * IN + j];
    gen_matrix(w, OUT * IN, 0.05, 7);
    matmul(x, w, T, OUT, IN, y);
    double ymax = 0;
    for (size_t i = 0; i < T * OUT; i++)
        ymax = fmax(ymax, fabs(y[i]));

    dc_stats *st = stats_of(x, T, IN);
    const float *ws[1] = {w};
    size_t rows[1] = {OUT};
    float alphas[3] = {0.5f, 0.9f, 1.0f};
    for (int k = 0; k < 3; k++) {
        dc_scaler *sc;
        assert_int_equal(dc_scaler_create(st, alphas[k], ws, rows, 1, NULL, &sc), DC_OK);
        memcpy(wh, w, 4 * OUT * IN);
        assert_int_equal(dc_scaler_apply(sc, wh, OUT, IN), DC_OK);

        /* run-time scaling of activations */
        memcpy(xh, x, 4 * T * IN);
        assert_int_equal(dc_scaler_scale_activations(sc, xh, T, 0), DC_OK);
        matmul(xh, wh, T, OUT, IN, yh);
        for (size_t i = 0; i < T * OUT; i++)
            assert_true(fabs(yh[i] - y[i]) <= 1e-5 * ymax);

        /* folded into the norm weight */
        float gh[IN];
        memcpy(gh, g, sizeof(g));
        assert_int_equal(dc_scaler_fold_norm(sc, gh, IN), DC_OK);
        for (size_t t = 0; t < T; t++)
            for (size_t j = 0; j < IN; j++)
                xh[t * IN + j] = gh[j] * z[t * IN + j];
        matmul(xh, wh, T, OUT, IN, yh);
        for (size_t i = 0; i < T * OUT; i++)
            assert_true(fabs(yh[i] - y[i]) <= 1e-5 * ymax);

        /* Scaling makes activation channels flatter: max_j amax_j / s_j
         * shrinks relative to the unscaled outliers for alpha >= 0.5. */
        float s[IN], am[IN];
        dc_scaler_get_scales(sc, s, IN);
        dc_stats_get_amax(st, am, IN);
        double r0 = 0, r1 = 0, m0 = INFINITY, m1 = INFINITY;
        for (size_t j = 0; j < IN; j++) {
            r0 = fmax(r0, am[j]);
            m0 = fmin(m0, am[j]);
            r1 = fmax(r1, am[j] / s[j]);
            m1 = fmin(m1, am[j] / s[j]);
        }
        assert_true(r1 / m1 < r0 / m0);
        dc_scaler_free(sc);
    }
    /* strided run-time scaling touches only the first IN of every row */
    dc_scaler *sc;
    assert_int_equal(dc_scaler_create(st, 0.5f, ws, rows, 1, NULL, &sc), DC_OK);
    float buf[2 * (IN + 2)];
    for (size_t i = 0; i < 2 * (IN + 2); i++)
        buf[i] = 1.0f;
    assert_int_equal(dc_scaler_scale_activations(sc, buf, 2, IN + 2), DC_OK);
    assert_true(buf[IN] == 1.0f && buf[IN + 1] == 1.0f && buf[2 * IN + 3] == 1.0f);
    float s[IN];
    dc_scaler_get_scales(sc, s, IN);
    assert_true(buf[IN + 2] == 1.0f / s[0]);
    dc_scaler_free(sc);
    dc_stats_free(st);
    free(x);
    free(w);
    free(xh);
    free(wh);
    free(y);
    free(yh);
}

/* Matrices sharing an input: m_j is the max over all their rows, i.e. the
 * same as one stacked matrix. */
static void test_shared_input(void **state) {
    (void)state;
    enum { T = 8, IN = 40, O1 = 5, O2 = 11, O3 = 3 };
    float x[T * IN], w[(O1 + O2 + O3) * IN];
    gen_acts(x, T, IN, 11);
    gen_matrix(w, (O1 + O2 + O3) * IN, 1.0, 12);
    w[(O1 + 2) * IN + 7] = 9.0f; /* a column max living in the second matrix */
    dc_stats *st = stats_of(x, T, IN);
    const float *parts[3] = {w, w + O1 * IN, w + (O1 + O2) * IN};
    size_t rows[3] = {O1, O2, O3};
    const float *whole[1] = {w};
    size_t all_rows[1] = {O1 + O2 + O3};
    dc_scaler *a, *b;
    assert_int_equal(dc_scaler_create(st, 0.7f, parts, rows, 3, NULL, &a), DC_OK);
    assert_int_equal(dc_scaler_create(st, 0.7f, whole, all_rows, 1, NULL, &b), DC_OK);
    float sa[IN], sb[IN], s1[IN];
    dc_scaler_get_scales(a, sa, IN);
    dc_scaler_get_scales(b, sb, IN);
    assert_memory_equal(sa, sb, sizeof(sa));
    /* differs from using the first matrix alone */
    dc_scaler *c;
    assert_int_equal(dc_scaler_create(st, 0.7f, parts, rows, 1, NULL, &c), DC_OK);
    dc_scaler_get_scales(c, s1, IN);
    assert_true(s1[7] != sa[7]);
    dc_scaler_free(a);
    dc_scaler_free(b);
    dc_scaler_free(c);
    dc_stats_free(st);
}

static void test_edge_channels(void **state) {
    (void)state;
    enum { IN = 6, OUT = 3 };
    float w[OUT * IN];
    gen_matrix(w, OUT * IN, 1.0, 3);
    for (size_t i = 0; i < OUT; i++)
        w[i * IN + 4] = 0.0f; /* zero column 4 */
    dc_stats *st;
    assert_int_equal(dc_stats_create(IN, NULL, &st), DC_OK);
    const float *ws[1] = {w};
    size_t rows[1] = {OUT};
    dc_scaler *sc;
    float s[IN];
    /* no tokens at all: every channel never seen -> s = 1 */
    assert_int_equal(dc_scaler_create(st, 0.5f, ws, rows, 1, NULL, &sc), DC_OK);
    dc_scaler_get_scales(sc, s, IN);
    for (size_t j = 0; j < IN; j++)
        assert_true(s[j] == 1.0f);
    dc_scaler_free(sc);

    /* channel 2 never active (a = 0), channel 4 has a zero weight column,
     * channel 5 is tiny (clamped to eps), channel 1 huge (clamped to 1/eps) */
    float am[IN] = {1.0f, 1e12f, 0.0f, 2.0f, 3.0f, 1e-20f};
    assert_int_equal(dc_stats_set(st, am, NULL, IN, 10), DC_OK);
    assert_int_equal(dc_scaler_create(st, 0.5f, ws, rows, 1, NULL, &sc), DC_OK);
    dc_scaler_get_scales(sc, s, IN);
    assert_true(s[2] == 1.0f);
    assert_true(s[4] == 1.0f);
    assert_true(s[1] == (float)(1.0 / (double)1e-5f));
    double m5 = 0;
    for (size_t i = 0; i < OUT; i++)
        m5 = fmax(m5, fabs(w[i * IN + 5]));
    assert_true(fabs(s[5] - sqrt(1e-5) / sqrt(fmax(m5, 1e-5))) < 1e-6 * s[5]);
    for (size_t j = 0; j < IN; j++)
        assert_true(isfinite(s[j]) && s[j] > 0);
    dc_scaler_free(sc);

    /* a custom eps */
    dc_scaler_options o = {sizeof(o), 1e-3f, NULL};
    assert_int_equal(dc_scaler_create(st, 0.5f, ws, rows, 1, &o, &sc), DC_OK);
    dc_scaler_get_scales(sc, s, IN);
    assert_true(s[1] == (float)(1.0 / (double)1e-3f));
    dc_scaler_free(sc);
    dc_stats_free(st);
}

static void test_from_scales(void **state) {
    (void)state;
    float s[4] = {0.5f, 2.0f, 1.0f, 4.0f}, got[4];
    dc_scaler *sc;
    assert_int_equal(dc_scaler_create_from_scales(s, 4, NULL, &sc), DC_OK);
    assert_int_equal(dc_scaler_get_scales(sc, got, 4), DC_OK);
    assert_memory_equal(s, got, sizeof(s));
    float w[8] = {1, 1, 1, 1, 2, 2, 2, 2};
    assert_int_equal(dc_scaler_apply(sc, w, 2, 4), DC_OK);
    assert_true(w[0] == 0.5f && w[1] == 2.0f && w[7] == 8.0f);
    dc_scaler_free(sc);
    s[2] = 0.0f;
    assert_int_equal(dc_scaler_create_from_scales(s, 4, NULL, &sc), DC_ERR_RANGE);
    assert_null(sc);
    s[2] = -1.0f;
    assert_int_equal(dc_scaler_create_from_scales(s, 4, NULL, &sc), DC_ERR_RANGE);
    s[2] = NAN;
    assert_int_equal(dc_scaler_create_from_scales(s, 4, NULL, &sc), DC_ERR_NOT_FINITE);
    s[2] = INFINITY;
    assert_int_equal(dc_scaler_create_from_scales(s, 4, NULL, &sc), DC_ERR_NOT_FINITE);
    assert_int_equal(dc_scaler_create_from_scales(s, 0, NULL, &sc), DC_ERR_DIMENSION);
    assert_int_equal(dc_scaler_create_from_scales(NULL, 4, NULL, &sc), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_scaler_create_from_scales(s, 4, NULL, NULL), DC_ERR_INVALID_ARGUMENT);
}

static void test_bad_input(void **state) {
    (void)state;
    enum { IN = 8, OUT = 4 };
    float x[2 * IN], w[OUT * IN];
    gen_acts(x, 2, IN, 1);
    gen_matrix(w, OUT * IN, 1.0, 2);
    dc_stats *st = stats_of(x, 2, IN);
    const float *ws[1] = {w};
    size_t rows[1] = {OUT};
    dc_scaler *sc = (dc_scaler *)1;
    /* alpha outside [0, 1] */
    assert_int_equal(dc_scaler_create(st, -0.01f, ws, rows, 1, NULL, &sc), DC_ERR_RANGE);
    assert_null(sc);
    assert_int_equal(dc_scaler_create(st, 1.01f, ws, rows, 1, NULL, &sc), DC_ERR_RANGE);
    assert_int_equal(dc_scaler_create(st, NAN, ws, rows, 1, NULL, &sc), DC_ERR_RANGE);
    /* NaN / Inf weights */
    w[5] = NAN;
    assert_int_equal(dc_scaler_create(st, 0.5f, ws, rows, 1, NULL, &sc), DC_ERR_NOT_FINITE);
    w[5] = -INFINITY;
    assert_int_equal(dc_scaler_create(st, 0.5f, ws, rows, 1, NULL, &sc), DC_ERR_NOT_FINITE);
    w[5] = 0.25f;
    /* dimensions and NULLs */
    size_t zero[1] = {0};
    assert_int_equal(dc_scaler_create(st, 0.5f, ws, zero, 1, NULL, &sc), DC_ERR_DIMENSION);
    assert_int_equal(dc_scaler_create(st, 0.5f, ws, rows, 0, NULL, &sc), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_scaler_create(NULL, 0.5f, ws, rows, 1, NULL, &sc), DC_ERR_INVALID_ARGUMENT);
    const float *nullw[1] = {NULL};
    assert_int_equal(dc_scaler_create(st, 0.5f, nullw, rows, 1, NULL, &sc),
                     DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_scaler_create(st, 0.5f, ws, rows, 1, NULL, NULL), DC_ERR_INVALID_ARGUMENT);
    /* bad options */
    dc_scaler_options o = {sizeof(o), 1.5f, NULL};
    assert_int_equal(dc_scaler_create(st, 0.5f, ws, rows, 1, &o, &sc), DC_ERR_RANGE);
    o.eps = -1e-5f;
    assert_int_equal(dc_scaler_create(st, 0.5f, ws, rows, 1, &o, &sc), DC_ERR_RANGE);
    o.eps = NAN;
    assert_int_equal(dc_scaler_create(st, 0.5f, ws, rows, 1, &o, &sc), DC_ERR_RANGE);
    o.struct_size = 1;
    assert_int_equal(dc_scaler_create(st, 0.5f, ws, rows, 1, &o, &sc), DC_ERR_INVALID_ARGUMENT);

    assert_int_equal(dc_scaler_create(st, 0.5f, ws, rows, 1, NULL, &sc), DC_OK);
    float wc[OUT * IN];
    memcpy(wc, w, sizeof(w));
    assert_int_equal(dc_scaler_apply(sc, wc, OUT, IN - 1), DC_ERR_DIMENSION);
    assert_int_equal(dc_scaler_apply(sc, wc, 0, IN), DC_ERR_DIMENSION);
    assert_int_equal(dc_scaler_apply(sc, NULL, OUT, IN), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_scaler_apply(NULL, wc, OUT, IN), DC_ERR_INVALID_ARGUMENT);
    wc[9] = NAN;
    assert_int_equal(dc_scaler_apply(sc, wc, OUT, IN), DC_ERR_NOT_FINITE);
    wc[9] = w[9];
    assert_memory_equal(wc, w, sizeof(w)); /* unchanged */
    wc[9] = 3e38f;                         /* would overflow if s > 1.13 */
    float s[IN];
    dc_scaler_get_scales(sc, s, IN);
    if (s[1] > 1.2f) {
        assert_int_equal(dc_scaler_apply(sc, wc, OUT, IN), DC_ERR_RANGE);
        assert_true(wc[0] == w[0]);
    }
    float g[IN];
    gen_matrix(g, IN, 1.0, 9);
    assert_int_equal(dc_scaler_fold_norm(sc, g, IN + 1), DC_ERR_DIMENSION);
    assert_int_equal(dc_scaler_fold_norm(sc, NULL, IN), DC_ERR_INVALID_ARGUMENT);
    g[0] = INFINITY;
    assert_int_equal(dc_scaler_fold_norm(sc, g, IN), DC_ERR_NOT_FINITE);
    {
        float tiny[2] = {1e-6f, 1.0f}, v[2] = {3e38f, 1.0f};
        dc_scaler *t;
        assert_int_equal(dc_scaler_create_from_scales(tiny, 2, NULL, &t), DC_OK);
        assert_int_equal(dc_scaler_fold_norm(t, v, 2), DC_ERR_RANGE);
        assert_true(v[0] == 3e38f && v[1] == 1.0f); /* unchanged */
        dc_scaler_free(t);
    }
    assert_int_equal(dc_scaler_scale_activations(sc, x, 2, IN - 1), DC_ERR_DIMENSION);
    assert_int_equal(dc_scaler_scale_activations(sc, NULL, 2, 0), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_scaler_scale_activations(sc, NULL, 0, 0), DC_OK);
    assert_int_equal(dc_scaler_get_scales(sc, s, IN - 1), DC_ERR_DIMENSION);
    assert_int_equal(dc_scaler_get_scales(sc, NULL, IN), DC_ERR_INVALID_ARGUMENT);
    dc_scaler_free(sc);
    dc_scaler_free(NULL);
    assert_int_equal(dc_scaler_in_features(NULL), 0);
    dc_stats_free(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formula),      cmocka_unit_test(test_invariance),
        cmocka_unit_test(test_shared_input), cmocka_unit_test(test_edge_channels),
        cmocka_unit_test(test_from_scales),  cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
