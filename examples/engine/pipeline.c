/*
 * pipeline.c -- dc-llama: calibration, DC scaling, pruning and W8A8
 * quantization of the linear layers, using libdoublecomp's dc_stats,
 * dc_scaler, dc_prune and dc_quant handles (nothing of that is reimplemented
 * here; the engine only moves tensors around).
 *
 * Order, per layer and per shared input (wq/wk/wv, wo, w1/w3, w2):
 *   1. prune the FP32 weights (dc_prune_f32, stats of the unscaled input)
 *   2. s = dc_scaler_create(stats, alpha, all matrices reading the input)
 *   3. W_hat = W * s (dc_scaler_apply); 1/s goes
 *        - into rms_att (wq/wk/wv) and rms_ffn (w1/w3) with dc_scaler_fold_norm
 *        - for wo and w2: applied at run time to the activation just before
 *          its per-token int8 quantization (el_linear.inv_in), see below
 *   4. dc_quantize(W_hat) per tensor / channel / group, 8 or 4 bits
 * DC and Wanda scores are invariant to the scaling, so pruning before or
 * after step 3 selects the same weights; magnitude pruning is done on the
 * original |W| (the usual baseline).
 *
 * Why wo and w2 are scaled at run time: wo's input is the concatenation of
 * the attention heads, o[h*hs + d] = sum_t att_h[t] v[t][kv(h)*hs + d]. With
 * GQA several query heads h share one kv head, so 1/s could be folded into
 * the wv row kv*hs + d only if s were equal over those heads' channels; the
 * scaler's s is per channel, so it is not. For w2 the input h = silu(w1 x) *
 * (w3 x) would allow folding 1/s into the rows of w3 exactly, but that
 * changes w3 before it is quantized (its per-tensor Delta and entropy). The
 * run-time multiply costs one multiply per activation, which a real kernel
 * merges into the per-token quantization (x / (s_j * d_t)).
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#include "pipeline.h"

#include "gptq.h"

#include "../float16.h"

#include <doublecomp.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h" /* dc_f16_to_f32, dc_f32_to_f16 */

void el_qopts_for_gguf(el_qopts *o) {
    o->f16_scales = 1;
    o->fold_only = 1;
}

/* The binary16 value nearest to x from above (x >= 0, finite, <= 65504). */
static float f16_ceil(float x) {
    float h = dc_f16_to_f32(dc_f32_to_f16(x));
    if (h < x) h = dc_f16_to_f32((uint16_t)(dc_f32_to_f16(x) + 1));
    return h;
}

dc_status el_quantize_f16_scales(const float *w, size_t rows, size_t cols,
                                 const dc_quant_options *qo, dc_qtensor **out) {
    unsigned qmax = qo->qmax ? qo->qmax : 127;
    if (qo->bits != 8 || qmax > 127) return DC_ERR_INVALID_ARGUMENT;
    size_t g =
        qo->granularity == DC_QUANT_PER_GROUP ? (qo->group_size ? qo->group_size : 128) : cols;
    if (g == 0) g = 1;
    size_t ng = qo->granularity == DC_QUANT_PER_TENSOR ? 1 : rows * ((cols + g - 1) / g);
    float *sc = malloc((ng ? ng : 1) * sizeof(float));
    int8_t *q = malloc(rows * cols + 1);
    if (!sc || !q) {
        free(sc), free(q);
        return DC_ERR_OUT_OF_MEMORY;
    }
    for (size_t k = 0; k < ng; k++)
        sc[k] = 0;
    int finite = 1;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            size_t k =
                qo->granularity == DC_QUANT_PER_TENSOR ? 0 : r * ((cols + g - 1) / g) + c / g;
            float a = fabsf(w[r * cols + c]);
            finite &= isfinite(a) != 0;
            if (a > sc[k]) sc[k] = a;
        }
    if (!finite) {
        free(sc), free(q);
        return DC_ERR_NOT_FINITE;
    }
    for (size_t k = 0; k < ng; k++) {
        if (!isfinite(sc[k]) || sc[k] / (float)qmax > 65504.0f) {
            free(sc), free(q);
            return DC_ERR_RANGE;
        }
        sc[k] = sc[k] > 0 ? f16_ceil(sc[k] / (float)qmax) : 1.0f;
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            size_t k =
                qo->granularity == DC_QUANT_PER_TENSOR ? 0 : r * ((cols + g - 1) / g) + c / g;
            float v = roundf(w[r * cols + c] / sc[k]);
            if (v > (float)qmax) v = (float)qmax;
            if (v < -(float)qmax) v = -(float)qmax;
            q[r * cols + c] = (int8_t)v;
        }
    dc_status st = dc_qtensor_import(q, rows * cols, sc, ng, rows, cols, qo, out);
    free(sc), free(q);
    return st;
}

char *el_read_text(const char *path, long offset, long max_chars, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dc-llama: cannot open %s\n", path);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long size = ftell(f);
    if (offset > size) offset = size;
    long n = size - offset;
    if (max_chars >= 0 && n > max_chars) n = max_chars;
    char *buf = malloc((size_t)n + 1);
    if (!buf || fseek(f, offset, SEEK_SET) != 0 || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "dc-llama: cannot read %s\n", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        dc_status st_ = (call);                                                                    \
        if (st_ != DC_OK) {                                                                        \
            fprintf(stderr, "dc-llama: %s failed: %s\n", #call, dc_status_string(st_));            \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

typedef struct calib_ctx {
    dc_stats **stats; /* [n_layers * EL_NIN] */
    double **hess;    /* NULL, or X^T X per input */
    dc_status status;
} calib_ctx;

static void calib_observe(void *ctx, int layer, int input, const float *x, int t, int n) {
    calib_ctx *c = ctx;
    if (c->status != DC_OK) return;
    c->status = dc_stats_observe(c->stats[layer * EL_NIN + input], x, DC_DTYPE_F32, (size_t)t, 0);
    if (!c->hess) return;
    double *h = c->hess[layer * EL_NIN + input];
    for (int r = 0; r < t; r++) {
        const float *xr = x + (size_t)r * n;
        for (int a = 0; a < n; a++) {
            const double xa = xr[a];
            double *ha = h + (size_t)a * n;
            for (int b = 0; b <= a; b++)
                ha[b] += xa * xr[b];
        }
    }
}

/* Runs the FP32 model over the calibration text, feeding every linear input
 * into its dc_stats. Returns 0 or -1. */
int el_calibrate(el_model *m, const el_tokenizer *tk, const el_qopts *o, dc_stats **stats,
                 double **hess, size_t *chars_used) {
    /* tok512 averages ~3 bytes per token; read generously, then cap tokens */
    long want = (long)o->calib_tokens * 16 + 4096;
    size_t len;
    char *text = el_read_text(o->calib_path, o->calib_offset, want, &len);
    if (!text) return -1;
    int n_tok;
    int *toks = el_tokenizer_encode(tk, text, len, 0, &n_tok);
    free(text);
    if (!toks) return -1;
    if (n_tok > o->calib_tokens) n_tok = o->calib_tokens;
    *chars_used = el_tokenizer_chars(tk, toks, n_tok);
    const int S = m->cfg.seq_len;
    int *win = malloc((size_t)S * sizeof(int));
    if (!win) {
        free(toks);
        return -1;
    }
    calib_ctx ctx = {stats, hess, DC_OK};
    m->observer = calib_observe;
    m->observer_ctx = &ctx;
    int rc = 0;
    for (int start = 0; start < n_tok && rc == 0; start += S - 1) {
        int cnt = n_tok - start < S - 1 ? n_tok - start : S - 1;
        win[0] = EL_TOK_BOS;
        memcpy(win + 1, toks + start, (size_t)cnt * sizeof(int));
        if (el_forward(m, win, cnt + 1, 0, NULL) != 0 || ctx.status != DC_OK) rc = -1;
    }
    m->observer = NULL;
    m->observer_ctx = NULL;
    if (hess) /* the lower triangle was summed: mirror it */
        for (int l = 0; l < m->cfg.n_layers; l++)
            for (int in = 0; in < EL_NIN; in++) {
                const int n = in == EL_IN_W2 ? m->cfg.hidden_dim : m->cfg.dim;
                double *h = hess[l * EL_NIN + in];
                for (int a = 0; a < n; a++)
                    for (int b = 0; b < a; b++)
                        h[(size_t)b * n + a] = h[(size_t)a * n + b];
            }
    if (ctx.status != DC_OK)
        fprintf(stderr, "dc-llama: dc_stats_observe: %s\n", dc_status_string(ctx.status));
    free(win);
    free(toks);
    return rc;
}

static double entropy_bits(const uint64_t *hist, int nbins, uint64_t total) {
    double h = 0.0;
    for (int b = 0; b < nbins; b++) {
        if (!hist[b]) continue;
        double p = (double)hist[b] / (double)total;
        h -= p * log2(p);
    }
    return h;
}

/* Turns a dc_qtensor into the engine's W8A8 form and adds it to the report. */
int el_install_qtensor(el_linear *lin, const dc_qtensor *qt, int bits, el_qreport *rep,
                       dc_cctx *cctx) {
    dc_qtensor_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    if (dc_qtensor_get_info(qt, &info) != DC_OK) return -1;
    const size_t rows = info.rows, cols = info.cols, n = rows * cols;
    const unsigned char *data = dc_qtensor_data(qt);
    const float *sc = dc_qtensor_scales(qt);
    lin->qw = malloc(n * sizeof(float));
    lin->q8 = malloc(n);
    lin->scale = malloc(info.n_scales * sizeof(float));
    if (!lin->qw || !lin->q8 || !lin->scale) return -1;
    uint64_t hist[256] = {0}, zeros = 0;
    uint8_t *codes = bits == 8 ? NULL : malloc(n); /* 4 bits: one code (0..15) per byte */
    if (bits != 8 && !codes) return -1;
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < cols; j++) {
            int v;
            if (bits == 8) {
                v = (int8_t)data[i * info.row_bytes + j];
            } else {
                unsigned b = data[i * info.row_bytes + j / 2];
                unsigned nib = (j & 1) ? (b >> 4) & 15u : b & 15u;
                v = nib >= 8 ? (int)nib - 16 : (int)nib;
            }
            lin->q8[i * cols + j] = (int8_t)v;
            if (codes) codes[i * cols + j] = (uint8_t)((unsigned)v & 15u);
            lin->qw[i * cols + j] = (float)v;
            hist[(uint8_t)v]++;
            zeros += v == 0;
        }
    }
    memcpy(lin->scale, sc, info.n_scales * sizeof(float));
    lin->n_scales = (int)info.n_scales;
    /* a group of cols or more columns is the whole row (and fits an int) */
    lin->group = info.granularity != DC_QUANT_PER_GROUP ? 0
                 : info.group_size >= cols              ? (int)cols
                                                        : (int)info.group_size;
    lin->act_qmax = 127;
    lin->mode = EL_LIN_W8A8;

    /* report: order-0 entropy of this tensor with its own 256-bin table */
    double h = entropy_bits(hist, 256, n);
    double tot = (double)rep->n_weights + (double)n;
    rep->entropy_bits = (rep->entropy_bits * (double)rep->n_weights + h * (double)n) / tot;
    rep->zero_fraction = (rep->zero_fraction * (double)rep->n_weights + (double)zeros) / tot;
    rep->n_weights += n;
    rep->bound_bytes += h * (double)n / 8.0;
    /* what the library's codec makes of it: one chunk per tensor (the stored bytes) */
    const void *src = codes ? (const void *)codes : data;
    const size_t src_size = codes ? n : info.data_size;
    size_t cap = dc_compress_bound(src_size > 2 * info.n_scales ? src_size : 2 * info.n_scales);
    size_t got = 0;
    void *buf = malloc(cap);
    dc_status st =
        buf ? dc_chunk_compress(cctx, src, src_size, buf, cap, &got) : DC_ERR_OUT_OF_MEMORY;
    free(codes);
    rep->ans_bytes += got;
    if (st == DC_OK && codes) { /* for comparison: the packed pairs as bytes */
        size_t pk = 0;
        st = dc_chunk_compress(cctx, data, info.data_size, buf, cap, &pk);
        rep->packed_bytes += pk;
    }
    /* the scales: 4-byte floats, or binary16 (2 bytes, ANS-coded where smaller) */
    if (st == DC_OK && (info.flags & DC_QUANT_F16_SCALES)) {
        uint8_t *h16 = malloc(2 * info.n_scales);
        st = h16 ? DC_OK : DC_ERR_OUT_OF_MEMORY;
        for (size_t k = 0; h16 && k < info.n_scales; k++) {
            uint16_t v = to_f16(sc[k]);
            h16[2 * k] = (uint8_t)(v & 0xFF);
            h16[2 * k + 1] = (uint8_t)(v >> 8);
        }
        if (h16) st = dc_chunk_compress(cctx, h16, 2 * info.n_scales, buf, cap, &got);
        free(h16);
        rep->side_bytes += got < 2 * info.n_scales ? got : 2 * info.n_scales;
    } else {
        rep->side_bytes += info.n_scales * sizeof(float);
    }
    free(buf);
    if (st != DC_OK) {
        fprintf(stderr, "dc-llama: dc_chunk_compress: %s\n", dc_status_string(st));
        return -1;
    }
    return 0;
}

static const int k_group_lins[EL_NIN][4] = {
    {EL_WQ, EL_WK, EL_WV, -1}, {EL_WO, -1, -1, -1}, {EL_W1, EL_W3, -1, -1}, {EL_W2, -1, -1, -1}};

int el_pipeline_apply(el_model *m, const el_tokenizer *tk, const el_qopts *o, el_qreport *rep) {
    const el_config *c = &m->cfg;
    const int L = c->n_layers;
    const int need_stats =
        o->use_alpha || o->gptq || (o->sparsity > 0 && o->prune != EL_PRUNE_MAGNITUDE);
    dc_stats **stats = calloc((size_t)L * EL_NIN, sizeof(dc_stats *));
    double **hess = o->gptq ? calloc((size_t)L * EL_NIN, sizeof(double *)) : NULL;
    float *svec = malloc((size_t)(c->hidden_dim > c->dim ? c->hidden_dim : c->dim) * sizeof(float));
    double *hs = NULL;
    uint8_t *zmask = NULL;
    dc_cctx *cctx = NULL;
    int rc = -1;
    memset(rep, 0, sizeof *rep);
    if (!stats || !svec || (o->gptq && !hess)) {
        free(stats), free(hess), free(svec);
        return -1;
    }
    if (L > EL_MAX_LAYERS) {
        fprintf(stderr, "dc-llama: too many layers\n");
        goto fail;
    }
    CHECK(dc_cctx_create(NULL, &cctx));

    if (need_stats) {
        if (!o->calib_path) {
            fprintf(stderr, "dc-llama: scaling/pruning need --calib-text\n");
            goto fail;
        }
        for (int l = 0; l < L; l++)
            for (int in = 0; in < EL_NIN; in++) {
                size_t width = in == EL_IN_W2 ? (size_t)c->hidden_dim : (size_t)c->dim;
                CHECK(dc_stats_create(width, NULL, &stats[l * EL_NIN + in]));
                if (hess && !(hess[l * EL_NIN + in] = calloc(width * width, sizeof(double))))
                    goto fail;
            }
        size_t used = 0;
        if (el_calibrate(m, tk, o, stats, hess, &used) != 0) goto fail;
        rep->calib_tokens = (size_t)dc_stats_tokens(stats[0]);
        rep->calib_chars = used;
    }

    uint64_t pruned = 0, total = 0;
    for (int l = 0; l < L; l++) {
        el_layer *ly = &m->layers[l];
        const double alpha = o->layer_alpha[l] >= 0 ? o->layer_alpha[l] : o->alpha;
        for (int in = 0; in < EL_NIN; in++) {
            dc_stats *st = stats[l * EL_NIN + in];
            const size_t width = in == EL_IN_W2 ? (size_t)c->hidden_dim : (size_t)c->dim;
            for (size_t j = 0; j < width; j++)
                svec[j] = 1.0f;
            const float *wptr[3];
            size_t rows[3];
            int nw = 0;
            for (int k = 0; k < 4 && k_group_lins[in][k] >= 0; k++) {
                el_linear *lin = &ly->lin[k_group_lins[in][k]];
                const size_t n = (size_t)lin->out * lin->in;
                if (!lin->w_owned) {
                    lin->w_owned = malloc(n * sizeof(float));
                    if (!lin->w_owned) goto fail;
                    memcpy(lin->w_owned, lin->w, n * sizeof(float));
                    lin->w = lin->w_owned;
                }
                /* 1. prune (original, unscaled weights) */
                if (o->sparsity > 0 && o->prune != EL_PRUNE_NONE) {
                    dc_prune_options po;
                    memset(&po, 0, sizeof po);
                    po.struct_size = sizeof po;
                    po.method = o->prune == EL_PRUNE_WANDA       ? DC_PRUNE_WANDA
                                : o->prune == EL_PRUNE_MAGNITUDE ? DC_PRUNE_MAGNITUDE
                                                                 : DC_PRUNE_DC;
                    po.group = o->prune_group < 0 ? DC_PRUNE_GROUP_TENSOR : DC_PRUNE_GROUP_ROW;
                    dc_prune_report pr;
                    memset(&pr, 0, sizeof pr);
                    pr.struct_size = sizeof pr;
                    CHECK(dc_prune_f32(lin->w_owned, (size_t)lin->out, (size_t)lin->in,
                                       o->prune == EL_PRUNE_MAGNITUDE ? NULL : st,
                                       (float)o->sparsity, &po, &pr));
                    pruned += pr.zeros_after - pr.zeros_before;
                }
                total += n;
                wptr[nw] = lin->w_owned;
                rows[nw] = (size_t)lin->out;
                nw++;
            }
            /* 2.-3. DC scaling (fold_only, e.g. GGUF: only where 1/s folds into a norm) */
            if (o->use_alpha && !(o->fold_only && (in == EL_IN_WO || in == EL_IN_W2))) {
                dc_scaler *sc = NULL;
                CHECK(dc_scaler_create(st, (float)alpha, wptr, rows, (size_t)nw, NULL, &sc));
                int ok = dc_scaler_get_scales(sc, svec, width) == DC_OK;
                for (int k = 0; k < nw; k++) {
                    el_linear *lin = &ly->lin[k_group_lins[in][k]];
                    ok &= dc_scaler_apply(sc, lin->w_owned, (size_t)lin->out, (size_t)lin->in) ==
                          DC_OK;
                }
                if (in == EL_IN_ATT)
                    ok &= dc_scaler_fold_norm(sc, ly->rms_att, (size_t)c->dim) == DC_OK;
                else if (in == EL_IN_FFN)
                    ok &= dc_scaler_fold_norm(sc, ly->rms_ffn, (size_t)c->dim) == DC_OK;
                else {
                    el_linear *lin = &ly->lin[k_group_lins[in][0]];
                    size_t w = (size_t)lin->in;
                    lin->inv_in = malloc(w * sizeof(float));
                    lin->smooth = malloc(w * sizeof(float));
                    ok &= lin->inv_in != NULL && lin->smooth != NULL;
                    if (ok) ok &= dc_scaler_get_scales(sc, lin->smooth, w) == DC_OK;
                    if (ok)
                        for (size_t j = 0; j < w; j++)
                            lin->inv_in[j] = 1.0f / lin->smooth[j];
                    rep->side_bytes += w * sizeof(float); /* stored with the tensor */
                }
                dc_scaler_free(sc);
                if (!ok) {
                    fprintf(stderr, "dc-llama: applying the scaler failed (layer %d)\n", l);
                    goto fail;
                }
            }
            /* 4. quantize */
            for (int k = 0; k < nw; k++) {
                el_linear *lin = &ly->lin[k_group_lins[in][k]];
                if (o->ref == EL_REF_Q4_K) { /* weight-only, dequantized in place */
                    if (el_ref_fake_q4k(lin->w_owned, (size_t)lin->out, (size_t)lin->in) != 0)
                        goto fail;
                    rep->n_weights += (size_t)lin->out * (size_t)lin->in;
                    rep->ref_bytes += el_ref_bytes(o->ref, (size_t)lin->out, (size_t)lin->in);
                    continue;
                }
                if (o->ref != EL_REF_NONE) {
                    dc_qtensor *qt = NULL;
                    CHECK(el_ref_quantize(o->ref, lin->w_owned, (size_t)lin->out, (size_t)lin->in,
                                          &qt));
                    int r = el_install_qtensor(lin, qt, o->ref == EL_REF_Q4_0 ? 4 : 8, rep, cctx);
                    dc_qtensor_free(qt);
                    if (r != 0) goto fail;
                    rep->ref_bytes += el_ref_bytes(o->ref, (size_t)lin->out, (size_t)lin->in);
                    continue;
                }
                dc_quant_options qo;
                memset(&qo, 0, sizeof qo);
                qo.struct_size = sizeof qo;
                qo.granularity = o->gran == EL_GRAN_CHANNEL ? DC_QUANT_PER_CHANNEL
                                 : o->gran == EL_GRAN_GROUP ? DC_QUANT_PER_GROUP
                                                            : DC_QUANT_PER_TENSOR;
                qo.group_size = (size_t)o->group;
                qo.bits = (unsigned)o->bits;
                qo.qmax = o->qmax;
                qo.flags = o->qflags;
                dc_qtensor *qt = NULL;
                if (o->gptq) {
                    /* X^T X of the scaled input X / s, and the pruned weights (zeros) */
                    const double *h = hess[l * EL_NIN + in];
                    const size_t n = (size_t)lin->out * lin->in;
                    free(hs), free(zmask);
                    hs = malloc(width * width * sizeof(double));
                    zmask = o->sparsity > 0 ? malloc(n) : NULL;
                    if (!hs || (o->sparsity > 0 && !zmask)) goto fail;
                    for (size_t a = 0; a < width; a++)
                        for (size_t b = 0; b < width; b++)
                            hs[a * width + b] = h[a * width + b] / ((double)svec[a] * svec[b]);
                    for (size_t e = 0; zmask && e < n; e++)
                        zmask[e] = lin->w_owned[e] == 0.0f;
                    CHECK(el_gptq_quantize(lin->w_owned, (size_t)lin->out, (size_t)lin->in, hs,
                                           zmask, &qo, o->scale_mantissa ? o->scale_mantissa : 23,
                                           &qt));
                } else if (o->f16_scales && o->bits == 8) {
                    CHECK(el_quantize_f16_scales(lin->w_owned, (size_t)lin->out, (size_t)lin->in,
                                                 &qo, &qt));
                } else {
                    CHECK(dc_quantize(lin->w_owned, (size_t)lin->out, (size_t)lin->in, &qo, &qt));
                }
                int r = el_install_qtensor(lin, qt, o->bits, rep, cctx);
                dc_qtensor_free(qt);
                if (r != 0) goto fail;
            }
        }
    }
    rep->prune_fraction = total ? (double)pruned / (double)total : 0.0;
    rc = 0;
fail:
    if (stats)
        for (int i = 0; i < L * EL_NIN; i++)
            dc_stats_free(stats[i]);
    free(stats);
    if (hess)
        for (int i = 0; i < L * EL_NIN; i++)
            free(hess[i]);
    free(hess), free(svec), free(hs), free(zmask);
    dc_cctx_free(cctx);
    return rc;
}
