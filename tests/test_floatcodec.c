/*
 * test_floatcodec.c -- the lossless float codec (DC_CODEC_FLOAT, chunk tag
 * 5): bit-exact round trips of BF16, F16 and F32 (every bit pattern, odd
 * sizes, every SIMD path), hostile payloads, the writer's per-tensor choice,
 * and real weights (stories260K rounded to BF16) against plain ANS.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "doublecomp.h"
#include "gen.h"
#include "internal.h"

static const dc_simd kPaths[] = {DC_SIMD_SCALAR, DC_SIMD_AVX2, DC_SIMD_AVX512,
                                 DC_SIMD_AVX2_SWGATHER, DC_SIMD_AVX512_SWGATHER, DC_SIMD_NEON};
#define NPATHS (sizeof(kPaths) / sizeof(kPaths[0]))

static uint16_t to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    x += 0x7FFFu + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

/* n bytes of weights-like floats of `w` bytes each (Laplace, scale 0.02). */
static void gen_floats(uint8_t *dst, size_t n, unsigned w, uint64_t seed) {
    for (size_t i = 0; i + w <= n; i += w) {
        double u = gen_unit(&seed) - 0.5;
        float v = (float)(-(u < 0 ? -1.0 : 1.0) * log(1.0 - 2.0 * fabs(u)) * 0.02);
        if (w == 4) {
            memcpy(dst + i, &v, 4);
        } else {
            uint16_t h = to_bf16(v);
            dst[i] = (uint8_t)h, dst[i + 1] = (uint8_t)(h >> 8);
        }
    }
    for (size_t i = n - n % w; i < n; i++)
        dst[i] = (uint8_t)gen_next(&seed);
}

static uint8_t *compress_float(unsigned w, size_t chunk, const uint8_t *src, size_t n,
                               size_t *out_size) {
    dc_compress_options o = {sizeof(o), DC_CODEC_FLOAT, (int)w, chunk, NULL};
    dc_cctx *c;
    assert_int_equal(dc_cctx_create(&o, &c), DC_OK);
    size_t cap = dc_compress_bound(n);
    uint8_t *dst = malloc(cap ? cap : 1);
    assert_non_null(dst);
    assert_int_equal(dc_compress(c, src, n, dst, cap, out_size), DC_OK);
    dc_cctx_free(c);
    return dst;
}

/* Decodes with every SIMD path and with no context; each must give src. */
static void decode_all_paths(const uint8_t *comp, size_t csize, const uint8_t *src, size_t n) {
    uint8_t *out = malloc(n + 1);
    assert_non_null(out);
    for (size_t k = 0; k < NPATHS; k++) {
        if (!dc_simd_supported(kPaths[k])) continue;
        dc_decompress_options o = {sizeof(o), kPaths[k], NULL, 0};
        dc_dctx *d;
        assert_int_equal(dc_dctx_create(&o, &d), DC_OK);
        size_t w = 12345;
        memset(out, 0xA5, n + 1);
        assert_int_equal(dc_decompress(d, comp, csize, out, n, &w), DC_OK);
        assert_int_equal(w, n);
        if (n) assert_memory_equal(out, src, n);
        assert_int_equal(out[n], 0xA5);
        dc_dctx_free(d);
    }
    size_t w;
    assert_int_equal(dc_decompress(NULL, comp, csize, out, n, &w), DC_OK);
    assert_int_equal(w, n);
    if (n) assert_memory_equal(out, src, n);
    free(out);
}

/* Codec of every chunk of a sequence: 1 if all are `want`. */
static int all_chunks(const uint8_t *comp, size_t csize, dc_codec want) {
    for (size_t off = 0, cb; off < csize; off += cb) {
        dc_codec c;
        assert_int_equal(dc_chunk_info(comp + off, csize - off, &cb, NULL, &c), DC_OK);
        if (c != want) return 0;
    }
    return 1;
}

static void test_roundtrip_sizes(void **state) {
    (void)state;
    static const size_t sizes[] = {0, 1, 2, 3, 5, 7, 64, 1023, 1024, 4097, 65539, 262144, 300001};
    const size_t maxn = 300001;
    uint8_t *buf = malloc(maxn);
    assert_non_null(buf);
    for (unsigned w = 2; w <= 4; w += 2)
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            size_t n = sizes[s], csize;
            gen_floats(buf, n, w, 7 + n);
            for (int c = 0; c < 2; c++) {
                uint8_t *comp = compress_float(w, c ? DC_CHUNK_SIZE_MIN : 0, buf, n, &csize);
                if (n >= 4096 && c == 0) assert_true(all_chunks(comp, csize, DC_CODEC_FLOAT));
                if (n >= 4096) assert_true(csize < n);
                decode_all_paths(comp, csize, buf, n);
                free(comp);
            }
        }
    free(buf);
}

/* Every 16-bit pattern (NaNs, infinities, signed zeros, subnormals) and
 * 32-bit patterns of every exponent come back bit for bit. */
static void test_every_pattern(void **state) {
    (void)state;
    uint8_t *buf = malloc(65536 * 4);
    assert_non_null(buf);
    for (uint32_t v = 0; v < 65536; v++)
        buf[2 * v] = (uint8_t)v, buf[2 * v + 1] = (uint8_t)(v >> 8);
    size_t csize;
    uint8_t *comp = compress_float(2, 0, buf, 2 * 65536, &csize);
    decode_all_paths(comp, csize, buf, 2 * 65536);
    free(comp);
    uint64_t seed = 3;
    for (uint32_t i = 0; i < 65536; i++) {
        uint32_t v = (uint32_t)gen_next(&seed);
        v = (v & 0x807FFFFFu) | (i & 255u) << 23; /* every exponent, NaN/Inf included */
        memcpy(buf + 4 * i, &v, 4);
    }
    comp = compress_float(4, 0, buf, 4 * 65536, &csize);
    decode_all_paths(comp, csize, buf, 4 * 65536);
    free(comp);
    free(buf);
}

/* Planes that are one repeated byte (a run) and chunks that are one repeated
 * element; a chunk of one repeated byte is a run chunk whatever the codec. */
static void test_runs(void **state) {
    (void)state;
    const size_t n = 8192;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i += 2) /* 1.0 in BF16: both planes are runs */
        buf[i] = 0x80, buf[i + 1] = 0x3F;
    size_t csize;
    uint8_t *comp = compress_float(2, 0, buf, n, &csize);
    assert_true(all_chunks(comp, csize, DC_CODEC_FLOAT));
    assert_true(csize < 64);
    decode_all_paths(comp, csize, buf, n);
    free(comp);
    uint64_t seed = 9;
    for (size_t i = 0; i < n; i += 2) /* a constant high byte, random low byte */
        buf[i] = (uint8_t)gen_next(&seed), buf[i + 1] = 0x3C;
    comp = compress_float(2, 0, buf, n, &csize);
    decode_all_paths(comp, csize, buf, n);
    free(comp);
    memset(buf, 0, n);
    comp = compress_float(4, 0, buf, n, &csize);
    assert_true(all_chunks(comp, csize, DC_CODEC_RUN));
    decode_all_paths(comp, csize, buf, n);
    free(comp);
    free(buf);
}

/* Options: element sizes 1, 2, 4 (0 = 2); others are out of range. Element
 * size 1 is plain ANS. */
static void test_options(void **state) {
    (void)state;
    dc_cctx *c = NULL;
    for (int level = -1; level <= 8; level++) {
        dc_compress_options o = {sizeof(o), DC_CODEC_FLOAT, level, 0, NULL};
        dc_status st = dc_cctx_create(&o, &c);
        if (level == 0 || level == 1 || level == 2 || level == 4) {
            assert_int_equal(st, DC_OK);
            dc_cctx_free(c);
        } else {
            assert_int_equal(st, DC_ERR_RANGE);
            assert_null(c);
        }
    }
    assert_string_equal(dc_codec_name(DC_CODEC_FLOAT), "float");
    const size_t n = 20000;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    gen_floats(buf, n, 2, 5);
    size_t csize;
    uint8_t *comp = compress_float(1, 0, buf, n, &csize);
    assert_true(all_chunks(comp, csize, DC_CODEC_ANS));
    decode_all_paths(comp, csize, buf, n);
    free(comp);
    free(buf);
}

/* Hostile payloads: every truncation and every single-bit flip of a float
 * chunk is rejected or (a flip that changes nothing decoded) gives the
 * original; never a crash, and all SIMD paths agree. */
static void test_corruption(void **state) {
    (void)state;
    const size_t n = 2050; /* a tail byte pair for w = 4 */
    uint8_t src[2050], out[2050];
    for (unsigned w = 2; w <= 4; w += 2) {
        gen_floats(src, n, w, 21);
        size_t csize;
        uint8_t *comp = compress_float(w, 0, src, n, &csize);
        assert_true(all_chunks(comp, csize, DC_CODEC_FLOAT));
        size_t wr;
        for (size_t len = 0; len < csize; len++)
            assert_int_not_equal(dc_chunk_decompress(NULL, comp, len, out, n, &wr), DC_OK);
        for (size_t bit = 0; bit < csize * 8; bit++) {
            comp[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            dc_status first = DC_OK;
            int have = 0;
            for (size_t k = 0; k < NPATHS; k++) {
                if (!dc_simd_supported(kPaths[k])) continue;
                dc_decompress_options o = {sizeof(o), kPaths[k], NULL, 0};
                dc_dctx *d;
                assert_int_equal(dc_dctx_create(&o, &d), DC_OK);
                dc_status st = dc_chunk_decompress(d, comp, csize, out, n, &wr);
                if (st == DC_OK) {
                    assert_int_equal(wr, n);
                    assert_memory_equal(out, src, n);
                }
                if (have) assert_int_equal(st, first);
                first = st, have = 1;
                dc_dctx_free(d);
            }
            comp[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        /* unknown parameter bits and element codes: a later layout */
        for (unsigned p = 0; p < 256; p++) {
            uint8_t save = comp[5];
            comp[5] = (uint8_t)p;
            dc_status st = dc_chunk_info(comp, csize, NULL, NULL, NULL);
            if ((p & ~7u) || (p & 3u) == 0 || (p & 3u) == 3)
                assert_int_equal(st, DC_ERR_UNSUPPORTED);
            else
                assert_int_equal(st, DC_OK);
            comp[5] = save;
        }
        /* tag 5 did not exist in chunk version 1 */
        comp[3] = 1;
        assert_int_equal(dc_chunk_info(comp, csize, NULL, NULL, NULL), DC_ERR_UNSUPPORTED);
        free(comp);
    }
}

/* The writer with DC_CODEC_FLOAT: float tensors by their element size,
 * quantized ones with ANS; the reader gives back every byte. */
static void test_writer(void **state) {
    (void)state;
    char path[] = "/tmp/test_floatcodec.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const size_t rows = 96, cols = 640;
    uint8_t *f32 = malloc(rows * cols * 4), *bf16 = malloc(rows * cols * 2);
    int8_t *i8 = malloc(rows * cols);
    assert_non_null(f32), assert_non_null(bf16), assert_non_null(i8);
    gen_floats(f32, rows * cols * 4, 4, 1);
    gen_floats(bf16, rows * cols * 2, 2, 2);
    gen_laplace((uint8_t *)i8, rows * cols, 4.2, 0, 3);
    dc_writer_options wo = {sizeof(wo), DC_CODEC_FLOAT, 0, 65536, 2, 1, NULL, 0};
    dc_writer *w;
    assert_int_equal(dc_writer_create(path, &wo, &w), DC_OK);
    static const float one = 1.0f;
    dc_tensor_desc d[3];
    const void *data[3] = {f32, bf16, i8};
    const size_t size[3] = {rows * cols * 4, rows * cols * 2, rows * cols};
    const char *names[3] = {"a.f32", "b.bf16", "c.i8"};
    const dc_dtype dt[3] = {DC_DTYPE_F32, DC_DTYPE_BF16, DC_DTYPE_I8};
    for (int t = 0; t < 3; t++) {
        memset(&d[t], 0, sizeof(d[t]));
        d[t].struct_size = sizeof(d[t]);
        d[t].name = names[t];
        d[t].ndim = 2, d[t].dims[0] = rows, d[t].dims[1] = cols;
        d[t].source_dtype = d[t].dtype = dt[t];
        d[t].prune_method = DC_PRUNE_NONE;
        if (t == 2) d[t].bits = 8, d[t].scales = &one, d[t].n_scales = 1;
        assert_int_equal(dc_writer_add_tensor(w, &d[t], data[t], size[t]), DC_OK);
    }
    assert_int_equal(dc_writer_set_metadata(w, "{}"), DC_OK);
    assert_int_equal(dc_writer_finish(w), DC_OK);
    dc_reader *r;
    assert_int_equal(dc_reader_open_file(path, NULL, &r, NULL), DC_OK);
    uint8_t *out = malloc(rows * cols * 4);
    assert_non_null(out);
    for (size_t t = 0; t < 3; t++) {
        dc_tensor_desc rd = {.struct_size = sizeof(rd)};
        assert_int_equal(dc_reader_tensor(r, t, &rd), DC_OK);
        assert_int_equal(dc_reader_decode_tensor(r, t, out, size[t], 2, NULL), DC_OK);
        assert_memory_equal(out, data[t], size[t]);
        for (size_t k = 0; k < rd.n_chunks; k++) {
            dc_chunk_location l = {.struct_size = sizeof(l)};
            assert_int_equal(dc_reader_chunk_location(r, t, k, &l), DC_OK);
            assert_int_equal(l.codec, t < 2 ? DC_CODEC_FLOAT : DC_CODEC_ANS);
        }
    }
    free(out);
    dc_reader_close(r);
    unlink(path);
    free(f32), free(bf16), free(i8);
}

/* stories260K's weights rounded to BF16: the float codec beats the plain
 * ANS codec on the same bytes by a wide margin and decodes bit-exactly. */
static void test_real_weights(void **state) {
    (void)state;
    size_t size;
    uint8_t *file = gen_read_file(DC_SHARED_DIR "/models/stories260K.bin", &size);
    if (!file) {
        print_message("SKIP: %s not found (../shared absent); real-weight test not run\n",
                      DC_SHARED_DIR "/models/stories260K.bin");
        skip();
    }
    size_t nf = (size - 28) / 4;
    uint8_t *bf = malloc(2 * nf);
    assert_non_null(bf);
    for (size_t i = 0; i < nf; i++) {
        float f;
        memcpy(&f, file + 28 + 4 * i, 4);
        uint16_t h = to_bf16(f);
        bf[2 * i] = (uint8_t)h, bf[2 * i + 1] = (uint8_t)(h >> 8);
    }
    free(file);
    size_t cf, ca;
    uint8_t *comp = compress_float(2, 0, bf, 2 * nf, &cf);
    decode_all_paths(comp, cf, bf, 2 * nf);
    free(comp);
    dc_compress_options o = {sizeof(o), DC_CODEC_ANS, 0, 0, NULL};
    dc_cctx *c;
    assert_int_equal(dc_cctx_create(&o, &c), DC_OK);
    size_t cap = dc_compress_bound(2 * nf);
    uint8_t *a = malloc(cap);
    assert_non_null(a);
    assert_int_equal(dc_compress(c, bf, 2 * nf, a, cap, &ca), DC_OK);
    dc_cctx_free(c);
    free(a);
    print_message("stories260K BF16: float codec ratio %.4f, plain ANS %.4f\n",
                  (double)(2 * nf) / (double)cf, (double)(2 * nf) / (double)ca);
    assert_true((double)cf * 1.1 < (double)ca);
    free(bf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_sizes),
        cmocka_unit_test(test_every_pattern),
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_writer),
        cmocka_unit_test(test_real_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
