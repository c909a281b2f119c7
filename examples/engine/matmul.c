/*
 * matmul.c -- dc-llama: the one matrix product of the forward pass.
 *
 * y[r][i] = sum_j x[r][j] * w[i][j] (j < in; rows of x and w are ld floats
 * apart, y is t x out), with a summation order fixed by this
 * file alone: lane k of an 8-wide accumulator sums the products j = k (mod 8)
 * of the first in - in % 8 columns in increasing j, the eight lanes are added
 * pairwise ((0+1)+(2+3))+((4+5)+(6+7)), then the remaining columns are added
 * one at a time. Every dot product is computed this way whatever t, the
 * blocking or the instruction set, and the file is built with
 * -ffp-contract=off (no fused multiply-add), so the same model and input give
 * bit-identical activations, calibration statistics and .dcz files on every
 * x86-64 CPU (and any thread count: this code is single-threaded). It
 * replaced OpenBLAS, whose sums depend on the kernel it picks for the CPU and
 * on its thread count.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#include "model.h"

#include <stddef.h>
#include <string.h>

/* The helpers below are static and inlined: no vector crosses an ABI. */
#if defined(__clang__) /* the fuzz build compiles the engine with clang */
#pragma clang diagnostic ignored "-Wunknown-warning-option"
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

typedef float v8f __attribute__((vector_size(32), aligned(4), may_alias));

static inline __attribute__((always_inline)) v8f load8(const float *p) {
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) float hsum8(v8f a) {
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

static inline __attribute__((always_inline)) float tail(float s, const float *x, const float *w,
                                                        size_t j, size_t in) {
    for (; j < in; j++)
        s += x[j] * w[j];
    return s;
}

/* Rows of w per block: a block of w (at most about 128 KiB) stays in cache
 * while every row of x passes over it. */
static size_t block_rows(size_t in) {
    size_t b = ((size_t)128 << 10) / (in * sizeof(float) + 1);
    return b < 2 ? 2 : b & ~(size_t)1;
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(__clang__) &&      \
    !defined(__SANITIZE_THREAD__)
/* The AVX2 clone runs the same lane-wise operations in 256-bit registers;
 * without FMA, each lane's result is the same IEEE operation either way.
 * (Not under ThreadSanitizer: its instrumented ifunc resolver runs before
 * the runtime is up and crashes.) */
__attribute__((target_clones("avx2", "default")))
#endif
void el_matmul(int t, int out, int in, int ld, const float *x, const float *w, float *y) {
    const size_t n = (size_t)in, s = (size_t)ld, n8 = n & ~(size_t)7, no = (size_t)out,
                 nt = (size_t)t;
    const size_t bi = block_rows(n);
    for (size_t i0 = 0; i0 < no; i0 += bi) {
        const size_t i1 = i0 + bi < no ? i0 + bi : no;
        size_t r = 0;
        for (; r + 4 <= nt; r += 4) {
            const float *x0 = x + r * s, *x1 = x0 + s, *x2 = x1 + s, *x3 = x2 + s;
            size_t i = i0;
            for (; i + 2 <= i1; i += 2) {
                const float *w0 = w + i * s, *w1 = w0 + s;
                v8f a00 = {0}, a01 = {0}, a10 = {0}, a11 = {0};
                v8f a20 = {0}, a21 = {0}, a30 = {0}, a31 = {0};
                for (size_t j = 0; j < n8; j += 8) {
                    const v8f u0 = load8(w0 + j), u1 = load8(w1 + j);
                    v8f v = load8(x0 + j);
                    a00 += v * u0, a01 += v * u1;
                    v = load8(x1 + j);
                    a10 += v * u0, a11 += v * u1;
                    v = load8(x2 + j);
                    a20 += v * u0, a21 += v * u1;
                    v = load8(x3 + j);
                    a30 += v * u0, a31 += v * u1;
                }
                y[r * no + i] = tail(hsum8(a00), x0, w0, n8, n);
                y[r * no + i + 1] = tail(hsum8(a01), x0, w1, n8, n);
                y[(r + 1) * no + i] = tail(hsum8(a10), x1, w0, n8, n);
                y[(r + 1) * no + i + 1] = tail(hsum8(a11), x1, w1, n8, n);
                y[(r + 2) * no + i] = tail(hsum8(a20), x2, w0, n8, n);
                y[(r + 2) * no + i + 1] = tail(hsum8(a21), x2, w1, n8, n);
                y[(r + 3) * no + i] = tail(hsum8(a30), x3, w0, n8, n);
                y[(r + 3) * no + i + 1] = tail(hsum8(a31), x3, w1, n8, n);
            }
            for (; i < i1; i++) {
                const float *w0 = w + i * s;
                for (size_t k = 0; k < 4; k++) {
                    const float *xk = x0 + k * s;
                    v8f a = {0};
                    for (size_t j = 0; j < n8; j += 8)
                        a += load8(xk + j) * load8(w0 + j);
                    y[(r + k) * no + i] = tail(hsum8(a), xk, w0, n8, n);
                }
            }
        }
        for (; r < nt; r++) {
            const float *x0 = x + r * s;
            size_t i = i0;
            for (; i + 4 <= i1; i += 4) {
                const float *w0 = w + i * s, *w1 = w0 + s, *w2 = w1 + s, *w3 = w2 + s;
                v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
                for (size_t j = 0; j < n8; j += 8) {
                    const v8f v = load8(x0 + j);
                    a0 += v * load8(w0 + j), a1 += v * load8(w1 + j);
                    a2 += v * load8(w2 + j), a3 += v * load8(w3 + j);
                }
                y[r * no + i] = tail(hsum8(a0), x0, w0, n8, n);
                y[r * no + i + 1] = tail(hsum8(a1), x0, w1, n8, n);
                y[r * no + i + 2] = tail(hsum8(a2), x0, w2, n8, n);
                y[r * no + i + 3] = tail(hsum8(a3), x0, w3, n8, n);
            }
            for (; i < i1; i++) {
                const float *w0 = w + i * s;
                v8f a = {0};
                for (size_t j = 0; j < n8; j += 8)
                    a += load8(x0 + j) * load8(w0 + j);
                y[r * no + i] = tail(hsum8(a), x0, w0, n8, n);
            }
        }
    }
}
