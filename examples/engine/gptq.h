/*
 * gptq.h -- dc-llama: GPTQ-style error feedback for the quantizer (opt in:
 * dc-llama / dcz compress --gptq).
 *
 * The columns of W [rows x cols] are quantized one at a time, in order, on
 * the grid dc_quantize would use (dc_quant.h: per tensor or per channel the
 * Delta of the unmodified W; per group the Delta of the group's current
 * values when its first column is reached; the same rounding, clamping and
 * flags). The rounding error of column j, divided by U[j][j], is subtracted
 * from the columns not yet quantized in proportion to row j of U, the upper
 * Cholesky factor of H^-1 with H = X^T X + damp * mean(diag) * I, the
 * second moments of the layer's calibration inputs (Frantar et al., GPTQ,
 * 2022), in "act order" (columns by decreasing H diagonal) for per-tensor
 * and per-channel grids, in column order for groups. Weights marked in `keep_zero` (pruned ones)
 * are quantized to 0, and their error is fed forward too (SparseGPT's masked update).
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DC_ENGINE_GPTQ_H
#define DC_ENGINE_GPTQ_H

#include <doublecomp.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Quantizes w [rows x cols] (modified: it ends as the updated weights) with
 * the options qo into a new dc_qtensor, using h [cols x cols] (row-major,
 * symmetric; not modified) as X^T X. keep_zero (may be NULL) marks weights
 * that must quantize to 0. scale_mantissa < 10 rounds each scale's
 * significand to that many bits after the leading one before it is used
 * (then to binary16 with DC_QUANT_F16_SCALES): fewer distinct scales, cheaper
 * to entropy-code; 10 or more keeps them. DC_OK or an error
 * (DC_ERR_OUT_OF_MEMORY, DC_ERR_INFEASIBLE when H is not positive definite
 * after damping, the errors of dc_qtensor_import).
 */
dc_status el_gptq_quantize(float *w, size_t rows, size_t cols, const double *h,
                           const uint8_t *keep_zero, const dc_quant_options *qo, int scale_mantissa,
                           dc_qtensor **out);

#endif /* DC_ENGINE_GPTQ_H */
