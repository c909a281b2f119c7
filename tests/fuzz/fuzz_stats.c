/*
 * fuzz_stats.c -- libFuzzer target: arbitrary bytes as an activation
 * statistics file (dc_stats.h: a safetensors file). Opening must fail with a
 * status or succeed; then every layer must load or fail with a status, and
 * loaded statistics must be finite and non-negative.
 */
#include "fuzz_util.h"

#include <math.h>
#include <string.h>

#include "doublecomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    int fd = fuzz_memfd(data, size, path);
    dc_stats_file *f = NULL;
    if (dc_stats_file_open(path, NULL, &f) == DC_OK) {
        for (size_t i = 0; i < dc_stats_file_count(f); i++) {
            const char *name = dc_stats_file_name(f, i);
            if (!name) abort();
            dc_stats *s = NULL;
            if (dc_stats_file_get(f, name, &s) != DC_OK) continue;
            size_t n = dc_stats_in_features(s);
            float *a = malloc(n * sizeof(float));
            double *q = malloc(n * sizeof(double));
            if (!a || !q) abort();
            if (dc_stats_get_amax(s, a, n) != DC_OK || dc_stats_get_sumsq(s, q, n) != DC_OK)
                abort();
            for (size_t j = 0; j < n; j++)
                if (!isfinite(a[j]) || !(a[j] >= 0) || !isfinite(q[j]) || !(q[j] >= 0)) abort();
            free(a), free(q);
            dc_stats_free(s);
        }
        dc_stats_file_close(f);
    }
    close(fd);
    return 0;
}
