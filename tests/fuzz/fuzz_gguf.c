/*
 * fuzz_gguf.c -- libFuzzer target: arbitrary bytes as a GGUF file (the
 * parser, its accessors) and as a .dcz key/value section. Must return a
 * status; a parsed header must be self-consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const dc_gguf *g, uint64_t data_size) {
    for (size_t i = 0; i < g->n_kv; i++) {
        const dc_gguf_kv *kv = &g->kv[i];
        if (kv->val < g->kv_blob || kv->val + kv->val_size > g->kv_blob + g->kv_blob_size) abort();
        if (dc_gguf_value_size(kv->type, kv->val, kv->val_size) != kv->val_size) abort();
        int64_t iv;
        double dv;
        const char *s;
        uint64_t len, count;
        uint32_t et;
        const uint8_t *el;
        size_t es;
        (void)dc_gguf_kv_int(kv, &iv);
        (void)dc_gguf_kv_float(kv, &dv);
        if (dc_gguf_kv_string(kv, &s, &len) && (const uint8_t *)s + len > kv->val + kv->val_size)
            abort();
        if (dc_gguf_kv_array(kv, &et, &count, &el, &es) && el + es > kv->val + kv->val_size)
            abort();
        if (dc_gguf_find(g, kv->key) != kv) abort();
    }
    for (size_t i = 0; i < g->n_tensors; i++) {
        const dc_gguf_tensor *t = &g->tensors[i];
        if (data_size && (t->offset > data_size || t->nbytes > data_size - t->offset)) abort();
        if (t->offset % g->alignment) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_gguf *g = NULL;
    if (dc_gguf_parse(&a, data, size, size, &g, NULL) == DC_OK) {
        check(g, g->data_size);
        /* the section of a parsed file parses back to the same records */
        dc_gguf_buf b = {&a, NULL, 0, 0, 0, 0};
        dc_gguf_section_encode(g, &b);
        dc_gguf *s = NULL;
        if (!b.oom) {
            if (dc_gguf_section_parse(&a, b.p, b.len, &s, NULL) != DC_OK) abort();
            if (s->n_kv != g->n_kv || s->n_tensors != g->n_tensors ||
                s->kv_blob_size != g->kv_blob_size ||
                memcmp(s->kv_blob, g->kv_blob, g->kv_blob_size) != 0)
                abort();
            dc_gguf_free(s);
        }
        dc_gguf_buf_free(&b);
        dc_gguf_free(g);
    }
    if (dc_gguf_section_parse(&a, data, size, &g, NULL) == DC_OK) {
        check(g, 0);
        dc_gguf_free(g);
    }
    return 0;
}
