/*
 * l2c_to_gguf.c -- dc-l2c-gguf: a llama2.c checkpoint and tokenizer as a
 * llama-architecture GGUF v3 file (llama.cpp's names and keys), so tests
 * and users get a GGUF of stories260K without a download.
 *
 *   dc-l2c-gguf MODEL.bin TOKENIZER.bin -o OUT.gguf [--type f32|q8_0] [--force]
 *
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
    else
        for (size_t k = 0; k < n; k++) {
            uint32_t u;
            memcpy(&u, &x[k], 4);
            dc_store_le32(c->buf + 4 * k, u);
        }
    *data = c->buf;
    return DC_OK;
}

/* The llama2.c tokenizer's tokens into GGUF arrays (tokens, scores, types). */
static int read_tokenizer(const char *path, int vocab, dc_gguf_buf *toks, dc_gguf_buf *scores,
                          dc_gguf_buf *types) {
    FILE *f = fopen(path, "rb");
    if (!f) return fail("cannot open the tokenizer", path), -1;
    int32_t mtl;
    if (fread(&mtl, 4, 1, f) != 1) goto bad;
    dc_gguf_buf_u32(toks, DC_GGUF_STRING);
    dc_gguf_buf_u64(toks, (uint64_t)vocab);
    dc_gguf_buf_u32(scores, DC_GGUF_F32);
    dc_gguf_buf_u64(scores, (uint64_t)vocab);
    dc_gguf_buf_u32(types, DC_GGUF_I32);
    dc_gguf_buf_u64(types, (uint64_t)vocab);
    for (int i = 0; i < vocab; i++) {
        float score;
        int32_t len;
        if (fread(&score, 4, 1, f) != 1 || fread(&len, 4, 1, f) != 1 || len < 0 || len > 4096)
            goto bad;
        char s[4096], t[3 * 4096];
        if (len && fread(s, 1, (size_t)len, f) != (size_t)len) goto bad;
        size_t k = 0;
        for (int j = 0; j < len; j++) {
            if (s[j] == ' ') {
                memcpy(t + k, "\xe2\x96\x81", 3);
                k += 3;
            } else {
                t[k++] = s[j];
            }
        }
        dc_gguf_buf_str(toks, t, k);
        uint32_t u;
        memcpy(&u, &score, 4);
        dc_gguf_buf_u32(scores, u);
        int32_t type = 1; /* normal */
        if (i == 0)
            type = 2; /* unknown */
        else if (i <= 2)
            type = 3; /* control: <s>, </s> */
        else if (len == 6 && !strncmp(s, "<0x", 3) && s[5] == '>')
            type = 6; /* byte */
        dc_gguf_buf_u32(types, (uint32_t)type);
    }
    fclose(f);
    return 0;
bad:
    fclose(f);
    return fail("bad or truncated llama2.c tokenizer", path), -1;
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
            puts("usage: dc-l2c-gguf MODEL.bin TOKENIZER.bin -o OUT.gguf [--type f32|q8_0] "
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
    int q8 = !strcmp(type, "q8_0");
    if (!q8 && strcmp(type, "f32")) return fail("--type must be f32 or q8_0", type);
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
    /* llama.cpp's order: the embedding, then block by block, then the head */
    size_t n = 0;
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < ns; i++) {
            const el_slot *s = &slots[i];
            int head = !strcmp(s->name, "norm.weight") || !strcmp(s->name, "output.weight");
            if ((pass == 0) != !strcmp(s->name, "tok_embeddings.weight")) continue;
            if (pass == 2 && !head) continue;
            if (pass == 1 && (s->layer < 0 || head)) continue;
            if (!el_gguf_name(s->name, names[n], sizeof names[n])) continue;
            dc_gguf_out_tensor *t = &ot[n];
            t->name = names[n];
            t->n_dims = s->cols ? 2 : 1;
            t->ne[0] = s->cols ? s->cols : s->rows;
            t->ne[1] = s->cols ? s->rows : 1;
            t->type = q8 && s->cols && s->cols % DC_Q8_0_BLOCK == 0 ? DC_GGML_Q8_0 : DC_GGML_F32;
            uint64_t numel = t->ne[0] * t->ne[1];
            t->nbytes = t->type == DC_GGML_Q8_0 ? numel / DC_Q8_0_BLOCK * DC_Q8_0_BYTES : 4 * numel;
            slot_of[n++] = i;
        }
    /* pass 1 visits kinds before layers (el_layout's order); llama.cpp
     * orders by block: a stable sort by layer of the block tensors */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            int la = slots[slot_of[j - 1]].layer, lb = slots[slot_of[j]].layer;
            if (la < 0 || lb < 0 || la <= lb) break;
            dc_gguf_out_tensor tt = ot[j];
            ot[j] = ot[j - 1], ot[j - 1] = tt;
            size_t ts = slot_of[j];
            slot_of[j] = slot_of[j - 1], slot_of[j - 1] = ts;
        }
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_gguf_buf kv = {&a, NULL, 0, 0, 0, 0}, toks = kv, scores = kv, types = kv;
    if (read_tokenizer(tok, c->vocab_size, &toks, &scores, &types) != 0) return 1;
    const char *base = strrchr(model, '/') ? strrchr(model, '/') + 1 : model;
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(strcspn(base, ".")), base);
    dc_gguf_put_kv_str(&kv, "general.architecture", "llama");
    dc_gguf_put_kv_str(&kv, "general.name", name);
    dc_gguf_put_kv_u32(&kv, "general.file_type", q8 ? 7 : 0); /* MOSTLY_Q8_0 / ALL_F32 */
    dc_gguf_put_kv_u32(&kv, "general.quantization_version", 2);
    dc_gguf_put_kv_u32(&kv, "llama.context_length", (uint32_t)c->seq_len);
    dc_gguf_put_kv_u32(&kv, "llama.embedding_length", (uint32_t)c->dim);
    dc_gguf_put_kv_u32(&kv, "llama.block_count", (uint32_t)c->n_layers);
    dc_gguf_put_kv_u32(&kv, "llama.feed_forward_length", (uint32_t)c->hidden_dim);
    dc_gguf_put_kv_u32(&kv, "llama.rope.dimension_count", (uint32_t)c->head_size);
    dc_gguf_put_kv_u32(&kv, "llama.attention.head_count", (uint32_t)c->n_heads);
    dc_gguf_put_kv_u32(&kv, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads);
    dc_gguf_put_kv_f32(&kv, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    dc_gguf_put_kv_f32(&kv, "llama.rope.freq_base", 10000.0f);
    dc_gguf_put_kv_u32(&kv, "llama.vocab_size", (uint32_t)c->vocab_size);
    dc_gguf_put_kv_str(&kv, "tokenizer.ggml.model", "llama");
    dc_gguf_put_kv_raw(&kv, "tokenizer.ggml.tokens", DC_GGUF_ARRAY, toks.p, toks.len);
    dc_gguf_put_kv_raw(&kv, "tokenizer.ggml.scores", DC_GGUF_ARRAY, scores.p, scores.len);
    dc_gguf_put_kv_raw(&kv, "tokenizer.ggml.token_type", DC_GGUF_ARRAY, types.p, types.len);
    dc_gguf_put_kv_u32(&kv, "tokenizer.ggml.bos_token_id", 1);
    dc_gguf_put_kv_u32(&kv, "tokenizer.ggml.eos_token_id", 2);
    dc_gguf_put_kv_u32(&kv, "tokenizer.ggml.unknown_token_id", 0);
    dc_gguf_put_kv_str(&kv, "doublecomp.converted_from", base);
    if (kv.oom || toks.oom || scores.oom || types.oom) return fail("out of memory", NULL);
    conv cv = {m.file_data, slots, slot_of, q8, ot, NULL};
    dc_status st =
        dc_gguf_write(&a, out, kv.p, kv.len, kv.n_kv, DC_GGUF_ALIGNMENT, ot, n, load, &cv);
    int rc = 0;
    if (st != DC_OK) {
        fprintf(stderr, "dc-l2c-gguf: cannot write %s: %s\n", out,
                st == DC_ERR_IO ? strerror(errno) : dc_status_string(st));
        rc = st == DC_ERR_IO ? 3 : 2;
    } else {
        printf("%s -> %s: %zu tensors (%s), %llu key/values\n", model, out, n, q8 ? "q8_0" : "f32",
               (unsigned long long)kv.n_kv);
    }
    free(cv.buf);
    dc_gguf_buf_free(&kv), dc_gguf_buf_free(&toks), dc_gguf_buf_free(&scores);
    dc_gguf_buf_free(&types);
    free(slots), free(slot_of), free(ot), free(names);
    el_model_free(&m);
    return rc;
}
