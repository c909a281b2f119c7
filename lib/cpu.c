/*
 * cpu.c -- the one dispatch point: which decoder/checksum kernels this CPU runs.
 *
 * What the CPU supports comes from CPUID (through __builtin_cpu_supports).
 * Which supported ANS path is fastest does not follow from the feature bits:
 * hardware gathers are fast on some cores and slow on others (AMD Zen 4 and
 * Zen 5 differ; Intel's Gather Data Sampling mitigation slows them on many
 * Intel cores). So dc_simd_best() measures once, on a built-in sample, and
 * keeps the winner (see dc_codec.h).
 */
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>

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

#if DC_X86
/* The AVX-512 encoder also needs DQ (double conversions) and VBMI (word permutes). */
int dc_cpu_avx512_encoder(void) {
    static atomic_int has = -1;
    int h = atomic_load_explicit(&has, memory_order_relaxed);
    if (h < 0) {
#if defined(__GNUC__)
        h = cpu_has_avx512() && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vbmi");
#else
        h = 0;
#endif
        atomic_store_explicit(&has, h, memory_order_relaxed);
    }
    return h;
}
#endif

int dc_simd_supported(dc_simd simd) {
    switch (simd) {
    case DC_SIMD_AUTO:
    case DC_SIMD_SCALAR:
        return 1;
    case DC_SIMD_AVX2:
    case DC_SIMD_AVX2_SWGATHER:
        return cpu_has_avx2();
    case DC_SIMD_AVX512:
    case DC_SIMD_AVX512_SWGATHER:
        return cpu_has_avx512();
    case DC_SIMD_NEON:
        return DC_ARM64; /* Advanced SIMD is part of every AArch64 core */
    }
    return 0;
}

dc_simd dc_simd_isa(void) {
    if (cpu_has_avx512()) return DC_SIMD_AVX512;
    if (cpu_has_avx2()) return DC_SIMD_AVX2;
    if (DC_ARM64) return DC_SIMD_NEON;
    return DC_SIMD_SCALAR;
}

static const dc_simd k_paths[] = {DC_SIMD_SCALAR,          DC_SIMD_AVX2,
                                  DC_SIMD_AVX2_SWGATHER,   DC_SIMD_AVX512,
                                  DC_SIMD_AVX512_SWGATHER, DC_SIMD_NEON};

static double seconds(void) {
    return (double)dc_os_clock_ns() * 1e-9;
}

/* The fastest supported path on a 192 KiB sample shaped like int8 weights
 * (about 5 bits per byte; 128 states, as the encoder picks there): best of 5 decodes per path, the
 * paths interleaved so that a noisy moment hurts all of them alike. */
static dc_simd measure_best(void) {
    const size_t n = (size_t)192 << 10, cap = n + 4096;
    uint8_t *src = malloc(n), *dst = malloc(cap), *out = malloc(n);
    void *scratch = malloc(dc_ans_scratch_size(n));
    dc_ans_table *table = malloc(sizeof(dc_ans_table));
    dc_simd best = dc_simd_isa();
    if (src && dst && out && scratch && table) {
        uint64_t r = 0x9E3779B97F4A7C15u;
        for (size_t i = 0; i < n; i++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            unsigned g = (unsigned)__builtin_ctzll(r | (1ull << 40)) * 4u + (unsigned)(r >> 62);
            src[i] = (uint8_t)((r >> 61) & 1 ? 0u - g : g);
        }
        uint32_t counts[256];
        unsigned param = 0;
        dc_histogram(src, n, counts);
        size_t len = dc_ans_encode(src, n, counts, dst, cap, scratch, 0, &param);
        double t[sizeof k_paths / sizeof *k_paths];
        for (size_t k = 0; k < sizeof k_paths / sizeof *k_paths; k++)
            t[k] = 1e30;
        for (int rep = 0; len && rep < 5; rep++)
            for (size_t k = 0; k < sizeof k_paths / sizeof *k_paths; k++) {
                if (!dc_simd_supported(k_paths[k])) continue;
                double t0 = seconds();
                dc_status st = dc_ans_decode(2, dst, len, param, out, n, k_paths[k], table);
                double e = seconds() - t0;
                if (st != DC_OK || memcmp(out, src, n) != 0)
                    e = 1e30; /* never pick a broken path */
                if (e < t[k]) t[k] = e;
            }
        double bt = 1e30;
        for (size_t k = 0; k < sizeof k_paths / sizeof *k_paths; k++)
            if (t[k] < bt) bt = t[k], best = k_paths[k];
    }
    free(src), free(dst), free(out), free(scratch), free(table);
    return best;
}

/* DC_SIMD=name forces a supported path; anything else is ignored. */
static int from_env(dc_simd *out) {
    const char *v = getenv("DC_SIMD");
    if (v == NULL) return 0;
    for (size_t k = 0; k < sizeof k_paths / sizeof *k_paths; k++)
        if (strcmp(v, dc_simd_name(k_paths[k])) == 0 && dc_simd_supported(k_paths[k])) {
            *out = k_paths[k];
            return 1;
        }
    return 0;
}

dc_simd dc_simd_best(void) {
    static atomic_int chosen = -1;
    int c = atomic_load_explicit(&chosen, memory_order_acquire);
    if (c >= 0) return (dc_simd)c;
    dc_simd mine;
    if (!from_env(&mine)) mine = measure_best();
    int expected = -1; /* the first thread to finish decides; the others take its answer */
    if (atomic_compare_exchange_strong(&chosen, &expected, (int)mine)) return mine;
    return (dc_simd)expected;
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
    case DC_SIMD_AVX2_SWGATHER:
        return "avx2-swgather";
    case DC_SIMD_AVX512_SWGATHER:
        return "avx512-swgather";
    case DC_SIMD_NEON:
        return "neon";
    }
    return "unknown";
}
