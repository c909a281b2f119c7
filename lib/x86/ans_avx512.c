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
    return GATHER16(t, slot, 4, 4u << DC_ANS2_PROB_BITS_MAX);
}

/* 16 table entries by scalar loads: the 12-bit slots, narrowed to 16 bits,
 * reach integer registers four at a time (vmovq/vpextrq), and the entries
 * come back four to an xmm register. */
static TARGET inline __m512i gather_sw(const uint32_t *t, __m512i slot) {
    const __m256i s16 = _mm512_cvtepi32_epi16(slot);
    const __m128i lo = _mm256_castsi256_si128(s16), hi = _mm256_extracti128_si256(s16, 1);
    const uint64_t q[4] = {(uint64_t)_mm_cvtsi128_si64(lo), (uint64_t)_mm_extract_epi64(lo, 1),
                           (uint64_t)_mm_cvtsi128_si64(hi), (uint64_t)_mm_extract_epi64(hi, 1)};
    __m128i v[4];
    for (int k = 0; k < 4; k++) {
        const uint64_t w = q[k];
        __m128i x = _mm_cvtsi32_si128((int)t[w & 0xFFFF]);
        x = _mm_insert_epi32(x, (int)t[(w >> 16) & 0xFFFF], 1);
        x = _mm_insert_epi32(x, (int)t[(w >> 32) & 0xFFFF], 2);
        v[k] = _mm_insert_epi32(x, (int)t[w >> 48], 3);
    }
    __m512i r = _mm512_castsi128_si512(v[0]);
    r = _mm512_inserti32x4(r, v[1], 1);
    r = _mm512_inserti32x4(r, v[2], 2);
    return _mm512_inserti32x4(r, v[3], 3);
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

/* One step of 16 states given their 16 entries (symbol | freq << 8 | bias << 20);
 * B, the probability bits, is the shift count in `bits`. */
static TARGET inline __m512i step2(__m512i x, __m512i e, __m128i bits, const uint8_t **pp,
                                   uint8_t *out) {
    _mm_storeu_si128((__m128i *)out, _mm512_cvtepi32_epi8(e));
    __m512i freq = _mm512_and_si512(_mm512_srli_epi32(e, 8), _mm512_set1_epi32(0xFFF));
    __m512i bias = _mm512_srli_epi32(e, 20);
    x = _mm512_add_epi32(_mm512_mullo_epi32(freq, _mm512_srl_epi32(x, bits)), bias);
    return refill(x, pp);
}

#define SLOT(x) _mm512_and_si512(x, slot_mask)

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
                x[k] = step2(x[k], e[k], bits, &p, out + i + 16 * k);                              \
        }                                                                                          \
        for (int k = 0; k < NV; k++)                                                               \
            _mm512_storeu_si512((void *)(st + 16 * k), x[k]);                                      \
    } while (0)

#define DECODE_V2(GATHER)                                                                          \
    const uint32_t *tab = t->u.packed;                                                             \
    const __m128i bits = _mm_cvtsi32_si128((int)t->bits);                                          \
    const __m512i slot_mask = _mm512_set1_epi32((int)((1u << t->bits) - 1));                       \
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

/* --- pair payloads: class pairs to bytes --------------------------------- */

/* Per block: the 32 pair symbols are spread to 64 bytes (each twice), the
 * even bytes take the high nibble (first class), the odd ones the low; vpermb
 * maps classes to symbols and vpexpandb puts the next escape bytes on the
 * class-15 bytes, in order. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vbmi2,popcnt"))) size_t
dc_pair_expand_avx512(const uint8_t *pairs, size_t np, const uint8_t *esc, size_t nesc,
                      size_t *used, const uint8_t map[16], uint8_t *out) {
    const __m512i dup = _mm512_set_epi8(31, 31, 30, 30, 29, 29, 28, 28, 27, 27, 26, 26, 25, 25, 24,
                                        24, 23, 23, 22, 22, 21, 21, 20, 20, 19, 19, 18, 18, 17, 17,
                                        16, 16, 15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9,
                                        9, 8, 8, 7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    const __m512i m16 = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)map));
    const __m512i lo4 = _mm512_set1_epi8(15);
    const __mmask64 even = 0x5555555555555555ull;
    size_t u = *used, i = 0;
    for (; i + 32 <= np; i += 32) {
        const __m512i d = _mm512_permutexvar_epi8(
            dup, _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(pairs + i))));
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(d, 4), lo4);
        const __m512i c = _mm512_mask_blend_epi8(even, _mm512_and_si512(d, lo4), hi);
        const __mmask64 k = _mm512_cmpeq_epi8_mask(c, lo4);
        const size_t cnt = (size_t)_mm_popcnt_u64(k);
        if (cnt > nesc - u) break;
        const __m512i b = _mm512_mask_expandloadu_epi8(_mm512_permutexvar_epi8(c, m16), k, esc + u);
        u += cnt;
        _mm512_storeu_si512((void *)(out + 2 * i), b);
    }
    *used = u;
    return i;
}

/* --- format v2 encoder ---------------------------------------------------- */

/*
 * Encodes whole groups of ns (32, 64 or 128) symbols, src[0 .. n) with n a
 * multiple of ns, last group first, into the word stream growing down from p,
 * exactly as the scalar encoder does (same words, same states): per vector of
 * 16 states, the lanes whose state reaches f << (32 - B) emit their low 16
 * bits (compressed into lane order and stored as one block below p), then
 * x = (x / f) << B + x mod f + cum. Writes up to 32 bytes below the final p
 * (scratch). enc[s] = freq | cum << 16.
 *
 * The 16 table entries are read by scalar loads straight from the symbol
 * bytes: on AMD Zen 5 that is 1.9x faster than a hardware gather.
 *
 * The division is done in single precision: after renormalisation x < f << 20
 * and x >= 8 f, so q = x / f < 2^20; x, the refined reciprocal (rcp14 and a
 * Newton step) and the product each carry a relative error below 2^-23, so
 * the truncated estimate is q - 1, q or q + 1, and one correction each way
 * makes it exact (checked for every f at the edges of every remainder).
 */
static TARGET __attribute__((target("avx512dq,avx512vbmi"))) inline __m512i
div_by_freq16(__m512i x, __m512i f) {
    const __m512 xf = _mm512_cvtepu32_ps(x), ff = _mm512_cvtepu32_ps(f);
    __m512 r = _mm512_rcp14_ps(ff);
    r = _mm512_fmadd_ps(r, _mm512_fnmadd_ps(ff, r, _mm512_set1_ps(1.0f)), r);
    return _mm512_cvttps_epu32(_mm512_mul_ps(xf, r));
}

/* enc[s[0]], ..., enc[s[15]] */
static TARGET inline __m512i lookup16(const uint32_t enc[256], const uint8_t *s) {
    __m128i v[4];
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_cvtsi32_si128((int)enc[s[4 * k]]);
        x = _mm_insert_epi32(x, (int)enc[s[4 * k + 1]], 1);
        x = _mm_insert_epi32(x, (int)enc[s[4 * k + 2]], 2);
        v[k] = _mm_insert_epi32(x, (int)enc[s[4 * k + 3]], 3);
    }
    __m512i r = _mm512_castsi128_si512(v[0]);
    r = _mm512_inserti32x4(r, v[1], 1);
    r = _mm512_inserti32x4(r, v[2], 2);
    return _mm512_inserti32x4(r, v[3], 3);
}

TARGET __attribute__((target("avx512dq,avx512vbmi"))) uint8_t *
dc_ans2_encode_avx512(const uint32_t enc[256], const uint8_t *src, size_t n, unsigned ns,
                      unsigned bits, uint32_t *st, uint8_t *p) {
    const __m128i sh_b = _mm_cvtsi32_si128((int)bits), sh_max = _mm_cvtsi32_si128(32 - (int)bits);
    const unsigned nv = ns / 16;
    const __m512i lo16 = _mm512_set1_epi32(0xFFFF), one = _mm512_set1_epi32(1);
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512i x[8];
    for (unsigned k = 0; k < nv; k++)
        x[k] = _mm512_loadu_si512((const void *)(st + 16 * k));
    for (size_t i = n; i > 0;) {
        i -= ns;
        for (unsigned k = nv; k-- > 0;) {
            const __m512i e = lookup16(enc, src + i + 16 * k);
            const __m512i f = _mm512_and_si512(e, lo16), c = _mm512_srli_epi32(e, 16);
            __m512i xs = x[k];
            const __mmask16 emit = _mm512_cmpge_epu32_mask(xs, _mm512_sll_epi32(f, sh_max));
            /* the emitted words, in lane order, right-aligned in 16 words ending at p */
            const unsigned cnt = (unsigned)_mm_popcnt_u32(emit);
            const __m256i w = _mm512_cvtepi32_epi16(_mm512_maskz_compress_epi32(emit, xs));
            /* lane j takes word j - (16 - cnt); the lanes below are garbage, overwritten
             * by the next (lower) block or left below the stream */
            const __m256i idx16 =
                _mm512_cvtepi32_epi16(_mm512_sub_epi32(iota, _mm512_set1_epi32(16 - (int)cnt)));
            _mm256_storeu_si256((__m256i *)(p - 32), _mm256_permutexvar_epi16(idx16, w));
            p -= 2 * cnt;
            xs = _mm512_mask_srli_epi32(xs, emit, xs, 16);
            __m512i q = div_by_freq16(xs, f);
            __m512i r = _mm512_sub_epi32(xs, _mm512_mullo_epi32(q, f));
            const __mmask16 over = _mm512_cmplt_epi32_mask(r, _mm512_setzero_si512()); /* q + 1 */
            q = _mm512_mask_sub_epi32(q, over, q, one);
            r = _mm512_mask_add_epi32(r, over, r, f);
            const __mmask16 under = _mm512_cmpge_epu32_mask(r, f); /* q - 1 */
            q = _mm512_mask_add_epi32(q, under, q, one);
            r = _mm512_mask_sub_epi32(r, under, r, f);
            x[k] = _mm512_add_epi32(_mm512_add_epi32(_mm512_sll_epi32(q, sh_b), r), c);
        }
    }
    for (unsigned k = 0; k < nv; k++)
        _mm512_storeu_si512((void *)(st + 16 * k), x[k]);
    return p;
}
#endif /* DC_X86 */
