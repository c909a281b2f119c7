/*
 * plan.h -- dc-llama: run a .dcz model under a partial-compression plan,
 * decoding weights just in time.
 *
 * Every chunk of every linear weight (as stored in the .dcz, 256 KiB raw by
 * default) is either kept resident as raw INT8 bytes (decoded once at load)
 * or kept resident compressed (its chunk bytes copied out of the file) and
 * decoded right before the linear that needs it, one chunk at a time, into
 * one reusable decode buffer (the largest compressed chunk's raw size). The
 * file mapping is released as it is read and closed after loading, so the
 * process's resident memory reflects the plan.
 *
 * With a storage tier (el_plan_opts.storage) a chunk may also be streamed:
 * not resident at all, read from the .dcz file every step (O_DIRECT where
 * the file system allows it, else buffered reads dropped from the page
 * cache; feed.h) and decoded. The file is dropped from the page cache after
 * loading, so every run starts cold.
 *
 * Which chunks stay compressed (or stream) comes from libdoublecomp's
 * planner (dc_planner.h): each linear-weight chunk is added in execution
 * order (tier DC_TIER_HOST), with the host's memcpy bandwidth, a compute
 * rate (measured, or given), a decode curve (measured with
 * dc_planner_measure_decode on the model's own weights, or given) and, with
 * a storage tier, the storage bandwidth (measured by reading the file's
 * chunks as the feed does, or given). With threads = 0 (and no prefetch,
 * no storage) the engine decodes, then computes, on one thread: the
 * planner's sequential model. Otherwise `threads` decoder threads (and
 * io_threads reader threads for streamed chunks) work through the
 * compressed and streamed chunks in execution order into a ring of
 * `prefetch` buffers, ahead of the compute (feed.h), and the plan uses the
 * planner's threaded model.
 *
 * The linears of a planned model multiply INT8 weights by INT8 activations
 * with exact int32 accumulation (AVX2 when the CPU has it), chunk by chunk.
 * Integer sums do not depend on how the weight is cut, so every plan gives
 * bit-identical logits; and since the float path (el_linear_apply on
 * integer-valued floats) is exact whenever in * 127 * 127 < 2^24, a planned
 * model gives the same logits as the unplanned one for such models
 * (stories260K).
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DC_ENGINE_PLAN_H
#define DC_ENGINE_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef enum el_plan_kind {
    EL_PLAN_ALL_RESIDENT = 0, /* every chunk raw (INT8 resident) */
    EL_PLAN_ALL_COMPRESSED,   /* every chunk compressed */
    EL_PLAN_EVERY_N,          /* the paper's rule: last chunk of every block of N */
    EL_PLAN_LATENCY,          /* least memory with latency <= budget x all-resident */
    EL_PLAN_MEMORY,           /* least latency with memory <= budget bytes */
    EL_PLAN_ALL_STREAMED      /* every chunk read from the file every step (storage) */
} el_plan_kind;

typedef struct el_plan_opts {
    el_plan_kind kind;
    double budget;       /* EL_PLAN_LATENCY: factor; EL_PLAN_MEMORY: bytes */
    double budget_frac;  /* EL_PLAN_MEMORY given as a fraction of INT8 (0: bytes) */
    int every_n;         /* EL_PLAN_EVERY_N */
    double compute_rate; /* I in weight bytes/s; 0 = measure (kernel probe) */
    double host_bw;      /* B of host RAM in bytes/s; 0 = measure (memcpy) */
    double decode_rate;  /* flat decode curve D in raw bytes/s; 0 = measure */
    /* ring buffers the decoder threads fill ahead of the compute (0 = 8, or
     * 16 with storage); given >= 2 with threads 0, one decoder thread */
    int prefetch;
    int read_ahead;    /* read buffers for streamed chunks (0 = 96) */
    int threads;       /* decoder threads; 0 = decode on the compute thread */
    int io_threads;    /* reader threads for streamed chunks (0 = 8) */
    int storage;       /* chunks may stream from the file (a storage tier) */
    double storage_bw; /* storage bandwidth in stored bytes/s; 0 = measure */
    double read_cost;  /* core-seconds the cores spend per byte read (planner); 0 = free */
    int verbose;       /* print the plan to stderr */
} el_plan_opts;

/* What a plan looks like and how it ran (counters accumulate over steps). */
typedef struct el_plan_stats {
    size_t chunks, compressed_chunks, streamed_chunks;
    uint64_t int8_bytes;        /* all linear weights as raw INT8 */
    uint64_t raw_bytes;         /* resident raw INT8 */
    uint64_t compressed_bytes;  /* resident compressed chunk bytes (headers included) */
    uint64_t compressed_raw;    /* raw size of the compressed chunks */
    uint64_t buffer_bytes;      /* the decode buffers (the ring) and read buffers */
    uint64_t read_buffer_bytes; /* the read buffers' part of buffer_bytes */
    uint64_t streamed_bytes;    /* stored bytes of the streamed chunks (read per step) */
    double budget;              /* seconds or bytes the planner was given; 0 if none */
    double predicted_step_s;    /* planner, in the engine's model (sequential; threaded
                                   with decoder threads) */
    double predicted_raw_step_s;
    double predicted_seq_step_s, predicted_pipe_step_s; /* the plan in both models */
    double predicted_threaded_step_s;                   /* the plan in the threaded model */
    int prefetch;                   /* ring buffers; 0 = none (no decoder threads) */
    int threads, io_threads, cores; /* decoder and reader threads; CPU cores */
    int direct_io;                  /* streamed reads use O_DIRECT */
    double compute_rate, host_bw, decode_rate_chunk, storage_bw; /* the planner's inputs */
    double load_s;
    /* run counters; with decoder threads, decode_s is their time (summed)
     * and wait_s the compute thread's time waiting for them */
    double decode_s, compute_s, wait_s, read_s;
    uint64_t decodes, reads, bytes_read;
} el_plan_stats;

struct el_plan;

/* Loads a .dcz written by `dcz compress` from a llama2.c checkpoint (8-bit
 * linear weights) under plan `po`. Linears run in the planned INT8 mode;
 * everything else as el_model_load_dcz (desc as there). Returns 0 or -1
 * (message on stderr). */
struct el_qopts;
int el_model_load_dcz_plan(el_model *m, const char *path, const el_plan_opts *po,
                           struct el_qopts *desc);

/* The plan's figures and counters (zeros if m has no plan). */
void el_plan_get_stats(const el_model *m, el_plan_stats *st);
/* Resets the run counters. */
void el_plan_reset_counters(el_model *m);

/* The planned linear: y[t x out] = W8A8(x[t x in]); called by
 * el_linear_apply for linears with lin->jit set. */
void el_jit_apply(el_model *m, el_linear *lin, const float *x, int t, float *y);

/* Frees a plan (called by el_model_free). NULL is a no-op. */
void el_plan_free(struct el_plan *p);

/* Reads the llama2.c header a .dcz carries in its metadata (dcz_load.c). */
int el_dcz_header(const char *meta, int32_t hdr[7]);
struct dc_reader;
struct dc_tensor_desc;
/* The same, or (for a .dcz written without calibration, which carries no
 * header) derived from the tensor shapes. 0 or -1. */
int el_dcz_read_header(const struct dc_reader *r, int32_t hdr[7]);

/* Opens a .dcz made from a llama2.c checkpoint: *out gets the reader (close
 * it with dc_reader_close), hdr the checkpoint header, c its config, and
 * desc (if not NULL) how its linear weights were quantized (for reports;
 * -1 if it has none). The model's memory need (el_dcz_check_memory, for a
 * plan if `plan`) is checked against the limit first. Returns 0, or -1 after
 * printing what is wrong (nothing left open). */
int el_dcz_open(const char *path, struct dc_reader **out, int32_t hdr[7], el_config *c,
                struct el_qopts *desc, int plan);

/* 0 if loading the open .dcz `r` with config c (plan: 1 for
 * el_model_load_dcz_plan, 0 for el_model_load_dcz) stays within the memory
 * limit (el_check_memory), else -1 after a message. */
int el_dcz_check_memory(const struct dc_reader *r, const char *path, const el_config *c, int plan);

/* Finds the .dcz tensor of checkpoint slot s and checks that its shape and
 * type fit the slot (F32, F16 or BF16 as stored, or a quantized 2-D linear
 * weight). Returns 0, or -1 after printing what is wrong. */
int el_dcz_slot(const struct dc_reader *r, const char *path, const el_slot *s, size_t *idx,
                struct dc_tensor_desc *d);

/* Decodes tensor idx of r (described by d: stored as it was, F32, F16 or
 * BF16) into dst[0..n) as floats (F16/BF16 converted exactly). 0 (DC_OK) or
 * the decoder's dc_status. */
int el_dcz_read_floats(const struct dc_reader *r, size_t idx, const struct dc_tensor_desc *d,
                       float *dst, size_t n);

/* Seconds on the monotonic clock. */
double el_now(void);

#endif /* DC_ENGINE_PLAN_H */
