/*
 * hf_load.c -- Hugging Face Llama checkpoints for dc-llama (see hf_load.h).
 */
#define _GNU_SOURCE
#include "hf_load.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "doublecomp.h"
#include "safetensors.h"

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
static void permute(void *w, size_t rows, size_t row_bytes, int heads, void *tmp, int dir) {
    size_t hs = rows / (size_t)heads, half = hs / 2;
    uint8_t *src = w, *dst = tmp;
    for (size_t h = 0; h < (size_t)heads; h++)
        for (size_t i = 0; i < half; i++)
            for (size_t j = 0; j < 2; j++) {
                size_t meta = h * hs + 2 * i + j, hf = h * hs + j * half + i;
                memcpy(dst + (dir ? hf : meta) * row_bytes, src + (dir ? meta : hf) * row_bytes,
                       row_bytes);
            }
    memcpy(w, tmp, rows * row_bytes);
}

void el_hf_permute(float *w, size_t rows, size_t cols, int heads, float *tmp) {
    permute(w, rows, cols * sizeof(float), heads, tmp, 1);
}

void el_hf_unpermute(float *w, size_t rows, size_t cols, int heads, float *tmp) {
    permute(w, rows, cols * sizeof(float), heads, tmp, 0);
}

void el_hf_unpermute_rows(void *w, size_t rows, size_t row_bytes, int heads, void *tmp) {
    permute(w, rows, row_bytes, heads, tmp, 0);
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

/* The engine computes with RMSNorm eps 1e-5 and RoPE theta 10000 (model.c). */
int el_hf_check_constants(double eps, double theta, char *why, size_t cap) {
    if (fabs(eps - 1e-5) > 1e-12 || fabs(theta - 10000.0) > 1e-6) {
        snprintf(why, cap,
                 "config.json: rms_norm_eps %g and rope_theta %g (dc-llama computes with 1e-05 and "
                 "10000)",
                 eps, theta);
        return -1;
    }
    return 0;
}

/* 1 if name is a plain shard file name (as dcz's source_hf.c requires). */
static int safe_shard(const char *name) {
    size_t n = strlen(name);
    return n > 12 && n <= 255 && !strchr(name, '/') && !strchr(name, '\\') &&
           !strcmp(name + n - 12, ".safetensors");
}

static char *join2(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) memcpy(p, dir, a), p[a] = '/', memcpy(p + a + 1, name, b + 1);
    return p;
}

int el_is_hf_path(const char *path) {
    struct stat sb;
    size_t n = strlen(path), k = strlen(".safetensors.index.json");
    if (n >= k && !strcmp(path + n - k, ".safetensors.index.json")) return 1;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int el_model_load_hf(el_model *m, const char *path) {
    memset(m, 0, sizeof(*m));
    struct stat sb;
    char *dir = NULL, *index = NULL;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        dir = strdup(path);
        index = dir ? join2(dir, "model.safetensors.index.json") : NULL;
    } else {
        const char *slash = strrchr(path, '/');
        dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
        index = strdup(path);
    }
    char *cfgp = dir ? join2(dir, "config.json") : NULL;
    const char *jwhy = "";
    hj_value *cfg = cfgp ? hj_read_file(cfgp, &jwhy) : NULL, *idx = NULL;
    char why[512] = "";
    int32_t hdr[7];
    double eps, theta;
    el_config c;
    int rc = -1;
    float *data = NULL, *tmp = NULL;
    el_slot *slots = NULL;
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    if (!cfg) {
        snprintf(why, sizeof why, "config.json: %s", jwhy);
        goto out;
    }
    if (el_hf_header(cfg, hdr, &eps, &theta, why, sizeof why) != 0 ||
        el_hf_check_constants(eps, theta, why, sizeof why) != 0)
        goto out;
    if (el_config_from_header(&c, hdr) != 0) {
        snprintf(why, sizeof why, "config.json: dimensions dc-llama cannot run");
        goto out;
    }
    /* the weight_map (or the one model.safetensors) */
    int single = stat(index, &sb) != 0 && errno == ENOENT;
    if (!single && !(idx = hj_read_file(index, &jwhy))) {
        snprintf(why, sizeof why, "model.safetensors.index.json: %s", jwhy);
        goto out;
    }
    const hj_value *wm = hj_get(idx, "weight_map");
    if (!single && (!wm || wm->type != HJ_OBJ)) {
        snprintf(why, sizeof why, "model.safetensors.index.json: no weight_map object");
        goto out;
    }
    uint64_t nfl = el_layout_floats(&c);
    if (el_check_memory(path, 0, "the model (weights, KV cache and activations)",
                        4 * nfl + el_run_state_bytes(&c)) != 0)
        goto out;
    size_t ns = el_layout(&c, NULL, 0);
    slots = calloc(ns, sizeof(el_slot));
    data = calloc((size_t)nfl, sizeof(float));
    if (!slots || !data) {
        snprintf(why, sizeof why, "out of memory");
        goto out;
    }
    el_layout(&c, slots, ns);
    rc = 0;
    for (size_t i = 0; rc == 0 && i < ns; i++) {
        const el_slot *s = &slots[i];
        char hn[128];
        int perm;
        if (!el_hf_name(&c, s->name, hn, sizeof hn, &perm)) continue; /* RoPE: computed */
        if (!strcmp(s->name, "output.weight") && c.shared_classifier) continue;
        const char *shard = "model.safetensors";
        if (!single && hj_get_str(wm, hn, &shard) != 1) {
            snprintf(why, sizeof why, "tensor %s is not in the index", hn);
            rc = -1;
            break;
        }
        if (!safe_shard(shard)) {
            snprintf(why, sizeof why,
                     "tensor %s: shard \"%.100s\" is not a file name in the "
                     "directory",
                     hn, shard);
            rc = -1;
            break;
        }
        char *sp = join2(dir, shard);
        dc_st_file *f = NULL;
        if (!sp || dc_st_open(&a, sp, &f) != DC_OK) {
            snprintf(why, sizeof why, "shard %.100s: cannot read it as safetensors", shard);
            free(sp);
            rc = -1;
            break;
        }
        free(sp);
        const dc_st_tensor *t = dc_st_find(f->hdr, hn);
        size_t rows = s->cols ? s->rows : 1, cols = s->cols ? s->cols : s->rows;
        size_t cnt = rows * cols;
        dc_dtype dt = t && t->dtype == DC_ST_F32   ? DC_DTYPE_F32
                      : t && t->dtype == DC_ST_F16 ? DC_DTYPE_F16
                                                   : DC_DTYPE_BF16;
        int ok = t && (t->dtype == DC_ST_F32 || t->dtype == DC_ST_F16 || t->dtype == DC_ST_BF16) &&
                 t->numel == cnt && t->ndim == (s->cols ? 2u : 1u) &&
                 (t->ndim == 1 || (t->shape[0] == rows && t->shape[1] == cols));
        void *raw = ok ? malloc((size_t)(t->end - t->begin) + 1) : NULL;
        if (!ok || !raw || dc_st_read(f, t, raw, (size_t)(t->end - t->begin)) != DC_OK ||
            dc_convert_to_f32(data + s->offset, raw, dt, cnt) != DC_OK) {
            snprintf(why, sizeof why,
                     "tensor %s: missing, of an unexpected shape or dtype, or "
                     "unreadable",
                     hn);
            rc = -1;
        }
        free(raw);
        dc_st_close(f);
        if (rc == 0 && perm) { /* back to llama2.c's adjacent-pair order */
            free(tmp);
            if (!(tmp = malloc(cnt * sizeof(float)))) {
                snprintf(why, sizeof why, "out of memory");
                rc = -1;
            } else {
                el_hf_unpermute(data + s->offset, rows, cols, perm, tmp);
            }
        }
    }
out:
    if (rc != 0) fprintf(stderr, "dc-llama: %s: %s\n", path, why);
    free(tmp), free(slots), free(dir), free(index), free(cfgp);
    hj_free(cfg), hj_free(idx);
    if (rc != 0) {
        free(data);
        return -1;
    }
    return el_model_init(m, hdr, data, (size_t)el_layout_floats(&c), path);
}
