/*
 * dc_scaler.h -- libdoublecomp: compression-aware per-channel scaling.
 *
 * For a linear layer Y = X W^T (W is [rows x in], row-major; column j of W
 * meets input channel j) the scaler computes, per input channel j,
 *
 *   s_j = a_j^alpha / m_j^(1 - alpha),   m_j = max over rows i of |W[i, j]|
 *
 * (a_j = amax of the calibration statistics; METHOD.md eqs. 1-2). Then
 * W_hat[:, j] = W[:, j] * s_j and X_hat[:, j] = X[:, j] / s_j leave the product
 * unchanged. The host folds 1/s into whatever produces X (the preceding
 * RMSNorm/LayerNorm weight: dc_scaler_fold_norm) or divides activations at
 * run time (dc_scaler_scale_activations, or its own kernel with the values
 * of dc_scaler_get_scales).
 *
 * Several matrices may share one input (llama: wq/wk/wv; w1/w3): pass them
 * all to dc_scaler_create(); m_j is then the max over all their rows, and the
 * same s must be applied to each of them.
 *
 * Clamping (as SmoothQuant): a_j and m_j are clamped below to eps before the
 * formula, and s_j is clamped to [eps, 1/eps]. Channels with a_j == 0 (never
 * seen, or always zero) and channels whose weight column is all zero in every
 * matrix get s_j = 1. s_j is computed in double and rounded to float.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DOUBLECOMP_DC_SCALER_H
#define DOUBLECOMP_DC_SCALER_H

#include "dc_common.h"
#include "dc_stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options of the scaler create functions; same conventions as
 * dc_compress_options (zero-initialise, set struct_size). */
typedef struct dc_scaler_options {
    size_t struct_size;
    float eps;                     /* clamp, 0 = 1e-5; must be in (0, 1) */
    const dc_allocator *allocator; /* NULL = malloc/free */
} dc_scaler_options;

/* Opaque vector of per-channel scales s[0..in_features). Immutable once
 * created: any number of threads may use one scaler concurrently. */
typedef struct dc_scaler dc_scaler;

/*
 * Computes the scales of one layer input from its statistics and the weight
 * matrices that read it: weights[k] is a row-major float matrix of rows[k]
 * rows and dc_stats_in_features(stats) columns, for k < n_weights (>= 1).
 * alpha must be in [0, 1]. `options` may be NULL. Nothing is modified; the
 * result goes to *out (free with dc_scaler_free; *out = NULL on error).
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL pointers, n_weights == 0, bad
 * options), DC_ERR_RANGE (alpha outside [0, 1] or NaN, eps outside (0, 1)),
 * DC_ERR_DIMENSION (a rows[k] == 0, or rows*cols overflows),
 * DC_ERR_NOT_FINITE (NaN/Inf in a weight), DC_ERR_OUT_OF_MEMORY.
 * Thread-safe if no other thread modifies the inputs meanwhile.
 */
DC_API dc_status dc_scaler_create(const dc_stats *stats, float alpha, const float *const *weights,
                                  const size_t *rows, size_t n_weights,
                                  const dc_scaler_options *options, dc_scaler **out);

/*
 * Wraps given scales (e.g. stored by the host) in a scaler: s[0..in_features),
 * each finite and > 0. Errors: DC_ERR_INVALID_ARGUMENT, DC_ERR_DIMENSION
 * (in_features == 0), DC_ERR_NOT_FINITE, DC_ERR_RANGE (an s_j <= 0),
 * DC_ERR_OUT_OF_MEMORY.
 */
DC_API dc_status dc_scaler_create_from_scales(const float *s, size_t in_features,
                                              const dc_scaler_options *options, dc_scaler **out);

/* Frees a scaler. NULL is a no-op. */
DC_API void dc_scaler_free(dc_scaler *scaler);

/* Number of channels (0 if NULL). */
DC_API size_t dc_scaler_in_features(const dc_scaler *scaler);

/*
 * Copies s[0..n) to out; n must equal dc_scaler_in_features().
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL), DC_ERR_DIMENSION.
 */
DC_API dc_status dc_scaler_get_scales(const dc_scaler *scaler, float *out, size_t n);

/*
 * Scales a weight matrix in place: w[i * cols + j] *= s_j, for a row-major
 * [rows x cols] float matrix with cols == in_features. Checked before any
 * write: on error w is unchanged.
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL), DC_ERR_DIMENSION (cols differs,
 * rows == 0, overflow), DC_ERR_NOT_FINITE (NaN/Inf in w), DC_ERR_RANGE (a
 * product would overflow to infinity).
 */
DC_API dc_status dc_scaler_apply(const dc_scaler *scaler, float *w, size_t rows, size_t cols);

/*
 * Folds 1/s into a vector producing the layer input, in place: v[j] /= s_j,
 * n == in_features. Use it on an RMSNorm weight (and, for LayerNorm, on
 * both its weight and its bias). Checked before any write.
 * Errors: DC_ERR_INVALID_ARGUMENT, DC_ERR_DIMENSION, DC_ERR_NOT_FINITE,
 * DC_ERR_RANGE (a quotient would overflow to infinity).
 */
DC_API dc_status dc_scaler_fold_norm(const dc_scaler *scaler, float *v, size_t n);

/*
 * Divides activations in place, for hosts that scale at run time:
 * x[t * row_stride + j] /= s_j for t < rows, j < in_features (row_stride in
 * elements, 0 = in_features). No finiteness check (run-time path).
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL with rows > 0), DC_ERR_DIMENSION.
 */
DC_API dc_status dc_scaler_scale_activations(const dc_scaler *scaler, float *x, size_t rows,
                                             size_t row_stride);

#ifdef __cplusplus
}
#endif
#endif /* DOUBLECOMP_DC_SCALER_H */
