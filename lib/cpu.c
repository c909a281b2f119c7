/*
 * cpu.c -- the one dispatch point: which decoder/checksum kernels this CPU runs.
 */
#include "internal.h"

static int cpu_has_avx2(void) {
#if DC_X86 && defined(__GNUC__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2");
#else
    return 0;
#endif
}

static int cpu_has_avx512(void) {
#if DC_X86 && defined(__GNUC__)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi2");
#else
    return 0;
#endif
}

int dc_simd_supported(dc_simd simd) {
    switch (simd) {
    case DC_SIMD_AUTO:
    case DC_SIMD_SCALAR:
        return 1;
    case DC_SIMD_AVX2:
        return cpu_has_avx2();
    case DC_SIMD_AVX512:
        return cpu_has_avx512();
    }
    return 0;
}

dc_simd dc_simd_best(void) {
    if (cpu_has_avx512()) return DC_SIMD_AVX512;
    if (cpu_has_avx2()) return DC_SIMD_AVX2;
    return DC_SIMD_SCALAR;
}

dc_simd dc_simd_resolve(dc_simd simd) {
    return simd == DC_SIMD_AUTO ? dc_simd_best() : simd;
}

const char *dc_simd_name(dc_simd simd) {
    switch (simd) {
    case DC_SIMD_AUTO:
        return "auto";
    case DC_SIMD_SCALAR:
        return "scalar";
    case DC_SIMD_AVX2:
        return "avx2";
    case DC_SIMD_AVX512:
        return "avx512";
    }
    return "unknown";
}
