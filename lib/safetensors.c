/*
 * safetensors.c -- minimal, hostile-input-safe safetensors reader and writer.
 */
#include "safetensors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ========================================================================== */
/*                                   dtypes                                   */
/* ========================================================================== */

static const struct {
    const char *name;
    dc_st_dtype dtype;
    size_t size;
} st_dtypes[] = {
    {"BOOL", DC_ST_BOOL, 1},       {"U8", DC_ST_U8, 1},           {"I8", DC_ST_I8, 1},
    {"F8_E4M3", DC_ST_F8_E4M3, 1}, {"F8_E5M2", DC_ST_F8_E5M2, 1}, {"U16", DC_ST_U16, 2},
    {"I16", DC_ST_I16, 2},         {"F16", DC_ST_F16, 2},         {"BF16", DC_ST_BF16, 2},
    {"U32", DC_ST_U32, 4},         {"I32", DC_ST_I32, 4},         {"F32", DC_ST_F32, 4},
    {"U64", DC_ST_U64, 8},         {"I64", DC_ST_I64, 8},         {"F64", DC_ST_F64, 8},
};
#define ST_NDTYPES (sizeof(st_dtypes) / sizeof(st_dtypes[0]))

size_t dc_st_dtype_size(dc_st_dtype dtype) {
    for (size_t i = 0; i < ST_NDTYPES; i++)
        if (st_dtypes[i].dtype == dtype) return st_dtypes[i].size;
    return 0;
}

const char *dc_st_dtype_string(dc_st_dtype dtype) {
    for (size_t i = 0; i < ST_NDTYPES; i++)
        if (st_dtypes[i].dtype == dtype) return st_dtypes[i].name;
    return "";
}

static dc_st_dtype st_dtype_from_string(const char *s) {
    for (size_t i = 0; i < ST_NDTYPES; i++)
        if (strcmp(st_dtypes[i].name, s) == 0) return st_dtypes[i].dtype;
    return DC_ST_UNKNOWN;
}

/* ========================================================================== */
/*                                 JSON parser                                */
/* ========================================================================== */

typedef struct jp {
    const unsigned char *p, *end;
    const dc_alloc *alloc;
} jp;

static void jp_ws(jp *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* Consumes character c (after whitespace); returns 1 if it was there. */
static int jp_eat(jp *j, unsigned char c) {
    jp_ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return 1;
    }
    return 0;
}

static int jp_hex4(jp *j, uint32_t *v) {
    if (j->end - j->p < 4) return 0;
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = j->p[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return 0;
        x = (x << 4) | d;
    }
    j->p += 4;
    *v = x;
    return 1;
}

/*
 * Parses a JSON string (after whitespace). If out is not NULL, stores a
 * newly allocated, NUL-terminated, unescaped copy in *out (the string must
 * then contain no NUL). Raw bytes >= 0x80 must form valid UTF-8; raw control
 * characters are refused.
 */
static dc_status jp_string(jp *j, char **out) {
    jp_ws(j);
    if (j->p >= j->end || *j->p != '"') return DC_ERR_FORMAT;
    j->p++;
    /* The unescaped string is never longer than its escaped form. */
    const unsigned char *start = j->p;
    size_t cap = (size_t)(j->end - start) + 1;
    char *buf = NULL;
    size_t n = 0;
    if (out) {
        /* Find the closing quote first to size the buffer tightly. */
        const unsigned char *q = start;
        while (q < j->end && *q != '"')
            q += (*q == '\\' && q + 1 < j->end) ? 2 : 1;
        cap = (size_t)(q - start) + 1;
        buf = (char *)dc_malloc(j->alloc, cap);
        if (!buf) return DC_ERR_OUT_OF_MEMORY;
    }
    dc_status st = DC_ERR_FORMAT;
    for (;;) {
        if (j->p >= j->end) goto fail;
        unsigned char c = *j->p++;
        if (c == '"') break;
        if (c < 0x20) goto fail;
        if (c != '\\') {
            if (buf) {
                if (n + 1 >= cap) goto fail;
                buf[n++] = (char)c;
            }
            continue;
        }
        if (j->p >= j->end) goto fail;
        c = *j->p++;
        uint32_t cp;
        switch (c) {
        case '"':
            cp = '"';
            break;
        case '\\':
            cp = '\\';
            break;
        case '/':
            cp = '/';
            break;
        case 'b':
            cp = 8;
            break;
        case 'f':
            cp = 12;
            break;
        case 'n':
            cp = 10;
            break;
        case 'r':
            cp = 13;
            break;
        case 't':
            cp = 9;
            break;
        case 'u':
            if (!jp_hex4(j, &cp)) goto fail;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u') goto fail;
                j->p += 2;
                if (!jp_hex4(j, &lo) || lo < 0xDC00 || lo > 0xDFFF) goto fail;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                goto fail;
            }
            break;
        default:
            goto fail;
        }
        if (!buf) continue;
        if (cp == 0) goto fail; /* names are C strings */
        unsigned char u[4];
        size_t un;
        if (cp < 0x80) {
            u[0] = (unsigned char)cp;
            un = 1;
        } else if (cp < 0x800) {
            u[0] = (unsigned char)(0xC0 | (cp >> 6));
            u[1] = (unsigned char)(0x80 | (cp & 0x3F));
            un = 2;
        } else if (cp < 0x10000) {
            u[0] = (unsigned char)(0xE0 | (cp >> 12));
            u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            u[2] = (unsigned char)(0x80 | (cp & 0x3F));
            un = 3;
        } else {
            u[0] = (unsigned char)(0xF0 | (cp >> 18));
            u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            u[3] = (unsigned char)(0x80 | (cp & 0x3F));
            un = 4;
        }
        if (n + un >= cap) goto fail;
        memcpy(buf + n, u, un);
        n += un;
    }
    /* escapes are ASCII, so the raw text is valid UTF-8 iff the string is */
    if (!dc_utf8_valid(start, (size_t)(j->p - 1 - start))) goto fail;
    if (buf) {
        buf[n] = '\0';
        *out = buf;
    }
    return DC_OK;
fail:
    dc_free(j->alloc, buf);
    return st;
}

/* Parses a non-negative JSON integer without sign, fraction or exponent. */
static int jp_uint(jp *j, uint64_t *v) {
    jp_ws(j);
    if (j->p >= j->end || *j->p < '0' || *j->p > '9') return 0;
    if (*j->p == '0' && j->end - j->p > 1 && j->p[1] >= '0' && j->p[1] <= '9') return 0;
    uint64_t x = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        uint64_t d = (uint64_t)(*j->p - '0');
        if (x > (UINT64_MAX - d) / 10) return 0;
        x = x * 10 + d;
        j->p++;
    }
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E')) return 0;
    *v = x;
    return 1;
}

static int jp_literal(jp *j, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0) return 0;
    j->p += n;
    return 1;
}

static int jp_digits(jp *j) {
    const unsigned char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

/* A JSON number (RFC 8259 grammar): -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int jp_number(jp *j) {
    if (j->p < j->end && *j->p == '-') j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!jp_digits(j))
        return 0;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!jp_digits(j)) return 0;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (!jp_digits(j)) return 0;
    }
    return 1;
}

/* Skips any JSON value, nesting at most DC_ST_MAX_DEPTH deep. */
static dc_status jp_skip(jp *j, int depth) {
    if (depth > DC_ST_MAX_DEPTH) return DC_ERR_FORMAT;
    jp_ws(j);
    if (j->p >= j->end) return DC_ERR_FORMAT;
    unsigned char c = *j->p;
    if (c == '"') return jp_string(j, NULL);
    if (c == '{' || c == '[') {
        unsigned char close = c == '{' ? '}' : ']';
        j->p++;
        if (jp_eat(j, close)) return DC_OK;
        for (;;) {
            dc_status st;
            if (c == '{') {
                if ((st = jp_string(j, NULL)) != DC_OK) return st;
                if (!jp_eat(j, ':')) return DC_ERR_FORMAT;
            }
            if ((st = jp_skip(j, depth + 1)) != DC_OK) return st;
            if (jp_eat(j, ',')) continue;
            if (jp_eat(j, close)) return DC_OK;
            return DC_ERR_FORMAT;
        }
    }
    if (c == 't') return jp_literal(j, "true") ? DC_OK : DC_ERR_FORMAT;
    if (c == 'f') return jp_literal(j, "false") ? DC_OK : DC_ERR_FORMAT;
    if (c == 'n') return jp_literal(j, "null") ? DC_OK : DC_ERR_FORMAT;
    if (c == '-' || (c >= '0' && c <= '9')) return jp_number(j) ? DC_OK : DC_ERR_FORMAT;
    return DC_ERR_FORMAT;
}

int dc_json_valid(const char *text, size_t len) {
    jp j = {(const unsigned char *)text, (const unsigned char *)text + len, NULL};
    if (jp_skip(&j, 0) != DC_OK) return 0;
    jp_ws(&j);
    return j.p == j.end;
}

/* Appends to a growable array of `elem` bytes; *cap and *n in elements. */
static int grow(const dc_alloc *a, void **arr, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return 1;
    size_t nc = *cap ? *cap * 2 : 16;
    if (nc > SIZE_MAX / elem) return 0;
    void *p = dc_malloc(a, nc * elem);
    if (!p) return 0;
    if (*arr) {
        memcpy(p, *arr, n * elem);
        dc_free(a, *arr);
    }
    *arr = p;
    *cap = nc;
    return 1;
}

static dc_status parse_tensor(jp *j, dc_st_tensor *t, uint64_t data_size) {
    if (!jp_eat(j, '{')) return DC_ERR_FORMAT;
    int have_dtype = 0, have_shape = 0, have_offsets = 0;
    if (!jp_eat(j, '}')) {
        for (;;) {
            char *key = NULL;
            dc_status st = jp_string(j, &key);
            if (st != DC_OK) return st;
            if (!jp_eat(j, ':')) {
                dc_free(j->alloc, key);
                return DC_ERR_FORMAT;
            }
            if (strcmp(key, "dtype") == 0) {
                char *v = NULL;
                dc_free(j->alloc, key);
                if (have_dtype) return DC_ERR_FORMAT;
                if ((st = jp_string(j, &v)) != DC_OK) return st;
                size_t len = strlen(v);
                if (len >= sizeof(t->dtype_str)) len = sizeof(t->dtype_str) - 1;
                memcpy(t->dtype_str, v, len);
                t->dtype_str[len] = '\0';
                t->dtype = st_dtype_from_string(v);
                dc_free(j->alloc, v);
                have_dtype = 1;
            } else if (strcmp(key, "shape") == 0) {
                dc_free(j->alloc, key);
                if (have_shape || !jp_eat(j, '[')) return DC_ERR_FORMAT;
                t->ndim = 0;
                if (!jp_eat(j, ']')) {
                    for (;;) {
                        uint64_t d;
                        if (t->ndim >= DC_ST_MAX_DIMS || !jp_uint(j, &d)) return DC_ERR_FORMAT;
                        t->shape[t->ndim++] = d;
                        if (jp_eat(j, ',')) continue;
                        if (jp_eat(j, ']')) break;
                        return DC_ERR_FORMAT;
                    }
                }
                have_shape = 1;
            } else if (strcmp(key, "data_offsets") == 0) {
                dc_free(j->alloc, key);
                if (have_offsets || !jp_eat(j, '[') || !jp_uint(j, &t->begin) || !jp_eat(j, ',') ||
                    !jp_uint(j, &t->end) || !jp_eat(j, ']'))
                    return DC_ERR_FORMAT;
                have_offsets = 1;
            } else {
                dc_free(j->alloc, key);
                if ((st = jp_skip(j, 1)) != DC_OK) return st;
            }
            if (jp_eat(j, ',')) continue;
            if (jp_eat(j, '}')) break;
            return DC_ERR_FORMAT;
        }
    }
    if (!have_dtype || !have_shape || !have_offsets) return DC_ERR_FORMAT;
    if (t->begin > t->end || t->end > data_size) return DC_ERR_FORMAT;
    uint64_t numel = 1;
    for (size_t d = 0; d < t->ndim; d++) {
        if (t->shape[d] != 0 && numel > UINT64_MAX / t->shape[d]) return DC_ERR_FORMAT;
        numel *= t->shape[d];
    }
    t->numel = numel;
    size_t es = dc_st_dtype_size(t->dtype);
    if (es != 0) {
        if (numel > UINT64_MAX / es || numel * es != t->end - t->begin) return DC_ERR_FORMAT;
    }
    return DC_OK;
}

static int cmp_tensor_name(const void *a, const void *b) {
    const dc_st_tensor *const *x = (const dc_st_tensor *const *)a;
    const dc_st_tensor *const *y = (const dc_st_tensor *const *)b;
    return strcmp((*x)->name, (*y)->name);
}

/* By key, then by position in the file (entries of one array). */
static int cmp_meta_key(const void *a, const void *b) {
    const dc_st_meta *x = *(const dc_st_meta *const *)a, *y = *(const dc_st_meta *const *)b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x > y) - (x < y);
}

static int cmp_tensor_begin(const void *a, const void *b) {
    const dc_st_tensor *const *x = (const dc_st_tensor *const *)a;
    const dc_st_tensor *const *y = (const dc_st_tensor *const *)b;
    if ((*x)->begin != (*y)->begin) return (*x)->begin < (*y)->begin ? -1 : 1;
    return (*x)->end < (*y)->end ? -1 : (*x)->end > (*y)->end;
}

void dc_st_header_free(dc_st_header *h) {
    if (!h) return;
    dc_alloc a = h->alloc;
    for (size_t i = 0; i < h->n_tensors; i++)
        dc_free(&a, h->tensors[i].name);
    for (size_t i = 0; i < h->n_meta; i++) {
        dc_free(&a, h->meta[i].key);
        dc_free(&a, h->meta[i].value);
    }
    dc_free(&a, h->tensors);
    dc_free(&a, h->meta);
    dc_free(&a, (void *)h->by_name);
    dc_free(&a, (void *)h->meta_by_key);
    dc_free(&a, h);
}

static dc_status parse_metadata(jp *j, dc_st_header *h, size_t *meta_cap) {
    if (!jp_eat(j, '{')) return DC_ERR_FORMAT;
    if (jp_eat(j, '}')) return DC_OK;
    for (;;) {
        char *key = NULL, *value = NULL;
        dc_status st = jp_string(j, &key);
        if (st != DC_OK) return st;
        if (!jp_eat(j, ':')) {
            dc_free(j->alloc, key);
            return DC_ERR_FORMAT;
        }
        jp_ws(j);
        if (j->p < j->end && *j->p == '"') {
            if ((st = jp_string(j, &value)) != DC_OK) {
                dc_free(j->alloc, key);
                return st;
            }
            if (h->n_meta >= DC_ST_MAX_META) { /* bounds memory: ~100 bytes an entry */
                dc_free(j->alloc, key);
                dc_free(j->alloc, value);
                return DC_ERR_FORMAT;
            }
            if (!grow(j->alloc, (void **)&h->meta, meta_cap, h->n_meta, sizeof(dc_st_meta))) {
                dc_free(j->alloc, key);
                dc_free(j->alloc, value);
                return DC_ERR_OUT_OF_MEMORY;
            }
            h->meta[h->n_meta].key = key;
            h->meta[h->n_meta].value = value;
            h->n_meta++;
        } else {
            /* Not a string (outside the spec): tolerated and ignored. */
            dc_free(j->alloc, key);
            if ((st = jp_skip(j, 1)) != DC_OK) return st;
        }
        if (jp_eat(j, ',')) continue;
        if (jp_eat(j, '}')) return DC_OK;
        return DC_ERR_FORMAT;
    }
}

dc_status dc_st_parse(const dc_alloc *alloc, const void *json, size_t len, uint64_t data_size,
                      dc_st_header **out) {
    *out = NULL;
    dc_st_header *h = (dc_st_header *)dc_calloc(alloc, 1, sizeof(*h));
    if (!h) return DC_ERR_OUT_OF_MEMORY;
    h->alloc = *alloc;
    jp j = {(const unsigned char *)json, (const unsigned char *)json + len, alloc};
    /* A tensor entry takes at least DC_ST_MIN_ENTRY bytes of JSON, so this
     * many slots always suffice: allocated once (pages are only touched as
     * entries fill them), never grown by doubling, which would briefly hold
     * three times the table and make memory a large multiple of the input. */
    size_t tcap = len / DC_ST_MIN_ENTRY + 1, mcap = 0;
    if (tcap > SIZE_MAX / sizeof(dc_st_tensor) ||
        !(h->tensors = (dc_st_tensor *)dc_malloc(alloc, tcap * sizeof(dc_st_tensor)))) {
        dc_st_header_free(h);
        return DC_ERR_OUT_OF_MEMORY;
    }
    int have_meta = 0;
    dc_status st = DC_ERR_FORMAT;
    if (!jp_eat(&j, '{')) goto fail;
    if (!jp_eat(&j, '}')) {
        for (;;) {
            char *name = NULL;
            if ((st = jp_string(&j, &name)) != DC_OK) goto fail;
            if (!jp_eat(&j, ':')) {
                dc_free(alloc, name);
                st = DC_ERR_FORMAT;
                goto fail;
            }
            if (strcmp(name, "__metadata__") == 0) {
                dc_free(alloc, name);
                if (have_meta) {
                    st = DC_ERR_FORMAT;
                    goto fail;
                }
                have_meta = 1;
                if ((st = parse_metadata(&j, h, &mcap)) != DC_OK) goto fail;
            } else {
                if (!grow(alloc, (void **)&h->tensors, &tcap, h->n_tensors, sizeof(dc_st_tensor))) {
                    dc_free(alloc, name);
                    st = DC_ERR_OUT_OF_MEMORY;
                    goto fail;
                }
                dc_st_tensor *t = &h->tensors[h->n_tensors++];
                memset(t, 0, sizeof(*t));
                t->name = name;
                if ((st = parse_tensor(&j, t, data_size)) != DC_OK) goto fail;
            }
            if (jp_eat(&j, ',')) continue;
            if (jp_eat(&j, '}')) break;
            st = DC_ERR_FORMAT;
            goto fail;
        }
    }
    /* Only padding may follow: spaces (the spec) or NULs (some writers). */
    while (j.p < j.end &&
           (*j.p == ' ' || *j.p == '\0' || *j.p == '\n' || *j.p == '\t' || *j.p == '\r'))
        j.p++;
    if (j.p != j.end) {
        st = DC_ERR_FORMAT;
        goto fail;
    }
    /* Sorted indexes; duplicate tensor names (neighbours once sorted) and
     * overlapping data ranges are refused. */
    if (h->n_tensors > SIZE_MAX / sizeof(dc_st_tensor *) ||
        h->n_meta > SIZE_MAX / sizeof(dc_st_meta *)) {
        st = DC_ERR_OUT_OF_MEMORY;
        goto fail;
    }
    const dc_st_tensor **idx = (const dc_st_tensor **)dc_malloc(
        alloc, (h->n_tensors ? h->n_tensors : 1) * sizeof(dc_st_tensor *));
    const dc_st_meta **midx =
        (const dc_st_meta **)dc_malloc(alloc, (h->n_meta ? h->n_meta : 1) * sizeof(dc_st_meta *));
    h->by_name = idx;
    h->meta_by_key = midx;
    if (!idx || !midx) {
        st = DC_ERR_OUT_OF_MEMORY;
        goto fail;
    }
    for (size_t i = 0; i < h->n_tensors; i++)
        idx[i] = &h->tensors[i];
    /* Overlapping data ranges (two tensors sharing bytes): sorted by start,
     * each non-empty range must end before the next non-empty one begins.
     * The index is sorted by start first, then by name for good (no second
     * array: memory stays a small multiple of the header). */
    qsort(idx, h->n_tensors, sizeof(*idx), cmp_tensor_begin);
    uint64_t prev_end = 0;
    for (size_t i = 0; i < h->n_tensors; i++) {
        if (idx[i]->begin == idx[i]->end) continue;
        if (idx[i]->begin < prev_end) {
            st = DC_ERR_FORMAT;
            goto fail;
        }
        prev_end = idx[i]->end;
    }
    qsort(idx, h->n_tensors, sizeof(*idx), cmp_tensor_name);
    for (size_t i = 1; i < h->n_tensors; i++)
        if (strcmp(idx[i - 1]->name, idx[i]->name) == 0) {
            st = DC_ERR_FORMAT;
            goto fail;
        }
    for (size_t i = 0; i < h->n_meta; i++)
        midx[i] = &h->meta[i];
    qsort(midx, h->n_meta, sizeof(*midx), cmp_meta_key);
    *out = h;
    return DC_OK;
fail:
    dc_st_header_free(h);
    return st;
}

const dc_st_tensor *dc_st_find(const dc_st_header *h, const char *name) {
    size_t lo = 0, hi = h->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(h->by_name[mid]->name, name);
        if (c == 0) return h->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *dc_st_meta_get(const dc_st_header *h, const char *key) {
    /* The last occurrence wins, as in a JSON object read into a map: the
     * first entry past every entry with a key <= `key`, minus one. */
    size_t lo = 0, hi = h->n_meta;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(h->meta_by_key[mid]->key, key) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || strcmp(h->meta_by_key[lo - 1]->key, key) != 0) return NULL;
    return h->meta_by_key[lo - 1]->value;
}

/* ========================================================================== */
/*                                File reading                                */
/* ========================================================================== */

void dc_st_close(dc_st_file *f) {
    if (!f) return;
    dc_alloc a = f->alloc;
    if (f->fd >= 0) dc_os_close(f->fd);
    dc_st_header_free(f->hdr);
    dc_free(&a, f);
}

dc_status dc_st_open(const dc_alloc *alloc, const char *path, dc_st_file **out) {
    *out = NULL;
    dc_st_file *f = (dc_st_file *)dc_calloc(alloc, 1, sizeof(*f));
    if (!f) return DC_ERR_OUT_OF_MEMORY;
    f->alloc = *alloc;
    dc_status st = DC_ERR_IO;
    unsigned char *json = NULL;
    size_t got;
    /* a FIFO does not block the open; only regular files are read */
    f->fd = dc_os_open_read(path);
    if (f->fd < 0 || dc_os_file_size(f->fd, &f->file_size) != 0) goto fail;
    unsigned char lenbuf[8];
    if (f->file_size < 8) {
        st = DC_ERR_TRUNCATED;
        goto fail;
    }
    if (dc_os_pread(f->fd, lenbuf, 8, 0, &got) != 0 || got != 8) goto fail;
    uint64_t n = dc_load_le64(lenbuf);
    if (n > DC_ST_MAX_HEADER) {
        st = DC_ERR_FORMAT;
        goto fail;
    }
    if (n > f->file_size - 8) {
        st = DC_ERR_TRUNCATED;
        goto fail;
    }
    json = (unsigned char *)dc_malloc(alloc, (size_t)n);
    if (!json) {
        st = DC_ERR_OUT_OF_MEMORY;
        goto fail;
    }
    if (dc_os_pread(f->fd, json, (size_t)n, 8, &got) != 0 || got != n) goto fail;
    f->data_offset = 8 + n;
    st = dc_st_parse(alloc, json, (size_t)n, f->file_size - f->data_offset, &f->hdr);
    if (st != DC_OK) goto fail;
    dc_free(alloc, json);
    *out = f;
    return DC_OK;
fail:;
    int e = errno;
    dc_free(alloc, json);
    dc_st_close(f);
    errno = e;
    return st;
}

dc_status dc_st_read(dc_st_file *f, const dc_st_tensor *t, void *dst, size_t dst_capacity) {
    uint64_t n = t->end - t->begin;
    if (n > dst_capacity) return DC_ERR_DST_TOO_SMALL;
    if (n == 0) return DC_OK;
    /* a positional read, not seek + read: reads from several threads at
     * once (dcz compress --threads reading statistics) neither race on the
     * file position nor interleave */
    size_t got;
    if (dc_os_pread(f->fd, dst, (size_t)n, f->data_offset + t->begin, &got) != 0) return DC_ERR_IO;
    if (got != n) {
        errno = EIO; /* shorter than its header says */
        return DC_ERR_IO;
    }
    return DC_OK;
}

/* ========================================================================== */
/*                                   Writing                                  */
/* ========================================================================== */

typedef struct sbuf {
    const dc_alloc *alloc;
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t len) {
    if (b->oom) return;
    if (len > SIZE_MAX - b->n - 1) {
        b->oom = 1;
        return;
    }
    if (b->n + len + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + len + 1) {
            if (nc > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            nc *= 2;
        }
        char *np = (char *)dc_malloc(b->alloc, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        if (b->p) {
            memcpy(np, b->p, b->n);
            dc_free(b->alloc, b->p);
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s) {
    sb_put(b, s, strlen(s));
}

static void sb_u64(sbuf *b, uint64_t v) {
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sb_put(b, tmp + i, sizeof(tmp) - i);
}

/* A JSON string literal, escaped. */
static void sb_json(sbuf *b, const char *s) {
    static const char hex[] = "0123456789abcdef";
    sb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            sb_put(b, e, 2);
        } else if (*p < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            sb_put(b, e, 6);
        } else {
            sb_put(b, (const char *)p, 1);
        }
    }
    sb_put(b, "\"", 1);
}

/* A new temporary file next to path (tmpfile.c), opened for writing. */
static FILE *open_temp(const char *path, char **tmp_path, int *slot, int *direct,
                       const dc_alloc *a) {
    int fd = dc_tmp_create(a, path, tmp_path, slot, direct);
    if (fd < 0) return NULL;
    FILE *fp = dc_os_fdopen(fd, "wb");
    if (!fp) {
        int e = errno;
        dc_os_close(fd);
        dc_tmp_release(a, *tmp_path, *slot, 1);
        *tmp_path = NULL;
        errno = e;
    }
    return fp;
}

static int st_utf8(const char *s) {
    return dc_utf8_valid(s, strlen(s));
}

dc_status dc_st_write(const dc_alloc *alloc, const char *path, const dc_st_out_tensor *tensors,
                      size_t n_tensors, const char *const *meta_kv, size_t n_meta) {
    return dc_st_write_stream(alloc, path, tensors, n_tensors, meta_kv, n_meta, NULL, NULL);
}

dc_status dc_st_write_stream(const dc_alloc *alloc, const char *path,
                             const dc_st_out_tensor *tensors, size_t n_tensors,
                             const char *const *meta_kv, size_t n_meta, dc_st_load_fn load,
                             void *ctx) {
    /* JSON text must be UTF-8: a name or string that is not would make the
     * header unreadable (by this parser and every other). */
    for (size_t i = 0; i < 2 * n_meta; i++)
        if (!st_utf8(meta_kv[i])) return DC_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n_tensors; i++)
        if (!st_utf8(tensors[i].name)) return DC_ERR_INVALID_ARGUMENT;
    sbuf b = {alloc, NULL, 0, 0, 0};
    sb_put(&b, "{", 1);
    int first = 1;
    if (n_meta > 0) {
        sb_str(&b, "\"__metadata__\":{");
        for (size_t i = 0; i < n_meta; i++) {
            if (i) sb_put(&b, ",", 1);
            sb_json(&b, meta_kv[2 * i]);
            sb_put(&b, ":", 1);
            sb_json(&b, meta_kv[2 * i + 1]);
        }
        sb_put(&b, "}", 1);
        first = 0;
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n_tensors; i++) {
        const dc_st_out_tensor *t = &tensors[i];
        size_t es = dc_st_dtype_size(t->dtype);
        uint64_t numel = 1;
        for (size_t d = 0; d < t->ndim; d++) {
            if (t->shape[d] != 0 && numel > UINT64_MAX / t->shape[d]) goto bad;
            numel *= t->shape[d];
        }
        if (es == 0 || t->ndim > DC_ST_MAX_DIMS || numel > UINT64_MAX / es ||
            numel * es != t->nbytes)
            goto bad;
        if (!first) sb_put(&b, ",", 1);
        first = 0;
        sb_json(&b, t->name);
        sb_str(&b, ":{\"dtype\":\"");
        sb_str(&b, dc_st_dtype_string(t->dtype));
        sb_str(&b, "\",\"shape\":[");
        for (size_t d = 0; d < t->ndim; d++) {
            if (d) sb_put(&b, ",", 1);
            sb_u64(&b, t->shape[d]);
        }
        sb_str(&b, "],\"data_offsets\":[");
        sb_u64(&b, off);
        sb_put(&b, ",", 1);
        off += t->nbytes;
        sb_u64(&b, off);
        sb_str(&b, "]}");
    }
    sb_put(&b, "}", 1);
    while (!b.oom && b.n % 8 != 0)
        sb_put(&b, " ", 1);
    if (b.oom) {
        dc_free(alloc, b.p);
        return DC_ERR_OUT_OF_MEMORY;
    }

    char *tmp = NULL;
    int slot = -1, direct = 0;
    FILE *fp = open_temp(path, &tmp, &slot, &direct, alloc);
    if (!fp) {
        int e = errno;
        dc_free(alloc, b.p);
        errno = e;
        return DC_ERR_IO;
    }
    unsigned char lenbuf[8];
    dc_store_le64(lenbuf, (uint64_t)b.n);
    int ok = fwrite(lenbuf, 1, 8, fp) == 8 && fwrite(b.p, 1, b.n, fp) == b.n;
    dc_status lst = DC_OK;
    for (size_t i = 0; ok && i < n_tensors; i++) {
        const void *data = tensors[i].data;
        if (!tensors[i].nbytes) continue;
        if (!data && (!load || (lst = load(ctx, i, &data)) != DC_OK || !data)) {
            if (lst == DC_OK) lst = DC_ERR_INVALID_ARGUMENT;
            break;
        }
        ok = fwrite(data, 1, tensors[i].nbytes, fp) == tensors[i].nbytes;
    }
    if (lst != DC_OK) ok = 0;
    /* flushed to disk before the rename, so a crash cannot leave an empty file at path */
    ok = ok && fflush(fp) == 0 && (direct || dc_os_fsync(fp) == 0);
    int err = ok ? 0 : errno;
    if (fclose(fp) != 0 && ok) ok = 0, err = errno;
    dc_free(alloc, b.p);
    if (ok && !direct && dc_os_rename(tmp, path, 1) != 0) ok = 0, err = errno;
    dc_tmp_release(alloc, tmp, slot, !ok);
    if (!ok && lst == DC_OK) errno = err ? err : EIO;
    return lst != DC_OK ? lst : ok ? DC_OK : DC_ERR_IO;
bad:
    dc_free(alloc, b.p);
    return DC_ERR_INVALID_ARGUMENT;
}
