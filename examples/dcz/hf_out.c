/*
 * hf_out.c -- dcz extract FILE.dcz --hf OUTDIR: a Hugging Face checkpoint
 * directory (shards, model.safetensors.index.json, config.json and
 * generation_config.json as they were compressed), one tensor decoded at a
 * time.
 *
 * Tensors stored as they were (float) keep their dtype and bytes; quantized
 * ones are dequantized (q * scale, divided by the smoothing scales if any)
 * to their source dtype. --dtype bf16|f16|f32 converts every float tensor
 * (round to nearest even). Each file is written to a temporary file and
 * renamed; the index is written last, so a directory whose index exists has
 * every shard it names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../engine/hfjson.h"
#include "dcz.h"
#include "internal.h"
#include "safetensors.h"
#include "../float16.h"

#define INDEX_NAME "model.safetensors.index.json"

static int hf_fail(int code, const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "dcz: extract --hf: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return code;
}

static size_t dtype_bytes(dc_dtype d) {
    return d == DC_DTYPE_F32 ? 4 : d == DC_DTYPE_I8 ? 1 : 2;
}

static dc_st_dtype st_dtype(dc_dtype d) {
    return d == DC_DTYPE_F32 ? DC_ST_F32 : d == DC_DTYPE_F16 ? DC_ST_F16 : DC_ST_BF16;
}

typedef struct hf_ctx {
    const dc_reader *r;
    const char *path;
    const size_t *tensor_of; /* shard slot -> reader index */
    const dc_dtype *out_dtype;
    uint8_t *buf, *conv;
    float *f32;
    size_t cap, conv_cap, f32_cap;
} hf_ctx;

static int grow(void **p, size_t *cap, size_t need) {
    if (need <= *cap) return 1;
    free(*p);
    *cap = 0;
    if (!(*p = malloc(need ? need : 1))) return 0;
    *cap = need;
    return 1;
}

/* Tensor index of the .dcz, decoded, dequantized and converted. */
static dc_status hf_load(void *arg, size_t slot, const void **data) {
    hf_ctx *x = arg;
    size_t i = x->tensor_of[slot];
    dc_tensor_desc d = {.struct_size = sizeof(d)};
    dc_reader_tensor(x->r, i, &d);
    if (!grow((void **)&x->buf, &x->cap, (size_t)d.data_size)) return DC_ERR_OUT_OF_MEMORY;
    dc_status st = dc_reader_decode_tensor(x->r, i, x->buf, x->cap, 2, NULL);
    if (st != DC_OK) {
        fprintf(stderr, "dcz: %s: tensor %s: %s\n", x->path, d.name, dc_status_string(st));
        return st;
    }
    const dc_dtype want = x->out_dtype[slot];
    if (!d.bits && d.dtype == want) { /* as stored */
        *data = x->buf;
        return DC_OK;
    }
    uint64_t n = 1;
    for (unsigned k = 0; k < d.ndim; k++)
        n *= d.dims[k];
    if (!grow((void **)&x->f32, &x->f32_cap, (size_t)n * 4)) return DC_ERR_OUT_OF_MEMORY;
    if (d.bits) {
        size_t cols = (size_t)d.dims[d.ndim - 1], rows = cols ? (size_t)(n / cols) : 0;
        dc_quant_options qo = {sizeof(qo), d.granularity, (size_t)d.group_size, d.bits, NULL,
                               0,          d.quant_flags};
        dc_qtensor *q = NULL;
        st = dc_qtensor_import(x->buf, (size_t)d.data_size, d.scales, (size_t)d.n_scales, rows,
                               cols, &qo, &q);
        if (st == DC_OK) st = dc_qtensor_dequantize(q, x->f32, (size_t)n);
        dc_qtensor_free(q);
        if (st != DC_OK) {
            fprintf(stderr, "dcz: %s: tensor %s: cannot dequantize (%s)\n", x->path, d.name,
                    dc_status_string(st));
            return st;
        }
        for (size_t r = 0; d.n_smooth == cols && r < rows; r++) /* stored W * s */
            for (size_t c = 0; c < cols; c++)
                x->f32[r * cols + c] /= d.smooth[c];
    } else if ((st = dc_convert_to_f32(x->f32, x->buf, d.dtype, (size_t)n)) != DC_OK) {
        return st;
    }
    if (want == DC_DTYPE_F32) {
        for (uint64_t k = 0; k < n; k++) { /* little-endian in the file */
            uint32_t u;
            memcpy(&u, &x->f32[k], 4);
            dc_store_le32((uint8_t *)x->f32 + 4 * k, u);
        }
        *data = x->f32;
        return DC_OK;
    }
    if (!grow((void **)&x->conv, &x->conv_cap, (size_t)n * 2)) return DC_ERR_OUT_OF_MEMORY;
    for (uint64_t k = 0; k < n; k++)
        dc_store_le16(x->conv + 2 * k,
                      want == DC_DTYPE_F16 ? to_f16(x->f32[k]) : to_bf16(x->f32[k]));
    *data = x->conv;
    return DC_OK;
}

static char *join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) memcpy(p, dir, a), p[a] = '/', memcpy(p + a + 1, name, b + 1);
    return p;
}

/* 1 if a shard name recorded in a .dcz is safe to create in OUTDIR. */
static int safe_name(const char *name) {
    size_t n = strlen(name);
    return n > 12 && n <= 255 && !strchr(name, '/') && !strchr(name, '\\') &&
           strcmp(name + n - 12, ".safetensors") == 0;
}

int dcz_extract_hf(const dc_reader *r, const char *path, const char *outdir, int dtype,
                   uint64_t max_shard, int force) {
    const size_t n = dc_reader_tensor_count(r);
    const char *meta = dc_reader_metadata(r), *jwhy = "";
    hj_value *m = meta[0] ? hj_parse(meta, strlen(meta), &jwhy) : NULL;
    const hj_value *hf = hj_get(m, "hf");
    const hj_value *shards = hj_get(hf, "shards"), *shard_of = hj_get(hf, "shard_of");
    const char *config = NULL, *genconfig = NULL;
    int rc = 0;
    if (hf && (hf->type != HJ_OBJ || hj_get_str(hf, "config.json", &config) < 0 ||
               hj_get_str(hf, "generation_config.json", &genconfig) < 0)) {
        rc = hf_fail(2, "%s: bad \"hf\" metadata%s", path, "");
        goto out;
    }
    if (!config)
        fprintf(stderr,
                "dcz: extract --hf: note: %s records no config.json (not compressed from a "
                "Hugging Face checkpoint); writing the tensors and the index only\n",
                path);
    /* the recorded layout, if it is usable as it is */
    size_t nsh = 0;
    uint32_t *of = calloc(n + 1, sizeof(uint32_t));
    size_t *tensor_of = calloc(n + 1, sizeof(size_t));
    dc_dtype *out_dtype = calloc(n + 1, sizeof(dc_dtype));
    uint64_t *bytes = calloc(n + 1, sizeof(uint64_t));
    char **names = NULL;
    if (!of || !tensor_of || !out_dtype || !bytes) {
        rc = hf_fail(4, "out of memory%s%s", "", "");
        goto out2;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        dc_reader_tensor(r, i, &d);
        dc_dtype want = dtype >= 0 ? (dc_dtype)dtype : d.bits ? d.source_dtype : d.dtype;
        if (want == DC_DTYPE_I8) want = DC_DTYPE_F32; /* a quantized source of unknown dtype */
        if (!d.bits && d.dtype == DC_DTYPE_I8) {
            rc = hf_fail(2, "%s: tensor %s is opaque bytes (from a GGUF file); use dcz export",
                         path, d.name);
            goto out2;
        }
        out_dtype[i] = want;
        uint64_t ne = 1;
        for (unsigned k = 0; k < d.ndim; k++)
            ne *= d.dims[k];
        bytes[i] = ne * dtype_bytes(want);
        total += bytes[i];
    }
    int recorded = shards && shards->type == HJ_ARR && shards->n > 0 && shard_of &&
                   shard_of->type == HJ_ARR && shard_of->n == n && max_shard == 0;
    for (size_t k = 0; recorded && k < shards->n; k++)
        recorded = shards->items[k].type == HJ_STR && safe_name(shards->items[k].str);
    for (size_t i = 0; recorded && i < n; i++) {
        const hj_value *v = &shard_of->items[i];
        recorded = v->type == HJ_NUM && v->is_uint && v->uint < shards->n;
        if (recorded) of[i] = (uint32_t)v->uint;
    }
    if (recorded) {
        nsh = shards->n;
    } else { /* shards of at most max_shard bytes (default 5 GB, as transformers) */
        uint64_t lim = max_shard ? max_shard : 5000000000ull, in = 0;
        for (size_t i = 0; i < n; i++) {
            if (in > 0 && in + bytes[i] > lim) nsh++, in = 0;
            of[i] = (uint32_t)nsh;
            in += bytes[i];
        }
        nsh++;
    }
    if (!(names = calloc(nsh, sizeof(char *)))) {
        rc = hf_fail(4, "out of memory%s%s", "", "");
        goto out2;
    }
    for (size_t k = 0; k < nsh; k++) {
        char nm[64];
        snprintf(nm, sizeof nm, "model-%05zu-of-%05zu.safetensors", k + 1, nsh);
        if (!(names[k] = strdup(recorded ? shards->items[k].str : nm))) {
            rc = hf_fail(4, "out of memory%s%s", "", "");
            goto out2;
        }
    }
    /* OUTDIR: created if missing; files in it are replaced only with --force */
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "dcz: extract --hf: cannot create %s (%s)\n", outdir, strerror(errno));
        rc = 3;
        goto out2;
    }
    const char *fixed[3] = {INDEX_NAME, "config.json", "generation_config.json"};
    for (size_t k = 0; k < nsh + 3; k++) {
        if (k >= nsh && ((k == nsh + 1 && !config) || (k == nsh + 2 && !genconfig))) continue;
        char *p = join(outdir, k < nsh ? names[k] : fixed[k - nsh]);
        int exists = p && access(p, F_OK) == 0;
        free(p);
        if (exists && !force) {
            rc = hf_fail(3, "%s/%s exists; use --force to overwrite", outdir,
                         k < nsh ? names[k] : fixed[k - nsh]);
            goto out2;
        }
    }
    /* the shards, one tensor at a time */
    hf_ctx x = {r, path, tensor_of, out_dtype, NULL, NULL, NULL, 0, 0, 0};
    dc_st_out_tensor *t = calloc(n + 1, sizeof(*t));
    dc_dtype *slot_dtype = calloc(n + 1, sizeof(dc_dtype));
    uint64_t(*shapes)[DC_MAX_DIMS] = calloc(n + 1, sizeof(*shapes));
    if (!t || !slot_dtype || !shapes) rc = hf_fail(4, "out of memory%s%s", "", "");
    x.out_dtype = slot_dtype;
    const char *fmt_meta[2] = {"format", "pt"}; /* transformers requires it */
    for (size_t k = 0; k < nsh && rc == 0; k++) {
        size_t c = 0;
        for (size_t i = 0; i < n; i++) {
            if (of[i] != k) continue;
            dc_tensor_desc d = {.struct_size = sizeof(d)};
            dc_reader_tensor(r, i, &d);
            memcpy(shapes[c], d.dims, sizeof(d.dims));
            t[c] = (dc_st_out_tensor){d.name, st_dtype(out_dtype[i]), d.ndim, shapes[c],
                                      NULL,   (size_t)bytes[i]};
            tensor_of[c] = i;
            slot_dtype[c] = out_dtype[i];
            c++;
        }
        char *p = join(outdir, names[k]);
        dc_alloc a;
        dc_alloc_init(&a, NULL);
        dc_status st =
            p ? dc_st_write_stream(&a, p, t, c, fmt_meta, 1, hf_load, &x) : DC_ERR_OUT_OF_MEMORY;
        if (st == DC_ERR_IO)
            fprintf(stderr, "dcz: extract --hf: cannot write %s (%s)\n", p ? p : names[k],
                    strerror(errno));
        if (st != DC_OK) rc = st == DC_ERR_IO ? 3 : st == DC_ERR_OUT_OF_MEMORY ? 4 : 2;
        free(p);
    }
    free(x.buf), free(x.conv), free(x.f32);
    /* config files, then the index */
    hj_buf b = {0};
    if (rc == 0) {
        hj_buf_printf(&b, "{\n  \"metadata\": {\n    \"total_size\": %llu\n  },\n",
                      (unsigned long long)total);
        hj_buf_puts(&b, "  \"weight_map\": {");
        for (size_t i = 0; i < n; i++) {
            dc_tensor_desc d = {.struct_size = sizeof(d)};
            dc_reader_tensor(r, i, &d);
            hj_buf_puts(&b, i ? ",\n    " : "\n    ");
            hj_buf_string(&b, d.name);
            hj_buf_puts(&b, ": ");
            hj_buf_string(&b, names[of[i]]);
        }
        hj_buf_puts(&b, "\n  }\n}\n");
        if (b.oom) rc = hf_fail(4, "out of memory%s%s", "", "");
    }
    const char *texts[3] = {config, genconfig, b.p};
    const char *files[3] = {"config.json", "generation_config.json", INDEX_NAME};
    for (int f = 0; f < 3 && rc == 0; f++) {
        if (!texts[f]) continue;
        char *p = join(outdir, files[f]);
        if (!p || hj_write_file(p, texts[f], strlen(texts[f])) != 0) {
            fprintf(stderr, "dcz: extract --hf: cannot write %s/%s (%s)\n", outdir, files[f],
                    strerror(errno));
            rc = 3;
        }
        free(p);
    }
    if (rc == 0)
        printf("%s: %zu tensors extracted to %s (%zu shard%s, %s)\n", path, n, outdir, nsh,
               nsh == 1 ? "" : "s", config ? "with config.json" : "no config.json");
    free(b.p);
    free(t), free(slot_dtype), free(shapes);
out2:
    for (size_t k = 0; names && k < nsh; k++)
        free(names[k]);
    free(names), free(of), free(tensor_of), free(out_dtype), free(bytes);
out:
    hj_free(m);
    return rc;
}
