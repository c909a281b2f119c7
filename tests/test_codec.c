/*
 * test_codec.c -- round trips, SIMD equivalence and hostile input for the
 * chunked codec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "doublecomp.h"
#include "gen.h"
#include "internal.h"

static const dc_simd kPaths[] = {DC_SIMD_SCALAR,          DC_SIMD_AVX2,
                                 DC_SIMD_AVX512,          DC_SIMD_AVX2_SWGATHER,
                                 DC_SIMD_AVX512_SWGATHER, DC_SIMD_NEON};
#define NPATHS (sizeof(kPaths) / sizeof(kPaths[0]))
static const dc_codec kCodecs[] = {DC_CODEC_ANS, DC_CODEC_ZSTD, DC_CODEC_LZ4, DC_CODEC_RAW};

static uint8_t *compress_with(dc_codec codec, size_t chunk, const uint8_t *src, size_t n,
                              size_t *out_size) {
    dc_compress_options o = {sizeof(o), codec, 0, chunk, NULL};
    dc_cctx *c;
    assert_int_equal(dc_cctx_create(&o, &c), DC_OK);
    size_t cap = dc_compress_bound(n);
    assert_true(cap >= n);
    uint8_t *dst = malloc(cap ? cap : 1);
    assert_non_null(dst);
    assert_int_equal(dc_compress(c, src, n, dst, cap, out_size), DC_OK);
    assert_true(*out_size <= cap);
    dc_cctx_free(c);
    return dst;
}

/* Decodes with every SIMD path the CPU has; each must reproduce src exactly. */
static void decode_all_paths(const uint8_t *comp, size_t csize, const uint8_t *src, size_t n) {
    size_t total;
    assert_int_equal(dc_decompressed_size(comp, csize, &total), DC_OK);
    assert_int_equal(total, n);
    uint8_t *out = malloc(n + 1);
    assert_non_null(out);
    for (size_t k = 0; k < sizeof(kPaths) / sizeof(kPaths[0]); k++) {
        if (!dc_simd_supported(kPaths[k])) continue;
        dc_decompress_options o = {sizeof(o), kPaths[k], NULL, 0};
        dc_dctx *d;
        assert_int_equal(dc_dctx_create(&o, &d), DC_OK);
        size_t w = 12345;
        memset(out, 0xA5, n + 1);
        assert_int_equal(dc_decompress(d, comp, csize, out, n, &w), DC_OK);
        assert_int_equal(w, n);
        if (n) assert_memory_equal(out, src, n);
        dc_dctx_free(d);
    }
    /* NULL context: the documented default path. */
    size_t w;
    assert_int_equal(dc_decompress(NULL, comp, csize, out, n, &w), DC_OK);
    assert_int_equal(w, n);
    if (n) assert_memory_equal(out, src, n);
    free(out);
}

static void roundtrip(const uint8_t *src, size_t n, size_t chunk) {
    for (size_t c = 0; c < sizeof(kCodecs) / sizeof(kCodecs[0]); c++) {
        size_t csize;
        if (!dc_codec_supported(kCodecs[c])) continue; /* built without it */
        uint8_t *comp = compress_with(kCodecs[c], chunk, src, n, &csize);
        decode_all_paths(comp, csize, src, n);
        free(comp);
    }
}

static void test_sizes(void **state) {
    (void)state;
    const size_t chunk = 4096;
    size_t sizes[] = {0, 1, 2, 31, 32, 33, chunk - 1, chunk, chunk + 1, 10 * chunk + 17};
    uint8_t *buf = malloc(10 * chunk + 17);
    assert_non_null(buf);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        gen_laplace(buf, sizes[i], 4.2, 0.0, 100 + i);
        roundtrip(buf, sizes[i], chunk);
    }
    free(buf);
}

static void test_inputs(void **state) {
    (void)state;
    const size_t n = 300000;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    memset(buf, 0x7F, n); /* constant */
    roundtrip(buf, n, 0);
    gen_uniform(buf, n, 1); /* incompressible */
    roundtrip(buf, n, 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = (gen_next(&(uint64_t){i}) % 1000) ? 0 : 3; /* skewed */
    roundtrip(buf, n, 0);
    gen_laplace(buf, n, 0.3, 0.0, 2); /* very skewed: a few symbols */
    roundtrip(buf, n, 0);
    gen_laplace(buf, n, 4.2, 0.6, 3); /* 60% zeros */
    roundtrip(buf, n, 0);
    gen_laplace(buf, n, 30.0, 0.0, 4); /* wide: every symbol */
    roundtrip(buf, n, 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i & 1); /* two symbols, 50/50 */
    roundtrip(buf, n, 0);
    free(buf);
}

static void test_real_weights(void **state) {
    (void)state;
    const char *models[] = {DC_SHARED_DIR "/models/stories260K.bin",
                            DC_SHARED_DIR "/models/aidreams260K.bin"};
    for (int m = 0; m < 2; m++) {
        size_t n;
        uint8_t *q = gen_llama2c_int8(models[m], &n);
        if (!q) {
            print_message("SKIP: %s not found (../shared absent); real-weight round trip not run\n",
                          models[m]);
            skip();
        }
        roundtrip(q, n, 0);
        roundtrip(q, n, 4096);
        free(q);
    }
}

/* The header tag tells which coder was used; check the selection rules. */
static void test_codec_selection(void **state) {
    (void)state;
    const size_t n = 100000;
    uint8_t *buf = malloc(n);
    uint8_t *dst = malloc(dc_compress_bound(n));
    size_t w, raw, cb;
    dc_codec codec;
    assert_non_null(buf);
    assert_non_null(dst);
    gen_laplace(buf, n, 4.2, 0.0, 5);
    assert_int_equal(dc_chunk_compress(NULL, buf, n, dst, dc_compress_bound(n), &w), DC_OK);
    assert_int_equal(dc_chunk_info(dst, w, &cb, &raw, &codec), DC_OK);
    assert_int_equal(codec, DC_CODEC_ANS);
    assert_int_equal(cb, w);
    assert_int_equal(raw, n);
    gen_uniform(buf, n, 6);
    assert_int_equal(dc_chunk_compress(NULL, buf, n, dst, dc_compress_bound(n), &w), DC_OK);
    assert_int_equal(dc_chunk_info(dst, w, NULL, NULL, &codec), DC_OK);
    assert_int_equal(codec, DC_CODEC_RAW);
    assert_int_equal(w, n + DC_CHUNK_HEADER_SIZE);
    memset(buf, 9, n);
    assert_int_equal(dc_chunk_compress(NULL, buf, n, dst, dc_compress_bound(n), &w), DC_OK);
    assert_int_equal(dc_chunk_info(dst, w, NULL, NULL, &codec), DC_OK);
    assert_int_equal(codec, DC_CODEC_RUN);
    assert_int_equal(w, DC_CHUNK_HEADER_SIZE + 1);
    free(buf);
    free(dst);
}

/* ANS must come within 0.7% of the order-0 entropy at the default chunk size
 * (12-bit probabilities, 64 states and the table cost about 0.3-0.7%). */
static void test_ratio_near_entropy(void **state) {
    (void)state;
    const size_t n = 4 * DC_CHUNK_SIZE_DEFAULT;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    const double zeros[] = {0.0, 0.3, 0.6};
    for (int z = 0; z < 3; z++) {
        gen_laplace(buf, n, 4.2, zeros[z], 7);
        double ent_bytes = 0;
        for (size_t off = 0; off < n; off += DC_CHUNK_SIZE_DEFAULT)
            ent_bytes +=
                gen_entropy_bits(buf + off, DC_CHUNK_SIZE_DEFAULT) / 8 * DC_CHUNK_SIZE_DEFAULT;
        size_t csize;
        uint8_t *comp = compress_with(DC_CODEC_ANS, 0, buf, n, &csize);
        double ratio = (double)n / (double)csize, eratio = (double)n / ent_bytes;
        print_message("zeros %.1f: ratio %.4f entropy ratio %.4f (%.3f%%)\n", zeros[z], ratio,
                      eratio, 100.0 * ratio / eratio);
        assert_true(ratio >= 0.993 * eratio);
        free(comp);
    }
    free(buf);
}

/* Every forced SIMD path produces the same bytes as the scalar reference for
 * every length mod 64, every state count and stream-tail situation. */
static void test_simd_kernels(void **state) {
    (void)state;
    const size_t max = 9000;
    uint8_t *src = malloc(max), *ref = malloc(3 * max + 2048), *out = malloc(max);
    uint8_t *pay = malloc(3 * max + 2048);
    void *scratch = malloc(dc_ans_scratch_size(max));
    dc_ans_table *table = malloc(sizeof(dc_ans_table));
    assert_true(src && ref && out && pay && scratch && table);
    for (size_t n = 2; n < max; n = n * 5 / 4 + 1) {
        for (int dist = 0; dist < 3; dist++) {
            if (dist == 0) gen_laplace(src, n, 4.2, 0.0, n);
            if (dist == 1) gen_laplace(src, n, 0.2, 0.0, n); /* near-constant: few words */
            if (dist == 2) gen_uniform(src, n, n);           /* many words */
            src[0] = 1, src[1] = 2;                          /* at least two symbols */
            uint32_t counts[256];
            dc_histogram(src, n, counts);
            /* 128, 64 and 32 states (the SIMD decoders' cases), and each smaller count */
            for (unsigned ns = 128; ns >= 4; ns /= 2) {
                unsigned param = 0;
                size_t psize =
                    dc_ans_encode(src, n, counts, pay, 3 * max + 2048, scratch, ns, &param);
                assert_true(psize > 0);
                /* the scalar encoder writes the same bytes as the SIMD one */
                dc_ans_encode_simd = 0;
                unsigned param0 = 0;
                assert_int_equal(
                    dc_ans_encode(src, n, counts, ref, 3 * max + 2048, scratch, ns, &param0),
                    psize);
                dc_ans_encode_simd = 1;
                assert_int_equal(param0, param);
                assert_memory_equal(ref, pay, psize);
                assert_true(dc_ans_param_valid(2, param));
                assert_int_equal(4u << ((param >> 4) & 7), ns);
                assert_int_equal(dc_ans_decode(2, pay, psize, param, ref, n, DC_SIMD_SCALAR, table),
                                 DC_OK);
                assert_memory_equal(ref, src, n);
                for (size_t k = 1; k < NPATHS; k++) {
                    if (!dc_simd_supported(kPaths[k])) continue;
                    memset(out, 0, n);
                    assert_int_equal(dc_ans_decode(2, pay, psize, param, out, n, kPaths[k], table),
                                     DC_OK);
                    assert_memory_equal(out, ref, n);
                }
            }
            unsigned param = 0; /* automatic: 4 states at this size */
            assert_true(dc_ans_encode(src, n, counts, pay, 3 * max + 2048, scratch, 0, &param) > 0);
            assert_int_equal((param >> 4) & 7, 0);
        }
    }
    free(src), free(ref), free(out), free(pay), free(scratch), free(table);
}

/* The automatic state count: 4 up to 16 KiB, 32 up to 64 KiB, then 64, or
 * 128 when the payload reaches 96 KiB at no more than 6 bits a byte (4.5
 * bits a byte: 160000 bytes make about 88 KiB, 200000 about 110 KiB; the
 * last case codes at about 7.4 bits a byte). */
static void test_state_counts(void **state) {
    (void)state;
    const size_t sizes[] = {16384, 16385, 65536, 65537, 160000, 200000, 262144};
    const unsigned want[] = {4, 32, 32, 64, 64, 128, 64};
    uint8_t *src = malloc(262144), *pay = malloc(300000), *ref = malloc(300000);
    void *scratch = malloc(dc_ans_scratch_size(262144));
    assert_true(src && pay && ref && scratch);
    gen_laplace(src, 262144, 4.2, 0.0, 5);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        uint32_t counts[256];
        unsigned param = 0;
        if (k == 6) gen_laplace(src, 262144, 30.0, 0.0, 5); /* about 7.4 bits a byte */
        dc_histogram(src, sizes[k], counts);
        size_t len = dc_ans_encode(src, sizes[k], counts, pay, 300000, scratch, 0, &param);
        assert_true(len > 0);
        assert_int_equal(4u << ((param >> 4) & 7), want[k]);
        /* scalar and SIMD encoders agree at full size too */
        dc_ans_encode_simd = 0;
        unsigned param0 = 0;
        assert_int_equal(dc_ans_encode(src, sizes[k], counts, ref, 300000, scratch, 0, &param0),
                         len);
        dc_ans_encode_simd = 1;
        assert_memory_equal(ref, pay, len);
    }
    free(src), free(pay), free(ref), free(scratch);
}

/* Chunks written by the previous release (format v1: 13-bit probabilities,
 * 32 and 4 states, coarse table, run and raw chunks) still decode, on every
 * path, to the bytes they were made from (tests/data/chunks_v1.dcc, made by
 * 0.1.0-pre 99096c5 from the generator calls below). */
static void test_v1_fixture(void **state) {
    (void)state;
    size_t csize = 0;
    uint8_t *comp = gen_read_file(DC_TEST_DATA_DIR "/chunks_v1.dcc", &csize);
    assert_non_null(comp);
    const size_t n = 40000 + 9000 + 300 + 700;
    uint8_t *raw = malloc(n);
    assert_non_null(raw);
    gen_laplace(raw, 40000, 4.2, 0.3, 7);
    gen_laplace(raw + 40000, 9000, 2.0, 0.0, 8);
    memset(raw + 49000, 0x55, 300);
    gen_uniform(raw + 49300, 700, 9);
    assert_int_equal(comp[3], 1); /* really v1 */
    decode_all_paths(comp, csize, raw, n);
    free(comp), free(raw);
}

/* dc_decompress on several threads gives the single-threaded output, and the
 * status of the first damaged chunk. */
static void test_threaded_decompress(void **state) {
    (void)state;
    const size_t n = 9 * 65536 + 1234;
    uint8_t *src = malloc(n), *out = malloc(n);
    assert_true(src && out);
    gen_laplace(src, n, 4.2, 0.1, 17);
    size_t csize;
    uint8_t *comp = compress_with(DC_CODEC_ANS, 65536, src, n, &csize);
    for (unsigned t = 0; t <= 4; t++) {
        dc_decompress_options o = {sizeof(o), DC_SIMD_AUTO, NULL, t};
        dc_dctx *d;
        assert_int_equal(dc_dctx_create(&o, &d), DC_OK);
        size_t w = 0;
        memset(out, 0, n);
        assert_int_equal(dc_decompress(d, comp, csize, out, n, &w), DC_OK);
        assert_int_equal(w, n);
        assert_memory_equal(out, src, n);
        assert_int_equal(dc_decompress(d, comp, csize, out, n - 1, &w), DC_ERR_DST_TOO_SMALL);
        /* damage the payload of chunk 5 (of 10): a checksum or corrupt error */
        size_t off = 0, cb = 0;
        for (int k = 0; k <= 5; k++, off += cb)
            assert_int_equal(dc_chunk_info(comp + off, csize - off, &cb, NULL, NULL), DC_OK);
        off -= cb;
        comp[off + cb / 2] ^= 0x40;
        dc_status st = dc_decompress(d, comp, csize, out, n, &w);
        assert_true(st == DC_ERR_CHECKSUM || st == DC_ERR_CORRUPT);
        comp[off + cb / 2] ^= 0x40;
        dc_dctx_free(d);
    }
    free(src), free(out), free(comp);
}

/* Found by fuzz_roundtrip: a 74-byte chunk whose most frequent byte holds just
 * under half of it. At 13 coder bits the table precision search picked a
 * coarse table whose scaled frequency reached 2^12, which the packed entry
 * cannot hold (the decoder refused the chunk). Every precision tried must fit. */
static void test_half_probability(void **state) {
    (void)state;
    uint8_t src[74];
    memset(src, 0xff, 22);
    src[22] = 0x23, src[23] = src[24] = src[25] = 0xff;
    memset(src + 26, 0x99, 10);
    src[36] = 0x2f, src[37] = 0xbc;
    memset(src + 38, 0x99, 27);
    const uint8_t tail[9] = {0x01, 0x1c, 0x2a, 0x1e, 0x1c, 0x31, 0x30, 0x2a, 0x1c};
    memcpy(src + 65, tail, 9);
    size_t csize;
    uint8_t *comp = compress_with(DC_CODEC_ANS, DC_CHUNK_SIZE_MIN, src, sizeof(src), &csize);
    decode_all_paths(comp, csize, src, sizeof(src));
    free(comp);
    /* and the same shape at every length and position of the half-probability byte */
    uint8_t buf[200];
    for (size_t n = 8; n <= sizeof(buf); n += 7)
        for (size_t half = n / 2 - 2; half <= n / 2 + 1; half++) {
            for (size_t i = 0; i < n; i++)
                buf[i] = i < half ? 0x99 : (uint8_t)(i * 37);
            comp = compress_with(DC_CODEC_ANS, DC_CHUNK_SIZE_MIN, buf, n, &csize);
            decode_all_paths(comp, csize, buf, n);
            free(comp);
        }
}

/* Writers emit chunk format v2. */
static void test_writes_v2(void **state) {
    (void)state;
    uint8_t src[5000], dst[6000];
    gen_laplace(src, sizeof(src), 4.2, 0.0, 3);
    size_t w;
    assert_int_equal(dc_chunk_compress(NULL, src, sizeof(src), dst, sizeof(dst), &w), DC_OK);
    assert_int_equal(dst[3], 2);
    dc_codec codec;
    assert_int_equal(dc_chunk_info(dst, w, NULL, NULL, &codec), DC_OK);
    assert_int_equal(codec, DC_CODEC_ANS);
    /* 13-bit probabilities where every frequency fits the packed entry, 12 where one
     * symbol holds half the chunk or more */
    assert_int_equal(dst[5] & 128, 128);
    for (size_t i = 0; i < sizeof(src); i++)
        if (i % 3) src[i] = 0;
    assert_int_equal(dc_chunk_compress(NULL, src, sizeof(src), dst, sizeof(dst), &w), DC_OK);
    assert_int_equal(dst[4], 1);
    assert_int_equal(dst[5] & 128, 0);
    uint8_t out[5000];
    assert_int_equal(dc_chunk_decompress(NULL, dst, w, out, sizeof(out), &w), DC_OK);
    assert_memory_equal(out, src, sizeof(src));
}

/* Pair payloads (docs/format.md 4.5): chosen for chunks of few symbols,
 * exact on every path (with and without escapes), not chosen for odd sizes
 * or dense data; and the decoder turns every damaged or inconsistent payload
 * into an error, never a crash or a read outside its buffers. */
static void test_pair_payloads(void **state) {
    (void)state;
    const size_t n = 256u << 10;
    uint8_t *src = malloc(n + 1), *dst = malloc(2 * n), *out = malloc(n + 1);
    void *scratch = malloc(dc_ans_scratch_size(n + 1));
    dc_ans_table *table = malloc(sizeof(dc_ans_table));
    assert_true(src && dst && out && scratch && table);
    size_t w, csize;
    for (int kind = 0; kind < 4; kind++) {
        /* 60% and 30% extra zeros; no escapes (15 symbols); dense (plain) */
        gen_laplace(src, n, kind == 3 ? 4.2 : 2.0,
                    kind == 0   ? 0.6
                    : kind == 1 ? 0.3
                                : 0.0,
                    (uint64_t)kind + 40);
        if (kind == 2)
            for (size_t i = 0; i < n; i++)
                src[i] = (uint8_t)((int8_t)src[i] > 7    ? 7
                                   : (int8_t)src[i] < -7 ? -7
                                                         : (int8_t)src[i]);
        assert_int_equal(dc_chunk_compress(NULL, src, n, dst, 2 * n, &w), DC_OK);
        assert_int_equal(dst[4], 1); /* ans */
        assert_int_equal(dst[5] == DC_ANS_PAIR_PARAM, kind != 3);
        uint8_t *comp = compress_with(DC_CODEC_ANS, n, src, n, &csize);
        decode_all_paths(comp, csize, src, n);
        free(comp);
    }
    /* an odd chunk is coded plain */
    gen_laplace(src, n + 1, 2.0, 0.6, 7);
    assert_int_equal(dc_chunk_compress(NULL, src, n + 1, dst, 2 * n, &w), DC_OK);
    assert_int_not_equal(dst[5], DC_ANS_PAIR_PARAM);

    /* the payload itself, damaged, on every path */
    gen_laplace(src, n, 2.0, 0.6, 8);
    uint32_t counts[256];
    unsigned param;
    dc_histogram(src, n, counts);
    const size_t len = dc_ans_encode(src, n, counts, dst, 2 * n, scratch, 0, &param);
    assert_true(len > 25);
    assert_int_equal(param, DC_ANS_PAIR_PARAM);
    const size_t nesc = dc_load_le32(dst + 17), sp = dc_load_le32(dst + 21);
    assert_true(nesc > 0 && nesc <= n / 8 && 25 + sp < len);
    uint64_t r = 99;
    for (size_t k = 0; k < NPATHS; k++) {
        if (!dc_simd_supported(kPaths[k])) continue;
        const dc_simd p = kPaths[k];
        assert_int_equal(dc_ans_decode(2, dst, len, param, out, n, p, table), DC_OK);
        assert_memory_equal(out, src, n);
        /* a chunk of another size, odd or not, never decodes */
        assert_int_not_equal(dc_ans_decode(2, dst, len, param, out, n - 2, p, table), DC_OK);
        assert_int_equal(dc_ans_decode(2, dst, len, param, out, n - 1, p, table), DC_ERR_CORRUPT);
        for (size_t cut = 0; cut < len; cut += 1 + cut / 8)
            assert_int_not_equal(dc_ans_decode(2, dst, cut, param, out, n, p, table), DC_OK);
        /* header fields: escape count, pair payload size, sub-parameters */
        const size_t fields[][2] = {{17, nesc - 1}, {17, nesc + 1},   {17, DC_ANS_ESC_MAX + 1},
                                    {17, 0},        {21, sp - 2},     {21, sp + 2},
                                    {21, len},      {21, 0xFFFFFFFFu}};
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
            uint8_t keep[4];
            memcpy(keep, dst + fields[f][0], 4);
            dc_store_le32(dst + fields[f][0], (uint32_t)fields[f][1]);
            assert_int_not_equal(dc_ans_decode(2, dst, len, param, out, n, p, table), DC_OK);
            memcpy(dst + fields[f][0], keep, 4);
        }
        for (unsigned b = 15; b <= 16; b++) {
            const uint8_t keep = dst[b];
            dst[b] = (uint8_t)DC_ANS_PAIR_PARAM;
            assert_int_equal(dc_ans_decode(2, dst, len, param, out, n, p, table), DC_ERR_CORRUPT);
            dst[b] = 0;
            assert_int_not_equal(dc_ans_decode(2, dst, len, param, out, n, p, table), DC_OK);
            dst[b] = keep;
        }
        /* random byte damage anywhere: any status (a damaged escape byte can
         * decode "fine"; the chunk checksum is what catches that), but every
         * access in bounds (the suite runs under ASan in CI) */
        for (int t = 0; t < 300; t++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            const size_t at = (size_t)(r % len);
            const uint8_t keep = dst[at];
            dst[at] ^= (uint8_t)(1u + (r >> 56) % 255u);
            (void)dc_ans_decode(2, dst, len, param, out, n, p, table);
            dst[at] = keep;
        }
    }
    free(src), free(dst), free(out), free(scratch), free(table);
}

static void test_checksum(void **state) {
    (void)state;
    const size_t n = 4096 + 77;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    gen_uniform(buf, n, 9);
    uint32_t a[DC_CK_LANES], b[DC_CK_LANES];
    for (size_t k = 1; k < 3; k++) {
        if (!dc_simd_supported(kPaths[k])) continue;
        for (int l = 0; l < DC_CK_LANES; l++)
            a[l] = b[l] = (uint32_t)l * 7919u;
        dc_checksum_stripes_scalar(a, buf, n / DC_CK_STRIPE);
        if (kPaths[k] == DC_SIMD_AVX2) dc_checksum_stripes_avx2(b, buf, n / DC_CK_STRIPE);
        if (kPaths[k] == DC_SIMD_AVX512) dc_checksum_stripes_avx512(b, buf, n / DC_CK_STRIPE);
        assert_memory_equal(a, b, sizeof(a));
    }
    /* Any single-bit change, at any position, in any length, changes the sum. */
    for (size_t len = 1; len < 600; len += 37) {
        uint32_t base = dc_checksum32(buf, len);
        for (size_t bit = 0; bit < len * 8; bit += 5) {
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            assert_int_not_equal(dc_checksum32(buf, len), base);
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
    }
    assert_int_not_equal(dc_checksum32(buf, 0), dc_checksum32(buf, 1));
    free(buf);
}

/* Every truncation and every single-bit flip of a chunk is rejected, or (a
 * flip in padding) decodes to exactly the original. Never a crash. */
static void test_corruption(void **state) {
    (void)state;
    const size_t n = 3000;
    uint8_t src[3000], out[3000];
    gen_laplace(src, n, 4.2, 0.2, 11);
    for (size_t c = 0; c < 3; c++) {
        size_t csize;
        if (!dc_codec_supported(kCodecs[c])) continue; /* built without it */
        uint8_t *comp = compress_with(kCodecs[c], 0, src, n, &csize);
        size_t w;
        for (size_t len = 0; len < csize; len++)
            assert_int_not_equal(dc_chunk_decompress(NULL, comp, len, out, n, &w), DC_OK);
        for (size_t bit = 0; bit < csize * 8; bit++) {
            comp[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            for (size_t k = 0; k < NPATHS; k++) {
                if (!dc_simd_supported(kPaths[k])) continue;
                dc_decompress_options o = {sizeof(o), kPaths[k], NULL, 0};
                dc_dctx *d;
                assert_int_equal(dc_dctx_create(&o, &d), DC_OK);
                dc_status st = dc_chunk_decompress(d, comp, csize, out, n, &w);
                if (st == DC_OK) {
                    assert_int_equal(w, n);
                    assert_memory_equal(out, src, n);
                }
                dc_dctx_free(d);
            }
            comp[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        free(comp);
    }
}

/* The encoder given too little room (table or stream) reports "does not fit"
 * cleanly, at every capacity. */
static void test_encode_small_capacity(void **state) {
    (void)state;
    const size_t n = 2000;
    uint8_t src[2000], dst[4000];
    void *scratch = malloc(dc_ans_scratch_size(n));
    assert_non_null(scratch);
    gen_uniform(src, n, 21);
    uint32_t counts[256];
    dc_histogram(src, n, counts);
    unsigned tb;
    size_t full = dc_ans_encode(src, n, counts, dst, sizeof(dst), scratch, 0, &tb);
    assert_true(full > 0);
    for (size_t cap = 0; cap < full; cap++)
        assert_int_equal(dc_ans_encode(src, n, counts, dst, cap, scratch, 0, &tb), 0);
    assert_int_equal(dc_ans_encode(src, n, counts, dst, full, scratch, 0, &tb), full);
    free(scratch);
}

static void test_bad_arguments(void **state) {
    (void)state;
    uint8_t src[5000], dst[6000], out[5000];
    gen_laplace(src, sizeof(src), 4.2, 0.0, 12);
    size_t w, csize;
    assert_int_equal(dc_chunk_compress(NULL, src, sizeof(src), dst, sizeof(dst), &csize), DC_OK);
    /* destination too small: an error, and nothing written past capacity */
    memset(out, 0xEE, sizeof(out));
    assert_int_equal(dc_chunk_decompress(NULL, dst, csize, out, sizeof(src) - 1, &w),
                     DC_ERR_DST_TOO_SMALL);
    assert_int_equal(w, 0);
    assert_int_equal(out[sizeof(out) - 1], 0xEE);
    /* compress into too small a buffer */
    assert_int_equal(dc_chunk_compress(NULL, src, sizeof(src), dst, 10, &w), DC_ERR_DST_TOO_SMALL);
    assert_int_equal(dc_compress(NULL, src, sizeof(src), dst, csize - 1, &w), DC_ERR_DST_TOO_SMALL);
    /* a sequence with a trailing partial chunk */
    assert_int_equal(dc_decompress(NULL, dst, csize + 5, out, sizeof(out), &w), DC_ERR_TRUNCATED);
    assert_int_equal(dc_decompress(NULL, dst, csize - 1, out, sizeof(out), &w), DC_ERR_TRUNCATED);
    /* NULLs */
    assert_int_equal(dc_chunk_decompress(NULL, NULL, 10, out, 10, &w), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_chunk_decompress(NULL, dst, csize, out, sizeof(out), NULL),
                     DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_compress(NULL, NULL, 5, dst, 100, &w), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_cctx_create(NULL, NULL), DC_ERR_INVALID_ARGUMENT);
    /* bad magic / version / reserved */
    uint8_t bad[6000];
    memcpy(bad, dst, csize);
    bad[0] = 'X';
    assert_int_equal(dc_chunk_info(bad, csize, NULL, NULL, NULL), DC_ERR_CORRUPT);
    memcpy(bad, dst, csize);
    bad[3] = 3; /* a chunk format newer than this library */
    assert_int_equal(dc_chunk_info(bad, csize, NULL, NULL, NULL), DC_ERR_UNSUPPORTED);
    memcpy(bad, dst, csize);
    bad[4] = 9;
    assert_int_equal(dc_chunk_info(bad, csize, NULL, NULL, NULL), DC_ERR_UNSUPPORTED);
    /* ans codec parameter (v2): this 5000-byte chunk sends a coarser table
     * than 12 bits and uses 4 states; an invalid parameter is unsupported,
     * another valid one misreads the payload (an error, never wrong output) */
    assert_int_equal(dst[4], 1);
    assert_true((dst[5] & 15) >= 8 && (dst[5] & 15) < 12); /* a coarser table */
    assert_int_equal((dst[5] >> 4) & 7, 0);                /* 4 states */
    for (unsigned p = 0; p < 256; p++) {
        memcpy(bad, dst, csize);
        bad[5] = (uint8_t)p;
        dc_status st = dc_chunk_decompress(NULL, bad, csize, out, sizeof(out), &w);
        if (p == dst[5]) {
            assert_int_equal(st, DC_OK);
            assert_memory_equal(out, src, sizeof(src));
        } else if (p != 0x70 && /* 0x70: a pair payload (format 4.5), here misread */
                   ((p & 15) < 8 || (p & 15) > (p & 128 ? 13 : 12) || ((p >> 4) & 7) > 5)) {
            assert_int_equal(st, DC_ERR_UNSUPPORTED);
        } else {
            assert_true(st != DC_OK);
        }
    }
    memcpy(bad, dst, csize);
    bad[15] = 0x7F; /* payload size far beyond the buffer */
    assert_int_equal(dc_chunk_info(bad, csize, NULL, NULL, NULL), DC_ERR_TRUNCATED);
    memcpy(bad, dst, csize);
    bad[11] = 0x7F; /* raw size beyond the maximum */
    assert_int_equal(dc_chunk_decompress(NULL, bad, csize, out, sizeof(out), &w), DC_ERR_CORRUPT);
    /* options out of range */
    dc_compress_options o = {sizeof(o), DC_CODEC_ANS, 0, 100, NULL};
    dc_cctx *c;
    assert_int_equal(dc_cctx_create(&o, &c), DC_ERR_RANGE);
    o.chunk_size = 0;
    o.codec = (dc_codec)42;
    assert_int_equal(dc_cctx_create(&o, &c), DC_ERR_INVALID_ARGUMENT);
    o.codec = DC_CODEC_ZSTD;
    o.level = 99;
    assert_int_equal(dc_cctx_create(&o, &c),
                     dc_codec_supported(DC_CODEC_ZSTD) ? DC_ERR_RANGE : DC_ERR_UNSUPPORTED);
    o.struct_size = 3;
    o.level = 0;
    assert_int_equal(dc_cctx_create(&o, &c), DC_ERR_INVALID_ARGUMENT);
    dc_decompress_options d = {sizeof(d), (dc_simd)9, NULL, 0};
    dc_dctx *dd;
    assert_int_equal(dc_dctx_create(&d, &dd), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_chunk_compress(NULL, src, DC_CHUNK_SIZE_MAX + 1, dst, 10, &w),
                     DC_ERR_RANGE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_inputs),
        cmocka_unit_test(test_codec_selection),
        cmocka_unit_test(test_ratio_near_entropy),
        cmocka_unit_test(test_simd_kernels),
        cmocka_unit_test(test_state_counts),
        cmocka_unit_test(test_v1_fixture),
        cmocka_unit_test(test_writes_v2),
        cmocka_unit_test(test_half_probability),
        cmocka_unit_test(test_threaded_decompress),
        cmocka_unit_test(test_pair_payloads),
        cmocka_unit_test(test_checksum),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_encode_small_capacity),
        cmocka_unit_test(test_real_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
