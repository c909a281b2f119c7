/*
 * hfjson.c -- a small hostile-input-safe JSON reader (see hfjson.h).
 */
#define _GNU_SOURCE
#include "hfjson.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h" /* dc_utf8_valid */

typedef struct parser {
    const unsigned char *p, *end;
    const char *why;
} parser;

static void ws(parser *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int fail(parser *j, const char *why) {
    if (!j->why) j->why = why;
    return 0;
}

static int hex4(parser *j, uint32_t *v) {
    if (j->end - j->p < 4) return 0;
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = j->p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return 0;
        x = x << 4 | d;
    }
    j->p += 4;
    *v = x;
    return 1;
}

/* A string after its opening quote, unescaped into a new buffer. */
static int string(parser *j, char **out) {
    const unsigned char *q = j->p;
    while (q < j->end && *q != '"')
        q += (*q == '\\' && q + 1 < j->end) ? 2 : 1;
    if (q >= j->end) return fail(j, "unterminated string");
    size_t cap = (size_t)(q - j->p) + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) return fail(j, "out of memory");
    while (j->p < q) {
        unsigned c = *j->p++;
        if (c < 0x20) goto bad;
        if (c != '\\') {
            buf[n++] = (char)c;
            continue;
        }
        c = *j->p++;
        uint32_t cp;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            cp = c;
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
            if (!hex4(j, &cp)) goto bad;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u') goto bad;
                j->p += 2;
                if (!hex4(j, &lo) || lo < 0xDC00 || lo > 0xDFFF) goto bad;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                goto bad;
            }
            break;
        default:
            goto bad;
        }
        if (cp == 0) goto bad;
        /* the UTF-8 is never longer than its escape (2, 6 or 12 bytes): n < cap */
        if (cp < 0x80) {
            buf[n++] = (char)cp;
        } else if (cp < 0x800) {
            buf[n++] = (char)(0xC0 | cp >> 6);
            buf[n++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            buf[n++] = (char)(0xE0 | cp >> 12);
            buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            buf[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
            buf[n++] = (char)(0xF0 | cp >> 18);
            buf[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            buf[n++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    if (j->p != q) goto bad; /* an escape ran over the closing quote */
    j->p++;                  /* the closing quote */
    buf[n] = '\0';
    if (!dc_utf8_valid(buf, n)) goto bad;
    *out = buf;
    return 1;
bad:
    free(buf);
    return fail(j, "bad string (control character, escape or UTF-8)");
}

static int digits(parser *j) {
    const unsigned char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

static int number(parser *j, hj_value *v) {
    const unsigned char *s = j->p;
    int neg = 0, frac = 0;
    if (j->p < j->end && *j->p == '-') j->p++, neg = 1;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!digits(j))
        return fail(j, "bad number");
    if (j->p < j->end && *j->p == '.') {
        j->p++, frac = 1;
        if (!digits(j)) return fail(j, "bad number");
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++, frac = 1;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (!digits(j)) return fail(j, "bad number");
    }
    char tmp[64];
    size_t len = (size_t)(j->p - s);
    if (len >= sizeof(tmp)) { /* a long number: its value is not needed exactly */
        v->type = HJ_NUM;
        v->num = neg ? -1e308 : 1e308;
        return 1;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    v->type = HJ_NUM;
    v->num = strtod(tmp, NULL);
    if (!neg && !frac) {
        errno = 0;
        unsigned long long u = strtoull(tmp, NULL, 10);
        if (errno == 0) v->is_uint = 1, v->uint = u;
    }
    return 1;
}

static int by_key(const void *a, const void *b) {
    const hj_key *x = a, *y = b;
    return strcmp(x->key, y->key);
}

static int value(parser *j, hj_value *v, int depth);

/* Grows items (and keys) to hold one more. */
static int push(parser *j, hj_value *v, size_t *cap, int with_keys) {
    if (v->n < *cap) return 1;
    size_t c = *cap ? 2 * *cap : 8;
    hj_value *it = realloc(v->items, c * sizeof(*it));
    if (!it) return fail(j, "out of memory");
    v->items = it;
    if (with_keys) {
        char **k = realloc(v->keys, c * sizeof(*k));
        if (!k) return fail(j, "out of memory");
        v->keys = k;
    }
    *cap = c;
    return 1;
}

static int container(parser *j, hj_value *v, int depth, int obj) {
    v->type = obj ? HJ_OBJ : HJ_ARR;
    size_t cap = 0;
    ws(j);
    if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
        j->p++;
        return 1;
    }
    for (;;) {
        if (!push(j, v, &cap, obj)) return 0;
        hj_value *it = &v->items[v->n];
        memset(it, 0, sizeof(*it));
        if (obj) {
            ws(j);
            if (j->p >= j->end || *j->p != '"') return fail(j, "expected a key");
            j->p++;
            if (!string(j, &v->keys[v->n])) return 0;
            ws(j);
            if (j->p >= j->end || *j->p != ':') {
                free(v->keys[v->n]);
                return fail(j, "expected ':'");
            }
            j->p++;
        }
        v->n++; /* counted now: freed with the value even if it fails */
        if (!value(j, it, depth + 1)) return 0;
        ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
            j->p++;
            break;
        }
        return fail(j, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    if (!obj) return 1;
    if (!(v->sorted = malloc(v->n * sizeof(hj_key)))) return fail(j, "out of memory");
    for (size_t i = 0; i < v->n; i++)
        v->sorted[i] = (hj_key){v->keys[i], i};
    qsort(v->sorted, v->n, sizeof(hj_key), by_key);
    for (size_t i = 1; i < v->n; i++)
        if (!strcmp(v->sorted[i - 1].key, v->sorted[i].key))
            return fail(j, "duplicate key in an object");
    return 1;
}

static int literal(parser *j, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n)) return fail(j, "bad literal");
    j->p += n;
    return 1;
}

static int value(parser *j, hj_value *v, int depth) {
    if (depth > HJ_MAX_DEPTH) return fail(j, "nested too deeply");
    ws(j);
    if (j->p >= j->end) return fail(j, "unexpected end");
    unsigned c = *j->p;
    if (c == '{' || c == '[') {
        j->p++;
        return container(j, v, depth, c == '{');
    }
    if (c == '"') {
        j->p++;
        v->type = HJ_STR;
        return string(j, &v->str);
    }
    if (c == 't' || c == 'f') {
        v->type = HJ_BOOL;
        v->boolean = c == 't';
        return literal(j, c == 't' ? "true" : "false");
    }
    if (c == 'n') return v->type = HJ_NULL, literal(j, "null");
    if (c == '-' || (c >= '0' && c <= '9')) return number(j, v);
    return fail(j, "unexpected character");
}

static void release(hj_value *v) {
    free(v->str);
    for (size_t i = 0; i < v->n; i++) {
        release(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->sorted);
}

void hj_free(hj_value *v) {
    if (!v) return;
    release(v);
    free(v);
}

hj_value *hj_parse(const char *text, size_t len, const char **why) {
    parser j = {(const unsigned char *)text, (const unsigned char *)text + len, NULL};
    hj_value *v = calloc(1, sizeof(*v));
    if (!v) return *why = "out of memory", NULL;
    if (value(&j, v, 0)) {
        ws(&j);
        if (j.p == j.end) return v;
        fail(&j, "text after the JSON value");
    }
    *why = j.why;
    hj_free(v);
    return NULL;
}

hj_value *hj_read_file(const char *path, const char **why) {
    FILE *f = fopen(path, "rb");
    if (!f) return *why = "cannot read the file", NULL;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int e = errno;
        fclose(f);
        errno = e ? e : EINVAL;
        return *why = "not a regular file", NULL;
    }
    if ((uint64_t)sb.st_size > HJ_MAX_FILE) {
        fclose(f);
        return *why = "JSON file too large (over 64 MiB)", NULL;
    }
    size_t n = (size_t)sb.st_size;
    char *buf = malloc(n + 1);
    if (!buf) return fclose(f), *why = "out of memory", NULL;
    size_t got = fread(buf, 1, n, f);
    int e = errno;
    fclose(f);
    if (got != n) {
        free(buf);
        errno = e;
        return *why = "cannot read the file", NULL;
    }
    hj_value *v = hj_parse(buf, n, why);
    free(buf);
    return v;
}

const hj_value *hj_get(const hj_value *o, const char *key) {
    if (!o || o->type != HJ_OBJ) return NULL;
    size_t lo = 0, hi = o->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(o->sorted[mid].key, key);
        if (c == 0) return &o->items[o->sorted[mid].index];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int hj_get_uint(const hj_value *o, const char *key, uint64_t *out) {
    const hj_value *v = hj_get(o, key);
    if (!v) return 0;
    if (v->type != HJ_NUM || !v->is_uint) return -1;
    *out = v->uint;
    return 1;
}

int hj_get_num(const hj_value *o, const char *key, double *out) {
    const hj_value *v = hj_get(o, key);
    if (!v) return 0;
    if (v->type != HJ_NUM) return -1;
    *out = v->num;
    return 1;
}

int hj_get_str(const hj_value *o, const char *key, const char **out) {
    const hj_value *v = hj_get(o, key);
    if (!v) return 0;
    if (v->type != HJ_STR) return -1;
    *out = v->str;
    return 1;
}

int hj_get_bool(const hj_value *o, const char *key, int *out) {
    const hj_value *v = hj_get(o, key);
    if (!v) return 0;
    if (v->type != HJ_BOOL) return -1;
    *out = v->boolean;
    return 1;
}

/* --- output --------------------------------------------------------------- */

void hj_buf_put(hj_buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void hj_buf_puts(hj_buf *b, const char *s) {
    hj_buf_put(b, s, strlen(s));
}

void hj_buf_printf(hj_buf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        b->oom = 1; /* only short items are printed this way */
        return;
    }
    hj_buf_put(b, tmp, (size_t)n);
}

void hj_buf_string(hj_buf *b, const char *s) {
    hj_buf_put(b, "\"", 1);
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\') continue;
        hj_buf_put(b, run, (size_t)((const char *)p - run));
        char e[8];
        if (*p == '"' || *p == '\\')
            snprintf(e, sizeof(e), "\\%c", *p);
        else if (*p == '\n')
            snprintf(e, sizeof(e), "\\n");
        else
            snprintf(e, sizeof(e), "\\u%04x", *p);
        hj_buf_puts(b, e);
        run = (const char *)p + 1;
    }
    hj_buf_puts(b, run);
    hj_buf_put(b, "\"", 1);
}

void hj_buf_value(hj_buf *b, const hj_value *v) {
    switch (v->type) {
    case HJ_NULL:
        hj_buf_puts(b, "null");
        break;
    case HJ_BOOL:
        hj_buf_puts(b, v->boolean ? "true" : "false");
        break;
    case HJ_NUM:
        if (v->is_uint)
            hj_buf_printf(b, "%llu", (unsigned long long)v->uint);
        else if (isfinite(v->num))
            hj_buf_printf(b, "%.17g", v->num);
        else /* 1e999 parses to infinity, which JSON cannot write */
            hj_buf_puts(b, v->num > 0 ? "1e308" : "-1e308");
        break;
    case HJ_STR:
        hj_buf_string(b, v->str);
        break;
    case HJ_ARR:
    case HJ_OBJ:
        hj_buf_puts(b, v->type == HJ_ARR ? "[" : "{");
        for (size_t i = 0; i < v->n; i++) {
            if (i) hj_buf_puts(b, ",");
            if (v->type == HJ_OBJ) hj_buf_string(b, v->keys[i]), hj_buf_puts(b, ":");
            hj_buf_value(b, &v->items[i]);
        }
        hj_buf_puts(b, v->type == HJ_ARR ? "]" : "}");
        break;
    }
}

/* --- files ---------------------------------------------------------------- */

int hj_write_file(const char *path, const char *text, size_t n) {
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    char *tmp = NULL;
    int slot = -1, direct = 0;
    int fd = dc_tmp_create(&a, path, &tmp, &slot, &direct);
    if (fd < 0) return -1;
    size_t done = 0;
    int ok = 1;
    while (ok && done < n) {
        ssize_t w = write(fd, text + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            ok = 0;
        else
            done += (size_t)w;
    }
    int e = errno;
    if (ok && !direct && fsync(fd) != 0) ok = 0, e = errno;
    if (close(fd) != 0 && ok) ok = 0, e = errno;
    if (ok && !direct && rename(tmp, path) != 0) ok = 0, e = errno;
    dc_tmp_release(&a, tmp, slot, !ok);
    errno = e;
    return ok ? 0 : -1;
}
