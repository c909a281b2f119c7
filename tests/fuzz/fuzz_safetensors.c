/*
 * fuzz_safetensors.c -- libFuzzer target: arbitrary bytes as a safetensors
 * header (the first 8 bytes give the data-section size the parser checks
 * tensor ranges against). Must return a status; a parsed header must be
 * self-consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 8) return 0;
    uint64_t data_size = 0;
    for (int i = 0; i < 8; i++)
        data_size |= (uint64_t)data[i] << (8 * i);
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_st_header *h = NULL;
    if (dc_st_parse(&a, data + 8, size - 8, data_size >> 16, &h) != DC_OK) return 0;
    for (size_t i = 0; i < h->n_tensors; i++) {
        const dc_st_tensor *t = &h->tensors[i];
        if (t->begin > t->end || t->end > (data_size >> 16) || t->ndim > DC_ST_MAX_DIMS) abort();
        if (dc_st_find(h, t->name) != t) abort();
    }
    dc_st_header_free(h);
    return 0;
}
