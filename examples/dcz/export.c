/*
 * export.c -- dcz export FILE.dcz --gguf -o OUT.gguf: a .dcz made from a
 * GGUF file, or from a llama2.c checkpoint (--tokenizer TOK.bin), as a GGUF
 * v3 file llama.cpp loads (docs/format.md, "GGUF").
 *
 * Every key/value of the key/value section is written back verbatim, plus
 * provenance keys doublecomp.*; tensors keep their GGUF names, order, shape
 * and type: Q8_0 tensors come back bit-exactly (fp16 block scales and int8
 * codes), float and opaque tensors as their stored bytes. Tensors that dcz
 * compress quantized (from F32/F16/BF16) are written as Q8_0 whose
 * dequantized values d * q equal the .dcz's scale * q exactly (their scales
 * are binary16 values, see el_quantize_f16_scales), or as F32 holding
 * those values where Q8_0 cannot hold them (a row length not a multiple of
 * 32, 4-bit weights, a scale that is not binary16). A tensor with smoothing
 * scales s (its input is multiplied by 1/s at run time: wo and w2 of a
 * llama2.c model calibrated by the engine, or any linear compressed with
 * --stats) becomes F32 holding scale * q / s_j (column j), since GGUF has no
 * run-time 1/s and these cannot be folded into a norm. A llama2.c .dcz gets
 * the key/values dc-l2c-gguf writes (llama.* from its header, tokenizer.ggml.*
 * from TOK.bin) and llama.cpp's tensor names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/gguf_load.h"
#include "../engine/model.h"
#include "../engine/plan.h" /* el_dcz_read_header */
#include "dcz.h"
#include "gguf.h"

static int usage(const char *msg, const char *arg) {
    fprintf(stderr, "dcz export: %s%s%s (see dcz export --help)\n", msg, arg ? ": " : "",
            arg ? arg : "");
    return 1;
}

typedef struct exp_tensor {
    size_t idx;      /* in the .dcz */
    int how;         /* 0 stored bytes, 1 Q8_0 from codes + scales, 2 F32 dequantized
                      * (divided by the smoothing scales, if any) */
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
        if (d.n_smooth == cols) /* stored W * s: back to W (GGUF has no run-time 1/s) */
            for (uint64_t k = 0; k < r8 * cols; k++)
                f[k] = f[k] / d.smooth[k % cols];
        for (uint64_t k = 0; k < r8 * cols; k++) { /* little-endian */
            uint32_t u;
            memcpy(&u, &f[k], 4);
            dc_store_le32(&f[k], u);
        }
    }
    *data = c->buf;
    return DC_OK;
}

/* The key/value section (docs/format.md 6.7) of the GGUF dc-l2c-gguf would
 * make of the llama2.c model a .dcz holds (header from its metadata or its
 * tensors), with the tokenizer TOK.bin, into *sec. 0 or an exit code. */
static int llama2c_section(const dc_reader *r, const char *in, const char *tok, dc_gguf_buf *sec) {
    int32_t hdr[7];
    el_config c;
    size_t emb; /* llama2.c names (a Hugging Face .dcz has a header too, not these names) */
    if (dc_reader_find(r, "tok_embeddings.weight", &emb) != DC_OK ||
        el_dcz_read_header(r, hdr) != 0 || el_config_from_header(&c, hdr) != 0) {
        fprintf(stderr,
                "dcz export: %s was made neither from a GGUF file (no key/value section) nor "
                "from a llama2.c model\n",
                in);
        return 2;
    }
    if (!tok) {
        fprintf(stderr,
                "dcz export: %s was made from a llama2.c model, which carries no "
                "tokenizer: give --tokenizer TOK.bin\n",
                in);
        return 1;
    }
    size_t ns = el_layout(&c, NULL, 0);
    el_slot *slots = calloc(ns, sizeof(*slots));
    size_t *slot_of = calloc(ns, sizeof(*slot_of));
    dc_gguf_out_tensor *ot = calloc(ns, sizeof(*ot));
    char(*names)[96] = calloc(ns, sizeof(*names));
    dc_gguf_buf kv = {sec->alloc, NULL, 0, 0, 0, 0};
    int rc = slots && slot_of && ot && names ? 0 : 4;
    const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
    if (rc == 0 && el_gguf_llama_kv(&kv, &c, base, tok, 0) != 0) rc = 2;
    if (rc == 0) {
        el_layout(&c, slots, ns);
        size_t n = el_gguf_llama_tensors(&c, slots, ns, DC_GGML_F32, ot, slot_of, names);
        uint8_t h[24];
        dc_store_le32(h, DC_KV_SECTION_MAGIC);
        dc_store_le32(h + 4, 1);                  /* section version */
        dc_store_le32(h + 8, 3);                  /* GGUF version */
        dc_store_le32(h + 12, DC_GGUF_ALIGNMENT); /* alignment */
        dc_store_le64(h + 16, kv.n_kv);
        dc_gguf_buf_put(sec, h, sizeof h);
        dc_gguf_buf_u64(sec, kv.len);
        dc_gguf_buf_put(sec, kv.p, kv.len);
        dc_gguf_buf_u64(sec, n);
        for (size_t i = 0; i < n; i++) {
            dc_gguf_buf_str(sec, ot[i].name, strlen(ot[i].name));
            dc_gguf_buf_u32(sec, ot[i].n_dims);
            for (uint32_t k = 0; k < ot[i].n_dims; k++)
                dc_gguf_buf_u64(sec, ot[i].ne[k]);
            dc_gguf_buf_u32(sec, ot[i].type);
        }
        if (sec->oom || kv.oom) rc = 4;
    }
    if (rc == 4) fprintf(stderr, "dcz export: out of memory\n");
    dc_gguf_buf_free(&kv);
    free(slots), free(slot_of), free(ot), free(names);
    return rc;
}

static const char kHelp[] =
    "usage: dcz export FILE.dcz --gguf -o OUT.gguf [--tokenizer TOK.bin] [--force]\n"
    "Writes the model of a .dcz made from a GGUF file as a GGUF v3 file: every key/value\n"
    "(plus doublecomp.* provenance keys), tensors in their GGUF names, order and types.\n"
    "Q8_0 tensors come back bit-exactly; tensors dcz compress quantized become Q8_0 with\n"
    "the same dequantized values (F32 of those values where Q8_0 cannot hold them: rows\n"
    "not a multiple of 32, scales that are not binary16, 4 bits; tensors with smoothing\n"
    "scales s as F32 of the values divided by s). A .dcz made from a llama2.c model\n"
    "needs --tokenizer (its llama2.c tokenizer): the GGUF gets llama.* keys from the\n"
    "model's header, tokenizer.ggml.* keys from TOK.bin and llama.cpp's tensor names.\n"
    "OUT is written to a temporary file and renamed when complete.";

int dcz_export(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *tok = NULL;
    int gguf = 0, force = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return puts(kHelp), 0;
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc)
            tok = argv[++i];
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
    dc_gguf_buf made = {&a, NULL, 0, 0, 0, 0};
    const int from_l2c = !sec;
    if (from_l2c) { /* a llama2.c model: the section dc-l2c-gguf's file would give */
        if ((rc = llama2c_section(r, in, tok, &made)) != 0) {
            dc_gguf_buf_free(&made);
            dc_reader_close(r);
            return rc;
        }
        sec = made.p, secsize = made.len;
    } else if (tok) {
        fprintf(stderr,
                "dcz export: %s was made from a GGUF file and carries its tokenizer; "
                "drop --tokenizer\n",
                in);
        dc_reader_close(r);
        return 1;
    }
    st = dc_gguf_section_parse(&a, sec, secsize, &g, &why);
    dc_gguf_buf_free(&made); /* g holds copies */
    if (st != DC_OK) {
        fprintf(stderr, "dcz export: %s: %s\n", in, why);
        dc_reader_close(r);
        return 2;
    }
    exp_tensor *et = calloc(g->n_tensors + 1, sizeof(exp_tensor));
    dc_gguf_out_tensor *ot = calloc(g->n_tensors + 1, sizeof(dc_gguf_out_tensor));
    if (!et || !ot) rc = 4;
    size_t n_q8 = 0, n_f32 = 0, n_smooth = 0;
    for (size_t i = 0; rc == 0 && i < g->n_tensors; i++) {
        const dc_gguf_tensor *t = &g->tensors[i];
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        char l2c[96]; /* a llama2.c .dcz: the tensor under its llama2.c name */
        const char *nm = from_l2c ? el_l2c_name(t->name, l2c, sizeof l2c) : t->name;
        if (!nm || dc_reader_find(r, nm, &et[i].idx) != DC_OK ||
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
        if (d.bits == 0 && d.dtype == DC_DTYPE_F32 && t->type != DC_GGML_F32 &&
            d.data_size == 4 * t->numel) { /* a norm the engine folded 1/s into: F32 */
            ot[i].type = DC_GGML_F32;
            ot[i].nbytes = et[i].nbytes = d.data_size;
            continue;
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
        int q8 = d.bits == 8 && !d.n_smooth && cols % DC_Q8_0_BLOCK == 0 && t->ne[0] == cols &&
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
        n_smooth += d.n_smooth != 0;
    }
    /* the records, without earlier provenance keys, then ours */
    dc_gguf_buf kv = {&a, NULL, 0, 0, 0, 0};
    for (size_t i = 0; rc == 0 && i < g->n_kv; i++) {
        if (!strncmp(g->kv[i].key, "doublecomp.export.", 18)) continue;
        if (from_l2c && !strcmp(g->kv[i].key, "general.file_type")) continue; /* below */
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
    dc_gguf_put_kv_u32(&kv, "doublecomp.export.unsmoothed_f32", (uint32_t)n_smooth);
    if (from_l2c) /* MOSTLY_Q8_0 or ALL_F32 */
        dc_gguf_put_kv_u32(&kv, "general.file_type", n_q8 ? 7u : 0u);
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
                   "%zu as F32, %zu of them divided by their smoothing scales)\n",
                   in, out, g->n_tensors, (unsigned long long)kv.n_kv, n_q8, n_f32, n_smooth);
        }
    }
    free(cx.buf), free(cx.dec);
    dc_gguf_buf_free(&kv);
    free(et), free(ot);
    dc_gguf_free(g);
    dc_reader_close(r);
    return rc;
}
