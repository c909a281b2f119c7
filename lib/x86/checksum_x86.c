/*
 * checksum_x86.c -- AVX2 and AVX-512 kernels for the DC32 stripe loop.
 * Must match dc_checksum_stripes_scalar() bit for bit (tested).
 */
#include "../internal.h"

#if DC_X86
#include <immintrin.h>

#define P1 0x9E3779B1u
#define P2 0x85EBCA77u

__attribute__((target("avx2"))) void dc_checksum_stripes_avx2(uint32_t acc[DC_CK_LANES],
                                                              const uint8_t *p, size_t nstripes) {
    __m256i a[8];
    const __m256i p1 = _mm256_set1_epi32((int)P1), p2 = _mm256_set1_epi32((int)P2);
    for (int k = 0; k < 8; k++)
        a[k] = _mm256_loadu_si256((const __m256i *)(acc + 8 * k));
    for (size_t s = 0; s < nstripes; s++, p += DC_CK_STRIPE) {
        for (int k = 0; k < 8; k++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(p + 32 * k));
            __m256i t = _mm256_add_epi32(a[k], _mm256_mullo_epi32(v, p2));
            t = _mm256_or_si256(_mm256_slli_epi32(t, 13), _mm256_srli_epi32(t, 19));
            a[k] = _mm256_mullo_epi32(t, p1);
        }
    }
    for (int k = 0; k < 8; k++)
        _mm256_storeu_si256((__m256i *)(acc + 8 * k), a[k]);
}

__attribute__((target("avx512f"))) void
dc_checksum_stripes_avx512(uint32_t acc[DC_CK_LANES], const uint8_t *p, size_t nstripes) {
    __m512i a[4];
    const __m512i p1 = _mm512_set1_epi32((int)P1), p2 = _mm512_set1_epi32((int)P2);
    for (int k = 0; k < 4; k++)
        a[k] = _mm512_loadu_si512((const void *)(acc + 16 * k));
    for (size_t s = 0; s < nstripes; s++, p += DC_CK_STRIPE) {
        for (int k = 0; k < 4; k++) {
            __m512i v = _mm512_loadu_si512((const void *)(p + 64 * k));
            __m512i t = _mm512_add_epi32(a[k], _mm512_mullo_epi32(v, p2));
            a[k] = _mm512_mullo_epi32(_mm512_rol_epi32(t, 13), p1);
        }
    }
    for (int k = 0; k < 4; k++)
        _mm512_storeu_si512((void *)(acc + 16 * k), a[k]);
}
#endif
