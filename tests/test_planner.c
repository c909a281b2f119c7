/*
 * test_planner.c -- the speed-adaptive partial compression planner: latency
 * and memory formulas on hand-computed cases, the every-N policy, the greedy
 * knapsack against brute force, monotonicity in the budget, bad budgets,
 * measuring the decode curve, allocator hooks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "doublecomp.h"
#include "gen.h"

#define EPS 1e-12

static void assert_close(double got, double want) {
    double tol = 1e-12 * (fabs(want) > 1.0 ? fabs(want) : 1.0);
    if (fabs(got - want) > tol) fail_msg("got %.17g, want %.17g", got, want);
}

static dc_planner *new_planner(size_t nbuf) {
    dc_planner_options o;
    memset(&o, 0, sizeof(o));
    o.struct_size = sizeof(o);
    o.decode_buffers = nbuf;
    dc_planner *p = NULL;
    assert_int_equal(dc_planner_create(&o, &p), DC_OK);
    assert_non_null(p);
    return p;
}

static dc_plan_request req(dc_plan_policy policy, dc_latency_mode mode, double budget) {
    dc_plan_request r;
    memset(&r, 0, sizeof(r));
    r.struct_size = sizeof(r);
    r.policy = policy;
    r.mode = mode;
    r.budget = budget;
    return r;
}

static dc_plan_result empty_result(void) {
    dc_plan_result r;
    memset(&r, 0, sizeof(r));
    r.struct_size = sizeof(r);
    return r;
}

/* ------------------------------------------------------------------------ */

/*
 * Chunk A: S=1000, Sc=400, host tier (B=1000 B/s).
 * Chunk B: S=2000, Sc=1000, storage tier (B=500 B/s).
 * I = 2000 B/s. Curve: D(1000)=500, D(4000)=1500, so D(2000) = 1000
 * (halfway in log size).
 */
static dc_planner *two_chunks(size_t nbuf) {
    dc_planner *p = new_planner(nbuf);
    size_t idx = 99;
    assert_int_equal(dc_planner_add_chunk(p, 1000, 400, DC_TIER_HOST, 7, &idx), DC_OK);
    assert_int_equal(idx, 0);
    assert_int_equal(dc_planner_add_chunk(p, 2000, 1000, DC_TIER_STORAGE, 8, &idx), DC_OK);
    assert_int_equal(idx, 1);
    assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_HOST, 1000.0), DC_OK);
    assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_STORAGE, 500.0), DC_OK);
    assert_int_equal(dc_planner_set_compute_rate(p, 2000.0), DC_OK);
    size_t sizes[] = {1000, 4000};
    double bps[] = {500.0, 1500.0};
    assert_int_equal(dc_planner_set_decode_curve(p, sizes, bps, 2), DC_OK);
    return p;
}

static void test_formulas(void **state) {
    (void)state;
    dc_planner *p = two_chunks(1);
    double lat;
    uint64_t mem;
    const uint8_t raw[2] = {0, 0}, both[2] = {1, 1}, a_only[2] = {1, 0}, b_only[2] = {0, 1};

    /* Sequential. Raw: A 1000/1000 + 1000/2000 = 1.5; B 2000/500 + 1 = 5. */
    assert_int_equal(dc_planner_predict(p, raw, DC_LATENCY_SEQUENTIAL, &lat, &mem), DC_OK);
    assert_close(lat, 6.5);
    assert_int_equal(mem, 3000);
    assert_int_equal(dc_planner_predict(p, NULL, DC_LATENCY_SEQUENTIAL, &lat, &mem), DC_OK);
    assert_close(lat, 6.5);
    assert_int_equal(mem, 3000);
    /* Compressed: A 400/1000 + 1000/500 + 0.5 = 2.9; B 1000/500 + 2000/1000 + 1 = 5. */
    assert_int_equal(dc_planner_predict(p, both, DC_LATENCY_SEQUENTIAL, &lat, &mem), DC_OK);
    assert_close(lat, 7.9);
    assert_int_equal(mem, 400 + 1000 + 2000); /* + one decode buffer of the larger chunk */
    assert_int_equal(dc_planner_predict(p, a_only, DC_LATENCY_SEQUENTIAL, &lat, &mem), DC_OK);
    assert_close(lat, 2.9 + 5.0);
    assert_int_equal(mem, 400 + 2000 + 1000);
    assert_int_equal(dc_planner_predict(p, b_only, DC_LATENCY_SEQUENTIAL, &lat, &mem), DC_OK);
    assert_close(lat, 1.5 + 5.0);
    assert_int_equal(mem, 1000 + 1000 + 2000);

    /* Pipelined. Raw: A max(1, 0.5) = 1; B max(4, 1) = 4. Compressed: A max(0.4, 2, 0.5) = 2;
     * B max(2, 2, 1) = 2. */
    assert_int_equal(dc_planner_predict(p, raw, DC_LATENCY_PIPELINED, &lat, NULL), DC_OK);
    assert_close(lat, 5.0);
    assert_int_equal(dc_planner_predict(p, both, DC_LATENCY_PIPELINED, &lat, NULL), DC_OK);
    assert_close(lat, 4.0);
    assert_int_equal(dc_planner_predict(p, a_only, DC_LATENCY_PIPELINED, &lat, NULL), DC_OK);
    assert_close(lat, 6.0);
    assert_int_equal(dc_planner_predict(p, b_only, DC_LATENCY_PIPELINED, &lat, NULL), DC_OK);
    assert_close(lat, 3.0);
    dc_planner_free(p);

    /* Two decode buffers: B only = 1000 + 1000 + 2 * 2000. */
    p = two_chunks(2);
    assert_int_equal(dc_planner_predict(p, b_only, DC_LATENCY_SEQUENTIAL, NULL, &mem), DC_OK);
    assert_int_equal(mem, 6000);
    dc_plan_request r = req(DC_PLAN_EVERY_N, DC_LATENCY_SEQUENTIAL, 0);
    r.every_n = 2;
    dc_plan_result res = empty_result();
    uint8_t dec[2];
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_OK);
    assert_int_equal(dec[0], 0);
    assert_int_equal(dec[1], 1);
    assert_int_equal(res.memory_bytes, 6000);
    assert_int_equal(res.decode_buffer_bytes, 4000);
    assert_int_equal(res.compressed_chunks, 1);
    assert_close(res.latency_s, 6.5);
    assert_close(res.raw_latency_s, 6.5);
    assert_int_equal(res.raw_memory_bytes, 3000);

    /* Chunk read-back. */
    uint64_t s, sc;
    dc_tier t;
    uint32_t g;
    assert_int_equal(dc_planner_chunk_count(p), 2);
    assert_int_equal(dc_planner_get_chunk(p, 1, &s, &sc, &t, &g), DC_OK);
    assert_int_equal(s, 2000);
    assert_int_equal(sc, 1000);
    assert_int_equal(t, DC_TIER_STORAGE);
    assert_int_equal(g, 8);
    assert_int_equal(dc_planner_get_chunk(p, 2, &s, NULL, NULL, NULL), DC_ERR_RANGE);
    dc_planner_free(p);
}

/* D is clamped outside the curve and linear in log(size) inside. */
static void test_curve_interpolation(void **state) {
    (void)state;
    const uint64_t sz[] = {500, 1000, 2000, 4000, 8000};
    const double want_d[] = {500.0, 500.0, 1000.0, 1500.0, 1500.0};
    for (size_t k = 0; k < 5; k++) {
        dc_planner *p = new_planner(1);
        assert_int_equal(dc_planner_add_chunk(p, sz[k], sz[k], DC_TIER_DEVICE, 0, NULL), DC_OK);
        assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_DEVICE, 1e300), DC_OK);
        assert_int_equal(dc_planner_set_compute_rate(p, 1e300), DC_OK);
        size_t sizes[] = {1000, 4000};
        double bps[] = {500.0, 1500.0};
        assert_int_equal(dc_planner_set_decode_curve(p, sizes, bps, 2), DC_OK);
        double lat;
        const uint8_t one = 1;
        assert_int_equal(dc_planner_predict(p, &one, DC_LATENCY_PIPELINED, &lat, NULL), DC_OK);
        assert_close(lat, (double)sz[k] / want_d[k]);
        dc_planner_free(p);
    }
    /* A non-monotone curve is accepted and read back. */
    dc_planner *p = new_planner(0);
    size_t sizes[] = {1024, 2048, 4096};
    double bps[] = {3e9, 1e9, 2e9};
    assert_int_equal(dc_planner_set_decode_curve(p, sizes, bps, 3), DC_OK);
    size_t gs[4], n = 0;
    double gb[4];
    assert_int_equal(dc_planner_get_decode_curve(p, gs, gb, 4, &n), DC_OK);
    assert_int_equal(n, 3);
    assert_int_equal(gs[1], 2048);
    assert_true(gb[1] == 1e9);
    assert_int_equal(dc_planner_get_decode_curve(p, NULL, NULL, 0, &n), DC_OK);
    assert_int_equal(n, 3);
    dc_planner_free(p);
}

static void test_argument_errors(void **state) {
    (void)state;
    dc_planner *p = NULL;
    assert_int_equal(dc_planner_create(NULL, NULL), DC_ERR_INVALID_ARGUMENT);
    dc_planner_options o;
    memset(&o, 0, sizeof(o));
    o.struct_size = sizeof(o);
    o.decode_buffers = DC_PLANNER_MAX_DECODE_BUFFERS + 1;
    assert_int_equal(dc_planner_create(&o, &p), DC_ERR_RANGE);
    assert_null(p);
    o.struct_size = 1;
    assert_int_equal(dc_planner_create(&o, &p), DC_ERR_INVALID_ARGUMENT);
    /* A newer caller's options: unknown fields must be zero. */
    struct {
        dc_planner_options o;
        uint64_t extra;
    } big;
    memset(&big, 0, sizeof(big));
    big.o.struct_size = sizeof(big);
    assert_int_equal(dc_planner_create(&big.o, &p), DC_OK);
    dc_planner_free(p);
    big.extra = 1;
    assert_int_equal(dc_planner_create(&big.o, &p), DC_ERR_UNSUPPORTED);
    dc_planner_free(NULL);

    assert_int_equal(dc_planner_create(NULL, &p), DC_OK);
    assert_int_equal(dc_planner_add_chunk(NULL, 1, 1, DC_TIER_HOST, 0, NULL),
                     DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_planner_add_chunk(p, 0, 1, DC_TIER_HOST, 0, NULL), DC_ERR_RANGE);
    assert_int_equal(dc_planner_add_chunk(p, 1, 0, DC_TIER_HOST, 0, NULL), DC_ERR_RANGE);
    assert_int_equal(dc_planner_add_chunk(p, 1, 1, (dc_tier)3, 0, NULL), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_planner_add_chunk(p, (uint64_t)1 << 52, 1, DC_TIER_HOST, 0, NULL), DC_OK);
    assert_int_equal(dc_planner_add_chunk(p, (uint64_t)1 << 52, 1, DC_TIER_HOST, 0, NULL),
                     DC_ERR_RANGE);
    assert_int_equal(dc_planner_chunk_count(p), 1);
    assert_int_equal(dc_planner_chunk_count(NULL), 0);

    assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_HOST, NAN), DC_ERR_NOT_FINITE);
    assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_HOST, INFINITY), DC_ERR_NOT_FINITE);
    assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_HOST, 0.0), DC_ERR_RANGE);
    assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_HOST, -5.0), DC_ERR_RANGE);
    assert_int_equal(dc_planner_set_tier_bandwidth(p, (dc_tier)7, 5.0), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_planner_set_compute_rate(p, -1.0), DC_ERR_RANGE);
    assert_int_equal(dc_planner_set_compute_rate(p, NAN), DC_ERR_NOT_FINITE);

    size_t sizes[] = {1000, 1000};
    double bps[] = {1e9, 2e9};
    assert_int_equal(dc_planner_set_decode_curve(p, sizes, bps, 2), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_planner_set_decode_curve(p, sizes, bps, 0), DC_ERR_RANGE);
    assert_int_equal(dc_planner_set_decode_curve(p, sizes, bps, DC_PLANNER_MAX_CURVE_POINTS + 1),
                     DC_ERR_RANGE);
    sizes[0] = 0;
    assert_int_equal(dc_planner_set_decode_curve(p, sizes, bps, 1), DC_ERR_RANGE);
    sizes[0] = 10;
    bps[1] = NAN;
    assert_int_equal(dc_planner_set_decode_curve(p, sizes, bps, 2), DC_ERR_NOT_FINITE);
    bps[1] = -1.0;
    assert_int_equal(dc_planner_set_decode_curve(p, sizes, bps, 2), DC_ERR_RANGE);
    size_t n = 99;
    assert_int_equal(dc_planner_get_decode_curve(p, NULL, NULL, 0, &n), DC_OK);
    assert_int_equal(n, 0); /* failed sets left no curve behind */

    /* An incomplete model: no bandwidth, no compute rate, no curve. */
    uint8_t dec = 0;
    double lat;
    assert_int_equal(dc_planner_predict(p, &dec, DC_LATENCY_SEQUENTIAL, &lat, NULL),
                     DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_HOST, 1e9), DC_OK);
    assert_int_equal(dc_planner_predict(p, &dec, DC_LATENCY_SEQUENTIAL, &lat, NULL),
                     DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_planner_set_compute_rate(p, 1e9), DC_OK);
    /* All raw needs no curve; a compressed chunk does. */
    assert_int_equal(dc_planner_predict(p, &dec, DC_LATENCY_SEQUENTIAL, &lat, NULL), DC_OK);
    dec = 1;
    assert_int_equal(dc_planner_predict(p, &dec, DC_LATENCY_SEQUENTIAL, &lat, NULL),
                     DC_ERR_INVALID_ARGUMENT);
    dec = 2; /* streamed: no storage bandwidth, no curve */
    assert_int_equal(dc_planner_predict(p, &dec, DC_LATENCY_SEQUENTIAL, &lat, NULL),
                     DC_ERR_INVALID_ARGUMENT);
    dec = 3;
    assert_int_equal(dc_planner_predict(p, &dec, DC_LATENCY_SEQUENTIAL, &lat, NULL),
                     DC_ERR_INVALID_ARGUMENT);
    dec = 0;
    assert_int_equal(dc_planner_predict(p, &dec, (dc_latency_mode)3, &lat, NULL),
                     DC_ERR_INVALID_ARGUMENT);
    dc_plan_request r = req(DC_PLAN_LATENCY_FACTOR, DC_LATENCY_SEQUENTIAL, 1.1);
    assert_int_equal(dc_planner_plan(p, &r, NULL, &dec), DC_ERR_INVALID_ARGUMENT); /* no curve */
    dc_planner_free(p);
}

/* ------------------------------------------------------------------------ */

/* The paper's policy: exactly the last chunk of every complete block of N. */
static void test_every_n(void **state) {
    (void)state;
    dc_planner *p = new_planner(1);
    const size_t n = 23;
    uint64_t seed = 11;
    for (size_t i = 0; i < n; i++) {
        uint64_t s = 4096 + (gen_next(&seed) % 8) * 1024;
        assert_int_equal(dc_planner_add_chunk(p, s, s / 2, DC_TIER_DEVICE, (uint32_t)i, NULL),
                         DC_OK);
    }
    assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_DEVICE, 1e12), DC_OK);
    assert_int_equal(dc_planner_set_compute_rate(p, 1e11), DC_OK);
    size_t sizes[] = {4096};
    double bps[] = {1e9};
    assert_int_equal(dc_planner_set_decode_curve(p, sizes, bps, 1), DC_OK);
    uint8_t dec[23];
    const size_t ns[] = {0, 1, 2, 5, 7, 23, 24, 100};
    for (size_t t = 0; t < sizeof(ns) / sizeof(ns[0]); t++) {
        dc_plan_request r = req(DC_PLAN_EVERY_N, DC_LATENCY_PIPELINED, 0);
        r.every_n = ns[t];
        size_t N = ns[t] ? ns[t] : 5;
        dc_plan_result res = empty_result();
        memset(dec, 0xAA, sizeof(dec));
        assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_OK);
        size_t count = 0;
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(dec[i], (i + 1) % N == 0 ? 1 : 0);
            count += dec[i];
        }
        assert_int_equal(res.compressed_chunks, count);
        assert_int_equal(count, n / N);
        double lat;
        uint64_t mem;
        assert_int_equal(dc_planner_predict(p, dec, DC_LATENCY_PIPELINED, &lat, &mem), DC_OK);
        assert_true(lat == res.latency_s);
        assert_int_equal(mem, res.memory_bytes);
        assert_true(res.budget == 0.0);
    }
    dc_planner_free(p);
}

/* ------------------------------------------------------------------------ */

typedef struct instance {
    dc_planner *p;
    size_t n;
    double lraw;
    uint64_t wmax; /* largest S - Sc > 0 */
    double dmax;   /* largest added latency of a memory-saving chunk */
} instance;

/* A random model: sizes from a few values (so buffers tie), ratios from 0.3
 * to 1.2 (some chunks do not compress), three tiers with bandwidths spanning
 * slow storage (compressing then also speeds loading) to fast device memory. */
static instance random_instance(uint64_t *seed, size_t n, size_t nbuf, dc_latency_mode mode) {
    instance in;
    memset(&in, 0, sizeof(in));
    in.p = new_planner(nbuf);
    in.n = n;
    for (size_t i = 0; i < n; i++) {
        uint64_t s = 1024 * (1 + gen_next(seed) % 6);
        double ratio = 0.3 + 0.9 * gen_unit(seed);
        uint64_t sc = (uint64_t)((double)s * ratio);
        if (sc == 0) sc = 1;
        dc_tier t = (dc_tier)(gen_next(seed) % 3);
        assert_int_equal(dc_planner_add_chunk(in.p, s, sc, t, 0, NULL), DC_OK);
    }
    assert_int_equal(
        dc_planner_set_tier_bandwidth(in.p, DC_TIER_STORAGE, 2e8 + 2e9 * gen_unit(seed)), DC_OK);
    assert_int_equal(dc_planner_set_tier_bandwidth(in.p, DC_TIER_HOST, 5e9 + 2e10 * gen_unit(seed)),
                     DC_OK);
    assert_int_equal(
        dc_planner_set_tier_bandwidth(in.p, DC_TIER_DEVICE, 1e11 + 1e12 * gen_unit(seed)), DC_OK);
    assert_int_equal(dc_planner_set_compute_rate(in.p, 5e9 + 5e10 * gen_unit(seed)), DC_OK);
    size_t sizes[] = {1024, 4096, 16384};
    double bps[] = {3e8 + 1e9 * gen_unit(seed), 5e8 + 2e9 * gen_unit(seed),
                    1e9 + 3e9 * gen_unit(seed)};
    assert_int_equal(dc_planner_set_decode_curve(in.p, sizes, bps, 3), DC_OK);
    assert_int_equal(dc_planner_predict(in.p, NULL, mode, &in.lraw, NULL), DC_OK);
    uint8_t *one = calloc(n, 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t s, sc;
        assert_int_equal(dc_planner_get_chunk(in.p, i, &s, &sc, NULL, NULL), DC_OK);
        if (sc >= s) continue;
        if (s - sc > in.wmax) in.wmax = s - sc;
        one[i] = 1;
        double l;
        assert_int_equal(dc_planner_predict(in.p, one, mode, &l, NULL), DC_OK);
        one[i] = 0;
        if (l - in.lraw > in.dmax) in.dmax = l - in.lraw;
    }
    free(one);
    return in;
}

/* Brute force over all 2^n plans. For a latency budget (seconds, with the
 * library's tolerance) the least memory; for a memory budget the least
 * latency. Returns 0 if no plan meets the budget. */
static int brute(const instance *in, dc_latency_mode mode, int latency_policy, double budget,
                 double *best_lat, uint64_t *best_mem) {
    uint8_t dec[16];
    int found = 0;
    double lim = budget + 1e-9 * (budget > in->lraw ? budget : in->lraw);
    for (uint32_t m = 0; m < (1u << in->n); m++) {
        for (size_t i = 0; i < in->n; i++)
            dec[i] = (uint8_t)((m >> i) & 1);
        double l;
        uint64_t mem;
        assert_int_equal(dc_planner_predict(in->p, dec, mode, &l, &mem), DC_OK);
        if (latency_policy) {
            if (l > lim) continue;
            if (!found || mem < *best_mem) *best_mem = mem, *best_lat = l;
        } else {
            if ((double)mem > budget) continue;
            if (!found || l < *best_lat) *best_mem = mem, *best_lat = l;
        }
        found = 1;
    }
    return found;
}

/* The greedy against the exact optimum on random small instances: always
 * feasible when the optimum is, never better than it, within the proven
 * additive bound (one chunk's saving / one chunk's added latency), and the
 * LP bound it reports never exceeds the optimum. */
static void test_greedy_vs_exact(void **state) {
    (void)state;
    uint64_t seed = 2026;
    int exact_lat = 0, exact_mem = 0, runs_lat = 0, runs_mem = 0, infeasible = 0;
    for (int t = 0; t < 600; t++) {
        size_t n = 1 + gen_next(&seed) % 12;
        size_t nbuf = 1 + gen_next(&seed) % 2;
        dc_latency_mode mode = (dc_latency_mode)(gen_next(&seed) % 2);
        instance in = random_instance(&seed, n, nbuf, mode);
        uint8_t dec[16];
        dc_plan_result res = empty_result();
        double olat = 0;
        uint64_t omem = 0;

        /* The fastest and the smallest plans, to draw budgets around them. */
        double minlat = 0;
        uint64_t minmem = 0;
        assert_true(brute(&in, mode, 0, 1e300, &minlat, &omem));
        assert_true(brute(&in, mode, 1, 1e300, &olat, &minmem));

        /* Latency budget: a factor from just below the fastest plan's to 1.6. */
        double fmin = 0.98 * minlat / in.lraw;
        double factor = fmin + (1.6 - fmin) * gen_unit(&seed);
        dc_plan_request r = req(DC_PLAN_LATENCY_FACTOR, mode, factor);
        int feasible = brute(&in, mode, 1, factor * in.lraw, &olat, &omem);
        dc_status st = dc_planner_plan(in.p, &r, &res, dec);
        if (!feasible) {
            assert_int_equal(st, DC_ERR_INFEASIBLE);
            infeasible++;
        } else {
            assert_int_equal(st, DC_OK);
            runs_lat++;
            assert_close(res.budget, factor * in.lraw);
            assert_true(res.latency_s <= res.budget * (1.0 + 2e-9) + 1e-9 * in.lraw);
            assert_true(res.memory_bytes >= omem);
            if (res.memory_bytes - omem > in.wmax)
                fail_msg("greedy %llu vs optimum %llu, bound %llu",
                         (unsigned long long)res.memory_bytes, (unsigned long long)omem,
                         (unsigned long long)in.wmax);
            assert_true(res.bound <= (double)omem + 1e-6);
            exact_lat += res.memory_bytes == omem;
            double l;
            uint64_t m;
            assert_int_equal(dc_planner_predict(in.p, dec, mode, &l, &m), DC_OK);
            assert_true(l == res.latency_s);
            assert_int_equal(m, res.memory_bytes);
        }

        /* Memory budget: from just below the smallest plan's to above all raw. */
        uint64_t raw_mem;
        assert_int_equal(dc_planner_predict(in.p, NULL, mode, NULL, &raw_mem), DC_OK);
        double mb = 0.98 * (double)minmem +
                    (1.1 * (double)raw_mem - 0.98 * (double)minmem) * gen_unit(&seed);
        r = req(DC_PLAN_MEMORY_BYTES, mode, mb);
        feasible = brute(&in, mode, 0, floor(mb), &olat, &omem);
        res = empty_result();
        st = dc_planner_plan(in.p, &r, &res, dec);
        if (!feasible) {
            assert_int_equal(st, DC_ERR_INFEASIBLE);
            infeasible++;
        } else {
            assert_int_equal(st, DC_OK);
            runs_mem++;
            assert_true((double)res.memory_bytes <= mb);
            double tol = 1e-12 * in.lraw;
            assert_true(res.latency_s >= olat - tol);
            if (res.latency_s > olat + in.dmax + tol)
                fail_msg("greedy %.17g vs optimum %.17g, bound %.17g", res.latency_s, olat,
                         in.dmax);
            assert_true(res.bound <= olat + tol);
            exact_mem += res.latency_s <= olat + tol;
        }
        dc_planner_free(in.p);
    }
    print_message("greedy exact on %d/%d latency-budget and %d/%d memory-budget instances; "
                  "%d infeasible budgets\n",
                  exact_lat, runs_lat, exact_mem, runs_mem, infeasible);
    assert_true(runs_lat > 300 && runs_mem > 300);
    /* Sanity of the instance generator: the greedy is usually exact. */
    assert_true(exact_lat > runs_lat / 2);
    assert_true(exact_mem > runs_mem / 2);
}

/* Identical chunks: the greedy is exact (floor(slack / delta) chunks). Mixed
 * ratios: it compresses the best-ratio chunks and beats every-N. */
static void test_greedy_small_exact(void **state) {
    (void)state;
    dc_planner *p = new_planner(1);
    for (int i = 0; i < 10; i++)
        assert_int_equal(dc_planner_add_chunk(p, 1000, i % 2 ? 900 : 500, DC_TIER_DEVICE, 0, NULL),
                         DC_OK);
    assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_DEVICE, 1e6), DC_OK);
    assert_int_equal(dc_planner_set_compute_rate(p, 1e6), DC_OK);
    size_t sizes[] = {1000};
    double bps[] = {1e5}; /* decode 10 ms per chunk; raw chunk costs 2 ms */
    assert_int_equal(dc_planner_set_decode_curve(p, sizes, bps, 1), DC_OK);
    /* Raw latency 20 ms; compressing adds 10 ms - (S - Sc)/B: 9.5 ms or 9.9 ms. A budget of
     * 50 ms (factor 2.5) leaves 30 ms: three of the ratio-0.5 chunks. */
    dc_plan_request r = req(DC_PLAN_LATENCY_FACTOR, DC_LATENCY_SEQUENTIAL, 2.5);
    dc_plan_result res = empty_result();
    uint8_t dec[10];
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_OK);
    assert_int_equal(res.compressed_chunks, 3);
    for (int i = 0; i < 10; i++)
        if (dec[i]) assert_int_equal(i % 2, 0);
    assert_int_equal(res.memory_bytes, 10000 - 3 * 500 + 1000);
    assert_close(res.latency_s, 0.020 + 3 * 0.0095);
    /* every-N with N = 5 compresses chunks 4 and 9 (one good, one poor). */
    dc_plan_request e = req(DC_PLAN_EVERY_N, DC_LATENCY_SEQUENTIAL, 0);
    e.every_n = 5;
    dc_plan_result er = empty_result();
    assert_int_equal(dc_planner_plan(p, &e, &er, dec), DC_OK);
    assert_int_equal(er.memory_bytes, 10000 - 500 - 100 + 1000);
    assert_true(er.memory_bytes > res.memory_bytes);
    /* Memory budget of 8400 bytes: with the 1000-byte buffer the chunks must save 2600;
     * the five good chunks save 2500, so the cheapest cover adds one poor chunk. */
    dc_plan_request m = req(DC_PLAN_MEMORY_BYTES, DC_LATENCY_SEQUENTIAL, 8400.0);
    res = empty_result();
    assert_int_equal(dc_planner_plan(p, &m, &res, dec), DC_OK);
    assert_int_equal(res.memory_bytes, 8400);
    assert_int_equal(res.compressed_chunks, 6);
    assert_close(res.latency_s, 0.020 + 5 * 0.0095 + 0.0099);
    dc_planner_free(p);
}

/* Compressing chunks read from slow storage lowers latency: such chunks are
 * always compressed and a factor below 1 can be feasible. */
static void test_free_chunks(void **state) {
    (void)state;
    dc_planner *p = new_planner(1);
    assert_int_equal(dc_planner_add_chunk(p, 1000, 500, DC_TIER_STORAGE, 0, NULL), DC_OK);
    assert_int_equal(dc_planner_add_chunk(p, 1000, 500, DC_TIER_DEVICE, 0, NULL), DC_OK);
    assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_STORAGE, 1e3), DC_OK);
    assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_DEVICE, 1e6), DC_OK);
    assert_int_equal(dc_planner_set_compute_rate(p, 1e6), DC_OK);
    size_t sizes[] = {1000};
    double bps[] = {1e4};
    assert_int_equal(dc_planner_set_decode_curve(p, sizes, bps, 1), DC_OK);
    /* Raw: 1 + 0.001 + 0.001 + 0.001 = 1.003. Storage chunk compressed: 0.5 + 0.1 + 0.001. */
    uint8_t dec[2];
    dc_plan_request r = req(DC_PLAN_LATENCY_FACTOR, DC_LATENCY_SEQUENTIAL, 0.7);
    dc_plan_result res = empty_result();
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_OK);
    assert_int_equal(dec[0], 1);
    assert_int_equal(dec[1], 0);
    assert_close(res.latency_s, 0.601 + 0.002);
    /* Below the fastest plan: infeasible. */
    r.budget = 0.5;
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_ERR_INFEASIBLE);
    /* A memory budget met by the free chunk alone costs no latency. */
    dc_plan_request m = req(DC_PLAN_MEMORY_BYTES, DC_LATENCY_SEQUENTIAL, 2500.0);
    assert_int_equal(dc_planner_plan(p, &m, &res, dec), DC_OK);
    assert_int_equal(dec[0], 1);
    assert_int_equal(dec[1], 0);
    assert_int_equal(res.memory_bytes, 2500);
    assert_true(res.bound <= res.latency_s + EPS);
    dc_planner_free(p);
}

/* Larger latency budget never saves less memory; larger memory budget never
 * costs more latency. */
static void test_monotone(void **state) {
    (void)state;
    uint64_t seed = 77;
    for (int t = 0; t < 8; t++) {
        dc_latency_mode mode = (dc_latency_mode)(t % 2);
        size_t n = 40 + gen_next(&seed) % 200;
        instance in = random_instance(&seed, n, 1 + (size_t)(t % 3 == 0), mode);
        uint8_t *dec = malloc(n);
        uint64_t prev_mem = UINT64_MAX;
        int ok = 0;
        for (double f = 0.8; f <= 3.0; f += 0.0125) {
            dc_plan_request r = req(DC_PLAN_LATENCY_FACTOR, mode, f);
            dc_plan_result res = empty_result();
            dc_status st = dc_planner_plan(in.p, &r, &res, dec);
            if (st == DC_ERR_INFEASIBLE) {
                assert_int_equal(ok, 0); /* once feasible, stays feasible */
                continue;
            }
            assert_int_equal(st, DC_OK);
            ok = 1;
            assert_true(res.memory_bytes <= prev_mem);
            assert_true(res.bound <= (double)res.memory_bytes + 1e-6);
            prev_mem = res.memory_bytes;
        }
        assert_true(ok);
        uint64_t raw_mem;
        assert_int_equal(dc_planner_predict(in.p, NULL, mode, NULL, &raw_mem), DC_OK);
        double prev_lat = INFINITY;
        ok = 0;
        for (double f = 0.4; f <= 1.2; f += 0.005) {
            dc_plan_request r = req(DC_PLAN_MEMORY_BYTES, mode, f * (double)raw_mem);
            dc_plan_result res = empty_result();
            dc_status st = dc_planner_plan(in.p, &r, &res, dec);
            if (st == DC_ERR_INFEASIBLE) {
                assert_int_equal(ok, 0);
                continue;
            }
            assert_int_equal(st, DC_OK);
            ok = 1;
            assert_true(res.latency_s <= prev_lat * (1.0 + 1e-12));
            assert_true(res.bound <= res.latency_s * (1.0 + 1e-12));
            prev_lat = res.latency_s;
        }
        assert_true(ok);
        free(dec);
        dc_planner_free(in.p);
    }
}

static void test_bad_budgets(void **state) {
    (void)state;
    dc_planner *p = two_chunks(1);
    uint8_t dec[2] = {0xAA, 0xAA};
    dc_plan_result res = empty_result();
    const dc_plan_policy pol[] = {DC_PLAN_LATENCY_FACTOR, DC_PLAN_LATENCY_SECONDS,
                                  DC_PLAN_MEMORY_BYTES};
    for (int k = 0; k < 3; k++) {
        dc_plan_request r = req(pol[k], DC_LATENCY_SEQUENTIAL, NAN);
        assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_ERR_NOT_FINITE);
        r.budget = INFINITY;
        assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_ERR_NOT_FINITE);
        r.budget = -INFINITY;
        assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_ERR_NOT_FINITE);
        r.budget = -1.0;
        assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_ERR_RANGE);
        r.budget = 0.0;
        assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_ERR_RANGE);
    }
    /* Infeasible: the fastest plan is B compressed, 1.5 + 5 = 6.5 s sequential (all raw also
     * 6.5); the smallest is A compressed (3400) or all raw (3000). */
    dc_plan_request r = req(DC_PLAN_LATENCY_SECONDS, DC_LATENCY_SEQUENTIAL, 6.4);
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_ERR_INFEASIBLE);
    r = req(DC_PLAN_LATENCY_FACTOR, DC_LATENCY_SEQUENTIAL, 0.99);
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_ERR_INFEASIBLE);
    r = req(DC_PLAN_MEMORY_BYTES, DC_LATENCY_SEQUENTIAL, 2999.0);
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_ERR_INFEASIBLE);
    /* Nothing was written on error. */
    assert_int_equal(dec[0], 0xAA);
    assert_int_equal(dec[1], 0xAA);
    /* Pipelined: B compressed is faster (3 s < 5 s) and bigger (4000 > 3000). */
    r = req(DC_PLAN_LATENCY_SECONDS, DC_LATENCY_PIPELINED, 3.0);
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_OK);
    assert_int_equal(dec[0], 0);
    assert_int_equal(dec[1], 1);
    assert_int_equal(res.memory_bytes, 4000);
    assert_close(res.bound, 4000.0);
    r.budget = 2.99;
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_ERR_INFEASIBLE);
    r = req(DC_PLAN_MEMORY_BYTES, DC_LATENCY_PIPELINED, 3000.9); /* rounded down */
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_OK);
    assert_int_equal(dec[0], 0);
    assert_int_equal(dec[1], 0);
    assert_true(res.budget == 3000.0);

    /* Malformed requests. */
    r = req(DC_PLAN_LATENCY_FACTOR, DC_LATENCY_SEQUENTIAL, 1.1);
    assert_int_equal(dc_planner_plan(NULL, &r, &res, dec), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_planner_plan(p, NULL, &res, dec), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_planner_plan(p, &r, &res, NULL), DC_ERR_INVALID_ARGUMENT);
    r.policy = (dc_plan_policy)9;
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_ERR_INVALID_ARGUMENT);
    r = req(DC_PLAN_LATENCY_FACTOR, (dc_latency_mode)5, 1.1);
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_ERR_INVALID_ARGUMENT);
    r = req(DC_PLAN_LATENCY_FACTOR, DC_LATENCY_SEQUENTIAL, 1.1);
    r.struct_size = 0;
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_ERR_INVALID_ARGUMENT);
    r.struct_size = sizeof(r);
    res.struct_size = 0;
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_ERR_INVALID_ARGUMENT);

    /* An older caller's short result: only struct_size bytes are written. */
    struct {
        dc_plan_result r;
        uint64_t guard;
    } g;
    memset(&g, 0x5A, sizeof(g));
    g.r.struct_size = offsetof(dc_plan_result, memory_bytes);
    assert_int_equal(dc_planner_plan(p, &r, &g.r, dec), DC_OK);
    assert_true(g.r.latency_s > 0.0);
    assert_int_equal(g.r.struct_size, offsetof(dc_plan_result, memory_bytes));
    const unsigned char *tail =
        (const unsigned char *)&g.r + offsetof(dc_plan_result, memory_bytes);
    for (size_t i = 0; i < sizeof(g) - offsetof(dc_plan_result, memory_bytes); i++)
        assert_int_equal(tail[i], 0x5A);
    assert_int_equal(dc_planner_plan(p, &r, NULL, dec), DC_OK);
    dc_planner_free(p);

    /* No chunks: every budget is met by the empty plan. */
    p = new_planner(1);
    r = req(DC_PLAN_MEMORY_BYTES, DC_LATENCY_SEQUENTIAL, 1.0);
    res = empty_result();
    assert_int_equal(dc_planner_plan(p, &r, &res, NULL), DC_OK);
    assert_int_equal(res.memory_bytes, 0);
    assert_true(res.latency_s == 0.0);
    r.budget = -1;
    assert_int_equal(dc_planner_plan(p, &r, &res, NULL), DC_ERR_RANGE);
    dc_planner_free(p);
}

/* ------------------------------------------------------------------------ */

static void check_curve(const dc_planner *p, size_t want_n, const size_t *want_sizes) {
    size_t sizes[DC_PLANNER_MAX_CURVE_POINTS], n = 0;
    double bps[DC_PLANNER_MAX_CURVE_POINTS];
    assert_int_equal(dc_planner_get_decode_curve(p, sizes, bps, DC_PLANNER_MAX_CURVE_POINTS, &n),
                     DC_OK);
    assert_int_equal(n, want_n);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(sizes[k], want_sizes[k]);
        assert_true(isfinite(bps[k]) && bps[k] > 0.0);
    }
}

static void test_measure(void **state) {
    (void)state;
    dc_planner *p = new_planner(1);
    dc_planner_measure_options mo;
    memset(&mo, 0, sizeof(mo));
    mo.struct_size = sizeof(mo);
    mo.min_seconds = 0.002;
    /* Synthetic sample, chosen sizes. */
    const size_t sizes[] = {4096, 16384, 65536};
    mo.sizes = sizes;
    mo.n_sizes = 3;
    assert_int_equal(dc_planner_measure_decode(p, NULL, 0, &mo), DC_OK);
    check_curve(p, 3, sizes);

    /* Caller's sample, default sizes that fit (4, 16, 64 KiB). */
    size_t len = 70000;
    uint8_t *sample = malloc(len);
    gen_laplace(sample, len, 4.2, 0.1, 5);
    mo.sizes = NULL;
    mo.n_sizes = 0;
    assert_int_equal(dc_planner_measure_decode(p, sample, len, &mo), DC_OK);
    check_curve(p, 3, sizes);
    /* And with the zstd codec and the scalar decoder. */
    mo.codec = dc_codec_supported(DC_CODEC_ZSTD) ? DC_CODEC_ZSTD : DC_CODEC_RAW;
    mo.simd = DC_SIMD_SCALAR;
    assert_int_equal(dc_planner_measure_decode(p, sample, len, &mo), DC_OK);
    check_curve(p, 3, sizes);
    mo.codec = DC_CODEC_DEFAULT;
    mo.simd = DC_SIMD_AUTO;

    /* Errors leave the curve alone. */
    mo.sizes = sizes;
    mo.n_sizes = 3;
    assert_int_equal(dc_planner_measure_decode(p, sample, 20000, &mo), DC_ERR_RANGE);
    mo.min_seconds = NAN;
    assert_int_equal(dc_planner_measure_decode(p, sample, len, &mo), DC_ERR_NOT_FINITE);
    mo.min_seconds = -1.0;
    assert_int_equal(dc_planner_measure_decode(p, sample, len, &mo), DC_ERR_RANGE);
    mo.min_seconds = 0.002;
    const size_t bad[] = {16384, 4096};
    mo.sizes = bad;
    mo.n_sizes = 2;
    assert_int_equal(dc_planner_measure_decode(p, sample, len, &mo), DC_ERR_INVALID_ARGUMENT);
    const size_t tiny[] = {100};
    mo.sizes = tiny;
    mo.n_sizes = 1;
    assert_int_equal(dc_planner_measure_decode(p, sample, len, &mo), DC_ERR_RANGE);
    mo.sizes = NULL;
    assert_int_equal(dc_planner_measure_decode(p, sample, 1000, &mo), DC_ERR_RANGE);
    assert_int_equal(dc_planner_measure_decode(p, NULL, 5, &mo), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_planner_measure_decode(NULL, sample, len, &mo), DC_ERR_INVALID_ARGUMENT);
    check_curve(p, 3, sizes);

    /* The measured curve drives a plan: 4 chunks of 64 KiB in device memory. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(dc_planner_add_chunk(p, 65536, 40000, DC_TIER_DEVICE, 0, NULL), DC_OK);
    assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_DEVICE, 1e12), DC_OK);
    assert_int_equal(dc_planner_set_compute_rate(p, 1e10), DC_OK);
    dc_plan_request r = req(DC_PLAN_LATENCY_FACTOR, DC_LATENCY_PIPELINED, 1.0);
    dc_plan_result res = empty_result();
    uint8_t dec[4];
    assert_int_equal(dc_planner_plan(p, &r, &res, dec), DC_OK);
    assert_true(res.latency_s > 0.0 && isfinite(res.latency_s));
    free(sample);
    dc_planner_free(p);
}

/* ------------------------------------------------------------------------ */

typedef struct counting {
    size_t allocs, live;
    long fail_at; /* fail the allocation with this index (-1: never) */
} counting;

static void *count_alloc(void *opaque, size_t size) {
    counting *c = opaque;
    if (c->fail_at >= 0 && (long)c->allocs >= c->fail_at) return NULL;
    c->allocs++;
    c->live++;
    return malloc(size);
}

static void count_free(void *opaque, void *ptr) {
    counting *c = opaque;
    c->live--;
    free(ptr);
}

static void test_allocator(void **state) {
    (void)state;
    for (long fail = 0; fail < 40; fail++) {
        counting cnt = {0, 0, fail};
        dc_allocator al = {sizeof(al), count_alloc, count_free, &cnt};
        dc_planner_options o;
        memset(&o, 0, sizeof(o));
        o.struct_size = sizeof(o);
        o.allocator = &al;
        dc_planner *p = NULL;
        dc_status st = dc_planner_create(&o, &p);
        if (st == DC_OK) {
            uint64_t seed = 3;
            for (int i = 0; i < 100 && st == DC_OK; i++)
                st = dc_planner_add_chunk(p, 1000 + gen_next(&seed) % 1000, 500, DC_TIER_HOST, 0,
                                          NULL);
            if (st == DC_OK) {
                assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_HOST, 1e9), DC_OK);
                assert_int_equal(dc_planner_set_compute_rate(p, 1e9), DC_OK);
                size_t sizes[] = {1000};
                double bps[] = {1e9};
                assert_int_equal(dc_planner_set_decode_curve(p, sizes, bps, 1), DC_OK);
                uint8_t dec[100];
                dc_plan_request r = req(DC_PLAN_LATENCY_FACTOR, DC_LATENCY_SEQUENTIAL, 1.2);
                st = dc_planner_plan(p, &r, NULL, dec);
                if (st == DC_OK) {
                    dc_planner_measure_options mo;
                    memset(&mo, 0, sizeof(mo));
                    mo.struct_size = sizeof(mo);
                    mo.min_seconds = 0.0005;
                    const size_t ms[] = {4096};
                    mo.sizes = ms;
                    mo.n_sizes = 1;
                    st = dc_planner_measure_decode(p, NULL, 0, &mo);
                }
            }
            dc_planner_free(p);
        }
        assert_true(st == DC_OK || st == DC_ERR_OUT_OF_MEMORY);
        assert_int_equal(cnt.live, 0);
        if (st == DC_OK) {
            assert_true(fail > 3); /* everything ran through our allocator */
            break;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Threaded engines and streamed chunks (docs/planner.md, "Threaded engines") */

static dc_planner *threaded_planner(size_t n, size_t nbuf, size_t threads, size_t cores) {
    dc_planner_options o;
    memset(&o, 0, sizeof(o));
    o.struct_size = sizeof(o);
    o.decode_buffers = nbuf;
    o.decode_threads = threads;
    o.cores = cores;
    dc_planner *p = NULL;
    assert_int_equal(dc_planner_create(&o, &p), DC_OK);
    /* n chunks of S = 1000, Sc = 600 (CR 1.67), host tier */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(dc_planner_add_chunk(p, 1000, 600, DC_TIER_HOST, 0, NULL), DC_OK);
    assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_HOST, 1e6), DC_OK);
    assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_STORAGE, 1000.0), DC_OK);
    assert_int_equal(dc_planner_set_compute_rate(p, 1e5), DC_OK);
    size_t sz = 1000;
    double d = 2000.0;
    assert_int_equal(dc_planner_set_decode_curve(p, &sz, &d, 1), DC_OK);
    return p;
}

static void test_threaded_formulas(void **state) {
    (void)state;
    /* 4 chunks, 2 buffers, 2 decode threads, 2 cores */
    dc_planner *p = threaded_planner(4, 2, 2, 2);
    double lat;
    uint64_t mem;
    /* all raw: compute thread max(S/B, S/I) = 0.01 s per chunk */
    assert_int_equal(dc_planner_predict(p, NULL, DC_LATENCY_THREADED, &lat, &mem), DC_OK);
    assert_close(lat, 0.04);
    assert_int_equal(mem, 4000);
    /* raw, compressed, streamed, streamed:
     *   storage 2 x 600/1000 = 1.2 s; decode (600/1e6 + 0.5) + 2 x 0.5 = 1.5006 s
     *   over 2 threads 0.7503; compute 4 x 0.01 = 0.04; (decode + compute) / 2
     *   cores = 0.7703. max = 1.2 s.
     *   memory 1000 + 600 + 2 buffers x 1000 + 2 read buffers x (4096 + 4096) */
    uint8_t dec[4] = {DC_PLACE_RAW, DC_PLACE_COMPRESSED, DC_PLACE_STREAMED, DC_PLACE_STREAMED};
    assert_int_equal(dc_planner_predict(p, dec, DC_LATENCY_THREADED, &lat, &mem), DC_OK);
    assert_close(lat, 1.2);
    assert_int_equal(mem, 1000 + 600 + 2 * 1000 + 2 * 8192);
    /* reads that cost the cores 2 ms a byte: (decode + compute + 1200 B x
     * 0.002 s) / 2 cores = (1.5006 + 0.04 + 2.4) / 2 = 1.9703 s, now the bound */
    assert_int_equal(dc_planner_set_read_cost(p, 0.002), DC_OK);
    assert_int_equal(dc_planner_predict(p, dec, DC_LATENCY_THREADED, &lat, &mem), DC_OK);
    assert_close(lat, 1.9703);
    /* the other modes, and plans that stream nothing, do not see it */
    assert_int_equal(dc_planner_predict(p, NULL, DC_LATENCY_THREADED, &lat, NULL), DC_OK);
    assert_close(lat, 0.04);
    assert_int_equal(dc_planner_set_read_cost(p, -1.0), DC_ERR_RANGE);
    assert_int_equal(dc_planner_set_read_cost(p, NAN), DC_ERR_NOT_FINITE);
    assert_int_equal(dc_planner_set_read_cost(p, INFINITY), DC_ERR_NOT_FINITE);
    assert_int_equal(dc_planner_set_read_cost(NULL, 0.0), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_planner_set_read_cost(p, 0.0), DC_OK);
    assert_int_equal(dc_planner_predict(p, dec, DC_LATENCY_THREADED, &lat, NULL), DC_OK);
    assert_close(lat, 1.2);
    /* sequential: raw 0.001 + 0.01; compressed 0.0006 + 0.5 + 0.01; streamed 2 x (0.6 + 0.5 + 0.01)
     */
    assert_int_equal(dc_planner_predict(p, dec, DC_LATENCY_SEQUENTIAL, &lat, NULL), DC_OK);
    assert_close(lat, 0.011 + 0.5106 + 2 * 1.11);
    /* pipelined: max per chunk */
    assert_int_equal(dc_planner_predict(p, dec, DC_LATENCY_PIPELINED, &lat, NULL), DC_OK);
    assert_close(lat, 0.01 + 0.5 + 2 * 0.6);
    dc_planner_free(p);
    /* read buffers counted separately when given */
    {
        dc_planner_options o;
        memset(&o, 0, sizeof(o));
        o.struct_size = sizeof(o);
        o.decode_buffers = 2;
        o.read_buffers = 5;
        o.decode_threads = 2;
        o.cores = 2;
        assert_int_equal(dc_planner_create(&o, &p), DC_OK);
        for (int i = 0; i < 4; i++)
            assert_int_equal(dc_planner_add_chunk(p, 1000, 600, DC_TIER_HOST, 0, NULL), DC_OK);
        assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_HOST, 1e6), DC_OK);
        assert_int_equal(dc_planner_set_tier_bandwidth(p, DC_TIER_STORAGE, 1000.0), DC_OK);
        assert_int_equal(dc_planner_set_compute_rate(p, 1e5), DC_OK);
        size_t sz = 1000;
        double d = 2000.0;
        assert_int_equal(dc_planner_set_decode_curve(p, &sz, &d, 1), DC_OK);
        dec[0] = DC_PLACE_RAW;
        assert_int_equal(dc_planner_predict(p, dec, DC_LATENCY_THREADED, &lat, &mem), DC_OK);
        assert_int_equal(mem, 1000 + 600 + 2 * 1000 + 5 * 8192);
        o.read_buffers = DC_PLANNER_MAX_READ_BUFFERS + 1;
        dc_planner *bad = NULL;
        assert_int_equal(dc_planner_create(&o, &bad), DC_ERR_RANGE);
        assert_null(bad);
    }
    /* a decision above 2 is refused */
    dec[0] = 3;
    assert_int_equal(dc_planner_predict(p, dec, DC_LATENCY_THREADED, &lat, NULL),
                     DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_planner_predict(p, NULL, (dc_latency_mode)3, &lat, NULL),
                     DC_ERR_INVALID_ARGUMENT);
    dc_planner_free(p);
    /* a streamed chunk stored no smaller than raw is copied, not decoded: no curve needed */
    dc_planner *q = new_planner(1);
    assert_int_equal(dc_planner_add_chunk(q, 1000, 1020, DC_TIER_HOST, 0, NULL), DC_OK);
    assert_int_equal(dc_planner_set_tier_bandwidth(q, DC_TIER_HOST, 1e6), DC_OK);
    assert_int_equal(dc_planner_set_compute_rate(q, 1e5), DC_OK);
    uint8_t one = DC_PLACE_STREAMED;
    /* storage bandwidth not set */
    assert_int_equal(dc_planner_predict(q, &one, DC_LATENCY_THREADED, &lat, NULL),
                     DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_planner_set_tier_bandwidth(q, DC_TIER_STORAGE, 1000.0), DC_OK);
    assert_int_equal(dc_planner_predict(q, &one, DC_LATENCY_THREADED, &lat, &mem), DC_OK);
    assert_close(lat, 1.02); /* 1020 / 1000 B/s; copy 0.001 over 1 thread; compute 0.01 */
    assert_int_equal(mem, 1000 + 8192);
    dc_planner_free(q);
}

static void test_threaded_plans(void **state) {
    (void)state;
    const size_t n = 200;
    dc_planner *p = threaded_planner(n, 4, 2, 3);
    uint8_t *dec = malloc(n);
    assert_non_null(dec);
    dc_plan_result res = empty_result();
    /* streaming needs the threaded mode */
    dc_plan_request rq = req(DC_PLAN_MEMORY_BYTES, DC_LATENCY_PIPELINED, 1e5);
    rq.allow_streaming = 1;
    assert_int_equal(dc_planner_plan(p, &rq, &res, dec), DC_ERR_INVALID_ARGUMENT);
    /* without streaming, below all compressed (200 x 600 + buffers) is infeasible */
    rq = req(DC_PLAN_MEMORY_BYTES, DC_LATENCY_THREADED, 100000);
    assert_int_equal(dc_planner_plan(p, &rq, &res, dec), DC_ERR_INFEASIBLE);
    /* with streaming it is not; memory within budget, latency falls as it grows */
    rq.allow_streaming = 1;
    double prev = INFINITY;
    size_t prev_stream = n + 1;
    for (double b = 40000; b <= 260000; b += 20000) {
        rq.budget = b;
        res = empty_result();
        assert_int_equal(dc_planner_plan(p, &rq, &res, dec), DC_OK);
        assert_true((double)res.memory_bytes <= b);
        assert_true(res.latency_s <= prev * (1 + 1e-9));
        assert_true(res.streamed_chunks <= prev_stream);
        double lat;
        uint64_t mem;
        assert_int_equal(dc_planner_predict(p, dec, DC_LATENCY_THREADED, &lat, &mem), DC_OK);
        assert_close(lat, res.latency_s);
        assert_int_equal(mem, res.memory_bytes);
        size_t ns = 0, nc = 0;
        for (size_t i = 0; i < n; i++) {
            ns += dec[i] == DC_PLACE_STREAMED;
            nc += dec[i] == DC_PLACE_COMPRESSED;
        }
        assert_int_equal(ns, res.streamed_chunks);
        assert_int_equal(nc, res.compressed_chunks);
        assert_int_equal(res.read_buffer_bytes, ns ? 4u * 8192u : 0u);
        /* streamed chunks are spread: no run of them longer than needed */
        if (ns > 0 && ns < n) {
            size_t run = 0, longest = 0;
            for (size_t i = 0; i < n; i++) {
                run = dec[i] == DC_PLACE_STREAMED ? run + 1 : 0;
                if (run > longest) longest = run;
            }
            assert_true(longest <= n / (n - ns) + 1);
        }
        prev = res.latency_s;
        prev_stream = res.streamed_chunks;
    }
    /* the solver plans with the read cost: at the same budget its plan is
     * no slower, in the costed model, than the plan made without the cost */
    {
        uint8_t *blind = malloc(n);
        assert_non_null(blind);
        rq.budget = 100000;
        assert_int_equal(dc_planner_plan(p, &rq, &res, blind), DC_OK);
        assert_int_equal(dc_planner_set_read_cost(p, 0.005), DC_OK);
        double blind_lat;
        assert_int_equal(dc_planner_predict(p, blind, DC_LATENCY_THREADED, &blind_lat, NULL),
                         DC_OK);
        assert_true(blind_lat > res.latency_s); /* the cost shows in the prediction */
        dc_plan_result rc = empty_result();
        assert_int_equal(dc_planner_plan(p, &rq, &rc, dec), DC_OK);
        assert_true(rc.latency_s <= blind_lat * (1 + 1e-9));
        assert_true((double)rc.memory_bytes <= rq.budget);
        assert_int_equal(dc_planner_set_read_cost(p, 0.0), DC_OK);
        free(blind);
    }
    /* with room for everything: all raw, fastest */
    rq.budget = 1e9;
    assert_int_equal(dc_planner_plan(p, &rq, &res, dec), DC_OK);
    assert_int_equal(res.compressed_chunks + res.streamed_chunks, 0);
    assert_close(res.latency_s, res.raw_latency_s);
    /* latency budget: the least memory meeting it, and a budget below the
     * fastest plan is infeasible */
    rq = req(DC_PLAN_LATENCY_SECONDS, DC_LATENCY_THREADED, 30.0);
    rq.allow_streaming = 1;
    assert_int_equal(dc_planner_plan(p, &rq, &res, dec), DC_OK);
    assert_true(res.latency_s <= 30.0 * (1 + 1e-9));
    dc_plan_request m =
        req(DC_PLAN_MEMORY_BYTES, DC_LATENCY_THREADED, (double)res.memory_bytes - 2000);
    m.allow_streaming = 1;
    dc_plan_result r2 = empty_result();
    if (dc_planner_plan(p, &m, &r2, dec) == DC_OK) assert_true(r2.latency_s > 30.0 * (1 - 1e-9));
    rq.budget = 1e-6;
    assert_int_equal(dc_planner_plan(p, &rq, &res, dec), DC_ERR_INFEASIBLE);
    /* streaming without the storage bandwidth */
    dc_planner *q = new_planner(1);
    assert_int_equal(dc_planner_add_chunk(q, 1000, 600, DC_TIER_HOST, 0, NULL), DC_OK);
    assert_int_equal(dc_planner_set_tier_bandwidth(q, DC_TIER_HOST, 1e6), DC_OK);
    assert_int_equal(dc_planner_set_compute_rate(q, 1e5), DC_OK);
    size_t sz = 1000;
    double d = 2000.0;
    assert_int_equal(dc_planner_set_decode_curve(q, &sz, &d, 1), DC_OK);
    rq = req(DC_PLAN_MEMORY_BYTES, DC_LATENCY_THREADED, 1e5);
    rq.allow_streaming = 1;
    assert_int_equal(dc_planner_plan(q, &rq, &res, dec), DC_ERR_INVALID_ARGUMENT);
    rq.allow_streaming = 0; /* threaded without streaming: fine */
    assert_int_equal(dc_planner_plan(q, &rq, &res, dec), DC_OK);
    assert_int_equal(dec[0], DC_PLACE_RAW);
    dc_planner_free(q);
    free(dec);
    dc_planner_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formulas),        cmocka_unit_test(test_curve_interpolation),
        cmocka_unit_test(test_argument_errors), cmocka_unit_test(test_every_n),
        cmocka_unit_test(test_greedy_vs_exact), cmocka_unit_test(test_greedy_small_exact),
        cmocka_unit_test(test_free_chunks),     cmocka_unit_test(test_monotone),
        cmocka_unit_test(test_bad_budgets),     cmocka_unit_test(test_measure),
        cmocka_unit_test(test_allocator),       cmocka_unit_test(test_threaded_formulas),
        cmocka_unit_test(test_threaded_plans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
