/*
 * dc_quant.h -- libdoublecomp: symmetric weight quantization.
 *
 * A float weight matrix W [rows x cols] (row-major) is quantized to
 *
 *   q = clamp(round(W / Delta), -Q, Q),   Delta = max|W| / Q   (METHOD.md eq. 3)
 *
 * with Q = 127 for 8 bits and Q = 7 for 4 bits, or a smaller Q set with
 * dc_quant_options.qmax (fewer levels: a coarser step, lower entropy, so a
 * better ratio after entropy coding, for more rounding error); the max (and so Delta) is
 * taken per block, where the blocks are set by the granularity:
 *   DC_QUANT_PER_TENSOR   one Delta for the whole matrix (the default)
 *   DC_QUANT_PER_CHANNEL  one Delta per output row i
 *   DC_QUANT_PER_GROUP    one Delta per row i and group g of G consecutive
 *                         columns [g*G, min((g+1)*G, cols)); the last group
 *                         of a row may be shorter.
 * round() rounds halves away from zero; W / Delta is computed in double.
 * Delta is stored as float; a block whose max is 0 has Delta = 0 and q = 0.
 * Dequantization is q * Delta.
 *
 * Flags (dc_quant_options.flags, since 0.1.0):
 *   DC_QUANT_FULL_GRID   4 bits only: the full signed grid, q in [-8, 7]
 *                        (as llama.cpp's Q4_0). Each block's Delta is
 *                        m / -8, where m is its element of largest |w| (the
 *                        first one on ties), so that element maps to -8 and
 *                        Delta is negative when m is positive; then
 *                        q = clamp(round(W / Delta), -8, 7). qmax must be 0.
 *   DC_QUANT_F16_SCALES  every Delta is rounded to the nearest IEEE binary16
 *                        value (ties to even) before the weights are
 *                        quantized with it, so the scales can be stored in
 *                        2 bytes exactly (a |Delta| above 65504: DC_ERR_RANGE).
 *
 * Layouts of a dc_qtensor:
 *   data, 8 bits: rows * cols int8 values, row-major.
 *   data, 4 bits: each row is packed into ceil(cols / 2) bytes; element
 *     2k of the row is the LOW nibble (bits 0-3) of byte k, element 2k+1
 *     the HIGH nibble (bits 4-7); each nibble is two's-complement (-7..7;
 *     -8 occurs only with DC_QUANT_FULL_GRID). An odd row ends with a zero
 *     high nibble.
 *   scales (float Delta values): per-tensor: 1; per-channel: rows, scale[i]
 *     for row i; per-group: rows * ng with ng = ceil(cols / G), scale[i*ng+g].
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DOUBLECOMP_DC_QUANT_H
#define DOUBLECOMP_DC_QUANT_H

#include "dc_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Quantization granularity; values never renumber. */
typedef enum dc_quant_granularity {
    DC_QUANT_PER_TENSOR = 0,
    DC_QUANT_PER_CHANNEL = 1,
    DC_QUANT_PER_GROUP = 2
} dc_quant_granularity;

/* dc_quant_options.flags bits (see the top of this file). */
#define DC_QUANT_FULL_GRID  1u
#define DC_QUANT_F16_SCALES 2u

/* Default G of DC_QUANT_PER_GROUP. */
#define DC_QUANT_GROUP_SIZE_DEFAULT 128

/* Options of dc_quantize() and dc_qtensor_import(); same conventions as
 * dc_compress_options (zero-initialise, set struct_size; 0 = default). */
typedef struct dc_quant_options {
    size_t struct_size;
    dc_quant_granularity granularity; /* 0 = per tensor */
    size_t group_size;                /* G, per-group only (else ignored); 0 = 128 */
    unsigned bits;                    /* 8 or 4; 0 = 8 */
    const dc_allocator *allocator;    /* NULL = malloc/free */
    /* Q, the largest |q|: 0 = the full range (127 for 8 bits, 7 for 4 bits);
     * else 1 .. that value (larger: DC_ERR_RANGE). Since 0.1.0. */
    unsigned qmax;
    /* DC_QUANT_FULL_GRID | DC_QUANT_F16_SCALES, or 0; other bits:
     * DC_ERR_INVALID_ARGUMENT; FULL_GRID with 8 bits or a qmax: DC_ERR_RANGE.
     * Since 0.1.0. */
    unsigned flags;
} dc_quant_options;

/* Quantization error of a tensor against a float reference (all elements). */
typedef struct dc_quant_error {
    size_t struct_size; /* set by the caller; only this many bytes are written */
    double mse;         /* mean of (W - dequant)^2 */
    double max_abs;     /* max of |W - dequant| */
    double mean_sq;     /* mean of W^2 (signal power, for SNR = mean_sq / mse) */
} dc_quant_error;

/* Description of a dc_qtensor. */
typedef struct dc_qtensor_info {
    size_t struct_size; /* set by the caller; only this many bytes are written */
    size_t rows, cols;
    unsigned bits; /* 8 or 4 */
    dc_quant_granularity granularity;
    size_t group_size; /* G for per-group; cols for per-channel; 0 for per-tensor */
    size_t n_scales;   /* number of floats at dc_qtensor_scales() */
    size_t row_bytes;  /* bytes per row in data: cols (8 bits) or ceil(cols/2) (4 bits) */
    size_t data_size;  /* rows * row_bytes */
    unsigned qmax;     /* Q: every |q| <= qmax (8 with DC_QUANT_FULL_GRID: -8 <= q <= 7) */
    unsigned flags;    /* dc_quant_options.flags it was made with (since 0.1.0) */
} dc_qtensor_info;

/* Opaque quantized tensor: data, scales, layout. Reading functions may be
 * called from several threads at once; the pruner modifies it (then no other
 * thread may use it). */
typedef struct dc_qtensor dc_qtensor;

/*
 * Quantizes w (row-major [rows x cols] floats) into a new dc_qtensor
 * (free with dc_qtensor_free; *out = NULL on error). The quantization error
 * against w is computed and kept (dc_qtensor_error). `options` may be NULL.
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL, bad options, unknown granularity),
 * DC_ERR_RANGE (bits not 4 or 8, qmax too large), DC_ERR_DIMENSION (rows or cols 0, overflow),
 * DC_ERR_NOT_FINITE (NaN/Inf in w), DC_ERR_OUT_OF_MEMORY.
 * Thread-safe if no other thread modifies w meanwhile.
 */
DC_API dc_status dc_quantize(const float *w, size_t rows, size_t cols,
                             const dc_quant_options *options, dc_qtensor **out);

/*
 * Creates a dc_qtensor from data already quantized by the host, in the
 * layout above for the given options (copied; need not outlive the call).
 * data_size must equal rows * row_bytes and n_scales the count above.
 * The stored error (dc_qtensor_error) is all zero for an imported tensor.
 * Errors: as dc_quantize(), plus DC_ERR_SIZE_MISMATCH (data_size/n_scales),
 * DC_ERR_RANGE (a value outside -Q..Q with Q from the options, a negative scale; with
 * DC_QUANT_FULL_GRID values -8..7 and negative scales are valid; with DC_QUANT_F16_SCALES a
 * scale that is not a binary16 value), DC_ERR_NOT_FINITE (a NaN/Inf scale).
 */
DC_API dc_status dc_qtensor_import(const void *data, size_t data_size, const float *scales,
                                   size_t n_scales, size_t rows, size_t cols,
                                   const dc_quant_options *options, dc_qtensor **out);

/* Frees a quantized tensor. NULL is a no-op. */
DC_API void dc_qtensor_free(dc_qtensor *q);

/* Fills *info (set info->struct_size first). Errors: DC_ERR_INVALID_ARGUMENT. */
DC_API dc_status dc_qtensor_get_info(const dc_qtensor *q, dc_qtensor_info *info);

/* The quantized bytes (layout above), owned by q, valid until it is freed;
 * NULL if q is NULL. */
DC_API const void *dc_qtensor_data(const dc_qtensor *q);

/* The scales (info.n_scales floats), owned by q; NULL if q is NULL. */
DC_API const float *dc_qtensor_scales(const dc_qtensor *q);

/*
 * Writes q * Delta for every element to dst (row-major rows*cols floats);
 * dst_count is the capacity of dst in floats.
 * Errors: DC_ERR_INVALID_ARGUMENT, DC_ERR_DST_TOO_SMALL.
 */
DC_API dc_status dc_qtensor_dequantize(const dc_qtensor *q, float *dst, size_t dst_count);

/*
 * The quantization error measured by dc_quantize() against its input (not
 * updated by pruning; use dc_qtensor_compare for the current state).
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL, err->struct_size < sizeof(size_t)).
 */
DC_API dc_status dc_qtensor_error(const dc_qtensor *q, dc_quant_error *err);

/*
 * Measures the error of the current dequantized tensor against a float
 * reference `ref` of the same shape.
 * Errors: DC_ERR_INVALID_ARGUMENT, DC_ERR_DIMENSION (shape differs),
 * DC_ERR_NOT_FINITE (NaN/Inf in ref).
 */
DC_API dc_status dc_qtensor_compare(const dc_qtensor *q, const float *ref, size_t rows, size_t cols,
                                    dc_quant_error *err);

#ifdef __cplusplus
}
#endif
#endif /* DOUBLECOMP_DC_QUANT_H */
