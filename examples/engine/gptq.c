/*
 * gptq.c -- dc-llama: GPTQ-style error feedback (gptq.h).
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#include "gptq.h"

#include "../float16.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GPTQ_DAMP 0.01

/* In-place lower Cholesky factor of a [n x n] (a = L L^T); 0 or -1. */
static int cholesky(double *a, size_t n) {
    for (size_t j = 0; j < n; j++) {
        double d = a[j * n + j];
        for (size_t k = 0; k < j; k++)
            d -= a[j * n + k] * a[j * n + k];
        if (!(d > 0)) return -1;
        d = sqrt(d);
        a[j * n + j] = d;
        for (size_t i = j + 1; i < n; i++) {
            double s = a[i * n + j];
            for (size_t k = 0; k < j; k++)
                s -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = s / d;
        }
        for (size_t k = j + 1; k < n; k++)
            a[j * n + k] = 0.0;
    }
    return 0;
}

/* u = upper Cholesky factor of h^-1 (h^-1 = u^T u), damped; 0 or -1. */
static int inverse_factor(const double *h, size_t n, double *u) {
    double *l = malloc(n * n * sizeof(double)), *inv = malloc(n * n * sizeof(double));
    int rc = -1;
    if (!l || !inv) goto done;
    memcpy(l, h, n * n * sizeof(double));
    double mean = 0.0;
    for (size_t j = 0; j < n; j++)
        mean += h[j * n + j];
    mean = mean > 0 ? mean / (double)n : 1.0;
    for (size_t j = 0; j < n; j++)
        l[j * n + j] += GPTQ_DAMP * mean + (h[j * n + j] == 0.0 ? 1.0 : 0.0);
    if (cholesky(l, n) != 0) goto done;
    /* inv = L^-1 (lower), then h^-1 = L^-T L^-1 */
    memset(inv, 0, n * n * sizeof(double));
    for (size_t c = 0; c < n; c++)
        for (size_t i = c; i < n; i++) {
            double s = i == c ? 1.0 : 0.0;
            for (size_t k = c; k < i; k++)
                s -= l[i * n + k] * inv[k * n + c];
            inv[i * n + c] = s / l[i * n + i];
        }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) {
            double s = 0.0;
            for (size_t k = i; k < n; k++)
                s += inv[k * n + i] * inv[k * n + j];
            u[i * n + j] = u[j * n + i] = s;
        }
    if (cholesky(u, n) != 0) goto done;
    /* u holds the lower factor L' of h^-1 = L' L'^T; GPTQ wants U = L'^T */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            u[i * n + j] = u[j * n + i];
            u[j * n + i] = 0.0;
        }
    rc = 0;
done:
    free(l);
    free(inv);
    return rc;
}

static double round_away(double x) {
    return x < 0 ? -floor(-x + 0.5) : floor(x + 0.5);
}

/* d with its significand rounded to `mant` bits after the leading one
 * (mant >= 10: unchanged), then to binary16 when f16. */
static float round_scale(float d, int f16, int mant) {
    if (mant < 10 && d != 0.0f) {
        int e;
        float m = frexpf(d, &e); /* |m| in [0.5, 1) */
        const float k = ldexpf(1.0f, mant + 1);
        d = ldexpf(roundf(m * k) / k, e);
    }
    return f16 ? from_f16(to_f16(d)) : d;
}

static dc_status gptq_core(float *w, size_t rows, size_t cols, const double *h,
                           const uint8_t *keep_zero, const dc_quant_options *qo, int mant, int *q,
                           float *sc) {
    const unsigned bits = qo->bits ? qo->bits : 8;
    const int full = (qo->flags & DC_QUANT_FULL_GRID) != 0,
              f16 = (qo->flags & DC_QUANT_F16_SCALES) != 0;
    const int Q = full ? 8 : qo->qmax ? (int)qo->qmax : bits == 8 ? 127 : 7;
    const double lo = full ? -8 : -Q, hi = full ? 7 : Q;
    const size_t G = qo->granularity == DC_QUANT_PER_GROUP
                         ? (qo->group_size ? qo->group_size : DC_QUANT_GROUP_SIZE_DEFAULT)
                         : cols;
    const size_t ng = qo->granularity == DC_QUANT_PER_GROUP ? (cols + G - 1) / G : 1;
    const size_t n_scales = qo->granularity == DC_QUANT_PER_TENSOR    ? 1
                            : qo->granularity == DC_QUANT_PER_CHANNEL ? rows
                                                                      : rows * ng;
    (void)n_scales;
    double *u = malloc(cols * cols * sizeof(double));
    dc_status st = DC_ERR_OUT_OF_MEMORY;
    if (!u) goto done;
    if (inverse_factor(h, cols, u) != 0) {
        st = DC_ERR_INFEASIBLE; /* H + damping not positive definite */
        goto done;
    }
    for (size_t j = 0; j < cols; j++) {
        /* the scales of the blocks starting at column j, from the current values */
        if (j % G == 0 && (j == 0 || qo->granularity == DC_QUANT_PER_GROUP)) {
            const size_t j1 = qo->granularity == DC_QUANT_PER_GROUP && j + G < cols ? j + G : cols;
            const size_t nr = qo->granularity == DC_QUANT_PER_TENSOR ? 1 : rows;
            for (size_t r = 0; r < nr; r++) {
                float amax = 0.0f, m = 0.0f;
                const size_t i0 = qo->granularity == DC_QUANT_PER_TENSOR ? 0 : r;
                const size_t i1 = qo->granularity == DC_QUANT_PER_TENSOR ? rows : r + 1;
                for (size_t i = i0; i < i1; i++)
                    for (size_t c = j; c < j1; c++)
                        if (fabsf(w[i * cols + c]) > amax)
                            amax = fabsf(w[i * cols + c]), m = w[i * cols + c];
                float d = full ? m / -8.0f : amax / (float)Q;
                d = round_scale(d, f16, mant);
                sc[qo->granularity == DC_QUANT_PER_GROUP ? r * ng + j / G : r] = d;
            }
        }
        for (size_t i = 0; i < rows; i++) {
            const size_t k = qo->granularity == DC_QUANT_PER_TENSOR    ? 0
                             : qo->granularity == DC_QUANT_PER_CHANNEL ? i
                                                                       : i * ng + j / G;
            const float d = sc[k];
            const double x = w[i * cols + j];
            double v = 0.0;
            if (d != 0.0f && !(keep_zero && keep_zero[i * cols + j])) {
                v = round_away(x / (double)d);
                v = v < lo ? lo : v > hi ? hi : v;
            }
            q[i * cols + j] = (int)v;
            const double err = (x - v * (double)d) / u[j * cols + j];
            for (size_t c = j + 1; c < cols; c++)
                w[i * cols + c] -= (float)(err * u[j * cols + c]);
        }
    }
    st = DC_OK;
done:
    free(u);
    return st;
}

dc_status el_gptq_quantize(float *w, size_t rows, size_t cols, const double *h,
                           const uint8_t *keep_zero, const dc_quant_options *qo, int scale_mantissa,
                           dc_qtensor **out) {
    const unsigned bits = qo->bits ? qo->bits : 8;
    const size_t G = qo->granularity == DC_QUANT_PER_GROUP
                         ? (qo->group_size ? qo->group_size : DC_QUANT_GROUP_SIZE_DEFAULT)
                         : cols;
    const size_t ng = qo->granularity == DC_QUANT_PER_GROUP ? (cols + G - 1) / G : 1;
    const size_t n_scales = qo->granularity == DC_QUANT_PER_TENSOR    ? 1
                            : qo->granularity == DC_QUANT_PER_CHANNEL ? rows
                                                                      : rows * ng;
    const size_t row_bytes = bits == 8 ? cols : (cols + 1) / 2;
    /* act order (columns by decreasing X^T X diagonal) where the grid does not
     * depend on the column order: per tensor and per channel */
    const int reorder = qo->granularity != DC_QUANT_PER_GROUP;
    size_t *perm = malloc(cols * sizeof(size_t));
    float *wp = malloc(rows * cols * sizeof(float));
    double *hp = malloc(cols * cols * sizeof(double));
    uint8_t *zp = keep_zero ? malloc(rows * cols) : NULL;
    float *sc = calloc(n_scales, sizeof(float));
    int *q = calloc(rows * cols, sizeof(int)), *qp = calloc(rows * cols, sizeof(int));
    uint8_t *data = calloc(rows, row_bytes);
    dc_status st = DC_ERR_OUT_OF_MEMORY;
    if (!perm || !wp || !hp || (keep_zero && !zp) || !sc || !q || !qp || !data) goto done;
    for (size_t j = 0; j < cols; j++)
        perm[j] = j;
    if (reorder) /* insertion sort: stable, cols is small next to the O(cols^3) below */
        for (size_t j = 1; j < cols; j++) {
            const size_t v = perm[j];
            size_t k = j;
            while (k > 0 && h[perm[k - 1] * cols + perm[k - 1]] < h[v * cols + v]) {
                perm[k] = perm[k - 1];
                k--;
            }
            perm[k] = v;
        }
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            wp[i * cols + j] = w[i * cols + perm[j]];
            if (zp) zp[i * cols + j] = keep_zero[i * cols + perm[j]];
        }
    for (size_t a = 0; a < cols; a++)
        for (size_t b = 0; b < cols; b++)
            hp[a * cols + b] = h[perm[a] * cols + perm[b]];
    if ((st = gptq_core(wp, rows, cols, hp, zp, qo, scale_mantissa, qp, sc)) != DC_OK) goto done;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            q[i * cols + perm[j]] = qp[i * cols + j];
            w[i * cols + perm[j]] = wp[i * cols + j];
        }
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            const int v = q[i * cols + j];
            if (bits == 8)
                data[i * row_bytes + j] = (uint8_t)(int8_t)v;
            else
                data[i * row_bytes + j / 2] |= (uint8_t)(((unsigned)v & 15u) << (j & 1 ? 4 : 0));
        }
    st = dc_qtensor_import(data, rows * row_bytes, sc, n_scales, rows, cols, qo, out);
done:
    free(perm), free(wp), free(hp), free(zp), free(sc), free(q), free(qp), free(data);
    return st;
}
