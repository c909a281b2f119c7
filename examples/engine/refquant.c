/*
 * refquant.c -- dc-llama: llama.cpp's Q8_0, Q4_0 and a Q4_K-like format
 * (refquant.h), for side-by-side runs against the project's formats.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#include "refquant.h"

#include "../float16.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define QK 32

el_ref_format el_ref_parse(const char *name) {
    if (!strcmp(name, "q8_0")) return EL_REF_Q8_0;
    if (!strcmp(name, "q4_0")) return EL_REF_Q4_0;
    if (!strcmp(name, "q4_k")) return EL_REF_Q4_K;
    return EL_REF_NONE;
}

const char *el_ref_name(el_ref_format f) {
    return f == EL_REF_Q8_0   ? "q8_0"
           : f == EL_REF_Q4_0 ? "q4_0"
           : f == EL_REF_Q4_K ? "q4_k"
                              : "none";
}

size_t el_ref_bytes(el_ref_format f, size_t rows, size_t cols) {
    const size_t nb = (cols + QK - 1) / QK; /* blocks per row */
    switch (f) {
    case EL_REF_Q8_0:
        return rows * nb * (2 + QK);
    case EL_REF_Q4_0:
        return rows * nb * (2 + QK / 2);
    case EL_REF_Q4_K: {
        size_t per_row = 0;
        for (size_t b = 0; b < nb; b += 8) {
            size_t k = nb - b < 8 ? nb - b : 8;
            per_row += 4 + (12 * k + 7) / 8 + k * QK / 2;
        }
        return rows * per_row;
    }
    default:
        return 0;
    }
}

static float f16r(float x) {
    return from_f16(to_f16(x));
}

dc_status el_ref_quantize(el_ref_format f, const float *w, size_t rows, size_t cols,
                          dc_qtensor **out) {
    const size_t nb = (cols + QK - 1) / QK;
    const int four = f == EL_REF_Q4_0;
    const size_t row_bytes = four ? (cols + 1) / 2 : cols;
    uint8_t *data = calloc(rows, row_bytes);
    float *sc = malloc(rows * nb * sizeof(float));
    dc_status st = DC_ERR_OUT_OF_MEMORY;
    if (!data || !sc) goto done;
    for (size_t i = 0; i < rows; i++)
        for (size_t b = 0; b < nb; b++) {
            const float *x = w + i * cols + b * QK;
            const size_t n = cols - b * QK < QK ? cols - b * QK : QK;
            float amax = 0.0f, mx = 0.0f;
            for (size_t j = 0; j < n; j++)
                if (fabsf(x[j]) > amax) amax = fabsf(x[j]), mx = x[j];
            const float d = four ? mx / -8.0f : amax / 127.0f;
            const float id = d != 0.0f ? 1.0f / d : 0.0f;
            sc[i * nb + b] = f16r(d);
            for (size_t j = 0; j < n; j++) {
                const size_t c = b * QK + j;
                if (four) {
                    int v = (int)(int8_t)(x[j] * id + 8.5f);
                    v = (v < 15 ? v : 15) - 8;
                    uint8_t *p = data + i * row_bytes + c / 2;
                    *p |= (uint8_t)(((unsigned)v & 15u) << (c & 1 ? 4 : 0));
                } else {
                    data[i * row_bytes + c] = (uint8_t)(int8_t)roundf(x[j] * id);
                }
            }
        }
    dc_quant_options qo = {sizeof(qo),
                           DC_QUANT_PER_GROUP,
                           QK,
                           four ? 4u : 8u,
                           NULL,
                           0,
                           four ? DC_QUANT_FULL_GRID | DC_QUANT_F16_SCALES : DC_QUANT_F16_SCALES};
    st = dc_qtensor_import(data, rows * row_bytes, sc, rows * nb, rows, cols, &qo, out);
done:
    free(data);
    free(sc);
    return st;
}

static int nearest_int(float v) {
    return (int)lrintf(v);
}

/* llama.cpp's make_qkx2_quants (use_mad = false): fits x ~ scale * L - min
 * with L in [0, nmax]; returns scale, *the_min = min (>= 0). */
static float make_qkx2(int n, int nmax, const float *x, const float *wt, uint8_t *L, float *the_min,
                       uint8_t *Laux, float rmin, float rdelta, int nstep) {
    float min = x[0], max = x[0], sum_w = wt[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += wt[i];
        sum_x += wt[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.0f;
    }
    float iscale = (float)nmax / (max - min), scale = 1 / iscale, best = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        float diff = scale * L[i] + min - x[i];
        best += wt[i] * diff * diff;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * (x[i] - min));
            l = l < 0 ? 0 : l > nmax ? nmax : l;
            Laux[i] = (uint8_t)l;
            sum_l += wt[i] * (float)l;
            sum_l2 += wt[i] * (float)(l * l);
            sum_xl += wt[i] * (float)l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                cur += wt[i] * diff * diff;
            }
            if (cur < best) {
                memcpy(L, Laux, (size_t)n);
                best = cur;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

int el_ref_fake_q4k(float *w, size_t rows, size_t cols) {
    const size_t nb = (cols + QK - 1) / QK;
    for (size_t i = 0; i < rows; i++)
        for (size_t b0 = 0; b0 < nb; b0 += 8) {
            const size_t k = nb - b0 < 8 ? nb - b0 : 8;
            float scales[8], mins[8], max_scale = 0, max_min = 0;
            uint8_t L[QK], Laux[QK];
            float wt[QK];
            for (size_t b = 0; b < k; b++) {
                float *x = w + i * cols + (b0 + b) * QK;
                const int n = (int)(cols - (b0 + b) * QK < QK ? cols - (b0 + b) * QK : QK);
                float sum_x2 = 0;
                for (int l = 0; l < n; l++)
                    sum_x2 += x[l] * x[l];
                const float av_x = sqrtf(sum_x2 / (float)n);
                for (int l = 0; l < n; l++)
                    wt[l] = av_x + fabsf(x[l]);
                scales[b] = make_qkx2(n, 15, x, wt, L, &mins[b], Laux, -1.f, 0.1f, 20);
                if (scales[b] > max_scale) max_scale = scales[b];
                if (mins[b] > max_min) max_min = mins[b];
            }
            const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
            const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
            const float d = f16r(max_scale / 63.f), dmin = f16r(max_min / 63.f);
            for (size_t b = 0; b < k; b++) {
                int ls = nearest_int(inv_scale * scales[b]), lm = nearest_int(inv_min * mins[b]);
                ls = ls > 63 ? 63 : ls;
                lm = lm > 63 ? 63 : lm;
                const float db = d * (float)ls, dm = dmin * (float)lm;
                float *x = w + i * cols + (b0 + b) * QK;
                const int n = (int)(cols - (b0 + b) * QK < QK ? cols - (b0 + b) * QK : QK);
                for (int l = 0; l < n; l++) {
                    int q = db != 0.0f ? nearest_int((x[l] + dm) / db) : 0;
                    q = q < 0 ? 0 : q > 15 ? 15 : q;
                    x[l] = db * (float)q - dm;
                }
            }
        }
    return 0;
}
