/*
 * checksum.c -- DC32, the checksum of decoded chunk data (docs/format.md).
 *
 * An XXH32-style hash widened to 64 lanes so that SIMD kernels can fold a
 * 256-byte stripe per step with independent chains: lane l of stripe k is
 * the little-endian u32 at offset 256k + 4l. The scalar kernel defines it; the x86
 * kernels (x86/checksum_x86.c) must and do match it bit for bit.
 */
#include "internal.h"

#include <stdatomic.h>

#define P1 0x9E3779B1u
#define P2 0x85EBCA77u
#define P3 0xC2B2AE3Du
#define P4 0x27D4EB2Fu
#define P5 0x165667B1u

void dc_checksum_stripes_scalar(uint32_t acc[DC_CK_LANES], const uint8_t *p, size_t nstripes) {
    for (size_t s = 0; s < nstripes; s++, p += DC_CK_STRIPE)
        for (unsigned l = 0; l < DC_CK_LANES; l++)
            acc[l] = dc_rotl32(acc[l] + dc_load_le32(p + 4 * l) * P2, 13) * P1;
}

typedef void (*stripes_fn)(uint32_t *, const uint8_t *, size_t);

static stripes_fn pick_stripes(void) {
#if DC_X86
    switch (dc_simd_isa()) {
    case DC_SIMD_AVX512:
        return dc_checksum_stripes_avx512;
    case DC_SIMD_AVX2:
        return dc_checksum_stripes_avx2;
    default:
        break;
    }
#endif
    return dc_checksum_stripes_scalar;
}

/* The kernel, chosen on first use. An atomic, so that threads making their
 * first call at once do not race (every one computes the same value; the
 * stores are equal and the loads see NULL or that value). */
static _Atomic(stripes_fn) g_stripes;

uint32_t dc_checksum32(const void *data, size_t size) {
    stripes_fn stripes = atomic_load_explicit(&g_stripes, memory_order_acquire);
    if (stripes == NULL) {
        stripes = pick_stripes();
        atomic_store_explicit(&g_stripes, stripes, memory_order_release);
    }
    const uint8_t *p = (const uint8_t *)data;
    uint32_t acc[DC_CK_LANES];
    for (unsigned l = 0; l < DC_CK_LANES; l++)
        acc[l] = P1 + (l + 1) * P2;
    size_t nstripes = size / DC_CK_STRIPE;
    if (nstripes != 0) stripes(acc, p, nstripes);
    p += nstripes * DC_CK_STRIPE;
    size_t rest = size - nstripes * DC_CK_STRIPE;

    uint32_t h = (uint32_t)size ^ (uint32_t)((uint64_t)size >> 32) * P5;
    for (unsigned l = 0; l < DC_CK_LANES; l++)
        h = dc_rotl32(h + acc[l] * P3, 17) * P4;
    for (; rest >= 4; rest -= 4, p += 4)
        h = dc_rotl32(h + dc_load_le32(p) * P3, 17) * P4;
    for (; rest > 0; rest--, p++)
        h = dc_rotl32(h + *p * P5, 11) * P1;
    h ^= h >> 15;
    h *= P2;
    h ^= h >> 13;
    h *= P3;
    h ^= h >> 16;
    return h;
}
