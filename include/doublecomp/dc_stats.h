/*
 * dc_stats.h -- libdoublecomp: element types and calibration statistics.
 *
 * A dc_stats object belongs to one linear layer input of width
 * `in_features` (for llama: the input shared by wq/wk/wv, the one shared by
 * w1/w3, the input of wo and of w2). The host runs the float model on
 * calibration text and passes every activation row X[t, :] that enters the
 * layer to dc_stats_observe(). Per input channel j the object keeps
 *   amax_j  = max_t |X[t, j]|       (the l-infinity norm; "a_j" in METHOD.md)
 *   sumsq_j = sum_t X[t, j]^2       (so that ||X_j||_2 = sqrt(sumsq_j))
 * and the number of rows (tokens) seen. Objects of the same width merge
 * (threads, shards) and a set of named objects saves to / loads from one
 * safetensors file (format below).
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DOUBLECOMP_DC_STATS_H
#define DOUBLECOMP_DC_STATS_H

#include "dc_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ========================================================================== */
/*                               Element types                                */
/* ========================================================================== */

/*
 * Element types of arrays passed to the library. Values are part of the ABI
 * and never renumber.
 *   DC_DTYPE_F32   IEEE-754 binary32, host byte order
 *   DC_DTYPE_F16   IEEE-754 binary16 stored as uint16_t, host byte order
 *   DC_DTYPE_BF16  bfloat16 (upper 16 bits of a binary32) as uint16_t
 *   DC_DTYPE_I8    signed 8-bit integer
 */
typedef enum dc_dtype {
    DC_DTYPE_F32 = 0,
    DC_DTYPE_F16 = 1,
    DC_DTYPE_BF16 = 2,
    DC_DTYPE_I8 = 3
} dc_dtype;

/* Size in bytes of one element of `dtype` (4, 2, 2, 1), or 0 for an unknown
 * value. Thread-safe. */
DC_API size_t dc_dtype_size(dc_dtype dtype);

/* Static name of a dtype ("f32", "f16", "bf16", "i8"; "unknown"). */
DC_API const char *dc_dtype_name(dc_dtype dtype);

/*
 * Converts n elements of type `src_dtype` at src to float at dst (exact for
 * every type: f16 and bf16 values, including subnormals, infinities and NaN,
 * are representable in f32). src and dst must not overlap. n == 0 is a no-op
 * (pointers may then be NULL). Errors: DC_ERR_INVALID_ARGUMENT (NULL pointer
 * with n > 0, unknown dtype). Thread-safe.
 */
DC_API dc_status dc_convert_to_f32(float *dst, const void *src, dc_dtype src_dtype, size_t n);

/* ========================================================================== */
/*                           Calibration statistics                           */
/* ========================================================================== */

/* Options of dc_stats_create(); same conventions as dc_compress_options. */
typedef struct dc_stats_options {
    size_t struct_size;
    const dc_allocator *allocator; /* NULL = malloc/free */
} dc_stats_options;

/* Opaque per-layer statistics. */
typedef struct dc_stats dc_stats;

/*
 * Creates empty statistics (all channels 0, no tokens) for a layer input of
 * `in_features` channels (>= 1). `options` may be NULL. On success stores the
 * object in *out (free it with dc_stats_free); on error *out is set to NULL
 * when out is not NULL.
 * Errors: DC_ERR_INVALID_ARGUMENT (out NULL, bad options), DC_ERR_DIMENSION
 * (in_features == 0 or too large), DC_ERR_OUT_OF_MEMORY.
 * Thread safety (all dc_stats_* functions): an object must not be modified
 * by two threads at once, nor read while another thread modifies it;
 * different objects may be used concurrently. For multi-threaded calibration
 * give every thread its own object and dc_stats_merge() them afterwards.
 */
DC_API dc_status dc_stats_create(size_t in_features, const dc_stats_options *options,
                                 dc_stats **out);

/* Frees statistics. NULL is a no-op. */
DC_API void dc_stats_free(dc_stats *stats);

/* Clears statistics back to the state right after creation. NULL is a no-op. */
DC_API void dc_stats_reset(dc_stats *stats);

/* Number of input channels (0 if stats is NULL). */
DC_API size_t dc_stats_in_features(const dc_stats *stats);

/* Number of activation rows (tokens) observed or merged in (0 if NULL). */
DC_API uint64_t dc_stats_tokens(const dc_stats *stats);

/*
 * Records `rows` activation rows. Row t starts at element t * row_stride of
 * x (row_stride in elements, >= in_features; 0 means in_features, i.e. rows
 * are packed) and holds in_features elements of type `dtype` (F32, F16 or
 * BF16). The whole batch is checked before anything is recorded: if any
 * element is NaN or infinite, DC_ERR_NOT_FINITE is returned and the
 * statistics are unchanged. rows == 0 is a no-op (x may then be NULL).
 * Sums are accumulated in double precision.
 * Errors: DC_ERR_INVALID_ARGUMENT (stats or x NULL, unknown dtype),
 * DC_ERR_UNSUPPORTED (dtype I8), DC_ERR_DIMENSION (row_stride nonzero and
 * < in_features, or rows * row_stride overflows), DC_ERR_NOT_FINITE.
 */
DC_API dc_status dc_stats_observe(dc_stats *stats, const void *x, dc_dtype dtype, size_t rows,
                                  size_t row_stride);

/*
 * Adds the observations of `src` into `dst` (amax: element-wise max; sumsq
 * and tokens: sums). The result equals the statistics of the concatenation
 * of both inputs (sumsq up to floating-point rounding of the addition).
 * src is not modified; src == dst is allowed (doubles sums, keeps amax).
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL), DC_ERR_DIMENSION (widths differ).
 */
DC_API dc_status dc_stats_merge(dc_stats *dst, const dc_stats *src);

/*
 * Copies amax_j (max |x|) of every channel to out[0..n). n must equal
 * dc_stats_in_features(stats). Errors: DC_ERR_INVALID_ARGUMENT (NULL),
 * DC_ERR_DIMENSION (n differs).
 */
DC_API dc_status dc_stats_get_amax(const dc_stats *stats, float *out, size_t n);

/* As dc_stats_get_amax(), for sqrt(sumsq_j) = ||X_j||_2 (rounded to float). */
DC_API dc_status dc_stats_get_l2norm(const dc_stats *stats, float *out, size_t n);

/* As dc_stats_get_amax(), for sumsq_j in full (double) precision. */
DC_API dc_status dc_stats_get_sumsq(const dc_stats *stats, double *out, size_t n);

/*
 * Replaces the statistics by given values: amax[0..n) and sumsq[0..n)
 * (sumsq may be NULL: all 0), and the token count. n must equal the width.
 * For hosts that computed statistics themselves. Values are validated first
 * (on error nothing changes).
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL), DC_ERR_DIMENSION,
 * DC_ERR_NOT_FINITE (NaN/Inf), DC_ERR_RANGE (a negative value).
 */
DC_API dc_status dc_stats_set(dc_stats *stats, const float *amax, const double *sumsq, size_t n,
                              uint64_t tokens);

/* ========================================================================== */
/*                         Statistics file (safetensors)                      */
/* ========================================================================== */

/*
 * File format: a standard safetensors file (8-byte little-endian header
 * length, JSON header, raw data). For every layer named L it holds two F32
 * tensors of shape [in_features]:
 *   "L.amax"   amax_j
 *   "L.sumsq"  sumsq_j (rounded to float)
 * The "__metadata__" object holds "format": "doublecomp.stats",
 * "version": "1", and for every layer "L.tokens": the token count as a
 * decimal string. Layer names are 1..255 bytes of printable ASCII
 * (0x20..0x7E) and may not be "__metadata__"; other tensors in the file are
 * ignored by the loader.
 */

/*
 * Writes n_layers (>= 1) statistics with their names to `path`, atomically:
 * the data goes to a temporary file in the same directory which is then
 * renamed over `path` (on failure the temporary file is removed and an
 * existing `path` is left as it was). The file gets mode 0666 & ~umask (or
 * the mode of the regular file it replaces); see dc_temp_files_remove() in
 * dc_common.h for the temporary file's name and its removal on signals.
 * No allocator option: uses malloc.
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL pointers, n_layers == 0, a bad or
 * duplicate name), DC_ERR_IO (errno holds the system's reason; EINVAL if
 * `path` exists and is not a regular file), DC_ERR_OUT_OF_MEMORY.
 * Thread-safe as long as no thread modifies the objects during the call.
 */
DC_API dc_status dc_stats_save(const char *path, const char *const *names,
                               const dc_stats *const *stats, size_t n_layers);

/* Opaque handle on an opened statistics file (its header, parsed). */
typedef struct dc_stats_file dc_stats_file;

/*
 * Opens a statistics file and parses its header; tensor data are read by
 * dc_stats_file_get(). `options` (may be NULL) gives the allocator used for
 * the handle and for the objects it returns. The parser is bounds-checked
 * and safe on hostile input.
 * Errors: DC_ERR_INVALID_ARGUMENT, DC_ERR_IO (cannot open/read; errno holds
 * the reason),
 * DC_ERR_FORMAT (not a safetensors statistics file: bad header, missing
 * format tag, a layer without both tensors or tokens, wrong dtype/shape),
 * DC_ERR_UNSUPPORTED (a "version" other than "1"),
 * DC_ERR_TRUNCATED (file shorter than its header says),
 * DC_ERR_OUT_OF_MEMORY. A handle must not be used by two threads at once.
 */
DC_API dc_status dc_stats_file_open(const char *path, const dc_stats_options *options,
                                    dc_stats_file **out);

/* Closes the file and frees the handle. NULL is a no-op. */
DC_API void dc_stats_file_close(dc_stats_file *file);

/* Number of layers in the file (0 if file is NULL). */
DC_API size_t dc_stats_file_count(const dc_stats_file *file);

/* Name of layer i (in file order), owned by the handle and valid until it is
 * closed; NULL if i is out of range. */
DC_API const char *dc_stats_file_name(const dc_stats_file *file, size_t i);

/*
 * Reads layer `name` into a new dc_stats object (free with dc_stats_free).
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL, no such layer), DC_ERR_IO,
 * DC_ERR_NOT_FINITE / DC_ERR_RANGE (a stored value is NaN/Inf/negative),
 * DC_ERR_OUT_OF_MEMORY.
 */
DC_API dc_status dc_stats_file_get(dc_stats_file *file, const char *name, dc_stats **out);

/*
 * Convenience: opens `path`, reads layer `name`, closes. Errors as
 * dc_stats_file_open() and dc_stats_file_get().
 */
DC_API dc_status dc_stats_load(const char *path, const char *name, const dc_stats_options *options,
                               dc_stats **out);

#ifdef __cplusplus
}
#endif
#endif /* DOUBLECOMP_DC_STATS_H */
