/*
 * dc_container.h -- libdoublecomp: the .dcz model container.
 *
 * A .dcz file holds a model's tensors as chunks of the codec (dc_codec.h),
 * a tensor table (name, shape, original dtype, how each was quantized,
 * scales, smoothing scales, pruning settings, codec), a chunk index (offset,
 * sizes, codec tag, checksum of every chunk) and free-form JSON metadata.
 * Chunk data is 64-byte aligned so a reader can mmap the file and decode
 * straight from the mapping. The byte format is in docs/format.md.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DOUBLECOMP_DC_CONTAINER_H
#define DOUBLECOMP_DC_CONTAINER_H

#include "dc_codec.h"
#include "dc_common.h"
#include "dc_prune.h"
#include "dc_quant.h"
#include "dc_stats.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_MAX_DIMS 8

/* prune_method value of a tensor that was not pruned. */
#define DC_PRUNE_NONE (-1)

/*
 * Description of one tensor. For the writer the caller fills it (pointers
 * are read during dc_writer_add_tensor only); for the reader the library
 * fills it and its pointers stay valid until dc_reader_close. Set
 * struct_size = sizeof(dc_tensor_desc) before either use.
 *
 * Stored bytes: bits == 0: the tensor as it was, in `dtype` (F32, F16 or
 * BF16, little-endian; or I8: opaque bytes, e.g. a GGUF K-quant kept as it
 * was, described by the key/value section); bits == 8: INT8 (dtype DC_DTYPE_I8), row-major;
 * bits == 4: packed as dc_quant.h describes, rows = product of all dims but
 * the last, cols = the last dim. scales follow dc_quant.h's layout.
 */
typedef struct dc_tensor_desc {
    size_t struct_size;
    const char *name; /* UTF-8, NUL-terminated, 1..65535 bytes, unique in a file */
    unsigned ndim;    /* 1..DC_MAX_DIMS */
    uint64_t dims[DC_MAX_DIMS];
    dc_dtype source_dtype;            /* dtype of the tensor in the source model */
    dc_dtype dtype;                   /* dtype of the stored elements (I8 when quantized) */
    unsigned bits;                    /* 0 = not quantized, 8 or 4 */
    dc_quant_granularity granularity; /* quantized tensors only */
    uint64_t group_size;              /* G, for DC_QUANT_PER_GROUP */
    const float *scales;              /* dequantization scales (Delta), n_scales of them */
    uint64_t n_scales;
    const float *smooth; /* per-input-channel smoothing scales s_j; NULL if none */
    uint64_t n_smooth;
    float alpha;      /* smoothing alpha (meaningful when n_smooth > 0) */
    int prune_method; /* DC_PRUNE_NONE or a dc_prune_method */
    float sparsity;   /* target sparsity the pruner was given */
    /* Filled by the reader only: */
    uint64_t data_size;   /* raw bytes of the stored tensor */
    uint32_t first_chunk; /* index of its first chunk in the file's chunk index */
    uint32_t n_chunks;
    /* Since 0.1.0 (a writer's caller whose struct_size ends before it writes
     * 0): the dc_quant_options.flags the codes were made with,
     * DC_QUANT_FULL_GRID (4 bits: codes -8..7, scales may be negative) and
     * DC_QUANT_F16_SCALES (every scale a binary16 value; the file stores them
     * in 2 bytes, entropy-coded: docs/format.md 6.4). */
    unsigned quant_flags;
} dc_tensor_desc;

/* ========================================================================== */
/*                                   Writer                                   */
/* ========================================================================== */

typedef struct dc_writer_options {
    size_t struct_size;
    dc_codec codec;    /* 0 = ANS; DC_CODEC_FLOAT: lossless floats, see below */
    int level;         /* codec level, as dc_compress_options (float: ignored) */
    size_t chunk_size; /* 0 = DC_CHUNK_SIZE_DEFAULT */
    unsigned threads;  /* chunks compressed in parallel; 0 or 1 = calling thread only */
    int overwrite;     /* nonzero: replace an existing file; else DC_ERR_IO if it exists */
    const dc_allocator *allocator;
    /* Since 0.1.0: cut every tensor's chunks on row boundaries (a row: the
     * last dimension; a 1-D tensor is one row), so that a range of rows
     * decodes from whole chunks alone. 0: chunks of chunk_size bytes (rows
     * may straddle them). N: N rows a chunk. DC_CHUNK_ROWS_FIT: as many
     * whole rows as fit in chunk_size, at least one. Either way a chunk
     * holds at most DC_CHUNK_SIZE_MAX bytes of whole rows; a tensor whose
     * one row is longer than that is cut by chunk_size. The last chunk of a
     * tensor holds the rows left. dc_reader_chunk_rows reads it back. */
    uint64_t chunk_rows;
} dc_writer_options;
/* With codec DC_CODEC_FLOAT, each tensor stored as it was (bits 0) with dtype
 * F32, F16 or BF16 is coded by the lossless float codec with its element size
 * (4 or 2 bytes); quantized and I8 tensors are ANS-coded. */

/* dc_writer_options.chunk_rows: as many whole rows as fit in chunk_size. */
#define DC_CHUNK_ROWS_FIT UINT64_MAX

typedef struct dc_writer dc_writer;

/*
 * Starts writing a .dcz file at `path`. Data goes to a temporary file in the
 * same directory, "<dir>/.<name>.dcz-tmp.<pid>.XXXXXX", renamed over `path`
 * only by a successful dc_writer_finish; nothing at `path` changes before
 * that. The file gets mode 0666 & ~umask, or the permission bits of the
 * regular file it replaces. Leftover temporary files of dead processes for
 * the same `path` are removed first; for removal on SIGINT/SIGTERM see
 * dc_temp_files_remove() (dc_common.h). Errors: DC_ERR_INVALID_ARGUMENT,
 * DC_ERR_RANGE (options), DC_ERR_IO (exists and !overwrite: errno EEXIST;
 * `path` is a directory or not a regular file: EISDIR / EINVAL; cannot
 * create: the system's errno), DC_ERR_OUT_OF_MEMORY.
 * Whenever a writer function returns DC_ERR_IO, errno holds the reason
 * (e.g. ENOSPC, EACCES). A writer is used by one thread at a time.
 */
DC_API dc_status dc_writer_create(const char *path, const dc_writer_options *options,
                                  dc_writer **out);

/*
 * Appends one tensor: its description and its `size` stored bytes (which
 * must match the layout above exactly). The bytes are chunked,
 * compressed and written before the call returns; the caller may free them
 * afterwards, so a model can be written one tensor at a time.
 * Errors: DC_ERR_INVALID_ARGUMENT (bad desc, duplicate name),
 * DC_ERR_SIZE_MISMATCH, DC_ERR_NOT_FINITE (NaN/Inf scales), DC_ERR_IO,
 * DC_ERR_OUT_OF_MEMORY. After an error the writer can only be aborted.
 */
DC_API dc_status dc_writer_add_tensor(dc_writer *w, const dc_tensor_desc *desc, const void *data,
                                      size_t size);

/* Sets the file's JSON metadata text (copied; replaces any earlier value). */
DC_API dc_status dc_writer_set_metadata(dc_writer *w, const char *json);

#ifdef DC_EXPERIMENTAL
/* Experimental (DC_EXPERIMENTAL, symbol version DOUBLECOMP_EXPERIMENTAL):
 * may change or go in any release (see dc_common.h). */
/*
 * Sets the file's key/value section (copied; replaces any earlier one; size
 * 0 removes it): typed key/values and tensor descriptions in GGUF's binary
 * encoding (docs/format.md, 6.7), as `dcz compress` writes them for a GGUF
 * source so that `dcz export --gguf` can give every key/value back
 * bit-exactly. The bytes are checked before they are taken.
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL writer, malformed section),
 * DC_ERR_OUT_OF_MEMORY. Since 0.1.0.
 */
DC_API dc_status dc_writer_set_kv_section(dc_writer *w, const void *data, size_t size);
#endif /* DC_EXPERIMENTAL */

/*
 * Writes the tables, flushes, and atomically renames the file into place.
 * Frees the writer whatever the outcome; on error the temporary file is
 * removed and `path` is untouched. Errors: DC_ERR_IO, DC_ERR_OUT_OF_MEMORY.
 */
DC_API dc_status dc_writer_finish(dc_writer *w);

/* Abandons a writer: removes its temporary file and frees it. NULL is a no-op. */
DC_API void dc_writer_abort(dc_writer *w);

/* ========================================================================== */
/*                                   Reader                                   */
/* ========================================================================== */

typedef struct dc_reader dc_reader;

/*
 * Opens a .dcz file (memory-mapped, read-only) and validates its header,
 * tensor table and chunk index: every offset and size is bounds-checked
 * against the file before use, so a damaged file gives an error, never a
 * crash. The tables are copied at open; chunk payloads are only checked when
 * decoded. Errors: DC_ERR_IO (errno holds the system's reason), DC_ERR_FORMAT
 * (not a .dcz), DC_ERR_UNSUPPORTED (newer version), DC_ERR_TRUNCATED,
 * DC_ERR_CORRUPT, DC_ERR_CHECKSUM (a table's checksum), DC_ERR_OUT_OF_MEMORY.
 * `detail` (may be NULL) receives a static English string naming what is
 * wrong (e.g. "chunk index: offset outside file").
 * A reader may be used by many threads at once (all calls are read-only).
 *
 * mmap hazard: chunk data is read straight from the mapping. If the file is
 * truncated (or its storage fails) while it is mapped, touching the lost
 * pages raises SIGBUS, which kills the process; no status can be returned.
 * For files that another process may shorten or rewrite, or that live on
 * unreliable storage, open them with DC_READER_NO_MMAP (dc_reader_open_file_ex).
 * Same as dc_reader_open_file_ex with flags 0.
 */
DC_API dc_status dc_reader_open_file(const char *path, const dc_allocator *allocator,
                                     dc_reader **out, const char **detail);

/* dc_reader_options.flags: read the file with pread() instead of mapping it.
 * A file truncated after it was opened then gives DC_ERR_TRUNCATED from the
 * calls that read chunks (DC_ERR_IO, with errno, if a read fails) instead of
 * SIGBUS. Costs one copy of each chunk read; dc_reader_chunk is not
 * available (use dc_reader_read_chunk). The reader keeps the file open
 * until dc_reader_close. */
#define DC_READER_NO_MMAP 1u
/* dc_reader_options.flags: access hints, for the whole file, given at open
 * (madvise on the mapping; posix_fadvise with DC_READER_NO_MMAP). Hints
 * only: where the system lacks them, or refuses, nothing changes.
 * SEQUENTIAL: the tensors will be read about once, in file order (more
 * read-ahead, pages dropped sooner). WILLNEED: start reading the whole file
 * into the page cache now, in the background. Since 0.1.0. */
#define DC_READER_SEQUENTIAL 2u
#define DC_READER_WILLNEED   4u
/* dc_reader_options.flags: map with MAP_POPULATE (Linux): the open reads the
 * whole file into memory before it returns, so no later access faults or
 * waits for storage. Ignored where MAP_POPULATE does not exist; refused
 * (DC_ERR_INVALID_ARGUMENT) with DC_READER_NO_MMAP. Since 0.1.0. */
#define DC_READER_POPULATE 8u

/* Options of dc_reader_open_file_ex; same conventions as dc_compress_options
 * (struct_size first; NULL options = all zero). */
typedef struct dc_reader_options {
    size_t struct_size;
    unsigned flags;                /* 0, or DC_READER_* flags or'ed */
    const dc_allocator *allocator; /* NULL = malloc/free */
} dc_reader_options;

/*
 * As dc_reader_open_file, with options (NULL = defaults: mapped). Errors: as
 * dc_reader_open_file, plus DC_ERR_INVALID_ARGUMENT for unknown flags and
 * DC_ERR_UNSUPPORTED for a newer options struct with unknown fields set.
 * Thread safety as dc_reader_open_file, in both modes.
 */
DC_API dc_status dc_reader_open_file_ex(const char *path, const dc_reader_options *options,
                                        dc_reader **out, const char **detail);

/*
 * As dc_reader_open_file, over a caller-owned memory region that must stay
 * valid and unchanged until dc_reader_close.
 */
DC_API dc_status dc_reader_open_memory(const void *data, size_t size, const dc_allocator *allocator,
                                       dc_reader **out, const char **detail);

/* Closes a reader (unmaps the file). NULL is a no-op. */
DC_API void dc_reader_close(dc_reader *r);

/* Number of tensors; 0 for NULL. */
DC_API size_t dc_reader_tensor_count(const dc_reader *r);

/*
 * Sets *index to the index of the tensor called `name` (an exact, byte-wise
 * match). Errors: DC_ERR_NOT_FOUND (no such tensor; before 0.1.0 this was
 * DC_ERR_INVALID_ARGUMENT), DC_ERR_INVALID_ARGUMENT (a NULL argument).
 * O(1) expected: dc_reader_open_* builds a hash set of the names once, O(n)
 * (also how duplicates are refused), so opening a file and looking up every
 * tensor costs O(n) in all (bench/dc_find_bench: 60,000 tensors). A file
 * whose names collide abnormally (crafted) gets a sorted index instead:
 * O(log n) a lookup, never worse. Thread-safe, as every reader call.
 */
DC_API dc_status dc_reader_find(const dc_reader *r, const char *name, size_t *index);

/* Fills *desc (caller sets desc->struct_size) for tensor `index`. */
DC_API dc_status dc_reader_tensor(const dc_reader *r, size_t index, dc_tensor_desc *desc);

/* The JSON metadata text (NUL-terminated, owned by the reader), or "" if none. */
DC_API const char *dc_reader_metadata(const dc_reader *r);

#ifdef DC_EXPERIMENTAL
/* Experimental (DC_EXPERIMENTAL, symbol version DOUBLECOMP_EXPERIMENTAL):
 * may change or go in any release (see dc_common.h). */
/*
 * The key/value section (dc_writer_set_kv_section), owned by the reader and
 * valid until dc_reader_close, with its length in *size (may be NULL); NULL
 * and *size = 0 if the file has none (every file written without one).
 * dc_reader_open_* checked its checksum and structure. Thread-safe.
 */
DC_API const void *dc_reader_kv_section(const dc_reader *r, size_t *size);

/*
 * Typed metadata: key -> typed value, read without a JSON parser. The pairs
 * live in the key/value section (docs/format.md, 6.7) in GGUF's encoding, so
 * a model read from a GGUF file shows every one of its key/values here (and
 * `dcz export --gguf` gives back every pair written with these calls). Value
 * types are GGUF's, numbered as GGUF numbers them; values never renumber.
 */
typedef enum dc_meta_type {
    DC_META_U8 = 0,
    DC_META_I8 = 1,
    DC_META_U16 = 2,
    DC_META_I16 = 3,
    DC_META_U32 = 4,
    DC_META_I32 = 5,
    DC_META_F32 = 6,
    DC_META_BOOL = 7, /* one byte, 0 or 1 */
    DC_META_STRING = 8,
    DC_META_ARRAY = 9,
    DC_META_U64 = 10,
    DC_META_I64 = 11,
    DC_META_F64 = 12
} dc_meta_type;

/* A string value: UTF-8 bytes, not NUL-terminated (GGUF strings are not). */
typedef struct dc_meta_string {
    const char *data;
    size_t size;
} dc_meta_string;

/*
 * Adds key = value to the file's typed metadata (written by
 * dc_writer_finish). Keys are UTF-8, 1..65535 bytes, unique in the file
 * (an existing key: DC_ERR_INVALID_ARGUMENT). Integers: `type` is any
 * integer type or DC_META_BOOL, and `value` must fit it (else DC_ERR_RANGE;
 * DC_META_U64 takes 0..INT64_MAX here); floats: DC_META_F32 (rounded) or
 * DC_META_F64; strings: NUL-terminated UTF-8. Arrays: `count` elements of
 * `elem_type` at `elems`, in C's native types (uint8_t for DC_META_U8 and
 * DC_META_BOOL, int16_t for DC_META_I16, float for DC_META_F32, ...; for
 * DC_META_STRING, `elems` is `const char *const *`, NUL-terminated UTF-8
 * strings); nested arrays are not offered. A later
 * dc_writer_set_kv_section replaces the whole section, pairs added before
 * included; pairs added after it are appended to it.
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL writer, key or value, a bad type,
 * an invalid key or string, a duplicate key), DC_ERR_RANGE,
 * DC_ERR_OUT_OF_MEMORY. O(size of the metadata) a call. Since 0.1.0.
 */
DC_API dc_status dc_writer_meta_int(dc_writer *w, const char *key, dc_meta_type type,
                                    int64_t value);
DC_API dc_status dc_writer_meta_float(dc_writer *w, const char *key, dc_meta_type type,
                                      double value);
DC_API dc_status dc_writer_meta_string(dc_writer *w, const char *key, const char *value);
DC_API dc_status dc_writer_meta_array(dc_writer *w, const char *key, dc_meta_type elem_type,
                                      const void *elems, uint64_t count);

/* Number of typed metadata pairs (0 for a file without any, or NULL). */
DC_API size_t dc_reader_meta_count(const dc_reader *r);

/*
 * Key (NUL-terminated, owned by the reader) and value type of pair `index`
 * (file order; either pointer may be NULL). Errors: DC_ERR_NOT_FOUND (index
 * out of range), DC_ERR_INVALID_ARGUMENT (NULL reader).
 */
DC_API dc_status dc_reader_meta_entry(const dc_reader *r, size_t index, const char **key,
                                      dc_meta_type *type);

/* Sets *index to the pair called `key`. Errors: DC_ERR_NOT_FOUND,
 * DC_ERR_INVALID_ARGUMENT (a NULL argument). O(number of pairs). */
DC_API dc_status dc_reader_meta_find(const dc_reader *r, const char *key, size_t *index);

/*
 * The value of pair `index`: dc_reader_meta_int for any integer type and
 * DC_META_BOOL (DC_ERR_RANGE for a U64 above INT64_MAX), dc_reader_meta_float
 * for F32 and F64, dc_reader_meta_string for a string (pointing into the
 * reader, valid until dc_reader_close). A value of another type:
 * DC_ERR_INVALID_ARGUMENT. Errors also: DC_ERR_NOT_FOUND (index out of
 * range), DC_ERR_INVALID_ARGUMENT (NULL arguments). Thread-safe.
 */
DC_API dc_status dc_reader_meta_int(const dc_reader *r, size_t index, int64_t *value);
DC_API dc_status dc_reader_meta_float(const dc_reader *r, size_t index, double *value);
DC_API dc_status dc_reader_meta_string(const dc_reader *r, size_t index, dc_meta_string *value);

/*
 * An array value: its element type and count (dc_reader_meta_array), and
 * elements first .. first + count - 1 copied to dst in C's native types as
 * for dc_writer_meta_array (dc_reader_meta_array_get; strings as
 * dc_meta_string pointing into the reader). Arrays of arrays give
 * DC_ERR_UNSUPPORTED to dc_reader_meta_array_get. Errors:
 * DC_ERR_INVALID_ARGUMENT (not an array, NULL arguments), DC_ERR_RANGE
 * (first + count past the end), DC_ERR_NOT_FOUND (index out of range).
 * Strings cost O(first + count), other types O(count). Thread-safe.
 */
DC_API dc_status dc_reader_meta_array(const dc_reader *r, size_t index, dc_meta_type *elem_type,
                                      uint64_t *count);
DC_API dc_status dc_reader_meta_array_get(const dc_reader *r, size_t index, uint64_t first,
                                          uint64_t count, void *dst);
#endif /* DC_EXPERIMENTAL */

/*
 * Locates chunk `chunk` (0-based within the tensor) of tensor `index`:
 * *data points at the chunk (header included) inside the file mapping,
 * *size is its length and *raw_size (may be NULL) its decoded size. The
 * pointer stays valid until dc_reader_close. Pass it to dc_chunk_decompress.
 * A reader opened with DC_READER_NO_MMAP has no mapping: it sets *size and
 * *raw_size, sets *data to NULL and returns DC_ERR_UNSUPPORTED.
 */
DC_API dc_status dc_reader_chunk(const dc_reader *r, size_t index, size_t chunk, const void **data,
                                 size_t *size, size_t *raw_size);

#ifdef DC_EXPERIMENTAL
/* Experimental (DC_EXPERIMENTAL, symbol version DOUBLECOMP_EXPERIMENTAL):
 * may change or go in any release (see dc_common.h). */
/* Where one chunk of a tensor lies, in the file and in the tensor's data. */
typedef struct dc_chunk_location {
    size_t struct_size;   /* set to sizeof(dc_chunk_location) before the call */
    uint64_t file_offset; /* the chunk (header included) starts here in the file: a
                             multiple of 64 (docs/format.md, section 6.2) */
    size_t size;          /* its length in bytes, header included */
    uint64_t raw_offset;  /* its first decoded byte's offset in the tensor's data */
    size_t raw_size;      /* its decoded size */
    uint32_t checksum;    /* DC32 of its decoded bytes (as in the chunk header) */
    dc_codec codec;       /* how it is coded (DC_CODEC_RUN for a run chunk) */
} dc_chunk_location;

/*
 * Fills *out (the caller sets out->struct_size; only that many bytes are
 * written) for chunk `chunk` (0-based within the tensor) of tensor `index`,
 * from the chunk index read at open: O(1), no I/O, in every reader mode. An
 * engine that reads chunks itself (pread with O_DIRECT into its own aligned
 * buffers, io_uring) reads [file_offset, file_offset + size) and passes the
 * bytes to dc_chunk_decompress, which verifies them. For a reader over
 * memory (dc_reader_open_memory), file_offset is the offset in that region.
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL, index or chunk out of range,
 * struct_size too small). Thread-safe.
 */
DC_API dc_status dc_reader_chunk_location(const dc_reader *r, size_t index, size_t chunk,
                                          dc_chunk_location *out);

/*
 * Experimental. Whether tensor `index`'s chunks are cut on row boundaries
 * (dc_writer_options.chunk_rows, or by chance): sets *rows_per_chunk to R if
 * every chunk holds R whole rows (the last: the R or fewer left), so rows
 * [i, j) decode from chunks i / R .. (j - 1) / R alone, chunk c starting at
 * row c * R. Errors: DC_ERR_UNSUPPORTED (not cut on rows, or an empty
 * tensor; *rows_per_chunk = 0), DC_ERR_INVALID_ARGUMENT. O(chunks), no I/O.
 * Thread-safe.
 */
DC_API dc_status dc_reader_chunk_rows(const dc_reader *r, size_t index, uint64_t *rows_per_chunk);

/*
 * Experimental. Zero-copy access to a chunk stored raw (codec DC_CODEC_RAW:
 * its bytes are the tensor's bytes): sets *data to its first decoded byte
 * inside the file mapping (or the caller's memory of
 * dc_reader_open_memory) and *size to its decoded size, so an engine uses
 * the bytes in place, without a copy. The pointer stays valid until
 * dc_reader_close. The pointer is 64-byte aligned in files written since
 * 0.1.0 (container version 2 places a raw chunk's payload, not its 20-byte
 * header, on a 64-byte boundary; docs/format.md 6.2), and 4-byte aligned in
 * earlier files.
 * Nothing is verified: compare dc_checksum32(*data, *size) with
 * dc_chunk_location.checksum where that matters.
 * Errors: DC_ERR_UNSUPPORTED (the chunk is not stored raw, or the reader
 * has no mapping: DC_READER_NO_MMAP; *data = NULL), DC_ERR_INVALID_ARGUMENT.
 * Thread-safe.
 */
DC_API dc_status dc_reader_chunk_raw_view(const dc_reader *r, size_t index, size_t chunk,
                                          const void **data, size_t *size);
#endif /* DC_EXPERIMENTAL */

/*
 * Copies chunk `chunk` of tensor `index` (header included, as dc_reader_chunk
 * points at it) into dst, in every reader mode. *size receives its length
 * and *raw_size (may be NULL) its decoded size, also on DC_ERR_DST_TOO_SMALL
 * (dst_capacity < *size), so a caller can size its buffer. The copy is
 * caller-owned; nothing is checked (pass it to dc_chunk_decompress).
 * Errors: DC_ERR_INVALID_ARGUMENT, DC_ERR_DST_TOO_SMALL, and with
 * DC_READER_NO_MMAP DC_ERR_IO (errno set) or DC_ERR_TRUNCATED (the file is
 * now shorter than when it was opened). Thread-safe.
 */
DC_API dc_status dc_reader_read_chunk(const dc_reader *r, size_t index, size_t chunk, void *dst,
                                      size_t dst_capacity, size_t *size, size_t *raw_size);

/*
 * Decodes all of tensor `index` into dst (dst_capacity >= data_size) using
 * `threads` threads (0 or 1: the calling thread) and verifies every chunk.
 * Errors: those of dc_chunk_decompress, plus DC_ERR_SIZE_MISMATCH if a
 * chunk's header disagrees with the chunk index, and (DC_READER_NO_MMAP)
 * those of dc_reader_read_chunk. On error *failed_chunk
 * (may be NULL) receives the index, within the tensor, of a failing chunk.
 */
DC_API dc_status dc_reader_decode_tensor(const dc_reader *r, size_t index, void *dst,
                                         size_t dst_capacity, unsigned threads,
                                         size_t *failed_chunk);

#ifdef DC_EXPERIMENTAL
/* Experimental (DC_EXPERIMENTAL, symbol version DOUBLECOMP_EXPERIMENTAL):
 * may change or go in any release (see dc_common.h). */

/* One job of a parallel for: decode job number `job` on the caller's
 * thread number `worker` (0 <= worker < the n_workers the caller promised). */
typedef void (*dc_job_fn)(void *job_arg, size_t job, unsigned worker);

/*
 * The caller's "parallel for": calls job(job_arg, i, worker) once for every
 * i in [0, n_jobs), on any of its threads, in any order, and returns when
 * all n_jobs calls have returned. `worker` tells which thread runs a call:
 * two calls that may run at the same time must have different workers, and
 * every worker must be below the n_workers given with the call (e.g. ggml's
 * ith, or a pool thread's index). `pool` is the caller's own pointer,
 * passed through.
 */
typedef void (*dc_parallel_for_fn)(void *pool, size_t n_jobs, dc_job_fn job, void *job_arg);

/*
 * As dc_reader_decode_tensor, but on the caller's threads with the caller's
 * contexts: dctx[0 .. n_workers) (created with dc_dctx_create and owned by
 * the caller; dctx[w] is used only by jobs run as worker w, so no context is
 * used by two threads at once) and parallel_for(pool, ...), which runs one
 * job per chunk of the tensor. parallel_for NULL: the jobs run on the
 * calling thread, as worker 0. The library starts no thread and, with a
 * mapped reader, allocates O(chunks) bytes; with DC_READER_NO_MMAP also one
 * chunk buffer per worker. Every chunk is verified, as by
 * dc_reader_decode_tensor.
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL reader, dctx or a dctx[w], index
 * out of range, n_workers 0, a job run with worker >= n_workers, or a job
 * not run at all by parallel_for), DC_ERR_DST_TOO_SMALL,
 * DC_ERR_OUT_OF_MEMORY, and those of dc_reader_decode_tensor. On error
 * *failed_chunk (may be NULL) receives the lowest failing chunk's index
 * within the tensor, or n_chunks when the failure is not a chunk's (not
 * set when `r`, `index`, `dst`, `dctx` or n_workers is invalid).
 * Thread-safe: any number of calls may run at once on one reader, each
 * with its own contexts.
 */
DC_API dc_status dc_reader_decode_tensor_pool(const dc_reader *r, size_t index, void *dst,
                                              size_t dst_capacity, dc_dctx *const *dctx,
                                              unsigned n_workers, dc_parallel_for_fn parallel_for,
                                              void *pool, size_t *failed_chunk);
#endif /* DC_EXPERIMENTAL */

/* ========================================================================== */
/*                               Memory limits                                */
/* ========================================================================== */

/*
 * A .dcz file is small compared with what it decodes to: a run chunk of
 * 21 bytes may legally decode to DC_CHUNK_SIZE_MAX (64 MiB) bytes, and ANS
 * and zstd chunks of very skewed data come close. The reader itself never
 * allocates more than a small multiple of the file's table sizes (decoded
 * data goes to caller-owned buffers), but a program that allocates what a
 * file claims (a whole tensor, a whole model) can be driven to any amount of
 * memory by a file of a few KB: a "decompression bomb". Before allocating,
 * compare what you will hold with a limit: dc_reader_get_footprint() gives
 * what a file claims, dc_memory_limit_default() the limit the library's own
 * tools apply unless the user raises it (dcz and dc-llama: --max-memory
 * BYTES or the environment variable DC_MAX_MEMORY; see docs/guide.md).
 */

/* What a file claims, for checking against a memory limit. */
typedef struct dc_reader_footprint {
    size_t struct_size;      /* set to sizeof(dc_reader_footprint) before the call */
    uint64_t file_size;      /* bytes of the file (or of the memory region) */
    uint64_t decoded_size;   /* sum of data_size over all tensors */
    uint64_t largest_tensor; /* the largest data_size of one tensor (0 if none) */
    uint64_t largest_chunk;  /* the largest decoded size of one chunk (0 if none) */
    /* Since 0.1.0: the largest stored size of one chunk, header included (0 if
     * none): the buffer an engine that reads chunks itself (dc_reader_read_chunk,
     * pread) needs, as largest_chunk is the one it decodes into. */
    uint64_t largest_stored_chunk;
} dc_reader_footprint;

/*
 * Fills *out (the caller sets out->struct_size; only that many bytes are
 * written) with what the open file claims. The values come from the
 * validated tables, so they are consistent with the file: every chunk's
 * decoded size is at most DC_CHUNK_SIZE_MAX and possible for its codec
 * (a raw chunk holds its bytes, a run chunk one byte, LZ4 at most 255
 * bytes per payload byte; DC_ERR_CORRUPT at open otherwise), but they are
 * not bounded by the file size. Errors: DC_ERR_INVALID_ARGUMENT (NULL, or
 * struct_size too small). Thread-safe.
 */
DC_API dc_status dc_reader_get_footprint(const dc_reader *r, dc_reader_footprint *out);

/* The slack of the default memory limit (bytes). */
#define DC_MEMORY_LIMIT_SLACK ((uint64_t)48 << 20)

/*
 * The default memory limit for decoding an input of input_size bytes:
 * 4 * input_size + DC_MEMORY_LIMIT_SLACK (48 MiB), saturating at
 * UINT64_MAX. The library's tools refuse (DC_ERR_LIMIT) to hold more
 * decoded data than this unless the user raises the limit; with the
 * program's own few MiB the peak RSS stays under 4 x input + 64 MiB.
 * Real quantized weights compress about 1.3x, so only files that decode to
 * more than 4x their size (mostly constant data, or bombs) need a raised
 * limit. Pure function, thread-safe.
 */
DC_API uint64_t dc_memory_limit_default(uint64_t input_size);

#ifdef __cplusplus
}
#endif
#endif /* DOUBLECOMP_DC_CONTAINER_H */
