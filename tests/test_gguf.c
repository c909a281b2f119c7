/*
 * test_gguf.c -- the GGUF reader/writer (lib/gguf.c): a round trip of every
 * value type, binary16 conversion, the .dcz key/value section, and hostile
 * files (every truncation, huge counts, bad types, overflowing and
 * misaligned offsets, string lengths past the end, duplicates, nesting).
 */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <unistd.h>

#include "doublecomp.h"
#include "gguf.h"
#include "internal.h"

static dc_alloc g_a;
static char g_dir[] = "/tmp/dc_test_gguf_XXXXXX";

/* Key/values of every type (arrays of scalars, strings and arrays). */
static void make_kv(dc_gguf_buf *b) {
    dc_gguf_put_kv_str(b, "general.architecture", "llama");
    dc_gguf_put_kv_u32(b, "llama.block_count", 2);
    dc_gguf_put_kv_i32(b, "test.i32", -5);
    dc_gguf_put_kv_f32(b, "test.f32", 1e-5f);
    uint8_t v[64];
    v[0] = 200;
    dc_gguf_put_kv_raw(b, "test.u8", DC_GGUF_U8, v, 1);
    v[0] = 0x80;
    dc_gguf_put_kv_raw(b, "test.i8", DC_GGUF_I8, v, 1);
    dc_store_le16(v, 60000);
    dc_gguf_put_kv_raw(b, "test.u16", DC_GGUF_U16, v, 2);
    dc_gguf_put_kv_raw(b, "test.i16", DC_GGUF_I16, v, 2);
    v[0] = 1;
    dc_gguf_put_kv_raw(b, "test.bool", DC_GGUF_BOOL, v, 1);
    dc_store_le64(v, 1ull << 40);
    dc_gguf_put_kv_raw(b, "test.u64", DC_GGUF_U64, v, 8);
    dc_gguf_put_kv_raw(b, "test.i64", DC_GGUF_I64, v, 8);
    double d = 0.1;
    memcpy(v, &d, 8);
    dc_gguf_put_kv_raw(b, "test.f64", DC_GGUF_F64, v, 8);
    /* an array of 3 strings */
    dc_gguf_buf a = {b->alloc, NULL, 0, 0, 0, 0};
    dc_gguf_buf_u32(&a, DC_GGUF_STRING);
    dc_gguf_buf_u64(&a, 3);
    dc_gguf_buf_str(&a, "<unk>", 5);
    dc_gguf_buf_str(&a, "", 0);
    dc_gguf_buf_str(&a, "\xc3\xa9t\xc3\xa9", 6);
    dc_gguf_put_kv_raw(b, "tokenizer.ggml.tokens", DC_GGUF_ARRAY, a.p, a.len);
    /* an array of 2 arrays of i32 */
    a.len = 0;
    dc_gguf_buf_u32(&a, DC_GGUF_ARRAY);
    dc_gguf_buf_u64(&a, 2);
    for (int k = 0; k < 2; k++) {
        dc_gguf_buf_u32(&a, DC_GGUF_I32);
        dc_gguf_buf_u64(&a, 2);
        dc_gguf_buf_u32(&a, (uint32_t)k);
        dc_gguf_buf_u32(&a, (uint32_t)-k);
    }
    dc_gguf_put_kv_raw(b, "test.nested", DC_GGUF_ARRAY, a.p, a.len);
    dc_gguf_buf_free(&a);
    assert_false(b->oom);
}

static const float kF32[2 * 32] = {1.0f, -2.5f, 3.25f};

static dc_status load_fn(void *ctx, size_t i, const void **data) {
    (void)ctx;
    static uint8_t q8[34 * 2];
    if (i == 0) {
        *data = kF32;
    } else {
        for (int k = 0; k < 68; k++)
            q8[k] = (uint8_t)(k * 7);
        *data = q8;
    }
    return DC_OK;
}

/* A small valid GGUF file at path: the records above, an F32 [32 x 2] and a
 * Q8_0 [64] tensor. */
static void write_sample(const char *path) {
    dc_gguf_buf b = {&g_a, NULL, 0, 0, 0, 0};
    make_kv(&b);
    dc_gguf_out_tensor t[2] = {{"a.weight", 2, {32, 2, 1, 1}, DC_GGML_F32, 2 * 32 * 4},
                               {"b.weight", 1, {64, 1, 1, 1}, DC_GGML_Q8_0, 68}};
    assert_int_equal(dc_gguf_write(&g_a, path, b.p, b.len, b.n_kv, 32, t, 2, load_fn, NULL), DC_OK);
    dc_gguf_buf_free(&b);
}

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)sz + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return p;
}

static void sample_path(char *out, size_t n) {
    snprintf(out, n, "%s/sample.gguf", g_dir);
}

static void test_round_trip(void **state) {
    (void)state;
    char path[256];
    sample_path(path, sizeof path);
    write_sample(path);
    dc_gguf *g = NULL;
    const char *why = NULL;
    assert_int_equal(dc_gguf_open(&g_a, path, &g, &why), DC_OK);
    assert_int_equal(g->version, 3);
    assert_int_equal(g->n_kv, 14);
    assert_int_equal(g->n_tensors, 2);
    assert_int_equal(g->alignment, 32);
    assert_int_equal(g->data_offset % 32, 0);
    int64_t iv;
    double dv;
    const char *s;
    uint64_t len;
    assert_true(dc_gguf_kv_int(dc_gguf_find(g, "llama.block_count"), &iv) && iv == 2);
    assert_true(dc_gguf_kv_int(dc_gguf_find(g, "test.i32"), &iv) && iv == -5);
    assert_true(dc_gguf_kv_int(dc_gguf_find(g, "test.i8"), &iv) && iv == -128);
    assert_true(dc_gguf_kv_int(dc_gguf_find(g, "test.u16"), &iv) && iv == 60000);
    assert_true(dc_gguf_kv_int(dc_gguf_find(g, "test.i16"), &iv) && iv == 60000 - 65536);
    assert_true(dc_gguf_kv_int(dc_gguf_find(g, "test.u64"), &iv) && iv == (1ll << 40));
    assert_true(dc_gguf_kv_float(dc_gguf_find(g, "test.f32"), &dv) && (float)dv == 1e-5f);
    assert_true(dc_gguf_kv_float(dc_gguf_find(g, "test.f64"), &dv) && dv == 0.1);
    assert_true(dc_gguf_kv_string(dc_gguf_find(g, "general.architecture"), &s, &len));
    assert_true(len == 5 && memcmp(s, "llama", 5) == 0);
    uint32_t et;
    uint64_t count;
    const uint8_t *el;
    size_t es;
    assert_true(dc_gguf_kv_array(dc_gguf_find(g, "tokenizer.ggml.tokens"), &et, &count, &el, &es));
    assert_int_equal(et, DC_GGUF_STRING);
    assert_int_equal(count, 3);
    assert_true(dc_gguf_kv_array(dc_gguf_find(g, "test.nested"), &et, &count, &el, &es));
    assert_int_equal(et, DC_GGUF_ARRAY);
    assert_null(dc_gguf_find(g, "nope"));
    const dc_gguf_tensor *t = dc_gguf_find_tensor(g, "b.weight");
    assert_non_null(t);
    assert_int_equal(t->type, DC_GGML_Q8_0);
    assert_int_equal(t->nbytes, 68);
    assert_int_equal(t->offset, 256); /* 256 bytes of F32, already aligned */
    assert_int_equal(g->tensors[0].ne[1], 2);
    /* writing its records back gives the same file */
    char path2[300];
    snprintf(path2, sizeof path2, "%s/again.gguf", g_dir);
    dc_gguf_out_tensor ot[2];
    for (int i = 0; i < 2; i++) {
        ot[i].name = g->tensors[i].name;
        ot[i].n_dims = g->tensors[i].n_dims;
        memcpy(ot[i].ne, g->tensors[i].ne, sizeof(ot[i].ne));
        ot[i].type = g->tensors[i].type;
        ot[i].nbytes = g->tensors[i].nbytes;
    }
    assert_int_equal(
        dc_gguf_write(&g_a, path2, g->kv_blob, g->kv_blob_size, g->n_kv, 32, ot, 2, load_fn, NULL),
        DC_OK);
    size_t n1, n2;
    uint8_t *f1 = slurp(path, &n1), *f2 = slurp(path2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(f1, f2, n1);
    /* the key/value section carries the same records and tensor types */
    dc_gguf_buf sec = {&g_a, NULL, 0, 0, 0, 0};
    dc_gguf_section_encode(g, &sec);
    dc_gguf *s2 = NULL;
    assert_int_equal(dc_gguf_section_parse(&g_a, sec.p, sec.len, &s2, NULL), DC_OK);
    assert_int_equal(s2->n_kv, g->n_kv);
    assert_memory_equal(s2->kv_blob, g->kv_blob, g->kv_blob_size);
    assert_int_equal(s2->tensors[1].type, DC_GGML_Q8_0);
    assert_int_equal(s2->tensors[1].nbytes, 68);
    /* every truncation of the section is refused */
    for (size_t k = 0; k < sec.len; k++) {
        dc_gguf *x = NULL;
        assert_int_not_equal(dc_gguf_section_parse(&g_a, sec.p, k, &x, NULL), DC_OK);
        assert_null(x);
    }
    dc_gguf_free(s2);
    dc_gguf_buf_free(&sec);
    free(f1), free(f2);
    dc_gguf_free(g);
}

/* Expects p[0..n) (as a whole file) to be refused with a reason, no crash. */
static void refused(const uint8_t *p, size_t n) {
    dc_gguf *g = NULL;
    const char *why = NULL;
    dc_status st = dc_gguf_parse(&g_a, p, n, n, &g, &why);
    assert_int_not_equal(st, DC_OK);
    assert_non_null(why);
    assert_null(g);
}

static void test_hostile(void **state) {
    (void)state;
    char path[256];
    sample_path(path, sizeof path);
    write_sample(path);
    size_t n;
    uint8_t *f = slurp(path, &n);
    dc_gguf *g = NULL;
    assert_int_equal(dc_gguf_parse(&g_a, f, n, n, &g, NULL), DC_OK);
    size_t hdr = (size_t)g->header_size;
    size_t data_end = (size_t)(g->data_offset + g->tensors[1].offset + g->tensors[1].nbytes);
    dc_gguf_free(g);
    /* every truncation of the file: the header ones are truncated, the
     * data ones leave a tensor outside the file (the final padding is not
     * needed) */
    for (size_t k = 0; k < data_end; k++)
        refused(f, k);
    /* a prefix of the right file size reports DC_ERR_TRUNCATED (more may help) */
    assert_int_equal(dc_gguf_parse(&g_a, f, 30, n, &g, NULL), DC_ERR_TRUNCATED);
    uint8_t *m = malloc(n);
    assert_non_null(m);
    /* huge counts */
    const size_t count_at[] = {8, 16};
    for (int i = 0; i < 2; i++) {
        memcpy(m, f, n);
        dc_store_le64(m + count_at[i], UINT64_MAX);
        refused(m, n);
        dc_store_le64(m + count_at[i], 1ull << 40);
        refused(m, n);
    }
    /* version 1, unknown version, big-endian, bad magic */
    const uint32_t versions[] = {1, 4, 0x03000000u, 0};
    for (int i = 0; i < 4; i++) {
        memcpy(m, f, n);
        dc_store_le32(m + 4, versions[i]);
        refused(m, n);
    }
    memcpy(m, f, n);
    m[0] = 'X';
    refused(m, n);
    /* the first key's length past the end, and huge */
    memcpy(m, f, n);
    dc_store_le64(m + 24, n);
    refused(m, n);
    dc_store_le64(m + 24, UINT64_MAX - 3);
    refused(m, n);
    /* the first value's type unknown (key "general.architecture": 20 bytes) */
    memcpy(m, f, n);
    dc_store_le32(m + 24 + 8 + 20, 13);
    refused(m, n);
    /* its string length past the end */
    memcpy(m, f, n);
    dc_store_le64(m + 24 + 8 + 20 + 4, 1ull << 62);
    refused(m, n);
    /* invalid UTF-8 in it */
    memcpy(m, f, n);
    m[24 + 8 + 20 + 4 + 8] = 0xFF;
    refused(m, n);
    /* a duplicate key: rename "test.i32" as "test.f32" */
    memcpy(m, f, n);
    uint8_t *k = (uint8_t *)memmem(m, hdr, "test.i32", 8);
    assert_non_null(k);
    memcpy(k, "test.f32", 8);
    refused(m, n);
    /* a bool that is 2 */
    memcpy(m, f, n);
    k = (uint8_t *)memmem(m, hdr, "test.bool", 9);
    k[9 + 4] = 2;
    refused(m, n);
    /* the tensor infos: find "b.weight" (8 bytes, 1 dim) */
    uint8_t *ti = (uint8_t *)memmem(f, hdr, "b.weight", 8);
    assert_non_null(ti);
    size_t t_at = (size_t)(ti - f) + 8; /* n_dims */
    struct {
        size_t off;
        unsigned bytes;
        uint64_t v;
    } pokes[] = {
        {t_at, 4, 5},                    /* more than 4 dims */
        {t_at, 4, 0xFFFFFFFFu},          /* huge dims */
        {t_at + 4, 8, 63},               /* ne[0] not a multiple of the block */
        {t_at + 4, 8, 1ull << 62},       /* a size that overflows */
        {t_at + 4, 8, UINT64_MAX},       /* ne above INT64_MAX */
        {t_at + 12, 4, 4},               /* a removed type */
        {t_at + 12, 4, 1000},            /* an unknown type */
        {t_at + 16, 8, 1},               /* a misaligned offset */
        {t_at + 16, 8, 0},               /* overlapping the F32 tensor */
        {t_at + 16, 8, UINT64_MAX - 31}, /* an offset that overflows */
        {t_at + 16, 8, 1ull << 40},      /* an offset past the end */
        {t_at - 16, 8, 9},               /* the name's length past the name */
        {t_at - 16, 8, 0},               /* an empty name */
        {t_at - 8, 1, 0},                /* a NUL in the name */
        {t_at - 8, 8, 0x612e7468 + ((uint64_t)0x69657761 << 32)}, /* "ht.aaewi": fine */
    };
    size_t np = sizeof(pokes) / sizeof(pokes[0]);
    for (size_t i = 0; i < np; i++) {
        memcpy(m, f, n);
        uint8_t *p = m + pokes[i].off;
        if (pokes[i].bytes == 1)
            p[0] = (uint8_t)pokes[i].v;
        else if (pokes[i].bytes == 4)
            dc_store_le32(p, (uint32_t)pokes[i].v);
        else
            dc_store_le64(p, pokes[i].v);
        if (i + 1 == np) { /* the control: a different, valid name parses */
            assert_int_equal(dc_gguf_parse(&g_a, m, n, n, &g, NULL), DC_OK);
            dc_gguf_free(g);
        } else {
            refused(m, n);
        }
    }
    /* duplicate tensor names */
    memcpy(m, f, n);
    memcpy(m + (ti - f), "a.weight", 8);
    refused(m, n);
    /* general.alignment of the wrong type, zero, or not a power of two */
    dc_gguf_buf b = {&g_a, NULL, 0, 0, 0, 0};
    const uint32_t al[] = {0, 3, 48};
    for (int i = 0; i < 4; i++) {
        b.len = b.n_kv = 0;
        uint8_t hdr24[24] = {0};
        dc_store_le32(hdr24, DC_GGUF_MAGIC);
        dc_store_le32(hdr24 + 4, 3);
        dc_store_le64(hdr24 + 16, 1);
        dc_gguf_buf_put(&b, hdr24, 24);
        if (i < 3)
            dc_gguf_put_kv_u32(&b, "general.alignment", al[i]);
        else
            dc_gguf_put_kv_i32(&b, "general.alignment", 32);
        refused(b.p, b.len);
    }
    /* arrays nested deeper than DC_GGUF_MAX_DEPTH */
    b.len = b.n_kv = 0;
    uint8_t hdr24[24] = {0};
    dc_store_le32(hdr24, DC_GGUF_MAGIC);
    dc_store_le32(hdr24 + 4, 3);
    dc_store_le64(hdr24 + 16, 1);
    dc_gguf_buf_put(&b, hdr24, 24);
    dc_gguf_buf_str(&b, "deep", 4);
    dc_gguf_buf_u32(&b, DC_GGUF_ARRAY);
    for (int d = 0; d < 20; d++) {
        dc_gguf_buf_u32(&b, DC_GGUF_ARRAY);
        dc_gguf_buf_u64(&b, 1);
    }
    dc_gguf_buf_u32(&b, DC_GGUF_U8);
    dc_gguf_buf_u64(&b, 0);
    refused(b.p, b.len);
    /* an array of 2^61 strings, and of 2^62 u32 */
    b.len = 24;
    dc_gguf_buf_str(&b, "big", 3);
    dc_gguf_buf_u32(&b, DC_GGUF_ARRAY);
    dc_gguf_buf_u32(&b, DC_GGUF_STRING);
    dc_gguf_buf_u64(&b, 1ull << 61);
    dc_gguf_buf_u64(&b, 0);
    refused(b.p, b.len);
    b.len = 24 + 8 + 3 + 4;
    dc_gguf_buf_u32(&b, DC_GGUF_U32);
    dc_gguf_buf_u64(&b, 1ull << 62);
    refused(b.p, b.len);
    dc_gguf_buf_free(&b);
    /* random bit flips never crash (the sanitizer build checks memory) */
    uint64_t seed = 7;
    for (int it = 0; it < 20000; it++) {
        memcpy(m, f, n);
        for (int j = 0; j < 3; j++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(seed >> 33) % hdr;
            m[at] ^= (uint8_t)(1u << ((seed >> 20) & 7));
        }
        if (dc_gguf_parse(&g_a, m, n, n, &g, NULL) == DC_OK) dc_gguf_free(g);
        if (dc_gguf_section_parse(&g_a, m, hdr, &g, NULL) == DC_OK) dc_gguf_free(g);
    }
    free(m);
    free(f);
    /* not a file, or missing */
    assert_int_equal(dc_gguf_open(&g_a, g_dir, &g, NULL), DC_ERR_IO);
    assert_int_equal(dc_gguf_open(&g_a, "/nonexistent/x.gguf", &g, NULL), DC_ERR_IO);
}

/* The smallest records (fuzz_gguf found the counts' lower bounds too high):
 * a v2 file with one 0-dim F32 tensor named "a"; its section parses back. */
static void test_smallest(void **state) {
    (void)state;
    uint8_t f[68] = {0}; /* header 24, tensor info 25, padding to 64, 4 data bytes */
    dc_store_le32(f, DC_GGUF_MAGIC);
    dc_store_le32(f + 4, 2);
    dc_store_le64(f + 8, 1); /* tensors */
    dc_store_le64(f + 24, 1);
    f[32] = 'a'; /* name, then n_dims 0, type F32, offset 0 */
    dc_gguf *g = NULL;
    assert_int_equal(dc_gguf_parse(&g_a, f, 68, 68, &g, NULL), DC_OK);
    assert_int_equal(g->n_tensors, 1);
    assert_int_equal(g->tensors[0].nbytes, 4);
    dc_gguf_buf b = {&g_a, NULL, 0, 0, 0, 0};
    dc_gguf_section_encode(g, &b);
    dc_gguf *s = NULL;
    assert_int_equal(dc_gguf_section_parse(&g_a, b.p, b.len, &s, NULL), DC_OK);
    dc_gguf_free(s);
    dc_gguf_buf_free(&b);
    dc_gguf_free(g);
}

static void test_f16(void **state) {
    (void)state;
    /* every binary16 value converts exactly and back (NaNs stay NaN) */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = dc_f16_to_f32((uint16_t)h);
        uint16_t back = dc_f32_to_f16(f);
        if (isnan(f))
            assert_true((back & 0x7C00) == 0x7C00 && (back & 0x3FF) != 0);
        else
            assert_int_equal(back, h);
    }
    assert_true(dc_f16_to_f32(0x3C00) == 1.0f);
    assert_true(dc_f16_to_f32(0x0001) == ldexpf(1.0f, -24));
    assert_int_equal(dc_f32_to_f16(65520.0f), 0x7C00);                 /* rounds to infinity */
    assert_int_equal(dc_f32_to_f16(1.0f + ldexpf(1.0f, -11)), 0x3C00); /* ties to even */
    assert_int_equal(dc_f32_to_f16(ldexpf(1.0f, -26)), 0);
}

/* A .dcz with a key/value section: written, read back, old-style files
 * have none, and a damaged section is refused. */
static void test_container_section(void **state) {
    (void)state;
    char path[256], gpath[256];
    sample_path(gpath, sizeof gpath);
    write_sample(gpath);
    dc_gguf *g = NULL;
    assert_int_equal(dc_gguf_open(&g_a, gpath, &g, NULL), DC_OK);
    dc_gguf_buf sec = {&g_a, NULL, 0, 0, 0, 0};
    dc_gguf_section_encode(g, &sec);
    dc_gguf_free(g);
    snprintf(path, sizeof path, "%s/kv.dcz", g_dir);
    for (int with = 0; with < 2; with++) {
        dc_writer_options wo = {sizeof(wo), DC_CODEC_ANS, 0, 0, 1, 1, NULL, 0};
        dc_writer *w = NULL;
        assert_int_equal(dc_writer_create(path, &wo, &w), DC_OK);
        uint8_t bytes[100];
        for (int i = 0; i < 100; i++)
            bytes[i] = (uint8_t)(i % 7);
        dc_tensor_desc d = {.struct_size = sizeof(d), .name = "opaque", .ndim = 1, .dims = {100}};
        d.source_dtype = d.dtype = DC_DTYPE_I8; /* opaque bytes, bits 0 */
        d.prune_method = DC_PRUNE_NONE;
        assert_int_equal(dc_writer_add_tensor(w, &d, bytes, 100), DC_OK);
        uint8_t junk[8] = {1, 2, 3};
        assert_int_equal(dc_writer_set_kv_section(w, junk, 8), DC_ERR_INVALID_ARGUMENT);
        if (with) assert_int_equal(dc_writer_set_kv_section(w, sec.p, sec.len), DC_OK);
        assert_int_equal(dc_writer_finish(w), DC_OK);
        dc_reader *r = NULL;
        for (unsigned fl = 0; fl < 2; fl++) {
            dc_reader_options ro = {sizeof(ro), fl, NULL};
            assert_int_equal(dc_reader_open_file_ex(path, &ro, &r, NULL), DC_OK);
            size_t n = 1;
            const void *p = dc_reader_kv_section(r, &n);
            if (with) {
                assert_int_equal(n, sec.len);
                assert_memory_equal(p, sec.p, n);
            } else {
                assert_null(p);
                assert_int_equal(n, 0);
            }
            uint8_t back[100];
            assert_int_equal(dc_reader_decode_tensor(r, 0, back, 100, 1, NULL), DC_OK);
            assert_memory_equal(back, bytes, 100);
            dc_reader_close(r);
        }
    }
    /* damage: a byte of the section, its header entry */
    size_t n;
    uint8_t *f = slurp(path, &n);
    uint64_t off = dc_load_le64(f + 96);
    const size_t at[] = {(size_t)off + 40, 100, 112};
    for (int i = 0; i < 3; i++) {
        uint8_t *m = malloc(n);
        memcpy(m, f, n);
        m[at[i]] ^= 0x10;
        dc_reader *r = NULL;
        const char *why = NULL;
        assert_int_not_equal(dc_reader_open_memory(m, n, NULL, &r, &why), DC_OK);
        assert_non_null(why);
        free(m);
    }
    free(f);
    dc_gguf_buf_free(&sec);
}

int main(void) {
    dc_alloc_init(&g_a, NULL);
    if (!mkdtemp(g_dir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_smallest),          cmocka_unit_test(test_f16),
        cmocka_unit_test(test_container_section),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) rc = rc ? rc : 1;
    return rc;
}
