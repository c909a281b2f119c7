/*
 * hf_load.c -- Hugging Face Llama checkpoints for dc-llama (see hf_load.h).
 */
#define _GNU_SOURCE
#include "hf_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *el_hf_name(const el_config *c, const char *l2c, char *out, size_t cap,
                       int *perm_heads) {
    static const struct {
        const char *l2c, *hf;
        int perm; /* 1: q (n_heads), 2: k (n_kv_heads) */
    } kinds[] = {
        {"attention_norm", "input_layernorm", 0}, {"attention.wq", "self_attn.q_proj", 1},
        {"attention.wk", "self_attn.k_proj", 2},  {"attention.wv", "self_attn.v_proj", 0},
        {"attention.wo", "self_attn.o_proj", 0},  {"ffn_norm", "post_attention_layernorm", 0},
        {"feed_forward.w1", "mlp.gate_proj", 0},  {"feed_forward.w2", "mlp.down_proj", 0},
        {"feed_forward.w3", "mlp.up_proj", 0}};
    *perm_heads = 0;
    if (!strcmp(l2c, "tok_embeddings.weight"))
        return snprintf(out, cap, "model.embed_tokens.weight"), out;
    if (!strcmp(l2c, "norm.weight")) return snprintf(out, cap, "model.norm.weight"), out;
    if (!strcmp(l2c, "output.weight")) return snprintf(out, cap, "lm_head.weight"), out;
    unsigned layer;
    int used = 0;
    if (sscanf(l2c, "layers.%u.%n", &layer, &used) != 1 || used == 0) return NULL;
    const char *rest = l2c + used;
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        size_t n = strlen(kinds[k].l2c);
        if (strncmp(rest, kinds[k].l2c, n) || strcmp(rest + n, ".weight")) continue;
        *perm_heads = kinds[k].perm == 1 ? c->n_heads : kinds[k].perm == 2 ? c->n_kv_heads : 0;
        snprintf(out, cap, "model.layers.%u.%s.weight", layer, kinds[k].hf);
        return out;
    }
    return NULL; /* freq_cis_real / freq_cis_imag */
}

/* dir 1: llama2.c row 2i + j of a head -> HF row j * half + i; 0: back. */
static void permute(float *w, size_t rows, size_t cols, int heads, float *tmp, int dir) {
    size_t hs = rows / (size_t)heads, half = hs / 2;
    for (size_t h = 0; h < (size_t)heads; h++)
        for (size_t i = 0; i < half; i++)
            for (size_t j = 0; j < 2; j++) {
                size_t meta = h * hs + 2 * i + j, hf = h * hs + j * half + i;
                memcpy(tmp + (dir ? hf : meta) * cols, w + (dir ? meta : hf) * cols,
                       cols * sizeof(float));
            }
    memcpy(w, tmp, rows * cols * sizeof(float));
}

void el_hf_permute(float *w, size_t rows, size_t cols, int heads, float *tmp) {
    permute(w, rows, cols, heads, tmp, 1);
}

void el_hf_unpermute(float *w, size_t rows, size_t cols, int heads, float *tmp) {
    permute(w, rows, cols, heads, tmp, 0);
}

int el_hf_header(const hj_value *config, int32_t hdr[7], double *eps, double *theta, char *why,
                 size_t cap) {
    static const char *const keys[] = {
        "hidden_size",         "intermediate_size", "num_hidden_layers",      "num_attention_heads",
        "num_key_value_heads", "vocab_size",        "max_position_embeddings"};
    uint64_t v[7];
    for (int k = 0; k < 7; k++) {
        int got = hj_get_uint(config, keys[k], &v[k]);
        if (got == 0 && k == 4) { /* no GQA: as many KV heads as heads */
            v[4] = v[3];
            continue;
        }
        if (got != 1 || v[k] == 0 || v[k] > INT32_MAX) {
            snprintf(why, cap, "config.json: \"%s\" %s", keys[k],
                     got == 0 ? "is missing" : "is not a positive integer");
            return -1;
        }
    }
    const char *mt = NULL;
    if (hj_get_str(config, "model_type", &mt) == 1 && strcmp(mt, "llama") != 0) {
        snprintf(why, cap, "config.json: model_type \"%s\" (dc-llama runs \"llama\")", mt);
        return -1;
    }
    const char *act = NULL;
    if (hj_get_str(config, "hidden_act", &act) == 1 && strcmp(act, "silu") != 0) {
        snprintf(why, cap, "config.json: hidden_act \"%s\" (dc-llama has silu)", act);
        return -1;
    }
    int tie = 0;
    if (hj_get_bool(config, "tie_word_embeddings", &tie) < 0) {
        snprintf(why, cap, "config.json: tie_word_embeddings is not a boolean");
        return -1;
    }
    const hj_value *rs = hj_get(config, "rope_scaling");
    if (rs && rs->type != HJ_NULL) {
        snprintf(why, cap, "config.json: rope_scaling is not supported");
        return -1;
    }
    *eps = 1e-6, *theta = 10000.0;
    if (hj_get_num(config, "rms_norm_eps", eps) < 0 || !(*eps > 0) ||
        hj_get_num(config, "rope_theta", theta) < 0 || !(*theta > 1)) {
        snprintf(why, cap, "config.json: rms_norm_eps or rope_theta is not a positive number");
        return -1;
    }
    for (int k = 0; k < 7; k++)
        hdr[k] = (int32_t)v[k];
    if (!tie) hdr[5] = -hdr[5]; /* llama2.c: a negative vocabulary means a separate classifier */
    return 0;
}
