/*
 * test_threads.c -- one .dcz decoded from many threads at once, through the
 * reader API (each thread its own reader, then one reader shared by all) and
 * the chunk API (dc_reader_chunk + dc_chunk_decompress, dc_checksum32), and
 * dc_decompress with a context of 3 threads. Built
 * with -fsanitize=thread (cmake -DDC_TSAN=ON) it is the ThreadSanitizer stage
 * of CI; in other builds it checks the results.
 *
 *   test_threads write FILE    writes the test file
 *   test_threads read FILE     decodes it from THREADS threads
 *
 * The two steps run as two processes: the library's lazily chosen kernels
 * (the checksum's) are then first used by the racing threads, not by the
 * writer.
 */
#define _POSIX_C_SOURCE 200809L /* pthread_barrier_t */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doublecomp.h"
#include "gen.h"

#define THREADS 8
#define NT      4
static const size_t k_sizes[NT] = {70000, 4096, 33333, 1};
static const dc_codec k_codecs[2] = {DC_CODEC_ANS, DC_CODEC_ZSTD};
/* the second file's codec: zstd, or raw in a build without zstd */
static dc_codec codec_of(int c) {
    return c && !dc_codec_supported(k_codecs[c]) ? DC_CODEC_RAW : k_codecs[c];
}
static uint8_t *g_want[NT];

static void make_data(void) {
    for (size_t i = 0; i < NT; i++) {
        g_want[i] = malloc(k_sizes[i]);
        if (!g_want[i]) exit(4);
        gen_laplace(g_want[i], k_sizes[i], 5.0, 0.1, 100 + i);
    }
}

static int write_file(const char *path) {
    for (int c = 0; c < 2; c++) {
        char p[4096];
        snprintf(p, sizeof(p), "%s%s", path, c ? ".zstd" : "");
        dc_writer_options o = {sizeof(o), codec_of(c), 0, 4096, 2, 1, NULL, 0};
        dc_writer *w;
        if (dc_writer_create(p, &o, &w) != DC_OK) return 3;
        for (size_t i = 0; i < NT; i++) {
            char name[32];
            snprintf(name, sizeof(name), "t%zu", i);
            float scale = 0.01f;
            dc_tensor_desc d = {.struct_size = sizeof(d),
                                .name = name,
                                .ndim = 1,
                                .dims = {k_sizes[i]},
                                .source_dtype = DC_DTYPE_F32,
                                .dtype = DC_DTYPE_I8,
                                .bits = 8,
                                .scales = &scale,
                                .n_scales = 1,
                                .prune_method = DC_PRUNE_NONE};
            if (dc_writer_add_tensor(w, &d, g_want[i], k_sizes[i]) != DC_OK) {
                dc_writer_abort(w);
                return 2;
            }
        }
        if (dc_writer_finish(w) != DC_OK) return 3;
    }
    return 0;
}

typedef struct job {
    const char *path;
    const dc_reader *shared; /* NULL: open one */
    pthread_barrier_t *start;
    int errors;
} job;

static void decode_all(job *j, const dc_reader *r) {
    dc_dctx *dctx = NULL;
    if (dc_dctx_create(NULL, &dctx) != DC_OK) {
        j->errors++;
        return;
    }
    uint8_t *buf = malloc(70000);
    for (size_t i = 0; buf && i < dc_reader_tensor_count(r); i++) {
        /* reader API, 2 decoding threads of its own */
        memset(buf, 0, 70000);
        if (dc_reader_decode_tensor(r, i, buf, 70000, 2, NULL) != DC_OK ||
            memcmp(buf, g_want[i], k_sizes[i]) != 0)
            j->errors++;
        /* chunk API */
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        dc_reader_tensor(r, i, &d);
        size_t off = 0;
        for (size_t k = 0; k < d.n_chunks; k++) {
            const void *c;
            size_t size, raw, got;
            uint8_t out[4096];
            if (dc_reader_chunk(r, i, k, &c, &size, &raw) != DC_OK ||
                dc_chunk_decompress(dctx, c, size, out, sizeof(out), &got) != DC_OK || got != raw ||
                memcmp(out, g_want[i] + off, raw) != 0 ||
                dc_checksum32(out, got) != dc_checksum32(g_want[i] + off, raw))
                j->errors++;
            off += raw;
        }
        /* dc_decompress on 3 threads of its own, over the tensor's chunks laid end to end */
        uint8_t *seq = malloc(2 * 70000 + 4096);
        size_t len = 0;
        for (size_t k = 0; seq && k < d.n_chunks; k++) {
            const void *c;
            size_t size;
            if (dc_reader_chunk(r, i, k, &c, &size, NULL) == DC_OK &&
                len + size <= 2 * 70000 + 4096) {
                memcpy(seq + len, c, size);
                len += size;
            }
        }
        dc_decompress_options o = {sizeof(o), DC_SIMD_AUTO, NULL, 3};
        dc_dctx *td = NULL;
        size_t got = 0;
        if (!seq || dc_dctx_create(&o, &td) != DC_OK ||
            dc_decompress(td, seq, len, buf, 70000, &got) != DC_OK || got != k_sizes[i] ||
            memcmp(buf, g_want[i], k_sizes[i]) != 0)
            j->errors++;
        dc_dctx_free(td);
        free(seq);
    }
    free(buf);
    dc_dctx_free(dctx);
}

static void *worker(void *arg) {
    job *j = arg;
    pthread_barrier_wait(j->start);
    for (int c = 0; c < 2; c++) {
        dc_reader *own = NULL;
        const dc_reader *r = j->shared;
        if (!r) {
            char p[4096];
            snprintf(p, sizeof(p), "%s%s", j->path, c ? ".zstd" : "");
            if (dc_reader_open_file(p, NULL, &own, NULL) != DC_OK) {
                j->errors++;
                return NULL;
            }
            r = own;
        }
        decode_all(j, r);
        dc_reader_close(own);
        if (j->shared) break;
    }
    return NULL;
}

static int run(const char *path, const dc_reader *shared) {
    pthread_t th[THREADS];
    job jobs[THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (job){path, shared, &start, 0};
        if (pthread_create(&th[t], NULL, worker, &jobs[t]) != 0) return 4;
    }
    int errors = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        errors += jobs[t].errors;
    }
    pthread_barrier_destroy(&start);
    return errors;
}

int main(int argc, char **argv) {
    if (argc != 3) return fprintf(stderr, "usage: test_threads write|read FILE\n"), 1;
    make_data();
    int rc;
    if (strcmp(argv[1], "write") == 0) {
        rc = write_file(argv[2]);
    } else {
        /* 1. every thread opens the file itself (first library calls race) */
        rc = run(argv[2], NULL);
        /* 2. one reader shared by every thread */
        dc_reader *r;
        if (dc_reader_open_file(argv[2], NULL, &r, NULL) != DC_OK) return 3;
        rc += run(argv[2], r);
        dc_reader_close(r);
        printf("test_threads: %d threads, %d errors\n", THREADS, rc);
    }
    for (size_t i = 0; i < NT; i++)
        free(g_want[i]);
    return rc ? 1 : 0;
}
