/*
 * model.c -- dc-llama: checkpoint reader and forward pass.
 *
 * Architecture (llama2.c "version 0" checkpoints): token embedding, then per
 * layer RMSNorm -> q/k/v -> RoPE -> causal grouped-query attention -> wo ->
 * residual, RMSNorm -> SwiGLU (w2(silu(w1 x) * w3 x)) -> residual; final
 * RMSNorm and classifier. No biases. RMSNorm eps = 1e-5.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#include "model.h"
#include "gguf_load.h"
#include "hf_load.h"
#include "../limits.h"
#include "plan.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int k_lin_input[EL_NLIN] = {EL_IN_ATT, EL_IN_ATT, EL_IN_ATT, EL_IN_WO,
                                         EL_IN_FFN, EL_IN_W2,  EL_IN_FFN};
static const char *const k_lin_name[EL_NLIN] = {"wq", "wk", "wv", "wo", "w1", "w2", "w3"};

int el_linear_input(int which) {
    return k_lin_input[which];
}

const char *el_linear_name(int which) {
    return k_lin_name[which];
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "dc-llama: out of memory\n");
        exit(2);
    }
    return p;
}

static float *fdup(const float *src, size_t n) {
    float *p = xcalloc(n, sizeof(float));
    memcpy(p, src, n * sizeof(float));
    return p;
}

int el_config_from_header(el_config *c, const int32_t hdr[7]) {
    memset(c, 0, sizeof(*c));
    c->dim = hdr[0];
    c->hidden_dim = hdr[1];
    c->n_layers = hdr[2];
    c->n_heads = hdr[3];
    c->n_kv_heads = hdr[4];
    c->shared_classifier = hdr[5] > 0;
    if (hdr[5] == INT32_MIN) return -1; /* -INT32_MIN overflows */
    c->vocab_size = hdr[5] > 0 ? hdr[5] : -hdr[5];
    c->seq_len = hdr[6];
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 ||
        c->n_kv_heads <= 0 || c->vocab_size <= 0 || c->seq_len <= 0 || c->dim % c->n_heads ||
        c->n_heads % c->n_kv_heads || (c->dim / c->n_heads) % 2 || c->dim > (1 << 16) ||
        c->hidden_dim > (1 << 18) || c->n_layers > 4096 || c->vocab_size > (1 << 22) ||
        c->seq_len > (1 << 20))
        return -1;
    c->head_size = c->dim / c->n_heads;
    c->kv_dim = c->n_kv_heads * c->head_size;
    return 0;
}

size_t el_layout(const el_config *c, el_slot *slots, size_t max) {
    const size_t D = (size_t)c->dim, H = (size_t)c->hidden_dim, L = (size_t)c->n_layers;
    const size_t V = (size_t)c->vocab_size, KV = (size_t)c->kv_dim, S = (size_t)c->seq_len;
    const size_t hs = (size_t)c->head_size;
    /* each kind of tensor is stored for all layers before the next kind */
    static const struct {
        const char *name;
        int linear;
    } kinds[9] = {
        {"attention_norm", -1},     {"attention.wq", EL_WQ},    {"attention.wk", EL_WK},
        {"attention.wv", EL_WV},    {"attention.wo", EL_WO},    {"ffn_norm", -1},
        {"feed_forward.w1", EL_W1}, {"feed_forward.w2", EL_W2}, {"feed_forward.w3", EL_W3}};
    const size_t rows[9] = {1, D, KV, KV, D, 1, H, D, H};
    const size_t cols[9] = {D, D, D, D, D, D, D, H, D};
    size_t n = 0, off = 0;
#define SLOT(nm, l, lin, r, cl)                                                                    \
    do {                                                                                           \
        if (n < max) {                                                                             \
            el_slot *s_ = &slots[n];                                                               \
            snprintf(s_->name, sizeof(s_->name), "%s", nm);                                        \
            s_->offset = off, s_->rows = (r), s_->cols = (cl), s_->layer = (l),                    \
            s_->linear = (lin);                                                                    \
        }                                                                                          \
        n++;                                                                                       \
        off += (r) * ((cl) ? (cl) : 1);                                                            \
    } while (0)
    SLOT("tok_embeddings.weight", -1, -1, V, D);
    for (int k = 0; k < 9; k++)
        for (size_t l = 0; l < L; l++) {
            char nm[64];
            snprintf(nm, sizeof(nm), "layers.%zu.%s.weight", l, kinds[k].name);
            if (kinds[k].linear < 0)
                SLOT(nm, (int)l, -1, cols[k], 0);
            else
                SLOT(nm, (int)l, kinds[k].linear, rows[k], cols[k]);
        }
    SLOT("norm.weight", -1, -1, D, 0);
    SLOT("freq_cis_real", -1, -1, S, hs / 2);
    SLOT("freq_cis_imag", -1, -1, S, hs / 2);
    if (!c->shared_classifier) SLOT("output.weight", -1, -1, V, D);
#undef SLOT
    return n;
}

const char *el_max_memory = NULL;

int el_check_memory(const char *path, uint64_t file_size, const char *what, uint64_t need) {
    return dcx_check_memory("dc-llama", el_max_memory, path, file_size, what, need) == DC_OK ? 0
                                                                                             : -1;
}

uint64_t el_layout_floats(const el_config *c) {
    const uint64_t D = (uint64_t)c->dim, H = (uint64_t)c->hidden_dim, L = (uint64_t)c->n_layers;
    const uint64_t V = (uint64_t)c->vocab_size, KV = (uint64_t)c->kv_dim;
    const uint64_t S = (uint64_t)c->seq_len, hs = (uint64_t)c->head_size;
    /* as el_layout: embedding, per layer 2 norms and 7 linears, final norm,
     * RoPE tables, the classifier unless shared (all bounded by
     * el_config_from_header, so no overflow) */
    return V * D + L * (2 * D + 2 * D * D + 2 * KV * D + 3 * H * D) + D + S * (hs / 2) * 2 +
           (c->shared_classifier ? 0 : V * D);
}

uint64_t el_run_state_bytes(const el_config *c) {
    const uint64_t D = (uint64_t)c->dim, H = (uint64_t)c->hidden_dim, L = (uint64_t)c->n_layers;
    const uint64_t KV = (uint64_t)c->kv_dim, S = (uint64_t)c->seq_len;
    const uint64_t hs = (uint64_t)c->head_size, T = S, wide = H > D ? H : D;
    uint64_t floats = 2 * L * S * KV                            /* key and value caches */
                      + T * (4 * D + 2 * KV + 2 * H + 3 * wide) /* activations */
                      + S + S * hs                              /* attention row, RoPE cos/sin */
                      + 2 * L * D + D;                          /* norm copies */
    return 4 * floats;
}

int el_model_load(el_model *m, const char *path) {
    memset(m, 0, sizeof(*m));
    size_t plen = strlen(path);
    if (plen > 4 && !strcmp(path + plen - 4, ".dcz")) return el_model_load_dcz(m, path, NULL, NULL);
    if (plen > 5 && !strcmp(path + plen - 5, ".gguf")) return el_model_load_gguf(m, path);
    if (el_is_hf_path(path)) return el_model_load_hf(m, path); /* Hugging Face checkpoint */
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dc-llama: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    int32_t hdr[7];
    if (fread(hdr, sizeof(int32_t), 7, f) != 7) {
        fprintf(stderr, "dc-llama: %s: short header\n", path);
        fclose(f);
        return -1;
    }
    el_config c;
    if (el_config_from_header(&c, hdr) != 0) {
        fprintf(stderr, "dc-llama: %s: bad header\n", path);
        fclose(f);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return -1;
    }
    long fsize = ftell(f);
    size_t nfl = fsize > 28 ? (size_t)(fsize - 28) / sizeof(float) : 0;
    /* the header against the file size (weights) and the memory limit (the
     * run state it asks for), before anything is allocated */
    uint64_t need = el_layout_floats(&c);
    if (nfl < need) {
        fprintf(stderr, "dc-llama: %s: file too short (%zu floats, need %llu)\n", path, nfl,
                (unsigned long long)need);
        fclose(f);
        return -1;
    }
    /* the floats, what quantizing in memory may add to the linears (a pruned
     * float copy, integer values as floats and as bytes: 9 bytes a weight),
     * and the run state */
    const uint64_t D = (uint64_t)c.dim, H = (uint64_t)c.hidden_dim, L = (uint64_t)c.n_layers;
    const uint64_t lin = L * (2 * D * D + 2 * (uint64_t)c.kv_dim * D + 3 * H * D);
    if (el_check_memory(path, (uint64_t)fsize, "the model (weights, KV cache and activations)",
                        4 * (uint64_t)nfl + 9 * lin + el_run_state_bytes(&c)) != 0) {
        fclose(f);
        return -1;
    }
    float *data = xcalloc(nfl, sizeof(float));
    if (fseek(f, 28, SEEK_SET) != 0 || fread(data, sizeof(float), nfl, f) != nfl) {
        fprintf(stderr, "dc-llama: %s: read error\n", path);
        fclose(f);
        free(data);
        return -1;
    }
    fclose(f);
    return el_model_init(m, hdr, data, nfl, path);
}

int el_model_init(el_model *m, const int32_t hdr[7], float *data, size_t nfl, const char *what) {
    memset(m, 0, sizeof(*m));
    el_config *c = &m->cfg;
    if (el_config_from_header(c, hdr) != 0 || nfl < el_layout_floats(c)) {
        fprintf(stderr, "dc-llama: %s: bad header or too little data\n", what);
        free(data);
        return -1;
    }
    m->file_data = data;
    m->file_floats = nfl;
    const size_t D = (size_t)c->dim, H = (size_t)c->hidden_dim, L = (size_t)c->n_layers;
    const size_t V = (size_t)c->vocab_size, KV = (size_t)c->kv_dim, S = (size_t)c->seq_len;
    const size_t hs = (size_t)c->head_size;

    const float *p = m->file_data;
    m->tok_emb = p;
    p += V * D;
    const float *rms_att = p;
    p += L * D;
    const float *wq = p;
    p += L * D * D;
    const float *wk = p;
    p += L * D * KV;
    const float *wv = p;
    p += L * D * KV;
    const float *wo = p;
    p += L * D * D;
    const float *rms_ffn = p;
    p += L * D;
    const float *w1 = p;
    p += L * D * H;
    const float *w2 = p;
    p += L * H * D;
    const float *w3 = p;
    p += L * D * H;
    m->rms_final = fdup(p, D);
    p += D;
    p += S * hs; /* freq_cis_real + freq_cis_imag: recomputed below */
    m->wcls = c->shared_classifier ? m->tok_emb : p;

    m->layers = xcalloc(L, sizeof(el_layer));
    for (size_t l = 0; l < L; l++) {
        el_layer *ly = &m->layers[l];
        ly->rms_att = fdup(rms_att + l * D, D);
        ly->rms_ffn = fdup(rms_ffn + l * D, D);
        const struct {
            const float *base;
            size_t out, in;
        } spec[EL_NLIN] = {{wq, D, D}, {wk, KV, D}, {wv, KV, D}, {wo, D, D},
                           {w1, H, D}, {w2, D, H},  {w3, H, D}};
        for (int i = 0; i < EL_NLIN; i++) {
            el_linear *lin = &ly->lin[i];
            lin->in = (int)spec[i].in;
            lin->out = (int)spec[i].out;
            lin->w = spec[i].base + l * spec[i].out * spec[i].in;
            lin->mode = EL_LIN_FP32;
        }
    }

    /* RoPE: pair i of a head rotates by pos * 10000^(-2i/head_size). */
    m->rope_cos = xcalloc(S * hs / 2, sizeof(float));
    m->rope_sin = xcalloc(S * hs / 2, sizeof(float));
    for (size_t pos = 0; pos < S; pos++) {
        for (size_t i = 0; i < hs / 2; i++) {
            double freq = pow(10000.0, -(double)(2 * i) / (double)hs);
            double ang = (double)pos * freq;
            m->rope_cos[pos * hs / 2 + i] = (float)cos(ang);
            m->rope_sin[pos * hs / 2 + i] = (float)sin(ang);
        }
    }

    const size_t T = S;
    m->max_t = (int)T;
    m->key_cache = xcalloc(L * S * KV, sizeof(float));
    m->value_cache = xcalloc(L * S * KV, sizeof(float));
    size_t wide = H > D ? H : D;
    m->x = xcalloc(T * D, sizeof(float));
    m->xb = xcalloc(T * D, sizeof(float));
    m->xb2 = xcalloc(T * D, sizeof(float));
    m->q = xcalloc(T * D, sizeof(float));
    m->k = xcalloc(T * KV, sizeof(float));
    m->v = xcalloc(T * KV, sizeof(float));
    m->att = xcalloc(S, sizeof(float));
    m->hb = xcalloc(T * H, sizeof(float));
    m->hb2 = xcalloc(T * H, sizeof(float));
    m->scratch_in = xcalloc(T * wide, sizeof(float));
    m->scratch_out = xcalloc(T * wide, sizeof(float));
    m->scratch_q = xcalloc(T * wide, sizeof(float));
    return 0;
}

void el_linear_reset(el_linear *lin) {
    free(lin->qw);
    free(lin->scale);
    free(lin->q8);
    free(lin->inv_in);
    free(lin->smooth);
    lin->smooth = NULL;
    lin->qw = NULL;
    lin->scale = NULL;
    lin->q8 = NULL;
    lin->inv_in = NULL;
    lin->n_scales = 0;
    lin->group = 0;
    lin->mode = EL_LIN_FP32;
}

void el_model_free(el_model *m) {
    if (m->layers) {
        for (int l = 0; l < m->cfg.n_layers; l++) {
            el_layer *ly = &m->layers[l];
            free(ly->rms_att);
            free(ly->rms_ffn);
            for (int i = 0; i < EL_NLIN; i++) {
                el_linear_reset(&ly->lin[i]);
                free(ly->lin[i].w_owned);
            }
        }
    }
    free(m->layers);
    free(m->file_data);
    free(m->rms_final);
    free(m->rope_cos);
    free(m->rope_sin);
    free(m->key_cache);
    free(m->value_cache);
    free(m->x);
    free(m->xb);
    free(m->xb2);
    free(m->q);
    free(m->k);
    free(m->v);
    free(m->att);
    free(m->hb);
    free(m->hb2);
    free(m->scratch_in);
    free(m->scratch_out);
    free(m->scratch_q);
    el_plan_free(m->plan);
    memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------------ */

static void rmsnorm(float *out, const float *x, const float *g, int n) {
    double ss = 0.0;
    for (int j = 0; j < n; j++)
        ss += (double)x[j] * x[j];
    float r = (float)(1.0 / sqrt(ss / n + 1e-5));
    for (int j = 0; j < n; j++)
        out[j] = x[j] * r * g[j];
}

/*
 * W8A8 semantics: per token t, x_t (after the optional 1/s) is quantized to
 * qx = round(x / d_t) with d_t = max_j |x_tj| / qmax (round half away from
 * zero, clamped to +-qmax; an all-zero row gives qx = 0). Then
 *   per tensor / channel: y[t,i] = d_t * scale_i * sum_j qx[t,j] qw[i,j]
 *   per group:            y[t,i] = d_t * sum_g scale_ig * sum_{j in g} qx qw
 * The integer sums are computed by sgemm on integer-valued floats; they are
 * exact (= an int32 accumulator) while in * qmax_x * qmax_w < 2^24, i.e. for
 * in <= 1040 at 8 bits (stories260K: in <= 172).
 * Weight-only mode (act_qmax 0, dc-llama --act f32): qx = x (times 1/s), d_t = 1,
 * so y is the float product of x with the dequantized weights.
 */
void el_quantize_input(const el_linear *lin, const float *x, int t, float *qx, float *dt) {
    const int in = lin->in;
    const float qmax = (float)lin->act_qmax;
    if (lin->act_qmax == 0) { /* weight-only: float activations, d_t = 1 */
        for (int r = 0; r < t; r++) {
            const float *xr = x + (size_t)r * in;
            float *qr = qx + (size_t)r * in;
            for (int j = 0; j < in; j++)
                qr[j] = lin->inv_in ? xr[j] * lin->inv_in[j] : xr[j];
            dt[r] = 1.0f;
        }
        return;
    }
    for (int r = 0; r < t; r++) {
        const float *xr = x + (size_t)r * in;
        float *qr = qx + (size_t)r * in;
        float amax = 0.0f;
        for (int j = 0; j < in; j++) {
            float v = lin->inv_in ? xr[j] * lin->inv_in[j] : xr[j];
            qr[j] = v;
            float a = fabsf(v);
            if (a > amax) amax = a;
        }
        if (amax == 0.0f) {
            dt[r] = 0.0f;
            memset(qr, 0, (size_t)in * sizeof(float));
            continue;
        }
        float d = amax / qmax;
        dt[r] = d;
        for (int j = 0; j < in; j++) {
            float qv = roundf(qr[j] / d);
            if (qv > qmax) qv = qmax;
            if (qv < -qmax) qv = -qmax;
            qr[j] = qv;
        }
    }
}

void el_linear_apply(el_model *m, el_linear *lin, const float *x, int t, float *y) {
    const int in = lin->in, out = lin->out;
    if (lin->jit) {
        el_jit_apply(m, lin, x, t, y);
        return;
    }
    if (lin->mode == EL_LIN_FP32) {
        el_matmul(t, out, in, in, x, lin->w, y);
        return;
    }
    float *qx = m->scratch_in;
    float *dt = m->att; /* reuse: t <= seq_len floats */
    el_quantize_input(lin, x, t, qx, dt);
    if (lin->group == 0) {
        el_matmul(t, out, in, in, qx, lin->qw, y);
        for (int r = 0; r < t; r++) {
            float *yr = y + (size_t)r * out;
            for (int i = 0; i < out; i++) {
                float s = lin->n_scales == 1 ? lin->scale[0] : lin->scale[i];
                yr[i] = yr[i] * s * dt[r];
            }
        }
        return;
    }
    const int G = lin->group;
    const int ng = (in + G - 1) / G;
    memset(y, 0, (size_t)t * out * sizeof(float));
    float *tmp = m->scratch_q;
    for (int g = 0; g < ng; g++) {
        int j0 = g * G, w = in - j0 < G ? in - j0 : G;
        el_matmul(t, out, w, in, qx + j0, lin->qw + j0, tmp);
        for (int r = 0; r < t; r++)
            for (int i = 0; i < out; i++)
                y[(size_t)r * out + i] += tmp[(size_t)r * out + i] * lin->scale[(size_t)i * ng + g];
    }
    for (int r = 0; r < t; r++)
        for (int i = 0; i < out; i++)
            y[(size_t)r * out + i] *= dt[r];
}

static void rope(const el_model *m, float *vec, int n, int pos) {
    const int hs = m->cfg.head_size;
    const float *cs = m->rope_cos + (size_t)pos * hs / 2;
    const float *sn = m->rope_sin + (size_t)pos * hs / 2;
    for (int h = 0; h < n; h += hs) {
        for (int i = 0; i < hs / 2; i++) {
            float a = vec[h + 2 * i], b = vec[h + 2 * i + 1];
            vec[h + 2 * i] = a * cs[i] - b * sn[i];
            vec[h + 2 * i + 1] = a * sn[i] + b * cs[i];
        }
    }
}

int el_forward(el_model *m, const int *tokens, int t, int pos0, float *logits) {
    const el_config *c = &m->cfg;
    const int D = c->dim, H = c->hidden_dim, KV = c->kv_dim, hs = c->head_size;
    const int S = c->seq_len;
    if (t <= 0 || pos0 < 0 || pos0 + t > S || t > m->max_t) return -1;
    for (int r = 0; r < t; r++) {
        if (tokens[r] < 0 || tokens[r] >= c->vocab_size) return -1;
        memcpy(m->x + (size_t)r * D, m->tok_emb + (size_t)tokens[r] * D, (size_t)D * sizeof(float));
    }
    const int group = c->n_heads / c->n_kv_heads;
    const float inv_sqrt_hs = 1.0f / sqrtf((float)hs);

    for (int l = 0; l < c->n_layers; l++) {
        el_layer *ly = &m->layers[l];
        float *kc = m->key_cache + (size_t)l * S * KV;
        float *vc = m->value_cache + (size_t)l * S * KV;

        for (int r = 0; r < t; r++)
            rmsnorm(m->xb + (size_t)r * D, m->x + (size_t)r * D, ly->rms_att, D);
        if (m->observer) m->observer(m->observer_ctx, l, EL_IN_ATT, m->xb, t, D);
        el_linear_apply(m, &ly->lin[EL_WQ], m->xb, t, m->q);
        el_linear_apply(m, &ly->lin[EL_WK], m->xb, t, m->k);
        el_linear_apply(m, &ly->lin[EL_WV], m->xb, t, m->v);
        for (int r = 0; r < t; r++) {
            int pos = pos0 + r;
            rope(m, m->q + (size_t)r * D, D, pos);
            rope(m, m->k + (size_t)r * KV, KV, pos);
            memcpy(kc + (size_t)pos * KV, m->k + (size_t)r * KV, (size_t)KV * sizeof(float));
            memcpy(vc + (size_t)pos * KV, m->v + (size_t)r * KV, (size_t)KV * sizeof(float));
        }
        /* causal attention, one query token at a time */
        for (int r = 0; r < t; r++) {
            int pos = pos0 + r;
            for (int h = 0; h < c->n_heads; h++) {
                const float *qh = m->q + (size_t)r * D + (size_t)h * hs;
                const int kvo = (h / group) * hs;
                float *att = m->scratch_out; /* pos+1 <= S floats */
                float mx = -INFINITY;
                for (int p = 0; p <= pos; p++) {
                    const float *kp = kc + (size_t)p * KV + kvo;
                    float s = 0.0f;
                    for (int i = 0; i < hs; i++)
                        s += qh[i] * kp[i];
                    s *= inv_sqrt_hs;
                    att[p] = s;
                    if (s > mx) mx = s;
                }
                float sum = 0.0f;
                for (int p = 0; p <= pos; p++) {
                    att[p] = expf(att[p] - mx);
                    sum += att[p];
                }
                float *o = m->xb2 + (size_t)r * D + (size_t)h * hs;
                memset(o, 0, (size_t)hs * sizeof(float));
                for (int p = 0; p <= pos; p++) {
                    const float *vp = vc + (size_t)p * KV + kvo;
                    float a = att[p] / sum;
                    for (int i = 0; i < hs; i++)
                        o[i] += a * vp[i];
                }
            }
        }
        if (m->observer) m->observer(m->observer_ctx, l, EL_IN_WO, m->xb2, t, D);
        el_linear_apply(m, &ly->lin[EL_WO], m->xb2, t, m->xb);
        for (size_t i = 0; i < (size_t)t * D; i++)
            m->x[i] += m->xb[i];

        for (int r = 0; r < t; r++)
            rmsnorm(m->xb + (size_t)r * D, m->x + (size_t)r * D, ly->rms_ffn, D);
        if (m->observer) m->observer(m->observer_ctx, l, EL_IN_FFN, m->xb, t, D);
        el_linear_apply(m, &ly->lin[EL_W1], m->xb, t, m->hb);
        el_linear_apply(m, &ly->lin[EL_W3], m->xb, t, m->hb2);
        for (size_t i = 0; i < (size_t)t * H; i++) {
            float a = m->hb[i];
            m->hb[i] = a / (1.0f + expf(-a)) * m->hb2[i];
        }
        if (m->observer) m->observer(m->observer_ctx, l, EL_IN_W2, m->hb, t, H);
        el_linear_apply(m, &ly->lin[EL_W2], m->hb, t, m->xb);
        for (size_t i = 0; i < (size_t)t * D; i++)
            m->x[i] += m->xb[i];
    }
    for (int r = 0; r < t; r++)
        rmsnorm(m->x + (size_t)r * D, m->x + (size_t)r * D, m->rms_final, D);
    if (logits) el_matmul(t, c->vocab_size, D, D, m->x, m->wcls, logits);
    return 0;
}

void el_model_set_act_f32(el_model *m) {
    for (int l = 0; l < m->cfg.n_layers; l++)
        for (int k = 0; k < EL_NLIN; k++)
            m->layers[l].lin[k].act_qmax = 0;
}
