/*
 * plan.c -- dc-llama: loading a .dcz under a partial-compression plan and
 * the just-in-time INT8 linear (see plan.h).
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE /* madvise, clock_gettime */
#include "plan.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EL_HAVE_X86 1
#endif

#include "doublecomp.h"
#include "feed.h"
#include "pipeline.h"

/* One chunk of a linear weight: raw bytes [off, off + raw_len) of the
 * row-major INT8 tensor, resident either raw or compressed. */
typedef struct el_jit_chunk {
    size_t off, raw_len;
    size_t comp_len;       /* bytes of the compressed chunk (header included) */
    const int8_t *raw;     /* resident raw INT8, or NULL when compressed */
    const uint8_t *comp;   /* resident compressed chunk when raw is NULL */
    const uint8_t *mapped; /* while loading: the chunk in the file mapping */
    uint64_t file_off;     /* where the chunk lies in the file */
    uint32_t group;        /* the planner's label: layer x EL_NLIN + linear */
    uint8_t place;         /* DC_PLACE_RAW, _COMPRESSED or _STREAMED */
    size_t feed_idx;       /* compressed or streamed: its index in the feed's list */
} el_jit_chunk;

struct el_jit_lin {
    el_jit_chunk *chunks;
    size_t n_chunks;
    int exact_sign; /* every weight in [-127, 127]: the AVX2 kernel is exact */
};

struct el_plan {
    struct el_jit_lin *lins; /* [n_layers x EL_NLIN] */
    el_jit_chunk *chunks;    /* all linear chunks, execution order */
    size_t n_chunks;
    int8_t *raw_arena;
    uint8_t *comp_arena;
    uint8_t *buf; /* the decode buffer */
    size_t buf_bytes;
    dc_dctx *dctx;
    int8_t *qx8;  /* [max_t x max in] activations as int8 */
    int32_t *acc; /* [max_t x max out x max groups] integer sums */
    int avx2;
    el_feed *feed; /* NULL: decode on the compute thread */
    el_plan_stats st;
};

/* Execution order of the linears within a layer (model.c el_forward). */
static const int k_exec[EL_NLIN] = {EL_WQ, EL_WK, EL_WV, EL_WO, EL_W1, EL_W3, EL_W2};

double el_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* INT8 x INT8 dot products with exact int32 sums */

static int32_t dot_scalar(const int8_t *w, const int8_t *x, size_t n) {
    int32_t s = 0;
    for (size_t j = 0; j < n; j++)
        s += (int32_t)w[j] * (int32_t)x[j];
    return s;
}

#ifdef EL_HAVE_X86
/* |x| (u8) times w * sign(x) (s8), pairwise into s16 (at most 2 x 127 x 127:
 * no saturation when w and x are in [-127, 127]), then into s32. */
__attribute__((target("avx2"))) static int32_t dot_avx2(const int8_t *w, const int8_t *x,
                                                        size_t n) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
    size_t j = 0;
    for (; j + 64 <= n; j += 64) {
        __m256i w0 = _mm256_loadu_si256((const __m256i *)(const void *)(w + j));
        __m256i x0 = _mm256_loadu_si256((const __m256i *)(const void *)(x + j));
        __m256i w1 = _mm256_loadu_si256((const __m256i *)(const void *)(w + j + 32));
        __m256i x1 = _mm256_loadu_si256((const __m256i *)(const void *)(x + j + 32));
        __m256i p0 = _mm256_maddubs_epi16(_mm256_sign_epi8(x0, x0), _mm256_sign_epi8(w0, x0));
        __m256i p1 = _mm256_maddubs_epi16(_mm256_sign_epi8(x1, x1), _mm256_sign_epi8(w1, x1));
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(p0, ones));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(p1, ones));
    }
    for (; j + 32 <= n; j += 32) {
        __m256i w0 = _mm256_loadu_si256((const __m256i *)(const void *)(w + j));
        __m256i x0 = _mm256_loadu_si256((const __m256i *)(const void *)(x + j));
        __m256i p0 = _mm256_maddubs_epi16(_mm256_sign_epi8(x0, x0), _mm256_sign_epi8(w0, x0));
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(p0, ones));
    }
    a0 = _mm256_add_epi32(a0, a1);
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a0), _mm256_extracti128_si256(a0, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    int32_t r = _mm_cvtsi128_si32(s);
    for (; j < n; j++)
        r += (int32_t)w[j] * (int32_t)x[j];
    return r;
}
#endif

static int cpu_avx2(void) {
#ifdef EL_HAVE_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

/*
 * Adds the products of weight bytes [off, off + len) (at w) with the int8
 * activations q8 [t x in] into acc [t x out x ng]: the chunk may start and
 * end anywhere in a row; columns are split at group boundaries (G columns
 * per group; G = in for per-tensor and per-channel scales).
 */
static void accumulate(int fast, const int8_t *w, size_t off, size_t len, const int8_t *q8, int t,
                       size_t in, size_t out, size_t G, size_t ng, int32_t *acc) {
    size_t pos = off;
    const size_t end = off + len;
    while (pos < end) {
        const size_t row = pos / in, c0 = pos % in;
        const size_t c1 = end - pos < in - c0 ? c0 + (end - pos) : in;
        for (size_t a = c0; a < c1;) {
            const size_t g = a / G;
            const size_t b = (g + 1) * G < c1 ? (g + 1) * G : c1;
            const int8_t *ws = w + (pos - off) + (a - c0);
            for (int r = 0; r < t; r++) {
                const int8_t *xs = q8 + (size_t)r * in + a;
                int32_t d;
#ifdef EL_HAVE_X86
                d = fast ? dot_avx2(ws, xs, b - a) : dot_scalar(ws, xs, b - a);
#else
                (void)fast;
                d = dot_scalar(ws, xs, b - a);
#endif
                acc[((size_t)r * out + row) * ng + g] += d;
            }
            a = b;
        }
        pos += c1 - c0;
    }
}

static void fatal_decode(dc_status st) {
    fprintf(stderr, "dc-llama: decoding a weight chunk failed: %s\n", dc_status_string(st));
    exit(1);
}

void el_jit_apply(el_model *m, el_linear *lin, const float *x, int t, float *y) {
    struct el_plan *p = m->plan;
    const struct el_jit_lin *jl = lin->jit;
    const double t0 = el_now();
    double dec = 0.0;
    const size_t in = (size_t)lin->in, out = (size_t)lin->out;
    float *qx = m->scratch_in;
    float *dt = m->att; /* t <= seq_len floats, as el_linear_apply */
    el_quantize_input(lin, x, t, qx, dt);
    int8_t *q8 = p->qx8;
    for (size_t k = 0; k < (size_t)t * in; k++)
        q8[k] = (int8_t)qx[k];
    const size_t G = lin->group > 0 ? (size_t)lin->group : in;
    const size_t ng = (in + G - 1) / G;
    int32_t *acc = p->acc;
    memset(acc, 0, (size_t)t * out * ng * sizeof(int32_t));
    const int fast = p->avx2 && jl->exact_sign;
    for (size_t c = 0; c < jl->n_chunks; c++) {
        const el_jit_chunk *ch = &jl->chunks[c];
        const int8_t *w = ch->raw;
        if (!w && p->feed) {
            double waited = 0.0;
            w = (const int8_t *)el_feed_acquire(p->feed, ch->feed_idx, &waited);
            dec += waited;
            accumulate(fast, w, ch->off, ch->raw_len, q8, t, in, out, G, ng, acc);
            el_feed_release(p->feed);
            continue;
        }
        if (!w) {
            const double td = el_now();
            size_t got = 0;
            dc_status st =
                dc_chunk_decompress(p->dctx, ch->comp, ch->comp_len, p->buf, p->buf_bytes, &got);
            if (st != DC_OK || got != ch->raw_len) fatal_decode(st != DC_OK ? st : DC_ERR_CORRUPT);
            w = (const int8_t *)p->buf;
            dec += el_now() - td;
            p->st.decodes++;
        }
        accumulate(fast, w, ch->off, ch->raw_len, q8, t, in, out, G, ng, acc);
    }
    /* the same float operations, in the same order, as el_linear_apply */
    if (lin->group == 0) {
        for (int r = 0; r < t; r++) {
            float *yr = y + (size_t)r * out;
            const int32_t *ar = acc + (size_t)r * out;
            for (size_t i = 0; i < out; i++) {
                float s = lin->n_scales == 1 ? lin->scale[0] : lin->scale[i];
                yr[i] = (float)ar[i] * s * dt[r];
            }
        }
    } else {
        for (int r = 0; r < t; r++)
            for (size_t i = 0; i < out; i++) {
                const int32_t *ai = acc + ((size_t)r * out + i) * ng;
                float v = 0.0f;
                for (size_t g = 0; g < ng; g++)
                    v += (float)ai[g] * lin->scale[i * ng + g];
                y[(size_t)r * out + i] = v * dt[r];
            }
    }
    p->st.decode_s += dec;
    p->st.compute_s += el_now() - t0 - dec;
}

/* ------------------------------------------------------------------------ */
/* measurements for the planner */

/* Host RAM bandwidth of memcpy between two 32 MiB buffers (best of 5),
 * counting the bytes read and the bytes written as STREAM's Copy does
 * (2 x size / time). The buffers are freed before the plan's memory is
 * allocated, so they do not raise the peak RSS. */
static double measure_memcpy(void) {
    const size_t n = (size_t)32 << 20;
    char *a = malloc(n), *b = malloc(n);
    if (!a || !b) {
        free(a), free(b);
        return 1e10;
    }
    memset(a, 1, n);
    memset(b, 2, n);
    double best = 1e30;
    for (int k = 0; k < 5; k++) {
        double t0 = el_now();
        memcpy(k & 1 ? a : b, k & 1 ? b : a, n);
        double e = el_now() - t0;
        if (e < best) best = e;
    }
    free(a), free(b);
    return 2.0 * (double)n / best;
}

/* Weight bytes per second of the INT8 kernel on one token over a 64 MiB
 * matrix (2048 columns; larger than the caches), best of 3. */
static double measure_kernel(int avx2) {
    const size_t in = 2048, rows = 32768, n = in * rows;
    int8_t *w = malloc(n), *x = malloc(in);
    int32_t *acc = calloc(rows, sizeof(int32_t));
    if (!w || !x || !acc) {
        free(w), free(x), free(acc);
        return 1e10;
    }
    uint64_t s = 0x2545F4914F6CDD1Dull;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        w[i] = (int8_t)((int)(s % 255u) - 127);
    }
    for (size_t i = 0; i < in; i++)
        x[i] = (int8_t)((int)(i % 255u) - 127);
    double best = 1e30;
    for (int k = 0; k < 3; k++) {
        double t0 = el_now();
        accumulate(avx2, w, 0, n, x, 1, in, rows, in, 1, acc);
        double e = el_now() - t0;
        if (e < best) best = e;
    }
    free(w), free(x), free(acc);
    return (double)n / best;
}

/* Gives the pages of a consumed part of the file mapping back (they stay in
 * the page cache; the process no longer counts them as resident). */
static void release_mapping(const void *lo, const void *hi) {
    if (!lo || hi <= lo) return;
    const uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)lo & ~(pg - 1), b = ((uintptr_t)hi + pg - 1) & ~(pg - 1);
    (void)madvise((void *)a, b - a, MADV_DONTNEED);
}

static void release_tensor(const dc_reader *r, size_t idx, uint32_t n_chunks) {
    const void *lo = NULL, *hi = NULL;
    for (uint32_t c = 0; c < n_chunks; c++) {
        const void *d;
        size_t size, raw;
        if (dc_reader_chunk(r, idx, c, &d, &size, &raw) != DC_OK) continue;
        if (!lo || (const char *)d < (const char *)lo) lo = d;
        if (!hi || (const char *)d + size > (const char *)hi) hi = (const char *)d + size;
    }
    release_mapping(lo, hi);
}

/* ------------------------------------------------------------------------ */

void el_plan_free(struct el_plan *p) {
    if (!p) return;
    el_feed_stop(p->feed);
    free(p->lins);
    free(p->chunks);
    free(p->raw_arena);
    free(p->comp_arena);
    free(p->buf);
    dc_dctx_free(p->dctx);
    free(p->qx8);
    free(p->acc);
    free(p);
}

void el_plan_get_stats(const el_model *m, el_plan_stats *st) {
    if (!m->plan) {
        memset(st, 0, sizeof(*st));
        return;
    }
    *st = m->plan->st;
    if (m->plan->feed) {
        el_feed_stats fs;
        el_feed_get_stats(m->plan->feed, &fs);
        st->wait_s = st->decode_s; /* on the compute thread: waiting for the feed */
        st->decode_s = fs.decode_s;
        st->decodes = fs.decodes;
        st->read_s = fs.read_s;
        st->reads = fs.reads;
        st->bytes_read = fs.bytes_read;
        st->direct_io = fs.direct;
    }
}

void el_plan_reset_counters(el_model *m) {
    if (!m->plan) return;
    m->plan->st.decode_s = m->plan->st.compute_s = 0.0;
    m->plan->st.decodes = 0;
    el_feed_reset_stats(m->plan->feed);
}

static int has_m128(const int8_t *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (w[i] == -128) return 1;
    return 0;
}

/* Per linear of the file: its tensor index, description and scales. */
typedef struct lin_src {
    size_t idx;
    dc_tensor_desc d;
} lin_src;

/* The engine's threads from the options: decoder threads (0: decode on the
 * compute thread), raw ring buffers, read buffers, reader threads. */
static void feed_shape(const el_plan_opts *po, int *threads, int *ring, int *rd_ring, int *io) {
    int t = po->threads;
    if (t <= 0 && (po->prefetch > 1 || po->storage)) t = 1;
    *threads = t > 0 ? t : 0;
    *ring = t > 0 ? (po->prefetch > 0 ? po->prefetch : po->storage ? 16 : 8) : 1;
    /* streamed chunks: reads run far ahead of the decoders (the storage's
     * latency varies), in compressed-size buffers */
    *rd_ring = po->storage ? (po->read_ahead > 0 ? po->read_ahead : 96) : *ring;
    *io = po->storage ? (po->io_threads > 0 ? po->io_threads : 8) : 0;
}

static dc_latency_mode plan_mode(const el_plan_opts *po) {
    int t, k, r, io;
    feed_shape(po, &t, &k, &r, &io);
    return t > 0 ? DC_LATENCY_THREADED : DC_LATENCY_SEQUENTIAL;
}

static int plan_decisions(struct el_plan *p, const el_plan_opts *po, dc_planner *pl, uint8_t *dec) {
    const size_t n = p->n_chunks;
    dc_plan_request rq = {.struct_size = sizeof rq, .mode = plan_mode(po)};
    rq.allow_streaming = po->storage;
    dc_plan_result res = {.struct_size = sizeof res};
    dc_status st = DC_OK;
    switch (po->kind) {
    case EL_PLAN_ALL_RESIDENT:
        memset(dec, 0, n);
        return 0;
    case EL_PLAN_ALL_COMPRESSED:
        memset(dec, DC_PLACE_COMPRESSED, n);
        return 0;
    case EL_PLAN_ALL_STREAMED:
        memset(dec, DC_PLACE_STREAMED, n);
        return 0;
    case EL_PLAN_EVERY_N:
        rq.policy = DC_PLAN_EVERY_N;
        rq.every_n = (size_t)po->every_n;
        break;
    case EL_PLAN_LATENCY:
        rq.policy = DC_PLAN_LATENCY_FACTOR;
        rq.budget = po->budget;
        break;
    case EL_PLAN_MEMORY:
        rq.policy = DC_PLAN_MEMORY_BYTES;
        rq.budget =
            po->budget_frac > 0 ? floor(po->budget_frac * (double)p->st.int8_bytes) : po->budget;
        break;
    }
    st = dc_planner_plan(pl, &rq, &res, dec);
    if (st != DC_OK) {
        fprintf(stderr, "dc-llama: planner: %s", dc_status_string(st));
        if (st == DC_ERR_INFEASIBLE) {
            uint8_t *all = malloc(n);
            uint64_t mem = 0;
            double lat = 0;
            if (all) {
                memset(all, po->storage ? DC_PLACE_STREAMED : DC_PLACE_COMPRESSED, n);
                dc_planner_predict(pl, all, plan_mode(po), &lat, &mem);
                free(all);
            }
            fprintf(stderr, " (all %s needs %llu bytes, %.4f s per step)",
                    po->storage ? "streamed" : "compressed", (unsigned long long)mem, lat);
        }
        fputc('\n', stderr);
        return -1;
    }
    p->st.budget = res.budget;
    return 0;
}

int el_model_load_dcz_plan(el_model *m, const char *path, const el_plan_opts *po,
                           struct el_qopts *desc) {
    const double t_load = el_now();
    memset(m, 0, sizeof(*m));
    int threads, ring, rd_ring, io_threads;
    feed_shape(po, &threads, &ring, &rd_ring, &io_threads);
    if (po->kind == EL_PLAN_ALL_STREAMED && !po->storage) {
        fprintf(stderr, "dc-llama: all-streamed needs --storage\n");
        return -1;
    }
    dc_reader *r;
    int32_t hdr[7];
    el_config c;
    if (el_dcz_open(path, &r, hdr, &c, desc, 1) != 0) return -1;
    dc_status st = DC_OK;
    const size_t L = (size_t)c.n_layers, NL = L * EL_NLIN;
    size_t nslots = el_layout(&c, NULL, 0);
    el_slot *slots = calloc(nslots, sizeof(el_slot));
    lin_src *src = calloc(NL, sizeof(lin_src));
    struct el_plan *p = calloc(1, sizeof(*p));
    uint8_t *dec = NULL, *sample = NULL;
    dc_planner *pl = NULL;
    float *data = NULL;
    int rc = slots && src && p ? 0 : -1;
    if (rc == 0) {
        el_layout(&c, slots, nslots);
        const el_slot *last = &slots[nslots - 1];
        size_t nfl = last->offset + last->rows * (last->cols ? last->cols : 1);
        /* calloc'd, so the pages of the linear weights' slots (never written:
         * those weights live in the plan) are never made resident */
        data = calloc(nfl, sizeof(float));
        p->lins = calloc(NL, sizeof(struct el_jit_lin));
        if (!data || !p->lins) rc = -1;
    }
    if (rc != 0) fprintf(stderr, "dc-llama: out of memory\n");
    /* FP32 tensors into data; linear weights described */
    for (size_t i = 0; rc == 0 && i < nslots; i++) {
        const el_slot *s = &slots[i];
        size_t idx, n = s->rows * (s->cols ? s->cols : 1);
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        if (el_dcz_slot(r, path, s, &idx, &d) != 0) {
            rc = -1;
            break;
        }
        if (d.bits == 0) {
            st = (dc_status)el_dcz_read_floats(r, idx, &d, data + s->offset, n);
            if (st != DC_OK) {
                fprintf(stderr, "dc-llama: %s: tensor %s: %s\n", path, s->name,
                        dc_status_string(st));
                rc = -1;
            }
            release_tensor(r, idx, d.n_chunks);
            continue;
        }
        if (s->linear < 0) continue;
        if (d.bits != 8 || d.data_size != n ||
            (d.granularity == DC_QUANT_PER_GROUP &&
             (d.group_size == 0 || d.group_size > s->cols))) {
            fprintf(stderr, "dc-llama: %s: tensor %s: plans need 8-bit weights\n", path, s->name);
            rc = -1;
            break;
        }
        if (s->cols * 127 * 127 >= ((size_t)1 << 31)) {
            fprintf(stderr, "dc-llama: %s: tensor %s: rows too long for int32 sums\n", path,
                    s->name);
            rc = -1;
            break;
        }
        lin_src *ls = &src[(size_t)s->layer * EL_NLIN + (size_t)s->linear];
        ls->idx = idx;
        ls->d = d;
        p->n_chunks += d.n_chunks;
    }
    /* chunks in execution order */
    if (rc == 0 && !(p->chunks = calloc(p->n_chunks ? p->n_chunks : 1, sizeof(el_jit_chunk))))
        rc = -1;
    size_t max_raw = 0, k = 0;
    for (size_t l = 0; rc == 0 && l < L; l++)
        for (int e = 0; rc == 0 && e < EL_NLIN; e++) {
            const size_t li = l * EL_NLIN + (size_t)k_exec[e];
            const lin_src *ls = &src[li];
            struct el_jit_lin *jl = &p->lins[li];
            jl->chunks = &p->chunks[k];
            jl->n_chunks = ls->d.n_chunks;
            jl->exact_sign = 1;
            size_t off = 0;
            for (uint32_t ci = 0; ci < ls->d.n_chunks; ci++, k++) {
                el_jit_chunk *ch = &p->chunks[k];
                const void *dp;
                if (dc_reader_chunk(r, ls->idx, ci, &dp, &ch->comp_len, &ch->raw_len) != DC_OK ||
                    ch->raw_len == 0) {
                    rc = -1;
                    break;
                }
                dc_chunk_location loc = {.struct_size = sizeof loc};
                if (dc_reader_chunk_location(r, ls->idx, ci, &loc) != DC_OK) {
                    rc = -1;
                    break;
                }
                ch->file_off = loc.file_offset;
                ch->mapped = dp;
                ch->group = (uint32_t)li;
                ch->off = off;
                off += ch->raw_len;
                if (ch->raw_len > max_raw) max_raw = ch->raw_len;
                p->st.int8_bytes += ch->raw_len;
            }
            if (rc == 0 && off != ls->d.data_size) rc = -1;
            if (rc != 0) fprintf(stderr, "dc-llama: %s: bad chunk index\n", path);
        }
    p->st.chunks = p->n_chunks;
    /* the planner: chunks, host RAM bandwidth, compute rate, decode curve */
    if (rc == 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        p->st.threads = threads;
        p->st.io_threads = io_threads;
        p->st.cores = ncpu > 0 ? (int)ncpu : 1;
        dc_planner_options popt = {.struct_size = sizeof popt,
                                   .decode_buffers = (size_t)ring,
                                   .read_buffers = (size_t)rd_ring,
                                   /* the compute thread decodes while it waits */
                                   .decode_threads = threads > 0 ? (size_t)threads + 1 : 1,
                                   .cores = (size_t)p->st.cores};
        if (dc_planner_create(&popt, &pl) != DC_OK) rc = -1;
        for (size_t i = 0; rc == 0 && i < p->n_chunks; i++) {
            const el_jit_chunk *ch = &p->chunks[i];
            if (dc_planner_add_chunk(pl, ch->raw_len, ch->comp_len, DC_TIER_HOST, ch->group,
                                     NULL) != DC_OK)
                rc = -1;
        }
        p->avx2 = cpu_avx2();
        p->st.host_bw = po->host_bw > 0 ? po->host_bw : measure_memcpy();
        if (po->compute_rate > 0) {
            p->st.compute_rate = po->compute_rate;
        } else {
            /* the probe includes reading the weights from RAM, which the
             * planner charges as load (S / B): keep S/B + S/I = S/probe */
            double ip = measure_kernel(p->avx2), inv = 1.0 / ip - 1.0 / p->st.host_bw;
            p->st.compute_rate = inv > 0.1 / ip ? 1.0 / inv : 10.0 * ip;
        }
        if (rc == 0 && (dc_planner_set_tier_bandwidth(pl, DC_TIER_HOST, p->st.host_bw) != DC_OK ||
                        dc_planner_set_compute_rate(pl, p->st.compute_rate) != DC_OK))
            rc = -1;
        if (rc == 0 && po->storage) {
            if (po->storage_bw > 0) {
                p->st.storage_bw = po->storage_bw;
            } else {
                /* read the file's chunks as the feed will: its reader
                 * threads, aligned extents, cold */
                el_feed_item *all = malloc(p->n_chunks * sizeof(*all));
                for (size_t i = 0; all && i < p->n_chunks; i++)
                    all[i] = (el_feed_item){NULL, p->chunks[i].file_off, p->chunks[i].comp_len,
                                            p->chunks[i].raw_len};
                p->st.storage_bw = all ? el_feed_measure_storage(path, all, p->n_chunks, io_threads,
                                                                 0.25, (uint64_t)64 << 20)
                                       : 0;
                free(all);
            }
            if (!(p->st.storage_bw > 0) ||
                dc_planner_set_tier_bandwidth(pl, DC_TIER_STORAGE, p->st.storage_bw) != DC_OK ||
                dc_planner_set_read_cost(pl, po->read_cost) != DC_OK) {
                fprintf(stderr, "dc-llama: %s: cannot measure the storage bandwidth\n", path);
                rc = -1;
            }
        }
        if (rc == 0 && po->decode_rate > 0) {
            size_t sz = max_raw;
            if (dc_planner_set_decode_curve(pl, &sz, &po->decode_rate, 1) != DC_OK) rc = -1;
        } else if (rc == 0) {
            /* a sample of the model's own weights: the first chunks of layer
             * 0's linears, up to 1 MiB */
            size_t cap = (size_t)1 << 20, ss = 0;
            sample = malloc(cap);
            if (!sample) rc = -1;
            for (size_t i = 0; rc == 0 && i < p->n_chunks && ss < cap; i++) {
                const el_jit_chunk *ch = &p->chunks[i];
                if (ch->off != 0 || ss + ch->raw_len > cap) continue;
                size_t got;
                if (dc_chunk_decompress(NULL, ch->mapped, ch->comp_len, sample + ss, cap - ss,
                                        &got) != DC_OK)
                    rc = -1;
                release_mapping(ch->mapped, ch->mapped + ch->comp_len);
                ss += got;
            }
            static const size_t cand[] = {4096, 16384, 65536, 262144, 1048576};
            size_t sizes[5], ns = 0;
            for (int q = 0; q < 5; q++)
                if (cand[q] <= ss) sizes[ns++] = cand[q];
            dc_planner_measure_options mo = {.struct_size = sizeof mo, .min_seconds = 0.03};
            mo.sizes = sizes;
            mo.n_sizes = ns;
            if (rc == 0)
                st = ns ? dc_planner_measure_decode(pl, sample, ss, &mo)
                        : dc_planner_measure_decode(pl, NULL, 0, NULL);
            if (rc == 0 && st != DC_OK) {
                fprintf(stderr, "dc-llama: measuring decode speed: %s\n", dc_status_string(st));
                rc = -1;
            }
            free(sample);
            sample = NULL;
        }
    }
    if (rc == 0) {
        size_t sz[DC_PLANNER_MAX_CURVE_POINTS], np = 0;
        double bps[DC_PLANNER_MAX_CURVE_POINTS];
        dc_planner_get_decode_curve(pl, sz, bps, DC_PLANNER_MAX_CURVE_POINTS, &np);
        /* D at the model's chunk size, as the planner interpolates it */
        double dch = np ? bps[0] : 0;
        for (size_t q = 0; q < np; q++)
            if (sz[q] <= max_raw) dch = bps[q];
        p->st.decode_rate_chunk = dch;
        if (po->verbose) {
            fprintf(stderr, "dc-llama: plan inputs: B %.3g B/s, I %.3g B/s, D:", p->st.host_bw,
                    p->st.compute_rate);
            for (size_t q = 0; q < np; q++)
                fprintf(stderr, " %zu:%.3g", sz[q], bps[q]);
            fputc('\n', stderr);
        }
    }
    /* decide */
    if (rc == 0 && !(dec = malloc(p->n_chunks ? p->n_chunks : 1))) rc = -1;
    if (rc == 0) rc = plan_decisions(p, po, pl, dec);
    if (rc == 0) {
        uint64_t mem = 0;
        if (dc_planner_predict(pl, dec, plan_mode(po), &p->st.predicted_step_s, &mem) != DC_OK ||
            dc_planner_predict(pl, NULL, plan_mode(po), &p->st.predicted_raw_step_s, NULL) !=
                DC_OK ||
            dc_planner_predict(pl, dec, DC_LATENCY_SEQUENTIAL, &p->st.predicted_seq_step_s, NULL) !=
                DC_OK ||
            dc_planner_predict(pl, dec, DC_LATENCY_PIPELINED, &p->st.predicted_pipe_step_s, NULL) !=
                DC_OK ||
            dc_planner_predict(pl, dec, DC_LATENCY_THREADED, &p->st.predicted_threaded_step_s,
                               NULL) != DC_OK)
            rc = -1;
    }
    dc_planner_free(pl);
    /* the plan's memory: raw INT8 and compressed chunks, the decode buffers
     * (the feed's ring, or one buffer) and the read buffers */
    size_t raw_total = 0, comp_total = 0, max_stream = 0, n_feed = 0;
    for (size_t i = 0; rc == 0 && i < p->n_chunks; i++) {
        el_jit_chunk *ch = &p->chunks[i];
        ch->place = dec[i];
        if (dec[i] == DC_PLACE_RAW) {
            raw_total += ch->raw_len;
            continue;
        }
        n_feed++;
        if (ch->raw_len > p->buf_bytes) p->buf_bytes = ch->raw_len;
        if (dec[i] == DC_PLACE_COMPRESSED) {
            comp_total += ch->comp_len;
            p->st.compressed_raw += ch->raw_len;
            p->st.compressed_chunks++;
        } else {
            p->st.streamed_bytes += ch->comp_len;
            p->st.streamed_chunks++;
            if (ch->comp_len > max_stream) max_stream = ch->comp_len;
        }
    }
    const size_t nbuf = threads > 0 ? (size_t)ring : 1;
    p->st.raw_bytes = raw_total;
    p->st.compressed_bytes = comp_total;
    p->st.read_buffer_bytes =
        max_stream ? (uint64_t)rd_ring * ((max_stream + 4095) / 4096 * 4096 + 4096) : 0;
    p->st.buffer_bytes = nbuf * p->buf_bytes + p->st.read_buffer_bytes;
    p->st.prefetch = threads > 0 ? ring : 0;
    if (rc == 0) {
        p->raw_arena = malloc(raw_total ? raw_total : 1);
        p->comp_arena = malloc(comp_total ? comp_total : 1);
        p->buf = p->buf_bytes ? malloc(p->buf_bytes) : NULL;
        if (!p->raw_arena || !p->comp_arena || (p->buf_bytes && !p->buf) ||
            dc_dctx_create(NULL, &p->dctx) != DC_OK) {
            fprintf(stderr, "dc-llama: out of memory\n");
            rc = -1;
        }
    }
    /* fill: raw chunks decoded once, compressed ones copied (and decoded once
     * into the buffer to check them), streamed ones decoded once to check
     * them (and whether the fast kernel is exact); the mapping is released
     * tensor by tensor */
    size_t ro = 0, co = 0;
    for (size_t li = 0; rc == 0 && li < NL; li++) {
        struct el_jit_lin *jl = &p->lins[li];
        const uint8_t *lo = NULL, *hi = NULL;
        for (size_t ci = 0; rc == 0 && ci < jl->n_chunks; ci++) {
            el_jit_chunk *ch = &jl->chunks[ci];
            const size_t gi = (size_t)(ch - p->chunks);
            size_t got = 0;
            int8_t *dst;
            if (dec[gi] == DC_PLACE_STREAMED) {
                dst = (int8_t *)p->buf;
                st =
                    dc_chunk_decompress(p->dctx, ch->mapped, ch->comp_len, dst, p->buf_bytes, &got);
            } else if (dec[gi]) {
                memcpy(p->comp_arena + co, ch->mapped, ch->comp_len);
                ch->comp = p->comp_arena + co;
                co += ch->comp_len;
                dst = (int8_t *)p->buf;
                st = dc_chunk_decompress(p->dctx, ch->comp, ch->comp_len, dst, p->buf_bytes, &got);
            } else {
                dst = p->raw_arena + ro;
                ch->raw = dst;
                ro += ch->raw_len;
                st = dc_chunk_decompress(p->dctx, ch->mapped, ch->comp_len, dst, ch->raw_len, &got);
            }
            if (st == DC_OK && got != ch->raw_len) st = DC_ERR_SIZE_MISMATCH;
            if (st != DC_OK) {
                fprintf(stderr, "dc-llama: %s: weight chunk: %s\n", path, dc_status_string(st));
                rc = -1;
                break;
            }
            if (has_m128(dst, got)) jl->exact_sign = 0;
            if (!lo || ch->mapped < lo) lo = ch->mapped;
            if (!hi || ch->mapped + ch->comp_len > hi) hi = ch->mapped + ch->comp_len;
            ch->mapped = NULL;
        }
        release_mapping(lo, hi);
    }
    /* scales and smoothing of every linear, then the model */
    float **scales = rc == 0 ? calloc(NL, sizeof(float *)) : NULL;
    float **smooth = rc == 0 ? calloc(NL, sizeof(float *)) : NULL;
    if (rc == 0 && (!scales || !smooth)) rc = -1;
    for (size_t li = 0; rc == 0 && li < NL; li++) {
        const dc_tensor_desc *d = &src[li].d;
        scales[li] = malloc(d->n_scales * sizeof(float));
        if (!scales[li])
            rc = -1;
        else
            memcpy(scales[li], d->scales, d->n_scales * sizeof(float));
        if (rc == 0 && d->n_smooth) {
            if (d->n_smooth != d->dims[1] || !(smooth[li] = malloc(d->n_smooth * sizeof(float))))
                rc = -1;
            else
                memcpy(smooth[li], d->smooth, d->n_smooth * sizeof(float));
        }
    }
    dc_reader_close(r);
    if (rc == 0) {
        const el_slot *last = &slots[nslots - 1];
        size_t nfl = last->offset + last->rows * (last->cols ? last->cols : 1);
        rc = el_model_init(m, hdr, data, nfl, path);
        data = NULL; /* owned by the model (or freed) now */
    }
    size_t max_in = 0, max_out = 0, max_ng = 1;
    for (size_t li = 0; rc == 0 && li < NL; li++) {
        el_linear *lin = &m->layers[li / EL_NLIN].lin[li % EL_NLIN];
        const dc_tensor_desc *d = &src[li].d;
        lin->mode = EL_LIN_W8A8;
        lin->w = NULL; /* the FP32 slot was never filled */
        lin->scale = scales[li];
        scales[li] = NULL;
        lin->n_scales = (int)d->n_scales;
        lin->group = d->granularity == DC_QUANT_PER_GROUP ? (int)d->group_size : 0;
        lin->act_qmax = 127;
        lin->jit = &p->lins[li];
        if (smooth[li]) {
            lin->smooth = smooth[li];
            smooth[li] = NULL;
            lin->inv_in = malloc((size_t)lin->in * sizeof(float));
            if (!lin->inv_in) rc = -1;
            for (int j = 0; rc == 0 && j < lin->in; j++)
                lin->inv_in[j] = 1.0f / lin->smooth[j];
        }
        size_t ng =
            lin->group ? ((size_t)lin->in + (size_t)lin->group - 1) / (size_t)lin->group : 1;
        if ((size_t)lin->in > max_in) max_in = (size_t)lin->in;
        if ((size_t)lin->out > max_out) max_out = (size_t)lin->out;
        if (ng > max_ng) max_ng = ng;
    }
    if (rc == 0) {
        const size_t T = (size_t)m->max_t;
        p->qx8 = malloc(T * max_in);
        p->acc = malloc(T * max_out * max_ng * sizeof(int32_t));
        if (!p->qx8 || !p->acc) rc = -1;
    }
    /* the feed: compressed and streamed chunks in execution order */
    if (rc == 0 && threads > 0 && n_feed > 0) {
        el_feed_item *items = malloc(n_feed * sizeof(*items));
        size_t j = 0;
        for (size_t i = 0; items && i < p->n_chunks; i++) {
            el_jit_chunk *ch = &p->chunks[i];
            if (ch->place == DC_PLACE_RAW) continue;
            ch->feed_idx = j;
            items[j++] = (el_feed_item){ch->place == DC_PLACE_STREAMED ? NULL : ch->comp,
                                        ch->file_off, ch->comp_len, ch->raw_len};
        }
        if (!items || el_feed_start(&p->feed, items, n_feed, (size_t)ring, (size_t)rd_ring,
                                    p->buf_bytes, threads, io_threads, path) != 0) {
            fprintf(stderr, "dc-llama: cannot start the decoder threads\n");
            rc = -1;
        }
        free(items);
        if (rc == 0) { /* the compute thread decodes nothing itself */
            free(p->buf);
            p->buf = NULL;
        }
    }
    if (rc == 0 && po->storage) el_feed_drop_cache(path); /* every run starts cold */
    for (size_t li = 0; li < NL && scales; li++)
        free(scales[li]);
    for (size_t li = 0; li < NL && smooth; li++)
        free(smooth[li]);
    free(scales), free(smooth), free(dec), free(src), free(slots), free(data);
    if (rc != 0) {
        if (m->layers) {
            m->plan = p;
            el_model_free(m);
        } else {
            el_plan_free(p);
        }
        return -1;
    }
    m->plan = p;
    p->st.load_s = el_now() - t_load;
    if (po->verbose)
        fprintf(stderr,
                "dc-llama: plan: %zu of %zu chunks compressed, %zu streamed; raw %llu + "
                "compressed %llu + buffers %llu bytes (INT8 %llu); predicted step %.4f s (all "
                "resident %.4f s)\n",
                p->st.compressed_chunks, p->st.chunks, p->st.streamed_chunks,
                (unsigned long long)p->st.raw_bytes, (unsigned long long)p->st.compressed_bytes,
                (unsigned long long)p->st.buffer_bytes, (unsigned long long)p->st.int8_bytes,
                p->st.predicted_step_s, p->st.predicted_raw_step_s);
    return 0;
}
