/*
 * source_gguf.c -- GGUF files as a dcz compress source (docs/format.md,
 * "GGUF"): F32/F16/BF16 tensors go through the pipeline, Q8_0 is re-coded
 * bit-exactly (int8 codes entropy-coded, fp16 block scales kept as exact
 * floats), other types are kept as opaque bytes; every key/value and tensor
 * info goes to the .dcz key/value section.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "source.h"

static char g_why[512];

dc_status source_open_gguf(const char *path, model_source *s, const char **why) {
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_gguf *g = NULL;
    const char *detail = "";
    dc_status st = dc_gguf_open(&a, path, &g, &detail);
    if (st != DC_OK) {
        snprintf(g_why, sizeof g_why, "not a valid GGUF file: %s", detail);
        *why = st == DC_ERR_IO ? "cannot read the file" : g_why;
        return st;
    }
    s->gguf = g;
    s->file_size = g->data_offset + g->data_size;
    if (g->n_tensors && !(s->t = calloc(g->n_tensors, sizeof(*s->t)))) {
        *why = "out of memory";
        return DC_ERR_OUT_OF_MEMORY;
    }
    s->cap = g->n_tensors;
    for (size_t i = 0; i < g->n_tensors; i++) {
        const dc_gguf_tensor *t = &g->tensors[i];
        src_tensor *x = &s->t[s->n];
        memset(x, 0, sizeof(*x));
        x->gguf_type = (int)t->type;
        size_t len = strlen(t->name);
        if (!(x->name = malloc(len + 1))) {
            *why = "out of memory";
            return DC_ERR_OUT_OF_MEMORY;
        }
        memcpy(x->name, t->name, len + 1);
        s->n++;
        x->offset = g->data_offset + t->offset;
        x->nbytes = t->nbytes;
        unsigned nd = t->n_dims ? t->n_dims : 1;
        x->ndim = nd;
        for (unsigned d = 0; d < nd; d++) /* outermost first, as the .dcz stores dims */
            x->dims[d] = t->ne[nd - 1 - d];
        switch (t->type) {
        case DC_GGML_F32:
            x->dtype = DC_DTYPE_F32;
            break;
        case DC_GGML_F16:
            x->dtype = DC_DTYPE_F16;
            break;
        case DC_GGML_BF16:
            x->dtype = DC_DTYPE_BF16;
            break;
        case DC_GGML_Q8_0:
            x->dtype = DC_DTYPE_I8;
            s->gguf_quantized = 1;
            break;
        default: /* opaque bytes */
            s->gguf_quantized = 1;
            x->dtype = DC_DTYPE_I8;
            x->ndim = 1;
            x->dims[0] = t->nbytes;
            break;
        }
    }
    return DC_OK;
}

dc_status source_kv_section(const model_source *s, void **data, size_t *size) {
    *data = NULL, *size = 0;
    if (!s->gguf) return DC_OK;
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_gguf_buf b = {&a, NULL, 0, 0, 0, 0};
    dc_gguf_section_encode((const dc_gguf *)s->gguf, &b);
    if (b.oom) {
        dc_gguf_buf_free(&b);
        return DC_ERR_OUT_OF_MEMORY;
    }
    *data = b.p, *size = b.len; /* dc_alloc's default is malloc: free() releases it */
    return DC_OK;
}

int gguf_split_q8_0(const void *raw, uint64_t nbytes, int8_t **codes, float **scales,
                    uint64_t *n_scales) {
    uint64_t nb = nbytes / DC_Q8_0_BYTES;
    *codes = malloc(nb ? nb * DC_Q8_0_BLOCK : 1);
    *scales = malloc(nb ? nb * sizeof(float) : 1);
    if (!*codes || !*scales) return -1;
    const uint8_t *p = raw;
    for (uint64_t b = 0; b < nb; b++) {
        float d = dc_f16_to_f32(dc_load_le16(p + b * DC_Q8_0_BYTES));
        if (!isfinite(d)) return -1;
        (*scales)[b] = d;
        memcpy(*codes + b * DC_Q8_0_BLOCK, p + b * DC_Q8_0_BYTES + 2, DC_Q8_0_BLOCK);
    }
    *n_scales = nb;
    return 0;
}
