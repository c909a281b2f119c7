/*
 * export.c -- dcz export FILE.dcz --gguf -o OUT.gguf: a .dcz made from a
 * GGUF file back as a GGUF v3 file llama.cpp loads (docs/format.md, "GGUF").
 *
 * Every key/value of the key/value section is written back verbatim, plus
 * provenance keys doublecomp.*; tensors keep their GGUF names, order, shape
 * and type: Q8_0 tensors come back bit-exactly (fp16 block scales and int8
 * codes), float and opaque tensors as their stored bytes. Tensors that dcz
 * compress quantized (from F32/F16/BF16) are written as Q8_0 whose
 * dequantized values d * q equal the .dcz's scale * q exactly (their scales
 * are binary16 values, see gguf_quantize_f16_scales), or as F32 holding
 * those values where Q8_0 cannot hold them (a row length not a multiple of
 * 32, 4-bit weights, a scale that is not binary16).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dcz.h"
#include "gguf.h"

static int usage(const char *msg, const char *arg) {
    fprintf(stderr, "dcz export: %s%s%s (see dcz export --help)\n", msg, arg ? ": " : "",
            arg ? arg : "");
    return 1;
}

typedef struct exp_tensor {
    size_t idx;      /* in the .dcz */
    int how;         /* 0 stored bytes, 1 Q8_0 from codes + scales, 2 F32 dequantized */
    uint64_t nbytes; /* GGUF bytes */
} exp_tensor;

typedef struct exp_ctx {
    const dc_reader *r;
    const exp_tensor *t;
    uint8_t *buf, *dec;
    dc_status st;
    const char *failed;
} exp_ctx;

static int f16_exact(float s) {
    return dc_f16_to_f32(dc_f32_to_f16(s)) == s;
}

/* The scale of element (row, col) of a quantized tensor. */
static float scale_at(const dc_tensor_desc *d, uint64_t row, uint64_t col) {
    uint64_t cols = d->dims[d->ndim - 1];
    if (d->granularity == DC_QUANT_PER_TENSOR) return d->scales[0];
    if (d->granularity == DC_QUANT_PER_CHANNEL) return d->scales[row];
    uint64_t g = d->group_size, ng = cols / g + (cols % g != 0);
    return d->scales[row * ng + col / g];
}

static dc_status load(void *ctx, size_t i, const void **data) {
    exp_ctx *c = ctx;
    const exp_tensor *t = &c->t[i];
    dc_tensor_desc d = {.struct_size = sizeof(d)};
    dc_status st = dc_reader_tensor(c->r, t->idx, &d);
    free(c->buf), free(c->dec);
    c->buf = c->dec = NULL;
    if (st != DC_OK) return st;
    c->failed = d.name;
    if (!(c->dec = malloc(d.data_size ? (size_t)d.data_size : 1))) return DC_ERR_OUT_OF_MEMORY;
    if ((st = dc_reader_decode_tensor(c->r, t->idx, c->dec, (size_t)d.data_size, 1, NULL)) != DC_OK)
        return st;
    if (t->how == 0) {
        *data = c->dec;
        return DC_OK;
    }
    if (!(c->buf = malloc((size_t)t->nbytes))) return DC_ERR_OUT_OF_MEMORY;
    uint64_t cols = d.dims[d.ndim - 1], rows = cols ? d.data_size / cols : 0;
    const int8_t *q = (const int8_t *)c->dec;
    if (t->how == 1) {
        uint8_t *o = c->buf;
        for (uint64_t r = 0; r < rows; r++)
            for (uint64_t b = 0; b < cols / DC_Q8_0_BLOCK; b++) {
                dc_store_le16(o, dc_f32_to_f16(scale_at(&d, r, b * DC_Q8_0_BLOCK)));
                memcpy(o + 2, q + r * cols + b * DC_Q8_0_BLOCK, DC_Q8_0_BLOCK);
                o += DC_Q8_0_BYTES;
            }
    } else {
        dc_qtensor *qt = NULL;
        dc_quant_options qo = {sizeof(qo), d.granularity, (size_t)d.group_size, d.bits, NULL,
                               0,          d.quant_flags};
        float *f = (float *)c->buf; /* malloc: aligned for floats */
        uint64_t r8 = 1;
        for (unsigned k = 0; k + 1 < d.ndim; k++)
            r8 *= d.dims[k];
        st = dc_qtensor_import(c->dec, (size_t)d.data_size, d.scales, (size_t)d.n_scales,
                               (size_t)r8, (size_t)cols, &qo, &qt);
        if (st == DC_OK) st = dc_qtensor_dequantize(qt, f, (size_t)(r8 * cols));
        dc_qtensor_free(qt);
        if (st != DC_OK) return st;
        for (uint64_t k = 0; k < r8 * cols; k++) { /* little-endian */
            uint32_t u;
            memcpy(&u, &f[k], 4);
            dc_store_le32(&f[k], u);
        }
    }
    *data = c->buf;
    return DC_OK;
}

static const char kHelp[] =
    "usage: dcz export FILE.dcz --gguf -o OUT.gguf [--force]\n"
    "Writes the model of a .dcz made from a GGUF file as a GGUF v3 file: every key/value\n"
    "(plus doublecomp.* provenance keys), tensors in their GGUF names, order and types.\n"
    "Q8_0 tensors come back bit-exactly; tensors dcz compress quantized become Q8_0 with\n"
    "the same dequantized values (F32 of those values where Q8_0 cannot hold them).\n"
    "OUT is written to a temporary file and renamed when complete.";

int dcz_export(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    int gguf = 0, force = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return puts(kHelp), 0;
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--gguf"))
            gguf = 1;
        else if (!strcmp(argv[i], "--force"))
            force = 1;
        else if (argv[i][0] == '-')
            return usage("unknown option", argv[i]);
        else if (!in)
            in = argv[i];
        else
            return usage("unexpected argument", argv[i]);
    }
    if (!in || !out) return usage("need FILE.dcz and -o OUT.gguf", NULL);
    if (!gguf) return usage("give the output format: --gguf (the only one so far)", NULL);
    if (!force && access(out, F_OK) == 0) {
        fprintf(stderr, "dcz export: %s exists; use --force to overwrite\n", out);
        return 3;
    }
    dc_reader *r = NULL;
    const char *why = "";
    dc_status st = dc_reader_open_file(in, NULL, &r, &why);
    if (st != DC_OK) {
        fprintf(stderr, "dcz export: %s: %s (%s)\n", in, why,
                st == DC_ERR_IO ? strerror(errno) : dc_status_string(st));
        return st == DC_ERR_IO ? 3 : 2;
    }
    size_t secsize;
    const void *sec = dc_reader_kv_section(r, &secsize);
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_gguf *g = NULL;
    int rc = 0;
    if (!sec) {
        fprintf(stderr, "dcz export: %s was not made from a GGUF file (no key/value section)\n",
                in);
        dc_reader_close(r);
        return 2;
    }
    if ((st = dc_gguf_section_parse(&a, sec, secsize, &g, &why)) != DC_OK) {
        fprintf(stderr, "dcz export: %s: %s\n", in, why);
        dc_reader_close(r);
        return 2;
    }
    exp_tensor *et = calloc(g->n_tensors + 1, sizeof(exp_tensor));
    dc_gguf_out_tensor *ot = calloc(g->n_tensors + 1, sizeof(dc_gguf_out_tensor));
    if (!et || !ot) rc = 4;
    size_t n_q8 = 0, n_f32 = 0;
    for (size_t i = 0; rc == 0 && i < g->n_tensors; i++) {
        const dc_gguf_tensor *t = &g->tensors[i];
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        if (dc_reader_find(r, t->name, &et[i].idx) != DC_OK ||
            dc_reader_tensor(r, et[i].idx, &d) != DC_OK) {
            fprintf(stderr, "dcz export: %s: tensor %s of the key/value section is missing\n", in,
                    t->name);
            rc = 2;
            break;
        }
        ot[i].name = t->name;
        ot[i].n_dims = t->n_dims;
        memcpy(ot[i].ne, t->ne, sizeof(ot[i].ne));
        ot[i].type = t->type;
        ot[i].nbytes = et[i].nbytes = t->nbytes;
        if (d.n_smooth) {
            fprintf(stderr,
                    "dcz export: %s: tensor %s has smoothing scales (1/s is not folded into a "
                    "norm): export supports files compressed without --stats\n",
                    in, t->name);
            rc = 2;
            break;
        }
        if (d.bits == 0) { /* stored as it was: the GGUF bytes themselves */
            if (d.data_size != t->nbytes) {
                fprintf(stderr, "dcz export: %s: tensor %s: size differs from its GGUF type\n", in,
                        t->name);
                rc = 2;
            }
            continue;
        }
        uint64_t cols = d.dims[d.ndim - 1];
        int q8 = d.bits == 8 && cols % DC_Q8_0_BLOCK == 0 && t->ne[0] == cols &&
                 (d.granularity != DC_QUANT_PER_GROUP || d.group_size % DC_Q8_0_BLOCK == 0);
        for (uint64_t k = 0; q8 && k < d.n_scales; k++)
            q8 = f16_exact(d.scales[k]);
        if (t->type == DC_GGML_Q8_0 && !q8) {
            fprintf(stderr, "dcz export: %s: tensor %s: not a Q8_0 layout\n", in, t->name);
            rc = 2;
            break;
        }
        uint64_t numel = t->numel;
        et[i].how = q8 ? 1 : 2;
        ot[i].type = q8 ? DC_GGML_Q8_0 : DC_GGML_F32;
        ot[i].nbytes = q8 ? numel / DC_Q8_0_BLOCK * DC_Q8_0_BYTES : 4 * numel;
        et[i].nbytes = ot[i].nbytes;
        if (t->type != DC_GGML_Q8_0) q8 ? n_q8++ : n_f32++;
    }
    /* the records, without earlier provenance keys, then ours */
    dc_gguf_buf kv = {&a, NULL, 0, 0, 0, 0};
    for (size_t i = 0; rc == 0 && i < g->n_kv; i++) {
        if (!strncmp(g->kv[i].key, "doublecomp.export.", 18)) continue;
        dc_gguf_buf_put(&kv, g->kv[i].rec, g->kv[i].rec_size);
        kv.n_kv++;
    }
    char ver[64];
    snprintf(ver, sizeof ver, "dcz %s", dc_version_string());
    dc_gguf_put_kv_str(&kv, "doublecomp.export.tool", ver);
    const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
    dc_gguf_put_kv_str(&kv, "doublecomp.export.source", base);
    dc_gguf_put_kv_u32(&kv, "doublecomp.export.requantized_q8_0", (uint32_t)n_q8);
    dc_gguf_put_kv_u32(&kv, "doublecomp.export.dequantized_f32", (uint32_t)n_f32);
    if (kv.oom && rc == 0) rc = 4;
    exp_ctx cx = {r, et, NULL, NULL, DC_OK, NULL};
    if (rc == 0) {
        st = dc_gguf_write(&a, out, kv.p, kv.len, kv.n_kv, g->alignment, ot, g->n_tensors, load,
                           &cx);
        if (st != DC_OK) {
            fprintf(stderr, "dcz export: cannot write %s: %s%s%s\n", out,
                    st == DC_ERR_IO ? strerror(errno) : dc_status_string(st),
                    cx.failed ? " at tensor " : "", cx.failed ? cx.failed : "");
            rc = st == DC_ERR_IO ? 3 : st == DC_ERR_OUT_OF_MEMORY ? 4 : 2;
        } else {
            printf("%s -> %s: %zu tensors, %llu key/values (%zu re-quantized tensors as Q8_0, "
                   "%zu as F32)\n",
                   in, out, g->n_tensors, (unsigned long long)kv.n_kv, n_q8, n_f32);
        }
    }
    free(cx.buf), free(cx.dec);
    dc_gguf_buf_free(&kv);
    free(et), free(ot);
    dc_gguf_free(g);
    dc_reader_close(r);
    return rc;
}
