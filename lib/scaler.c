/*
 * scaler.c -- compression-aware per-channel scaling (METHOD.md section 2).
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

struct dc_scaler {
    dc_alloc alloc;
    size_t n;
    float *s;
};

static dc_status scaler_new(const dc_scaler_options *options, size_t n, float *eps_out,
                            dc_scaler **out) {
    dc_scaler_options o;
    dc_status st = dc_copy_options(&o, sizeof(o), options);
    if (st != DC_OK) return st;
    dc_alloc a;
    if ((st = dc_alloc_init(&a, o.allocator)) != DC_OK) return st;
    float eps = o.eps == 0.0f ? 1e-5f : o.eps;
    if (!(eps > 0.0f && eps < 1.0f)) return DC_ERR_RANGE;
    if (n == 0) return DC_ERR_DIMENSION;
    if (n > SIZE_MAX / sizeof(float)) return DC_ERR_DIMENSION;
    dc_scaler *sc = (dc_scaler *)dc_calloc(&a, 1, sizeof(*sc));
    if (!sc) return DC_ERR_OUT_OF_MEMORY;
    sc->alloc = a;
    sc->n = n;
    sc->s = (float *)dc_malloc(&a, n * sizeof(float));
    if (!sc->s) {
        dc_free(&a, sc);
        return DC_ERR_OUT_OF_MEMORY;
    }
    if (eps_out) *eps_out = eps;
    *out = sc;
    return DC_OK;
}

dc_status dc_scaler_create(const dc_stats *stats, float alpha, const float *const *weights,
                           const size_t *rows, size_t n_weights, const dc_scaler_options *options,
                           dc_scaler **out) {
    if (!out) return DC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!stats || !weights || !rows || n_weights == 0) return DC_ERR_INVALID_ARGUMENT;
    if (!(alpha >= 0.0f && alpha <= 1.0f)) return DC_ERR_RANGE;
    size_t n = dc_stats_in_features(stats);
    for (size_t k = 0; k < n_weights; k++) {
        if (!weights[k]) return DC_ERR_INVALID_ARGUMENT;
        if (rows[k] == 0 || rows[k] > SIZE_MAX / sizeof(float) / n) return DC_ERR_DIMENSION;
    }
    for (size_t k = 0; k < n_weights; k++)
        if (!dc_all_finite_f32(weights[k], rows[k] * n)) return DC_ERR_NOT_FINITE;
    dc_scaler *sc;
    float eps;
    dc_status st = scaler_new(options, n, &eps, &sc);
    if (st != DC_OK) return st;
    /* amax first (into s), then m_j (column max over all matrices) in wmax */
    float *wmax = (float *)dc_calloc(&sc->alloc, n, sizeof(float));
    if (!wmax) {
        dc_scaler_free(sc);
        return DC_ERR_OUT_OF_MEMORY;
    }
    dc_stats_get_amax(stats, sc->s, n);
    for (size_t k = 0; k < n_weights; k++) {
        const float *w = weights[k];
        for (size_t i = 0; i < rows[k]; i++) {
            const float *r = w + i * n;
            for (size_t j = 0; j < n; j++) {
                float v = fabsf(r[j]);
                wmax[j] = v > wmax[j] ? v : wmax[j];
            }
        }
    }
    const double deps = (double)eps, lo = (double)eps, hi = 1.0 / (double)eps;
    const double da = (double)alpha;
    for (size_t j = 0; j < n; j++) {
        double a = (double)sc->s[j], m = (double)wmax[j];
        double s;
        if (a == 0.0 || m == 0.0) {
            s = 1.0; /* never seen, or nothing to balance */
        } else {
            if (a < deps) a = deps;
            if (m < deps) m = deps;
            s = pow(a, da) / pow(m, 1.0 - da);
            if (!(s >= lo)) s = lo;
            if (s > hi) s = hi;
        }
        sc->s[j] = (float)s;
    }
    dc_free(&sc->alloc, wmax);
    *out = sc;
    return DC_OK;
}

dc_status dc_scaler_create_from_scales(const float *s, size_t in_features,
                                       const dc_scaler_options *options, dc_scaler **out) {
    if (!out) return DC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!s) return DC_ERR_INVALID_ARGUMENT;
    if (in_features == 0) return DC_ERR_DIMENSION;
    if (!dc_all_finite_f32(s, in_features)) return DC_ERR_NOT_FINITE;
    for (size_t j = 0; j < in_features; j++)
        if (!(s[j] > 0.0f)) return DC_ERR_RANGE;
    dc_scaler *sc;
    dc_status st = scaler_new(options, in_features, NULL, &sc);
    if (st != DC_OK) return st;
    memcpy(sc->s, s, in_features * sizeof(float));
    *out = sc;
    return DC_OK;
}

void dc_scaler_free(dc_scaler *scaler) {
    if (!scaler) return;
    dc_alloc a = scaler->alloc;
    dc_free(&a, scaler->s);
    dc_free(&a, scaler);
}

size_t dc_scaler_in_features(const dc_scaler *scaler) {
    return scaler ? scaler->n : 0;
}

dc_status dc_scaler_get_scales(const dc_scaler *scaler, float *out, size_t n) {
    if (!scaler || !out) return DC_ERR_INVALID_ARGUMENT;
    if (n != scaler->n) return DC_ERR_DIMENSION;
    memcpy(out, scaler->s, n * sizeof(float));
    return DC_OK;
}

dc_status dc_scaler_apply(const dc_scaler *scaler, float *w, size_t rows, size_t cols) {
    if (!scaler || !w) return DC_ERR_INVALID_ARGUMENT;
    if (cols != scaler->n || rows == 0 || rows > SIZE_MAX / sizeof(float) / cols)
        return DC_ERR_DIMENSION;
    if (!dc_all_finite_f32(w, rows * cols)) return DC_ERR_NOT_FINITE;
    const float *s = scaler->s;
    for (size_t i = 0; i < rows; i++) {
        const float *r = w + i * cols;
        for (size_t j = 0; j < cols; j++)
            if (fabsf(r[j] * s[j]) > FLT_MAX) return DC_ERR_RANGE;
    }
    for (size_t i = 0; i < rows; i++) {
        float *r = w + i * cols;
        for (size_t j = 0; j < cols; j++)
            r[j] *= s[j];
    }
    return DC_OK;
}

dc_status dc_scaler_fold_norm(const dc_scaler *scaler, float *v, size_t n) {
    if (!scaler || !v) return DC_ERR_INVALID_ARGUMENT;
    if (n != scaler->n) return DC_ERR_DIMENSION;
    if (!dc_all_finite_f32(v, n)) return DC_ERR_NOT_FINITE;
    for (size_t j = 0; j < n; j++)
        if (fabsf(v[j] / scaler->s[j]) > FLT_MAX) return DC_ERR_RANGE;
    for (size_t j = 0; j < n; j++)
        v[j] /= scaler->s[j];
    return DC_OK;
}

dc_status dc_scaler_scale_activations(const dc_scaler *scaler, float *x, size_t rows,
                                      size_t row_stride) {
    if (!scaler) return DC_ERR_INVALID_ARGUMENT;
    size_t n = scaler->n;
    if (row_stride == 0) row_stride = n;
    if (row_stride < n) return DC_ERR_DIMENSION;
    if (rows == 0) return DC_OK;
    if (!x) return DC_ERR_INVALID_ARGUMENT;
    if (row_stride > SIZE_MAX / sizeof(float) / rows) return DC_ERR_DIMENSION;
    for (size_t t = 0; t < rows; t++) {
        float *r = x + t * row_stride;
        for (size_t j = 0; j < n; j++)
            r[j] /= scaler->s[j];
    }
    return DC_OK;
}
