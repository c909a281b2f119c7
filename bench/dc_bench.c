/*
 * dc_bench.c -- codec benchmark: ANS (every SIMD path) against zstd, lz4 and
 * memcpy on the same chunks, in one run. One JSON object per line.
 *
 *   dc-bench [--chunk-size N]... [--reps R] [--threads T] FILE...
 *
 * Ratios count every byte stored (ANS: chunk headers included). Speeds are
 * MB/s of raw data (10^6 bytes), single thread unless --threads; "dec_mbps" is
 * the best of R repetitions, "dec_mbps_median" the median. zstd and lz4 are
 * called directly per chunk (no DC chunk header, no checksum); ANS goes
 * through the public dc_chunk_decompress(), checksum verification included.
 */
#define _POSIX_C_SOURCE 200809L
#include "doublecomp.h"

#include <errno.h>
#include <lz4.h>
#include <lz4hc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "../tests/gen.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef enum { K_ANS, K_ZSTD, K_LZ4, K_MEMCPY } kind;

typedef struct job {
    kind k;
    int level;
    dc_simd simd;
    const uint8_t *src;
    size_t n, chunk, nchunks;
    uint8_t **cdata; /* compressed chunk i */
    size_t *csize;
    uint8_t *out;
} job;

static void die(const char *msg) {
    fprintf(stderr, "dc-bench: %s\n", msg);
    exit(1);
}

static size_t compress_all(job *j) {
    size_t total = 0;
    dc_cctx *cc = NULL;
    ZSTD_CCtx *zc = NULL;
    if (j->k == K_ANS) {
        dc_compress_options o = {sizeof(o), DC_CODEC_ANS, 0, j->chunk, NULL};
        if (dc_cctx_create(&o, &cc) != DC_OK) die("cctx");
    }
    if (j->k == K_ZSTD) zc = ZSTD_createCCtx();
    for (size_t i = 0; i < j->nchunks; i++) {
        const uint8_t *s = j->src + i * j->chunk;
        size_t len = i + 1 == j->nchunks ? j->n - i * j->chunk : j->chunk;
        size_t w = 0;
        switch (j->k) {
        case K_ANS:
            if (dc_chunk_compress(cc, s, len, j->cdata[i], dc_compress_bound(len), &w) != DC_OK)
                die("ans compress");
            break;
        case K_ZSTD:
            w = ZSTD_compressCCtx(zc, j->cdata[i], ZSTD_compressBound(len), s, len, j->level);
            if (ZSTD_isError(w)) die("zstd compress");
            break;
        case K_LZ4: {
            int r = j->level ? LZ4_compress_HC((const char *)s, (char *)j->cdata[i], (int)len,
                                               LZ4_compressBound((int)len), j->level)
                             : LZ4_compress_default((const char *)s, (char *)j->cdata[i], (int)len,
                                                    LZ4_compressBound((int)len));
            if (r <= 0) die("lz4 compress");
            w = (size_t)r;
            break;
        }
        case K_MEMCPY:
            memcpy(j->cdata[i], s, len);
            w = len;
            break;
        }
        j->csize[i] = w;
        total += w;
    }
    dc_cctx_free(cc);
    ZSTD_freeCCtx(zc);
    return total;
}

typedef struct range {
    job *j;
    size_t first, last;
    int ok;
} range;

static void *decode_range(void *arg) {
    range *r = (range *)arg;
    job *j = r->j;
    dc_dctx *dd = NULL;
    ZSTD_DCtx *zd = NULL;
    if (j->k == K_ANS) {
        dc_decompress_options o = {sizeof(o), j->simd, NULL};
        if (dc_dctx_create(&o, &dd) != DC_OK) return NULL;
    }
    if (j->k == K_ZSTD) zd = ZSTD_createDCtx();
    r->ok = 1;
    for (size_t i = r->first; i < r->last; i++) {
        uint8_t *o = j->out + i * j->chunk;
        size_t len = i + 1 == j->nchunks ? j->n - i * j->chunk : j->chunk, w = 0;
        switch (j->k) {
        case K_ANS:
            if (dc_chunk_decompress(dd, j->cdata[i], j->csize[i], o, len, &w) != DC_OK) r->ok = 0;
            break;
        case K_ZSTD:
            w = ZSTD_decompressDCtx(zd, o, len, j->cdata[i], j->csize[i]);
            break;
        case K_LZ4:
            w = (size_t)LZ4_decompress_safe((const char *)j->cdata[i], (char *)o, (int)j->csize[i],
                                            (int)len);
            break;
        case K_MEMCPY:
            memcpy(o, j->cdata[i], len);
            w = len;
            break;
        }
        if (w != len) r->ok = 0;
    }
    dc_dctx_free(dd);
    ZSTD_freeDCtx(zd);
    return NULL;
}

static double decode_all(job *j, int threads) {
    range rs[64];
    pthread_t th[64];
    double t0 = now();
    for (int t = 0; t < threads; t++) {
        rs[t] = (range){j, j->nchunks * (size_t)t / (size_t)threads,
                        j->nchunks * (size_t)(t + 1) / (size_t)threads, 0};
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
        if (!rs[t].ok) die("decode failed");
    return dt;
}

static void run(const char *file, const uint8_t *src, size_t n, size_t chunk, kind k, int level,
                dc_simd simd, int reps, int threads, double entropy_bytes) {
    static const char *names[] = {"ans", "zstd", "lz4", "memcpy"};
    job j = {k, level, simd, src, n, chunk, (n + chunk - 1) / chunk, NULL, NULL, NULL};
    if (j.nchunks == 0) return;
    j.cdata = calloc(j.nchunks, sizeof(*j.cdata));
    j.csize = calloc(j.nchunks, sizeof(*j.csize));
    j.out = malloc(n);
    if (!j.cdata || !j.csize || !j.out) die("out of memory");
    for (size_t i = 0; i < j.nchunks; i++) {
        size_t bound = dc_compress_bound(chunk) + (size_t)ZSTD_compressBound(chunk) +
                       (size_t)LZ4_compressBound((int)chunk);
        if (!(j.cdata[i] = malloc(bound))) die("out of memory");
    }
    double enc[32], dec[32];
    size_t total = 0;
    int enc_reps = level >= 19 ? 1 : reps; /* zstd -19 is slow; once is enough */
    for (int r = 0; r < enc_reps; r++) {
        double t0 = now();
        total = compress_all(&j);
        enc[r] = now() - t0;
    }
    for (int r = 0; r < reps; r++) {
        memset(j.out, 0, n);
        dec[r] = decode_all(&j, threads);
        if (memcmp(j.out, src, n) != 0) die("round trip mismatch");
    }
    qsort(enc, (size_t)enc_reps, sizeof(double), cmp_double);
    qsort(dec, (size_t)reps, sizeof(double), cmp_double);
    printf("{\"file\":\"%s\",\"codec\":\"%s\",\"level\":%d,\"simd\":\"%s\",\"threads\":%d,"
           "\"chunk_size\":%zu,\"raw_bytes\":%zu,\"stored_bytes\":%zu,\"ratio\":%.4f,"
           "\"entropy_ratio\":%.4f,\"enc_mbps\":%.1f,\"dec_mbps\":%.1f,\"dec_mbps_median\":%.1f}\n",
           file, names[k], level, k == K_ANS ? dc_simd_name(simd) : "-", threads, chunk, n, total,
           (double)n / (double)total, (double)n / entropy_bytes, (double)n / enc[0] / 1e6,
           (double)n / dec[0] / 1e6, (double)n / dec[reps / 2] / 1e6);
    fflush(stdout);
    for (size_t i = 0; i < j.nchunks; i++)
        free(j.cdata[i]);
    free(j.cdata);
    free(j.csize);
    free(j.out);
}

static void usage(void) {
    fprintf(stderr,
            "usage: dc-bench [--chunk-size N]... [--reps R] [--threads T] [--codecs LIST] FILE...\n"
            "  --chunk-size N  chunk size in bytes (repeatable; default %zu)\n"
            "  --reps R        repetitions, best and median reported (default 5)\n"
            "  --threads T     decode chunks on T threads (default 1)\n"
            "  --codecs LIST   comma list of ans,zstd1,zstd3,zstd19,lz4,memcpy (default all)\n",
            (size_t)DC_CHUNK_SIZE_DEFAULT);
    exit(2);
}

int main(int argc, char **argv) {
    size_t chunks[16];
    int nchunks = 0, reps = 5, threads = 1;
    const char *codecs = "ans,zstd1,zstd3,zstd19,lz4,memcpy";
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
        else
            usage();
    }
    if (i >= argc || reps < 1 || reps > 32 || threads < 1 || threads > 64) usage();
    if (nchunks == 0) chunks[nchunks++] = DC_CHUNK_SIZE_DEFAULT;
    for (int c = 0; c < nchunks; c++)
        if (chunks[c] < DC_CHUNK_SIZE_MIN || chunks[c] > DC_CHUNK_SIZE_MAX) usage();
    for (; i < argc; i++) {
        size_t n;
        uint8_t *src = gen_read_file(argv[i], &n);
        if (!src) {
            fprintf(stderr, "dc-bench: cannot read %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        for (int c = 0; c < nchunks; c++) {
            size_t chunk = chunks[c];
            double ent = 0;
            for (size_t off = 0; off < n; off += chunk) {
                size_t len = n - off < chunk ? n - off : chunk;
                ent += gen_entropy_bits(src + off, len) / 8.0 * (double)len;
            }
            if (strstr(codecs, "ans"))
                for (int s = DC_SIMD_SCALAR; s <= DC_SIMD_AVX512; s++)
                    if (dc_simd_supported((dc_simd)s))
                        run(base, src, n, chunk, K_ANS, 0, (dc_simd)s, reps, threads, ent);
            if (strstr(codecs, "zstd1")) run(base, src, n, chunk, K_ZSTD, 1, 0, reps, threads, ent);
            if (strstr(codecs, "zstd3")) run(base, src, n, chunk, K_ZSTD, 3, 0, reps, threads, ent);
            if (strstr(codecs, "zstd19"))
                run(base, src, n, chunk, K_ZSTD, 19, 0, reps, threads, ent);
            if (strstr(codecs, "lz4")) run(base, src, n, chunk, K_LZ4, 0, 0, reps, threads, ent);
            if (strstr(codecs, "memcpy"))
                run(base, src, n, chunk, K_MEMCPY, 0, 0, reps, threads, ent);
        }
        free(src);
    }
    return 0;
}
