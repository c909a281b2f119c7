/*
 * ans_avx512.c -- AVX-512 rANS decoder: 32 states as two vectors of 16 lanes.
 *
 * Same recurrence and word order as dc_ans_decode_scalar(). The refill uses
 * a masked expand-load (AVX512-VBMI2 vpexpandw), which places the next
 * popcount(mask) words onto the lanes that need them, in lane order.
 */
#include "../internal.h"

#if DC_X86
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi2,popcnt")))

static TARGET inline __m512i step16(__m512i x, const dc_ans_table *table, const uint8_t **pp,
                                    __m128i *sym) {
    __m512i slot = _mm512_and_si512(x, _mm512_set1_epi32(DC_ANS_PROB_SCALE - 1));
    __m512i e = _mm512_i32gather_epi32(slot, (const int *)table->entry, 4);
    /* 32-bit gather at byte offsets; vpmovdb keeps the low byte = the symbol */
    *sym = _mm512_cvtepi32_epi8(_mm512_i32gather_epi32(slot, (const int *)table->sym, 1));
    __m512i freq = _mm512_and_si512(e, _mm512_set1_epi32(0xFFFF));
    __m512i bias = _mm512_srli_epi32(e, 16);
    x = _mm512_add_epi32(_mm512_mullo_epi32(freq, _mm512_srli_epi32(x, DC_ANS_PROB_BITS)), bias);
    __mmask16 need = _mm512_cmplt_epu32_mask(x, _mm512_set1_epi32(DC_ANS_L));
    const uint8_t *p = *pp;
    __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_expandloadu_epi16(need, p));
    x = _mm512_mask_or_epi32(x, need, _mm512_slli_epi32(x, 16), w);
    *pp = p + 2 * (unsigned)_mm_popcnt_u32(need);
    return x;
}

TARGET size_t dc_ans_decode_avx512(const dc_ans_table *table, uint32_t st[DC_ANS_STATES],
                                   const uint8_t **pp, const uint8_t *end, uint8_t *out, size_t n) {
    const uint8_t *p = *pp;
    __m512i x0 = _mm512_loadu_si512((const void *)st);
    __m512i x1 = _mm512_loadu_si512((const void *)(st + 16));
    size_t i = 0;
    for (; i + 32 <= n && end - p >= 64; i += 32) {
        __m128i s0, s1;
        x0 = step16(x0, table, &p, &s0);
        x1 = step16(x1, table, &p, &s1);
        _mm_storeu_si128((__m128i *)(out + i), s0);
        _mm_storeu_si128((__m128i *)(out + i + 16), s1);
    }
    _mm512_storeu_si512((void *)st, x0);
    _mm512_storeu_si512((void *)(st + 16), x1);
    *pp = p;
    return i;
}
#endif
