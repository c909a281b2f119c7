/*
 * pruner.c -- activation-aware pruning (METHOD.md section 4).
 *
 * Selection is exact and deterministic without sorting: scores are
 * non-negative floats, whose IEEE bit patterns order like the values, so a
 * 4-pass radix select (8 bits per pass, MSB first) finds the k-th smallest
 * score T and how many elements equal to T must go; a final pass in index
 * order zeroes every element below T and the first of those equal to T.
 * Scores are recomputed on every pass, so no O(n) scratch is needed (only a
 * per-column factor).
 */
#include "internal.h"

#include <math.h>
#include <string.h>

/* What is being pruned. */
typedef struct ptarget {
    size_t rows, cols;
    float *w;             /* float matrix, or NULL */
    uint8_t *qdata;       /* quantized data, or NULL */
    const float *qscales; /* with qdata */
    unsigned bits;        /* 8 or 4 */
    dc_quant_granularity gran;
    size_t group, ng, row_bytes;
    const float *colf; /* per-column factor (a_j / s_j ...), NULL = 1 */
} ptarget;

static inline int q_get(const ptarget *t, size_t i, size_t j) {
    const uint8_t *r = t->qdata + i * t->row_bytes;
    if (t->bits == 8) return (int8_t)r[j];
    unsigned nib = (j & 1) ? (unsigned)(r[j >> 1] >> 4) : (unsigned)(r[j >> 1] & 15u);
    return (int)nib - ((nib & 8u) ? 16 : 0);
}

static inline float q_scale(const ptarget *t, size_t i, size_t j) {
    switch (t->gran) {
    case DC_QUANT_PER_TENSOR:
        return t->qscales[0];
    case DC_QUANT_PER_CHANNEL:
        return t->qscales[i];
    case DC_QUANT_PER_GROUP:
        return t->qscales[i * t->ng + j / t->group];
    }
    return 0.0f;
}

static inline float abs_w(const ptarget *t, size_t i, size_t j) {
    if (t->w) return fabsf(t->w[i * t->cols + j]);
    int v = q_get(t, i, j);
    return (float)(v < 0 ? -v : v) * q_scale(t, i, j);
}

static inline int is_zero(const ptarget *t, size_t i, size_t j) {
    return t->w ? t->w[i * t->cols + j] == 0.0f : q_get(t, i, j) == 0;
}

static inline void set_zero(ptarget *t, size_t i, size_t j) {
    if (t->w) {
        t->w[i * t->cols + j] = 0.0f;
        return;
    }
    uint8_t *r = t->qdata + i * t->row_bytes;
    if (t->bits == 8)
        r[j] = 0;
    else
        r[j >> 1] = (uint8_t)((unsigned)r[j >> 1] & ((j & 1) ? 0x0Fu : 0xF0u));
}

/* Order-preserving key of the score of element (i, j). */
static inline uint32_t key_of(const ptarget *t, size_t i, size_t j) {
    float s = abs_w(t, i, j);
    if (t->colf) s *= t->colf[j];
    if (!(s > 0.0f)) return 0; /* +0, -0 (and NaN, which cannot occur) */
    uint32_t u;
    memcpy(&u, &s, 4);
    return u;
}

/* One radix-select step: the byte value b whose bucket holds the need-th
 * smallest candidate; *need becomes its rank inside that bucket. b < 256
 * always, since the candidates number at least *need. */
static unsigned pick_bucket(const uint64_t hist[256], uint64_t *need) {
    uint64_t cum = 0;
    unsigned b = 0;
    for (; b < 255; b++) {
        if (cum + hist[b] >= *need) break;
        cum += hist[b];
    }
    *need -= cum;
    return b;
}

/*
 * Prunes the k lowest-scoring elements of rows [r0, r1) (all columns),
 * treated as one group in row-major order.
 */
static void prune_group(ptarget *t, size_t r0, size_t r1, uint64_t k) {
    if (k == 0) return;
    uint32_t prefix = 0;
    uint64_t need = k; /* 1-based rank of the wanted element among candidates */
    for (int shift = 24; shift >= 0; shift -= 8) {
        uint64_t hist[256];
        memset(hist, 0, sizeof(hist));
        /* Candidates: keys whose bits above `shift + 8` equal the prefix. */
        uint32_t hi_mask = shift == 24 ? 0u : ~((1u << (shift + 8)) - 1u);
        for (size_t i = r0; i < r1; i++)
            for (size_t j = 0; j < t->cols; j++) {
                uint32_t key = key_of(t, i, j);
                if ((key & hi_mask) == prefix) hist[(key >> shift) & 255u]++;
            }
        prefix |= (uint32_t)pick_bucket(hist, &need) << shift;
    }
    /* prefix = T, the k-th smallest key; `need` elements equal to T go. */
    const uint32_t T = prefix;
    for (size_t i = r0; i < r1; i++)
        for (size_t j = 0; j < t->cols; j++) {
            uint32_t key = key_of(t, i, j);
            if (key < T) {
                set_zero(t, i, j);
            } else if (key == T && need > 0) {
                set_zero(t, i, j);
                need--;
            }
        }
}

/*
 * Row group with the keys of row i computed once into keys[0..cols): the
 * same radix select as prune_group, on the array.
 */
static void prune_row_keys(ptarget *t, size_t i, uint64_t k, uint32_t *keys) {
    if (k == 0) return;
    const size_t n = t->cols;
    for (size_t j = 0; j < n; j++)
        keys[j] = key_of(t, i, j);
    uint32_t prefix = 0;
    uint64_t need = k;
    for (int shift = 24; shift >= 0; shift -= 8) {
        uint64_t hist[256];
        memset(hist, 0, sizeof(hist));
        uint32_t hi_mask = shift == 24 ? 0u : ~((1u << (shift + 8)) - 1u);
        for (size_t j = 0; j < n; j++)
            if ((keys[j] & hi_mask) == prefix) hist[(keys[j] >> shift) & 255u]++;
        prefix |= (uint32_t)pick_bucket(hist, &need) << shift;
    }
    const uint32_t T = prefix;
    for (size_t j = 0; j < n; j++) {
        if (keys[j] < T) {
            set_zero(t, i, j);
        } else if (keys[j] == T && need > 0) {
            set_zero(t, i, j);
            need--;
        }
    }
}

static uint64_t count_zeros(const ptarget *t) {
    uint64_t z = 0;
    for (size_t i = 0; i < t->rows; i++)
        for (size_t j = 0; j < t->cols; j++)
            z += (uint64_t)is_zero(t, i, j);
    return z;
}

static uint64_t target_count(float sparsity, uint64_t n) {
    double k = floor((double)sparsity * (double)n + 0.5);
    if (k < 0) k = 0;
    if (k > (double)n) k = (double)n;
    return (uint64_t)k;
}

/*
 * Validates everything except the weights themselves, builds the column
 * factor (caller frees it with `a`), and runs the pruning.
 */
static dc_status prune_common(ptarget *t, const dc_stats *stats, float sparsity,
                              const dc_prune_options *options, dc_prune_report *report,
                              int validate_only, float **colf_out, dc_alloc *a) {
    dc_prune_options o;
    dc_status st = dc_copy_options(&o, sizeof(o), options);
    if (st != DC_OK) return st;
    if ((st = dc_alloc_init(a, o.allocator)) != DC_OK) return st;
    if (o.method != DC_PRUNE_DC && o.method != DC_PRUNE_WANDA && o.method != DC_PRUNE_MAGNITUDE)
        return DC_ERR_INVALID_ARGUMENT;
    if (o.group != DC_PRUNE_GROUP_ROW && o.group != DC_PRUNE_GROUP_TENSOR)
        return DC_ERR_INVALID_ARGUMENT;
    if (report && report->struct_size < sizeof(size_t)) return DC_ERR_INVALID_ARGUMENT;
    if (!(sparsity >= 0.0f && sparsity < 1.0f)) return DC_ERR_RANGE;
    size_t cols = t->cols;
    if (o.method != DC_PRUNE_MAGNITUDE) {
        if (!stats || dc_stats_tokens(stats) == 0) return DC_ERR_INVALID_ARGUMENT;
        if (dc_stats_in_features(stats) != cols) return DC_ERR_DIMENSION;
        if (o.scaler && dc_scaler_in_features(o.scaler) != cols) return DC_ERR_DIMENSION;
    }
    if (validate_only) return DC_OK;

    float *colf = NULL;
    if (o.method != DC_PRUNE_MAGNITUDE) {
        colf = (float *)dc_malloc(a, cols * sizeof(float));
        float *sv = o.scaler ? (float *)dc_malloc(a, cols * sizeof(float)) : NULL;
        double *ss =
            o.method == DC_PRUNE_WANDA ? (double *)dc_malloc(a, cols * sizeof(double)) : NULL;
        if (!colf || (o.scaler && !sv) || (o.method == DC_PRUNE_WANDA && !ss)) {
            dc_free(a, colf);
            dc_free(a, sv);
            dc_free(a, ss);
            return DC_ERR_OUT_OF_MEMORY;
        }
        if (sv) dc_scaler_get_scales(o.scaler, sv, cols);
        if (o.method == DC_PRUNE_DC)
            dc_stats_get_amax(stats, colf, cols);
        else
            dc_stats_get_sumsq(stats, ss, cols);
        for (size_t j = 0; j < cols; j++) {
            double f = o.method == DC_PRUNE_DC ? (double)colf[j] : sqrt(ss[j]);
            if (sv) f /= (double)sv[j];
            colf[j] = (float)f;
        }
        dc_free(a, sv);
        dc_free(a, ss);
    }
    t->colf = colf;
    *colf_out = colf;

    uint64_t total = (uint64_t)t->rows * (uint64_t)cols;
    uint64_t zb = count_zeros(t), selected = 0;
    if (o.group == DC_PRUNE_GROUP_ROW) {
        uint64_t k = target_count(sparsity, cols);
        uint32_t *keys = (uint32_t *)dc_malloc(a, cols * sizeof(uint32_t));
        if (!keys) return DC_ERR_OUT_OF_MEMORY; /* colf is freed by the caller */
        for (size_t i = 0; i < t->rows; i++)
            prune_row_keys(t, i, k, keys);
        dc_free(a, keys);
        selected = k * t->rows;
    } else {
        selected = target_count(sparsity, total);
        prune_group(t, 0, t->rows, selected);
    }
    if (report) {
        dc_prune_report l;
        memset(&l, 0, sizeof(l));
        l.struct_size = report->struct_size;
        l.total = total;
        l.zeros_before = zb;
        l.zeros_after = count_zeros(t);
        l.selected = selected;
        l.sparsity = (double)l.zeros_after / (double)total;
        memcpy(report, &l, report->struct_size < sizeof(l) ? report->struct_size : sizeof(l));
    }
    return DC_OK;
}

dc_status dc_prune_f32(float *w, size_t rows, size_t cols, const dc_stats *stats, float sparsity,
                       const dc_prune_options *options, dc_prune_report *report) {
    if (!w) return DC_ERR_INVALID_ARGUMENT;
    ptarget t;
    memset(&t, 0, sizeof(t));
    t.rows = rows;
    t.cols = cols;
    t.w = w;
    float *colf = NULL;
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_status st = prune_common(&t, stats, sparsity, options, report, 1, &colf, &a);
    if (st != DC_OK) return st;
    if (rows == 0 || cols == 0 || cols > SIZE_MAX / sizeof(float) / rows) return DC_ERR_DIMENSION;
    if (!dc_all_finite_f32(w, rows * cols)) return DC_ERR_NOT_FINITE;
    st = prune_common(&t, stats, sparsity, options, report, 0, &colf, &a);
    dc_free(&a, colf);
    return st;
}

dc_status dc_prune_qtensor(dc_qtensor *q, const dc_stats *stats, float sparsity,
                           const dc_prune_options *options, dc_prune_report *report) {
    if (!q) return DC_ERR_INVALID_ARGUMENT;
    dc_qtensor_info info;
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    dc_status st = dc_qtensor_get_info(q, &info);
    if (st != DC_OK) return st;
    ptarget t;
    memset(&t, 0, sizeof(t));
    t.rows = info.rows;
    t.cols = info.cols;
    /* The data are owned (and were allocated writable) by q; the library may
     * modify them through its own handle. */
    t.qdata = (uint8_t *)(uintptr_t)dc_qtensor_data(q);
    t.qscales = dc_qtensor_scales(q);
    t.bits = info.bits;
    t.gran = info.granularity;
    t.group = info.group_size;
    t.ng = info.granularity == DC_QUANT_PER_GROUP ? info.n_scales / info.rows : 1;
    t.row_bytes = info.row_bytes;
    float *colf = NULL;
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    st = prune_common(&t, stats, sparsity, options, report, 0, &colf, &a);
    dc_free(&a, colf);
    return st;
}
