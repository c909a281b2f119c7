/*
 * gguf_check.c -- test helper for GGUF files (lib/gguf.c's reader).
 *
 *   gguf_check list FILE.gguf      one line per key ("kv KEY TYPE VALUE";
 *                                  integers and strings with their value,
 *                                  arrays with their length) and per tensor
 *                                  ("tensor NAME ne0,ne1,.. TYPE"), as
 *                                  tests/gguf_check.mjs prints them
 *   gguf_check same A.gguf B.gguf  every key/value of A is in B with the same
 *                                  type and bytes, the tensors have the same
 *                                  names, order, shapes and types, and their
 *                                  data bytes are identical
 *   gguf_check values OUT.gguf IN.dcz
 *                                  every tensor of OUT (F32, F16, Q8_0) has,
 *                                  value for value, the bits of the .dcz
 *                                  tensor of its name (or of its llama2.c
 *                                  name), dequantized (scale * q, divided
 *                                  by the smoothing scales if it has them,
 *                                  as dcz export writes it) or as stored;
 *                                  prints how many tensors of each type
 *                                  were compared
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doublecomp.h"
#include "gguf.h"

static dc_gguf *open_or_die(const char *path) {
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_gguf *g = NULL;
    const char *why = "";
    if (dc_gguf_open(&a, path, &g, &why) != DC_OK) {
        fprintf(stderr, "gguf_check: %s: %s\n", path, why);
        exit(2);
    }
    return g;
}

static uint8_t *read_range(const char *path, uint64_t off, uint64_t n) {
    FILE *f = fopen(path, "rb");
    uint8_t *p = malloc(n ? n : 1);
    if (!f || !p || fseeko(f, (off_t)off, SEEK_SET) != 0 || fread(p, 1, n, f) != n) {
        fprintf(stderr, "gguf_check: %s: read error\n", path);
        exit(2);
    }
    fclose(f);
    return p;
}

static const char *const kTypes[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                     "bool", "string", "array", "u64", "i64", "f64"};

/* The floats of GGUF tensor t (F32, F16 or Q8_0) into a malloc'd array; NULL
 * for other types. */
static float *gguf_floats(const char *path, const dc_gguf *g, const dc_gguf_tensor *t) {
    if (t->type != DC_GGML_F32 && t->type != DC_GGML_F16 && t->type != DC_GGML_Q8_0) return NULL;
    uint8_t *p = read_range(path, g->data_offset + t->offset, t->nbytes);
    float *f = malloc(t->numel * sizeof(float) + 1);
    if (!f) exit(2);
    for (uint64_t i = 0; i < t->numel; i++) {
        if (t->type == DC_GGML_F32) {
            uint32_t u = dc_load_le32(p + 4 * i);
            memcpy(&f[i], &u, 4);
        } else if (t->type == DC_GGML_F16) {
            f[i] = dc_f16_to_f32(dc_load_le16(p + 2 * i));
        } else {
            const uint8_t *blk = p + i / DC_Q8_0_BLOCK * DC_Q8_0_BYTES;
            f[i] = dc_f16_to_f32(dc_load_le16(blk)) * (float)(int8_t)blk[2 + i % DC_Q8_0_BLOCK];
        }
    }
    free(p);
    return f;
}

/* The llama2.c name of a llama.cpp tensor name (examples/engine's
 * el_l2c_name, which this helper does not link) into out; NULL if none. */
static const char *l2c_name(const char *gguf, char *out, size_t cap) {
    static const char *const g[] = {"attn_norm", "attn_q",   "attn_k",   "attn_v", "attn_output",
                                    "ffn_norm",  "ffn_gate", "ffn_down", "ffn_up"};
    static const char *const l[] = {"attention_norm",  "attention.wq",    "attention.wk",
                                    "attention.wv",    "attention.wo",    "ffn_norm",
                                    "feed_forward.w1", "feed_forward.w2", "feed_forward.w3"};
    int layer, pos = 0;
    if (!strcmp(gguf, "token_embd.weight")) return snprintf(out, cap, "tok_embeddings.weight"), out;
    if (!strcmp(gguf, "output_norm.weight")) return snprintf(out, cap, "norm.weight"), out;
    if (sscanf(gguf, "blk.%d.%n", &layer, &pos) == 1 && pos > 0)
        for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++)
            if (!strncmp(gguf + pos, g[k], strlen(g[k])) &&
                !strcmp(gguf + pos + strlen(g[k]), ".weight"))
                return snprintf(out, cap, "layers.%d.%s.weight", layer, l[k]), out;
    return NULL;
}

/* The values of .dcz tensor `name` (or of its llama2.c name) as floats
 * (dequantized), NULL if absent. */
static float *dcz_floats(const dc_reader *r, const char *name, uint64_t *n) {
    size_t idx;
    dc_tensor_desc d = {.struct_size = sizeof(d)};
    char alt[96];
    if (dc_reader_find(r, name, &idx) != DC_OK &&
        (!l2c_name(name, alt, sizeof alt) || dc_reader_find(r, alt, &idx) != DC_OK))
        return NULL;
    if (dc_reader_tensor(r, idx, &d) != DC_OK) return NULL;
    uint64_t rows = 1, cols = d.dims[d.ndim - 1];
    for (unsigned k = 0; k + 1 < d.ndim; k++)
        rows *= d.dims[k];
    *n = rows * cols;
    uint8_t *buf = malloc(d.data_size + 1);
    float *f = malloc(*n * sizeof(float) + 1);
    if (!buf || !f || dc_reader_decode_tensor(r, idx, buf, d.data_size, 1, NULL) != DC_OK) exit(2);
    dc_status st;
    if (d.bits) {
        dc_quant_options qo = {sizeof(qo), d.granularity, (size_t)d.group_size, d.bits, NULL,
                               0,          d.quant_flags};
        dc_qtensor *qt = NULL;
        st = dc_qtensor_import(buf, d.data_size, d.scales, d.n_scales, rows, cols, &qo, &qt);
        if (st == DC_OK) st = dc_qtensor_dequantize(qt, f, *n);
        dc_qtensor_free(qt);
        if (d.n_smooth == cols)
            for (uint64_t k = 0; k < *n; k++)
                f[k] = f[k] / d.smooth[k % cols];
    } else {
        st = dc_convert_to_f32(f, buf, d.dtype, *n);
    }
    free(buf);
    if (st != DC_OK) exit(2);
    return f;
}

static int check_values(const char *gpath, const char *dpath) {
    dc_gguf *g = open_or_die(gpath);
    dc_reader *r = NULL;
    const char *why = "";
    if (dc_reader_open_file(dpath, NULL, &r, &why) != DC_OK) {
        fprintf(stderr, "gguf_check: %s: %s\n", dpath, why);
        return 2;
    }
    int bad = 0;
    size_t n_q8 = 0, n_f32 = 0;
    for (size_t i = 0; i < g->n_tensors; i++) {
        const dc_gguf_tensor *t = &g->tensors[i];
        uint64_t n = 0;
        float *x = gguf_floats(gpath, g, t), *y = dcz_floats(r, t->name, &n);
        if (!x || !y || n != t->numel) {
            printf("tensor %s: not F32/Q8_0, or not in %s with that size\n", t->name, dpath);
            bad = 1;
        } else if (memcmp(x, y, n * sizeof(float)) != 0) {
            uint64_t k = 0;
            while (!memcmp(&x[k], &y[k], sizeof(float)))
                k++;
            printf("tensor %s: value %llu is %.9g, the .dcz has %.9g\n", t->name,
                   (unsigned long long)k, (double)x[k], (double)y[k]);
            bad = 1;
        }
        t->type == DC_GGML_Q8_0 ? n_q8++ : n_f32++; /* F32 or F16 */
        free(x), free(y);
    }
    if (!bad) printf("values: %zu Q8_0 and %zu float tensors equal the .dcz's\n", n_q8, n_f32);
    dc_reader_close(r);
    dc_gguf_free(g);
    return bad;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "values")) return check_values(argv[2], argv[3]);
    if (argc == 3 && !strcmp(argv[1], "list")) {
        dc_gguf *g = open_or_die(argv[2]);
        for (size_t i = 0; i < g->n_kv; i++) {
            const dc_gguf_kv *kv = &g->kv[i];
            int64_t v;
            const char *s;
            uint64_t len, count;
            uint32_t et;
            const uint8_t *el;
            size_t es;
            printf("kv %s %s", kv->key, kTypes[kv->type]);
            if (kv->type != DC_GGUF_BOOL && dc_gguf_kv_int(kv, &v))
                printf(" %lld", (long long)v);
            else if (dc_gguf_kv_string(kv, &s, &len))
                printf(" %.*s", (int)len, s);
            else if (dc_gguf_kv_array(kv, &et, &count, &el, &es))
                printf(" %llu", (unsigned long long)count);
            printf("\n");
        }
        for (size_t i = 0; i < g->n_tensors; i++) {
            const dc_gguf_tensor *t = &g->tensors[i];
            printf("tensor %s ", t->name);
            for (unsigned d = 0; d < t->n_dims; d++)
                printf("%s%llu", d ? "," : "", (unsigned long long)t->ne[d]);
            printf(" %u\n", t->type);
        }
        dc_gguf_free(g);
        return 0;
    }
    if (argc != 4 || strcmp(argv[1], "same")) {
        fprintf(
            stderr,
            "usage: gguf_check list FILE | gguf_check same A B | gguf_check values G.gguf D.dcz\n");
        return 2;
    }
    dc_gguf *a = open_or_die(argv[2]), *b = open_or_die(argv[3]);
    int bad = 0;
    for (size_t i = 0; i < a->n_kv; i++) {
        const dc_gguf_kv *x = &a->kv[i], *y = dc_gguf_find(b, x->key);
        if (!y || y->type != x->type || y->val_size != x->val_size ||
            memcmp(x->val, y->val, x->val_size) != 0) {
            printf("key/value %s differs or is missing\n", x->key);
            bad = 1;
        }
    }
    if (a->n_tensors != b->n_tensors) printf("tensor counts differ\n"), bad = 1;
    uint64_t bytes = 0;
    for (size_t i = 0; !bad && i < a->n_tensors; i++) {
        const dc_gguf_tensor *x = &a->tensors[i], *y = &b->tensors[i];
        if (strcmp(x->name, y->name) || x->type != y->type || x->n_dims != y->n_dims ||
            memcmp(x->ne, y->ne, sizeof(x->ne))) {
            printf("tensor %zu (%s) differs in name, type or shape\n", i, x->name);
            bad = 1;
            break;
        }
        uint8_t *p = read_range(argv[2], a->data_offset + x->offset, x->nbytes);
        uint8_t *q = read_range(argv[3], b->data_offset + y->offset, y->nbytes);
        if (memcmp(p, q, x->nbytes) != 0) printf("tensor %s: data differs\n", x->name), bad = 1;
        bytes += x->nbytes;
        free(p), free(q);
    }
    if (!bad)
        printf("same: %zu key/values, %zu tensors, %llu data bytes identical\n", a->n_kv,
               a->n_tensors, (unsigned long long)bytes);
    dc_gguf_free(a), dc_gguf_free(b);
    return bad;
}
