/*
 * dc_planner.h -- libdoublecomp: speed-adaptive partial compression planner.
 *
 * Decides which chunks of a model stay compressed in memory (and are decoded
 * into a decode buffer each inference step) and which are kept raw, trading
 * resident memory against per-step latency. The planner holds a model of
 * one inference step:
 *   - the chunks (raw size S, compressed size Sc, the tier they are read from,
 *     a caller label such as the tensor or layer), in execution order;
 *   - the bandwidth B of every tier used (storage, host RAM -> device,
 *     device memory), in bytes per second;
 *   - the decode throughput curve D(S) (raw bytes per second by chunk size),
 *     given by the caller or measured on this host with the real codec;
 *   - the compute rate I at which inference consumes weight bytes.
 * Per chunk: load = Sc/B if compressed, S/B if raw; decode = S/D(S) if
 * compressed, 0 if raw; compute = S/I. Step latency is the sum over chunks of
 * load + decode + compute (DC_LATENCY_SEQUENTIAL) or of
 * max(load, decode, compute) (DC_LATENCY_PIPELINED). Resident memory is the
 * sum of Sc over compressed chunks and S over raw chunks, plus
 * decode_buffers x the largest raw size among compressed chunks. The exact
 * formulas, the solvers and their guarantees are in docs/planner.md.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DOUBLECOMP_DC_PLANNER_H
#define DOUBLECOMP_DC_PLANNER_H

#include "dc_common.h"
#include "dc_codec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where a chunk is read from each step; values never renumber. */
typedef enum dc_tier {
    DC_TIER_STORAGE = 0, /* storage (SSD, network) to the compute device */
    DC_TIER_HOST = 1,    /* host RAM to the compute device */
    DC_TIER_DEVICE = 2   /* the device's own memory */
} dc_tier;
#define DC_TIER_COUNT 3

/* How the three costs of a chunk combine; values never renumber. */
typedef enum dc_latency_mode {
    DC_LATENCY_SEQUENTIAL = 0, /* sum over chunks of load + decode + compute */
    DC_LATENCY_PIPELINED = 1,  /* sum over chunks of max(load, decode, compute) */
    /* An engine whose decode threads (and, for streamed chunks, reader
     * threads) work ahead of one compute thread through a ring of
     * decode_buffers slots: a step takes as long as its busiest resource,
     * max(storage reads, decoding / decode_threads, compute thread,
     * (decoding + compute + read cost) / cores) (docs/planner.md, "Threaded
     * engines"; the read cost is 0 unless dc_planner_set_read_cost sets it). */
    DC_LATENCY_THREADED = 2
} dc_latency_mode;

/* Values of a decision byte (dc_planner_predict, dc_planner_plan); values
 * never renumber. 0 and 1 are the only values of plans without streaming. */
#define DC_PLACE_RAW        0 /* resident as raw bytes */
#define DC_PLACE_COMPRESSED 1 /* resident compressed, decoded every step */
/* Not resident: read as stored (its compressed size) from storage, tier
 * DC_TIER_STORAGE, every step, then decoded (copied, if it is not smaller
 * than raw). */
#define DC_PLACE_STREAMED 2

/* What dc_planner_plan() optimises; values never renumber. */
typedef enum dc_plan_policy {
    /* The paper's rule: chunks are cut into blocks of every_n consecutive
     * chunks (in the order added) and the last chunk of every complete
     * block is compressed; the budget is not used. */
    DC_PLAN_EVERY_N = 0,
    /* Minimise memory subject to latency <= budget x (all-raw latency). */
    DC_PLAN_LATENCY_FACTOR = 1,
    /* Minimise memory subject to latency <= budget seconds. */
    DC_PLAN_LATENCY_SECONDS = 2,
    /* Minimise latency subject to memory <= budget bytes. */
    DC_PLAN_MEMORY_BYTES = 3
} dc_plan_policy;

/* Most points a decode curve may have. */
#define DC_PLANNER_MAX_CURVE_POINTS 64
/* Most decode buffers dc_planner_options.decode_buffers may ask for. */
#define DC_PLANNER_MAX_DECODE_BUFFERS 64
/* Most read buffers dc_planner_options.read_buffers may ask for. */
#define DC_PLANNER_MAX_READ_BUFFERS 4096

/* Options of dc_planner_create(); same conventions as dc_compress_options. */
typedef struct dc_planner_options {
    size_t struct_size;
    const dc_allocator *allocator; /* NULL = malloc/free */
    /* Decode buffers counted in resident memory, each the size of the
     * largest compressed chunk's raw size: 1 (0 = default) for an engine
     * that decodes, then computes; 2 for one that decodes the next chunk
     * while computing on the current one. At most
     * DC_PLANNER_MAX_DECODE_BUFFERS. */
    size_t decode_buffers;
    /* DC_LATENCY_THREADED: threads that decode (0 = 1), and CPU cores they
     * share with the compute thread (0 = decode_threads + 1). */
    size_t decode_threads;
    size_t cores;
    /* Read buffers counted in memory when some chunk streams
     * (DC_PLACE_STREAMED; docs/planner.md): 0 = decode_buffers; at most
     * DC_PLANNER_MAX_READ_BUFFERS. */
    size_t read_buffers;
} dc_planner_options;

/* Opaque planner: the model of one inference step. */
typedef struct dc_planner dc_planner;

/*
 * Creates an empty planner (no chunks, no bandwidths, no decode curve, no
 * compute rate). `options` may be NULL. On success *out receives the planner,
 * owned by the caller and freed with dc_planner_free().
 * Errors: DC_ERR_INVALID_ARGUMENT (out NULL, bad struct_size, incomplete
 * allocator), DC_ERR_UNSUPPORTED (options from a newer header with nonzero
 * unknown fields), DC_ERR_RANGE (decode_buffers or read_buffers too large),
 * DC_ERR_OUT_OF_MEMORY.
 * A planner must not be modified by one thread while another thread uses it;
 * dc_planner_predict(), dc_planner_plan() and the getters only read it, so
 * any number of threads may call them at once on an unmodified planner.
 */
DC_API dc_status dc_planner_create(const dc_planner_options *options, dc_planner **out);

/* Frees a planner and everything it owns. NULL is a no-op. */
DC_API void dc_planner_free(dc_planner *p);

/*
 * Appends a chunk (chunks are costed and indexed in the order added).
 * raw_size S >= 1 and compressed_size Sc >= 1 are bytes; Sc may exceed S (the
 * chunk then never pays to compress). group_id is the caller's label (tensor,
 * layer); the planner only stores it. If `index` is not NULL it receives the
 * chunk's index. The sum of all raw sizes must stay below 2^53 so every size
 * is exact in a double.
 * Errors: DC_ERR_INVALID_ARGUMENT (p NULL, unknown tier), DC_ERR_RANGE (a size
 * 0, or the total raw size reaching 2^53), DC_ERR_OUT_OF_MEMORY (the planner
 * is unchanged). Modifies p (see dc_planner_create for threads).
 */
DC_API dc_status dc_planner_add_chunk(dc_planner *p, uint64_t raw_size, uint64_t compressed_size,
                                      dc_tier tier, uint32_t group_id, size_t *index);

/* Number of chunks added so far (0 for NULL). Reads p only. */
DC_API size_t dc_planner_chunk_count(const dc_planner *p);

/*
 * Reads back chunk `index` as added; any out-pointer may be NULL.
 * Errors: DC_ERR_INVALID_ARGUMENT (p NULL), DC_ERR_RANGE (index >= count).
 * Reads p only.
 */
DC_API dc_status dc_planner_get_chunk(const dc_planner *p, size_t index, uint64_t *raw_size,
                                      uint64_t *compressed_size, dc_tier *tier, uint32_t *group_id);

/*
 * Sets the bandwidth (bytes per second) at which chunks of `tier` reach the
 * compute device; for a tier that is crossed in several hops, give the
 * effective end-to-end bandwidth. Required for every tier a chunk uses.
 * Errors: DC_ERR_INVALID_ARGUMENT (p NULL, unknown tier), DC_ERR_NOT_FINITE
 * (NaN, infinite), DC_ERR_RANGE (<= 0). Modifies p.
 */
DC_API dc_status dc_planner_set_tier_bandwidth(dc_planner *p, dc_tier tier, double bytes_per_s);

/*
 * Sets the compute rate I: weight bytes consumed per second by inference.
 * Required. Errors as dc_planner_set_tier_bandwidth(). Modifies p.
 */
DC_API dc_status dc_planner_set_compute_rate(dc_planner *p, double bytes_per_s);

#ifdef DC_EXPERIMENTAL
/* Experimental (DC_EXPERIMENTAL, symbol version DOUBLECOMP_EXPERIMENTAL):
 * Sets what reading from storage costs the cores that decode and compute,
 * in core-seconds per byte read: DC_LATENCY_THREADED then takes a step as at
 * least (decoding + compute + seconds_per_byte x bytes streamed) / cores.
 * 0 (the default) means reads are free (a DMA-driven local SSD); reads
 * through encryption (dm-crypt), a network file system, a compressing file
 * system, or a virtual disk emulated on the same host cores are not. Measure
 * it, for instance, from one all-streamed run: cores x step - decoding -
 * compute, over the bytes read. Errors: DC_ERR_INVALID_ARGUMENT (p NULL),
 * DC_ERR_NOT_FINITE (NaN, infinite), DC_ERR_RANGE (< 0). Modifies p. */
DC_API dc_status dc_planner_set_read_cost(dc_planner *p, double seconds_per_byte);
#endif /* DC_EXPERIMENTAL */

/*
 * Sets the decode throughput curve from the caller's numbers: at raw chunk
 * size sizes[k] the decoder produces bytes_per_s[k] raw bytes per second.
 * 1 <= n <= DC_PLANNER_MAX_CURVE_POINTS; sizes strictly increasing and >= 1;
 * every throughput finite and > 0 (the curve need not be monotone). Between
 * points D is interpolated linearly in log(size); outside it is clamped to
 * the first or last point. The arrays are copied; a previous curve (given or
 * measured) is replaced. On error p is unchanged.
 * Errors: DC_ERR_INVALID_ARGUMENT (p, sizes or bytes_per_s NULL; sizes not
 * strictly increasing), DC_ERR_RANGE (n out of range, a size 0, a
 * throughput <= 0), DC_ERR_NOT_FINITE. Modifies p.
 */
DC_API dc_status dc_planner_set_decode_curve(dc_planner *p, const size_t *sizes,
                                             const double *bytes_per_s, size_t n);

/*
 * Copies the current decode curve out: *n receives the number of points
 * (0 if none is set); up to `capacity` points are written to sizes and
 * bytes_per_s (which may be NULL when capacity is 0).
 * Errors: DC_ERR_INVALID_ARGUMENT (p or n NULL, arrays NULL with capacity >
 * 0). Reads p only.
 */
DC_API dc_status dc_planner_get_decode_curve(const dc_planner *p, size_t *sizes,
                                             double *bytes_per_s, size_t capacity, size_t *n);

/* Options of dc_planner_measure_decode(); same conventions as
 * dc_compress_options. */
typedef struct dc_planner_measure_options {
    size_t struct_size;
    /* Chunk sizes to measure, strictly increasing, each in
     * [DC_CHUNK_SIZE_MIN, DC_CHUNK_SIZE_MAX] and <= the sample size;
     * NULL = those of 4, 16, 64, 256 KiB and 1 MiB that fit the sample. */
    const size_t *sizes;
    size_t n_sizes;     /* entries in sizes (ignored when sizes is NULL) */
    dc_codec codec;     /* 0 = DC_CODEC_ANS */
    dc_simd simd;       /* decoder path; 0 = DC_SIMD_AUTO */
    double min_seconds; /* decode time per size, (0, 10]; 0 = 0.02 */
} dc_planner_measure_options;

/*
 * Measures the decode throughput curve on this host and installs it (as
 * dc_planner_set_decode_curve would). For every size s, sample[0..s) is
 * coded as one chunk with dc_chunk_compress() and decoded with
 * dc_chunk_decompress() (checksum verified) repeatedly, for at least
 * min_seconds and 3 decodes; D(s) = s x decodes / elapsed wall time
 * (monotonic clock). `sample` should be representative weights (its
 * compressibility drives decode speed); sample NULL with sample_size 0 uses
 * a built-in synthetic sample (Laplace-distributed INT8, about 4.5
 * bits/byte) of the largest size measured. The result is D of one thread
 * of this CPU with libdoublecomp's decoder; engines decoding elsewhere
 * (a GPU) should set their own curve. Takes about n_sizes x min_seconds.
 * On error p is unchanged.
 * Errors: DC_ERR_INVALID_ARGUMENT (p NULL, sample NULL with sample_size > 0,
 * sizes not increasing, bad options), DC_ERR_RANGE (a size outside its
 * range or larger than the sample, no default size fits, n_sizes 0 or above
 * DC_PLANNER_MAX_CURVE_POINTS, min_seconds out of range),
 * DC_ERR_NOT_FINITE (min_seconds NaN), DC_ERR_UNSUPPORTED (codec or SIMD
 * path not available), DC_ERR_OUT_OF_MEMORY, DC_ERR_CODEC, and any error of
 * the codec round trip. Modifies p.
 */
DC_API dc_status dc_planner_measure_decode(dc_planner *p, const void *sample, size_t sample_size,
                                           const dc_planner_measure_options *options);

/*
 * Predicts one step of a given plan: decisions[i] is DC_PLACE_COMPRESSED (1)
 * if chunk i is kept compressed, DC_PLACE_RAW (0) if raw, DC_PLACE_STREAMED
 * (2) if read from storage every step (decisions NULL = all raw). Any
 * out-pointer may be NULL. *latency_s gets the step latency in `mode`,
 * *memory_bytes the resident memory including the decode buffers and, when
 * a chunk streams, the read buffers (formulas in the header comment and
 * docs/planner.md). The sum runs over chunks in the order added.
 * Errors: DC_ERR_INVALID_ARGUMENT (p NULL, unknown mode, a decision above
 * 2, a tier bandwidth (DC_TIER_STORAGE's for streamed chunks) or the
 * compute rate not set, no decode curve while some chunk is decoded). Reads
 * p only.
 */
DC_API dc_status dc_planner_predict(const dc_planner *p, const uint8_t *decisions,
                                    dc_latency_mode mode, double *latency_s,
                                    uint64_t *memory_bytes);

/* What to plan; same conventions as dc_compress_options (set struct_size). */
typedef struct dc_plan_request {
    size_t struct_size;
    dc_plan_policy policy; /* 0 = DC_PLAN_EVERY_N */
    dc_latency_mode mode;  /* latency model; 0 = sequential */
    /* LATENCY_FACTOR: factor on the all-raw latency (e.g. 1.05);
     * LATENCY_SECONDS: seconds per step; MEMORY_BYTES: bytes (rounded down).
     * Must be finite and > 0. Not used by EVERY_N. */
    double budget;
    size_t every_n; /* EVERY_N: block length N >= 1; 0 = 5 (1/5 compressed) */
    /* Budget policies in DC_LATENCY_THREADED mode only: nonzero lets the plan
     * stream chunks (DC_PLACE_STREAMED) from storage; DC_TIER_STORAGE's
     * bandwidth must be set. */
    int allow_streaming;
} dc_plan_request;

/* The outcome of dc_planner_plan() (set struct_size; only that many bytes
 * are written). */
typedef struct dc_plan_result {
    size_t struct_size;
    double latency_s;             /* predicted step latency (request mode) */
    uint64_t memory_bytes;        /* resident bytes incl. decode buffers */
    uint64_t decode_buffer_bytes; /* the decode buffers' part of memory_bytes */
    size_t compressed_chunks;     /* number of decisions equal to 1 */
    double raw_latency_s;         /* the all-raw plan's latency, same mode */
    uint64_t raw_memory_bytes;    /* the all-raw plan's memory (sum of S) */
    double budget;                /* the budget in seconds or bytes; 0 for EVERY_N */
    /* Certificate from the fractional (LP) relaxation: for the latency
     * policies a lower bound on the memory of ANY plan meeting the budget,
     * for MEMORY_BYTES a lower bound on the latency of any plan meeting the
     * budget; 0 for EVERY_N. The plan is within (value - bound) of optimal. */
    double bound;
    size_t streamed_chunks;     /* decisions equal to DC_PLACE_STREAMED */
    uint64_t read_buffer_bytes; /* the read buffers' part of memory_bytes */
} dc_plan_result;

/*
 * Chooses which chunks stay compressed. decisions (caller-owned, one byte
 * per chunk, written only on success) receives 1 for compressed, 0 for raw
 * (and 2 for streamed, with allow_streaming);
 * it may be NULL when there are no chunks. `result` may be NULL.
 * The budget policies take every chunk whose compression lowers both memory
 * and latency, then solve the remaining 0/1 knapsack greedily by saved
 * bytes per added second, once for every possible decode-buffer size; the
 * plan's memory is at most the optimum's plus the largest single-chunk
 * saving (S - Sc), and its latency for MEMORY_BYTES at most the optimum's
 * plus the largest single-chunk added latency (docs/planner.md proves both
 * and describes the tie rules). Latency budgets are met up to a relative
 * tolerance of 1e-9. The plan's memory is non-increasing as a latency budget
 * grows, and its latency non-increasing as a memory budget grows. Deterministic.
 * Errors: DC_ERR_INVALID_ARGUMENT (p or request NULL, bad struct_size,
 * unknown policy or mode, decisions NULL with chunks, a bandwidth, the
 * compute rate or the decode curve not set), DC_ERR_NOT_FINITE (budget NaN
 * or infinite), DC_ERR_RANGE (budget <= 0), DC_ERR_INFEASIBLE (no plan meets
 * the budget: the latency budget is below the fastest plan's latency, or the
 * memory budget below the smallest plan's memory), DC_ERR_OUT_OF_MEMORY.
 * Reads p only; its scratch memory comes from the planner's allocator, which
 * must then be thread-safe for concurrent calls.
 *
 * In DC_LATENCY_THREADED mode the step is a maximum over resources, not a
 * sum over chunks, so the knapsack above does not apply: the budget
 * policies search how the budget is split between raw and compressed
 * chunks (and, with allow_streaming, which stream), spreading each kind
 * evenly over the execution order so the threads stay busy
 * (docs/planner.md, "Threaded engines"); result->bound is 0 there (no
 * certificate). Errors as above, plus DC_ERR_INVALID_ARGUMENT for
 * allow_streaming in another mode or without DC_TIER_STORAGE's bandwidth.
 */
DC_API dc_status dc_planner_plan(const dc_planner *p, const dc_plan_request *request,
                                 dc_plan_result *result, uint8_t *decisions);

#ifdef __cplusplus
}
#endif
#endif /* DOUBLECOMP_DC_PLANNER_H */
