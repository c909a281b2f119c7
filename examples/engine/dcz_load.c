/*
 * dcz_load.c -- dc-llama: run a model straight from a .dcz file.
 *
 * The file must come from a llama2.c checkpoint (its metadata carries the
 * checkpoint header as "llama2c_header"). Every tensor is decoded from the
 * container's chunks; unquantized ones land where a checkpoint would hold
 * them, quantized linears are rebuilt as dc_qtensors and installed exactly
 * as el_pipeline_apply installs them, with the run-time 1/s recomputed from
 * the stored s the same way (inv_in[j] = 1.0f / s[j]), so a run from the
 * .dcz is bit-identical to the in-memory quantized run.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doublecomp.h"
#include "model.h"
#include "pipeline.h"
#include "plan.h"
#include "gguf.h"
#include "gguf_load.h"
#include "hf_load.h"
#include "internal.h" /* dc_load_le16 */

/* A .dcz made from a Hugging Face checkpoint: its config.json (in the "hf"
 * metadata member, docs/format.md 6.9), parsed; NULL otherwise. */
static hj_value *hf_config(const dc_reader *r) {
    const char *meta = dc_reader_metadata(r), *why = "", *text = NULL;
    if (!strstr(meta, "\"hf\":")) return NULL;
    hj_value *m = hj_parse(meta, strlen(meta), &why), *cfg = NULL;
    if (hj_get_str(hj_get(m, "hf"), "config.json", &text) == 1)
        cfg = hj_parse(text, strlen(text), &why);
    hj_free(m);
    return cfg;
}

/* The llama2.c header of a .dcz made from a Hugging Face checkpoint. */
static int hf_section_header(const dc_reader *r, int32_t hdr[7]) {
    hj_value *cfg = hf_config(r);
    if (!cfg) return -1;
    char why[256];
    double eps, theta;
    int rc = el_hf_header(cfg, hdr, &eps, &theta, why, sizeof why);
    if (rc == 0 && el_hf_check_constants(eps, theta, why, sizeof why) != 0) rc = -1;
    if (rc != 0) fprintf(stderr, "dc-llama: %s\n", why);
    hj_free(cfg);
    return rc;
}

int el_dcz_header(const char *meta, int32_t hdr[7]) {
    const char *p = strstr(meta, "\"llama2c_header\":[");
    if (!p) return -1;
    p += strlen("\"llama2c_header\":[");
    for (int i = 0; i < 7; i++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < -(1L << 30) || v > (1L << 30)) return -1;
        hdr[i] = (int32_t)v;
        p = end;
        if (*p == ',') p++;
    }
    return *p == ']' ? 0 : -1;
}

static int dims2(const dc_reader *r, const char *name, uint64_t *d0, uint64_t *d1) {
    size_t idx;
    dc_tensor_desc d = {.struct_size = sizeof(d)};
    if (dc_reader_find(r, name, &idx) != DC_OK || dc_reader_tensor(r, idx, &d) != DC_OK ||
        d.ndim != 2)
        return -1;
    *d0 = d.dims[0], *d1 = d.dims[1];
    return 0;
}

/* A .dcz made from a llama GGUF: the header from its key/value section. */
static int gguf_section_header(const dc_reader *r, int32_t hdr[7]) {
    size_t n;
    const void *p = dc_reader_kv_section(r, &n);
    if (!p) return -1;
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_gguf *g = NULL;
    if (dc_gguf_section_parse(&a, p, n, &g, NULL) != DC_OK) return -1;
    char why[160];
    int rc = el_gguf_header(g, hdr, why, sizeof why);
    dc_gguf_free(g);
    return rc;
}

int el_dcz_read_header(const dc_reader *r, int32_t hdr[7]) {
    if (el_dcz_header(dc_reader_metadata(r), hdr) == 0) return 0;
    if (gguf_section_header(r, hdr) == 0) return 0;
    if (hf_section_header(r, hdr) == 0) return 0;
    /* Written without calibration: dcz compress stores no llama2c_header,
     * but the tensors of a llama2.c checkpoint determine it. */
    uint64_t V, D, KV, D2, H, D3, S, hs2;
    if (dims2(r, "tok_embeddings.weight", &V, &D) != 0 ||
        dims2(r, "layers.0.attention.wk.weight", &KV, &D2) != 0 ||
        dims2(r, "layers.0.feed_forward.w1.weight", &H, &D3) != 0 ||
        dims2(r, "freq_cis_real", &S, &hs2) != 0 || D2 != D || D3 != D || hs2 == 0 ||
        D % (2 * hs2) || KV % (2 * hs2) || D > (1u << 20) || V > (1u << 24) || H > (1u << 20) ||
        S > (1u << 24))
        return -1;
    int L = 0;
    for (; L < 4096; L++) {
        char nm[64];
        size_t idx;
        snprintf(nm, sizeof nm, "layers.%d.attention.wq.weight", L);
        if (dc_reader_find(r, nm, &idx) != DC_OK) break;
    }
    size_t idx;
    const int shared = dc_reader_find(r, "output.weight", &idx) != DC_OK;
    hdr[0] = (int32_t)D, hdr[1] = (int32_t)H, hdr[2] = L;
    hdr[3] = (int32_t)(D / (2 * hs2)), hdr[4] = (int32_t)(KV / (2 * hs2));
    hdr[5] = shared ? (int32_t)V : -(int32_t)V, hdr[6] = (int32_t)S;
    return L > 0 ? 0 : -1;
}

int el_dcz_slot(const dc_reader *r, const char *path, const el_slot *s, size_t *idx,
                dc_tensor_desc *d) {
    char gname[96]; /* a .dcz made from a GGUF file has llama.cpp's names */
    int found =
        dc_reader_find(r, s->name, idx) == DC_OK ||
        (el_gguf_name(s->name, gname, sizeof gname) && dc_reader_find(r, gname, idx) == DC_OK);
    if (!found || dc_reader_tensor(r, *idx, d) != DC_OK) {
        fprintf(stderr, "dc-llama: %s: tensor %s missing\n", path, s->name);
        return -1;
    }
    uint64_t numel = 1;
    for (unsigned k = 0; k < d->ndim; k++)
        numel *= d->dims[k];
    /* a quantized non-linear (a GGUF's Q8_0 token_embd) is dequantized */
    if (numel != s->rows * (s->cols ? s->cols : 1) || (d->bits == 0 && d->dtype == DC_DTYPE_I8) ||
        (d->bits != 0 && (d->ndim != 2 || (s->linear < 0 && d->n_smooth)))) {
        fprintf(stderr, "dc-llama: %s: tensor %s has an unexpected shape or type\n", path, s->name);
        return -1;
    }
    return 0;
}

int el_dcz_read_floats(const dc_reader *r, size_t idx, const dc_tensor_desc *d, float *dst,
                       size_t n) {
    if (d->dtype == DC_DTYPE_F32) /* decoded in place */
        return (int)dc_reader_decode_tensor(r, idx, dst, n * sizeof(float), 1, NULL);
    void *tmp = malloc(d->data_size ? (size_t)d->data_size : 1);
    dc_status st = tmp ? dc_reader_decode_tensor(r, idx, tmp, (size_t)d->data_size, 1, NULL)
                       : DC_ERR_OUT_OF_MEMORY;
    if (st == DC_OK) st = dc_convert_to_f32(dst, tmp, d->dtype, n); /* F16, BF16: exact */
    free(tmp);
    return (int)st;
}

/* Fills the report fields of q from the .dcz's first quantized linear. */
static int describe(const dc_reader *r, const char *path, el_qopts *q) {
    size_t idx;
    dc_tensor_desc d = {.struct_size = sizeof(d)};
    int rc = -1;
    int found = dc_reader_find(r, "layers.0.attention.wo.weight", &idx) == DC_OK ||
                dc_reader_find(r, "blk.0.attn_output.weight", &idx) == DC_OK ||
                dc_reader_find(r, "model.layers.0.self_attn.o_proj.weight", &idx) == DC_OK;
    if (found && dc_reader_tensor(r, idx, &d) == DC_OK && !d.bits && d.dtype != DC_DTYPE_I8) {
        q->quantize = 0; /* stored as it was (dcz compress --lossless): runs in FP32 */
        return 0;
    }
    if (found && d.bits) {
        q->quantize = 1;
        q->bits = (int)d.bits;
        q->gran = d.granularity == DC_QUANT_PER_CHANNEL ? EL_GRAN_CHANNEL
                  : d.granularity == DC_QUANT_PER_GROUP ? EL_GRAN_GROUP
                                                        : EL_GRAN_TENSOR;
        q->group = d.group_size > d.dims[d.ndim - 1] ? (int)d.dims[d.ndim - 1] : (int)d.group_size;
        q->use_alpha = d.n_smooth > 0;
        q->alpha = d.alpha;
        dc_tensor_desc dq = {.struct_size = sizeof(dq)};
        size_t qi; /* a GGUF's DC scaling lives in the norms only (el_qopts.fold_only) */
        if (!q->use_alpha &&
            (dc_reader_find(r, "blk.0.attn_q.weight", &qi) == DC_OK ||
             dc_reader_find(r, "layers.0.attention.wq.weight", &qi) == DC_OK) &&
            dc_reader_tensor(r, qi, &dq) == DC_OK && dq.bits && dq.alpha > 0) {
            q->use_alpha = 1;
            q->alpha = dq.alpha;
            q->fold_only = 1;
        }
        q->sparsity = d.sparsity;
        const char *qm = strstr(dc_reader_metadata(r), "\"qmax\":"); /* dcz compress writes it */
        q->qmax = qm ? (unsigned)strtoul(qm + 7, NULL, 10) : 0;
        q->prune = d.prune_method == DC_PRUNE_NONE        ? EL_PRUNE_NONE
                   : d.prune_method == DC_PRUNE_WANDA     ? EL_PRUNE_WANDA
                   : d.prune_method == DC_PRUNE_MAGNITUDE ? EL_PRUNE_MAGNITUDE
                                                          : EL_PRUNE_DC;
        rc = 0;
    } else {
        fprintf(stderr, "dc-llama: %s: no quantized linear weights\n", path);
    }
    return rc;
}

int el_dcz_open(const char *path, dc_reader **out, int32_t hdr[7], el_config *c, el_qopts *desc,
                int plan) {
    const char *why = "";
    dc_status st = dc_reader_open_file(path, NULL, out, &why);
    if (st != DC_OK) {
        fprintf(stderr, "dc-llama: %s: %s (%s)\n", path, why,
                st == DC_ERR_IO ? strerror(errno) : dc_status_string(st));
        return -1;
    }
    if (el_dcz_read_header(*out, hdr) != 0 || el_config_from_header(c, hdr) != 0) {
        fprintf(stderr, "dc-llama: %s: not made from a llama2.c checkpoint (no llama2c_header)\n",
                path);
        dc_reader_close(*out);
        *out = NULL;
        return -1;
    }
    /* what the file claims must fit the memory limit before anything else is read */
    if (el_dcz_check_memory(*out, path, c, plan) != 0 ||
        (desc && describe(*out, path, desc) != 0)) {
        dc_reader_close(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int el_dcz_check_memory(const dc_reader *r, const char *path, const el_config *c, int plan) {
    dc_reader_footprint fp = {.struct_size = sizeof(fp)};
    if (dc_reader_get_footprint(r, &fp) != DC_OK) return -1;
    const uint64_t D = (uint64_t)c->dim, H = (uint64_t)c->hidden_dim, L = (uint64_t)c->n_layers;
    const uint64_t KV = (uint64_t)c->kv_dim;
    const uint64_t nfl = el_layout_floats(c), lin = L * (2 * D * D + 2 * KV * D + 3 * H * D);
    /* el_model_load_dcz: every float, W8A8 copies of the linears (float and
     * int8 values, 5 bytes a weight) and one tensor being decoded; a plan:
     * the other floats and the linears' INT8 bytes (resident at most) */
    uint64_t need =
        plan ? 4 * (nfl - lin) + lin + fp.largest_chunk : 4 * nfl + 5 * lin + fp.largest_tensor;
    need += el_run_state_bytes(c);
    return el_check_memory(path, fp.file_size, "the model (weights, KV cache and activations)",
                           need);
}

/* One tensor of a .dcz made from a Hugging Face checkpoint, under its HF
 * name, into data (floats; converted from F16/BF16; q/k rows back in
 * llama2.c's order); a quantized linear also as *qt (codes and scales rows
 * un-permuted alike) with its smoothing scales in *smooth. 0 or -1. */
static int hf_slot(const dc_reader *r, const char *path, const el_config *c, const el_slot *s,
                   float *data, dc_qtensor **qt, float **smooth, int *skip) {
    char hn[128];
    int perm;
    *skip = 0;
    if (!el_hf_name(c, s->name, hn, sizeof hn, &perm)) return *skip = 1, 0; /* RoPE: computed */
    size_t idx, rows = s->cols ? s->rows : 1, cols = s->cols ? s->cols : s->rows;
    size_t n = rows * cols;
    dc_tensor_desc d = {.struct_size = sizeof(d)};
    if (dc_reader_find(r, hn, &idx) != DC_OK || dc_reader_tensor(r, idx, &d) != DC_OK) {
        fprintf(stderr, "dc-llama: %s: tensor %s missing\n", path, hn);
        return -1;
    }
    uint64_t numel = 1;
    for (unsigned k = 0; k < d.ndim; k++)
        numel *= d.dims[k];
    if (numel != n || (d.bits && (d.ndim != 2 || (s->linear < 0 && d.n_smooth))) ||
        (!d.bits && d.dtype == DC_DTYPE_I8)) {
        fprintf(stderr, "dc-llama: %s: tensor %s has an unexpected shape or type\n", path, hn);
        return -1;
    }
    uint8_t *buf = malloc(d.data_size ? (size_t)d.data_size : 1);
    void *tmp = malloc(n * sizeof(float) + d.n_scales * sizeof(float) + 1);
    float *scales = malloc(d.n_scales * sizeof(float) + 1);
    dc_status st = buf && tmp && scales ? dc_reader_decode_tensor(r, idx, buf, d.data_size, 1, NULL)
                                        : DC_ERR_OUT_OF_MEMORY;
    if (st == DC_OK && !d.bits) {
        st = dc_convert_to_f32(data + s->offset, buf, d.dtype, n);
        if (st == DC_OK && perm) el_hf_unpermute(data + s->offset, rows, cols, perm, tmp);
    } else if (st == DC_OK) {
        memcpy(scales, d.scales, d.n_scales * sizeof(float));
        if (perm) { /* codes by rows; scales by rows unless one per tensor */
            size_t rb = d.bits == 4 ? cols / 2 + (cols & 1) : cols;
            el_hf_unpermute_rows(buf, rows, rb, perm, tmp);
            if (d.n_scales > 1 && d.n_scales % rows == 0)
                el_hf_unpermute_rows(scales, rows, d.n_scales / rows * sizeof(float), perm, tmp);
        }
        dc_quant_options qo = {sizeof(qo), d.granularity, (size_t)d.group_size, d.bits, NULL,
                               0,          d.quant_flags};
        st = dc_qtensor_import(buf, d.data_size, scales, (size_t)d.n_scales, rows, cols, &qo, qt);
        if (st == DC_OK) st = dc_qtensor_dequantize(*qt, data + s->offset, n);
        if (s->linear < 0) dc_qtensor_free(*qt), *qt = NULL;
        if (st == DC_OK && d.n_smooth) {
            if (d.n_smooth != cols || !(*smooth = malloc(cols * sizeof(float))))
                st = DC_ERR_SIZE_MISMATCH;
            else
                memcpy(*smooth, d.smooth, cols * sizeof(float));
        }
    }
    free(buf), free(tmp), free(scales);
    if (st != DC_OK) {
        fprintf(stderr, "dc-llama: %s: tensor %s: %s\n", path, hn, dc_status_string(st));
        return -1;
    }
    return 0;
}

int el_model_load_dcz(el_model *m, const char *path, struct el_qreport *rep_out,
                      struct el_qopts *desc) {
    memset(m, 0, sizeof(*m));
    dc_reader *r;
    int32_t hdr[7];
    el_config c;
    if (el_dcz_open(path, &r, hdr, &c, desc, 0) != 0) return -1;
    dc_status st = DC_OK;
    size_t nslots = el_layout(&c, NULL, 0);
    el_slot *slots = calloc(nslots, sizeof(el_slot));
    dc_qtensor **qts = calloc(nslots, sizeof(dc_qtensor *));
    float **smooth = calloc(nslots, sizeof(float *));
    float *data = NULL;
    size_t nfl = 0;
    if (slots) {
        el_layout(&c, slots, nslots);
        const el_slot *last = &slots[nslots - 1];
        nfl = last->offset + last->rows * (last->cols ? last->cols : 1);
        data = calloc(nfl, sizeof(float));
    }
    int rc = slots && qts && smooth && data ? 0 : -1;
    if (rc != 0) fprintf(stderr, "dc-llama: %s: out of memory\n", path);
    hj_value *hfc = hf_config(r); /* made from a Hugging Face checkpoint */
    const int hf = hfc != NULL;
    hj_free(hfc);
    for (size_t i = 0; rc == 0 && i < nslots; i++) {
        const el_slot *s = &slots[i];
        if (hf) {
            int skip;
            if (hf_slot(r, path, &c, s, data, &qts[i], &smooth[i], &skip) != 0) rc = -1;
            continue;
        }
        size_t idx, n = s->rows * (s->cols ? s->cols : 1);
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        char gname[96];
        if (!el_gguf_name(s->name, gname, sizeof gname) &&
            dc_reader_find(r, s->name, &idx) != DC_OK)
            continue; /* RoPE tables: a GGUF has none; el_model_init computes them */
        if (el_dcz_slot(r, path, s, &idx, &d) != 0) {
            rc = -1;
            break;
        }
        void *buf = d.bits ? malloc(d.data_size) : (void *)(data + s->offset);
        if (!buf || (st = d.bits ? dc_reader_decode_tensor(r, idx, buf, d.data_size, 1, NULL)
                                 : (dc_status)el_dcz_read_floats(r, idx, &d, data + s->offset,
                                                                 n)) != DC_OK) {
            fprintf(stderr, "dc-llama: %s: tensor %s: %s\n", path, s->name,
                    buf ? dc_status_string(st) : "out of memory");
            if (d.bits) free(buf);
            rc = -1;
            break;
        }
        if (d.bits) {
            dc_quant_options qo = {sizeof(qo), d.granularity, (size_t)d.group_size, d.bits, NULL,
                                   0,          d.quant_flags};
            st = dc_qtensor_import(buf, d.data_size, d.scales, (size_t)d.n_scales, s->rows, s->cols,
                                   &qo, &qts[i]);
            if (st == DC_OK) st = dc_qtensor_dequantize(qts[i], data + s->offset, n);
            free(buf);
            if (s->linear < 0) { /* not a linear: used as the floats */
                dc_qtensor_free(qts[i]);
                qts[i] = NULL;
            }
            if (st == DC_OK && d.n_smooth) {
                if (d.n_smooth != s->cols || !(smooth[i] = malloc(s->cols * sizeof(float))))
                    st = DC_ERR_SIZE_MISMATCH;
                else
                    memcpy(smooth[i], d.smooth, s->cols * sizeof(float));
            }
            if (st != DC_OK) {
                fprintf(stderr, "dc-llama: %s: tensor %s: %s\n", path, s->name,
                        dc_status_string(st));
                rc = -1;
            }
        }
    }
    dc_reader_close(r);
    if (rc == 0) {
        rc = el_model_init(m, hdr, data, nfl, path);
        data = NULL; /* owned by the model (or freed) now */
    }
    el_qreport rep;
    memset(&rep, 0, sizeof(rep));
    dc_cctx *cctx = NULL;
    if (rc == 0 && dc_cctx_create(NULL, &cctx) != DC_OK) rc = -1;
    for (size_t i = 0; rc == 0 && i < nslots; i++) {
        if (!qts[i]) continue;
        el_linear *lin = &m->layers[slots[i].layer].lin[slots[i].linear];
        dc_qtensor_info qi = {.struct_size = sizeof(qi)};
        dc_qtensor_get_info(qts[i], &qi);
        if (el_install_qtensor(lin, qts[i], (int)qi.bits, &rep, cctx) != 0) rc = -1;
        if (rc == 0 && smooth[i]) {
            lin->smooth = smooth[i];
            smooth[i] = NULL;
            rep.side_bytes += qi.cols * sizeof(float);
            lin->inv_in = malloc(qi.cols * sizeof(float));
            if (!lin->inv_in) rc = -1;
            for (size_t j = 0; rc == 0 && j < qi.cols; j++)
                lin->inv_in[j] = 1.0f / lin->smooth[j];
        }
    }
    dc_cctx_free(cctx);
    for (size_t i = 0; i < nslots; i++) {
        if (qts) dc_qtensor_free(qts[i]);
        if (smooth) free(smooth[i]);
    }
    free(qts), free(smooth), free(slots), free(data);
    if (rc != 0 && m->layers) el_model_free(m);
    if (rc == 0 && rep_out) *rep_out = rep;
    return rc;
}
