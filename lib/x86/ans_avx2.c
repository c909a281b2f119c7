/*
 * ans_avx2.c -- AVX2 rANS decode kernels: 8 states per vector.
 *
 * Same recurrence and word order as the scalar decoders in ans.c. Per vector:
 * look up the 8 table entries, update the states, then refill the lanes that
 * fell below L from the next words of the stream: the lanes needing a word
 * form an 8-bit mask, and a 2 KiB table maps the mask to the permutation that
 * spreads the next popcount(mask) words onto those lanes in lane order.
 * As in ans_avx512.c, every hardware gather gets a freshly zeroed destination
 * (GATHER8) so that the gathers of different vectors do not wait for each
 * other through a shared register.
 */
#include "../internal.h"

#if DC_X86
#include <immintrin.h>

/* kRefillPerm[m][k]: for lane k set in m, the index of its word among the
 * words consumed by this vector (the number of set bits of m below k). */
static const uint8_t kRefillPerm[256][8] = {
    {0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0},
    {0, 1, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 1, 0, 0, 0, 0, 0},
    {0, 0, 1, 0, 0, 0, 0, 0}, {0, 1, 2, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0},
    {0, 0, 0, 1, 0, 0, 0, 0}, {0, 0, 0, 1, 0, 0, 0, 0}, {0, 1, 0, 2, 0, 0, 0, 0},
    {0, 0, 0, 1, 0, 0, 0, 0}, {0, 0, 1, 2, 0, 0, 0, 0}, {0, 0, 1, 2, 0, 0, 0, 0},
    {0, 1, 2, 3, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 1, 0, 0, 0},
    {0, 0, 0, 0, 1, 0, 0, 0}, {0, 1, 0, 0, 2, 0, 0, 0}, {0, 0, 0, 0, 1, 0, 0, 0},
    {0, 0, 1, 0, 2, 0, 0, 0}, {0, 0, 1, 0, 2, 0, 0, 0}, {0, 1, 2, 0, 3, 0, 0, 0},
    {0, 0, 0, 0, 1, 0, 0, 0}, {0, 0, 0, 1, 2, 0, 0, 0}, {0, 0, 0, 1, 2, 0, 0, 0},
    {0, 1, 0, 2, 3, 0, 0, 0}, {0, 0, 0, 1, 2, 0, 0, 0}, {0, 0, 1, 2, 3, 0, 0, 0},
    {0, 0, 1, 2, 3, 0, 0, 0}, {0, 1, 2, 3, 4, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0},
    {0, 0, 0, 0, 0, 1, 0, 0}, {0, 0, 0, 0, 0, 1, 0, 0}, {0, 1, 0, 0, 0, 2, 0, 0},
    {0, 0, 0, 0, 0, 1, 0, 0}, {0, 0, 1, 0, 0, 2, 0, 0}, {0, 0, 1, 0, 0, 2, 0, 0},
    {0, 1, 2, 0, 0, 3, 0, 0}, {0, 0, 0, 0, 0, 1, 0, 0}, {0, 0, 0, 1, 0, 2, 0, 0},
    {0, 0, 0, 1, 0, 2, 0, 0}, {0, 1, 0, 2, 0, 3, 0, 0}, {0, 0, 0, 1, 0, 2, 0, 0},
    {0, 0, 1, 2, 0, 3, 0, 0}, {0, 0, 1, 2, 0, 3, 0, 0}, {0, 1, 2, 3, 0, 4, 0, 0},
    {0, 0, 0, 0, 0, 1, 0, 0}, {0, 0, 0, 0, 1, 2, 0, 0}, {0, 0, 0, 0, 1, 2, 0, 0},
    {0, 1, 0, 0, 2, 3, 0, 0}, {0, 0, 0, 0, 1, 2, 0, 0}, {0, 0, 1, 0, 2, 3, 0, 0},
    {0, 0, 1, 0, 2, 3, 0, 0}, {0, 1, 2, 0, 3, 4, 0, 0}, {0, 0, 0, 0, 1, 2, 0, 0},
    {0, 0, 0, 1, 2, 3, 0, 0}, {0, 0, 0, 1, 2, 3, 0, 0}, {0, 1, 0, 2, 3, 4, 0, 0},
    {0, 0, 0, 1, 2, 3, 0, 0}, {0, 0, 1, 2, 3, 4, 0, 0}, {0, 0, 1, 2, 3, 4, 0, 0},
    {0, 1, 2, 3, 4, 5, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 1, 0},
    {0, 0, 0, 0, 0, 0, 1, 0}, {0, 1, 0, 0, 0, 0, 2, 0}, {0, 0, 0, 0, 0, 0, 1, 0},
    {0, 0, 1, 0, 0, 0, 2, 0}, {0, 0, 1, 0, 0, 0, 2, 0}, {0, 1, 2, 0, 0, 0, 3, 0},
    {0, 0, 0, 0, 0, 0, 1, 0}, {0, 0, 0, 1, 0, 0, 2, 0}, {0, 0, 0, 1, 0, 0, 2, 0},
    {0, 1, 0, 2, 0, 0, 3, 0}, {0, 0, 0, 1, 0, 0, 2, 0}, {0, 0, 1, 2, 0, 0, 3, 0},
    {0, 0, 1, 2, 0, 0, 3, 0}, {0, 1, 2, 3, 0, 0, 4, 0}, {0, 0, 0, 0, 0, 0, 1, 0},
    {0, 0, 0, 0, 1, 0, 2, 0}, {0, 0, 0, 0, 1, 0, 2, 0}, {0, 1, 0, 0, 2, 0, 3, 0},
    {0, 0, 0, 0, 1, 0, 2, 0}, {0, 0, 1, 0, 2, 0, 3, 0}, {0, 0, 1, 0, 2, 0, 3, 0},
    {0, 1, 2, 0, 3, 0, 4, 0}, {0, 0, 0, 0, 1, 0, 2, 0}, {0, 0, 0, 1, 2, 0, 3, 0},
    {0, 0, 0, 1, 2, 0, 3, 0}, {0, 1, 0, 2, 3, 0, 4, 0}, {0, 0, 0, 1, 2, 0, 3, 0},
    {0, 0, 1, 2, 3, 0, 4, 0}, {0, 0, 1, 2, 3, 0, 4, 0}, {0, 1, 2, 3, 4, 0, 5, 0},
    {0, 0, 0, 0, 0, 0, 1, 0}, {0, 0, 0, 0, 0, 1, 2, 0}, {0, 0, 0, 0, 0, 1, 2, 0},
    {0, 1, 0, 0, 0, 2, 3, 0}, {0, 0, 0, 0, 0, 1, 2, 0}, {0, 0, 1, 0, 0, 2, 3, 0},
    {0, 0, 1, 0, 0, 2, 3, 0}, {0, 1, 2, 0, 0, 3, 4, 0}, {0, 0, 0, 0, 0, 1, 2, 0},
    {0, 0, 0, 1, 0, 2, 3, 0}, {0, 0, 0, 1, 0, 2, 3, 0}, {0, 1, 0, 2, 0, 3, 4, 0},
    {0, 0, 0, 1, 0, 2, 3, 0}, {0, 0, 1, 2, 0, 3, 4, 0}, {0, 0, 1, 2, 0, 3, 4, 0},
    {0, 1, 2, 3, 0, 4, 5, 0}, {0, 0, 0, 0, 0, 1, 2, 0}, {0, 0, 0, 0, 1, 2, 3, 0},
    {0, 0, 0, 0, 1, 2, 3, 0}, {0, 1, 0, 0, 2, 3, 4, 0}, {0, 0, 0, 0, 1, 2, 3, 0},
    {0, 0, 1, 0, 2, 3, 4, 0}, {0, 0, 1, 0, 2, 3, 4, 0}, {0, 1, 2, 0, 3, 4, 5, 0},
    {0, 0, 0, 0, 1, 2, 3, 0}, {0, 0, 0, 1, 2, 3, 4, 0}, {0, 0, 0, 1, 2, 3, 4, 0},
    {0, 1, 0, 2, 3, 4, 5, 0}, {0, 0, 0, 1, 2, 3, 4, 0}, {0, 0, 1, 2, 3, 4, 5, 0},
    {0, 0, 1, 2, 3, 4, 5, 0}, {0, 1, 2, 3, 4, 5, 6, 0}, {0, 0, 0, 0, 0, 0, 0, 0},
    {0, 0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 0, 0, 1}, {0, 1, 0, 0, 0, 0, 0, 2},
    {0, 0, 0, 0, 0, 0, 0, 1}, {0, 0, 1, 0, 0, 0, 0, 2}, {0, 0, 1, 0, 0, 0, 0, 2},
    {0, 1, 2, 0, 0, 0, 0, 3}, {0, 0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 1, 0, 0, 0, 2},
    {0, 0, 0, 1, 0, 0, 0, 2}, {0, 1, 0, 2, 0, 0, 0, 3}, {0, 0, 0, 1, 0, 0, 0, 2},
    {0, 0, 1, 2, 0, 0, 0, 3}, {0, 0, 1, 2, 0, 0, 0, 3}, {0, 1, 2, 3, 0, 0, 0, 4},
    {0, 0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 1, 0, 0, 2}, {0, 0, 0, 0, 1, 0, 0, 2},
    {0, 1, 0, 0, 2, 0, 0, 3}, {0, 0, 0, 0, 1, 0, 0, 2}, {0, 0, 1, 0, 2, 0, 0, 3},
    {0, 0, 1, 0, 2, 0, 0, 3}, {0, 1, 2, 0, 3, 0, 0, 4}, {0, 0, 0, 0, 1, 0, 0, 2},
    {0, 0, 0, 1, 2, 0, 0, 3}, {0, 0, 0, 1, 2, 0, 0, 3}, {0, 1, 0, 2, 3, 0, 0, 4},
    {0, 0, 0, 1, 2, 0, 0, 3}, {0, 0, 1, 2, 3, 0, 0, 4}, {0, 0, 1, 2, 3, 0, 0, 4},
    {0, 1, 2, 3, 4, 0, 0, 5}, {0, 0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 1, 0, 2},
    {0, 0, 0, 0, 0, 1, 0, 2}, {0, 1, 0, 0, 0, 2, 0, 3}, {0, 0, 0, 0, 0, 1, 0, 2},
    {0, 0, 1, 0, 0, 2, 0, 3}, {0, 0, 1, 0, 0, 2, 0, 3}, {0, 1, 2, 0, 0, 3, 0, 4},
    {0, 0, 0, 0, 0, 1, 0, 2}, {0, 0, 0, 1, 0, 2, 0, 3}, {0, 0, 0, 1, 0, 2, 0, 3},
    {0, 1, 0, 2, 0, 3, 0, 4}, {0, 0, 0, 1, 0, 2, 0, 3}, {0, 0, 1, 2, 0, 3, 0, 4},
    {0, 0, 1, 2, 0, 3, 0, 4}, {0, 1, 2, 3, 0, 4, 0, 5}, {0, 0, 0, 0, 0, 1, 0, 2},
    {0, 0, 0, 0, 1, 2, 0, 3}, {0, 0, 0, 0, 1, 2, 0, 3}, {0, 1, 0, 0, 2, 3, 0, 4},
    {0, 0, 0, 0, 1, 2, 0, 3}, {0, 0, 1, 0, 2, 3, 0, 4}, {0, 0, 1, 0, 2, 3, 0, 4},
    {0, 1, 2, 0, 3, 4, 0, 5}, {0, 0, 0, 0, 1, 2, 0, 3}, {0, 0, 0, 1, 2, 3, 0, 4},
    {0, 0, 0, 1, 2, 3, 0, 4}, {0, 1, 0, 2, 3, 4, 0, 5}, {0, 0, 0, 1, 2, 3, 0, 4},
    {0, 0, 1, 2, 3, 4, 0, 5}, {0, 0, 1, 2, 3, 4, 0, 5}, {0, 1, 2, 3, 4, 5, 0, 6},
    {0, 0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 0, 1, 2}, {0, 0, 0, 0, 0, 0, 1, 2},
    {0, 1, 0, 0, 0, 0, 2, 3}, {0, 0, 0, 0, 0, 0, 1, 2}, {0, 0, 1, 0, 0, 0, 2, 3},
    {0, 0, 1, 0, 0, 0, 2, 3}, {0, 1, 2, 0, 0, 0, 3, 4}, {0, 0, 0, 0, 0, 0, 1, 2},
    {0, 0, 0, 1, 0, 0, 2, 3}, {0, 0, 0, 1, 0, 0, 2, 3}, {0, 1, 0, 2, 0, 0, 3, 4},
    {0, 0, 0, 1, 0, 0, 2, 3}, {0, 0, 1, 2, 0, 0, 3, 4}, {0, 0, 1, 2, 0, 0, 3, 4},
    {0, 1, 2, 3, 0, 0, 4, 5}, {0, 0, 0, 0, 0, 0, 1, 2}, {0, 0, 0, 0, 1, 0, 2, 3},
    {0, 0, 0, 0, 1, 0, 2, 3}, {0, 1, 0, 0, 2, 0, 3, 4}, {0, 0, 0, 0, 1, 0, 2, 3},
    {0, 0, 1, 0, 2, 0, 3, 4}, {0, 0, 1, 0, 2, 0, 3, 4}, {0, 1, 2, 0, 3, 0, 4, 5},
    {0, 0, 0, 0, 1, 0, 2, 3}, {0, 0, 0, 1, 2, 0, 3, 4}, {0, 0, 0, 1, 2, 0, 3, 4},
    {0, 1, 0, 2, 3, 0, 4, 5}, {0, 0, 0, 1, 2, 0, 3, 4}, {0, 0, 1, 2, 3, 0, 4, 5},
    {0, 0, 1, 2, 3, 0, 4, 5}, {0, 1, 2, 3, 4, 0, 5, 6}, {0, 0, 0, 0, 0, 0, 1, 2},
    {0, 0, 0, 0, 0, 1, 2, 3}, {0, 0, 0, 0, 0, 1, 2, 3}, {0, 1, 0, 0, 0, 2, 3, 4},
    {0, 0, 0, 0, 0, 1, 2, 3}, {0, 0, 1, 0, 0, 2, 3, 4}, {0, 0, 1, 0, 0, 2, 3, 4},
    {0, 1, 2, 0, 0, 3, 4, 5}, {0, 0, 0, 0, 0, 1, 2, 3}, {0, 0, 0, 1, 0, 2, 3, 4},
    {0, 0, 0, 1, 0, 2, 3, 4}, {0, 1, 0, 2, 0, 3, 4, 5}, {0, 0, 0, 1, 0, 2, 3, 4},
    {0, 0, 1, 2, 0, 3, 4, 5}, {0, 0, 1, 2, 0, 3, 4, 5}, {0, 1, 2, 3, 0, 4, 5, 6},
    {0, 0, 0, 0, 0, 1, 2, 3}, {0, 0, 0, 0, 1, 2, 3, 4}, {0, 0, 0, 0, 1, 2, 3, 4},
    {0, 1, 0, 0, 2, 3, 4, 5}, {0, 0, 0, 0, 1, 2, 3, 4}, {0, 0, 1, 0, 2, 3, 4, 5},
    {0, 0, 1, 0, 2, 3, 4, 5}, {0, 1, 2, 0, 3, 4, 5, 6}, {0, 0, 0, 0, 1, 2, 3, 4},
    {0, 0, 0, 1, 2, 3, 4, 5}, {0, 0, 0, 1, 2, 3, 4, 5}, {0, 1, 0, 2, 3, 4, 5, 6},
    {0, 0, 0, 1, 2, 3, 4, 5}, {0, 0, 1, 2, 3, 4, 5, 6}, {0, 0, 1, 2, 3, 4, 5, 6},
    {0, 1, 2, 3, 4, 5, 6, 7},
};

#define TARGET __attribute__((target("avx2,bmi2,popcnt")))

/* 8 32-bit loads from t + 4 * slot (or t + slot with SCALE 1), by one
 * hardware gather into a freshly zeroed register (asm: see ans_avx512.c). */
#define GATHER8(t, slot, scale, size)                                                              \
    __extension__({                                                                                \
        __m256i r_, m_;                                                                            \
        __asm__("vpcmpeqd %1, %1, %1\n\t"                                                          \
                "vpxor %0, %0, %0\n\t"                                                             \
                "vpgatherdd %1, (%3,%2," #scale "), %0"                                            \
                : "=&x"(r_), "=&x"(m_)                                                             \
                : "x"(slot), "r"(t), "m"(*(const uint8_t(*)[size])(t)));                           \
        r_;                                                                                        \
    })

static TARGET inline __m256i gather_hw(const uint32_t *t, __m256i slot) {
    return GATHER8(t, slot, 4, 4u << DC_ANS2_PROB_BITS_MAX);
}

/* 8 table entries by scalar loads (see ans_avx512.c). */
static TARGET inline __m256i gather_sw(const uint32_t *t, __m256i slot) {
    uint32_t idx[8] __attribute__((aligned(32)));
    _mm256_store_si256((__m256i *)idx, slot);
    __m128i lo = _mm_cvtsi32_si128((int)t[idx[0]]);
    __m128i hi = _mm_cvtsi32_si128((int)t[idx[4]]);
    lo = _mm_insert_epi32(lo, (int)t[idx[1]], 1);
    hi = _mm_insert_epi32(hi, (int)t[idx[5]], 1);
    lo = _mm_insert_epi32(lo, (int)t[idx[2]], 2);
    hi = _mm_insert_epi32(hi, (int)t[idx[6]], 2);
    lo = _mm_insert_epi32(lo, (int)t[idx[3]], 3);
    hi = _mm_insert_epi32(hi, (int)t[idx[7]], 3);
    return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}

/* Renormalises the lanes of x below L with the next words at *pp (reads 16 bytes). */
static TARGET inline __m256i refill(__m256i x, const uint8_t **pp) {
    const __m256i max16 = _mm256_set1_epi32(DC_ANS_L - 1);
    __m256i need = _mm256_cmpeq_epi32(_mm256_min_epu32(x, max16), x); /* x < L */
    unsigned m = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(need));
    const uint8_t *p = *pp;
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    __m256i perm = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)kRefillPerm[m]));
    w = _mm256_permutevar8x32_epi32(w, perm);
    *pp = p + 2 * (unsigned)_mm_popcnt_u32(m);
    return _mm256_blendv_epi8(x, _mm256_or_si256(_mm256_slli_epi32(x, 16), w), need);
}

/* 32 symbols, one per lane of s0..s3 (low byte of each 32-bit lane, other
 * bytes zero), stored in lane order: packs interleave 128-bit halves, the
 * final permute restores the order. */
static TARGET inline void store32(uint8_t *out, __m256i s0, __m256i s1, __m256i s2, __m256i s3) {
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256i b = _mm256_packus_epi16(_mm256_packus_epi32(s0, s1), _mm256_packus_epi32(s2, s3));
    _mm256_storeu_si256((__m256i *)out, _mm256_permutevar8x32_epi32(b, order));
}

/* --- format v1: split table (entry, sym), 13-bit probabilities ------------- */

static TARGET inline __m256i step1(__m256i x, const dc_ans_table *t, const uint8_t **pp,
                                   __m256i *sym) {
    __m256i slot = _mm256_and_si256(x, _mm256_set1_epi32((1 << DC_ANS1_PROB_BITS) - 1));
    __m256i e = GATHER8(t->u.v1.entry, slot, 4, 4u << DC_ANS1_PROB_BITS);
    *sym = _mm256_and_si256(GATHER8(t->u.v1.sym, slot, 1, (1u << DC_ANS1_PROB_BITS) + 4),
                            _mm256_set1_epi32(0xFF));
    __m256i freq = _mm256_and_si256(e, _mm256_set1_epi32(0xFFFF));
    __m256i bias = _mm256_srli_epi32(e, 16);
    x = _mm256_add_epi32(_mm256_mullo_epi32(freq, _mm256_srli_epi32(x, DC_ANS1_PROB_BITS)), bias);
    return refill(x, pp);
}

TARGET size_t dc_ans1_decode_avx2(const dc_ans_table *t, uint32_t *st, unsigned ns,
                                  const uint8_t **pp, const uint8_t *end, uint8_t *out, size_t n) {
    (void)ns; /* 32 */
    const uint8_t *p = *pp;
    __m256i x0 = _mm256_loadu_si256((const __m256i *)st);
    __m256i x1 = _mm256_loadu_si256((const __m256i *)(st + 8));
    __m256i x2 = _mm256_loadu_si256((const __m256i *)(st + 16));
    __m256i x3 = _mm256_loadu_si256((const __m256i *)(st + 24));
    size_t i = 0;
    /* A group of 32 symbols reads at most 32 words; each vector loads 16 bytes. */
    for (; i + 32 <= n && end - p >= 64; i += 32) {
        __m256i s0, s1, s2, s3;
        x0 = step1(x0, t, &p, &s0);
        x1 = step1(x1, t, &p, &s1);
        x2 = step1(x2, t, &p, &s2);
        x3 = step1(x3, t, &p, &s3);
        store32(out + i, s0, s1, s2, s3);
    }
    _mm256_storeu_si256((__m256i *)st, x0);
    _mm256_storeu_si256((__m256i *)(st + 8), x1);
    _mm256_storeu_si256((__m256i *)(st + 16), x2);
    _mm256_storeu_si256((__m256i *)(st + 24), x3);
    *pp = p;
    return i;
}

/* --- format v2: packed entries, 12-bit probabilities ---------------------- */

/* One step of 8 states given their entries; *sym gets the symbols (low bytes). */
static TARGET inline __m256i step2(__m256i x, __m256i e, __m128i bits, const uint8_t **pp,
                                   __m256i *sym) {
    *sym = _mm256_and_si256(e, _mm256_set1_epi32(0xFF));
    __m256i freq = _mm256_and_si256(_mm256_srli_epi32(e, 8), _mm256_set1_epi32(0xFFF));
    __m256i bias = _mm256_srli_epi32(e, 20);
    x = _mm256_add_epi32(_mm256_mullo_epi32(freq, _mm256_srl_epi32(x, bits)), bias);
    return refill(x, pp);
}

#define SLOT(x) _mm256_and_si256(x, slot_mask)

/* 32 states (4 vectors) per block; ns = 64 or 128 run 2 or 4 blocks per group. A group
 * of ns symbols reads at most ns words; each vector's refill loads 16 bytes
 * from where the previous one stopped, which stays inside 2 * ns bytes. */
static TARGET inline void block32(__m256i x[4], const uint32_t *tab, __m256i slot_mask,
                                  __m128i bits, const uint8_t **pp, uint8_t *out, int sw) {
    __m256i e0, e1, e2, e3, s0, s1, s2, s3;
    if (sw) {
        e0 = gather_sw(tab, SLOT(x[0])), e1 = gather_sw(tab, SLOT(x[1]));
        e2 = gather_sw(tab, SLOT(x[2])), e3 = gather_sw(tab, SLOT(x[3]));
    } else {
        e0 = gather_hw(tab, SLOT(x[0])), e1 = gather_hw(tab, SLOT(x[1]));
        e2 = gather_hw(tab, SLOT(x[2])), e3 = gather_hw(tab, SLOT(x[3]));
    }
    x[0] = step2(x[0], e0, bits, pp, &s0);
    x[1] = step2(x[1], e1, bits, pp, &s1);
    x[2] = step2(x[2], e2, bits, pp, &s2);
    x[3] = step2(x[3], e3, bits, pp, &s3);
    store32(out, s0, s1, s2, s3);
}

static TARGET inline size_t decode_v2(const dc_ans_table *t, uint32_t *st, unsigned ns,
                                      const uint8_t **pp, const uint8_t *end, uint8_t *out,
                                      size_t n, int sw) {
    const uint32_t *tab = t->u.packed;
    const __m128i bits = _mm_cvtsi32_si128((int)t->bits);
    const __m256i slot_mask = _mm256_set1_epi32((int)((1u << t->bits) - 1));
    const uint8_t *p = *pp;
    size_t i = 0;
    const unsigned nb = ns / 32; /* blocks of 32 states: 1, 2 or 4 */
    __m256i x[4][4];
    for (unsigned b = 0; b < nb; b++)
        for (int k = 0; k < 4; k++)
            x[b][k] = _mm256_loadu_si256((const __m256i *)(st + 32 * b + 8 * k));
    for (; i + ns <= n && (size_t)(end - p) >= 2 * (size_t)ns; i += ns) {
        _mm_prefetch((const char *)p + 1024, _MM_HINT_T0);
        for (unsigned b = 0; b < nb; b++)
            block32(x[b], tab, slot_mask, bits, &p, out + i + 32 * b, sw);
    }
    for (unsigned b = 0; b < nb; b++)
        for (int k = 0; k < 4; k++)
            _mm256_storeu_si256((__m256i *)(st + 32 * b + 8 * k), x[b][k]);
    *pp = p;
    return i;
}

TARGET size_t dc_ans2_decode_avx2(const dc_ans_table *t, uint32_t *st, unsigned ns,
                                  const uint8_t **pp, const uint8_t *end, uint8_t *out, size_t n) {
    return decode_v2(t, st, ns, pp, end, out, n, 0);
}

TARGET size_t dc_ans2_decode_avx2_sw(const dc_ans_table *t, uint32_t *st, unsigned ns,
                                     const uint8_t **pp, const uint8_t *end, uint8_t *out,
                                     size_t n) {
    return decode_v2(t, st, ns, pp, end, out, n, 1);
}

/* Pair payloads: per 16 pairs, the classes as 32 bytes (first class in the
 * even byte) and vpshufb maps them to symbols; per half of 16 bytes, the
 * escape bytes come from a 16-byte window at the next unread escape, picked
 * by the prefix count of the class-15 bytes before each byte. Branch-free:
 * escapes come too irregularly to predict, and patching them one by one
 * (a loop over the mask's bits) made the pass as slow as the ANS decode
 * itself. The window may read up to 15 bytes past nesc (esc has
 * DC_ANS_ESC_SLACK bytes of room). */
static TARGET inline __m128i patch16(__m128i sym, __m128i cls, const uint8_t *esc, size_t *u) {
    const __m128i e = _mm_cmpeq_epi8(cls, _mm_set1_epi8(15));
    __m128i c = _mm_and_si128(e, _mm_set1_epi8(1)); /* inclusive prefix count */
    c = _mm_add_epi8(c, _mm_slli_si128(c, 1));
    c = _mm_add_epi8(c, _mm_slli_si128(c, 2));
    c = _mm_add_epi8(c, _mm_slli_si128(c, 4));
    c = _mm_add_epi8(c, _mm_slli_si128(c, 8));
    const __m128i w = _mm_loadu_si128((const __m128i *)(esc + *u));
    const __m128i x = _mm_shuffle_epi8(w, _mm_sub_epi8(c, _mm_set1_epi8(1)));
    *u += (size_t)__builtin_popcount((unsigned)_mm_movemask_epi8(e));
    return _mm_blendv_epi8(sym, x, e);
}

TARGET size_t dc_pair_expand_avx2(const uint8_t *pairs, size_t np, const uint8_t *esc, size_t nesc,
                                  size_t *used, const uint8_t map[16], uint8_t *out) {
    const __m256i m = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)map));
    const __m256i lo4 = _mm256_set1_epi16(15), f = _mm256_set1_epi8(15);
    size_t u = *used, i = 0;
    for (; i + 16 <= np; i += 16) {
        const __m256i w = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(pairs + i)));
        const __m256i c = _mm256_or_si256(_mm256_srli_epi16(w, 4),
                                          _mm256_slli_epi16(_mm256_and_si256(w, lo4), 8));
        const uint32_t k = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(c, f));
        if ((size_t)__builtin_popcount(k) > nesc - u) break;
        const __m256i s = _mm256_shuffle_epi8(m, c);
        const __m128i s0 = patch16(_mm256_castsi256_si128(s), _mm256_castsi256_si128(c), esc, &u);
        const __m128i s1 =
            patch16(_mm256_extracti128_si256(s, 1), _mm256_extracti128_si256(c, 1), esc, &u);
        _mm256_storeu_si256((__m256i *)(out + 2 * i), _mm256_set_m128i(s1, s0));
    }
    *used = u;
    return i;
}
#endif
