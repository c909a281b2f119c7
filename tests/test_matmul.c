/*
 * test_matmul.c -- the engine's matrix product (examples/engine/matmul.c)
 * sums in exactly the documented order, whatever the shape, the blocking and
 * the clone (AVX2 or baseline) the CPU runs: each result is compared bit for
 * bit with a plain scalar loop that spells the order out.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void el_matmul(int t, int out, int in, int ld, const float *x, const float *w, float *y);

/* The order of matmul.c's header comment, one product at a time. */
static float ref_dot(const float *x, const float *w, int in) {
    float lane[8] = {0};
    const int n8 = in & ~7;
    for (int j = 0; j < n8; j++)
        lane[j % 8] += x[j] * w[j];
    float s =
        ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
    for (int j = n8; j < in; j++)
        s += x[j] * w[j];
    return s;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static float frand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    /* values of mixed magnitude, so a changed order changes the rounding */
    float v = (float)(int32_t)(rng >> 32) / 2147483648.0f;
    return (rng & 3) == 0 ? v * 1000.0f : v;
}

static void check_shape(int t, int out, int in, int ld) {
    float *x = malloc(sizeof(float) * (size_t)(t * ld + 1));
    float *w = malloc(sizeof(float) * (size_t)(out * ld + 1));
    float *y = malloc(sizeof(float) * (size_t)(t * out + 1));
    assert_non_null(x), assert_non_null(w), assert_non_null(y);
    for (int k = 0; k < t * ld; k++)
        x[k] = frand();
    for (int k = 0; k < out * ld; k++)
        w[k] = frand();
    el_matmul(t, out, in, ld, x, w, y);
    for (int r = 0; r < t; r++)
        for (int i = 0; i < out; i++) {
            float want = ref_dot(x + r * ld, w + i * ld, in), got = y[r * out + i];
            if (memcmp(&want, &got, sizeof want) != 0)
                fail_msg("t=%d out=%d in=%d ld=%d: y[%d][%d] = %.9g, the fixed order gives %.9g", t,
                         out, in, ld, r, i, (double)got, (double)want);
        }
    free(x), free(w), free(y);
}

static void test_bit_exact_order(void **state) {
    (void)state;
    static const int ts[] = {1, 2, 3, 4, 5, 7, 9};
    static const int ins[] = {1, 7, 8, 9, 15, 16, 17, 63, 64, 100, 257};
    for (size_t a = 0; a < sizeof ts / sizeof *ts; a++)
        for (size_t b = 0; b < sizeof ins / sizeof *ins; b++)
            for (int out = 1; out <= 6; out++)
                check_shape(ts[a], out, ins[b], ins[b]);
    /* strided rows (the grouped path) and blocks of w larger than one cache block */
    check_shape(5, 9, 32, 96);
    check_shape(6, 300, 200, 200);
    check_shape(3, 5, 40000, 40000);
}

/* The product does not depend on how many rows of x come at once: one token
 * at a time gives the rows of the batched call, bit for bit. */
static void test_batch_independent(void **state) {
    (void)state;
    const int t = 11, out = 37, in = 123;
    float *x = malloc(sizeof(float) * t * in), *w = malloc(sizeof(float) * out * in);
    float *y = malloc(sizeof(float) * t * out), *y1 = malloc(sizeof(float) * out);
    assert_non_null(x), assert_non_null(w), assert_non_null(y), assert_non_null(y1);
    for (int k = 0; k < t * in; k++)
        x[k] = frand();
    for (int k = 0; k < out * in; k++)
        w[k] = frand();
    el_matmul(t, out, in, in, x, w, y);
    for (int r = 0; r < t; r++) {
        el_matmul(1, out, in, in, x + r * in, w, y1);
        assert_memory_equal(y1, y + r * out, sizeof(float) * out);
    }
    free(x), free(w), free(y), free(y1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bit_exact_order),
        cmocka_unit_test(test_batch_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
