/*
 * gguf.c -- minimal, hostile-input-safe GGUF reader and writer.
 */
#include "gguf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ========================================================================== */
/*                                 ggml types                                 */
/* ========================================================================== */

static const struct {
    uint32_t type;
    uint16_t blck, size;
    const char *name;
} gguf_types[] = {
    {0, 1, 4, "f32"},         {1, 1, 2, "f16"},         {2, 32, 18, "q4_0"},
    {3, 32, 20, "q4_1"},      {6, 32, 22, "q5_0"},      {7, 32, 24, "q5_1"},
    {8, 32, 34, "q8_0"},      {9, 32, 36, "q8_1"},      {10, 256, 84, "q2_K"},
    {11, 256, 110, "q3_K"},   {12, 256, 144, "q4_K"},   {13, 256, 176, "q5_K"},
    {14, 256, 210, "q6_K"},   {15, 256, 292, "q8_K"},   {16, 256, 66, "iq2_xxs"},
    {17, 256, 74, "iq2_xs"},  {18, 256, 98, "iq3_xxs"}, {19, 256, 50, "iq1_s"},
    {20, 32, 18, "iq4_nl"},   {21, 256, 110, "iq3_s"},  {22, 256, 82, "iq2_s"},
    {23, 256, 136, "iq4_xs"}, {24, 1, 1, "i8"},         {25, 1, 2, "i16"},
    {26, 1, 4, "i32"},        {27, 1, 8, "i64"},        {28, 1, 8, "f64"},
    {29, 256, 56, "iq1_m"},   {30, 1, 2, "bf16"},       {34, 256, 54, "tq1_0"},
    {35, 256, 66, "tq2_0"},   {39, 32, 17, "mxfp4"},    {40, 64, 36, "nvfp4"},
    {41, 128, 18, "q1_0"},    {42, 64, 18, "q2_0"},
};
#define GGUF_NTYPES (sizeof(gguf_types) / sizeof(gguf_types[0]))

int dc_gguf_type_info(uint32_t type, uint64_t *blck, uint64_t *size, const char **name) {
    for (size_t i = 0; i < GGUF_NTYPES; i++)
        if (gguf_types[i].type == type) {
            if (blck) *blck = gguf_types[i].blck;
            if (size) *size = gguf_types[i].size;
            if (name) *name = gguf_types[i].name;
            return 1;
        }
    if (blck) *blck = 0;
    if (size) *size = 0;
    if (name) *name = "?";
    return 0;
}

/* Bytes of a scalar of value type t; 0 for strings, arrays and unknown types. */
static size_t scalar_size(uint32_t t) {
    switch (t) {
    case DC_GGUF_U8:
    case DC_GGUF_I8:
    case DC_GGUF_BOOL:
        return 1;
    case DC_GGUF_U16:
    case DC_GGUF_I16:
        return 2;
    case DC_GGUF_U32:
    case DC_GGUF_I32:
    case DC_GGUF_F32:
        return 4;
    case DC_GGUF_U64:
    case DC_GGUF_I64:
    case DC_GGUF_F64:
        return 8;
    default:
        return 0;
    }
}

/* ========================================================================== */
/*                                   Values                                   */
/* ========================================================================== */

/* Size of a string at p[0..n): 8 + len, or 0 if it does not fit or is not
 * valid UTF-8 (NUL bytes are allowed in values: they are kept verbatim). */
static size_t string_size(const uint8_t *p, size_t n) {
    if (n < 8) return 0;
    uint64_t len = dc_load_le64(p);
    if (len > n - 8) return 0;
    if (!dc_utf8_valid(p + 8, (size_t)len)) return 0;
    return 8 + (size_t)len;
}

static size_t value_size(uint32_t type, const uint8_t *p, size_t n, int depth) {
    size_t s = scalar_size(type);
    if (s) {
        if (n < s) return 0;
        if (type == DC_GGUF_BOOL && p[0] > 1) return 0;
        return s;
    }
    if (type == DC_GGUF_STRING) return string_size(p, n);
    if (type != DC_GGUF_ARRAY || depth >= DC_GGUF_MAX_DEPTH || n < 12) return 0;
    uint32_t et = dc_load_le32(p);
    uint64_t count = dc_load_le64(p + 4);
    size_t off = 12, es = scalar_size(et);
    if (es) {
        if (count > (n - off) / es) return 0;
        if (et == DC_GGUF_BOOL)
            for (uint64_t i = 0; i < count; i++)
                if (p[off + i] > 1) return 0;
        return off + (size_t)count * es;
    }
    if (et != DC_GGUF_STRING && et != DC_GGUF_ARRAY) return 0;
    /* every element takes at least 8 bytes: count is bounded before the loop */
    if (count > (n - off) / 8) return 0;
    for (uint64_t i = 0; i < count; i++) {
        size_t e = value_size(et, p + off, n - off, depth + 1);
        if (e == 0) return 0;
        off += e;
    }
    return off;
}

size_t dc_gguf_value_size(uint32_t type, const uint8_t *p, size_t n) {
    return value_size(type, p, n, 0);
}

int dc_gguf_kv_int(const dc_gguf_kv *kv, int64_t *v) {
    if (!kv) return 0;
    const uint8_t *p = kv->val;
    switch (kv->type) {
    case DC_GGUF_U8:
    case DC_GGUF_BOOL:
        *v = p[0];
        return 1;
    case DC_GGUF_I8:
        *v = (int8_t)p[0];
        return 1;
    case DC_GGUF_U16:
        *v = dc_load_le16(p);
        return 1;
    case DC_GGUF_I16:
        *v = (int16_t)dc_load_le16(p);
        return 1;
    case DC_GGUF_U32:
        *v = dc_load_le32(p);
        return 1;
    case DC_GGUF_I32:
        *v = (int32_t)dc_load_le32(p);
        return 1;
    case DC_GGUF_U64:
        if (dc_load_le64(p) > (uint64_t)INT64_MAX) return 0;
        *v = (int64_t)dc_load_le64(p);
        return 1;
    case DC_GGUF_I64:
        *v = (int64_t)dc_load_le64(p);
        return 1;
    default:
        return 0;
    }
}

int dc_gguf_kv_float(const dc_gguf_kv *kv, double *v) {
    if (!kv) return 0;
    if (kv->type == DC_GGUF_F32) {
        uint32_t u = dc_load_le32(kv->val);
        float f;
        memcpy(&f, &u, 4);
        *v = f;
        return 1;
    }
    if (kv->type == DC_GGUF_F64) {
        uint64_t u = dc_load_le64(kv->val);
        double d;
        memcpy(&d, &u, 8);
        *v = d;
        return 1;
    }
    return 0;
}

int dc_gguf_kv_string(const dc_gguf_kv *kv, const char **s, uint64_t *len) {
    if (!kv || kv->type != DC_GGUF_STRING) return 0;
    *len = dc_load_le64(kv->val);
    *s = (const char *)kv->val + 8;
    return 1;
}

int dc_gguf_kv_array(const dc_gguf_kv *kv, uint32_t *elem_type, uint64_t *count,
                     const uint8_t **elems, size_t *elems_size) {
    if (!kv || kv->type != DC_GGUF_ARRAY) return 0;
    *elem_type = dc_load_le32(kv->val);
    *count = dc_load_le64(kv->val + 4);
    *elems = kv->val + 12;
    *elems_size = kv->val_size - 12;
    return 1;
}

/* ========================================================================== */
/*                                   Parser                                   */
/* ========================================================================== */

#define FAIL(code, msg)                                                                            \
    do {                                                                                           \
        st = (code);                                                                               \
        if (detail) *detail = (msg);                                                               \
        goto fail;                                                                                 \
    } while (0)

void dc_gguf_free(dc_gguf *g) {
    if (!g) return;
    dc_alloc a = g->alloc;
    for (size_t i = 0; g->kv && i < g->n_kv; i++)
        dc_free(&a, g->kv[i].key);
    for (size_t i = 0; g->tensors && i < g->n_tensors; i++)
        dc_free(&a, g->tensors[i].name);
    dc_free(&a, g->kv);
    dc_free(&a, g->tensors);
    dc_free(&a, g->kv_blob);
    dc_free(&a, g);
}

/* A NUL-terminated copy of a string's bytes, or NULL (out of memory). */
static char *dup_bytes(const dc_alloc *a, const uint8_t *s, size_t n) {
    char *c = (char *)dc_malloc(a, n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

static int cmp_str(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* 1 if the n strings at names[k * stride] (char *) include a duplicate. */
static int has_duplicates(const dc_alloc *a, const void *base, size_t n, size_t stride, int *oom) {
    *oom = 0;
    if (n < 2) return 0;
    char **v = (char **)dc_malloc(a, n * sizeof(char *));
    if (!v) {
        *oom = 1;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(&v[i], (const uint8_t *)base + i * stride, sizeof(char *));
    qsort(v, n, sizeof(char *), cmp_str);
    int dup = 0;
    for (size_t i = 1; i < n && !dup; i++)
        dup = strcmp(v[i - 1], v[i]) == 0;
    dc_free(a, v);
    return dup;
}

/* Parses n_kv records at p[*off..n); stores them in g (kv, kv_blob). */
static dc_status parse_kv(dc_gguf *g, const uint8_t *p, size_t n, size_t *off, uint64_t n_kv,
                          int truncated_ok, const char **detail) {
    const dc_alloc *a = &g->alloc;
    dc_status st = DC_ERR_FORMAT;
    size_t start = *off, o = *off;
    /* a record takes at least 8 + 4 + 1 bytes */
    if (n_kv > (n - o) / 13) {
        if (truncated_ok) FAIL(DC_ERR_TRUNCATED, "key/values: more records than bytes");
        FAIL(DC_ERR_FORMAT, "key/values: record count larger than the data");
    }
    g->kv = (dc_gguf_kv *)dc_calloc(a, n_kv ? (size_t)n_kv : 1, sizeof(dc_gguf_kv));
    if (!g->kv) FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
    /* first pass: sizes and validity; record offsets kept relative */
    for (uint64_t i = 0; i < n_kv; i++) {
        size_t ks = string_size(p + o, n - o);
        if (ks == 0) {
            if (n - o < 8 || dc_load_le64(p + o) > n - o - 8) {
                if (truncated_ok) FAIL(DC_ERR_TRUNCATED, "key/values: key past the end");
                FAIL(DC_ERR_FORMAT, "key/values: key length past the end");
            }
            FAIL(DC_ERR_FORMAT, "key/values: key is not valid UTF-8");
        }
        uint64_t klen = dc_load_le64(p + o);
        if (klen == 0 || klen > 65535 || memchr(p + o + 8, 0, (size_t)klen))
            FAIL(DC_ERR_FORMAT, "key/values: empty key, key over 65535 bytes, or a NUL in it");
        dc_gguf_kv *kv = &g->kv[i];
        if (!(kv->key = dup_bytes(a, p + o + 8, (size_t)klen)))
            FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
        g->n_kv = (size_t)i + 1;
        size_t ro = o;
        o += ks;
        if (n - o < 4) {
            if (truncated_ok) FAIL(DC_ERR_TRUNCATED, "key/values: value type past the end");
            FAIL(DC_ERR_FORMAT, "key/values: value type past the end");
        }
        kv->type = dc_load_le32(p + o);
        o += 4;
        if (kv->type > DC_GGUF_F64) FAIL(DC_ERR_FORMAT, "key/values: unknown value type");
        size_t vs = value_size(kv->type, p + o, n - o, 0);
        if (vs == 0) {
            /* past the end (more bytes may help), or invalid: try with the rest
             * of the file being arbitrary is not possible, so report which */
            if (truncated_ok) FAIL(DC_ERR_TRUNCATED, "key/values: a value runs past the end");
            FAIL(DC_ERR_FORMAT, "key/values: bad value (past the end, bad string or boolean, "
                                "unknown element type or arrays nested too deep)");
        }
        kv->val = (const uint8_t *)(uintptr_t)(o - start); /* rebased below */
        kv->val_size = vs;
        kv->rec = (const uint8_t *)(uintptr_t)(ro - start);
        o += vs;
        kv->rec_size = o - ro;
    }
    int oom;
    if (has_duplicates(a, &g->kv[0].key, g->n_kv, sizeof(dc_gguf_kv), &oom))
        FAIL(DC_ERR_FORMAT, "key/values: duplicate key");
    if (oom) FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
    g->kv_blob_size = o - start;
    g->kv_blob = (uint8_t *)dc_malloc(a, g->kv_blob_size ? g->kv_blob_size : 1);
    if (!g->kv_blob) FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(g->kv_blob, p + start, g->kv_blob_size);
    for (size_t i = 0; i < g->n_kv; i++) {
        g->kv[i].val = g->kv_blob + (uintptr_t)g->kv[i].val;
        g->kv[i].rec = g->kv_blob + (uintptr_t)g->kv[i].rec;
    }
    *off = o;
    return DC_OK;
fail:
    /* offsets were not rebased: make them harmless */
    for (size_t i = 0; g->kv && i < g->n_kv; i++)
        g->kv[i].val = g->kv[i].rec = NULL;
    return st;
}

typedef struct range {
    uint64_t begin, end;
} range;

static int cmp_range(const void *x, const void *y) {
    const range *a = (const range *)x, *b = (const range *)y;
    return a->begin < b->begin ? -1 : a->begin > b->begin;
}

dc_status dc_gguf_parse(const dc_alloc *alloc, const void *data, size_t n, uint64_t file_size,
                        dc_gguf **out, const char **detail) {
    *out = NULL;
    const uint8_t *p = (const uint8_t *)data;
    dc_status st = DC_ERR_FORMAT;
    int more = n < file_size; /* DC_ERR_TRUNCATED may be cured by more bytes */
    dc_gguf *g = (dc_gguf *)dc_calloc(alloc, 1, sizeof(*g));
    if (!g) return DC_ERR_OUT_OF_MEMORY;
    g->alloc = *alloc;
    if (n > file_size) FAIL(DC_ERR_INVALID_ARGUMENT, "more bytes than the file holds");
    if (n < 4 || dc_load_le32(p) != DC_GGUF_MAGIC) {
        if (n < 4 && more) FAIL(DC_ERR_TRUNCATED, "header: shorter than the magic");
        FAIL(DC_ERR_FORMAT, "not a GGUF file (bad magic)");
    }
    if (n < 24) FAIL(DC_ERR_TRUNCATED, "header: file shorter than the GGUF header");
    g->version = dc_load_le32(p + 4);
    if (g->version == 1) FAIL(DC_ERR_UNSUPPORTED, "header: GGUF version 1 is not supported");
    if ((g->version & 0xFFFF) == 0 && g->version != 0)
        FAIL(DC_ERR_UNSUPPORTED, "header: a big-endian GGUF file (not supported)");
    if (g->version < 2 || g->version > 3) FAIL(DC_ERR_UNSUPPORTED, "header: unknown GGUF version");
    uint64_t n_tensors = dc_load_le64(p + 8), n_kv = dc_load_le64(p + 16);
    size_t o = 24;
    /* counts against the whole file: a tensor info takes at least 8+1+4+4+8 bytes */
    if (n_kv > file_size / 13 || n_tensors > file_size / 25)
        FAIL(DC_ERR_FORMAT, "header: tensor or key/value count larger than the file");
    if ((st = parse_kv(g, p, n, &o, n_kv, more, detail)) != DC_OK) goto fail;
    st = DC_ERR_FORMAT;
    g->alignment = DC_GGUF_ALIGNMENT;
    const dc_gguf_kv *al = dc_gguf_find(g, "general.alignment");
    if (al) {
        if (al->type != DC_GGUF_U32) FAIL(DC_ERR_FORMAT, "general.alignment is not a u32");
        uint32_t v = dc_load_le32(al->val);
        if (v == 0 || (v & (v - 1)) != 0)
            FAIL(DC_ERR_FORMAT, "general.alignment is not a power of two");
        g->alignment = v;
    }
    if (n_tensors > (n - o) / 25) {
        if (more) FAIL(DC_ERR_TRUNCATED, "tensor infos: past the end");
        FAIL(DC_ERR_FORMAT, "tensor infos: count larger than the data");
    }
    g->tensors = (dc_gguf_tensor *)dc_calloc(alloc, n_tensors ? (size_t)n_tensors : 1,
                                             sizeof(dc_gguf_tensor));
    if (!g->tensors) FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
    for (uint64_t i = 0; i < n_tensors; i++) {
        dc_gguf_tensor *t = &g->tensors[i];
        if (n - o < 8 || dc_load_le64(p + o) > n - o - 8) {
            if (more) FAIL(DC_ERR_TRUNCATED, "tensor infos: name past the end");
            FAIL(DC_ERR_FORMAT, "tensor infos: name length past the end");
        }
        uint64_t len = dc_load_le64(p + o);
        if (len == 0 || len > DC_GGUF_MAX_NAME || !dc_utf8_valid(p + o + 8, (size_t)len) ||
            memchr(p + o + 8, 0, (size_t)len))
            FAIL(DC_ERR_FORMAT, "tensor infos: empty name, name too long, not UTF-8 or with NUL");
        if (!(t->name = dup_bytes(alloc, p + o + 8, (size_t)len)))
            FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
        g->n_tensors = (size_t)i + 1;
        o += 8 + (size_t)len;
        if (n - o < 4) {
            if (more) FAIL(DC_ERR_TRUNCATED, "tensor infos: past the end");
            FAIL(DC_ERR_FORMAT, "tensor infos: past the end");
        }
        t->n_dims = dc_load_le32(p + o);
        o += 4;
        if (t->n_dims > DC_GGUF_MAX_DIMS) FAIL(DC_ERR_FORMAT, "tensor infos: more than 4 dims");
        if (n - o < 8 * (size_t)t->n_dims + 12) {
            if (more) FAIL(DC_ERR_TRUNCATED, "tensor infos: past the end");
            FAIL(DC_ERR_FORMAT, "tensor infos: past the end");
        }
        t->numel = 1;
        int overflow = 0;
        for (unsigned d = 0; d < DC_GGUF_MAX_DIMS; d++) {
            t->ne[d] = d < t->n_dims ? dc_load_le64(p + o + 8 * d) : 1;
            if (t->ne[d] > (uint64_t)INT64_MAX) overflow = 1;
            if (t->ne[d] != 0 && t->numel > (uint64_t)INT64_MAX / t->ne[d])
                overflow = 1;
            else
                t->numel *= t->ne[d];
        }
        o += 8 * (size_t)t->n_dims;
        if (overflow) FAIL(DC_ERR_FORMAT, "tensor infos: dimensions overflow");
        t->type = dc_load_le32(p + o);
        t->offset = dc_load_le64(p + o + 4);
        o += 12;
        uint64_t blck, bsize;
        if (!dc_gguf_type_info(t->type, &blck, &bsize, NULL))
            FAIL(DC_ERR_FORMAT, "tensor infos: unknown tensor type");
        if (t->ne[0] % blck != 0)
            FAIL(DC_ERR_FORMAT, "tensor infos: first dimension not a multiple of the block size");
        uint64_t blocks = t->numel / blck;
        if (blocks > UINT64_MAX / bsize) FAIL(DC_ERR_FORMAT, "tensor infos: size overflows");
        t->nbytes = blocks * bsize;
        if (t->offset % g->alignment != 0)
            FAIL(DC_ERR_FORMAT, "tensor infos: data offset not aligned");
    }
    g->header_size = o;
    uint64_t pad = (g->alignment - o % g->alignment) % g->alignment;
    g->data_offset = o + pad;
    g->data_size = g->data_offset <= file_size ? file_size - g->data_offset : 0;
    int oom;
    if (has_duplicates(alloc, &g->tensors[0].name, g->n_tensors, sizeof(dc_gguf_tensor), &oom))
        FAIL(DC_ERR_FORMAT, "tensor infos: duplicate tensor name");
    if (oom) FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
    if (g->n_tensors) {
        range *r = (range *)dc_malloc(alloc, g->n_tensors * sizeof(range));
        if (!r) FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
        size_t m = 0;
        int outside = 0;
        for (size_t i = 0; i < g->n_tensors; i++) {
            const dc_gguf_tensor *t = &g->tensors[i];
            if (t->offset > g->data_size || t->nbytes > g->data_size - t->offset) outside = 1;
            if (t->nbytes) r[m++] = (range){t->offset, t->offset + t->nbytes};
        }
        qsort(r, m, sizeof(range), cmp_range);
        int overlap = 0;
        for (size_t i = 1; i < m; i++)
            if (r[i].begin < r[i - 1].end) overlap = 1;
        dc_free(alloc, r);
        if (outside) FAIL(DC_ERR_FORMAT, "tensor infos: tensor data outside the file (truncated?)");
        if (overlap) FAIL(DC_ERR_FORMAT, "tensor infos: tensor data ranges overlap");
    }
    *out = g;
    return DC_OK;
fail:
    dc_gguf_free(g);
    return st;
}

dc_status dc_gguf_parse_kv(const dc_alloc *alloc, const void *data, size_t n, uint64_t n_kv,
                           dc_gguf **out, const char **detail) {
    *out = NULL;
    dc_gguf *g = (dc_gguf *)dc_calloc(alloc, 1, sizeof(*g));
    if (!g) return DC_ERR_OUT_OF_MEMORY;
    g->alloc = *alloc;
    g->version = 3;
    g->alignment = DC_GGUF_ALIGNMENT;
    size_t o = 0;
    dc_status st = parse_kv(g, (const uint8_t *)data, n, &o, n_kv, 0, detail);
    if (st == DC_OK && o != n) {
        st = DC_ERR_FORMAT;
        if (detail) *detail = "key/values: bytes left after the last record";
    }
    if (st != DC_OK) {
        dc_gguf_free(g);
        return st;
    }
    *out = g;
    return DC_OK;
}

const dc_gguf_kv *dc_gguf_find(const dc_gguf *g, const char *key) {
    for (size_t i = 0; i < g->n_kv; i++)
        if (strcmp(g->kv[i].key, key) == 0) return &g->kv[i];
    return NULL;
}

const dc_gguf_tensor *dc_gguf_find_tensor(const dc_gguf *g, const char *name) {
    for (size_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0) return &g->tensors[i];
    return NULL;
}

/* ========================================================================== */
/*                                File reading                                */
/* ========================================================================== */

dc_status dc_gguf_open(const dc_alloc *alloc, const char *path, dc_gguf **out,
                       const char **detail) {
    *out = NULL;
    int fd = dc_os_open_read(path);
    if (fd < 0) {
        if (detail) *detail = "cannot open the file";
        return DC_ERR_IO;
    }
    uint64_t file_size;
    if (dc_os_file_size(fd, &file_size) != 0) {
        int e = errno;
        dc_os_close(fd);
        errno = e;
        if (detail) *detail = "not a regular file";
        return DC_ERR_IO;
    }
    /* read a growing prefix until the header fits */
    size_t want = file_size < (1u << 20) ? (size_t)file_size : (1u << 20);
    uint8_t *buf = NULL;
    dc_status st;
    for (;;) {
        uint8_t *nb = (uint8_t *)dc_malloc(alloc, want ? want : 1);
        if (!nb) {
            st = DC_ERR_OUT_OF_MEMORY;
            if (detail) *detail = "out of memory";
            break;
        }
        dc_free(alloc, buf);
        buf = nb;
        size_t got;
        if (dc_os_pread(fd, buf, want, 0, &got) != 0) {
            st = DC_ERR_IO;
            if (detail) *detail = "cannot read the file";
            break;
        }
        if (got < want) file_size = got; /* it shrank: parse what is there */
        st = dc_gguf_parse(alloc, buf, got, file_size, out, detail);
        if (st != DC_ERR_TRUNCATED || got >= file_size) break;
        if (got >= DC_GGUF_MAX_HEADER) {
            st = DC_ERR_FORMAT;
            if (detail) *detail = "header: larger than 1 GiB";
            break;
        }
        uint64_t next = (uint64_t)want * 4;
        if (next > file_size) next = file_size;
        if (next > DC_GGUF_MAX_HEADER) next = DC_GGUF_MAX_HEADER;
        want = (size_t)next;
    }
    int e = errno;
    dc_free(alloc, buf);
    dc_os_close(fd);
    errno = e;
    return st;
}

/* ========================================================================== */
/*                                   Writing                                  */
/* ========================================================================== */

void dc_gguf_buf_put(dc_gguf_buf *b, const void *data, size_t n) {
    if (b->oom) return;
    if (n > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return;
    }
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n)
            nc *= 2;
        uint8_t *np = (uint8_t *)dc_malloc(b->alloc, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        if (b->len) memcpy(np, b->p, b->len);
        dc_free(b->alloc, b->p);
        b->p = np;
        b->cap = nc;
    }
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
}

void dc_gguf_buf_u32(dc_gguf_buf *b, uint32_t v) {
    uint8_t t[4];
    dc_store_le32(t, v);
    dc_gguf_buf_put(b, t, 4);
}

void dc_gguf_buf_u64(dc_gguf_buf *b, uint64_t v) {
    uint8_t t[8];
    dc_store_le64(t, v);
    dc_gguf_buf_put(b, t, 8);
}

void dc_gguf_buf_str(dc_gguf_buf *b, const char *s, size_t len) {
    dc_gguf_buf_u64(b, len);
    dc_gguf_buf_put(b, s, len);
}

void dc_gguf_buf_free(dc_gguf_buf *b) {
    dc_free(b->alloc, b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static void put_key(dc_gguf_buf *b, const char *key, uint32_t type) {
    dc_gguf_buf_str(b, key, strlen(key));
    dc_gguf_buf_u32(b, type);
    b->n_kv++;
}

void dc_gguf_put_kv_u32(dc_gguf_buf *b, const char *key, uint32_t v) {
    put_key(b, key, DC_GGUF_U32);
    dc_gguf_buf_u32(b, v);
}

void dc_gguf_put_kv_i32(dc_gguf_buf *b, const char *key, int32_t v) {
    put_key(b, key, DC_GGUF_I32);
    dc_gguf_buf_u32(b, (uint32_t)v);
}

void dc_gguf_put_kv_f32(dc_gguf_buf *b, const char *key, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    put_key(b, key, DC_GGUF_F32);
    dc_gguf_buf_u32(b, u);
}

void dc_gguf_put_kv_str(dc_gguf_buf *b, const char *key, const char *s) {
    put_key(b, key, DC_GGUF_STRING);
    dc_gguf_buf_str(b, s, strlen(s));
}

void dc_gguf_put_kv_raw(dc_gguf_buf *b, const char *key, uint32_t type, const void *val, size_t n) {
    put_key(b, key, type);
    dc_gguf_buf_put(b, val, n);
}

static const uint8_t kZeros[64];

static int write_pad(FILE *fp, uint64_t *pos, uint64_t alignment) {
    uint64_t pad = (alignment - *pos % alignment) % alignment;
    while (pad > 0) {
        size_t k = pad > sizeof(kZeros) ? sizeof(kZeros) : (size_t)pad;
        if (fwrite(kZeros, 1, k, fp) != k) return 0;
        pad -= k, *pos += k;
    }
    return 1;
}

dc_status dc_gguf_write(const dc_alloc *alloc, const char *path, const void *kv, size_t kv_size,
                        uint64_t n_kv, uint64_t alignment, const dc_gguf_out_tensor *tensors,
                        size_t n_tensors, dc_gguf_load_fn load, void *ctx) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > (1u << 30))
        return DC_ERR_INVALID_ARGUMENT;
    /* the records must parse, and agree with the alignment */
    dc_gguf *chk = NULL;
    if (dc_gguf_parse_kv(alloc, kv, kv_size, n_kv, &chk, NULL) != DC_OK)
        return DC_ERR_INVALID_ARGUMENT;
    const dc_gguf_kv *al = dc_gguf_find(chk, "general.alignment");
    int bad_al = al && (al->type != DC_GGUF_U32 || dc_load_le32(al->val) != alignment);
    dc_gguf_free(chk);
    if (bad_al || (!al && alignment != DC_GGUF_ALIGNMENT)) return DC_ERR_INVALID_ARGUMENT;
    dc_gguf_buf b = {alloc, NULL, 0, 0, 0, 0};
    dc_gguf_buf_u32(&b, DC_GGUF_MAGIC);
    dc_gguf_buf_u32(&b, 3);
    dc_gguf_buf_u64(&b, n_tensors);
    dc_gguf_buf_u64(&b, n_kv);
    dc_gguf_buf_put(&b, kv, kv_size);
    uint64_t off = 0;
    for (size_t i = 0; i < n_tensors; i++) {
        const dc_gguf_out_tensor *t = &tensors[i];
        uint64_t blck, bsize, numel = 1;
        size_t len = strlen(t->name);
        if (!dc_gguf_type_info(t->type, &blck, &bsize, NULL) || t->n_dims > DC_GGUF_MAX_DIMS ||
            len == 0 || len > DC_GGUF_MAX_NAME || !dc_utf8_valid(t->name, len))
            goto bad;
        for (unsigned d = 0; d < t->n_dims; d++) {
            if (t->ne[d] != 0 && numel > UINT64_MAX / t->ne[d]) goto bad;
            numel *= t->ne[d];
        }
        if (t->n_dims && t->ne[0] % blck) goto bad;
        if (numel / blck > UINT64_MAX / bsize || numel / blck * bsize != t->nbytes) goto bad;
        for (size_t k = 0; k < i; k++)
            if (strcmp(tensors[k].name, t->name) == 0) goto bad;
        dc_gguf_buf_str(&b, t->name, len);
        dc_gguf_buf_u32(&b, t->n_dims);
        for (unsigned d = 0; d < t->n_dims; d++)
            dc_gguf_buf_u64(&b, t->ne[d]);
        dc_gguf_buf_u32(&b, t->type);
        dc_gguf_buf_u64(&b, off);
        if (t->nbytes > UINT64_MAX - off - alignment) goto bad;
        off += t->nbytes;
        off += (alignment - off % alignment) % alignment;
    }
    if (b.oom) {
        dc_gguf_buf_free(&b);
        return DC_ERR_OUT_OF_MEMORY;
    }
    char *tmp = NULL;
    int slot = -1, direct = 0;
    int fd = dc_tmp_create(alloc, path, &tmp, &slot, &direct);
    FILE *fp = fd >= 0 ? dc_os_fdopen(fd, "wb") : NULL;
    if (!fp) {
        int e = errno;
        if (fd >= 0) dc_os_close(fd), dc_tmp_release(alloc, tmp, slot, 1);
        dc_gguf_buf_free(&b);
        errno = e;
        return DC_ERR_IO;
    }
    uint64_t pos = b.len;
    int ok = fwrite(b.p, 1, b.len, fp) == b.len && write_pad(fp, &pos, alignment);
    dc_gguf_buf_free(&b);
    dc_status lst = DC_OK;
    for (size_t i = 0; ok && i < n_tensors; i++) {
        const void *data = NULL;
        if (tensors[i].nbytes) {
            if ((lst = load(ctx, i, &data)) != DC_OK || !data) {
                if (lst == DC_OK) lst = DC_ERR_INVALID_ARGUMENT;
                ok = 0;
                break;
            }
            ok = fwrite(data, 1, (size_t)tensors[i].nbytes, fp) == tensors[i].nbytes;
            pos += tensors[i].nbytes;
        }
        /* the spec pads between tensors; llama.cpp also pads after the last */
        ok = ok && write_pad(fp, &pos, alignment);
    }
    ok = ok && fflush(fp) == 0 && (direct || dc_os_fsync(fp) == 0);
    int err = ok ? 0 : errno;
    if (fclose(fp) != 0 && ok) ok = 0, err = errno;
    if (ok && !direct && dc_os_rename(tmp, path, 1) != 0) ok = 0, err = errno;
    dc_tmp_release(alloc, tmp, slot, !ok);
    if (!ok && lst == DC_OK) errno = err ? err : EIO;
    return lst != DC_OK ? lst : ok ? DC_OK : DC_ERR_IO;
bad:
    dc_gguf_buf_free(&b);
    return DC_ERR_INVALID_ARGUMENT;
}

/* ========================================================================== */
/*                                  binary16                                  */
/* ========================================================================== */

float dc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023, u;
    if (exp == 31) {
        u = sign | 0x7F800000u | (man << 13);
    } else if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                man <<= 1;
                e++;
            } while (!(man & 1024));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 1023) << 13);
        }
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t dc_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t exp = (u >> 23) & 255, man = u & 0x7FFFFF;
    if (exp == 255) return (uint16_t)(sign | 0x7C00 | (man ? 0x200 | (man >> 13) : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7C00);
    if (e <= 0) { /* subnormal or zero */
        if (e < -10) return sign;
        man |= 0x800000;
        unsigned shift = (unsigned)(14 - e);
        uint32_t q = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t q = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++; /* may carry into the exponent: ok */
    return (uint16_t)(sign | q);
}

/* ========================================================================== */
/*                          The .dcz key/value section                        */
/* ========================================================================== */

void dc_gguf_section_encode(const dc_gguf *g, dc_gguf_buf *out) {
    dc_gguf_buf_u32(out, DC_KV_SECTION_MAGIC);
    dc_gguf_buf_u32(out, 1);
    dc_gguf_buf_u32(out, g->version);
    dc_gguf_buf_u32(out, (uint32_t)g->alignment);
    dc_gguf_buf_u64(out, g->n_kv);
    dc_gguf_buf_u64(out, g->kv_blob_size);
    dc_gguf_buf_put(out, g->kv_blob, g->kv_blob_size);
    dc_gguf_buf_u64(out, g->n_tensors);
    for (size_t i = 0; i < g->n_tensors; i++) {
        const dc_gguf_tensor *t = &g->tensors[i];
        dc_gguf_buf_str(out, t->name, strlen(t->name));
        dc_gguf_buf_u32(out, t->n_dims);
        for (unsigned d = 0; d < t->n_dims; d++)
            dc_gguf_buf_u64(out, t->ne[d]);
        dc_gguf_buf_u32(out, t->type);
    }
}

dc_status dc_gguf_section_parse(const dc_alloc *alloc, const void *data, size_t n, dc_gguf **out,
                                const char **detail) {
    *out = NULL;
    const uint8_t *p = (const uint8_t *)data;
    dc_status st = DC_ERR_FORMAT;
    dc_gguf *g = NULL;
    if (n < 32 || dc_load_le32(p) != DC_KV_SECTION_MAGIC) {
        if (detail) *detail = "key/value section: bad magic or too short";
        return DC_ERR_CORRUPT;
    }
    if (dc_load_le32(p + 4) != 1) {
        if (detail) *detail = "key/value section: unknown section version";
        return DC_ERR_UNSUPPORTED;
    }
    uint32_t version = dc_load_le32(p + 8), alignment = dc_load_le32(p + 12);
    uint64_t n_kv = dc_load_le64(p + 16), kv_size = dc_load_le64(p + 24);
    if (kv_size > n - 32 || alignment == 0 || (alignment & (alignment - 1)) != 0) {
        if (detail) *detail = "key/value section: bad size or alignment";
        return DC_ERR_CORRUPT;
    }
    st = dc_gguf_parse_kv(alloc, p + 32, (size_t)kv_size, n_kv, &g, detail);
    if (st != DC_OK) return st == DC_ERR_OUT_OF_MEMORY ? st : DC_ERR_CORRUPT;
    st = DC_ERR_CORRUPT;
    g->version = version;
    g->alignment = alignment;
    size_t o = 32 + (size_t)kv_size;
    if (n - o < 8) FAIL(DC_ERR_CORRUPT, "key/value section: tensor count missing");
    uint64_t nt = dc_load_le64(p + o);
    o += 8;
    if (nt > (n - o) / 17) FAIL(DC_ERR_CORRUPT, "key/value section: tensor count too large");
    g->tensors = (dc_gguf_tensor *)dc_calloc(alloc, nt ? (size_t)nt : 1, sizeof(dc_gguf_tensor));
    if (!g->tensors) FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
    for (uint64_t i = 0; i < nt; i++) {
        dc_gguf_tensor *t = &g->tensors[i];
        if (n - o < 8 || dc_load_le64(p + o) > n - o - 8)
            FAIL(DC_ERR_CORRUPT, "key/value section: tensor name past the end");
        uint64_t len = dc_load_le64(p + o);
        if (len == 0 || len > DC_GGUF_MAX_NAME || !dc_utf8_valid(p + o + 8, (size_t)len) ||
            memchr(p + o + 8, 0, (size_t)len))
            FAIL(DC_ERR_CORRUPT, "key/value section: bad tensor name");
        if (!(t->name = dup_bytes(alloc, p + o + 8, (size_t)len)))
            FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
        g->n_tensors = (size_t)i + 1;
        o += 8 + (size_t)len;
        if (n - o < 4) FAIL(DC_ERR_CORRUPT, "key/value section: tensor record past the end");
        t->n_dims = dc_load_le32(p + o);
        o += 4;
        if (t->n_dims > DC_GGUF_MAX_DIMS || n - o < 8 * (size_t)t->n_dims + 4)
            FAIL(DC_ERR_CORRUPT, "key/value section: bad tensor dimensions");
        t->numel = 1;
        for (unsigned d = 0; d < DC_GGUF_MAX_DIMS; d++) {
            t->ne[d] = d < t->n_dims ? dc_load_le64(p + o + 8 * d) : 1;
            if (t->ne[d] != 0 && t->numel > (uint64_t)INT64_MAX / t->ne[d])
                FAIL(DC_ERR_CORRUPT, "key/value section: tensor dimensions overflow");
            t->numel *= t->ne[d];
        }
        o += 8 * (size_t)t->n_dims;
        t->type = dc_load_le32(p + o);
        o += 4;
        uint64_t blck, bsize;
        if (!dc_gguf_type_info(t->type, &blck, &bsize, NULL) || t->ne[0] % blck ||
            t->numel / blck > UINT64_MAX / bsize)
            FAIL(DC_ERR_CORRUPT, "key/value section: bad tensor type");
        t->nbytes = t->numel / blck * bsize;
    }
    if (o != n) FAIL(DC_ERR_CORRUPT, "key/value section: bytes after the last record");
    int oom;
    if (has_duplicates(alloc, &g->tensors[0].name, g->n_tensors, sizeof(dc_gguf_tensor), &oom))
        FAIL(DC_ERR_CORRUPT, "key/value section: duplicate tensor name");
    if (oom) FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
    *out = g;
    return DC_OK;
fail:
    dc_gguf_free(g);
    return st;
}
