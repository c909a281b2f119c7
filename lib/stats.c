/*
 * stats.c -- element types, calibration statistics and their safetensors file.
 */
#include "internal.h"
#include "safetensors.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ========================================================================== */
/*                               Element types                                */
/* ========================================================================== */

size_t dc_dtype_size(dc_dtype dtype) {
    switch (dtype) {
    case DC_DTYPE_F32:
        return 4;
    case DC_DTYPE_F16:
        return 2;
    case DC_DTYPE_BF16:
        return 2;
    case DC_DTYPE_I8:
        return 1;
    }
    return 0;
}

const char *dc_dtype_name(dc_dtype dtype) {
    switch (dtype) {
    case DC_DTYPE_F32:
        return "f32";
    case DC_DTYPE_F16:
        return "f16";
    case DC_DTYPE_BF16:
        return "bf16";
    case DC_DTYPE_I8:
        return "i8";
    }
    return "unknown";
}

static float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t mant = h & 0x3FFu;
    if (exp == 0) {
        /* zero or subnormal: mant * 2^-24, exact in f32 */
        float v = (float)mant * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    if (exp == 31) return f32_from_bits(sign | 0x7F800000u | (mant << 13));
    return f32_from_bits(sign | ((exp + 112u) << 23) | (mant << 13));
}

static float bf16_to_f32(uint16_t h) {
    return f32_from_bits((uint32_t)h << 16);
}

/* Converts n elements of a known float dtype (no validation of dtype). */
static void convert_row(float *dst, const void *src, dc_dtype dtype, size_t n) {
    switch (dtype) {
    case DC_DTYPE_F32:
        memcpy(dst, src, n * sizeof(float));
        break;
    case DC_DTYPE_F16: {
        const uint16_t *s = (const uint16_t *)src;
        for (size_t i = 0; i < n; i++)
            dst[i] = f16_to_f32(s[i]);
        break;
    }
    case DC_DTYPE_BF16: {
        const uint16_t *s = (const uint16_t *)src;
        for (size_t i = 0; i < n; i++)
            dst[i] = bf16_to_f32(s[i]);
        break;
    }
    case DC_DTYPE_I8: {
        const int8_t *s = (const int8_t *)src;
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)s[i];
        break;
    }
    }
}

dc_status dc_convert_to_f32(float *dst, const void *src, dc_dtype src_dtype, size_t n) {
    if (dc_dtype_size(src_dtype) == 0) return DC_ERR_INVALID_ARGUMENT;
    if (n == 0) return DC_OK;
    if (!dst || !src) return DC_ERR_INVALID_ARGUMENT;
    convert_row(dst, src, src_dtype, n);
    return DC_OK;
}

/* ========================================================================== */
/*                           Calibration statistics                           */
/* ========================================================================== */

struct dc_stats {
    dc_alloc alloc;
    size_t n;
    uint64_t tokens;
    float *amax;
    double *sumsq;
};

static dc_status stats_alloc(const dc_alloc *a, size_t n, dc_stats **out) {
    if (n == 0 || n > SIZE_MAX / sizeof(double) / 2) return DC_ERR_DIMENSION;
    dc_stats *s = (dc_stats *)dc_calloc(a, 1, sizeof(*s));
    if (!s) return DC_ERR_OUT_OF_MEMORY;
    s->alloc = *a;
    s->n = n;
    s->amax = (float *)dc_calloc(a, n, sizeof(float));
    s->sumsq = (double *)dc_calloc(a, n, sizeof(double));
    if (!s->amax || !s->sumsq) {
        dc_stats_free(s);
        return DC_ERR_OUT_OF_MEMORY;
    }
    *out = s;
    return DC_OK;
}

static dc_status stats_resolve_options(const dc_stats_options *options, dc_alloc *a) {
    dc_stats_options o;
    dc_status st = dc_copy_options(&o, sizeof(o), options);
    if (st != DC_OK) return st;
    return dc_alloc_init(a, o.allocator);
}

dc_status dc_stats_create(size_t in_features, const dc_stats_options *options, dc_stats **out) {
    if (!out) return DC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    dc_alloc a;
    dc_status st = stats_resolve_options(options, &a);
    if (st != DC_OK) return st;
    return stats_alloc(&a, in_features, out);
}

void dc_stats_free(dc_stats *stats) {
    if (!stats) return;
    dc_alloc a = stats->alloc;
    dc_free(&a, stats->amax);
    dc_free(&a, stats->sumsq);
    dc_free(&a, stats);
}

void dc_stats_reset(dc_stats *stats) {
    if (!stats) return;
    memset(stats->amax, 0, stats->n * sizeof(float));
    memset(stats->sumsq, 0, stats->n * sizeof(double));
    stats->tokens = 0;
}

size_t dc_stats_in_features(const dc_stats *stats) {
    return stats ? stats->n : 0;
}

uint64_t dc_stats_tokens(const dc_stats *stats) {
    return stats ? stats->tokens : 0;
}

/* Raw finiteness checks, without converting. */
static int row_finite(const void *row, dc_dtype dtype, size_t n) {
    switch (dtype) {
    case DC_DTYPE_F32:
        return dc_all_finite_f32(row, n);
    case DC_DTYPE_F16: {
        const uint16_t *p = (const uint16_t *)row;
        unsigned bad = 0;
        for (size_t i = 0; i < n; i++)
            bad |= (unsigned)((p[i] & 0x7C00u) == 0x7C00u);
        return !bad;
    }
    case DC_DTYPE_BF16: {
        const uint16_t *p = (const uint16_t *)row;
        unsigned bad = 0;
        for (size_t i = 0; i < n; i++)
            bad |= (unsigned)((p[i] & 0x7F80u) == 0x7F80u);
        return !bad;
    }
    case DC_DTYPE_I8:
        return 1;
    }
    return 0;
}

#define STATS_BLOCK 512

dc_status dc_stats_observe(dc_stats *stats, const void *x, dc_dtype dtype, size_t rows,
                           size_t row_stride) {
    if (!stats) return DC_ERR_INVALID_ARGUMENT;
    size_t es = dc_dtype_size(dtype);
    if (es == 0) return DC_ERR_INVALID_ARGUMENT;
    if (dtype == DC_DTYPE_I8) return DC_ERR_UNSUPPORTED;
    size_t n = stats->n;
    if (row_stride == 0) row_stride = n;
    if (row_stride < n) return DC_ERR_DIMENSION;
    if (rows == 0) return DC_OK;
    if (!x) return DC_ERR_INVALID_ARGUMENT;
    if (row_stride > SIZE_MAX / es / rows) return DC_ERR_DIMENSION;
    const unsigned char *base = (const unsigned char *)x;
    size_t row_bytes = row_stride * es;
    for (size_t t = 0; t < rows; t++)
        if (!row_finite(base + t * row_bytes, dtype, n)) return DC_ERR_NOT_FINITE;
    float buf[STATS_BLOCK];
    for (size_t t = 0; t < rows; t++) {
        const unsigned char *row = base + t * row_bytes;
        for (size_t j0 = 0; j0 < n; j0 += STATS_BLOCK) {
            size_t m = n - j0 < STATS_BLOCK ? n - j0 : STATS_BLOCK;
            convert_row(buf, row + j0 * es, dtype, m);
            float *am = stats->amax + j0;
            double *ss = stats->sumsq + j0;
            for (size_t j = 0; j < m; j++) {
                float v = buf[j];
                float av = fabsf(v);
                am[j] = av > am[j] ? av : am[j];
                ss[j] += (double)v * (double)v;
            }
        }
    }
    stats->tokens += rows;
    return DC_OK;
}

dc_status dc_stats_merge(dc_stats *dst, const dc_stats *src) {
    if (!dst || !src) return DC_ERR_INVALID_ARGUMENT;
    if (dst->n != src->n) return DC_ERR_DIMENSION;
    for (size_t j = 0; j < dst->n; j++) {
        if (src->amax[j] > dst->amax[j]) dst->amax[j] = src->amax[j];
        dst->sumsq[j] += src->sumsq[j];
    }
    dst->tokens += src->tokens;
    return DC_OK;
}

dc_status dc_stats_get_amax(const dc_stats *stats, float *out, size_t n) {
    if (!stats || !out) return DC_ERR_INVALID_ARGUMENT;
    if (n != stats->n) return DC_ERR_DIMENSION;
    memcpy(out, stats->amax, n * sizeof(float));
    return DC_OK;
}

dc_status dc_stats_get_l2norm(const dc_stats *stats, float *out, size_t n) {
    if (!stats || !out) return DC_ERR_INVALID_ARGUMENT;
    if (n != stats->n) return DC_ERR_DIMENSION;
    for (size_t j = 0; j < n; j++)
        out[j] = (float)sqrt(stats->sumsq[j]);
    return DC_OK;
}

dc_status dc_stats_get_sumsq(const dc_stats *stats, double *out, size_t n) {
    if (!stats || !out) return DC_ERR_INVALID_ARGUMENT;
    if (n != stats->n) return DC_ERR_DIMENSION;
    memcpy(out, stats->sumsq, n * sizeof(double));
    return DC_OK;
}

dc_status dc_stats_set(dc_stats *stats, const float *amax, const double *sumsq, size_t n,
                       uint64_t tokens) {
    if (!stats || !amax) return DC_ERR_INVALID_ARGUMENT;
    if (n != stats->n) return DC_ERR_DIMENSION;
    for (size_t j = 0; j < n; j++) {
        if (!isfinite(amax[j]) || (sumsq && !isfinite(sumsq[j]))) return DC_ERR_NOT_FINITE;
        if (amax[j] < 0 || (sumsq && sumsq[j] < 0)) return DC_ERR_RANGE;
    }
    for (size_t j = 0; j < n; j++) {
        stats->amax[j] = amax[j] + 0.0f; /* -0 -> +0 */
        stats->sumsq[j] = sumsq ? sumsq[j] + 0.0 : 0.0;
    }
    stats->tokens = tokens;
    return DC_OK;
}

/* ========================================================================== */
/*                               Statistics file                              */
/* ========================================================================== */

#define STATS_FORMAT_TAG "doublecomp.stats"
#define STATS_VERSION    "1"
#define STATS_NAME_MAX   255

static int valid_layer_name(const char *name) {
    size_t len = 0;
    for (const char *p = name; *p; p++, len++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7E || len >= STATS_NAME_MAX) return 0;
    return len > 0 && strcmp(name, "__metadata__") != 0;
}

static char *concat(const dc_alloc *a, const char *x, const char *y) {
    size_t lx = strlen(x), ly = strlen(y);
    char *s = (char *)dc_malloc(a, lx + ly + 1);
    if (!s) return NULL;
    memcpy(s, x, lx);
    memcpy(s + lx, y, ly + 1);
    return s;
}

static void u64_to_dec(uint64_t v, char out[24]) {
    char tmp[24];
    size_t i = 0;
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t k = 0; k < i; k++)
        out[k] = tmp[i - 1 - k];
    out[i] = '\0';
}

static int dec_to_u64(const char *s, uint64_t *v) {
    if (!*s) return 0;
    uint64_t x = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        uint64_t d = (uint64_t)(*s - '0');
        if (x > (UINT64_MAX - d) / 10) return 0;
        x = x * 10 + d;
    }
    *v = x;
    return 1;
}

static int cmp_str_ptr(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* 1 if two of names[0..n) are equal (sorting a copy: O(n log n)), 0 if not,
 * -1 if out of memory. */
static int has_duplicate(const dc_alloc *a, const char *const *names, size_t n) {
    const char **s = (const char **)dc_malloc(a, n * sizeof(char *));
    if (!s) return -1;
    memcpy(s, names, n * sizeof(char *));
    qsort(s, n, sizeof(char *), cmp_str_ptr);
    int dup = 0;
    for (size_t i = 1; i < n && !dup; i++)
        dup = strcmp(s[i - 1], s[i]) == 0;
    dc_free(a, s);
    return dup;
}

dc_status dc_stats_save(const char *path, const char *const *names, const dc_stats *const *stats,
                        size_t n_layers) {
    if (!path || !names || !stats || n_layers == 0) return DC_ERR_INVALID_ARGUMENT;
    if (n_layers > SIZE_MAX / 8 / sizeof(char *)) return DC_ERR_INVALID_ARGUMENT;
    for (size_t l = 0; l < n_layers; l++)
        if (!names[l] || !stats[l] || !valid_layer_name(names[l])) return DC_ERR_INVALID_ARGUMENT;
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    int dup = has_duplicate(&a, names, n_layers);
    if (dup) return dup < 0 ? DC_ERR_OUT_OF_MEMORY : DC_ERR_INVALID_ARGUMENT;
    dc_status st = DC_ERR_OUT_OF_MEMORY;
    size_t n_str = 3 * n_layers;  /* tensor names (2) + token key per layer */
    size_t n_meta = 2 + n_layers; /* format, version, tokens */
    char **strs = (char **)dc_calloc(&a, n_str, sizeof(char *));
    char(*tok)[24] = (char(*)[24])dc_calloc(&a, n_layers, 24);
    unsigned char **data = (unsigned char **)dc_calloc(&a, 2 * n_layers, sizeof(*data));
    uint64_t *shapes = (uint64_t *)dc_calloc(&a, n_layers, sizeof(uint64_t));
    dc_st_out_tensor *ts = (dc_st_out_tensor *)dc_calloc(&a, 2 * n_layers, sizeof(*ts));
    const char **meta = (const char **)dc_calloc(&a, 2 * n_meta, sizeof(char *));
    if (!strs || !tok || !data || !shapes || !ts || !meta) goto done;
    meta[0] = "format";
    meta[1] = STATS_FORMAT_TAG;
    meta[2] = "version";
    meta[3] = STATS_VERSION;
    for (size_t l = 0; l < n_layers; l++) {
        const dc_stats *s = stats[l];
        size_t n = s->n;
        strs[3 * l] = concat(&a, names[l], ".amax");
        strs[3 * l + 1] = concat(&a, names[l], ".sumsq");
        strs[3 * l + 2] = concat(&a, names[l], ".tokens");
        data[2 * l] = (unsigned char *)dc_malloc(&a, n * 4);
        data[2 * l + 1] = (unsigned char *)dc_malloc(&a, n * 4);
        if (!strs[3 * l] || !strs[3 * l + 1] || !strs[3 * l + 2] || !data[2 * l] ||
            !data[2 * l + 1])
            goto done;
        for (size_t j = 0; j < n; j++) {
            uint32_t u;
            float v = s->amax[j];
            memcpy(&u, &v, 4);
            dc_store_le32(data[2 * l] + 4 * j, u);
            double d = s->sumsq[j];
            v = d > 3.4028234663852886e38 ? 3.4028234663852886e38f : (float)d;
            memcpy(&u, &v, 4);
            dc_store_le32(data[2 * l + 1] + 4 * j, u);
        }
        shapes[l] = n;
        ts[2 * l] = (dc_st_out_tensor){strs[3 * l], DC_ST_F32, 1, &shapes[l], data[2 * l], n * 4};
        ts[2 * l + 1] =
            (dc_st_out_tensor){strs[3 * l + 1], DC_ST_F32, 1, &shapes[l], data[2 * l + 1], n * 4};
        u64_to_dec(s->tokens, tok[l]);
        meta[4 + 2 * l] = strs[3 * l + 2];
        meta[5 + 2 * l] = tok[l];
    }
    st = dc_st_write(&a, path, ts, 2 * n_layers, meta, n_meta);
done:
    if (strs)
        for (size_t i = 0; i < n_str; i++)
            dc_free(&a, strs[i]);
    if (data)
        for (size_t i = 0; i < 2 * n_layers; i++)
            dc_free(&a, data[i]);
    dc_free(&a, strs);
    dc_free(&a, tok);
    dc_free(&a, data);
    dc_free(&a, shapes);
    dc_free(&a, ts);
    dc_free(&a, meta);
    return st;
}

typedef struct stats_layer {
    char *name;
    const dc_st_tensor *amax, *sumsq;
    uint64_t tokens;
} stats_layer;

struct dc_stats_file {
    dc_alloc alloc;
    dc_st_file *st;
    stats_layer *layers;
    size_t n_layers;
    const stats_layer **by_name; /* layers sorted by name: dc_stats_file_get bisects */
};

static int cmp_layer_name(const void *x, const void *y) {
    return strcmp((*(const stats_layer *const *)x)->name, (*(const stats_layer *const *)y)->name);
}

void dc_stats_file_close(dc_stats_file *file) {
    if (!file) return;
    dc_alloc a = file->alloc;
    for (size_t i = 0; i < file->n_layers; i++)
        dc_free(&a, file->layers[i].name);
    dc_free(&a, file->layers);
    dc_free(&a, (void *)file->by_name);
    dc_st_close(file->st);
    dc_free(&a, file);
}

static int is_f32_vector(const dc_st_tensor *t) {
    return t->dtype == DC_ST_F32 && t->ndim == 1 && t->shape[0] >= 1 &&
           t->shape[0] <= SIZE_MAX / 16;
}

dc_status dc_stats_file_open(const char *path, const dc_stats_options *options,
                             dc_stats_file **out) {
    if (!out) return DC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!path) return DC_ERR_INVALID_ARGUMENT;
    dc_alloc a;
    dc_status st = stats_resolve_options(options, &a);
    if (st != DC_OK) return st;
    dc_stats_file *f = (dc_stats_file *)dc_calloc(&a, 1, sizeof(*f));
    if (!f) return DC_ERR_OUT_OF_MEMORY;
    f->alloc = a;
    if ((st = dc_st_open(&a, path, &f->st)) != DC_OK) goto fail;
    const dc_st_header *h = f->st->hdr;
    const char *fmt = dc_st_meta_get(h, "format");
    const char *ver = dc_st_meta_get(h, "version");
    st = DC_ERR_FORMAT;
    if (!fmt || strcmp(fmt, STATS_FORMAT_TAG) != 0 || !ver) goto fail;
    if (strcmp(ver, STATS_VERSION) != 0) {
        st = DC_ERR_UNSUPPORTED;
        goto fail;
    }
    f->layers = (stats_layer *)dc_calloc(&a, h->n_tensors ? h->n_tensors : 1, sizeof(stats_layer));
    if (!f->layers) {
        st = DC_ERR_OUT_OF_MEMORY;
        goto fail;
    }
    for (size_t i = 0; i < h->n_tensors; i++) {
        const dc_st_tensor *t = &h->tensors[i];
        size_t len = strlen(t->name);
        if (len <= 5 || strcmp(t->name + len - 5, ".amax") != 0) continue;
        stats_layer *L = &f->layers[f->n_layers];
        L->name = (char *)dc_malloc(&a, len - 4);
        if (!L->name) {
            st = DC_ERR_OUT_OF_MEMORY;
            goto fail;
        }
        memcpy(L->name, t->name, len - 5);
        L->name[len - 5] = '\0';
        f->n_layers++;
        st = DC_ERR_FORMAT;
        if (!valid_layer_name(L->name)) goto fail;
        char *key_s = concat(&a, L->name, ".sumsq");
        char *key_t = concat(&a, L->name, ".tokens");
        const dc_st_tensor *ts = key_s ? dc_st_find(h, key_s) : NULL;
        const char *tv = key_t ? dc_st_meta_get(h, key_t) : NULL;
        int oom = !key_s || !key_t;
        dc_free(&a, key_s);
        dc_free(&a, key_t);
        if (oom) {
            st = DC_ERR_OUT_OF_MEMORY;
            goto fail;
        }
        if (!ts || !tv || !is_f32_vector(t) || !is_f32_vector(ts) || t->shape[0] != ts->shape[0] ||
            !dec_to_u64(tv, &L->tokens))
            goto fail;
        L->amax = t;
        L->sumsq = ts;
    }
    f->by_name =
        (const stats_layer **)dc_malloc(&a, (f->n_layers ? f->n_layers : 1) * sizeof(*f->by_name));
    if (!f->by_name) {
        st = DC_ERR_OUT_OF_MEMORY;
        goto fail;
    }
    for (size_t i = 0; i < f->n_layers; i++)
        f->by_name[i] = &f->layers[i];
    qsort(f->by_name, f->n_layers, sizeof(*f->by_name), cmp_layer_name);
    *out = f;
    return DC_OK;
fail:;
    int e = errno; /* DC_ERR_IO: the reason, for the caller */
    dc_stats_file_close(f);
    errno = e;
    return st;
}

size_t dc_stats_file_count(const dc_stats_file *file) {
    return file ? file->n_layers : 0;
}

const char *dc_stats_file_name(const dc_stats_file *file, size_t i) {
    if (!file || i >= file->n_layers) return NULL;
    return file->layers[i].name;
}

dc_status dc_stats_file_get(dc_stats_file *file, const char *name, dc_stats **out) {
    if (!out) return DC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!file || !name) return DC_ERR_INVALID_ARGUMENT;
    const stats_layer *L = NULL;
    for (size_t lo = 0, hi = file->n_layers; lo < hi && !L;) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(file->by_name[mid]->name, name);
        if (c == 0)
            L = file->by_name[mid];
        else if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!L) return DC_ERR_INVALID_ARGUMENT;
    size_t n = (size_t)L->amax->shape[0];
    dc_stats *s = NULL;
    dc_status st = stats_alloc(&file->alloc, n, &s);
    if (st != DC_OK) return st;
    unsigned char *buf = (unsigned char *)dc_malloc(&file->alloc, n * 4);
    if (!buf) {
        dc_stats_free(s);
        return DC_ERR_OUT_OF_MEMORY;
    }
    st = dc_st_read(file->st, L->amax, buf, n * 4);
    for (size_t j = 0; st == DC_OK && j < n; j++)
        s->amax[j] = f32_from_bits(dc_load_le32(buf + 4 * j));
    if (st == DC_OK) st = dc_st_read(file->st, L->sumsq, buf, n * 4);
    for (size_t j = 0; st == DC_OK && j < n; j++)
        s->sumsq[j] = (double)f32_from_bits(dc_load_le32(buf + 4 * j));
    dc_free(&file->alloc, buf);
    for (size_t j = 0; st == DC_OK && j < n; j++) {
        if (!isfinite(s->amax[j]) || !isfinite(s->sumsq[j]))
            st = DC_ERR_NOT_FINITE;
        else if (s->amax[j] < 0 || s->sumsq[j] < 0)
            st = DC_ERR_RANGE;
        else {
            s->amax[j] += 0.0f;
            s->sumsq[j] += 0.0;
        }
    }
    if (st != DC_OK) {
        dc_stats_free(s);
        return st;
    }
    s->tokens = L->tokens;
    *out = s;
    return DC_OK;
}

dc_status dc_stats_load(const char *path, const char *name, const dc_stats_options *options,
                        dc_stats **out) {
    if (!out) return DC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    dc_stats_file *f;
    dc_status st = dc_stats_file_open(path, options, &f);
    if (st != DC_OK) return st;
    st = dc_stats_file_get(f, name, out);
    dc_stats_file_close(f);
    return st;
}
