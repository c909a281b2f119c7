/*
 * meta.c -- typed metadata (dc_container.h): key -> typed value pairs kept in
 * the .dcz key/value section (docs/format.md, 6.7) in GGUF's encoding.
 *
 * The writer side appends one GGUF key/value record to the writer's section
 * (starting an empty one, GGUF version 3, alignment 32, no tensors, if it has
 * none) and hands the re-encoded section to dc_writer_set_kv_section, which
 * checks it as a reader would. The reader side decodes the section parsed at
 * open (container.c keeps it).
 */
#include "gguf.h"
#include "internal.h"

/* Bytes per element of the fixed-size types; 0 for strings and arrays. */
static size_t elem_size(dc_meta_type t) {
    switch (t) {
    case DC_META_U8:
    case DC_META_I8:
    case DC_META_BOOL:
        return 1;
    case DC_META_U16:
    case DC_META_I16:
        return 2;
    case DC_META_U32:
    case DC_META_I32:
    case DC_META_F32:
        return 4;
    case DC_META_U64:
    case DC_META_I64:
    case DC_META_F64:
        return 8;
    case DC_META_STRING:
    case DC_META_ARRAY:
        break;
    }
    return 0;
}

static int is_int_type(dc_meta_type t) {
    return elem_size(t) != 0 && t != DC_META_F32 && t != DC_META_F64;
}

/* value fits integer type t */
static int int_fits(dc_meta_type t, int64_t v) {
    switch (t) {
    case DC_META_U8:
        return v >= 0 && v <= UINT8_MAX;
    case DC_META_BOOL:
        return v == 0 || v == 1;
    case DC_META_I8:
        return v >= INT8_MIN && v <= INT8_MAX;
    case DC_META_U16:
        return v >= 0 && v <= UINT16_MAX;
    case DC_META_I16:
        return v >= INT16_MIN && v <= INT16_MAX;
    case DC_META_U32:
        return v >= 0 && v <= (int64_t)UINT32_MAX;
    case DC_META_I32:
        return v >= INT32_MIN && v <= INT32_MAX;
    case DC_META_U64:
        return v >= 0;
    case DC_META_I64:
        return 1;
    default:
        return 0;
    }
}

/* Little-endian encoding of integer v (fitting t) at p. */
static void put_int(uint8_t *p, dc_meta_type t, int64_t v) {
    const uint64_t u = (uint64_t)v;
    for (size_t k = 0; k < elem_size(t); k++)
        p[k] = (uint8_t)(u >> (8 * k));
}

/* Appends the record key = (type, val[0..n)) to w's key/value section. */
static dc_status append(dc_writer *w, const char *key, dc_meta_type type, const uint8_t *val,
                        size_t n) {
    if (!w || !key) return DC_ERR_INVALID_ARGUMENT;
    const size_t klen = strlen(key);
    if (klen == 0 || klen > 65535 || !dc_utf8_valid(key, klen)) return DC_ERR_INVALID_ARGUMENT;
    size_t have = 0;
    const dc_alloc *ap;
    const void *cur = dc_writer_kv_bytes(w, &have, &ap);
    const dc_alloc a = *ap;
    dc_gguf *g = NULL, empty;
    memset(&empty, 0, sizeof empty);
    empty.alloc = a;
    empty.version = 3;
    empty.alignment = DC_GGUF_ALIGNMENT;
    if (cur) {
        dc_status st = dc_gguf_section_parse(&a, cur, have, &g, NULL);
        if (st != DC_OK) return st; /* cannot happen: the writer checked it */
        if (dc_gguf_find(g, key)) {
            dc_gguf_free(g);
            return DC_ERR_INVALID_ARGUMENT;
        }
    }
    const dc_gguf *src = g ? g : &empty;
    dc_gguf_buf rec = {&a, NULL, 0, 0, 0, 0};
    dc_gguf_buf_put(&rec, src->kv_blob, src->kv_blob_size);
    dc_gguf_put_kv_raw(&rec, key, (uint32_t)type, val, n);
    dc_gguf next = *src; /* shallow: only the key/value bytes change */
    next.kv_blob = rec.p;
    next.kv_blob_size = rec.len;
    next.n_kv = src->n_kv + 1;
    dc_gguf_buf out = {&a, NULL, 0, 0, 0, 0};
    if (!rec.oom) dc_gguf_section_encode(&next, &out);
    dc_status st =
        rec.oom || out.oom ? DC_ERR_OUT_OF_MEMORY : dc_writer_set_kv_section(w, out.p, out.len);
    dc_gguf_buf_free(&rec);
    dc_gguf_buf_free(&out);
    dc_gguf_free(g);
    return st;
}

dc_status dc_writer_meta_int(dc_writer *w, const char *key, dc_meta_type type, int64_t value) {
    if (!is_int_type(type)) return DC_ERR_INVALID_ARGUMENT;
    if (!int_fits(type, value)) return DC_ERR_RANGE;
    uint8_t v[8];
    put_int(v, type, value);
    return append(w, key, type, v, elem_size(type));
}

dc_status dc_writer_meta_float(dc_writer *w, const char *key, dc_meta_type type, double value) {
    uint8_t v[8];
    if (type == DC_META_F32) {
        const float f = (float)value;
        uint32_t u;
        memcpy(&u, &f, 4);
        dc_store_le32(v, u);
    } else if (type == DC_META_F64) {
        uint64_t u;
        memcpy(&u, &value, 8);
        dc_store_le64(v, u);
    } else {
        return DC_ERR_INVALID_ARGUMENT;
    }
    return append(w, key, type, v, elem_size(type));
}

/* Appends a GGUF string (u64 length + bytes) to b; 0 if s is not valid. */
static int put_string(dc_gguf_buf *b, const char *s) {
    if (!s) return 0;
    const size_t n = strlen(s);
    if (!dc_utf8_valid(s, n)) return 0;
    dc_gguf_buf_str(b, s, n);
    return 1;
}

dc_status dc_writer_meta_string(dc_writer *w, const char *key, const char *value) {
    dc_alloc a;
    if (dc_alloc_init(&a, NULL) != DC_OK) return DC_ERR_INVALID_ARGUMENT;
    dc_gguf_buf b = {&a, NULL, 0, 0, 0, 0};
    dc_status st = DC_ERR_INVALID_ARGUMENT;
    if (put_string(&b, value))
        st = b.oom ? DC_ERR_OUT_OF_MEMORY : append(w, key, DC_META_STRING, b.p, b.len);
    dc_gguf_buf_free(&b);
    return st;
}

dc_status dc_writer_meta_array(dc_writer *w, const char *key, dc_meta_type elem_type,
                               const void *elems, uint64_t count) {
    const size_t es = elem_size(elem_type);
    if ((es == 0 && elem_type != DC_META_STRING) || (!elems && count > 0))
        return DC_ERR_INVALID_ARGUMENT;
    if (es && count > (SIZE_MAX / 2) / es) return DC_ERR_RANGE;
    dc_alloc a;
    if (dc_alloc_init(&a, NULL) != DC_OK) return DC_ERR_INVALID_ARGUMENT;
    dc_gguf_buf b = {&a, NULL, 0, 0, 0, 0};
    dc_gguf_buf_u32(&b, (uint32_t)elem_type);
    dc_gguf_buf_u64(&b, count);
    int ok = 1;
    if (elem_type == DC_META_STRING) {
        const char *const *s = (const char *const *)elems;
        for (uint64_t i = 0; ok && i < count; i++)
            ok = put_string(&b, s[i]);
    } else {
        /* native to little-endian, element by element */
        const uint8_t *p = (const uint8_t *)elems;
        for (uint64_t i = 0; i < count; i++, p += es) {
            uint8_t v[8];
            uint64_t u = 0;
            switch (es) {
            case 1:
                u = p[0];
                ok &= elem_type != DC_META_BOOL || u <= 1;
                break;
            case 2: {
                uint16_t x;
                memcpy(&x, p, 2);
                u = x;
                break;
            }
            case 4: {
                uint32_t x;
                memcpy(&x, p, 4);
                u = x;
                break;
            }
            default:
                memcpy(&u, p, 8);
                break;
            }
            for (size_t k = 0; k < es; k++)
                v[k] = (uint8_t)(u >> (8 * k));
            dc_gguf_buf_put(&b, v, es);
        }
    }
    dc_status st = !ok     ? DC_ERR_INVALID_ARGUMENT
                   : b.oom ? DC_ERR_OUT_OF_MEMORY
                           : append(w, key, DC_META_ARRAY, b.p, b.len);
    dc_gguf_buf_free(&b);
    return st;
}

/* --- reader ---------------------------------------------------------------- */

static dc_status entry(const dc_reader *r, size_t index, const dc_gguf_kv **kv) {
    if (!r) return DC_ERR_INVALID_ARGUMENT;
    const dc_gguf *g = dc_reader_kv_parsed(r);
    if (!g || index >= g->n_kv) return DC_ERR_NOT_FOUND;
    *kv = &g->kv[index];
    return DC_OK;
}

size_t dc_reader_meta_count(const dc_reader *r) {
    const dc_gguf *g = r ? dc_reader_kv_parsed(r) : NULL;
    return g ? g->n_kv : 0;
}

dc_status dc_reader_meta_entry(const dc_reader *r, size_t index, const char **key,
                               dc_meta_type *type) {
    const dc_gguf_kv *kv;
    dc_status st = entry(r, index, &kv);
    if (st != DC_OK) return st;
    if (key) *key = kv->key;
    if (type) *type = (dc_meta_type)kv->type;
    return DC_OK;
}

dc_status dc_reader_meta_find(const dc_reader *r, const char *key, size_t *index) {
    if (!r || !key || !index) return DC_ERR_INVALID_ARGUMENT;
    const dc_gguf *g = dc_reader_kv_parsed(r);
    for (size_t i = 0; g && i < g->n_kv; i++)
        if (strcmp(g->kv[i].key, key) == 0) {
            *index = i;
            return DC_OK;
        }
    return DC_ERR_NOT_FOUND;
}

static double get_float(dc_meta_type t, const uint8_t *p) {
    if (t == DC_META_F32) {
        const uint32_t u = dc_load_le32(p);
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    const uint64_t u = dc_load_le64(p);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

dc_status dc_reader_meta_int(const dc_reader *r, size_t index, int64_t *value) {
    const dc_gguf_kv *kv;
    dc_status st = entry(r, index, &kv);
    if (st != DC_OK) return st;
    if (!value || !is_int_type((dc_meta_type)kv->type)) return DC_ERR_INVALID_ARGUMENT;
    return dc_gguf_kv_int(kv, value) ? DC_OK : DC_ERR_RANGE; /* a U64 above INT64_MAX */
}

dc_status dc_reader_meta_float(const dc_reader *r, size_t index, double *value) {
    const dc_gguf_kv *kv;
    dc_status st = entry(r, index, &kv);
    if (st != DC_OK) return st;
    return value && dc_gguf_kv_float(kv, value) ? DC_OK : DC_ERR_INVALID_ARGUMENT;
}

dc_status dc_reader_meta_string(const dc_reader *r, size_t index, dc_meta_string *value) {
    const dc_gguf_kv *kv;
    dc_status st = entry(r, index, &kv);
    if (st != DC_OK) return st;
    if (!value || kv->type != DC_META_STRING) return DC_ERR_INVALID_ARGUMENT;
    value->data = (const char *)kv->val + 8; /* checked at open: inside, valid UTF-8 */
    value->size = (size_t)dc_load_le64(kv->val);
    return DC_OK;
}

/* Pair `index` as an array: element type, count and the first element. */
static dc_status array_at(const dc_reader *r, size_t index, uint32_t *et, uint64_t *n,
                          const uint8_t **el) {
    const dc_gguf_kv *kv;
    dc_status st = entry(r, index, &kv);
    if (st != DC_OK) return st;
    size_t bytes;
    return dc_gguf_kv_array(kv, et, n, el, &bytes) ? DC_OK : DC_ERR_INVALID_ARGUMENT;
}

dc_status dc_reader_meta_array(const dc_reader *r, size_t index, dc_meta_type *elem_type,
                               uint64_t *count) {
    uint32_t et;
    uint64_t n;
    const uint8_t *el;
    dc_status st = array_at(r, index, &et, &n, &el);
    if (st != DC_OK) return st;
    if (elem_type) *elem_type = (dc_meta_type)et;
    if (count) *count = n;
    return DC_OK;
}

dc_status dc_reader_meta_array_get(const dc_reader *r, size_t index, uint64_t first, uint64_t count,
                                   void *dst) {
    uint32_t et;
    uint64_t n;
    const uint8_t *el;
    dc_status st = array_at(r, index, &et, &n, &el);
    if (st != DC_OK) return st;
    if (!dst && count > 0) return DC_ERR_INVALID_ARGUMENT;
    if (first > n || count > n - first) return DC_ERR_RANGE;
    const dc_meta_type t = (dc_meta_type)et;
    if (t == DC_META_ARRAY) return DC_ERR_UNSUPPORTED;
    if (t == DC_META_STRING) { /* variable size: walk from the start (checked at open) */
        dc_meta_string *out = (dc_meta_string *)dst;
        size_t o = 0;
        for (uint64_t i = 0; i < first + count; i++) {
            const size_t len = (size_t)dc_load_le64(el + o);
            if (i >= first) out[i - first] = (dc_meta_string){(const char *)el + o + 8, len};
            o += 8 + len;
        }
        return DC_OK;
    }
    const size_t es = elem_size(t);
    uint8_t *o = (uint8_t *)dst;
    for (uint64_t i = 0; i < count; i++, o += es) {
        const uint8_t *p = el + (first + i) * es;
        if (t == DC_META_F32 || t == DC_META_F64) {
            const double d = get_float(t, p);
            if (t == DC_META_F32) {
                const float f = (float)d;
                memcpy(o, &f, 4);
            } else {
                memcpy(o, &d, 8);
            }
            continue;
        }
        const uint64_t u = es == 1   ? p[0]
                           : es == 2 ? dc_load_le16(p)
                           : es == 4 ? dc_load_le32(p)
                                     : dc_load_le64(p);
        if (es == 1) {
            o[0] = (uint8_t)u;
        } else if (es == 2) {
            const uint16_t x = (uint16_t)u;
            memcpy(o, &x, 2);
        } else if (es == 4) {
            const uint32_t x = (uint32_t)u;
            memcpy(o, &x, 4);
        } else {
            memcpy(o, &u, 8);
        }
    }
    return DC_OK;
}
