/*
 * dc_prune.h -- libdoublecomp: activation-aware pruning.
 *
 * Scores every weight of a [rows x cols] matrix (METHOD.md eq. 4) and sets
 * the lowest-scoring ones to zero:
 *   DC_PRUNE_DC         S[i, j] = |W[i, j]| * a_j          (a = stats amax)
 *   DC_PRUNE_WANDA      S[i, j] = |W[i, j]| * ||X_j||_2    (sqrt of stats sumsq)
 *   DC_PRUNE_MAGNITUDE  S[i, j] = |W[i, j]|                (stats not needed)
 * Scores are computed in float. For a dc_qtensor |W| is the dequantized
 * |q| * Delta of the element's block, so any granularity is handled.
 *
 * Comparison group: each output row (DC_PRUNE_GROUP_ROW, default, as Wanda)
 * or the whole tensor (DC_PRUNE_GROUP_TENSOR). In every group of n weights
 * exactly k = floor(sparsity * n + 0.5) (round to nearest, halves up;
 * computed in double from the float sparsity) weights are selected and set
 * to zero: the k lowest scores, ties broken by the lower flat index
 * (i * cols + j) first. Weights that are already zero score 0 and so are
 * selected first; if a group has more than k zeros, nothing else in it is
 * zeroed. The result is deterministic and independent of the platform.
 *
 * Scaled layers: if W was scaled by a dc_scaler (W_hat = W * s), the
 * activations reaching it are X / s, so their stats are a_j / s_j. Pass the
 * statistics of the UNSCALED input together with the scaler in
 * dc_prune_options.scaler: the library then uses a_j / s_j (and
 * ||X_j||_2 / s_j), so DC and Wanda scores of the scaled layer equal those of
 * the unscaled one (up to float rounding). Leave it NULL when the stats were
 * collected on the scaled layer's actual input.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DOUBLECOMP_DC_PRUNE_H
#define DOUBLECOMP_DC_PRUNE_H

#include "dc_common.h"
#include "dc_stats.h"
#include "dc_scaler.h"
#include "dc_quant.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Scoring method; values never renumber. */
typedef enum dc_prune_method {
    DC_PRUNE_DC = 0, /* |W| * amax (the paper's method; default) */
    DC_PRUNE_WANDA = 1,
    DC_PRUNE_MAGNITUDE = 2
} dc_prune_method;

/* Comparison group; values never renumber. */
typedef enum dc_prune_group { DC_PRUNE_GROUP_ROW = 0, DC_PRUNE_GROUP_TENSOR = 1 } dc_prune_group;

/* Options of the prune functions; same conventions as dc_compress_options. */
typedef struct dc_prune_options {
    size_t struct_size;
    dc_prune_method method;        /* 0 = DC_PRUNE_DC */
    dc_prune_group group;          /* 0 = per row */
    const dc_scaler *scaler;       /* see "Scaled layers" above; NULL = none */
    const dc_allocator *allocator; /* scratch memory; NULL = malloc/free */
} dc_prune_options;

/* What a prune call did (set struct_size; only that many bytes are written). */
typedef struct dc_prune_report {
    size_t struct_size;
    uint64_t total;        /* rows * cols */
    uint64_t zeros_before; /* elements that were already zero */
    uint64_t zeros_after;  /* elements zero afterwards */
    uint64_t selected;     /* sum over groups of k (already-zero ones included) */
    double sparsity;       /* zeros_after / total */
} dc_prune_report;

/*
 * Prunes a float weight matrix in place (row-major [rows x cols]; pruned
 * elements become +0.0f). `stats` (width cols) is required for DC and WANDA
 * and may be NULL for MAGNITUDE (ignored there). sparsity in [0, 1).
 * `options` and `report` may be NULL. Everything is validated before w is
 * written: on error w is unchanged.
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL w, stats NULL for DC/WANDA or with
 * no tokens, bad options, unknown method/group), DC_ERR_RANGE (sparsity
 * outside [0, 1) or NaN), DC_ERR_DIMENSION (rows/cols 0, stats or scaler
 * width != cols), DC_ERR_NOT_FINITE (NaN/Inf in w), DC_ERR_OUT_OF_MEMORY.
 * Thread-safe for different matrices; stats and scaler are only read.
 */
DC_API dc_status dc_prune_f32(float *w, size_t rows, size_t cols, const dc_stats *stats,
                              float sparsity, const dc_prune_options *options,
                              dc_prune_report *report);

/*
 * Prunes a quantized tensor in place (selected q become 0; scales are
 * unchanged). Scores use the dequantized |q| * Delta. Otherwise as
 * dc_prune_f32() (no DC_ERR_NOT_FINITE: q data are always finite).
 * The tensor must not be used by another thread during the call.
 */
DC_API dc_status dc_prune_qtensor(dc_qtensor *q, const dc_stats *stats, float sparsity,
                                  const dc_prune_options *options, dc_prune_report *report);

#ifdef __cplusplus
}
#endif
#endif /* DOUBLECOMP_DC_PRUNE_H */
