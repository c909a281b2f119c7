/*
 * source.c -- tensor listings of safetensors files and llama2.c checkpoints.
 */
#define _GNU_SOURCE
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../engine/model.h"
#include "gguf.h"
#include "safetensors.h"

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int add(model_source *s, const char *name, dc_dtype dtype, unsigned ndim,
               const uint64_t *dims, uint64_t offset, uint64_t nbytes) {
    if (s->n == s->cap) { /* geometric growth: n tensors cost O(n) copies */
        size_t cap = s->cap ? 2 * s->cap : 64;
        src_tensor *t = realloc(s->t, cap * sizeof(*t));
        if (!t) return 0;
        s->t = t;
        s->cap = cap;
    }
    src_tensor *t = s->t;
    src_tensor *x = &t[s->n];
    memset(x, 0, sizeof(*x));
    x->gguf_type = -1;
    if (!(x->name = xstrdup(name))) return 0;
    x->dtype = dtype;
    x->ndim = ndim;
    memcpy(x->dims, dims, ndim * sizeof(uint64_t));
    x->offset = offset;
    x->nbytes = nbytes;
    s->n++;
    return 1;
}

/* Reason texts naming a tensor (source_open runs on one thread). */
static char g_why[512];

static const char *why_tensor(const char *fmt, const char *name) {
    snprintf(g_why, sizeof(g_why), fmt, name);
    return g_why;
}

/* The value of "key" in the flat JSON object `json` (as dcz extract writes
 * '<name>.quant'): a string's contents or a number's text, into out. */
static int quant_field(const char *json, const char *key, char *out, size_t n) {
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(json, pat);
    if (!p) return 0;
    p += strlen(pat);
    size_t len;
    if (*p == '"') {
        p++;
        len = strcspn(p, "\"");
    } else {
        len = strcspn(p, ",}");
    }
    if (len == 0 || len >= n) return 0;
    memcpy(out, p, len);
    out[len] = '\0';
    return 1;
}

static int parse_u64(const char *s, uint64_t *v) {
    if (*s < '0' || *s > '9') return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end) return 0;
    *v = x;
    return 1;
}

static int parse_float(const char *s, float *v) {
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || *end || end == s || !isfinite(x) || fabs(x) > 3.4e38) return 0;
    *v = (float)x;
    return 1;
}

static int parse_dtype(const char *s, dc_dtype *d) {
    static const char *const names[] = {"F32", "F16", "BF16", "I8"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) return *d = (dc_dtype)i, 1;
    return 0;
}

/* Fills t->q from '<name>.quant' (dcz extract's description). */
static int parse_quant(const char *json, src_quant *q, uint64_t *cols) {
    char v[64];
    uint64_t bits, g;
    if (!dc_json_valid(json, strlen(json)) || !quant_field(json, "bits", v, sizeof(v)) ||
        !parse_u64(v, &bits) || (bits != 8 && bits != 4))
        return 0;
    q->bits = (unsigned)bits;
    if (!quant_field(json, "granularity", v, sizeof(v))) return 0;
    if (strcmp(v, "tensor") == 0)
        q->gran = DC_QUANT_PER_TENSOR;
    else if (strcmp(v, "channel") == 0)
        q->gran = DC_QUANT_PER_CHANNEL;
    else if (strcmp(v, "group") == 0)
        q->gran = DC_QUANT_PER_GROUP;
    else
        return 0;
    if (!quant_field(json, "group_size", v, sizeof(v)) || !parse_u64(v, &g)) return 0;
    if (q->gran == DC_QUANT_PER_GROUP && g == 0) return 0;
    q->group_size = q->gran == DC_QUANT_PER_GROUP ? g : 0;
    q->source_dtype = DC_DTYPE_I8;
    if (quant_field(json, "source_dtype", v, sizeof(v)) && !parse_dtype(v, &q->source_dtype))
        return 0;
    q->alpha = q->sparsity = 0;
    if (quant_field(json, "alpha", v, sizeof(v)) && !parse_float(v, &q->alpha)) return 0;
    if (quant_field(json, "sparsity", v, sizeof(v)) && !parse_float(v, &q->sparsity)) return 0;
    q->prune_method = DC_PRUNE_NONE;
    if (quant_field(json, "prune", v, sizeof(v))) {
        char *end;
        long pm = strtol(v, &end, 10);
        if (*end || pm < DC_PRUNE_NONE || pm > DC_PRUNE_MAGNITUDE) return 0;
        q->prune_method = (int)pm;
    }
    q->quant_flags = 0;
    uint64_t fl;
    if (quant_field(json, "flags", v, sizeof(v)) &&
        (!parse_u64(v, &fl) || fl > (DC_QUANT_FULL_GRID | DC_QUANT_F16_SCALES)))
        return 0;
    else if (quant_field(json, "flags", v, sizeof(v)))
        q->quant_flags = (unsigned)fl;
    *cols = 0;
    if (quant_field(json, "cols", v, sizeof(v)) && !parse_u64(v, cols)) return 0;
    return 1;
}

/* The companion tensor '<base><suffix>', or NULL. */
static const dc_st_tensor *companion(const dc_st_header *h, const char *base, const char *suffix) {
    char name[1024];
    if ((size_t)snprintf(name, sizeof(name), "%s%s", base, suffix) >= sizeof(name)) return NULL;
    return dc_st_find(h, name);
}

/* The '<name>.quant' metadata entry (dcz extract's description), or NULL. */
static const char *quant_meta(const dc_st_header *h, const char *name) {
    char key[1024];
    if ((size_t)snprintf(key, sizeof(key), "%s.quant", name) >= sizeof(key)) return NULL;
    return dc_st_meta_get(h, key);
}

/* 1 if t is '<base>.scales' or '<base>.smooth' of a quantized tensor <base>. */
static int is_companion(const dc_st_header *h, const dc_st_tensor *t) {
    size_t len = strlen(t->name);
    if (len <= 7 || (strcmp(t->name + len - 7, ".scales") && strcmp(t->name + len - 7, ".smooth")))
        return 0;
    char base[1024];
    if (len - 7 >= sizeof(base)) return 0;
    memcpy(base, t->name, len - 7);
    base[len - 7] = '\0';
    const dc_st_tensor *b = dc_st_find(h, base);
    return b && (b->dtype == DC_ST_I8 || (b->dtype == DC_ST_U8 && quant_meta(h, base)));
}

static int f32_vector(const dc_st_tensor *t) {
    return t && t->dtype == DC_ST_F32 && t->ndim == 1;
}

/* Describes a pre-quantized I8/U8 tensor t from its companions; *why on error. */
static dc_status import_quant(const dc_st_file *f, const dc_st_tensor *t, uint64_t *dims,
                              unsigned nd, src_quant *q, const char **why) {
    const dc_st_header *h = f->hdr;
    const char *qjson = quant_meta(h, t->name);
    const dc_st_tensor *sc = companion(h, t->name, ".scales");
    const dc_st_tensor *sm = companion(h, t->name, ".smooth");
    uint64_t rows = 1, cols = dims[nd - 1];
    for (unsigned k = 0; k + 1 < nd; k++)
        rows *= dims[k]; /* no overflow: the file holds rows * cols bytes */
    memset(q, 0, sizeof(*q));
    q->prune_method = DC_PRUNE_NONE;
    if (qjson) {
        uint64_t qcols;
        if (!parse_quant(qjson, q, &qcols)) {
            *why = why_tensor("tensor %s: bad '.quant' description", t->name);
            return DC_ERR_FORMAT;
        }
        if ((q->bits == 8) != (t->dtype == DC_ST_I8)) {
            *why = why_tensor("tensor %s: '.quant' bits do not match its dtype (I8: 8, U8: 4)",
                              t->name);
            return DC_ERR_FORMAT;
        }
        if (q->bits == 4) { /* stored: ceil(cols / 2) bytes per row */
            if (qcols == 0 && sm) qcols = sm->numel;
            if (qcols == 0 || qcols / 2 + (qcols & 1) != cols) {
                *why = why_tensor("tensor %s: 4-bit tensor without a matching column count "
                                  "(\"cols\" in '.quant')",
                                  t->name);
                return DC_ERR_FORMAT;
            }
            cols = dims[nd - 1] = qcols;
        } else if (qcols != 0 && qcols != cols) {
            *why = why_tensor("tensor %s: \"cols\" in '.quant' does not match its shape", t->name);
            return DC_ERR_FORMAT;
        }
    } else if (sc) { /* I8 with scales, no description: the count tells the granularity */
        q->bits = 8;
        q->source_dtype = DC_DTYPE_I8;
        uint64_t n = sc->numel;
        if (n == 1)
            q->gran = DC_QUANT_PER_TENSOR;
        else if (n == rows)
            q->gran = DC_QUANT_PER_CHANNEL;
        else if (rows != 0 && n % rows == 0 && cols != 0 && n / rows <= cols) {
            uint64_t ng = n / rows, g = cols / ng + (cols % ng != 0);
            if (cols / g + (cols % g != 0) != ng) {
                *why = why_tensor("tensor %s: its scale count fits no group size", t->name);
                return DC_ERR_FORMAT;
            }
            q->gran = DC_QUANT_PER_GROUP;
            q->group_size = g;
        } else {
            *why =
                why_tensor("tensor %s: its scale count fits no quantization granularity", t->name);
            return DC_ERR_FORMAT;
        }
    } else {
        return DC_OK; /* plain I8: stored as quantized with scale 1 */
    }
    if (!f32_vector(sc)) {
        *why = why_tensor("tensor %s: no F32 '.scales' vector beside it", t->name);
        return DC_ERR_FORMAT;
    }
    if (sm && (!f32_vector(sm) || sm->numel != cols)) {
        *why = why_tensor("tensor %s: '.smooth' is not an F32 vector of one value per column",
                          t->name);
        return DC_ERR_FORMAT;
    }
    q->scales_offset = f->data_offset + sc->begin;
    q->n_scales = sc->numel;
    if (sm) q->smooth_offset = f->data_offset + sm->begin, q->n_smooth = sm->numel;
    return DC_OK;
}

dc_status source_add_safetensors(const char *path, model_source *s, uint32_t file,
                                 const char **why) {
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_st_file *f;
    dc_status st = dc_st_open(&a, path, &f);
    if (st != DC_OK) {
        *why = st == DC_ERR_IO ? "cannot read the file"
               : st == DC_ERR_TRUNCATED
                   ? "not a valid safetensors file (shorter than its header says)"
                   : "not a valid safetensors file (a JSON header that is malformed or not UTF-8, "
                     "duplicate names, or data ranges outside the file, not matching the shape "
                     "or overlapping)";
        return st;
    }
    s->file_size += f->file_size;
    const char *dm = dc_st_meta_get(f->hdr, "dcz.metadata");
    if (dm && !s->dcz_metadata && !(s->dcz_metadata = xstrdup(dm))) {
        dc_st_close(f);
        *why = "out of memory";
        return DC_ERR_OUT_OF_MEMORY;
    }
    /* the list at its final size at once (no doubling: memory stays a small
     * multiple of the header, however many tensors it lists) */
    if (f->hdr->n_tensors > SIZE_MAX / sizeof(*s->t) - s->n) {
        dc_st_close(f);
        *why = "out of memory";
        return DC_ERR_OUT_OF_MEMORY;
    }
    if (f->hdr->n_tensors) {
        src_tensor *nt = realloc(s->t, (s->n + f->hdr->n_tensors) * sizeof(*s->t));
        if (!nt) {
            dc_st_close(f);
            *why = "out of memory";
            return DC_ERR_OUT_OF_MEMORY;
        }
        s->t = nt;
        s->cap = s->n + f->hdr->n_tensors;
    }
    for (size_t i = 0; i < f->hdr->n_tensors; i++) {
        const dc_st_tensor *t = &f->hdr->tensors[i];
        if (is_companion(f->hdr, t)) continue; /* read with the tensor it belongs to */
        dc_dtype dt;
        switch (t->dtype) {
        case DC_ST_F32:
            dt = DC_DTYPE_F32;
            break;
        case DC_ST_F16:
            dt = DC_DTYPE_F16;
            break;
        case DC_ST_BF16:
            dt = DC_DTYPE_BF16;
            break;
        case DC_ST_I8:
            dt = DC_DTYPE_I8;
            break;
        case DC_ST_U8: /* 4-bit pairs, with a '.quant' description (dcz extract) */
            if (quant_meta(f->hdr, t->name)) {
                dt = DC_DTYPE_I8;
                break;
            }
            /* fall through */
        default:
            *why = why_tensor("tensor %s has an unsupported dtype (F32, F16, BF16 and I8 are "
                              "supported; U8 only as 4-bit weights from dcz extract)",
                              t->name);
            dc_st_close(f);
            return DC_ERR_UNSUPPORTED;
        }
        uint64_t dims[DC_MAX_DIMS] = {1};
        unsigned nd = t->ndim ? (unsigned)t->ndim : 1; /* a scalar is stored as [1] */
        if (t->ndim) memcpy(dims, t->shape, t->ndim * sizeof(uint64_t));
        src_quant q = {0};
        if (dt == DC_DTYPE_I8 && (st = import_quant(f, t, dims, nd, &q, why)) != DC_OK) {
            dc_st_close(f);
            return st;
        }
        /* Zero-element tensors are kept (stored with no chunks). */
        if (!add(s, t->name, dt, nd, dims, f->data_offset + t->begin, t->end - t->begin)) {
            dc_st_close(f);
            *why = "out of memory";
            return DC_ERR_OUT_OF_MEMORY;
        }
        s->t[s->n - 1].file = file;
        q.file = file;
        if (q.bits && !(s->t[s->n - 1].q = malloc(sizeof(q)))) {
            dc_st_close(f);
            *why = "out of memory";
            return DC_ERR_OUT_OF_MEMORY;
        }
        if (q.bits) *s->t[s->n - 1].q = q;
    }
    dc_st_close(f);
    return DC_OK;
}

static dc_status open_llama2c(const char *path, model_source *s, const char **why) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = "cannot open the file";
        return DC_ERR_IO;
    }
    int32_t *h = s->llama2c_header;
    size_t got = fread(h, sizeof(int32_t), 7, f);
    fclose(f);
    el_config c;
    if (got != 7 || el_config_from_header(&c, h) != 0) {
        *why = "not a llama2.c checkpoint (bad header)";
        return DC_ERR_FORMAT;
    }
    /* the header's dimensions against the file size, before allocating */
    struct stat sb;
    if (stat(path, &sb) != 0) {
        *why = "cannot read the file";
        return DC_ERR_IO;
    }
    if ((uint64_t)sb.st_size < 28 + 4 * el_layout_floats(&c)) {
        *why = "file shorter than its llama2.c header says";
        return DC_ERR_TRUNCATED;
    }
    size_t n = el_layout(&c, NULL, 0);
    el_slot *slots = calloc(n, sizeof(el_slot));
    if (!slots) goto oom;
    el_layout(&c, slots, n);
    uint64_t end = 0;
    for (size_t i = 0; i < n; i++) {
        const el_slot *t = &slots[i];
        uint64_t dims[2] = {t->rows, t->cols};
        uint64_t bytes = t->rows * (t->cols ? t->cols : 1) * 4;
        if (!add(s, t->name, DC_DTYPE_F32, t->cols ? 2 : 1, dims, 28 + 4 * (uint64_t)t->offset,
                 bytes)) {
            free(slots);
            goto oom;
        }
        end = 28 + 4 * (uint64_t)t->offset + bytes;
    }
    free(slots);
    if ((uint64_t)sb.st_size < end) {
        *why = "file shorter than its llama2.c header says";
        return DC_ERR_TRUNCATED;
    }
    s->file_size = (uint64_t)sb.st_size;
    s->is_llama2c = 1;
    return DC_OK;
oom:
    *why = "out of memory";
    return DC_ERR_OUT_OF_MEMORY;
}

dc_status source_open(const char *path, model_source *s, const char **why) {
    memset(s, 0, sizeof(*s));
    s->path = xstrdup(path);
    size_t n = strlen(path);
    dc_status st;
    struct stat sb;
    if (source_is_hf(path)) {
        st = source_open_hf(path, s, why);
        if (st != DC_OK) {
            int e = errno;
            source_close(s);
            errno = e;
        }
        return st;
    }
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) { /* a FIFO would block the open */
        *why = "not a regular file";
        source_close(s);
        errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
        return DC_ERR_IO;
    }
    if (n > 12 && strcmp(path + n - 12, ".safetensors") == 0)
        st = source_add_safetensors(path, s, 0, why);
    else if (n > 4 && strcmp(path + n - 4, ".bin") == 0)
        st = open_llama2c(path, s, why);
    else if (n > 5 && strcmp(path + n - 5, ".gguf") == 0)
        st = source_open_gguf(path, s, why);
    else {
        *why = "unknown model type (expected .safetensors, .gguf or a llama2.c .bin)";
        st = DC_ERR_FORMAT;
    }
    if (st != DC_OK) {
        int e = errno; /* DC_ERR_IO: the reason, for the message */
        source_close(s);
        errno = e;
    }
    return st;
}

void source_close(model_source *s) {
    for (size_t i = 0; i < s->n; i++)
        free(s->t[i].name), free(s->t[i].q);
    free(s->t);
    free(s->path);
    free(s->dcz_metadata);
    dc_gguf_free(s->gguf);
    for (size_t i = 0; i < s->n_files; i++)
        free(s->files[i]);
    free(s->files);
    free(s->hf_json);
    free(s->hash_path);
    memset(s, 0, sizeof(*s));
}

dc_status source_read(const model_source *s, size_t i, void *dst) {
    const char *path = s->files ? s->files[s->t[i].file] : s->path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return DC_ERR_IO;
    uint8_t *p = dst;
    uint64_t left = s->t[i].nbytes, off = s->t[i].offset;
    while (left > 0) {
        ssize_t r = pread(fd, p, left > (1u << 30) ? (1u << 30) : (size_t)left, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = errno;
            close(fd);
            errno = e;
            return r == 0 ? DC_ERR_TRUNCATED : DC_ERR_IO; /* 0: the file shrank */
        }
        p += r, off += (uint64_t)r, left -= (uint64_t)r;
    }
    close(fd);
    return DC_OK;
}

dc_status source_read_f32(const model_source *s, uint32_t file, uint64_t offset, uint64_t n,
                          float *dst) {
    src_tensor t = {.offset = offset, .nbytes = 4 * n};
    model_source one = {.path = s->files ? s->files[file] : s->path, .t = &t, .n = 1};
    dc_status st = source_read(&one, 0, dst);
    for (uint64_t k = 0; st == DC_OK && k < n; k++) { /* little-endian in the file */
        uint32_t u = dc_load_le32(&dst[k]);
        memcpy(&dst[k], &u, 4);
    }
    return st;
}

uint64_t source_bytes(const model_source *s) {
    uint64_t b = 0;
    for (size_t i = 0; i < s->n; i++)
        b += s->t[i].nbytes;
    return b;
}
