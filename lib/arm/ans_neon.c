/*
 * ans_neon.c -- AArch64 NEON rANS decode kernel for chunk format v2: 4 states
 * per vector, two vectors (8 states) per step.
 *
 * Same recurrence and word order as the scalar decoder in ans.c, so the output
 * is byte-identical. NEON has no gather: the 8 table entries are loaded by
 * scalar loads (the slots leave the vector through one 128-bit move), the
 * state update x = freq * (x >> B) + bias is one multiply-accumulate per
 * vector, and the refill spreads the next popcount(mask) words onto the lanes
 * below L with one table shuffle (TBL), from a 16-entry permutation table
 * indexed by the 4-bit lane mask, as the AVX2 kernel does with its 8-bit one.
 */
#include "../internal.h"

#if DC_ARM64
#include <arm_neon.h>

/* kSpread[m]: byte shuffle putting word r (bytes 2r, 2r+1 of the next 16
 * stream bytes) into the low half of lane k, for the r-th set bit k of m;
 * 0xFF (TBL: zero) elsewhere. */
static const uint8_t kSpread[16][16] = {
#define L0(r) (uint8_t)(2 * (r)), (uint8_t)(2 * (r) + 1), 0xFF, 0xFF
#define LZ    0xFF, 0xFF, 0xFF, 0xFF
    {LZ, LZ, LZ, LZ},          {L0(0), LZ, LZ, LZ},
    {LZ, L0(0), LZ, LZ},       {L0(0), L0(1), LZ, LZ},
    {LZ, LZ, L0(0), LZ},       {L0(0), LZ, L0(1), LZ},
    {LZ, L0(0), L0(1), LZ},    {L0(0), L0(1), L0(2), LZ},
    {LZ, LZ, LZ, L0(0)},       {L0(0), LZ, LZ, L0(1)},
    {LZ, L0(0), LZ, L0(1)},    {L0(0), L0(1), LZ, L0(2)},
    {LZ, LZ, L0(0), L0(1)},    {L0(0), LZ, L0(1), L0(2)},
    {LZ, L0(0), L0(1), L0(2)}, {L0(0), L0(1), L0(2), L0(3)},
#undef L0
#undef LZ
};

/* The 4 entries of the slots in s (scalar loads). */
static inline uint32x4_t lookup4(const uint32_t *tab, uint32x4_t s) {
    const uint64_t lo = vgetq_lane_u64(vreinterpretq_u64_u32(s), 0);
    const uint64_t hi = vgetq_lane_u64(vreinterpretq_u64_u32(s), 1);
    uint32x4_t e = vdupq_n_u32(tab[(uint32_t)lo]);
    e = vsetq_lane_u32(tab[lo >> 32], e, 1);
    e = vsetq_lane_u32(tab[(uint32_t)hi], e, 2);
    return vsetq_lane_u32(tab[hi >> 32], e, 3);
}

/* Renormalises the lanes of x below L with the next words at *pp (16 bytes
 * readable there). */
static inline uint32x4_t refill4(uint32x4_t x, const uint8_t **pp) {
    static const uint32_t bit[4] = {1, 2, 4, 8};
    const uint32x4_t need = vcltq_u32(x, vdupq_n_u32(DC_ANS_L));
    const unsigned m = vaddvq_u32(vandq_u32(need, vld1q_u32(bit)));
    const uint8_t *p = *pp;
    const uint32x4_t w = vreinterpretq_u32_u8(vqtbl1q_u8(vld1q_u8(p), vld1q_u8(kSpread[m])));
    *pp = p + 2 * (unsigned)__builtin_popcount(m);
    return vbslq_u32(need, vorrq_u32(vshlq_n_u32(x, 16), w), x);
}

size_t dc_ans2_decode_neon(const dc_ans_table *t, uint32_t *st, unsigned ns, const uint8_t **pp,
                           const uint8_t *end, uint8_t *out, size_t n) {
    const uint32_t *tab = t->u.packed;
    const uint32x4_t mask = vdupq_n_u32((1u << t->bits) - 1u), f12 = vdupq_n_u32(0xFFF);
    const int32x4_t shr_b = vdupq_n_s32(-(int32_t)t->bits);
    const uint8_t *p = *pp;
    size_t i = 0;
    /* a group of ns symbols reads at most ns words; each refill loads 16 bytes */
    for (; i + ns <= n && (size_t)(end - p) >= 2 * (size_t)ns + 16; i += ns) {
        for (unsigned j = 0; j < ns; j += 8) {
            uint32x4_t x0 = vld1q_u32(st + j), x1 = vld1q_u32(st + j + 4);
            const uint32x4_t e0 = lookup4(tab, vandq_u32(x0, mask));
            const uint32x4_t e1 = lookup4(tab, vandq_u32(x1, mask));
            const uint16x8_t s16 = vcombine_u16(vmovn_u32(e0), vmovn_u32(e1));
            vst1_u8(out + i + j, vmovn_u16(s16));
            x0 = vmlaq_u32(vshrq_n_u32(e0, 20), vandq_u32(vshrq_n_u32(e0, 8), f12),
                           vshlq_u32(x0, shr_b));
            x1 = vmlaq_u32(vshrq_n_u32(e1, 20), vandq_u32(vshrq_n_u32(e1, 8), f12),
                           vshlq_u32(x1, shr_b));
            vst1q_u32(st + j, refill4(x0, &p));
            vst1q_u32(st + j + 4, refill4(x1, &p));
        }
    }
    *pp = p;
    return i;
}
#else
typedef int dc_ans_neon_unused; /* ISO C: a translation unit is not empty */
#endif /* DC_ARM64 */
