/*
 * ans_avx512.c -- AVX-512 rANS decode kernels: 16 states per vector.
 *
 * Same recurrence and word order as the scalar decoders in ans.c. The refill
 * expands the next popcount(mask) 16-bit words onto the lanes that need them,
 * in lane order (AVX512-VBMI2 vpexpandw).
 *
 * Gathers merge into their destination register, so a gather also waits for
 * whatever last wrote that register. Left to itself, GCC 12 gives every
 * gather of the loop the same destination, which chains the vectors' gathers
 * one after another (half the speed). GATHER16 zeroes each gather's
 * destination right before it, in asm the compiler cannot fold away, which
 * breaks that chain: zeroing idioms carry no dependency.
 */
#include "../internal.h"

#if DC_X86
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi2,popcnt")))

/* 16 32-bit loads from t + 4 * slot (or t + slot with SCALE 1), by one
 * hardware gather. Written in asm: with intrinsics, GCC sees the all-ones
 * mask, drops the merge source and picks the destination register itself,
 * which brings the false dependency back (a zeroed source is folded away). */
#define GATHER16(t, slot, scale, size)                                                             \
    __extension__({                                                                                \
        __m512i r_;                                                                                \
        __mmask16 k_;                                                                              \
        __asm__("kxnorw %%k0, %%k0, %1\n\t" /* all ones, not waiting for the last gather */        \
                "vpxord %0, %0, %0\n\t"                                                            \
                "vpgatherdd (%3,%2," #scale "), %0%{%1%}"                                          \
                : "=&v"(r_), "=&Yk"(k_)                                                            \
                : "v"(slot), "r"(t), "m"(*(const uint8_t(*)[size])(t)));                           \
        r_;                                                                                        \
    })

static TARGET inline __m512i gather_hw(const uint32_t *t, __m512i slot) {
    return GATHER16(t, slot, 4, 4u << DC_ANS2_PROB_BITS);
}

/* 16 table entries by scalar loads: the slots go through memory to integer
 * registers, the entries come back four to an xmm register. */
static TARGET inline __m512i gather_sw(const uint32_t *t, __m512i slot) {
    uint32_t idx[16] __attribute__((aligned(64)));
    _mm512_store_si512((void *)idx, slot);
    __m128i q[4];
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_cvtsi32_si128((int)t[idx[4 * k]]);
        v = _mm_insert_epi32(v, (int)t[idx[4 * k + 1]], 1);
        v = _mm_insert_epi32(v, (int)t[idx[4 * k + 2]], 2);
        q[k] = _mm_insert_epi32(v, (int)t[idx[4 * k + 3]], 3);
    }
    __m512i r = _mm512_castsi128_si512(q[0]);
    r = _mm512_inserti32x4(r, q[1], 1);
    r = _mm512_inserti32x4(r, q[2], 2);
    return _mm512_inserti32x4(r, q[3], 3);
}

/* Renormalises the lanes of x below L with the next words at *pp. */
static TARGET inline __m512i refill(__m512i x, const uint8_t **pp) {
    __mmask16 need = _mm512_cmplt_epu32_mask(x, _mm512_set1_epi32(DC_ANS_L));
    const uint8_t *p = *pp;
    __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_expandloadu_epi16(need, p));
    *pp = p + 2 * (unsigned)_mm_popcnt_u32(need);
    return _mm512_mask_or_epi32(x, need, _mm512_slli_epi32(x, 16), w);
}

/* --- format v1: split table (entry, sym), 13-bit probabilities ------------- */

static TARGET inline __m512i step1(__m512i x, const dc_ans_table *t, const uint8_t **pp,
                                   __m128i *sym) {
    __m512i slot = _mm512_and_si512(x, _mm512_set1_epi32((1 << DC_ANS1_PROB_BITS) - 1));
    __m512i e = GATHER16(t->u.v1.entry, slot, 4, 4u << DC_ANS1_PROB_BITS);
    /* 32-bit gather at byte offsets; vpmovdb keeps the low byte = the symbol */
    __m512i s = GATHER16(t->u.v1.sym, slot, 1, (1u << DC_ANS1_PROB_BITS) + 4);
    *sym = _mm512_cvtepi32_epi8(s);
    __m512i freq = _mm512_and_si512(e, _mm512_set1_epi32(0xFFFF));
    __m512i bias = _mm512_srli_epi32(e, 16);
    x = _mm512_add_epi32(_mm512_mullo_epi32(freq, _mm512_srli_epi32(x, DC_ANS1_PROB_BITS)), bias);
    return refill(x, pp);
}

TARGET size_t dc_ans1_decode_avx512(const dc_ans_table *t, uint32_t *st, unsigned ns,
                                    const uint8_t **pp, const uint8_t *end, uint8_t *out,
                                    size_t n) {
    (void)ns; /* 32 */
    const uint8_t *p = *pp;
    __m512i x0 = _mm512_loadu_si512((const void *)st);
    __m512i x1 = _mm512_loadu_si512((const void *)(st + 16));
    size_t i = 0;
    for (; i + 32 <= n && end - p >= 64; i += 32) {
        __m128i s0, s1;
        x0 = step1(x0, t, &p, &s0);
        x1 = step1(x1, t, &p, &s1);
        _mm_storeu_si128((__m128i *)(out + i), s0);
        _mm_storeu_si128((__m128i *)(out + i + 16), s1);
    }
    _mm512_storeu_si512((void *)st, x0);
    _mm512_storeu_si512((void *)(st + 16), x1);
    *pp = p;
    return i;
}

/* --- format v2: packed entries, 12-bit probabilities ---------------------- */

/* One step of 16 states given their 16 entries (symbol | freq << 8 | bias << 20). */
static TARGET inline __m512i step2(__m512i x, __m512i e, const uint8_t **pp, uint8_t *out) {
    _mm_storeu_si128((__m128i *)out, _mm512_cvtepi32_epi8(e));
    __m512i freq = _mm512_and_si512(_mm512_srli_epi32(e, 8), _mm512_set1_epi32(0xFFF));
    __m512i bias = _mm512_srli_epi32(e, 20);
    x = _mm512_add_epi32(_mm512_mullo_epi32(freq, _mm512_srli_epi32(x, DC_ANS2_PROB_BITS)), bias);
    return refill(x, pp);
}

#define SLOT(x) _mm512_and_si512(x, _mm512_set1_epi32((1 << DC_ANS2_PROB_BITS) - 1))

/* NV vectors of 16 states (ns = 16 * NV: 32, 64 or 128). More states give the
 * out-of-order core more independent gathers to overlap: one group's chain
 * (gather, update, refill) is long, and the groups of different vectors only
 * meet at the stream pointer. A group of ns symbols reads at
 * most ns words (2 * ns bytes); each refill reads only the words it consumes. */
#define DECODE_NV(NV, GATHER)                                                                      \
    do {                                                                                           \
        __m512i x[NV];                                                                             \
        for (int k = 0; k < NV; k++)                                                               \
            x[k] = _mm512_loadu_si512((const void *)(st + 16 * k));                                \
        for (; i + 16 * NV <= n && end - p >= 32 * NV; i += 16 * NV) {                             \
            _mm_prefetch((const char *)p + 1024, _MM_HINT_T0);                                     \
            __m512i e[NV];                                                                         \
            for (int k = 0; k < NV; k++)                                                           \
                e[k] = GATHER(tab, SLOT(x[k]));                                                    \
            for (int k = 0; k < NV; k++)                                                           \
                x[k] = step2(x[k], e[k], &p, out + i + 16 * k);                                    \
        }                                                                                          \
        for (int k = 0; k < NV; k++)                                                               \
            _mm512_storeu_si512((void *)(st + 16 * k), x[k]);                                      \
    } while (0)

#define DECODE_V2(GATHER)                                                                          \
    const uint32_t *tab = t->u.packed;                                                             \
    const uint8_t *p = *pp;                                                                        \
    size_t i = 0;                                                                                  \
    if (ns == 128)                                                                                 \
        DECODE_NV(8, GATHER);                                                                      \
    else if (ns == 64)                                                                             \
        DECODE_NV(4, GATHER);                                                                      \
    else                                                                                           \
        DECODE_NV(2, GATHER);                                                                      \
    *pp = p;                                                                                       \
    return i

TARGET size_t dc_ans2_decode_avx512(const dc_ans_table *t, uint32_t *st, unsigned ns,
                                    const uint8_t **pp, const uint8_t *end, uint8_t *out,
                                    size_t n) {
    DECODE_V2(gather_hw);
}

TARGET size_t dc_ans2_decode_avx512_sw(const dc_ans_table *t, uint32_t *st, unsigned ns,
                                       const uint8_t **pp, const uint8_t *end, uint8_t *out,
                                       size_t n) {
    DECODE_V2(gather_sw);
}
#endif
