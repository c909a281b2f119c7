/*
 * test_common.c -- version, status strings, allocator hooks, versioned options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "doublecomp.h"
#include "gen.h"

static void test_version(void **state) {
    (void)state;
    assert_int_equal(dc_version_number(), DC_VERSION_NUMBER);
    assert_string_equal(dc_version_string(), DC_VERSION_STRING);
    char buf[32];
    snprintf(buf, sizeof(buf), "%d.%d.%d", DC_VERSION_MAJOR, DC_VERSION_MINOR, DC_VERSION_PATCH);
    assert_string_equal(dc_version_string(), buf);
}

static void test_status_strings(void **state) {
    (void)state;
    /* Values are ABI: pin them. */
    assert_int_equal(DC_OK, 0);
    assert_int_equal(DC_ERR_CHECKSUM, 5);
    assert_int_equal(DC_ERR_FORMAT, 15);
    assert_int_equal(DC_ERR_LIMIT, 16);
    assert_int_equal(DC_ERR_NOT_FOUND, 17);
    for (int s = 0; s <= DC_ERR_NOT_FOUND; s++) {
        const char *m = dc_status_string((dc_status)s);
        assert_non_null(m);
        assert_string_not_equal(m, "unknown status");
        for (int t = 0; t < s; t++)
            assert_string_not_equal(m, dc_status_string((dc_status)t));
    }
    assert_string_equal(dc_status_string((dc_status)999), "unknown status");
}

typedef struct counting {
    size_t allocs, frees, live;
    int fail_after; /* fail the allocation with this index (-1: never) */
} counting;

static void *count_alloc(void *opaque, size_t size) {
    counting *c = opaque;
    if (c->fail_after >= 0 && (int)c->allocs >= c->fail_after) return NULL;
    c->allocs++;
    c->live++;
    return malloc(size);
}

static void count_free(void *opaque, void *ptr) {
    counting *c = opaque;
    c->frees++;
    c->live--;
    free(ptr);
}

static void test_allocator(void **state) {
    (void)state;
    counting cnt = {0, 0, 0, -1};
    dc_allocator al = {sizeof(al), count_alloc, count_free, &cnt};
    dc_compress_options co = {sizeof(co), DC_CODEC_ANS, 0, 4096, &al};
    dc_decompress_options dopt = {sizeof(dopt), DC_SIMD_AUTO, &al, 0};
    dc_cctx *c;
    dc_dctx *d;
    assert_int_equal(dc_cctx_create(&co, &c), DC_OK);
    assert_int_equal(dc_dctx_create(&dopt, &d), DC_OK);
    uint8_t src[10000], dst[12000], out[10000];
    gen_laplace(src, sizeof(src), 4.2, 0.0, 1);
    size_t w, r;
    assert_int_equal(dc_compress(c, src, sizeof(src), dst, sizeof(dst), &w), DC_OK);
    assert_int_equal(dc_decompress(d, dst, w, out, sizeof(out), &r), DC_OK);
    assert_memory_equal(out, src, sizeof(src));
    assert_true(cnt.allocs >= 3); /* both contexts and the encoder scratch went through us */
    dc_cctx_free(c);
    dc_dctx_free(d);
    assert_int_equal(cnt.live, 0);
    assert_int_equal(cnt.allocs, cnt.frees);

    /* Allocation failure is reported, not crashed on. */
    cnt = (counting){0, 0, 0, 0};
    assert_int_equal(dc_cctx_create(&co, &c), DC_ERR_OUT_OF_MEMORY);
    assert_null(c);
    assert_int_equal(dc_dctx_create(&dopt, &d), DC_ERR_OUT_OF_MEMORY);
    cnt = (counting){0, 0, 0, 1}; /* context ok, scratch fails */
    assert_int_equal(dc_cctx_create(&co, &c), DC_OK);
    assert_int_equal(dc_compress(c, src, sizeof(src), dst, sizeof(dst), &w), DC_ERR_OUT_OF_MEMORY);
    dc_cctx_free(c);
    assert_int_equal(cnt.live, 0);

    /* An incomplete allocator is rejected. */
    dc_allocator half = {sizeof(half), count_alloc, NULL, &cnt};
    co.allocator = &half;
    assert_int_equal(dc_cctx_create(&co, &c), DC_ERR_INVALID_ARGUMENT);
}

/* A caller built against a newer header passes a larger struct: accepted if
 * the fields we do not know are zero, refused otherwise. */
static void test_options_growth(void **state) {
    (void)state;
    struct {
        dc_compress_options o;
        int future_field;
    } big;
    memset(&big, 0, sizeof(big));
    big.o.struct_size = sizeof(big);
    dc_cctx *c;
    assert_int_equal(dc_cctx_create(&big.o, &c), DC_OK);
    dc_cctx_free(c);
    big.future_field = 1;
    assert_int_equal(dc_cctx_create(&big.o, &c), DC_ERR_UNSUPPORTED);
    /* An older, shorter struct (only struct_size) means all defaults. */
    size_t tiny = sizeof(size_t);
    assert_int_equal(dc_cctx_create((const dc_compress_options *)&tiny, &c), DC_OK);
    dc_cctx_free(c);
}

static void test_simd_query(void **state) {
    (void)state;
    assert_true(dc_simd_supported(DC_SIMD_SCALAR));
    assert_true(dc_simd_supported(dc_simd_best()));
    assert_string_equal(dc_simd_name(DC_SIMD_AVX2), "avx2");
    assert_string_equal(dc_codec_name(DC_CODEC_ANS), "ans");
    for (int s = DC_SIMD_SCALAR; s <= DC_SIMD_AVX512; s++) {
        dc_decompress_options o = {sizeof(o), (dc_simd)s, NULL, 0};
        dc_dctx *d;
        dc_status st = dc_dctx_create(&o, &d);
        assert_int_equal(st, dc_simd_supported((dc_simd)s) ? DC_OK : DC_ERR_UNSUPPORTED);
        dc_dctx_free(d);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),    cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_allocator),  cmocka_unit_test(test_options_growth),
        cmocka_unit_test(test_simd_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
