/*
 * l2c_to_gguf.c -- dc-l2c-gguf: a llama2.c checkpoint and tokenizer as a
 * llama-architecture GGUF v3 file (llama.cpp's names and keys), so tests
 * and users get a GGUF of stories260K without a download.
 *
 *   dc-l2c-gguf MODEL.bin TOKENIZER.bin -o OUT.gguf [--type f32|f16|q8_0] [--force]
 *
 * --type f16 stores every 2-D weight as F16 (round to nearest even), norms
 * as F32, as llama.cpp's converter does with --outtype f16.
 * --type q8_0 stores every 2-D weight as Q8_0 (blocks of 32: d = max|x| /
 * 127 as fp16, q = round(x / d)), as llama.cpp's quantizer does; norms stay
 * F32. The RoPE tables of the checkpoint are not stored (GGUF engines
 * compute them). Tokens get U+2581 for spaces (sentencepiece), and token
 * types (unknown, control, byte, normal). The output is written atomically.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/gguf_load.h"
#include "engine/model.h"
#include "gguf.h"

static int fail(const char *msg, const char *arg) {
    fprintf(stderr, "dc-l2c-gguf: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    return 1;
}

typedef struct conv {
    const float *data; /* the checkpoint's floats after its header */
    const el_slot *slots;
    const size_t *slot_of; /* output tensor -> slot */
    int q8;
    const dc_gguf_out_tensor *out;
    uint8_t *buf;
} conv;

/* Q8_0 of n floats (n a multiple of 32), llama.cpp's reference rounding. */
static void quantize_q8_0(const float *x, size_t n, uint8_t *dst) {
    for (size_t b = 0; b < n / DC_Q8_0_BLOCK; b++) {
        const float *v = x + b * DC_Q8_0_BLOCK;
        float amax = 0;
        for (int k = 0; k < DC_Q8_0_BLOCK; k++)
            if (fabsf(v[k]) > amax) amax = fabsf(v[k]);
        float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        uint8_t *blk = dst + b * DC_Q8_0_BYTES;
        dc_store_le16(blk, dc_f32_to_f16(d));
        for (int k = 0; k < DC_Q8_0_BLOCK; k++)
            blk[2 + k] = (uint8_t)(int8_t)roundf(v[k] * id);
    }
}

static dc_status load(void *ctx, size_t i, const void **data) {
    conv *c = ctx;
    const el_slot *s = &c->slots[c->slot_of[i]];
    const float *x = c->data + s->offset;
    size_t n = s->rows * (s->cols ? s->cols : 1);
    free(c->buf);
    if (!(c->buf = malloc((size_t)c->out[i].nbytes))) return DC_ERR_OUT_OF_MEMORY;
    if (c->out[i].type == DC_GGML_Q8_0)
        quantize_q8_0(x, n, c->buf);
    else if (c->out[i].type == DC_GGML_F16)
        for (size_t k = 0; k < n; k++)
            dc_store_le16(c->buf + 2 * k, dc_f32_to_f16(x[k]));
    else
        for (size_t k = 0; k < n; k++) {
            uint32_t u;
            memcpy(&u, &x[k], 4);
            dc_store_le32(c->buf + 4 * k, u);
        }
    *data = c->buf;
    return DC_OK;
}

int main(int argc, char **argv) {
    const char *model = NULL, *tok = NULL, *out = NULL, *type = "f32";
    int force = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--type") && i + 1 < argc)
            type = argv[++i];
        else if (!strcmp(argv[i], "--force"))
            force = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            puts("usage: dc-l2c-gguf MODEL.bin TOKENIZER.bin -o OUT.gguf [--type f32|f16|q8_0] "
                 "[--force]");
            return 0;
        } else if (argv[i][0] == '-')
            return fail("unknown option", argv[i]);
        else if (!model)
            model = argv[i];
        else if (!tok)
            tok = argv[i];
        else
            return fail("unexpected argument", argv[i]);
    }
    if (!model || !tok || !out) return fail("need MODEL.bin TOKENIZER.bin -o OUT.gguf", NULL);
    int q8 = !strcmp(type, "q8_0"), f16 = !strcmp(type, "f16");
    if (!q8 && !f16 && strcmp(type, "f32")) return fail("--type must be f32, f16 or q8_0", type);
    if (!force && access(out, F_OK) == 0) return fail("output exists (use --force)", out);
    el_model m;
    if (el_model_load(&m, model) != 0) return 1;
    const el_config *c = &m.cfg;
    size_t ns = el_layout(c, NULL, 0);
    el_slot *slots = calloc(ns, sizeof(el_slot));
    size_t *slot_of = calloc(ns, sizeof(size_t));
    dc_gguf_out_tensor *ot = calloc(ns, sizeof(dc_gguf_out_tensor));
    char(*names)[96] = calloc(ns, 96);
    if (!slots || !slot_of || !ot || !names) return fail("out of memory", NULL);
    el_layout(c, slots, ns);
    /* llama.cpp's names and order, F32 (Q8_0 where the rows fit its blocks) */
    size_t n = el_gguf_llama_tensors(c, slots, ns,
                                     q8    ? DC_GGML_Q8_0
                                     : f16 ? DC_GGML_F16
                                           : DC_GGML_F32,
                                     ot, slot_of, names);
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_gguf_buf kv = {&a, NULL, 0, 0, 0, 0};
    const char *base = strrchr(model, '/') ? strrchr(model, '/') + 1 : model;
    /* general.file_type: MOSTLY_Q8_0, MOSTLY_F16 or ALL_F32 */
    if (el_gguf_llama_kv(&kv, c, base, tok, q8 ? 7 : f16 ? 1 : 0) != 0) return 1;
    dc_gguf_put_kv_str(&kv, "doublecomp.converted_from", base);
    if (kv.oom) return fail("out of memory", NULL);
    conv cv = {m.file_data, slots, slot_of, q8, ot, NULL};
    dc_status st =
        dc_gguf_write(&a, out, kv.p, kv.len, kv.n_kv, DC_GGUF_ALIGNMENT, ot, n, load, &cv);
    int rc = 0;
    if (st != DC_OK) {
        fprintf(stderr, "dc-l2c-gguf: cannot write %s: %s\n", out,
                st == DC_ERR_IO ? strerror(errno) : dc_status_string(st));
        rc = st == DC_ERR_IO ? 3 : 2;
    } else {
        printf("%s -> %s: %zu tensors (%s), %llu key/values\n", model, out, n, type,
               (unsigned long long)kv.n_kv);
    }
    free(cv.buf);
    dc_gguf_buf_free(&kv);
    free(slots), free(slot_of), free(ot), free(names);
    el_model_free(&m);
    return rc;
}
