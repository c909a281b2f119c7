/*
 * dc_codec.h -- libdoublecomp: the chunked entropy codec.
 *
 * Data (typically INT8 weights) is cut into chunks; every chunk is coded on
 * its own and carries a small self-describing header (codec tag, raw size,
 * payload size, checksum of the decoded bytes), so any chunk decodes alone
 * into a caller-owned buffer with dc_chunk_decompress(). The byte format is
 * specified in docs/format.md.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DOUBLECOMP_DC_CODEC_H
#define DOUBLECOMP_DC_CODEC_H

#include "dc_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ========================================================================== */
/*                              Codecs and limits                             */
/* ========================================================================== */

/*
 * The codec a compressor uses for its chunks. DC_CODEC_ANS is the library's
 * own order-0 rANS coder (4 to 128 interleaved states by chunk size,
 * 12- or 13-bit probabilities, sent coarser in small chunks; docs/format.md); zstd
 * and lz4 are offered behind the same chunk API for comparison.
 * DC_CODEC_FLOAT codes IEEE floats losslessly (bit-exact): the chunk is read
 * as elements of `level` bytes (2: BF16 or F16, the default; 4: F32; 1: not
 * floats, plain ANS), split into byte planes (optionally after rotating each
 * element left by one bit, so that the BF16/F32 exponent fills one byte), and
 * each plane is ANS-coded, zstd-coded (a plane that repeats itself; such
 * chunks encode slowly, at zstd level 19) or stored; a chunk whose size is
 * not a multiple of the element size keeps its last bytes as they are.
 * Whatever the
 * codec, a chunk whose coded form would not be smaller is stored raw, and a
 * chunk of one repeated byte is stored as a run. Values never renumber.
 */
typedef enum dc_codec {
    DC_CODEC_DEFAULT = 0, /* = DC_CODEC_ANS */
    DC_CODEC_ANS = 1,
    DC_CODEC_ZSTD = 2,
    DC_CODEC_LZ4 = 3,
    DC_CODEC_RAW = 4,
    DC_CODEC_RUN = 5,  /* reported by dc_chunk_info only: one byte repeated */
    DC_CODEC_FLOAT = 6 /* lossless IEEE floats as ANS-coded byte planes (added in 0.1.0) */
} dc_codec;

/*
 * Decoder implementations. DC_SIMD_AUTO picks the fastest on this CPU (see
 * dc_simd_best); the others force one path (all produce identical output;
 * forcing exists for tests and benchmarks). The *_SWGATHER paths use the same
 * vector arithmetic but look the decode table up with scalar loads instead of
 * hardware gather instructions, which are slow on some CPUs (and microcode
 * mitigations). Values never renumber.
 */
typedef enum dc_simd {
    DC_SIMD_AUTO = 0,
    DC_SIMD_SCALAR = 1,
    DC_SIMD_AVX2 = 2,
    DC_SIMD_AVX512 = 3,          /* AVX-512 F+BW+VL+VBMI2 */
    DC_SIMD_AVX2_SWGATHER = 4,   /* AVX2, table lookups by scalar loads */
    DC_SIMD_AVX512_SWGATHER = 5, /* AVX-512, table lookups by scalar loads */
    DC_SIMD_NEON = 6             /* AArch64 Advanced SIMD (format v2 chunks; v1: scalar) */
} dc_simd;

/* Default chunk size, chosen by measurement (see bench/README.md). */
#define DC_CHUNK_SIZE_DEFAULT ((size_t)256 * 1024)
/* Smallest and largest accepted chunk size (raw bytes per chunk). */
#define DC_CHUNK_SIZE_MIN ((size_t)1024)
#define DC_CHUNK_SIZE_MAX ((size_t)64 * 1024 * 1024)
/* Size of the header that starts every chunk. */
#define DC_CHUNK_HEADER_SIZE 20

/*
 * Returns 1 if the running CPU (and OS) supports decoder path `simd`, else 0.
 * DC_SIMD_AUTO and DC_SIMD_SCALAR always return 1. Thread-safe.
 */
DC_API int dc_simd_supported(dc_simd simd);

/*
 * The path DC_SIMD_AUTO resolves to on this CPU. Which vector path decodes
 * fastest depends on the CPU model and its microcode (gather speed above all),
 * so the first call times every supported path on a built-in 192 KiB sample
 * (about 2 ms) and keeps the fastest for the life of the process; later calls
 * return it at once. Setting the environment variable DC_SIMD to a path name
 * ("scalar", "avx2", "avx512", "avx2-swgather", "avx512-swgather", "neon") before the
 * first call skips the measurement and forces that path if supported.
 * Thread-safe (concurrent first calls agree on one result).
 */
DC_API dc_simd dc_simd_best(void);

/* Static name of a path ("scalar", "avx2", "avx512", "avx2-swgather",
 * "avx512-swgather", "neon"; "auto"; "unknown"). */
DC_API const char *dc_simd_name(dc_simd simd);

/* Static name of a codec ("ans", "zstd", "lz4", "raw", "run", "float"; "unknown"). */
DC_API const char *dc_codec_name(dc_codec codec);

/*
 * Returns 1 if this build of the library can compress and decompress with
 * `codec`, else 0. ANS, raw and run (and DC_CODEC_DEFAULT) always can; zstd
 * and lz4 are optional at build time (CMake DC_WITH_ZSTD / DC_WITH_LZ4).
 * Without one, dc_cctx_create refuses it and decoding one of its chunks
 * gives DC_ERR_UNSUPPORTED. Unknown values give 0. Pure, thread-safe.
 */
DC_API int dc_codec_supported(dc_codec codec);

/* ========================================================================== */
/*                                 Compression                                */
/* ========================================================================== */

/*
 * Options of a compression context. Zero-initialise, then set
 * struct_size = sizeof(dc_compress_options); fields left 0 take defaults.
 * Fields are only ever appended, so a program built against an older header
 * keeps working (the library reads only struct_size bytes).
 */
typedef struct dc_compress_options {
    size_t struct_size;
    dc_codec codec;    /* 0 = DC_CODEC_ANS */
    int level;         /* zstd: 1..22 (0 = 3); lz4: 0 = fast, 1..12 = HC level; float: element
                        * bytes, 1, 2 or 4 (0 = 2); ANS: unused */
    size_t chunk_size; /* raw bytes per chunk, DC_CHUNK_SIZE_MIN..MAX (0 = default) */
    const dc_allocator *allocator; /* NULL = malloc/free */
} dc_compress_options;

/* Opaque compression context (holds scratch memory and codec state). */
typedef struct dc_cctx dc_cctx;

/*
 * Creates a compression context. `options` may be NULL for the defaults.
 * On success stores the context in *out (free it with dc_cctx_free).
 * Errors: DC_ERR_INVALID_ARGUMENT (out NULL, bad struct_size, unknown codec,
 * incomplete allocator), DC_ERR_RANGE (chunk_size or level out of range),
 * DC_ERR_UNSUPPORTED (codec not compiled in), DC_ERR_OUT_OF_MEMORY.
 * A context must not be used by two threads at once; different threads may
 * use different contexts concurrently.
 */
DC_API dc_status dc_cctx_create(const dc_compress_options *options, dc_cctx **out);

/* Frees a context and everything it owns. NULL is a no-op. */
DC_API void dc_cctx_free(dc_cctx *cctx);

/*
 * Upper bound on the output of dc_compress() for `src_size` input bytes with
 * any chunk size >= DC_CHUNK_SIZE_MIN, and of dc_chunk_compress() for a chunk
 * of that size. Returns 0 if the bound would overflow size_t.
 */
DC_API size_t dc_compress_bound(size_t src_size);

/*
 * Compresses src[0..src_size) into a sequence of independently decodable
 * chunks of the context's chunk size (the last may be shorter; src_size 0
 * gives an empty output). `cctx` may be NULL: a temporary default context is
 * used (slower for repeated calls). On success *dst_size receives the bytes
 * written. A dst_capacity of dc_compress_bound(src_size) always suffices.
 * Errors: DC_ERR_INVALID_ARGUMENT (NULL pointers with nonzero sizes),
 * DC_ERR_DST_TOO_SMALL, DC_ERR_OUT_OF_MEMORY, DC_ERR_CODEC.
 */
DC_API dc_status dc_compress(dc_cctx *cctx, const void *src, size_t src_size, void *dst,
                             size_t dst_capacity, size_t *dst_size);

/*
 * Compresses src[0..src_size) as exactly one chunk, whatever the context's
 * chunk size; src_size may be 0 and at most DC_CHUNK_SIZE_MAX (else
 * DC_ERR_RANGE). Otherwise as dc_compress().
 */
DC_API dc_status dc_chunk_compress(dc_cctx *cctx, const void *src, size_t src_size, void *dst,
                                   size_t dst_capacity, size_t *dst_size);

/* ========================================================================== */
/*                                Decompression                               */
/* ========================================================================== */

/* Options of a decompression context; same conventions as dc_compress_options. */
typedef struct dc_decompress_options {
    size_t struct_size;
    dc_simd simd;                  /* 0 = DC_SIMD_AUTO */
    const dc_allocator *allocator; /* NULL = malloc/free */
    /* dc_decompress() only: decode the chunks of one call on this many threads
     * (0 or 1 = the calling thread alone; at most 64). Added in 0.1.0: older
     * callers' smaller struct_size leaves it 0. */
    unsigned threads;
} dc_decompress_options;

/* Opaque decompression context (decode table scratch, zstd state). */
typedef struct dc_dctx dc_dctx;

/*
 * Creates a decompression context; `options` may be NULL. Errors:
 * DC_ERR_INVALID_ARGUMENT, DC_ERR_UNSUPPORTED (the forced SIMD path is not
 * supported by this CPU), DC_ERR_OUT_OF_MEMORY. One context per thread: a
 * context must not be used by two threads at once.
 */
DC_API dc_status dc_dctx_create(const dc_decompress_options *options, dc_dctx **out);

/* Frees a decompression context. NULL is a no-op. */
DC_API void dc_dctx_free(dc_dctx *dctx);

/*
 * Reads the header of the chunk at the start of src without decoding it.
 * Any out-pointer may be NULL. *chunk_bytes: header + payload, i.e. the
 * offset of the next chunk; *raw_size: decoded size; *codec: how it is coded.
 * Errors: DC_ERR_TRUNCATED (src shorter than the header or than the chunk it
 * announces), DC_ERR_CORRUPT (bad magic or header fields),
 * DC_ERR_UNSUPPORTED (newer format version or unknown codec tag).
 * Thread-safe (reads only src).
 */
DC_API dc_status dc_chunk_info(const void *src, size_t src_size, size_t *chunk_bytes,
                               size_t *raw_size, dc_codec *codec);

/*
 * Decodes the one chunk at the start of src (src_size may exceed the chunk;
 * the rest is ignored) into the caller-owned dst, and verifies its checksum.
 * On success *written = the chunk's raw size. `dctx` may be NULL: the auto
 * SIMD path and a temporary zstd state are used; no state is shared, so any
 * number of threads may decode different (or the same) chunks at once with
 * NULL or with one context each.
 * Errors: DC_ERR_INVALID_ARGUMENT, DC_ERR_TRUNCATED, DC_ERR_CORRUPT,
 * DC_ERR_UNSUPPORTED (newer format, or a zstd/lz4 chunk in a build without
 * that codec: dc_codec_supported), DC_ERR_DST_TOO_SMALL (dst_capacity < raw
 * size; nothing is written), DC_ERR_CHECKSUM, DC_ERR_OUT_OF_MEMORY. On error the contents
 * of dst are unspecified (but nothing outside dst[0..dst_capacity) is written).
 */
DC_API dc_status dc_chunk_decompress(dc_dctx *dctx, const void *src, size_t src_size, void *dst,
                                     size_t dst_capacity, size_t *written);

/*
 * Total decoded size of a sequence of chunks (as written by dc_compress),
 * walking the headers only. Errors as dc_chunk_info().
 */
DC_API dc_status dc_decompressed_size(const void *src, size_t src_size, size_t *size);

/*
 * Decodes a whole sequence of chunks (as written by dc_compress) into dst.
 * src_size must be exactly the sequence's size. With a context created with
 * options.threads = T > 1, the chunks are shared out among T threads (the
 * calling one and T - 1 started for the call, each with its own decoding
 * state); the output is the same. Errors as dc_chunk_decompress() (the first
 * failing chunk's), plus DC_ERR_OUT_OF_MEMORY if the per-thread state cannot
 * be allocated; thread safety as dc_chunk_decompress().
 */
DC_API dc_status dc_decompress(dc_dctx *dctx, const void *src, size_t src_size, void *dst,
                               size_t dst_capacity, size_t *written);

/*
 * The checksum stored in chunk headers ("DC32", specified in docs/format.md)
 * of data[0..size). Exposed so hosts can verify decoded data themselves.
 * Thread-safe.
 */
DC_API uint32_t dc_checksum32(const void *data, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* DOUBLECOMP_DC_CODEC_H */
