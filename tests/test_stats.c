/*
 * test_stats.c -- dtypes, calibration statistics (observe, merge, f16/bf16),
 * the statistics file (save/load round trip, atomic write, bad input), and
 * the internal safetensors parser against hostile headers.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doublecomp.h"
#include "gen.h"
#include "safetensors.h"

/* Independent f16 decoder (ldexp based) for cross-checking. */
static float ref_f16(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    float v;
    if (e == 0)
        v = ldexpf((float)m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexpf((float)(m + 1024), e - 25);
    return s ? -v : v;
}

static float ref_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Random f32 activations with a few outlier channels. */
static void gen_acts(float *x, size_t rows, size_t n, uint64_t seed) {
    for (size_t t = 0; t < rows; t++)
        for (size_t j = 0; j < n; j++) {
            double u = gen_unit(&seed) * 2 - 1;
            x[t * n + j] = (float)(u * (j % 7 == 3 ? 40.0 : 1.0));
        }
}

static void naive_stats(const float *x, size_t rows, size_t n, float *amax, double *ss) {
    for (size_t j = 0; j < n; j++) {
        amax[j] = 0;
        ss[j] = 0;
    }
    for (size_t t = 0; t < rows; t++)
        for (size_t j = 0; j < n; j++) {
            float a = fabsf(x[t * n + j]);
            if (a > amax[j]) amax[j] = a;
            ss[j] += (double)x[t * n + j] * x[t * n + j];
        }
}

static void test_dtypes(void **state) {
    (void)state;
    assert_int_equal(DC_DTYPE_F32, 0);
    assert_int_equal(DC_DTYPE_F16, 1);
    assert_int_equal(DC_DTYPE_BF16, 2);
    assert_int_equal(DC_DTYPE_I8, 3);
    assert_int_equal(dc_dtype_size(DC_DTYPE_F32), 4);
    assert_int_equal(dc_dtype_size(DC_DTYPE_BF16), 2);
    assert_int_equal(dc_dtype_size(DC_DTYPE_I8), 1);
    assert_int_equal(dc_dtype_size((dc_dtype)9), 0);
    assert_string_equal(dc_dtype_name(DC_DTYPE_BF16), "bf16");
    assert_string_equal(dc_dtype_name((dc_dtype)9), "unknown");

    /* Every f16 and bf16 value converts exactly. */
    static uint16_t all[65536];
    static float out[65536];
    for (uint32_t i = 0; i < 65536; i++)
        all[i] = (uint16_t)i;
    assert_int_equal(dc_convert_to_f32(out, all, DC_DTYPE_F16, 65536), DC_OK);
    for (uint32_t i = 0; i < 65536; i++) {
        float r = ref_f16((uint16_t)i);
        if (isnan(r))
            assert_true(isnan(out[i]));
        else
            assert_true(memcmp(&r, &out[i], 4) == 0);
    }
    assert_int_equal(dc_convert_to_f32(out, all, DC_DTYPE_BF16, 65536), DC_OK);
    for (uint32_t i = 0; i < 65536; i++) {
        float r = ref_bf16((uint16_t)i);
        assert_true(memcmp(&r, &out[i], 4) == 0);
    }
    int8_t i8[3] = {-127, 0, 5};
    assert_int_equal(dc_convert_to_f32(out, i8, DC_DTYPE_I8, 3), DC_OK);
    assert_true(out[0] == -127.0f && out[1] == 0.0f && out[2] == 5.0f);
    assert_int_equal(dc_convert_to_f32(out, i8, (dc_dtype)7, 3), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_convert_to_f32(NULL, i8, DC_DTYPE_I8, 3), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_convert_to_f32(NULL, NULL, DC_DTYPE_I8, 0), DC_OK);
}

static void test_observe_f32(void **state) {
    (void)state;
    enum { R = 37, N = 600 }; /* N > the internal block of 512 */
    float *x = malloc(sizeof(float) * R * N);
    gen_acts(x, R, N, 7);
    float amax[N], got[N];
    double ss[N], gss[N];
    naive_stats(x, R, N, amax, ss);
    dc_stats *s;
    assert_int_equal(dc_stats_create(N, NULL, &s), DC_OK);
    assert_int_equal(dc_stats_in_features(s), N);
    assert_int_equal(dc_stats_tokens(s), 0);
    /* In two batches, the second with a stride. */
    assert_int_equal(dc_stats_observe(s, x, DC_DTYPE_F32, 10, 0), DC_OK);
    float *strided = calloc((R - 10) * (N + 3), sizeof(float));
    for (size_t t = 0; t < R - 10; t++)
        memcpy(strided + t * (N + 3), x + (10 + t) * N, N * 4);
    assert_int_equal(dc_stats_observe(s, strided, DC_DTYPE_F32, R - 10, N + 3), DC_OK);
    assert_int_equal(dc_stats_tokens(s), R);
    assert_int_equal(dc_stats_get_amax(s, got, N), DC_OK);
    assert_memory_equal(got, amax, sizeof(amax));
    assert_int_equal(dc_stats_get_sumsq(s, gss, N), DC_OK);
    for (size_t j = 0; j < N; j++)
        assert_true(fabs(gss[j] - ss[j]) <= 1e-12 * ss[j]);
    assert_int_equal(dc_stats_get_l2norm(s, got, N), DC_OK);
    for (size_t j = 0; j < N; j++)
        assert_true(fabsf(got[j] - (float)sqrt(ss[j])) <= 1e-6f * got[j]);

    /* rows == 0 is a no-op, even with x NULL */
    assert_int_equal(dc_stats_observe(s, NULL, DC_DTYPE_F32, 0, 0), DC_OK);
    assert_int_equal(dc_stats_tokens(s), R);

    /* Bad input: nothing recorded. */
    float bad[2 * N];
    memcpy(bad, x, sizeof(bad));
    bad[N + 5] = NAN;
    assert_int_equal(dc_stats_observe(s, bad, DC_DTYPE_F32, 2, 0), DC_ERR_NOT_FINITE);
    bad[N + 5] = -INFINITY;
    assert_int_equal(dc_stats_observe(s, bad, DC_DTYPE_F32, 2, 0), DC_ERR_NOT_FINITE);
    assert_int_equal(dc_stats_tokens(s), R);
    assert_int_equal(dc_stats_get_amax(s, got, N), DC_OK);
    assert_memory_equal(got, amax, sizeof(amax));
    assert_int_equal(dc_stats_observe(s, x, DC_DTYPE_F32, 2, N - 1), DC_ERR_DIMENSION);
    assert_int_equal(dc_stats_observe(s, x, DC_DTYPE_I8, 2, 0), DC_ERR_UNSUPPORTED);
    assert_int_equal(dc_stats_observe(s, x, (dc_dtype)42, 2, 0), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_stats_observe(s, NULL, DC_DTYPE_F32, 2, 0), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_stats_observe(NULL, x, DC_DTYPE_F32, 2, 0), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_stats_observe(s, x, DC_DTYPE_F32, SIZE_MAX / 2, 0), DC_ERR_DIMENSION);
    assert_int_equal(dc_stats_get_amax(s, got, N - 1), DC_ERR_DIMENSION);
    assert_int_equal(dc_stats_get_amax(s, NULL, N), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_stats_get_l2norm(s, got, N + 1), DC_ERR_DIMENSION);
    assert_int_equal(dc_stats_get_sumsq(s, gss, 1), DC_ERR_DIMENSION);

    dc_stats_reset(s);
    assert_int_equal(dc_stats_tokens(s), 0);
    assert_int_equal(dc_stats_get_amax(s, got, N), DC_OK);
    for (size_t j = 0; j < N; j++)
        assert_true(got[j] == 0.0f);
    dc_stats_free(s);
    dc_stats_free(NULL);
    dc_stats_reset(NULL);
    assert_int_equal(dc_stats_in_features(NULL), 0);
    assert_int_equal(dc_stats_tokens(NULL), 0);

    /* create errors */
    assert_int_equal(dc_stats_create(0, NULL, &s), DC_ERR_DIMENSION);
    assert_null(s);
    assert_int_equal(dc_stats_create(SIZE_MAX, NULL, &s), DC_ERR_DIMENSION);
    assert_int_equal(dc_stats_create(4, NULL, NULL), DC_ERR_INVALID_ARGUMENT);
    dc_stats_options o = {0};
    assert_int_equal(dc_stats_create(4, &o, &s), DC_ERR_INVALID_ARGUMENT); /* struct_size 0 */
    free(x);
    free(strided);
}

/* f16 / bf16 observe equals f32 observe of the same (decoded) values. */
static void test_observe_half(void **state) {
    (void)state;
    enum { R = 20, N = 700 };
    uint16_t *h = malloc(2 * R * N), *b = malloc(2 * R * N);
    float *fh = malloc(4 * R * N), *fb = malloc(4 * R * N);
    uint64_t seed = 99;
    for (size_t i = 0; i < (size_t)R * N; i++) {
        uint16_t v;
        do
            v = (uint16_t)gen_next(&seed);
        while ((v & 0x7C00u) == 0x7C00u); /* finite f16 */
        h[i] = v;
        fh[i] = ref_f16(v);
        do
            v = (uint16_t)gen_next(&seed);
        while ((v & 0x7F80u) == 0x7F80u || (v & 0x7F80u) > 0x4F00u); /* finite, moderate */
        b[i] = v;
        fb[i] = ref_bf16(v);
    }
    for (int k = 0; k < 2; k++) {
        dc_stats *s16, *s32;
        assert_int_equal(dc_stats_create(N, NULL, &s16), DC_OK);
        assert_int_equal(dc_stats_create(N, NULL, &s32), DC_OK);
        assert_int_equal(dc_stats_observe(s16, k ? (void *)b : (void *)h,
                                          k ? DC_DTYPE_BF16 : DC_DTYPE_F16, R, 0),
                         DC_OK);
        assert_int_equal(dc_stats_observe(s32, k ? fb : fh, DC_DTYPE_F32, R, 0), DC_OK);
        float a1[N], a2[N];
        double q1[N], q2[N];
        dc_stats_get_amax(s16, a1, N);
        dc_stats_get_amax(s32, a2, N);
        assert_memory_equal(a1, a2, sizeof(a1));
        dc_stats_get_sumsq(s16, q1, N);
        dc_stats_get_sumsq(s32, q2, N);
        assert_memory_equal(q1, q2, sizeof(q1));
        assert_int_equal(dc_stats_tokens(s16), R);
        dc_stats_free(s16);
        dc_stats_free(s32);
    }
    /* Inf / NaN in half types */
    dc_stats *s;
    assert_int_equal(dc_stats_create(N, NULL, &s), DC_OK);
    h[N + 3] = 0x7C00; /* +inf */
    assert_int_equal(dc_stats_observe(s, h, DC_DTYPE_F16, R, 0), DC_ERR_NOT_FINITE);
    h[N + 3] = 0xFE01; /* NaN */
    assert_int_equal(dc_stats_observe(s, h, DC_DTYPE_F16, R, 0), DC_ERR_NOT_FINITE);
    b[7] = 0xFF80; /* -inf */
    assert_int_equal(dc_stats_observe(s, b, DC_DTYPE_BF16, R, 0), DC_ERR_NOT_FINITE);
    b[7] = 0x7FC1; /* NaN */
    assert_int_equal(dc_stats_observe(s, b, DC_DTYPE_BF16, R, 0), DC_ERR_NOT_FINITE);
    assert_int_equal(dc_stats_tokens(s), 0);
    dc_stats_free(s);
    free(h);
    free(b);
    free(fh);
    free(fb);
}

static void test_merge(void **state) {
    (void)state;
    enum { R1 = 13, R2 = 29, N = 96 };
    float *x = malloc(4 * (R1 + R2) * N);
    gen_acts(x, R1 + R2, N, 3);
    dc_stats *a, *b, *all;
    assert_int_equal(dc_stats_create(N, NULL, &a), DC_OK);
    assert_int_equal(dc_stats_create(N, NULL, &b), DC_OK);
    assert_int_equal(dc_stats_create(N, NULL, &all), DC_OK);
    assert_int_equal(dc_stats_observe(a, x, DC_DTYPE_F32, R1, 0), DC_OK);
    assert_int_equal(dc_stats_observe(b, x + R1 * N, DC_DTYPE_F32, R2, 0), DC_OK);
    assert_int_equal(dc_stats_observe(all, x, DC_DTYPE_F32, R1 + R2, 0), DC_OK);
    assert_int_equal(dc_stats_merge(a, b), DC_OK);
    assert_int_equal(dc_stats_tokens(a), R1 + R2);
    float a1[N], a2[N];
    double q1[N], q2[N];
    dc_stats_get_amax(a, a1, N);
    dc_stats_get_amax(all, a2, N);
    assert_memory_equal(a1, a2, sizeof(a1));
    dc_stats_get_sumsq(a, q1, N);
    dc_stats_get_sumsq(all, q2, N);
    for (size_t j = 0; j < N; j++)
        assert_true(fabs(q1[j] - q2[j]) <= 1e-12 * q2[j]);
    /* merging into itself doubles sums and keeps amax */
    assert_int_equal(dc_stats_merge(b, b), DC_OK);
    assert_int_equal(dc_stats_tokens(b), 2 * R2);
    dc_stats *c;
    assert_int_equal(dc_stats_create(N + 1, NULL, &c), DC_OK);
    assert_int_equal(dc_stats_merge(a, c), DC_ERR_DIMENSION);
    assert_int_equal(dc_stats_merge(a, NULL), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_stats_merge(NULL, a), DC_ERR_INVALID_ARGUMENT);
    dc_stats_free(a);
    dc_stats_free(b);
    dc_stats_free(c);
    dc_stats_free(all);
    free(x);
}

static void test_set(void **state) {
    (void)state;
    dc_stats *s;
    assert_int_equal(dc_stats_create(3, NULL, &s), DC_OK);
    float am[3] = {1, 2, -0.0f};
    double ss[3] = {1, 4, 0};
    assert_int_equal(dc_stats_set(s, am, ss, 3, 5), DC_OK);
    float got[3];
    dc_stats_get_amax(s, got, 3);
    assert_true(got[1] == 2.0f && !signbit(got[2]));
    assert_int_equal(dc_stats_tokens(s), 5);
    assert_int_equal(dc_stats_set(s, am, NULL, 3, 6), DC_OK);
    assert_int_equal(dc_stats_set(s, am, ss, 2, 5), DC_ERR_DIMENSION);
    am[0] = NAN;
    assert_int_equal(dc_stats_set(s, am, ss, 3, 5), DC_ERR_NOT_FINITE);
    am[0] = -1;
    assert_int_equal(dc_stats_set(s, am, ss, 3, 5), DC_ERR_RANGE);
    am[0] = 1;
    ss[1] = INFINITY;
    assert_int_equal(dc_stats_set(s, am, ss, 3, 5), DC_ERR_NOT_FINITE);
    ss[1] = -2;
    assert_int_equal(dc_stats_set(s, am, ss, 3, 5), DC_ERR_RANGE);
    assert_int_equal(dc_stats_set(s, NULL, ss, 3, 5), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_stats_tokens(s), 6); /* failed calls changed nothing */
    dc_stats_free(s);
}

static int count_tmp_files(const char *prefix) {
    DIR *d = opendir(".");
    if (!d) return -1;
    int n = 0;
    size_t pl = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, pl) == 0 && strstr(e->d_name, ".tmp")) n++;
    closedir(d);
    return n;
}

static void test_save_load(void **state) {
    (void)state;
    const char *path = "test_stats_rt.safetensors";
    const char *names[3] = {"layers.0.attn_in", "layers.0.ffn_in", "we \"quote\" \\ it"};
    size_t widths[3] = {64, 64, 17};
    dc_stats *s[3];
    for (int l = 0; l < 3; l++) {
        float *x = malloc(4 * 11 * widths[l]);
        gen_acts(x, 11, widths[l], (uint64_t)l + 100);
        assert_int_equal(dc_stats_create(widths[l], NULL, &s[l]), DC_OK);
        assert_int_equal(dc_stats_observe(s[l], x, DC_DTYPE_F32, 11 - (size_t)l, 0), DC_OK);
        free(x);
    }
    assert_int_equal(dc_stats_save(path, names, (const dc_stats *const *)s, 3), DC_OK);
    assert_int_equal(count_tmp_files("test_stats_rt"), 0);

    dc_stats_file *f;
    assert_int_equal(dc_stats_file_open(path, NULL, &f), DC_OK);
    assert_int_equal(dc_stats_file_count(f), 3);
    for (int l = 0; l < 3; l++) {
        assert_string_equal(dc_stats_file_name(f, (size_t)l), names[l]);
        dc_stats *g;
        assert_int_equal(dc_stats_file_get(f, names[l], &g), DC_OK);
        size_t n = widths[l];
        assert_int_equal(dc_stats_in_features(g), n);
        assert_int_equal(dc_stats_tokens(g), 11 - l);
        float a1[64], a2[64];
        double q1[64], q2[64];
        dc_stats_get_amax(g, a1, n);
        dc_stats_get_amax(s[l], a2, n);
        assert_memory_equal(a1, a2, n * 4);
        dc_stats_get_sumsq(g, q1, n);
        dc_stats_get_sumsq(s[l], q2, n);
        for (size_t j = 0; j < n; j++)
            assert_true(q1[j] == (double)(float)q2[j]);
        dc_stats_free(g);
    }
    assert_null(dc_stats_file_name(f, 3));
    dc_stats *g;
    assert_int_equal(dc_stats_file_get(f, "nope", &g), DC_ERR_INVALID_ARGUMENT);
    assert_null(g);
    dc_stats_file_close(f);
    dc_stats_file_close(NULL);
    assert_int_equal(dc_stats_file_count(NULL), 0);

    assert_int_equal(dc_stats_load(path, "layers.0.ffn_in", NULL, &g), DC_OK);
    assert_int_equal(dc_stats_tokens(g), 10);
    dc_stats_free(g);

    /* Overwrite atomically with a single layer: the old content is replaced. */
    assert_int_equal(dc_stats_save(path, names + 2, (const dc_stats *const *)s + 2, 1), DC_OK);
    assert_int_equal(dc_stats_file_open(path, NULL, &f), DC_OK);
    assert_int_equal(dc_stats_file_count(f), 1);
    dc_stats_file_close(f);

    /* Save errors */
    const char *bad1[2] = {"a", "a"};
    const dc_stats *two[2] = {s[0], s[1]};
    assert_int_equal(dc_stats_save(path, bad1, two, 2), DC_ERR_INVALID_ARGUMENT);
    const char *bad2[1] = {"__metadata__"};
    assert_int_equal(dc_stats_save(path, bad2, two, 1), DC_ERR_INVALID_ARGUMENT);
    const char *bad3[1] = {""};
    assert_int_equal(dc_stats_save(path, bad3, two, 1), DC_ERR_INVALID_ARGUMENT);
    const char *bad4[1] = {"tab\there"};
    assert_int_equal(dc_stats_save(path, bad4, two, 1), DC_ERR_INVALID_ARGUMENT);
    char longname[300];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[299] = 0;
    const char *bad5[1] = {longname};
    assert_int_equal(dc_stats_save(path, bad5, two, 1), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_stats_save(path, names, two, 0), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_stats_save(NULL, names, two, 1), DC_ERR_INVALID_ARGUMENT);
    const dc_stats *nul[1] = {NULL};
    assert_int_equal(dc_stats_save(path, names, nul, 1), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_stats_save("no/such/dir/x.safetensors", names, two, 1), DC_ERR_IO);
    /* The file is still the one-layer file. */
    assert_int_equal(dc_stats_file_open(path, NULL, &f), DC_OK);
    assert_int_equal(dc_stats_file_count(f), 1);
    dc_stats_file_close(f);

    /* Load errors */
    assert_int_equal(dc_stats_load("no/such/file", "x", NULL, &g), DC_ERR_IO);
    assert_null(g);
    assert_int_equal(dc_stats_load(path, "x", NULL, NULL), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_stats_file_open(NULL, NULL, &f), DC_ERR_INVALID_ARGUMENT);
    remove(path);
    for (int l = 0; l < 3; l++)
        dc_stats_free(s[l]);
}

/* Writes a file with the given header (and `data_size` zero data bytes). */
static void write_raw(const char *path, const char *json, size_t data_size, uint64_t hdr_len) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    unsigned char lb[8];
    for (int i = 0; i < 8; i++)
        lb[i] = (unsigned char)(hdr_len >> (8 * i));
    fwrite(lb, 1, 8, fp);
    fwrite(json, 1, strlen(json), fp);
    for (size_t i = 0; i < data_size; i++)
        fputc(0, fp);
    fclose(fp);
}

static void test_file_format_errors(void **state) {
    (void)state;
    const char *path = "test_stats_bad.safetensors";
    dc_stats_file *f;
    dc_stats *g;
    const char *good = "{\"__metadata__\":{\"format\":\"doublecomp.stats\",\"version\":\"1\","
                       "\"L.tokens\":\"3\"},"
                       "\"L.amax\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"L.sumsq\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
    write_raw(path, good, 16, strlen(good));
    assert_int_equal(dc_stats_file_open(path, NULL, &f), DC_OK);
    assert_int_equal(dc_stats_file_get(f, "L", &g), DC_OK);
    assert_int_equal(dc_stats_tokens(g), 3);
    dc_stats_free(g);
    dc_stats_file_close(f);

    /* Truncated data section, header length past the end, huge header. */
    write_raw(path, good, 15, strlen(good));
    assert_int_equal(dc_stats_file_open(path, NULL, &f), DC_ERR_FORMAT);
    write_raw(path, good, 0, strlen(good) + 100);
    assert_int_equal(dc_stats_file_open(path, NULL, &f), DC_ERR_TRUNCATED);
    write_raw(path, good, 16, (uint64_t)1 << 40);
    assert_int_equal(dc_stats_file_open(path, NULL, &f), DC_ERR_FORMAT);
    write_raw(path, "", 0, 0);
    assert_int_equal(dc_stats_file_open(path, NULL, &f), DC_ERR_FORMAT);
    FILE *fp = fopen(path, "wb");
    fwrite("abc", 1, 3, fp);
    fclose(fp);
    assert_int_equal(dc_stats_file_open(path, NULL, &f), DC_ERR_TRUNCATED);

    struct {
        const char *json;
        dc_status want;
    } cases[] = {
        /* not a stats file */
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", DC_ERR_FORMAT},
        {"{\"__metadata__\":{\"format\":\"doublecomp.stats\",\"version\":\"2\"}}",
         DC_ERR_UNSUPPORTED},
        /* a layer without its sumsq / tokens / with the wrong dtype or shape */
        {"{\"__metadata__\":{\"format\":\"doublecomp.stats\",\"version\":\"1\",\"L.tokens\":\"3\"},"
         "\"L.amax\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
         DC_ERR_FORMAT},
        {"{\"__metadata__\":{\"format\":\"doublecomp.stats\",\"version\":\"1\"},"
         "\"L.amax\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"L.sumsq\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
         DC_ERR_FORMAT},
        {"{\"__metadata__\":{\"format\":\"doublecomp.stats\",\"version\":\"1\",\"L.tokens\":\"-3\"}"
         ","
         "\"L.amax\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"L.sumsq\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
         DC_ERR_FORMAT},
        {"{\"__metadata__\":{\"format\":\"doublecomp.stats\",\"version\":\"1\",\"L.tokens\":\"3\"},"
         "\"L.amax\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},"
         "\"L.sumsq\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
         DC_ERR_FORMAT},
        {"{\"__metadata__\":{\"format\":\"doublecomp.stats\",\"version\":\"1\",\"L.tokens\":\"3\"},"
         "\"L.amax\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
         "\"L.sumsq\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
         DC_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_raw(path, cases[i].json, 16, strlen(cases[i].json));
        assert_int_equal(dc_stats_file_open(path, NULL, &f), cases[i].want);
        assert_null(f);
    }

    /* Stored NaN / negative values are refused at get time. */
    fp = fopen(path, "wb");
    unsigned char lb[8] = {0};
    size_t gl = strlen(good);
    for (int i = 0; i < 8; i++)
        lb[i] = (unsigned char)(gl >> (8 * i));
    fwrite(lb, 1, 8, fp);
    fwrite(good, 1, gl, fp);
    float vals[4] = {1.0f, NAN, 1.0f, 2.0f};
    fwrite(vals, 4, 4, fp);
    fclose(fp);
    assert_int_equal(dc_stats_file_open(path, NULL, &f), DC_OK);
    assert_int_equal(dc_stats_file_get(f, "L", &g), DC_ERR_NOT_FINITE);
    dc_stats_file_close(f);
    vals[1] = -1.0f;
    fp = fopen(path, "wb");
    fwrite(lb, 1, 8, fp);
    fwrite(good, 1, gl, fp);
    fwrite(vals, 4, 4, fp);
    fclose(fp);
    assert_int_equal(dc_stats_load(path, "L", NULL, &g), DC_ERR_RANGE);
    remove(path);
}

/* The internal parser on a set of malformed headers, then on random
 * mutations of a valid one (must never crash or leak; ASan checks). */
static void test_parser_hostile(void **state) {
    (void)state;
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_st_header *h;
    const char *ok = "{\"__metadata__\":{\"k\":\"v\\u00e9\\ud83d\\ude00\"},"
                     "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24],\"x\":[1,{"
                     "\"y\":null}]},"
                     "\"b\\\"q\":{\"dtype\":\"Q9\",\"shape\":[],\"data_offsets\":[24,30]}}   ";
    assert_int_equal(dc_st_parse(&a, ok, strlen(ok), 30, &h), DC_OK);
    assert_int_equal(h->n_tensors, 2);
    assert_int_equal(h->tensors[0].ndim, 2);
    assert_int_equal(h->tensors[0].numel, 6);
    assert_string_equal(h->tensors[1].name, "b\"q");
    assert_int_equal(h->tensors[1].dtype, DC_ST_UNKNOWN);
    assert_string_equal(dc_st_meta_get(h, "k"), "v\xc3\xa9\xf0\x9f\x98\x80");
    assert_non_null(dc_st_find(h, "a"));
    dc_st_header_free(h);

    const char *bad[] = {
        "",
        "[]",
        "{",
        "{\"a\"",
        "{\"a\":",
        "{\"a\":{}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,9]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,800]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,8]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}",
        "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        "{\"a\":{\"dtype\":3,\"shape\":[2],\"data_offsets\":[0,8]}}",
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"),
        "{\"a\\u0000\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        "{\"a\\ud800\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        "{\"a\\udc00x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        "{\"a\\x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        "{\"a\\u12\":{}}",
        "{\"a\n\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        "{\"__metadata__\":[]}",
        "{\"__metadata__\":{},\"__metadata__\":{}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"z\":tru}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],}}",
        "{,}",
        /* issue 9: overlapping data ranges, strings that are not UTF-8, bad numbers */
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}"),
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}"),
        ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[15,16]}}"),
        "{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        "{\"a\xc0\xaf\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        "{\"__metadata__\":{\"k\":\"\xed\xa0\x80\"}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"z\":1-2e}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"z\":01}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        h = (dc_st_header *)1;
        dc_status st = dc_st_parse(&a, bad[i], strlen(bad[i]), 16, &h);
        if (st != DC_ERR_FORMAT) fail_msg("case %zu: %d", i, (int)st);
        assert_null(h);
    }
    /* Empty tensors may sit anywhere (they hold no bytes); valid JSON numbers pass. */
    const char *empty = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                        "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[8,8]},"
                        "\"x\":{\"dtype\":\"I8\",\"shape\":[0],\"data_offsets\":[16,16],"
                        "\"n\":[-0.5e+3,0,12.25E-1]}}";
    assert_int_equal(dc_st_parse(&a, empty, strlen(empty), 16, &h), DC_OK);
    assert_int_equal(h->n_tensors, 3);
    dc_st_header_free(h);
    static const char *const js_good[] = {"{\"a\":[1,-2.5e3,true,null,\"\xc3\xa9\"]} ", " 0 ",
                                          "\"x\""};
    static const char *const js_bad[] = {"{\"a\":1}}", "{\"a\":\"\xff\"}", "", "1.", "-", "[1,]"};
    for (size_t i = 0; i < sizeof(js_good) / sizeof(js_good[0]); i++)
        assert_true(dc_json_valid(js_good[i], strlen(js_good[i])));
    for (size_t i = 0; i < sizeof(js_bad) / sizeof(js_bad[0]); i++)
        assert_false(dc_json_valid(js_bad[i], strlen(js_bad[i])));
    /* Deep nesting of an ignored value. */
    char deep[400];
    strcpy(deep, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"z\":");
    size_t l = strlen(deep);
    for (int i = 0; i < 100; i++)
        deep[l++] = '[';
    deep[l] = 0;
    assert_int_equal(dc_st_parse(&a, deep, strlen(deep), 16, &h), DC_ERR_FORMAT);

    /* Random mutations of the valid header. */
    size_t n = strlen(ok);
    char *buf = malloc(n + 1);
    uint64_t seed = 12345;
    int accepted = 0;
    for (int it = 0; it < 20000; it++) {
        memcpy(buf, ok, n);
        size_t len = n;
        int muts = 1 + (int)(gen_next(&seed) % 4);
        for (int m = 0; m < muts; m++) {
            size_t pos = gen_next(&seed) % n;
            switch (gen_next(&seed) % 3) {
            case 0:
                buf[pos] = (char)gen_next(&seed);
                break;
            case 1:
                buf[pos] = "{}[]\",:\\0u9 "[gen_next(&seed) % 12];
                break;
            case 2:
                len = pos;
                break;
            }
        }
        /* Parse from an exactly sized heap copy so ASan sees any overread. */
        char *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        if (dc_st_parse(&a, exact, len, gen_next(&seed) % 40, &h) == DC_OK) {
            accepted++;
            for (size_t t = 0; t < h->n_tensors; t++)
                assert_true(h->tensors[t].begin <= h->tensors[t].end);
            dc_st_header_free(h);
        }
        free(exact);
    }
    free(buf);
    assert_true(accepted > 0);
}

typedef struct counting {
    size_t allocs, live;
} counting;
static void *c_alloc(void *o, size_t n) {
    counting *c = o;
    c->allocs++;
    c->live++;
    return malloc(n);
}
static void c_free(void *o, void *p) {
    counting *c = o;
    c->live--;
    free(p);
}

static void test_allocator_and_options(void **state) {
    (void)state;
    counting cnt = {0, 0};
    dc_allocator al = {sizeof(al), c_alloc, c_free, &cnt};
    dc_stats_options o = {sizeof(o), &al};
    dc_stats *s;
    assert_int_equal(dc_stats_create(8, &o, &s), DC_OK);
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(dc_stats_observe(s, x, DC_DTYPE_F32, 1, 0), DC_OK);
    const char *name = "l";
    assert_int_equal(
        dc_stats_save("test_stats_alloc.safetensors", &name, (const dc_stats *const *)&s, 1),
        DC_OK);
    dc_stats *g;
    assert_int_equal(dc_stats_load("test_stats_alloc.safetensors", "l", &o, &g), DC_OK);
    dc_stats_free(g);
    dc_stats_free(s);
    assert_true(cnt.allocs >= 3);
    assert_int_equal(cnt.live, 0);
    remove("test_stats_alloc.safetensors");
    dc_allocator half = {sizeof(half), c_alloc, NULL, &cnt};
    o.allocator = &half;
    assert_int_equal(dc_stats_create(8, &o, &s), DC_ERR_INVALID_ARGUMENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dtypes),
        cmocka_unit_test(test_observe_f32),
        cmocka_unit_test(test_observe_half),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_file_format_errors),
        cmocka_unit_test(test_parser_hostile),
        cmocka_unit_test(test_allocator_and_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
