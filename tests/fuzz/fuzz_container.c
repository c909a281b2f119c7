/*
 * fuzz_container.c -- libFuzzer target: arbitrary bytes as a .dcz file.
 * Opening must fail with a status and a non-empty reason, or succeed and
 * then every tensor query and decode must return a status without crashing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef DC_EXPERIMENTAL
#define DC_EXPERIMENTAL /* typed metadata */
#endif
#include "doublecomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dc_reader *r;
    const char *why = NULL;
    if (dc_reader_open_memory(data, size, NULL, &r, &why) != DC_OK) {
        if (why == NULL || why[0] == '\0') abort(); /* every failure says why */
        return 0;
    }
    (void)dc_reader_metadata(r);
    /* typed metadata: every accessor on every pair must answer, not crash */
    for (size_t i = 0; i < dc_reader_meta_count(r); i++) {
        const char *key;
        dc_meta_type t;
        size_t j;
        if (dc_reader_meta_entry(r, i, &key, &t) != DC_OK) abort();
        if (dc_reader_meta_find(r, key, &j) != DC_OK || j != i) abort(); /* keys are unique */
        int64_t v;
        double d;
        dc_meta_string s;
        uint64_t n;
        (void)dc_reader_meta_int(r, i, &v);
        (void)dc_reader_meta_float(r, i, &d);
        (void)dc_reader_meta_string(r, i, &s);
        if (dc_reader_meta_array(r, i, &t, &n) == DC_OK && n > 0 && n <= (1u << 16)) {
            void *buf = malloc((size_t)n * 16);
            if (!buf) abort();
            (void)dc_reader_meta_array_get(r, i, 0, n, buf);
            (void)dc_reader_meta_array_get(r, i, n - 1, 1, buf);
            free(buf);
        }
    }
    for (size_t i = 0; i < dc_reader_tensor_count(r); i++) {
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        if (dc_reader_tensor(r, i, &d) != DC_OK) abort();
        size_t idx;
        if (dc_reader_find(r, d.name, &idx) != DC_OK || idx > i) abort();
        if (d.data_size > (1u << 24)) continue;
        uint8_t *buf = malloc(d.data_size ? d.data_size : 1);
        if (!buf) abort();
        size_t failed;
        (void)dc_reader_decode_tensor(r, i, buf, d.data_size, 1 + (unsigned)(i & 1), &failed);
        free(buf);
    }
    dc_reader_close(r);
    return 0;
}
