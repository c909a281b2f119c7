/*
 * quantizer.c -- symmetric INT8 / INT4 weight quantization (METHOD.md section 3).
 */
#include "internal.h"

#include <math.h>
#include <string.h>

struct dc_qtensor {
    dc_alloc alloc;
    size_t rows, cols;
    unsigned bits;
    int qmax; /* Q */
    unsigned flags;
    dc_quant_granularity gran;
    size_t group; /* G (per-group), cols (per-channel), 0 (per-tensor) */
    size_t ng;    /* scales per row (per-group), else 1 */
    size_t n_scales;
    size_t row_bytes;
    uint8_t *data;
    float *scales;
    double mse, max_abs, mean_sq; /* error at quantization time */
};

/* Resolved options and derived layout. */
typedef struct qlayout {
    dc_alloc alloc;
    unsigned bits;
    int qmax;
    unsigned flags;
    dc_quant_granularity gran;
    size_t group, ng, n_scales, row_bytes;
} qlayout;

/* x rounded to the nearest IEEE binary16 value (ties to even), as a float;
 * +-inf when |x| rounds above 65504. x finite. */
static float f16_round(float x) {
    return dc_f16_value(dc_f16_bits(x, NULL));
}

static dc_status resolve(const dc_quant_options *options, size_t rows, size_t cols, qlayout *L) {
    dc_quant_options o;
    dc_status st = dc_copy_options(&o, sizeof(o), options);
    if (st != DC_OK) return st;
    if ((st = dc_alloc_init(&L->alloc, o.allocator)) != DC_OK) return st;
    L->bits = o.bits == 0 ? 8 : o.bits;
    if (L->bits != 8 && L->bits != 4) return DC_ERR_RANGE;
    L->qmax = L->bits == 8 ? 127 : 7;
    if (o.qmax > (unsigned)L->qmax) return DC_ERR_RANGE;
    if (o.qmax) L->qmax = (int)o.qmax;
    if (o.flags & ~(DC_QUANT_FULL_GRID | DC_QUANT_F16_SCALES)) return DC_ERR_INVALID_ARGUMENT;
    if ((o.flags & DC_QUANT_FULL_GRID) && (L->bits != 4 || o.qmax)) return DC_ERR_RANGE;
    if (o.flags & DC_QUANT_FULL_GRID) L->qmax = 8;
    L->flags = o.flags;
    L->gran = o.granularity;
    if (rows == 0 || cols == 0 || cols > SIZE_MAX / rows) return DC_ERR_DIMENSION;
    if (rows * cols > SIZE_MAX / sizeof(float)) return DC_ERR_DIMENSION;
    switch (o.granularity) {
    case DC_QUANT_PER_TENSOR:
        L->group = 0;
        L->ng = 1;
        L->n_scales = 1;
        break;
    case DC_QUANT_PER_CHANNEL:
        L->group = cols;
        L->ng = 1;
        L->n_scales = rows;
        break;
    case DC_QUANT_PER_GROUP:
        L->group = o.group_size == 0 ? DC_QUANT_GROUP_SIZE_DEFAULT : o.group_size;
        L->ng = cols / L->group + (cols % L->group != 0);
        L->n_scales = rows * L->ng; /* <= rows * cols: no overflow */
        break;
    default:
        return DC_ERR_INVALID_ARGUMENT;
    }
    L->row_bytes = L->bits == 8 ? cols : cols / 2 + (cols & 1);
    return DC_OK;
}

static dc_status qt_alloc(const qlayout *L, size_t rows, size_t cols, dc_qtensor **out) {
    dc_qtensor *q = (dc_qtensor *)dc_calloc(&L->alloc, 1, sizeof(*q));
    if (!q) return DC_ERR_OUT_OF_MEMORY;
    q->alloc = L->alloc;
    q->rows = rows;
    q->cols = cols;
    q->bits = L->bits;
    q->qmax = L->qmax;
    q->flags = L->flags;
    q->gran = L->gran;
    q->group = L->group;
    q->ng = L->ng;
    q->n_scales = L->n_scales;
    q->row_bytes = L->row_bytes;
    q->data = (uint8_t *)dc_calloc(&L->alloc, rows, L->row_bytes);
    q->scales = (float *)dc_calloc(&L->alloc, L->n_scales, sizeof(float));
    if (!q->data || !q->scales) {
        dc_qtensor_free(q);
        return DC_ERR_OUT_OF_MEMORY;
    }
    *out = q;
    return DC_OK;
}

/* A 4-bit two's-complement nibble (0..15) as its value, -8..7. */
static inline int nibble_value(unsigned nib) {
    return (int)nib - ((nib & 8u) ? 16 : 0);
}

/* Element access in the public layout. */
static inline int qt_get(const dc_qtensor *q, size_t i, size_t j) {
    const uint8_t *r = q->data + i * q->row_bytes;
    if (q->bits == 8) return (int8_t)r[j];
    return nibble_value((j & 1) ? (unsigned)(r[j >> 1] >> 4) : (unsigned)(r[j >> 1] & 15u));
}

static inline void qt_set(dc_qtensor *q, size_t i, size_t j, int v) {
    uint8_t *r = q->data + i * q->row_bytes;
    if (q->bits == 8) {
        r[j] = (uint8_t)(int8_t)v;
        return;
    }
    uint8_t nib = (uint8_t)((unsigned)v & 15u);
    uint8_t *b = &r[j >> 1];
    unsigned keep = (j & 1) ? 0x0Fu : 0xF0u;
    unsigned put = (j & 1) ? (unsigned)nib << 4 : (unsigned)nib;
    *b = (uint8_t)(((unsigned)*b & keep) | put);
}

/* Index in scales[] of the Delta of element (i, j). */
static inline size_t qt_scale_index(const dc_qtensor *q, size_t i, size_t j) {
    return q->gran == DC_QUANT_PER_TENSOR    ? 0
           : q->gran == DC_QUANT_PER_CHANNEL ? i
                                             : i * q->ng + j / q->group;
}

static inline float qt_scale(const dc_qtensor *q, size_t i, size_t j) {
    return q->scales[qt_scale_index(q, i, j)];
}

/* round() (halves away from zero) without the libm call: for |x| < 2^52,
 * t = trunc(x) and x - t are exact, so the result is identical. */
static inline double round_half_away(double x) {
    double t = (double)(int64_t)x;
    double frac = x - t;
    /* comparisons as 0/1 values: the sign of frac is data, not worth a branch */
    return t + (double)(frac >= 0.5) - (double)(frac <= -0.5);
}

/* Adds the error terms of one run of n elements with one scale; four
 * partial sums per quantity so the additions need not wait on each other. */
static void measure_run8(const int8_t *o, const float *r, size_t n, float sc, double acc[12]) {
    double e[4] = {0}, p[4] = {0}, m[4] = {0}; /* locals: o (a char type) may alias acc */
    size_t j = 0;
    for (; j + 4 <= n; j += 4)
        for (size_t k = 0; k < 4; k++) {
            double wv = (double)r[j + k];
            double d = fabs(wv - (double)((float)o[j + k] * sc));
            e[k] += d * d;
            p[k] += wv * wv;
            m[k] = d > m[k] ? d : m[k];
        }
    for (; j < n; j++) {
        double wv = (double)r[j];
        double d = fabs(wv - (double)((float)o[j] * sc));
        e[0] += d * d;
        p[0] += wv * wv;
        m[0] = d > m[0] ? d : m[0];
    }
    for (size_t k = 0; k < 4; k++) {
        acc[k] += e[k];
        acc[4 + k] += p[k];
        acc[8 + k] = m[k] > acc[8 + k] ? m[k] : acc[8 + k];
    }
}

static void measure(const dc_qtensor *q, const float *ref, double *mse, double *max_abs,
                    double *mean_sq) {
    double acc[12] = {0}; /* 4 partial sums of d^2, of w^2, 4 maxima of d */
    if (q->bits == 8) {   /* one scale per run of columns: no per-element dispatch */
        size_t run = q->gran == DC_QUANT_PER_GROUP ? q->group : q->cols;
        for (size_t i = 0; i < q->rows; i++)
            for (size_t j0 = 0; j0 < q->cols; j0 += run) {
                size_t n = q->cols - j0 < run ? q->cols - j0 : run;
                measure_run8((const int8_t *)(q->data + i * q->row_bytes) + j0,
                             ref + i * q->cols + j0, n, qt_scale(q, i, j0), acc);
            }
    } else {
        for (size_t i = 0; i < q->rows; i++)
            for (size_t j = 0; j < q->cols; j++) {
                double w = (double)ref[i * q->cols + j];
                float deq = (float)qt_get(q, i, j) * qt_scale(q, i, j);
                double d = fabs(w - (double)deq);
                acc[0] += d * d;
                acc[4] += w * w;
                acc[8] = d > acc[8] ? d : acc[8];
            }
    }
    double n = (double)q->rows * (double)q->cols;
    *mse = ((acc[0] + acc[1]) + (acc[2] + acc[3])) / n;
    *mean_sq = ((acc[4] + acc[5]) + (acc[6] + acc[7])) / n;
    double mx = acc[8] > acc[9] ? acc[8] : acc[9];
    mx = acc[10] > mx ? acc[10] : mx;
    *max_abs = acc[11] > mx ? acc[11] : mx;
}

/* max |x| over n floats, as the bit pattern of a non-negative float (for
 * those, the order of the bit patterns is the order of the values); a result
 * >= 0x7F800000 means a NaN or an infinity was seen. Integer max: vectorisable. */
static uint32_t absmax_bits(const float *x, size_t n) {
    uint32_t m[8] = {0};
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (size_t k = 0; k < 8; k++) {
            uint32_t u;
            memcpy(&u, x + j + k, 4);
            u &= 0x7FFFFFFFu;
            m[k] = u > m[k] ? u : m[k];
        }
    for (; j < n; j++) {
        uint32_t u;
        memcpy(&u, x + j, 4);
        u &= 0x7FFFFFFFu;
        m[0] = u > m[0] ? u : m[0];
    }
    for (size_t k = 1; k < 8; k++)
        m[0] = m[k] > m[0] ? m[k] : m[0];
    return m[0];
}

/* 8-bit quantization of one run with one Delta > 0: round(x / Delta) in
 * double, halves away from zero, clamped to +-qmax. |x / Delta| < 2^31 here
 * (|x| <= max and Delta is max / Q rounded to float, so the quotient stays
 * near Q even for subnormal Delta), so the int32 truncation is exact and the
 * result equals round_half_away(); the int32 form lets the compiler vectorise. */
static void quantize_run8(int8_t *o, const float *r, size_t n, double delta, double dq) {
    for (size_t j = 0; j < n; j++) {
        double x = (double)r[j] / delta;
        double t = (double)(int32_t)x;
        double f = x - t;
        t += (double)(f >= 0.5) - (double)(f <= -0.5);
        t = t > dq ? dq : t;
        t = t < -dq ? -dq : t;
        o[j] = (int8_t)(int32_t)t;
    }
}

dc_status dc_quantize(const float *w, size_t rows, size_t cols, const dc_quant_options *options,
                      dc_qtensor **out) {
    if (!out) return DC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!w) return DC_ERR_INVALID_ARGUMENT;
    qlayout L;
    dc_status st = resolve(options, rows, cols, &L);
    if (st != DC_OK) return st;
    dc_qtensor *q;
    if ((st = qt_alloc(&L, rows, cols, &q)) != DC_OK) return st;

    /* Block maxima (and the NaN/Inf check, same pass) into scales[], as bit
     * patterns, then Delta = max / Q. A run is a row's columns sharing a Delta. */
    const size_t run = q->gran == DC_QUANT_PER_GROUP ? q->group : cols;
    uint32_t *mb = (uint32_t *)q->scales; /* same size; converted below */
    uint32_t any = 0;
    for (size_t i = 0; i < rows; i++)
        for (size_t j0 = 0; j0 < cols; j0 += run) {
            size_t k = qt_scale_index(q, i, j0);
            uint32_t m = absmax_bits(w + i * cols + j0, cols - j0 < run ? cols - j0 : run);
            mb[k] = m > mb[k] ? m : mb[k];
            any = m > any ? m : any;
        }
    if (any >= 0x7F800000u) {
        dc_qtensor_free(q);
        return DC_ERR_NOT_FINITE;
    }
    const float fq = (float)L.qmax;
    for (size_t k = 0; k < q->n_scales; k++) {
        float m;
        memcpy(&m, &mb[k], sizeof(m));
        q->scales[k] = m / fq;
    }
    if (L.flags & DC_QUANT_FULL_GRID) { /* Delta = m / -8, m the signed extreme */
        uint8_t *done = (uint8_t *)dc_calloc(&L.alloc, q->n_scales, 1);
        if (!done) {
            dc_qtensor_free(q);
            return DC_ERR_OUT_OF_MEMORY;
        }
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++) {
                const float v = w[i * cols + j];
                const size_t k = qt_scale_index(q, i, j);
                /* scales[k] is max|w| / 8 (exact) until the block's first extreme */
                if (!done[k] && q->scales[k] > 0.0f && fabsf(v) == q->scales[k] * 8.0f) {
                    q->scales[k] = -v / 8.0f;
                    done[k] = 1;
                }
            }
        dc_free(&L.alloc, done);
    }
    if (L.flags & DC_QUANT_F16_SCALES)
        for (size_t k = 0; k < q->n_scales; k++) {
            q->scales[k] = f16_round(q->scales[k]);
            if (isinf(q->scales[k])) {
                dc_qtensor_free(q);
                return DC_ERR_RANGE;
            }
        }

    const double dq = (double)L.qmax;
    const double dlo = (L.flags & DC_QUANT_FULL_GRID) ? -8.0 : -dq;
    const double dhi = (L.flags & DC_QUANT_FULL_GRID) ? 7.0 : dq;
    if (q->bits == 8) {
        /* Fast path, same arithmetic as the general one below. */
        for (size_t i = 0; i < rows; i++)
            for (size_t j0 = 0; j0 < cols; j0 += run) {
                size_t n = cols - j0 < run ? cols - j0 : run;
                int8_t *o = (int8_t *)(q->data + i * q->row_bytes) + j0;
                const double delta = (double)qt_scale(q, i, j0);
                if (delta > 0.0)
                    quantize_run8(o, w + i * cols + j0, n, delta, dq);
                else
                    memset(o, 0, n);
            }
        measure(q, w, &q->mse, &q->max_abs, &q->mean_sq);
        *out = q;
        return DC_OK;
    }
    for (size_t i = 0; i < rows; i++) {
        const float *r = w + i * cols;
        for (size_t j = 0; j < cols; j++) {
            float delta = qt_scale(q, i, j);
            int v = 0;
            if (delta != 0.0f) {
                double x = round_half_away((double)r[j] / (double)delta); /* |x| <= Q */
                if (x > dhi) x = dhi;
                if (x < dlo) x = dlo;
                v = (int)x;
            }
            qt_set(q, i, j, v);
        }
    }
    measure(q, w, &q->mse, &q->max_abs, &q->mean_sq);
    *out = q;
    return DC_OK;
}

dc_status dc_qtensor_import(const void *data, size_t data_size, const float *scales,
                            size_t n_scales, size_t rows, size_t cols,
                            const dc_quant_options *options, dc_qtensor **out) {
    if (!out) return DC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!data || !scales) return DC_ERR_INVALID_ARGUMENT;
    qlayout L;
    dc_status st = resolve(options, rows, cols, &L);
    if (st != DC_OK) return st;
    if (data_size != rows * L.row_bytes || n_scales != L.n_scales) return DC_ERR_SIZE_MISMATCH;
    if (!dc_all_finite_f32(scales, n_scales)) return DC_ERR_NOT_FINITE;
    const int full = (L.flags & DC_QUANT_FULL_GRID) != 0;
    for (size_t k = 0; k < n_scales; k++) {
        if (scales[k] < 0.0f && !full) return DC_ERR_RANGE;
        if ((L.flags & DC_QUANT_F16_SCALES) && f16_round(scales[k]) != scales[k])
            return DC_ERR_RANGE;
    }
    const int lo_q = full ? -8 : -L.qmax, hi_q = full ? 7 : L.qmax;
    const uint8_t *d = (const uint8_t *)data;
    for (size_t i = 0; i < rows; i++) {
        const uint8_t *r = d + i * L.row_bytes;
        if (L.bits == 8) {
            for (size_t j = 0; j < cols; j++) {
                int v = (int8_t)r[j];
                if (v > L.qmax || v < -L.qmax) return DC_ERR_RANGE;
            }
        } else {
            for (size_t b = 0; b < L.row_bytes; b++) {
                int lo = nibble_value(r[b] & 15u), hi = nibble_value((unsigned)r[b] >> 4);
                if (lo > hi_q || lo < lo_q || hi > hi_q || hi < lo_q) return DC_ERR_RANGE;
            }
            if ((cols & 1) && (r[L.row_bytes - 1] >> 4) != 0) return DC_ERR_RANGE;
        }
    }
    dc_qtensor *q;
    if ((st = qt_alloc(&L, rows, cols, &q)) != DC_OK) return st;
    memcpy(q->data, data, data_size);
    memcpy(q->scales, scales, n_scales * sizeof(float));
    for (size_t k = 0; k < n_scales; k++)
        q->scales[k] += 0.0f; /* -0 -> +0 */
    *out = q;
    return DC_OK;
}

void dc_qtensor_free(dc_qtensor *q) {
    if (!q) return;
    dc_alloc a = q->alloc;
    dc_free(&a, q->data);
    dc_free(&a, q->scales);
    dc_free(&a, q);
}

dc_status dc_qtensor_get_info(const dc_qtensor *q, dc_qtensor_info *info) {
    if (!q || !info || info->struct_size < sizeof(size_t)) return DC_ERR_INVALID_ARGUMENT;
    dc_qtensor_info l;
    memset(&l, 0, sizeof(l));
    l.struct_size = info->struct_size;
    l.rows = q->rows;
    l.cols = q->cols;
    l.bits = q->bits;
    l.granularity = q->gran;
    l.group_size = q->group;
    l.n_scales = q->n_scales;
    l.row_bytes = q->row_bytes;
    l.data_size = q->rows * q->row_bytes;
    l.qmax = (unsigned)q->qmax;
    l.flags = q->flags;
    memcpy(info, &l, info->struct_size < sizeof(l) ? info->struct_size : sizeof(l));
    return DC_OK;
}

const void *dc_qtensor_data(const dc_qtensor *q) {
    return q ? q->data : NULL;
}

const float *dc_qtensor_scales(const dc_qtensor *q) {
    return q ? q->scales : NULL;
}

dc_status dc_qtensor_dequantize(const dc_qtensor *q, float *dst, size_t dst_count) {
    if (!q || !dst) return DC_ERR_INVALID_ARGUMENT;
    if (dst_count < q->rows * q->cols) return DC_ERR_DST_TOO_SMALL;
    for (size_t i = 0; i < q->rows; i++)
        for (size_t j = 0; j < q->cols; j++)
            dst[i * q->cols + j] = (float)qt_get(q, i, j) * qt_scale(q, i, j);
    return DC_OK;
}

static void write_error(dc_quant_error *err, double mse, double max_abs, double mean_sq) {
    dc_quant_error l;
    memset(&l, 0, sizeof(l));
    l.struct_size = err->struct_size;
    l.mse = mse;
    l.max_abs = max_abs;
    l.mean_sq = mean_sq;
    memcpy(err, &l, err->struct_size < sizeof(l) ? err->struct_size : sizeof(l));
}

dc_status dc_qtensor_error(const dc_qtensor *q, dc_quant_error *err) {
    if (!q || !err || err->struct_size < sizeof(size_t)) return DC_ERR_INVALID_ARGUMENT;
    write_error(err, q->mse, q->max_abs, q->mean_sq);
    return DC_OK;
}

dc_status dc_qtensor_compare(const dc_qtensor *q, const float *ref, size_t rows, size_t cols,
                             dc_quant_error *err) {
    if (!q || !ref || !err || err->struct_size < sizeof(size_t)) return DC_ERR_INVALID_ARGUMENT;
    if (rows != q->rows || cols != q->cols) return DC_ERR_DIMENSION;
    if (!dc_all_finite_f32(ref, rows * cols)) return DC_ERR_NOT_FINITE;
    double mse, mx, sq;
    measure(q, ref, &mse, &mx, &sq);
    write_error(err, mse, mx, sq);
    return DC_OK;
}
