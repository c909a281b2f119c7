/*
 * calib.c -- dcz calibrate, and the engine-run pipeline behind
 * `dcz compress MODEL.bin|MODEL.gguf --calib-text`.
 *
 * The reference engine (examples/engine) calibrates on the text, prunes,
 * scales (1/s folded into rms_att / rms_ffn; applied at run time before wo
 * and w2, whose s is stored as the tensor's smoothing scales) and quantizes.
 * The result is written as the engine runs it, so `dc-llama ppl FILE.dcz`
 * reproduces the in-memory quantized run exactly. A llama GGUF model runs
 * as dc-llama runs it (el_qopts_for_gguf): binary16 scales and no run-time
 * 1/s, so that dcz export --gguf gives Q8_0 with the .dcz's values; its
 * tensors keep llama.cpp's names.
 */
#define _GNU_SOURCE
#include "calib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/gguf_load.h"
#include "../engine/model.h"
#include "../engine/pipeline.h"
#include "../engine/tokenizer.h"

struct calib_result {
    calib_tensor *t;
    size_t n;
    char meta[256];
};

static const char *const kLinName[EL_NLIN] = {
    "attention.wq",    "attention.wk",    "attention.wv",   "attention.wo",
    "feed_forward.w1", "feed_forward.w2", "feed_forward.w3"};

static void *dup_mem(const void *p, size_t n) {
    void *d = malloc(n ? n : 1);
    if (d && n) memcpy(d, p, n);
    return d;
}

static calib_tensor *push(calib_result *r) {
    calib_tensor *t = realloc(r->t, (r->n + 1) * sizeof(*t));
    if (!t) return NULL;
    r->t = t;
    memset(&t[r->n], 0, sizeof(t[r->n]));
    t[r->n].desc.struct_size = sizeof(dc_tensor_desc);
    t[r->n].desc.prune_method = DC_PRUNE_NONE;
    return &t[r->n++];
}

/* The name of tensor `kind` of layer `layer` as the source names it:
 * llama2.c's, or llama.cpp's for a GGUF model. */
static const char *tensor_name(int gguf, int layer, const char *kind, char *out, size_t cap) {
    char l2c[96];
    snprintf(l2c, sizeof(l2c), "layers.%d.%s.weight", layer, kind);
    if (gguf) return el_gguf_name(l2c, out, cap);
    snprintf(out, cap, "%s", l2c);
    return out;
}

static int add_norm(calib_result *r, int gguf, int layer, const char *kind, const float *v, int n) {
    calib_tensor *t = push(r);
    char name[96];
    if (!t || !tensor_name(gguf, layer, kind, name, sizeof(name)) ||
        !(t->desc.name = strdup(name)) || !(t->data = dup_mem(v, (size_t)n * 4)))
        return 0;
    t->desc.ndim = 1;
    t->desc.dims[0] = (uint64_t)n;
    t->desc.source_dtype = t->desc.dtype = DC_DTYPE_F32;
    t->size = (size_t)n * 4;
    return 1;
}

/* 1 if the scaling of linear k's input is folded into an RMSNorm weight. */
static int layer_folded(int k) {
    int in = el_linear_input(k);
    return in == EL_IN_ATT || in == EL_IN_FFN;
}

static int add_linear(calib_result *r, int gguf, int layer, int k, const el_linear *lin,
                      const calib_options *o) {
    calib_tensor *t = push(r);
    char name[96];
    if (!t || !tensor_name(gguf, layer, kLinName[k], name, sizeof(name)) ||
        !(t->desc.name = strdup(name)))
        return 0;
    dc_tensor_desc *d = &t->desc;
    size_t rows = (size_t)lin->out, cols = (size_t)lin->in;
    d->ndim = 2;
    d->dims[0] = rows;
    d->dims[1] = cols;
    d->source_dtype = DC_DTYPE_F32;
    d->dtype = DC_DTYPE_I8;
    d->bits = (unsigned)o->bits;
    d->granularity = o->gran;
    d->group_size = o->gran == DC_QUANT_PER_GROUP ? (uint64_t)lin->group : 0;
    if (o->bits == 8) {
        t->size = rows * cols;
        if (!(t->data = dup_mem(lin->q8, t->size))) return 0;
    } else { /* 4-bit: low nibble = even column (dc_quant.h layout) */
        size_t rb = (cols + 1) / 2;
        uint8_t *p = calloc(rows * rb, 1);
        if (!(t->data = p)) return 0;
        t->size = rows * rb;
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++) {
                unsigned nib = (unsigned)(uint8_t)lin->q8[i * cols + j] & 15u;
                p[i * rb + j / 2] |= (uint8_t)(j & 1 ? nib << 4 : nib);
            }
    }
    if (!(d->scales = dup_mem(lin->scale, (size_t)lin->n_scales * 4))) return 0;
    d->n_scales = (uint64_t)lin->n_scales;
    if (lin->smooth) { /* s of an input scaled at run time (wo, w2) */
        if (!(d->smooth = dup_mem(lin->smooth, cols * 4))) return 0;
        d->n_smooth = cols;
    }
    d->quant_flags = o->qflags;
    d->alpha = lin->smooth || layer_folded(k) ? (float)o->alpha : 0;
    d->prune_method = o->sparsity > 0 ? o->prune : DC_PRUNE_NONE;
    d->sparsity = (float)o->sparsity;
    return 1;
}

static el_qopts engine_options(const calib_options *o, const char *text) {
    el_qopts q;
    memset(&q, 0, sizeof(q));
    q.quantize = 1;
    q.bits = o->bits;
    q.gran = o->gran == DC_QUANT_PER_CHANNEL ? EL_GRAN_CHANNEL
             : o->gran == DC_QUANT_PER_GROUP ? EL_GRAN_GROUP
                                             : EL_GRAN_TENSOR;
    q.group = (int)o->group;
    q.qmax = o->qmax;
    q.use_alpha = o->alpha > 0;
    q.alpha = o->alpha;
    for (int l = 0; l < EL_MAX_LAYERS; l++)
        q.layer_alpha[l] = -1;
    q.sparsity = o->sparsity;
    q.prune = o->sparsity <= 0                 ? EL_PRUNE_NONE
              : o->prune == DC_PRUNE_WANDA     ? EL_PRUNE_WANDA
              : o->prune == DC_PRUNE_MAGNITUDE ? EL_PRUNE_MAGNITUDE
                                               : EL_PRUNE_DC;
    q.prune_group = o->prune_tensor ? -1 : 0;
    q.calib_path = text;
    q.calib_tokens = (int)o->tokens;
    q.calib_offset = 0;
    q.gptq = o->gptq;
    q.qflags = o->qflags;
    q.scale_mantissa = o->scale_mantissa;
    return q;
}

static int cmp_calib_name(const void *a, const void *b) {
    return strcmp(((const calib_tensor *)a)->desc.name, ((const calib_tensor *)b)->desc.name);
}

int calib_compress_llama2c(const char *model, const char *tokenizer, const char *text,
                           const calib_options *o, calib_result **out, int quiet) {
    *out = NULL;
    el_model m;
    el_tokenizer tk;
    const int gguf = el_tokenizer_in_model(model); /* a .gguf file */
    if (!tokenizer) tokenizer = model;             /* a GGUF carries its tokenizer */
    if (el_model_load(&m, model) != 0) return 2;
    if (el_tokenizer_load(&tk, tokenizer, m.cfg.vocab_size) != 0) {
        el_model_free(&m);
        return 2;
    }
    el_qopts q = engine_options(o, text);
    if (gguf) el_qopts_for_gguf(&q);
    el_qreport rep;
    int rc = 0;
    if (el_pipeline_apply(&m, &tk, &q, &rep) != 0) {
        fprintf(stderr, "dcz compress: the calibration pipeline failed\n");
        rc = 2;
    }
    calib_result *r = calloc(1, sizeof(*r));
    if (!r) rc = 4;
    for (int l = 0; rc == 0 && l < m.cfg.n_layers; l++) {
        el_layer *ly = &m.layers[l];
        if (!add_norm(r, gguf, l, "attention_norm", ly->rms_att, m.cfg.dim) ||
            !add_norm(r, gguf, l, "ffn_norm", ly->rms_ffn, m.cfg.dim))
            rc = 4;
        for (int k = 0; rc == 0 && k < EL_NLIN; k++)
            if (!add_linear(r, gguf, l, k, &ly->lin[k], o)) rc = 4;
    }
    if (rc == 0) {
        qsort(r->t, r->n, sizeof(*r->t), cmp_calib_name); /* calib_find bisects */
        snprintf(r->meta, sizeof(r->meta), "\"calib_tokens\":%zu,\"scaling\":\"%s\"",
                 rep.calib_tokens,
                 gguf ? "1/s folded into attn_norm/ffn_norm; attn_output/ffn_down not scaled "
                        "(GGUF has no run-time 1/s); binary16 scales"
                      : "1/s folded into attention_norm/ffn_norm; wo/w2 at run time");
        if (!quiet)
            fprintf(stderr, "dcz compress: calibrated on %zu tokens of %s\n", rep.calib_tokens,
                    text);
        *out = r;
    } else {
        calib_free(r);
    }
    el_tokenizer_free(&tk);
    el_model_free(&m);
    return rc;
}

const calib_tensor *calib_find(const calib_result *r, const char *name) {
    for (size_t lo = 0, hi = r ? r->n : 0; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->t[mid].desc.name, name);
        if (c == 0) return &r->t[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *calib_metadata(const calib_result *r) {
    return r ? r->meta : "";
}

void calib_free(calib_result *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        free((void *)r->t[i].desc.name);
        free((void *)r->t[i].desc.scales);
        free((void *)r->t[i].desc.smooth);
        free(r->t[i].data);
    }
    free(r->t);
    free(r);
}

/* ---- dcz calibrate -------------------------------------------------------- */

int dcz_calibrate(int argc, char **argv) {
    const char *model = NULL, *tok = NULL, *text = NULL, *out = NULL;
    long tokens = 20000;
    int force = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            puts("usage: dcz calibrate MODEL.bin --tokenizer TOK --text FILE -o STATS "
                 "[--tokens N] [--force]\n"
                 "Runs the llama2.c model in FP32 over the first N tokens (default 20000) of\n"
                 "FILE and saves, for every linear weight, the max|x| and sum x^2 of each\n"
                 "input channel (safetensors; see dc_stats.h), keyed by tensor name, for\n"
                 "dcz compress --stats.");
            return 0;
        }
        if (v && !strcmp(a, "--tokenizer"))
            tok = v, i++;
        else if (v && !strcmp(a, "--text"))
            text = v, i++;
        else if (v && !strcmp(a, "-o"))
            out = v, i++;
        else if (v && !strcmp(a, "--tokens"))
            tokens = atol(v), i++;
        else if (!strcmp(a, "--force"))
            force = 1;
        else if (a[0] != '-' && !model)
            model = a;
        else {
            fprintf(stderr, "dcz calibrate: bad argument %s (see --help)\n", a);
            return 1;
        }
    }
    if (!model || !tok || !text || !out || tokens < 1) {
        fprintf(stderr, "dcz calibrate: need MODEL, --tokenizer, --text and -o (see --help)\n");
        return 1;
    }
    if (!force && access(out, F_OK) == 0) {
        fprintf(stderr, "dcz calibrate: %s exists; use --force to overwrite\n", out);
        return 3;
    }
    el_model m;
    el_tokenizer tk;
    if (el_model_load(&m, model) != 0) return 2;
    if (el_tokenizer_load(&tk, tok, m.cfg.vocab_size) != 0) return el_model_free(&m), 2;
    const int L = m.cfg.n_layers;
    dc_stats **st = calloc((size_t)L * EL_NIN, sizeof(*st));
    char **names = calloc((size_t)L * EL_NLIN, sizeof(*names));
    const dc_stats **per_tensor = calloc((size_t)L * EL_NLIN, sizeof(*per_tensor));
    int rc = st && names && per_tensor ? 0 : 4;
    for (int i = 0; rc == 0 && i < L * EL_NIN; i++) {
        size_t width = i % EL_NIN == EL_IN_W2 ? (size_t)m.cfg.hidden_dim : (size_t)m.cfg.dim;
        if (dc_stats_create(width, NULL, &st[i]) != DC_OK) rc = 4;
    }
    calib_options co = {0, 0, 0, 8, DC_QUANT_PER_TENSOR, 0, tokens, 0, 0, 0, 0, 0};
    el_qopts q = engine_options(&co, text);
    size_t chars = 0;
    if (rc == 0 && el_calibrate(&m, &tk, &q, st, NULL, &chars) != 0) rc = 2;
    for (int l = 0; rc == 0 && l < L; l++)
        for (int k = 0; k < EL_NLIN; k++) {
            char buf[96];
            snprintf(buf, sizeof(buf), "layers.%d.%s.weight", l, kLinName[k]);
            names[l * EL_NLIN + k] = strdup(buf);
            per_tensor[l * EL_NLIN + k] = st[l * EL_NIN + el_linear_input(k)];
        }
    dc_status s = DC_OK;
    if (rc == 0)
        s = dc_stats_save(out, (const char *const *)names, (const dc_stats *const *)per_tensor,
                          (size_t)L * EL_NLIN);
    if (rc == 0 && s != DC_OK) {
        fprintf(stderr, "dcz calibrate: cannot write %s: %s\n", out,
                s == DC_ERR_IO ? strerror(errno) : dc_status_string(s));
        rc = 3;
    }
    if (rc == 0)
        printf("%s: statistics of %d linear weights over %llu tokens (%zu characters of %s)\n", out,
               L * EL_NLIN, (unsigned long long)dc_stats_tokens(st[0]), chars, text);
    for (int i = 0; st && i < L * EL_NIN; i++)
        dc_stats_free(st[i]);
    for (int i = 0; names && i < L * EL_NLIN; i++)
        free(names[i]);
    free(st), free(names), free(per_tensor);
    el_tokenizer_free(&tk);
    el_model_free(&m);
    return rc;
}
