/*
 * safetensors.h -- minimal safetensors reader and writer (internal).
 *
 * Format (https://github.com/huggingface/safetensors): 8-byte little-endian
 * unsigned header length N, then N bytes of UTF-8 JSON, then the data
 * section. The JSON is an object: every key except "__metadata__" names a
 * tensor and maps to {"dtype": "F32", "shape": [d0, ...], "data_offsets":
 * [begin, end]} (byte offsets into the data section); "__metadata__" maps to
 * an object of string -> string.
 *
 * The parser is written for hostile input: every read is bounds-checked,
 * nesting depth and sizes are limited, integer overflow is checked, strings
 * are validated (UTF-8, no control characters, no NUL, valid \u escapes and
 * surrogate pairs), tensor byte ranges must lie inside the data section and
 * match dtype x shape, and duplicate tensor names and overlapping byte ranges
 * are refused. Any violation gives DC_ERR_FORMAT; nothing crashes or reads
 * out of bounds. Memory stays a small multiple of the header (tensor slots
 * are allocated once from an upper bound on their number; at most
 * DC_ST_MAX_META metadata entries).
 */
#ifndef DC_SAFETENSORS_H
#define DC_SAFETENSORS_H

#include "internal.h"

#include <stdint.h>

/* Largest JSON header accepted (as the reference implementation: 100 MB). */
#define DC_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)
/* Largest number of dimensions of a tensor. */
#define DC_ST_MAX_DIMS 8
/* Most metadata entries accepted (each costs ~100 bytes of memory but may
 * take only 6 bytes of JSON). */
#define DC_ST_MAX_META ((size_t)1 << 18)
/* Fewer JSON bytes than any tensor entry takes (the shortest,
 * "":{"dtype":"","shape":[],"data_offsets":[0,0]}, has 47). */
#define DC_ST_MIN_ENTRY 40
/* Deepest JSON nesting skipped inside unknown values. */
#define DC_ST_MAX_DEPTH 64

typedef enum dc_st_dtype {
    DC_ST_UNKNOWN = 0, /* any other dtype string: kept, size unknown */
    DC_ST_BOOL,
    DC_ST_U8,
    DC_ST_I8,
    DC_ST_F8_E4M3,
    DC_ST_F8_E5M2,
    DC_ST_U16,
    DC_ST_I16,
    DC_ST_F16,
    DC_ST_BF16,
    DC_ST_U32,
    DC_ST_I32,
    DC_ST_F32,
    DC_ST_U64,
    DC_ST_I64,
    DC_ST_F64
} dc_st_dtype;

/* Bytes per element, 0 for DC_ST_UNKNOWN. */
size_t dc_st_dtype_size(dc_st_dtype dtype);
/* The safetensors spelling ("F32", ...); "" for DC_ST_UNKNOWN. */
const char *dc_st_dtype_string(dc_st_dtype dtype);

typedef struct dc_st_tensor {
    char *name;         /* NUL-terminated (the name contains no NUL) */
    char dtype_str[16]; /* as in the file (truncated if longer) */
    dc_st_dtype dtype;  /* DC_ST_UNKNOWN if not recognised */
    size_t ndim;        /* 0..DC_ST_MAX_DIMS (0 = scalar) */
    uint64_t shape[DC_ST_MAX_DIMS];
    uint64_t numel;      /* product of shape (1 for a scalar) */
    uint64_t begin, end; /* byte range in the data section, begin <= end */
} dc_st_tensor;

typedef struct dc_st_meta {
    char *key, *value;
} dc_st_meta;

/* A parsed header. Tensors are in file order. */
typedef struct dc_st_header {
    dc_alloc alloc;
    dc_st_tensor *tensors;
    size_t n_tensors;
    dc_st_meta *meta;
    size_t n_meta;
    /* Sorted indexes (by name; metadata by key, then position), so lookups
     * bisect: a header of n tensors costs O(n log n) to parse and query. */
    const dc_st_tensor **by_name;
    const dc_st_meta **meta_by_key;
} dc_st_header;

/*
 * Parses json[0..len) as a safetensors header whose data section holds
 * data_size bytes. Returns DC_OK and a header in *out (free with
 * dc_st_header_free), DC_ERR_FORMAT, or DC_ERR_OUT_OF_MEMORY.
 */
dc_status dc_st_parse(const dc_alloc *alloc, const void *json, size_t len, uint64_t data_size,
                      dc_st_header **out);
void dc_st_header_free(dc_st_header *h);
/* 1 if text[0..len) is exactly one JSON value (RFC 8259, UTF-8, whitespace
 * around it allowed, nesting at most DC_ST_MAX_DEPTH deep), else 0. */
int dc_json_valid(const char *text, size_t len);
/* The tensor called `name`, or NULL. O(log n). */
const dc_st_tensor *dc_st_find(const dc_st_header *h, const char *name);
/* The metadata value of `key` (its last occurrence), or NULL. O(log n). */
const char *dc_st_meta_get(const dc_st_header *h, const char *key);

/* An open file: its parsed header and where its data section starts. */
typedef struct dc_st_file {
    dc_alloc alloc;
    int fd; /* -1: none */
    uint64_t file_size;
    uint64_t data_offset; /* 8 + N */
    dc_st_header *hdr;
} dc_st_file;

/*
 * Opens `path` and parses its header. Errors: DC_ERR_IO, DC_ERR_TRUNCATED
 * (file shorter than 8 + N), DC_ERR_FORMAT, DC_ERR_OUT_OF_MEMORY.
 */
dc_status dc_st_open(const dc_alloc *alloc, const char *path, dc_st_file **out);
void dc_st_close(dc_st_file *f);
/* Reads the raw bytes of tensor t (end - begin of them) into dst, with
 * pread: any number of threads may read from one open file at once.
 * Errors: DC_ERR_DST_TOO_SMALL, DC_ERR_IO. */
dc_status dc_st_read(dc_st_file *f, const dc_st_tensor *t, void *dst, size_t dst_capacity);

/* One tensor to write; data holds nbytes raw (little-endian) bytes. */
typedef struct dc_st_out_tensor {
    const char *name;
    dc_st_dtype dtype;
    size_t ndim;
    const uint64_t *shape;
    const void *data;
    size_t nbytes; /* must equal numel * dtype size */
} dc_st_out_tensor;

/*
 * Writes a safetensors file atomically (temporary file in the same
 * directory, then rename). meta_kv holds n_meta (key, value) pairs as
 * 2 * n_meta strings. Names and strings are JSON-escaped. The header is
 * padded with spaces to a multiple of 8 bytes.
 * Errors: DC_ERR_INVALID_ARGUMENT (nbytes != numel * size, unknown dtype, a
 * name or string that is not valid UTF-8),
 * DC_ERR_IO, DC_ERR_OUT_OF_MEMORY.
 */
dc_status dc_st_write(const dc_alloc *alloc, const char *path, const dc_st_out_tensor *tensors,
                      size_t n_tensors, const char *const *meta_kv, size_t n_meta);

/*
 * Produces the bytes of tensors[index] (whose data is NULL) for
 * dc_st_write_stream: *data receives nbytes bytes that stay valid until the
 * next call. A status other than DC_OK stops the write (it is returned).
 */
typedef dc_status (*dc_st_load_fn)(void *ctx, size_t index, const void **data);

/*
 * As dc_st_write, but a tensor whose data is NULL (and nbytes > 0) is
 * produced by load(ctx, index, ...) when its turn comes, so a file can be
 * written holding one tensor at a time.
 */
dc_status dc_st_write_stream(const dc_alloc *alloc, const char *path,
                             const dc_st_out_tensor *tensors, size_t n_tensors,
                             const char *const *meta_kv, size_t n_meta, dc_st_load_fn load,
                             void *ctx);

#endif /* DC_SAFETENSORS_H */
