/*
 * dc_bench.c -- codec benchmark: ANS (every SIMD path) against zstd, lz4,
 * Huff0 (the Huffman coder inside libzstd), htscodecs' order-0 rANS and memcpy,
 * on the same chunks, in one run.
 *
 *   dc-bench [--chunk-size N]... [--reps R] [--threads T] [--codecs LIST]
 *            [--float bf16|f16|f32] FILE...
 *
 * --float: FILE holds IEEE floats of that type (dc-benchgen llama2c-float
 * writes real weights so). Adds the library's lossless float codec ("float",
 * DC_CODEC_FLOAT through dc_chunk_decompress) and byte-grouped baselines
 * rebuilt from ZipNN's published description (each chunk split into byte
 * planes, each plane compressed alone and stored raw if that does not make it
 * smaller): "zstd1-bg", "zstd19-bg" (planes as they are), "zstd19-bgrot"
 * (each element first rotated left by one bit, so that the BF16/F32 exponent
 * is one plane) and, with Huff0, "huf-bg" (Huff0 per plane, ZipNN's own
 * entropy coder; decoded with X1). Also prints the order-0 bounds of the
 * planes, of the exponent alone (DFloat11: exponent coded, the rest stored)
 * and, for 2-byte types, of whole elements (65536 symbols), per chunk.
 *
 * One JSON object per line on stdout (one per coder per file and chunk size;
 * "kernel" is the decode path that ran, for ANS auto dc_simd_best();
 * "entropy_ratio" is the order-0 bound, "ratio_of_bound" ratio / bound);
 * after each file and chunk size a human summary table on stderr (medians,
 * decode speed relative to zstd -1 and to the faster Huff0 decoder).
 *
 * Repetitions are interleaved: repetition r encodes with every encoder once,
 * then (after all encodes) repetition r decodes with every decoder once
 * (A B C A B C ...), so a noisy machine slows every coder alike. Every decode
 * is checked against the input (outside the timed region). An input under
 * 16 MiB is passed over several times per timed repetition ("loops"; zstd -19
 * encodes once; a decoder decodes each chunk that many times in a row), so
 * that a repetition is not a fraction of a millisecond.
 *
 * Ratios count every byte stored (ANS: chunk headers; Huff0: our 4-byte block
 * headers). Speeds are MB/s of raw data (10^6 bytes), single thread unless
 * --threads; "*_mbps" is the best repetition, "*_mbps_median" the median.
 * With --threads T (> 1) the threads claim chunks from a shared counter (as
 * dc_decompress does), every repetition times each decoder on 1 thread
 * right before T threads, and "dec_scaling_median" is the median over the
 * repetitions of the pair's time ratio: on a machine whose speed drifts
 * (a shared VM), a ratio of two separate runs' medians mostly measures the
 * drift.
 * zstd, lz4, Huff0 and htscodecs are called directly per chunk (no DC chunk
 * header, no checksum); ANS goes through the public dc_chunk_decompress(),
 * checksum verification included.
 *
 * Huff0 compresses at most 128 KiB per call (HUF_BLOCKSIZE_MAX), so a chunk is
 * cut into 128 KiB blocks, each stored as a 4-byte little-endian size (0: raw
 * block follows, 1: one byte repeated, else a HUF_compress4X stream) and its
 * payload. Both Huffman decoders are timed on the same streams: X1 (one symbol
 * per lookup) and X2 (up to two symbols per lookup); "huf-best" repeats the
 * faster of the two (by median). htscodecs runs rans_compress_to_4x16() with
 * RANS_ORDER_SIMD_AUTO (order 0): its 32x16 coder (SIMD decode) from 50000
 * bytes, 4x16 below.
 */
#define _POSIX_C_SOURCE 200809L
#include "doublecomp.h"

#include <errno.h>
#include <lz4.h>
#include <lz4hc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#ifdef DC_BENCH_HTSCODECS
#include <htscodecs/rANS_static4x16.h>
#endif

#include "../tests/gen.h"

#ifdef DC_BENCH_HUF
/*
 * Huff0's experimental API, not in libzstd's public headers and not exported
 * by libzstd.so: the prototypes are those of zstd 1.5.4's lib/common/huf.h
 * (Debian bookworm's libzstd-dev 1.5.4), linked from libzstd.a. The "flags"
 * argument is a HUF_flags_e bit set.
 */
#if ZSTD_VERSION_NUMBER < 10504
#error "Huff0 prototypes below need zstd >= 1.5.4 (configure with the static libzstd disabled)"
#endif
typedef size_t HUF_CElt;
typedef uint32_t HUF_DTable;
typedef enum { HUF_repeat_none, HUF_repeat_check, HUF_repeat_valid } HUF_repeat;
enum { HUF_flags_bmi2 = 1 << 0 };
#define HUF_BLOCKSIZE_MAX                  (128 * 1024)
#define HUF_SYMBOLVALUE_MAX                255
#define HUF_TABLELOG_MAX                   12
#define HUF_TABLELOG_DEFAULT               11
#define HUF_WORKSPACE_SIZE                 ((8 << 10) + 512)
#define HUF_CTABLE_SIZE_ST(maxSymbolValue) ((maxSymbolValue) + 2)
#define HUF_DTABLE_SIZE(maxTableLog)       (1 + (1 << (maxTableLog)))
#define HUF_DECOMPRESS_WORKSPACE_SIZE      ((2 << 10) + (1 << 9))
size_t HUF_compressBound(size_t size);
unsigned HUF_isError(size_t code);
size_t HUF_compress4X_repeat(void *dst, size_t dstSize, const void *src, size_t srcSize,
                             unsigned maxSymbolValue, unsigned tableLog, void *workSpace,
                             size_t wkspSize, HUF_CElt *hufTable, HUF_repeat *repeat, int flags);
size_t HUF_readDTableX1_wksp(HUF_DTable *DTable, const void *src, size_t srcSize, void *workSpace,
                             size_t wkspSize, int flags);
size_t HUF_readDTableX2_wksp(HUF_DTable *DTable, const void *src, size_t srcSize, void *workSpace,
                             size_t wkspSize, int flags);
size_t HUF_decompress4X_usingDTable(void *dst, size_t maxDstSize, const void *cSrc, size_t cSrcSize,
                                    const HUF_DTable *DTable, int flags);
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *msg) {
    fprintf(stderr, "dc-bench: %s\n", msg);
    exit(1);
}

#if defined(__x86_64__) || defined(__i386__)
#define CPU_HAS(f) __builtin_cpu_supports(f)
#else
#define CPU_HAS(f) 0
#endif

/* Flags for every Huff0 call: zstd passes bmi2 when the CPU has it, which
 * also enables the x86-64 assembly decode loops. */
static int huf_flags(void) {
    return CPU_HAS("bmi2") ? 1 : 0;
}

/* htscodecs order-0 rANS with its automatic choice: the 32-way interleaved
 * 32x16 coder for inputs of at least 50000 bytes, the 4x16 one below. */
#define HTS_ORDER     RANS_ORDER_SIMD_AUTO
#define HTS_X32_BYTES 50000

/* The order-0 rANS kernel htscodecs 1.3 dispatches to on this CPU (it picks
 * by CPUID alone; the Debian build has all of them). */
static const char *hts_kernel(size_t chunk) {
    if (chunk < HTS_X32_BYTES) return "4x16";
    if (CPU_HAS("avx512f") && CPU_HAS("popcnt")) return "32x16-avx512";
    if (CPU_HAS("avx2") && CPU_HAS("popcnt")) return "32x16-avx2";
    if (CPU_HAS("sse4.1") && CPU_HAS("ssse3") && CPU_HAS("popcnt")) return "32x16-sse4";
    return "32x16";
}

typedef enum { K_ANS, K_ZSTD, K_LZ4, K_MEMCPY, K_HUF, K_HTS, K_FLOAT, K_BG } kind;
static const char *kind_names[] = {"ans", "zstd",      "lz4",   "memcpy",
                                   "huf", "htscodecs", "float", "bytegroup"};

/* --float: element bytes (0: not floats) and the type's name */
static unsigned float_width;
static const char *float_type = "";

#define MAX_REPS   32
#define LOOP_BYTES ((size_t)16 << 20)

/* One encoder and the chunks it wrote; several decoders may share them. */
typedef struct encset {
    kind k;
    int level, reps, loops;
    int rot;         /* K_BG: rotate elements left by one bit first; level 0: Huff0 planes */
    uint8_t **cdata; /* compressed chunk i */
    size_t *csize, total;
    double t[MAX_REPS];
} encset;

typedef struct coder {
    char name[32];
    encset *e;
    dc_simd simd; /* ANS decoder path (DC_SIMD_AUTO: the library's choice) */
    int variant;  /* Huff0: 1 = X1, 2 = X2 */
    double t[MAX_REPS];
    double t1[MAX_REPS]; /* --threads T: the 1-thread time of the same repetition */
    double dec_best, dec_med, enc_best, enc_med; /* MB/s */
    double scaling;                              /* median of t1[r] / t[r]; 0 = 1 thread */
} coder;

typedef struct input {
    const uint8_t *src;
    size_t n, chunk, nchunks;
    uint8_t *out;
    int loops; /* passes over the input per timed repetition (small inputs) */
} input;

static size_t chunk_len(const input *in, size_t i) {
    return i + 1 == in->nchunks ? in->n - i * in->chunk : in->chunk;
}

static size_t bound(kind k, size_t len) {
    switch (k) {
    case K_ANS:
        return dc_compress_bound(len);
    case K_ZSTD:
        return ZSTD_compressBound(len);
    case K_LZ4:
        return (size_t)LZ4_compressBound((int)len);
    case K_MEMCPY:
        return len;
    case K_FLOAT:
        return dc_compress_bound(len);
    case K_BG:
#ifdef DC_BENCH_HUF
        return 16 + 2 * len + 4 * (4 + HUF_compressBound(HUF_BLOCKSIZE_MAX));
#else
        return 16 + 2 * len + ZSTD_compressBound(len);
#endif
    case K_HUF:
#ifdef DC_BENCH_HUF
        return (len / HUF_BLOCKSIZE_MAX + 1) * (4 + HUF_compressBound(HUF_BLOCKSIZE_MAX));
#else
        break;
#endif
    case K_HTS:
#ifdef DC_BENCH_HTSCODECS
        return rans_compress_bound_4x16((unsigned)len, HTS_ORDER | RANS_ORDER_X32);
#else
        break;
#endif
    }
    return 0;
}

#ifdef DC_BENCH_HUF
static void put32(uint8_t *p, size_t v) {
    for (int b = 0; b < 4; b++)
        p[b] = (uint8_t)(v >> (8 * b));
}

static size_t get32(const uint8_t *p) {
    return (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
}

static size_t huf_compress(uint8_t *dst, const uint8_t *src, size_t len, int flags) {
    static uint64_t wksp[HUF_WORKSPACE_SIZE / sizeof(uint64_t)];
    static HUF_CElt ctable[HUF_CTABLE_SIZE_ST(HUF_SYMBOLVALUE_MAX)];
    size_t w = 0;
    for (size_t off = 0; off < len; off += HUF_BLOCKSIZE_MAX) {
        size_t blen = len - off < HUF_BLOCKSIZE_MAX ? len - off : HUF_BLOCKSIZE_MAX;
        HUF_repeat repeat = HUF_repeat_none;
        size_t r = HUF_compress4X_repeat(dst + w + 4, HUF_compressBound(blen), src + off, blen,
                                         HUF_SYMBOLVALUE_MAX, HUF_TABLELOG_DEFAULT, wksp,
                                         sizeof(wksp), ctable, &repeat, flags);
        if (HUF_isError(r)) die("huf compress");
        if (r == 1) {
            dst[w + 4] = src[off]; /* one symbol repeated */
        } else if (r == 0 || r >= blen) {
            r = 0; /* not compressible: store the block */
            memcpy(dst + w + 4, src + off, blen);
        }
        put32(dst + w, r);
        w += 4 + (r == 0 ? blen : r);
    }
    return w;
}

static int huf_decompress(uint8_t *dst, size_t len, const uint8_t *src, size_t csize, int variant,
                          int flags) {
    HUF_DTable dt[HUF_DTABLE_SIZE(HUF_TABLELOG_MAX)];
    uint32_t wksp[HUF_DECOMPRESS_WORKSPACE_SIZE / sizeof(uint32_t)];
    size_t r = 0;
    for (size_t off = 0; off < len; off += HUF_BLOCKSIZE_MAX) {
        size_t blen = len - off < HUF_BLOCKSIZE_MAX ? len - off : HUF_BLOCKSIZE_MAX;
        if (r + 4 > csize) return 0;
        size_t c = get32(src + r);
        r += 4;
        if (c == 0) {
            if (r + blen > csize) return 0;
            memcpy(dst + off, src + r, blen);
            r += blen;
            continue;
        }
        if (r + c > csize) return 0;
        if (c == 1) {
            memset(dst + off, src[r++], blen);
            continue;
        }
        dt[0] = (HUF_DTable)HUF_TABLELOG_MAX * 0x01000001u; /* HUF_CREATE_STATIC_DTABLEX2 */
        size_t h = variant == 1 ? HUF_readDTableX1_wksp(dt, src + r, c, wksp, sizeof(wksp), flags)
                                : HUF_readDTableX2_wksp(dt, src + r, c, wksp, sizeof(wksp), flags);
        if (HUF_isError(h) || h >= c) return 0;
        size_t d = HUF_decompress4X_usingDTable(dst + off, blen, src + r + h, c - h, dt, flags);
        if (HUF_isError(d) || d != blen) return 0;
        r += c;
    }
    return r == csize;
}
#endif

/* --- byte grouping (ZipNN's approach, rebuilt) --------------------------- */

static void bg_put32(uint8_t *p, size_t v) {
    for (int b = 0; b < 4; b++)
        p[b] = (uint8_t)(v >> (8 * b));
}

static size_t bg_get32(const uint8_t *p) {
    return (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
}

/* Planes of src[0..n) (m elements of w bytes; rot: rotated left by one bit). */
static void bg_split(const uint8_t *src, size_t m, unsigned w, int rot, uint8_t *planes) {
    for (size_t i = 0; i < m; i++)
        for (unsigned k = 0; k < w; k++) {
            const uint8_t *b = src + w * i;
            planes[k * m + i] = (uint8_t)(rot ? (b[k] << 1 | b[(k + w - 1) % w] >> 7) : b[k]);
        }
}

/* A chunk as w planes, each [u32 size (0: stored)][bytes], then the tail. */
static size_t bg_compress(const encset *e, ZSTD_CCtx *zc, const uint8_t *src, size_t n,
                          uint8_t *dst, uint8_t *planes) {
    const unsigned w = float_width;
    const size_t m = n / w, tail = n % w;
    bg_split(src, m, w, e->rot, planes);
    size_t o = 0;
    for (unsigned k = 0; k < w; k++) {
        const uint8_t *pl = planes + k * m;
        size_t c = 0;
        if (e->level > 0) {
            c = ZSTD_compressCCtx(zc, dst + o + 4, ZSTD_compressBound(m), pl, m, e->level);
            if (ZSTD_isError(c)) die("zstd compress");
        } else {
#ifdef DC_BENCH_HUF
            c = huf_compress(dst + o + 4, pl, m, huf_flags());
#endif
        }
        if (c == 0 || c >= m) {
            c = 0;
            memcpy(dst + o + 4, pl, m);
        }
        bg_put32(dst + o, c);
        o += 4 + (c ? c : m);
    }
    memcpy(dst + o, src + m * w, tail);
    return o + tail;
}

/* Planes back to elements; inlined with w a constant (2 or 4), so the
 * compiler unrolls and vectorises it (the baseline must not lose on a loop
 * written badly). */
static inline void bg_join(const uint8_t *const *pl, size_t m, unsigned w, int rot, uint8_t *out) {
    for (size_t i = 0; i < m; i++)
        for (unsigned k = 0; k < w; k++) {
            uint8_t b = pl[k][i];
            out[w * i + k] = (uint8_t)(rot ? (b >> 1 | pl[(k + 1) % w][i] << 7) : b);
        }
}

static int bg_decompress(const encset *e, ZSTD_DCtx *zd, const uint8_t *src, size_t csize,
                         uint8_t *out, size_t n, uint8_t *planes) {
    const unsigned w = float_width;
    const size_t m = n / w, tail = n % w;
    const uint8_t *pl[4];
    size_t r = 0;
    for (unsigned k = 0; k < w; k++) {
        if (r + 4 > csize) return 0;
        size_t c = bg_get32(src + r);
        r += 4;
        if (c == 0) {
            pl[k] = src + r;
            r += m;
            continue;
        }
        if (r + c > csize) return 0;
        if (e->level > 0) {
            size_t d = ZSTD_decompressDCtx(zd, planes + k * m, m, src + r, c);
            if (ZSTD_isError(d) || d != m) return 0;
        } else {
#ifdef DC_BENCH_HUF
            if (!huf_decompress(planes + k * m, m, src + r, c, 1, huf_flags())) return 0;
#endif
        }
        pl[k] = planes + k * m;
        r += c;
    }
    if (r + tail != csize) return 0;
    if (w == 2)
        bg_join(pl, m, 2, e->rot, out);
    else
        bg_join(pl, m, 4, e->rot, out);
    memcpy(out + m * w, src + r, tail);
    return 1;
}

static void compress_all(encset *e, const input *in) {
    dc_cctx *cc = NULL;
    ZSTD_CCtx *zc = NULL;
    int hflags = huf_flags();
    (void)hflags;
    uint8_t *planes = NULL;
    if (e->k == K_ANS || e->k == K_FLOAT) {
        dc_compress_options o = {sizeof(o), e->k == K_ANS ? DC_CODEC_ANS : DC_CODEC_FLOAT,
                                 e->k == K_FLOAT ? (int)float_width : 0, in->chunk, NULL};
        if (dc_cctx_create(&o, &cc) != DC_OK) die("cctx");
    }
    if (e->k == K_ZSTD || e->k == K_BG) zc = ZSTD_createCCtx();
    if (e->k == K_BG && !(planes = malloc(in->chunk))) die("out of memory");
    e->total = 0;
    for (size_t i = 0; i < in->nchunks; i++) {
        const uint8_t *s = in->src + i * in->chunk;
        size_t len = chunk_len(in, i), w = 0;
        uint8_t *d = e->cdata[i];
        switch (e->k) {
        case K_ANS:
        case K_FLOAT:
            if (dc_chunk_compress(cc, s, len, d, dc_compress_bound(len), &w) != DC_OK)
                die("ans compress");
            break;
        case K_BG:
            w = bg_compress(e, zc, s, len, d, planes);
            break;
        case K_ZSTD:
            w = ZSTD_compressCCtx(zc, d, ZSTD_compressBound(len), s, len, e->level);
            if (ZSTD_isError(w)) die("zstd compress");
            break;
        case K_LZ4: {
            int r = e->level ? LZ4_compress_HC((const char *)s, (char *)d, (int)len,
                                               LZ4_compressBound((int)len), e->level)
                             : LZ4_compress_default((const char *)s, (char *)d, (int)len,
                                                    LZ4_compressBound((int)len));
            if (r <= 0) die("lz4 compress");
            w = (size_t)r;
            break;
        }
        case K_MEMCPY:
            memcpy(d, s, len);
            w = len;
            break;
        case K_HUF:
#ifdef DC_BENCH_HUF
            w = huf_compress(d, s, len, hflags);
#endif
            break;
        case K_HTS: {
#ifdef DC_BENCH_HTSCODECS
            unsigned osz = (unsigned)bound(K_HTS, len);
            if (!rans_compress_to_4x16((unsigned char *)s, (unsigned)len, d, &osz, HTS_ORDER))
                die("htscodecs compress");
            w = osz;
#endif
            break;
        }
        }
        e->csize[i] = w;
        e->total += w;
    }
    dc_cctx_free(cc);
    ZSTD_freeCCtx(zc);
    free(planes);
}

/* One decoding thread: it claims chunks from the shared counter until none
 * is left, as dc_decompress's threads do, so a thread slowed by the machine
 * takes fewer; it decodes each claimed chunk `loops` times (no two threads
 * write the same chunk). */
typedef struct range {
    const coder *c;
    const input *in;
    atomic_size_t *next;
    int ok;
} range;

static void *decode_range(void *arg) {
    range *r = (range *)arg;
    const encset *e = r->c->e;
    const input *in = r->in;
    dc_dctx *dd = NULL;
    ZSTD_DCtx *zd = NULL;
    int hflags = huf_flags();
    (void)hflags;
    uint8_t *planes = NULL;
    if (e->k == K_ANS || e->k == K_FLOAT) {
        dc_decompress_options o = {sizeof(o), r->c->simd, NULL, 0};
        if (dc_dctx_create(&o, &dd) != DC_OK) return NULL;
    }
    if (e->k == K_ZSTD || e->k == K_BG) zd = ZSTD_createDCtx();
    if (e->k == K_BG && !(planes = malloc(in->chunk))) return NULL;
    r->ok = 1;
    for (;;) {
        const size_t i = atomic_fetch_add_explicit(r->next, 1, memory_order_relaxed);
        if (i >= in->nchunks) break;
        for (int l = 0; l < in->loops; l++) {
            uint8_t *o = in->out + i * in->chunk;
            const uint8_t *s = e->cdata[i];
            size_t len = chunk_len(in, i), w = 0;
            switch (e->k) {
            case K_ANS:
            case K_FLOAT:
                if (dc_chunk_decompress(dd, s, e->csize[i], o, len, &w) != DC_OK) r->ok = 0;
                break;
            case K_BG:
                if (bg_decompress(e, zd, s, e->csize[i], o, len, planes)) w = len;
                break;
            case K_ZSTD:
                w = ZSTD_decompressDCtx(zd, o, len, s, e->csize[i]);
                break;
            case K_LZ4:
                w = (size_t)LZ4_decompress_safe((const char *)s, (char *)o, (int)e->csize[i],
                                                (int)len);
                break;
            case K_MEMCPY:
                memcpy(o, s, len);
                w = len;
                break;
            case K_HUF:
#ifdef DC_BENCH_HUF
                if (huf_decompress(o, len, s, e->csize[i], r->c->variant, hflags)) w = len;
#endif
                break;
            case K_HTS: {
#ifdef DC_BENCH_HTSCODECS
                unsigned osz = (unsigned)len;
                if (rans_uncompress_to_4x16((unsigned char *)s, (unsigned)e->csize[i], o, &osz))
                    w = osz;
#endif
                break;
            }
            }
            if (w != len) r->ok = 0;
        }
    }
    dc_dctx_free(dd);
    ZSTD_freeDCtx(zd);
    free(planes);
    return NULL;
}

static double decode_all(const coder *c, const input *in, int threads) {
    range rs[64];
    pthread_t th[64];
    atomic_size_t next;
    atomic_init(&next, 0);
    double t0 = now();
    for (int t = 0; t < threads; t++) {
        rs[t] = (range){c, in, &next, 0};
        if (threads == 1)
            decode_range(&rs[t]);
        else if (pthread_create(&th[t], NULL, decode_range, &rs[t]) != 0)
            die("pthread_create");
    }
    if (threads > 1)
        for (int t = 0; t < threads; t++)
            pthread_join(th[t], NULL);
    double dt = now() - t0;
    for (int t = 0; t < threads; t++)
        if (!rs[t].ok) {
            fprintf(stderr, "dc-bench: %s: ", c->name);
            die("decode failed");
        }
    return dt;
}

/* MB/s of the best and the median of `reps` times (sorted in place). */
/* The median of v[0 .. n) (sorted in place). */
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return (v[(n - 1) / 2] + v[n / 2]) / 2;
}

static void speeds(double *t, int reps, size_t n, double *best, double *med) {
    *med = (double)n / median(t, reps) / 1e6;
    *best = (double)n / t[0] / 1e6;
}

static const char *coder_simd(const coder *c) {
    switch (c->e->k) {
    case K_ANS:
    case K_FLOAT:
        return dc_simd_name(c->simd);
    case K_HUF:
        return c->variant == 1 ? "x1" : "x2";
    case K_HTS:
        return "auto";
    default:
        return "-";
    }
}

/* The decode kernel that ran ("-" where the coder has no SIMD choice). */
static const char *coder_kernel(const coder *c, size_t chunk) {
    switch (c->e->k) {
    case K_ANS:
    case K_FLOAT:
        return dc_simd_name(c->simd == DC_SIMD_AUTO ? dc_simd_best() : c->simd);
    case K_HUF:
        return huf_flags() ? (c->variant == 1 ? "4X1-bmi2" : "4X2-bmi2")
                           : (c->variant == 1 ? "4X1" : "4X2");
    case K_HTS:
        return hts_kernel(chunk);
    default:
        return "-";
    }
}

static void print_json(const char *file, const char *codec, const coder *c, const input *in,
                       int threads, int reps, double entropy_bytes) {
    const encset *e = c->e;
    double ratio = (double)in->n / (double)e->total, bound0 = (double)in->n / entropy_bytes;
    printf("{\"file\":\"%s\",\"codec\":\"%s\",\"name\":\"%s\",\"level\":%d,\"simd\":\"%s\","
           "\"kernel\":\"%s\",\"threads\":%d,\"chunk_size\":%zu,\"reps\":%d,\"loops\":%d,\"raw_"
           "bytes\":%zu,"
           "\"stored_bytes\":%zu,\"ratio\":%.4f,\"entropy_ratio\":%.4f,\"ratio_of_bound\":%.4f,"
           "\"enc_mbps\":%.1f,\"enc_mbps_median\":%.1f,\"dec_mbps\":%.1f,\"dec_mbps_median\":%.1f,"
           "\"dec_scaling_median\":%.3f}\n",
           file, codec, c->name, e->level, coder_simd(c), coder_kernel(c, in->chunk), threads,
           in->chunk, reps, in->loops, in->n, e->total, ratio, bound0, ratio / bound0, c->enc_best,
           c->enc_med, c->dec_best, c->dec_med, c->scaling);
}

static void print_table(const char *file, const input *in, int threads, int reps, coder *cs, int nc,
                        const coder *huf_best, double entropy_bytes) {
    const coder *z1 = NULL;
    for (int i = 0; i < nc; i++)
        if (strcmp(cs[i].name, "zstd1") == 0) z1 = &cs[i];
    fprintf(stderr,
            "\n# %s: %zu bytes, chunk %zu, %d thread(s), %d interleaved reps x %d pass(es), "
            "medians\n",
            file, in->n, in->chunk, threads, reps, in->loops);
    fprintf(stderr, "%-24s %8s %9s %9s %9s %8s%s\n", "coder", "ratio", "enc MB/s", "dec MB/s",
            "dec/zstd1", "dec/huf", threads > 1 ? "  vs 1 thread" : "");
    fprintf(stderr, "%-24s %8.4f %9s %9s %9s %8s\n", "order-0 bound", (double)in->n / entropy_bytes,
            "-", "-", "-", "-");
    for (int i = 0; i <= nc; i++) {
        const coder *c = i < nc ? &cs[i] : huf_best;
        if (!c) continue;
        char label[48], vz[16] = "-", vh[16] = "-";
        const char *lab = label;
        if (((c->e->k == K_ANS || c->e->k == K_FLOAT) && c->simd == DC_SIMD_AUTO) ||
            c->e->k == K_HTS)
            snprintf(label, sizeof(label), "%.24s (%.12s)", c->name, coder_kernel(c, in->chunk));
        else if (c == huf_best)
            snprintf(label, sizeof(label), "huf-best (%.12s)", coder_simd(c));
        else
            lab = c->name;
        if (z1) snprintf(vz, sizeof(vz), "%.2fx", c->dec_med / z1->dec_med);
        if (huf_best) snprintf(vh, sizeof(vh), "%.2fx", c->dec_med / huf_best->dec_med);
        char vs[24] = "";
        if (threads > 1) snprintf(vs, sizeof(vs), "  %.2fx", c->scaling);
        fprintf(stderr, "%-24s %8.4f %9.1f %9.1f %9s %8s%s\n", lab,
                (double)in->n / (double)c->e->total, c->enc_med, c->dec_med, vz, vh, vs);
    }
    fflush(stderr);
}

static int wanted(const char *list, const char *name) {
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *q = strchr(p, ',');
        size_t l = q ? (size_t)(q - p) : strlen(p);
        if (l == len && strncmp(p, name, len) == 0) return 1;
        if (!q) break;
        p = q + 1;
    }
    return 0;
}

/* Order-0 entropy in bits of the m values v[0..m) below 2^bits (bits <= 16). */
static double entropy_of(const uint16_t *v, size_t m, unsigned bits, uint32_t *hist) {
    memset(hist, 0, sizeof(uint32_t) << bits);
    for (size_t i = 0; i < m; i++)
        hist[v[i]]++;
    double h = 0;
    for (size_t s = 0; s < ((size_t)1 << bits); s++)
        if (hist[s]) h -= (double)hist[s] * log2((double)hist[s] / (double)m);
    return h;
}

/* --float: order-0 bounds per chunk, as ratios (raw bits / bound bits):
 * each byte plane, as it is and rotated; the exponent coded and everything
 * else stored (DFloat11); for 2-byte types whole elements. */
static void float_bounds(const char *file, const uint8_t *src, size_t n, size_t chunk) {
    const unsigned w = float_width;
    const unsigned ebits = !strcmp(float_type, "f16") ? 5 : 8;
    const unsigned eshift = w == 4 ? 23 : ebits == 5 ? 10 : 7;
    double plane[2][4] = {{0}}, expo = 0, elem = 0, raw_bits = 8.0 * (double)n;
    size_t tails = 0;
    uint16_t *v = malloc((chunk / w + 1) * sizeof(uint16_t));
    uint32_t *hist = malloc(sizeof(uint32_t) << 16);
    if (!v || !hist) die("out of memory");
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk, m = len / w;
        const uint8_t *c = src + off;
        tails += len - m * w;
        for (int r = 0; r < 2; r++)
            for (unsigned k = 0; k < w; k++) {
                for (size_t i = 0; i < m; i++) {
                    const uint8_t *b = c + w * i;
                    v[i] = (uint8_t)(r ? (b[k] << 1 | b[(k + w - 1) % w] >> 7) : b[k]);
                }
                plane[r][k] += entropy_of(v, m, 8, hist);
            }
        for (size_t i = 0; i < m; i++) {
            uint32_t x = 0;
            for (unsigned k = 0; k < w; k++)
                x |= (uint32_t)c[w * i + k] << (8 * k);
            v[i] = (uint16_t)((x >> eshift) & ((1u << ebits) - 1));
        }
        expo += entropy_of(v, m, ebits, hist) + (double)m * (8.0 * w - ebits);
        if (w == 2) {
            for (size_t i = 0; i < m; i++)
                v[i] = (uint16_t)(c[2 * i] | c[2 * i + 1] << 8);
            elem += entropy_of(v, m, 16, hist);
        }
    }
    free(v), free(hist);
    double t8 = 8.0 * (double)tails, sum[2] = {t8, t8};
    printf("{\"file\":\"%s\",\"float\":\"%s\",\"chunk_size\":%zu,\"bounds\":{", file, float_type,
           chunk);
    for (int r = 0; r < 2; r++) {
        printf("%s\"%s\":[", r ? "," : "", r ? "planes_rotated" : "planes");
        for (unsigned k = 0; k < w; k++) {
            sum[r] += plane[r][k];
            printf("%s%.4f", k ? "," : "", plane[r][k] / ((double)(n - tails) / w));
        }
        printf("]");
    }
    printf(",\"planes_ratio\":%.4f,\"planes_rotated_ratio\":%.4f,\"exponent_bits\":%.4f,"
           "\"exponent_only_ratio\":%.4f",
           raw_bits / sum[0], raw_bits / sum[1],
           (expo / ((double)(n - tails) / w)) - (8.0 * w - ebits), raw_bits / (expo + t8));
    if (w == 2) printf(",\"element_order0_ratio\":%.4f", raw_bits / (elem + t8));
    printf("}}\n");
    fprintf(stderr, "\n# %s as %s, chunk %zu: order-0 bounds (bits per plane byte; ratios)\n", file,
            float_type, chunk);
    for (int r = 0; r < 2; r++) {
        fprintf(stderr, "%-24s", r ? "planes, rotated" : "planes (byte groups)");
        for (unsigned k = 0; k < w; k++)
            fprintf(stderr, " %.3f", plane[r][k] / ((double)(n - tails) / w));
        fprintf(stderr, "  -> ratio %.4f\n", raw_bits / sum[r]);
    }
    fprintf(stderr, "%-24s %.3f bits -> ratio %.4f\n", "exponent only (DFloat11)",
            expo / ((double)(n - tails) / w) - (8.0 * w - ebits), raw_bits / (expo + t8));
    if (w == 2)
        fprintf(stderr, "%-24s ratio %.4f\n", "whole elements (2^16)", raw_bits / (elem + t8));
}

static void run_file(const char *file, const uint8_t *src, size_t n, size_t chunk,
                     const char *codecs, int reps, int threads) {
    /* Inputs under 16 MiB are passed over several times per timed repetition. */
    int loops = n >= LOOP_BYTES ? 1 : (int)(LOOP_BYTES / n);
    input in = {src, n, chunk, (n + chunk - 1) / chunk, NULL, loops > 1000 ? 1000 : loops};
    if (in.nchunks == 0) return;
    double ent = 0;
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        ent += gen_entropy_bits(src + off, len) / 8.0 * (double)len;
    }

    /* Encoders, then the decoders that read each one's output. */
    if (float_width) float_bounds(file, src, n, chunk);
    encset es[24];
    coder cs[32];
    int ne = 0, nc = 0;
#define ADD_ENC(kk, lvl) (es[ne] = (encset){.k = (kk), .level = (lvl)}, &es[ne++])
#define ADD_DEC(nm, ee, sm, var)                                                                   \
    do {                                                                                           \
        cs[nc] = (coder){.e = (ee), .simd = (sm), .variant = (var)};                               \
        snprintf(cs[nc].name, sizeof(cs[nc].name), "%s", (nm));                                    \
        nc++;                                                                                      \
    } while (0)
    if (wanted(codecs, "ans")) {
        encset *e = ADD_ENC(K_ANS, 0);
        ADD_DEC("ans-auto", e, DC_SIMD_AUTO, 0);
        for (int s = DC_SIMD_SCALAR; s <= DC_SIMD_NEON; s++)
            if (dc_simd_supported((dc_simd)s)) {
                char nm[32];
                snprintf(nm, sizeof(nm), "ans-%s", dc_simd_name((dc_simd)s));
                ADD_DEC(nm, e, (dc_simd)s, 0);
            }
    }
    static const struct {
        const char *name;
        kind k;
        int level;
    } simple[] = {{"zstd1", K_ZSTD, 1},
                  {"zstd3", K_ZSTD, 3},
                  {"zstd19", K_ZSTD, 19},
                  {"lz4", K_LZ4, 0},
                  {"memcpy", K_MEMCPY, 0}};
    for (size_t s = 0; s < sizeof(simple) / sizeof(simple[0]); s++)
        if (wanted(codecs, simple[s].name))
            ADD_DEC(simple[s].name, ADD_ENC(simple[s].k, simple[s].level), 0, 0);
    if (float_width) {
        if (wanted(codecs, "float")) {
            encset *e = ADD_ENC(K_FLOAT, 0);
            ADD_DEC("float-auto", e, DC_SIMD_AUTO, 0);
            if (dc_simd_supported(DC_SIMD_SCALAR)) ADD_DEC("float-scalar", e, DC_SIMD_SCALAR, 0);
        }
        static const struct {
            const char *name;
            int level, rot;
        } bg[] = {{"zstd1-bg", 1, 0},
                  {"zstd19-bg", 19, 0},
                  {"zstd19-bgrot", 19, 1},
#ifdef DC_BENCH_HUF
                  {"huf-bg", 0, 0},
                  {"huf-bgrot", 0, 1}
#endif
        };
        for (size_t b = 0; b < sizeof(bg) / sizeof(bg[0]); b++)
            if (wanted(codecs, bg[b].name)) {
                encset *e = ADD_ENC(K_BG, bg[b].level);
                e->rot = bg[b].rot;
                ADD_DEC(bg[b].name, e, 0, 0);
            }
    }
#ifdef DC_BENCH_HUF
    if (wanted(codecs, "huf")) {
        encset *e = ADD_ENC(K_HUF, 0);
        ADD_DEC("huf-x1", e, 0, 1);
        ADD_DEC("huf-x2", e, 0, 2);
    }
#endif
#ifdef DC_BENCH_HTSCODECS
    if (wanted(codecs, "htscodecs")) ADD_DEC("htscodecs", ADD_ENC(K_HTS, 0), 0, 0);
#endif
#undef ADD_ENC
#undef ADD_DEC
    if (nc == 0) return;

    in.out = malloc(n);
    if (!in.out) die("out of memory");
    for (int k = 0; k < ne; k++) {
        encset *e = &es[k];
        int slow = (e->k == K_ZSTD || e->k == K_BG) && e->level >= 19; /* zstd -19: one pass */
        e->reps = slow ? 1 : reps;
        e->loops = slow ? 1 : in.loops;
        e->cdata = calloc(in.nchunks, sizeof(*e->cdata));
        e->csize = calloc(in.nchunks, sizeof(*e->csize));
        if (!e->cdata || !e->csize) die("out of memory");
        for (size_t i = 0; i < in.nchunks; i++)
            if (!(e->cdata[i] = malloc(bound(e->k, chunk)))) die("out of memory");
    }

    for (int r = 0; r < reps; r++)
        for (int k = 0; k < ne; k++)
            if (r < es[k].reps) {
                double t0 = now();
                for (int l = 0; l < es[k].loops; l++)
                    compress_all(&es[k], &in);
                es[k].t[r] = (now() - t0) / es[k].loops;
            }
    /* with threads, each repetition times the coder on 1 thread right
     * before T threads: the scaling is the median of the pairs' ratios,
     * each measured under the same machine conditions */
    for (int r = 0; r < reps; r++)
        for (int c = 0; c < nc; c++) {
            for (int pass = threads > 1 ? 0 : 1; pass < 2; pass++) {
                memset(in.out, 0, n);
                const double t = decode_all(&cs[c], &in, pass ? threads : 1) / in.loops;
                if (memcmp(in.out, src, n) != 0) {
                    fprintf(stderr, "dc-bench: %s: ", cs[c].name);
                    die("round trip mismatch");
                }
                *(pass ? &cs[c].t[r] : &cs[c].t1[r]) = t;
            }
        }

    const coder *huf_best = NULL;
    static coder best_copy;
    for (int c = 0; c < nc; c++) {
        double eb, em;
        speeds(cs[c].e->t, cs[c].e->reps, n, &eb, &em); /* re-sorting is harmless */
        cs[c].enc_best = eb, cs[c].enc_med = em;
        if (threads > 1) {
            double q[MAX_REPS];
            for (int r = 0; r < reps; r++)
                q[r] = cs[c].t1[r] / cs[c].t[r];
            cs[c].scaling = median(q, reps);
        }
        speeds(cs[c].t, reps, n, &cs[c].dec_best, &cs[c].dec_med);
        if (cs[c].e->k == K_HUF && (!huf_best || cs[c].dec_med > huf_best->dec_med))
            huf_best = &cs[c];
        print_json(file, kind_names[cs[c].e->k], &cs[c], &in, threads, reps, ent);
    }
    if (huf_best) {
        best_copy = *huf_best;
        snprintf(best_copy.name, sizeof(best_copy.name), "huf-best");
        huf_best = &best_copy;
        print_json(file, "huf", huf_best, &in, threads, reps, ent);
    }
    fflush(stdout);
    print_table(file, &in, threads, reps, cs, nc, huf_best, ent);

    for (int k = 0; k < ne; k++) {
        for (size_t i = 0; i < in.nchunks; i++)
            free(es[k].cdata[i]);
        free(es[k].cdata);
        free(es[k].csize);
    }
    free(in.out);
}

static void usage(void) {
    fprintf(stderr,
            "usage: dc-bench [--chunk-size N]... [--reps R] [--threads T] [--codecs LIST]\n"
            "                [--float bf16|f16|f32] FILE...\n"
            "  --chunk-size N  chunk size in bytes (repeatable; default %zu)\n"
            "  --reps R        interleaved repetitions, best and median reported (default 5)\n"
            "  --threads T     decode chunks on T threads (default 1); each repetition\n"
            "                  also decodes on 1 thread just before, and the table adds\n"
            "                  the median of the repetitions' 1-thread / T-thread ratios\n"
            "  --codecs LIST   comma list of ans,zstd1,zstd3,zstd19,lz4,memcpy,huf,htscodecs\n"
            "                  (default all built in:%s%s); with --float also float,\n"
            "                  zstd1-bg,zstd19-bg,zstd19-bgrot,huf-bg,huf-bgrot (byte grouped)\n"
            "  --float T       FILE holds floats of type T (bf16, f16, f32): the lossless\n"
            "                  float codec, byte-grouped baselines and order-0 bounds\n",
            (size_t)DC_CHUNK_SIZE_DEFAULT,
#ifdef DC_BENCH_HUF
            " huf",
#else
            " no huf",
#endif
#ifdef DC_BENCH_HTSCODECS
            " htscodecs"
#else
            " no htscodecs"
#endif
    );
    exit(2);
}

int main(int argc, char **argv) {
    size_t chunks[16];
    int nchunks = 0, reps = 5, threads = 1;
    const char *codecs = "ans,zstd1,zstd3,zstd19,lz4,memcpy,huf,htscodecs";
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (i + 1 >= argc) usage();
        if (strcmp(argv[i], "--chunk-size") == 0 && nchunks < 16)
            chunks[nchunks++] = (size_t)strtoull(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--codecs") == 0)
            codecs = argv[++i];
        else if (strcmp(argv[i], "--float") == 0) {
            float_type = argv[++i];
            float_width = !strcmp(float_type, "f32")                                  ? 4
                          : !strcmp(float_type, "bf16") || !strcmp(float_type, "f16") ? 2
                                                                                      : 0;
            if (!float_width) usage();
            if (!strcmp(codecs, "ans,zstd1,zstd3,zstd19,lz4,memcpy,huf,htscodecs"))
                codecs = "float,ans,zstd1,zstd19,zstd1-bg,zstd19-bg,zstd19-bgrot,huf-bg,huf-bgrot,"
                         "memcpy";
        } else
            usage();
    }
    if (i >= argc || reps < 1 || reps > MAX_REPS || threads < 1 || threads > 64) usage();
    if (nchunks == 0) chunks[nchunks++] = DC_CHUNK_SIZE_DEFAULT;
    for (int c = 0; c < nchunks; c++)
        if (chunks[c] < DC_CHUNK_SIZE_MIN || chunks[c] > DC_CHUNK_SIZE_MAX) usage();
#ifndef DC_BENCH_HUF
    if (wanted(codecs, "huf")) fprintf(stderr, "dc-bench: built without Huff0; huf skipped\n");
#endif
#ifndef DC_BENCH_HTSCODECS
    if (wanted(codecs, "htscodecs"))
        fprintf(stderr, "dc-bench: built without htscodecs; htscodecs skipped\n");
#endif
    fprintf(stderr, "dc-bench: ANS auto kernel: %s\n", dc_simd_name(dc_simd_best()));
    for (; i < argc; i++) {
        size_t n;
        uint8_t *src = gen_read_file(argv[i], &n);
        if (!src) {
            fprintf(stderr, "dc-bench: cannot read %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        for (int c = 0; c < nchunks; c++)
            run_file(base, src, n, chunks[c], codecs, reps, threads);
        free(src);
    }
    return 0;
}
