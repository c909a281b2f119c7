/*
 * l2c_to_hf.c -- dc-l2c-hf: a llama2.c checkpoint as a Hugging Face
 * Llama checkpoint directory (LlamaForCausalLM names, q/k rows permuted for
 * rotate_half as transformers' conversion script does, config.json,
 * generation_config.json, model.safetensors.index.json and N shards), so
 * tests and users get a sharded BF16 stories260K without a download.
 *
 *   dc-l2c-hf MODEL.bin OUTDIR [--shards N] [--dtype bf16|f16|f32] [--force]
 *
 * Shards split the tensors (embedding, then layer by layer, then the final
 * norm and lm_head) into N parts of about equal bytes. Every file is written
 * to a temporary file and renamed; the index last.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/hf_load.h"
#include "engine/hfjson.h"
#include "engine/model.h"
#include "safetensors.h"
#include "float16.h"

static int fail(const char *msg, const char *arg) {
    fprintf(stderr, "dc-l2c-hf: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    return 1;
}

typedef struct out_t {
    char name[96];
    size_t slot;
    int perm; /* heads permuted (q, k), else 0 */
    uint64_t shape[2];
    size_t ndim, nbytes;
    void *data;
} out_t;

static char *join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) memcpy(p, dir, a), p[a] = '/', memcpy(p + a + 1, name, b + 1);
    return p;
}

int main(int argc, char **argv) {
    const char *model = NULL, *outdir = NULL, *dtype = "bf16";
    int force = 0;
    long nshards = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--shards") && i + 1 < argc)
            nshards = atol(argv[++i]);
        else if (!strcmp(argv[i], "--dtype") && i + 1 < argc)
            dtype = argv[++i];
        else if (!strcmp(argv[i], "--force"))
            force = 1;
        else if (argv[i][0] == '-')
            return fail("unknown option", argv[i]);
        else if (!model)
            model = argv[i];
        else if (!outdir)
            outdir = argv[i];
        else
            return fail("unexpected argument", argv[i]);
    }
    if (!model || !outdir)
        return fail("usage: dc-l2c-hf MODEL.bin OUTDIR [--shards N] [--dtype bf16|f16|f32] "
                    "[--force]",
                    NULL);
    const int kind = !strcmp(dtype, "f32")    ? 0
                     : !strcmp(dtype, "f16")  ? 1
                     : !strcmp(dtype, "bf16") ? 2
                                              : -1;
    if (kind < 0) return fail("--dtype must be bf16, f16 or f32", dtype);
    if (nshards < 1 || nshards > 99999) return fail("--shards must be 1..99999", NULL);
    el_model m;
    if (el_model_load(&m, model) != 0) return 1;
    const el_config *c = &m.cfg;
    size_t ns = el_layout(c, NULL, 0);
    el_slot *slots = calloc(ns, sizeof(el_slot));
    out_t *ot = calloc(ns, sizeof(out_t));
    if (!slots || !ot) return fail("out of memory", NULL);
    el_layout(c, slots, ns);
    /* HF order: embedding, then block by block, then norm and lm_head */
    size_t n = 0, esz = kind == 0 ? 4 : 2;
    for (int pass = 0; pass < 3; pass++)
        for (int layer = pass == 1 ? 0 : -1; layer < (pass == 1 ? c->n_layers : 0); layer++)
            for (size_t i = 0; i < ns; i++) {
                const el_slot *s = &slots[i];
                int head = !strcmp(s->name, "norm.weight") || !strcmp(s->name, "output.weight");
                int emb = !strcmp(s->name, "tok_embeddings.weight");
                if ((pass == 0 && !emb) || (pass == 2 && !head) || (pass == 1 && s->layer != layer))
                    continue;
                out_t *t = &ot[n];
                if (!el_hf_name(c, s->name, t->name, sizeof t->name, &t->perm)) continue;
                t->slot = i;
                t->ndim = s->cols ? 2 : 1;
                t->shape[0] = s->rows, t->shape[1] = s->cols;
                if (!s->cols) t->shape[0] = s->rows;
                t->nbytes = (size_t)(s->rows * (s->cols ? s->cols : 1)) * esz;
                n++;
            }
    /* the layer kinds in HF's order within a block */
    static const char *const order[] = {
        "input_layernorm",  "self_attn.q_proj", "self_attn.k_proj",
        "self_attn.v_proj", "self_attn.o_proj", "post_attention_layernorm",
        "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};
    for (size_t i = 1; i < n; i++) /* stable insertion sort of each block by kind */
        for (size_t j = i; j > 0; j--) {
            const el_slot *a = &slots[ot[j - 1].slot], *b = &slots[ot[j].slot];
            if (a->layer < 0 || b->layer < 0 || a->layer != b->layer) break;
            int ka = 0, kb = 0;
            for (int k = 0; k < 9; k++) {
                if (strstr(ot[j - 1].name, order[k])) ka = k;
                if (strstr(ot[j].name, order[k])) kb = k;
            }
            if (ka <= kb) break;
            out_t tt = ot[j];
            ot[j] = ot[j - 1], ot[j - 1] = tt;
        }
    /* data: converted (and q/k permuted) */
    size_t total = 0;
    float *tmp = NULL;
    for (size_t i = 0; i < n; i++) {
        const el_slot *s = &slots[ot[i].slot];
        size_t cnt = s->rows * (s->cols ? s->cols : 1);
        float *w = malloc(cnt * sizeof(float));
        free(tmp);
        tmp = malloc(cnt * sizeof(float));
        if (!w || !tmp || !(ot[i].data = malloc(ot[i].nbytes))) return fail("out of memory", NULL);
        memcpy(w, m.file_data + s->offset, cnt * sizeof(float));
        if (ot[i].perm) el_hf_permute(w, s->rows, s->cols, ot[i].perm, tmp);
        uint8_t *d = ot[i].data;
        for (size_t k = 0; k < cnt; k++) {
            if (kind == 0) {
                uint32_t u;
                memcpy(&u, &w[k], 4);
                d[4 * k] = (uint8_t)u, d[4 * k + 1] = (uint8_t)(u >> 8);
                d[4 * k + 2] = (uint8_t)(u >> 16), d[4 * k + 3] = (uint8_t)(u >> 24);
            } else {
                uint16_t h = kind == 1 ? to_f16(w[k]) : to_bf16(w[k]);
                d[2 * k] = (uint8_t)h, d[2 * k + 1] = (uint8_t)(h >> 8);
            }
        }
        free(w);
        total += ot[i].nbytes;
    }
    free(tmp);
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST) return fail("cannot create", outdir);
    char *ip = join(outdir, "model.safetensors.index.json");
    if (!ip) return fail("out of memory", NULL);
    if (!force && access(ip, F_OK) == 0) return fail("output exists (use --force)", ip);
    /* shards of about total / N bytes each */
    if ((size_t)nshards > n) nshards = (long)n;
    size_t *shard_of = calloc(n, sizeof(size_t)), done = 0;
    if (!shard_of) return fail("out of memory", NULL);
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)((double)done / (double)total * (double)nshards);
        shard_of[i] = k < (size_t)nshards ? k : (size_t)nshards - 1;
        done += ot[i].nbytes;
    }
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    const char *meta[2] = {"format", "pt"};
    hj_buf idx = {0};
    hj_buf_printf(&idx, "{\n  \"metadata\": {\n    \"total_size\": %zu\n  },\n  \"weight_map\": {",
                  total);
    dc_st_out_tensor *st = calloc(n, sizeof(*st));
    if (!st) return fail("out of memory", NULL);
    for (long k = 0; k < nshards; k++) {
        char nm[64];
        snprintf(nm, sizeof nm, "model-%05ld-of-%05ld.safetensors", k + 1, nshards);
        size_t c2 = 0;
        for (size_t i = 0; i < n; i++) {
            if (shard_of[i] != (size_t)k) continue;
            st[c2++] = (dc_st_out_tensor){
                ot[i].name, kind == 0 ? DC_ST_F32 : kind == 1 ? DC_ST_F16 : DC_ST_BF16,
                ot[i].ndim, ot[i].shape,
                ot[i].data, ot[i].nbytes};
            hj_buf_puts(&idx, i ? ",\n    " : "\n    ");
            hj_buf_string(&idx, ot[i].name);
            hj_buf_puts(&idx, ": ");
            hj_buf_string(&idx, nm);
        }
        char *p = join(outdir, nm);
        dc_status s2 = p ? dc_st_write(&a, p, st, c2, meta, 1) : DC_ERR_OUT_OF_MEMORY;
        if (s2 != DC_OK) return fail("cannot write", p ? p : nm);
        free(p);
    }
    hj_buf_puts(&idx, "\n  }\n}\n");
    /* config.json as transformers' LlamaConfig writes it */
    hj_buf cfg = {0};
    hj_buf_printf(&cfg,
                  "{\n  \"architectures\": [\"LlamaForCausalLM\"],\n  \"model_type\": \"llama\",\n"
                  "  \"hidden_size\": %d,\n  \"intermediate_size\": %d,\n",
                  c->dim, c->hidden_dim);
    hj_buf_printf(&cfg,
                  "  \"num_hidden_layers\": %d,\n  \"num_attention_heads\": %d,\n"
                  "  \"num_key_value_heads\": %d,\n",
                  c->n_layers, c->n_heads, c->n_kv_heads);
    hj_buf_printf(&cfg, "  \"vocab_size\": %d,\n  \"max_position_embeddings\": %d,\n",
                  c->vocab_size, c->seq_len);
    hj_buf_printf(&cfg,
                  "  \"rms_norm_eps\": 1e-05,\n  \"rope_theta\": 10000.0,\n"
                  "  \"hidden_act\": \"silu\",\n  \"tie_word_embeddings\": %s,\n",
                  c->shared_classifier ? "true" : "false");
    hj_buf_printf(&cfg,
                  "  \"bos_token_id\": 1,\n  \"eos_token_id\": 2,\n  \"torch_dtype\": \"%s\"\n}\n",
                  kind == 0   ? "float32"
                  : kind == 1 ? "float16"
                              : "bfloat16");
    const char *gen = "{\n  \"bos_token_id\": 1,\n  \"eos_token_id\": 2\n}\n";
    char *cp = join(outdir, "config.json"), *gp = join(outdir, "generation_config.json");
    if (idx.oom || cfg.oom || !cp || !gp) return fail("out of memory", NULL);
    if (hj_write_file(cp, cfg.p, cfg.n) != 0) return fail("cannot write", cp);
    if (hj_write_file(gp, gen, strlen(gen)) != 0) return fail("cannot write", gp);
    if (hj_write_file(ip, idx.p, idx.n) != 0) return fail("cannot write", ip);
    printf("%s -> %s: %zu tensors (%s), %ld shards, %zu bytes\n", model, outdir, n, dtype, nshards,
           total);
    for (size_t i = 0; i < n; i++)
        free(ot[i].data);
    free(ot), free(slots), free(shard_of), free(st), free(idx.p), free(cfg.p), free(cp), free(gp),
        free(ip);
    el_model_free(&m);
    return 0;
}
