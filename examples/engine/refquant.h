/*
 * refquant.h -- dc-llama: llama.cpp's weight formats, rebuilt for
 * side-by-side runs (`dc-llama ppl --quant q8_0|q4_0|q4_k`).
 *
 * Blocks of 32 consecutive weights of a row (a row whose length is not a
 * multiple of 32 ends with a shorter block; llama.cpp itself needs
 * multiples of 32, or 256 for Q4_K, so these are "like" its formats there):
 *   Q8_0  d = max|x| / 127, q = round(x / d) in [-127, 127]; d stored as
 *         binary16 (llama.cpp's quantize_row_q8_0_ref).
 *   Q4_0  d = m / -8 with m the x of largest |x|, q = min(15, (int)(x / d +
 *         8.5)) - 8 in [-8, 7]; d stored as binary16 (quantize_row_q4_0_ref).
 *   Q4_K  ("Q4_K-like") super-blocks of 8 blocks of 32: per block an
 *         asymmetric 4-bit grid x ~ d_b * l - m_b, l in [0, 15], fitted by
 *         llama.cpp's weighted search (make_qkx2_quants, weights |x| +
 *         rms); d_b and m_b quantized to 6 bits against the super-block's
 *         binary16 d and dmin (quantize_row_q4_K_ref).
 * Stored size as llama.cpp counts it: Q8_0 34 bytes per block, Q4_0 18,
 * Q4_K 4 + 12 * nb / 8 + 16 * nb bytes per super-block of nb blocks (a
 * short block takes as many bytes as a full one).
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DC_ENGINE_REFQUANT_H
#define DC_ENGINE_REFQUANT_H

#include <doublecomp.h>

#include <stddef.h>

typedef enum el_ref_format { EL_REF_NONE = 0, EL_REF_Q8_0, EL_REF_Q4_0, EL_REF_Q4_K } el_ref_format;

/* "q8_0", "q4_0", "q4_k" -> the format; EL_REF_NONE for anything else. */
el_ref_format el_ref_parse(const char *name);
/* The name as el_ref_parse reads it ("none" for EL_REF_NONE). */
const char *el_ref_name(el_ref_format f);

/* Bytes llama.cpp stores for a [rows x cols] tensor in format f. */
size_t el_ref_bytes(el_ref_format f, size_t rows, size_t cols);

/*
 * Q8_0 and Q4_0: quantizes w [rows x cols] as above into a dc_qtensor
 * (per group of 32: bits 8 with DC_QUANT_F16_SCALES, or bits 4 with
 * DC_QUANT_FULL_GRID | DC_QUANT_F16_SCALES) holding exactly llama.cpp's
 * codes and binary16 scales. DC_OK or the library's error.
 */
dc_status el_ref_quantize(el_ref_format f, const float *w, size_t rows, size_t cols,
                          dc_qtensor **out);

/* Q4_K: replaces w [rows x cols] by its dequantized Q4_K-like values
 * (weight-only: the engine runs the linear in float). 0 or -1 (memory). */
int el_ref_fake_q4k(float *w, size_t rows, size_t cols);

#endif /* DC_ENGINE_REFQUANT_H */
