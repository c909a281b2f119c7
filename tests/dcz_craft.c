/*
 * dcz_craft.c -- writes small crafted (hostile or unusual) input files for
 * the dcz and dc-llama tests, so that no binary test file is committed.
 *
 *   dcz_craft dcz OUT KIND        a .dcz with valid checksums whose one tensor
 *                                 record is crafted; KIND: q4-huge-cols,
 *                                 group0, group-huge, name-utf8, meta-utf8
 *   dcz_craft llama2c OUT VOCAB   a tiny llama2.c checkpoint whose header's
 *                                 vocab field is VOCAB (negative: unshared
 *                                 classifier; -2147483648 allowed)
 *   dcz_craft tokenizer OUT N     a llama2.c tokenizer of N tokens
 *   dcz_craft st OUT KIND         a safetensors file; KIND: overlap (two
 *                                 tensors sharing bytes), empty (with zero-length
 *                                 tensors), name-utf8 (a name that is not UTF-8)
 *   dcz_craft stats MODEL STATS KIND
 *                                 a model with one linear tensor "w" [4 x 8] and
 *                                 statistics for it; KIND: ok, nan, inf, neg
 *   dcz_craft dump FILE NAME      prints dtype, shape and bytes (hex) of a
 *                                 safetensors tensor
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doublecomp.h"
#include "internal.h"
#include "safetensors.h"

typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

static void put(bytes *b, const void *data, size_t n) {
    b->p = realloc(b->p, b->n + n);
    if (!b->p) exit(4);
    memcpy(b->p + b->n, data, n);
    b->n += n;
}
static void put_u(bytes *b, uint64_t v, unsigned size) {
    uint8_t x[8];
    for (unsigned i = 0; i < size; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    put(b, x, size);
}
static void put_f32(bytes *b, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u(b, u, 4);
}
static void pad_to(bytes *b, size_t align) {
    static const uint8_t z[64];
    put(b, z, (align - b->n % align) % align);
}

static int write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        return fprintf(stderr, "cannot write %s\n", path), 3;
    return 0;
}

/* One tensor record of a .dcz tensor table (docs/format.md 6.4). */
typedef struct rec {
    const char *name;
    unsigned ndim, source_dtype, dtype, bits, gran;
    uint64_t dims[2], group_size, data_size, n_scales;
    uint32_t n_chunks;
} rec;

static int craft_dcz(const char *out, const char *kind) {
    rec r = {"w", 2, 0, 3, 8, 0, {2, 3}, 0, 6, 1, 1};
    const char *meta = "{\"tool\":\"dcz_craft\"}";
    uint8_t raw[6] = {1, 2, 3, 4, 5, 6};
    if (strcmp(kind, "q4-huge-cols") == 0) { /* a 4-bit row of 2^64 - 1 columns */
        r.bits = 4, r.dims[0] = 1, r.dims[1] = UINT64_MAX, r.data_size = 0, r.n_chunks = 0;
    } else if (strcmp(kind, "group0") == 0) { /* per-group, G = 0, no scales */
        r.gran = 2, r.group_size = 0, r.n_scales = 0;
    } else if (strcmp(kind, "group-huge") == 0) { /* per-group, G near 2^64, no scales */
        r.gran = 2, r.group_size = UINT64_MAX - 1, r.n_scales = 0;
    } else if (strcmp(kind, "name-utf8") == 0) {
        r.name = "w\xff\xfe\"x";
    } else if (strcmp(kind, "meta-utf8") == 0) {
        meta = "{\"a\":\"\xc3\x28\"}";
    } else {
        return fprintf(stderr, "unknown dcz kind %s\n", kind), 1;
    }
    bytes f = {0};
    uint8_t zero[128] = {0};
    put(&f, zero, 128);
    /* the chunk */
    uint64_t chunk_off = f.n;
    uint8_t chunk[256];
    size_t csize = 0;
    dc_cctx *cc;
    if (dc_cctx_create(NULL, &cc) != DC_OK ||
        dc_chunk_compress(cc, raw, sizeof(raw), chunk, sizeof(chunk), &csize) != DC_OK)
        return 4;
    dc_cctx_free(cc);
    if (r.n_chunks) put(&f, chunk, csize);
    pad_to(&f, 64);
    /* the tensor table */
    bytes t = {0};
    size_t nlen = strlen(r.name);
    put_u(&t, nlen, 2);
    put(&t, r.name, nlen);
    put_u(&t, r.ndim, 1), put_u(&t, r.source_dtype, 1), put_u(&t, r.dtype, 1);
    put_u(&t, r.bits, 1), put_u(&t, r.gran, 1), put_u(&t, 0xFF, 1), put_u(&t, 0, 2);
    put_u(&t, r.group_size, 8), put_f32(&t, 0), put_f32(&t, 0);
    for (unsigned k = 0; k < r.ndim; k++)
        put_u(&t, r.dims[k], 8);
    put_u(&t, r.data_size, 8), put_u(&t, 0, 4), put_u(&t, r.n_chunks, 4);
    put_u(&t, r.n_scales, 8);
    for (uint64_t k = 0; k < r.n_scales; k++)
        put_f32(&t, 0.5f);
    put_u(&t, 0, 8); /* no smoothing scales */
    uint64_t table_off = f.n;
    put_u(&f, t.n + 4, 4);
    put(&f, t.p, t.n);
    uint64_t table_size = f.n - table_off;
    pad_to(&f, 64);
    /* the chunk index */
    uint64_t index_off = f.n;
    if (r.n_chunks) {
        put_u(&f, chunk_off, 8), put_u(&f, csize, 4), put_u(&f, sizeof(raw), 4);
        put_u(&f, dc_load_le32(chunk + 16), 4), put_u(&f, chunk[4], 1);
        put_u(&f, 0, 3), put_u(&f, 0, 4), put_u(&f, 0, 4);
    }
    pad_to(&f, 64);
    uint64_t meta_off = f.n;
    put(&f, meta, strlen(meta));
    uint8_t *h = f.p;
    memcpy(h,
           "\x89"
           "DCZ\r\n\x1a\n",
           8);
    dc_store_le32(h + 8, 1);
    dc_store_le64(h + 16, f.n);
    dc_store_le64(h + 24, 1);
    dc_store_le64(h + 32, table_off);
    dc_store_le64(h + 40, table_size);
    dc_store_le64(h + 48, index_off);
    dc_store_le64(h + 56, r.n_chunks);
    dc_store_le64(h + 64, meta_off);
    dc_store_le64(h + 72, strlen(meta));
    dc_store_le32(h + 80, dc_checksum32(h + table_off, table_size));
    dc_store_le32(h + 84, dc_checksum32(h + index_off, 32 * (size_t)r.n_chunks));
    dc_store_le32(h + 88, dc_checksum32(h + meta_off, strlen(meta)));
    dc_store_le32(h + 92, dc_checksum32(h, 92));
    int rc = write_file(out, f.p, f.n);
    free(f.p), free(t.p);
    return rc;
}

/* dim 8, hidden 16, 1 layer, 2 heads, 2 kv heads, seq 16 */
static int craft_llama2c(const char *out, long vocab) {
    int32_t hdr[7] = {8, 16, 1, 2, 2, (int32_t)vocab, 16};
    long v = vocab < 0 ? (vocab == INT32_MIN ? 300 : -vocab) : vocab;
    size_t D = 8, H = 16, S = 16, hs = 4;
    size_t n = v * D + D + 4 * D * D + D + 3 * D * H + D + S * hs + (vocab < 0 ? v * D : 0);
    bytes b = {0};
    put(&b, hdr, sizeof(hdr));
    uint64_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        put_f32(&b, (float)((double)(s >> 40) / (double)(1ull << 24) - 0.5) * 0.5f);
    }
    int rc = write_file(out, b.p, b.n);
    free(b.p);
    return rc;
}

/* ids 0..2: <unk> <s> </s>; then the letters a..z, then "ab", "abc", ... */
static int craft_tokenizer(const char *out, long n) {
    bytes b = {0};
    put_u(&b, 8, 4); /* max token length */
    for (long i = 0; i < n; i++) {
        char tok[32];
        if (i < 3)
            snprintf(tok, sizeof(tok), "%s", i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>");
        else if (i < 3 + 26)
            snprintf(tok, sizeof(tok), "%c", (char)('a' + i - 3));
        else if (i == 29)
            snprintf(tok, sizeof(tok), " ");
        else
            snprintf(tok, sizeof(tok), "t%ld", i);
        put_f32(&b, (float)-i);
        put_u(&b, strlen(tok), 4);
        put(&b, tok, strlen(tok));
    }
    int rc = write_file(out, b.p, b.n);
    free(b.p);
    return rc;
}

/* A safetensors file from a literal JSON header and a data section. */
static int write_st(const char *out, const char *json, const void *data, size_t n) {
    bytes b = {0};
    size_t len = strlen(json), padded = (len + 7) / 8 * 8;
    put_u(&b, padded, 8);
    put(&b, json, len);
    put(&b, "        ", padded - len);
    put(&b, data, n);
    int rc = write_file(out, b.p, b.n);
    free(b.p);
    return rc;
}

static int craft_st(const char *out, const char *kind) {
    float v[32];
    for (int i = 0; i < 32; i++)
        v[i] = 0.01f * (float)(i - 16);
    if (strcmp(kind, "overlap") == 0)
        return write_st(out,
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[0,64]},"
                        "\"b\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[32,96]}}",
                        v, 96);
    if (strcmp(kind, "empty") == 0)
        return write_st(out,
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4,8],\"data_offsets\":[0,128]},"
                        "\"e\":{\"dtype\":\"F32\",\"shape\":[0,8],\"data_offsets\":[128,128]},"
                        "\"e16\":{\"dtype\":\"F16\",\"shape\":[0],\"data_offsets\":[128,128]}}",
                        v, 128);
    if (strcmp(kind, "i8-scales") == 0) { /* pre-quantized per channel, no dcz metadata */
        int8_t q[8] = {1, -2, 3, -4, 5, -6, 7, -127};
        float sc[2] = {0.25f, 0.0625f};
        uint8_t data[16];
        memcpy(data, q, 8), memcpy(data + 8, sc, 8);
        return write_st(out,
                        "{\"w\":{\"dtype\":\"I8\",\"shape\":[2,4],\"data_offsets\":[0,8]},"
                        "\"w.scales\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                        data, 16);
    }
    if (strcmp(kind, "name-utf8") == 0)
        return write_st(out,
                        "{\"w\xff\":{\"dtype\":\"F32\",\"shape\":[4,8],\"data_offsets\":[0,128]}}",
                        v, 128);
    return fprintf(stderr, "unknown st kind %s\n", kind), 1;
}

static int craft_stats(const char *model, const char *stats, const char *kind) {
    float w[32];
    for (int i = 0; i < 32; i++)
        w[i] = 0.01f * (float)(i - 16);
    int rc = write_st(model, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4,8],\"data_offsets\":[0,128]}}",
                      w, 128);
    if (rc) return rc;
    float amax[8], sumsq[8];
    for (int j = 0; j < 8; j++)
        amax[j] = 1.0f + (float)j, sumsq[j] = 10.0f + (float)j;
    if (strcmp(kind, "nan") == 0)
        amax[3] = NAN;
    else if (strcmp(kind, "inf") == 0)
        sumsq[5] = INFINITY;
    else if (strcmp(kind, "neg") == 0)
        amax[0] = -1.0f;
    else if (strcmp(kind, "ok") != 0)
        return fprintf(stderr, "unknown stats kind %s\n", kind), 1;
    uint8_t data[64];
    for (int j = 0; j < 8; j++) {
        uint32_t u;
        memcpy(&u, &amax[j], 4);
        dc_store_le32(data + 4 * j, u);
        memcpy(&u, &sumsq[j], 4);
        dc_store_le32(data + 32 + 4 * j, u);
    }
    return write_st(stats,
                    "{\"__metadata__\":{\"format\":\"doublecomp.stats\",\"version\":\"1\","
                    "\"w.tokens\":\"100\"},"
                    "\"w.amax\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]},"
                    "\"w.sumsq\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[32,64]}}",
                    data, 64);
}

static int dump(const char *path, const char *name) {
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_st_file *f;
    if (dc_st_open(&a, path, &f) != DC_OK) return fprintf(stderr, "cannot open %s\n", path), 2;
    const dc_st_tensor *t = dc_st_find(f->hdr, name);
    if (!t) return dc_st_close(f), fprintf(stderr, "no tensor %s\n", name), 2;
    printf("%s [", dc_st_dtype_string(t->dtype));
    for (size_t d = 0; d < t->ndim; d++)
        printf("%s%llu", d ? "," : "", (unsigned long long)t->shape[d]);
    printf("]");
    size_t n = (size_t)(t->end - t->begin);
    uint8_t *b = malloc(n ? n : 1);
    if (!b || dc_st_read(f, t, b, n) != DC_OK) return 3;
    for (size_t i = 0; i < n; i++)
        printf("%s%02x", i % 32 ? "" : "\n", b[i]);
    printf("\n");
    free(b);
    dc_st_close(f);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "dump") == 0) return dump(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "dcz") == 0) return craft_dcz(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "llama2c") == 0)
        return craft_llama2c(argv[2], strtol(argv[3], NULL, 10));
    if (argc == 4 && strcmp(argv[1], "tokenizer") == 0)
        return craft_tokenizer(argv[2], strtol(argv[3], NULL, 10));
    if (argc == 4 && strcmp(argv[1], "st") == 0) return craft_st(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "stats") == 0) return craft_stats(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: see tests/dcz_craft.c\n");
    return 1;
}
