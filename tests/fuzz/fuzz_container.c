/*
 * fuzz_container.c -- libFuzzer target: arbitrary bytes as a .dcz file.
 * Opening must fail with a status and a non-empty reason, or succeed and
 * then every tensor query and decode must return a status without crashing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
