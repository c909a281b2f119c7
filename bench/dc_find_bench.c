/*
 * dc_find_bench.c -- how long an engine waits to open a .dcz with many
 * tensors and look every one up by name (dc_reader_open_file + one
 * dc_reader_find per tensor), the cost issue 15 bounds at 1 s for 60,000
 * tensors.
 *
 *   dc-find-bench [N_TENSORS [REPEATS [FILE]]]   (defaults 60000, 5, a temp file)
 *
 * Writes a file of N_TENSORS small tensors named as a GGUF model's are
 * ("blk.<layer>.<part>.weight"), then times REPEATS rounds of open + look
 * up every name in a shuffled order + close, mapped and with
 * DC_READER_NO_MMAP, and prints one JSON line per mode (best and median
 * seconds of a round). Exits 1 if a name is not found, or a missing one is.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "doublecomp.h"

static const char *const k_parts[] = {"attn_q",   "attn_k",     "attn_v",   "attn_output",
                                      "ffn_up",   "ffn_down",   "ffn_gate", "attn_norm",
                                      "ffn_norm", "attn_q_norm"};
#define N_PARTS (sizeof k_parts / sizeof k_parts[0])

static void name_of(size_t i, char *buf, size_t n) {
    snprintf(buf, n, "blk.%zu.%s.weight", i / N_PARTS, k_parts[i % N_PARTS]);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what, dc_status st) {
    fprintf(stderr, "dc-find-bench: %s: %s\n", what, dc_status_string(st));
    exit(1);
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 60000;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    char path[4096];
    int own = argc <= 3;
    if (own)
        snprintf(path, sizeof path, "%s/dc-find-bench-%ld.dcz",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    else
        snprintf(path, sizeof path, "%s", argv[3]);
    if (n == 0 || repeats < 1)
        return fprintf(stderr, "usage: %s [N [REPEATS [FILE]]]\n", argv[0]), 2;

    double t0 = now();
    dc_writer_options wo = {sizeof(wo), DC_CODEC_ANS, 0, 0, 1, 1, NULL, 0};
    dc_writer *w;
    dc_status st = dc_writer_create(path, &wo, &w);
    if (st != DC_OK) die("create", st);
    int8_t data[64];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (int8_t)((i * 7) % 5 - 2);
    for (size_t i = 0; i < n; i++) {
        char name[64];
        name_of(i, name, sizeof name);
        float scale = 0.01f;
        dc_tensor_desc d = {.struct_size = sizeof(d),
                            .name = name,
                            .ndim = 2,
                            .dims = {4, 16},
                            .source_dtype = DC_DTYPE_F32,
                            .dtype = DC_DTYPE_I8,
                            .bits = 8,
                            .granularity = DC_QUANT_PER_TENSOR,
                            .scales = &scale,
                            .n_scales = 1,
                            .prune_method = DC_PRUNE_NONE};
        if ((st = dc_writer_add_tensor(w, &d, data, sizeof data)) != DC_OK) die("add", st);
    }
    if ((st = dc_writer_finish(w)) != DC_OK) die("finish", st);
    double t_write = now() - t0;

    /* a shuffled lookup order, so that no cache sees names in file order */
    size_t *order = malloc(n * sizeof *order);
    double *times = malloc((size_t)repeats * sizeof *times);
    double *opens = malloc((size_t)repeats * sizeof *opens);
    if (!order || !times || !opens) return 1;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    uint64_t s = 12345;
    for (size_t i = n - 1; i > 0; i--) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = (size_t)((s >> 33) % (i + 1)), t = order[i];
        order[i] = order[j], order[j] = t;
    }
    const unsigned modes[2] = {0, DC_READER_NO_MMAP};
    for (int m = 0; m < 2; m++) {
        for (int rep = 0; rep < repeats; rep++) {
            double a = now();
            dc_reader_options ro = {sizeof(ro), modes[m], NULL};
            dc_reader *r;
            const char *why = NULL;
            if ((st = dc_reader_open_file_ex(path, &ro, &r, &why)) != DC_OK) die(why, st);
            opens[rep] = now() - a;
            for (size_t k = 0; k < n; k++) {
                char name[64];
                size_t idx;
                name_of(order[k], name, sizeof name);
                if (dc_reader_find(r, name, &idx) != DC_OK || idx != order[k])
                    die(name, DC_ERR_NOT_FOUND);
            }
            size_t idx;
            if (dc_reader_find(r, "blk.0.missing.weight", &idx) != DC_ERR_NOT_FOUND)
                die("a missing name", DC_ERR_CORRUPT);
            dc_reader_close(r);
            times[rep] = now() - a;
        }
        qsort(times, (size_t)repeats, sizeof *times, cmp_double);
        qsort(opens, (size_t)repeats, sizeof *opens, cmp_double);
        printf("{\"bench\": \"find\", \"mode\": \"%s\", \"tensors\": %zu, \"repeats\": %d, "
               "\"open_and_find_all_s\": {\"best\": %.6f, \"median\": %.6f}, "
               "\"open_s_median\": %.6f, \"write_s\": %.3f}\n",
               m ? "pread" : "mmap", n, repeats, times[0], times[repeats / 2], opens[repeats / 2],
               t_write);
    }
    if (own) remove(path);
    free(order);
    free(times);
    free(opens);
    return 0;
}
