/*
 * planner.c -- speed-adaptive partial compression planner (dc_planner.h).
 *
 * The latency model, the policies and the proofs of the greedy's guarantees
 * are in docs/planner.md; comments here refer to its sections.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

/* Relative tolerance on latency budgets (docs/planner.md, "Budgets"). */
#define PLAN_REL_TOL 1e-9
/* 2^53: total raw bytes stay exact in a double below this. */
#define PLAN_MAX_TOTAL ((uint64_t)1 << 53)

typedef struct pchunk {
    uint64_t raw, comp;
    uint32_t group;
    uint8_t tier;
} pchunk;

struct dc_planner {
    dc_alloc alloc;
    size_t nbuf;           /* decode buffers counted in memory */
    size_t nread;          /* read buffers counted when chunks stream */
    size_t threads, cores; /* DC_LATENCY_THREADED */
    pchunk *chunks;
    size_t n, cap;
    uint64_t total_raw;
    double bw[DC_TIER_COUNT]; /* 0 = not set */
    double compute;           /* 0 = not set */
    double read_cost;         /* core-seconds per byte read from storage (threaded) */
    size_t ncurve;            /* 0 = no curve */
    size_t curve_size[DC_PLANNER_MAX_CURVE_POINTS];
    double curve_bps[DC_PLANNER_MAX_CURVE_POINTS];
};

/* ========================================================================== */
/*                              Building the model                            */
/* ========================================================================== */

dc_status dc_planner_create(const dc_planner_options *options, dc_planner **out) {
    if (!out) return DC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    dc_planner_options o;
    dc_status st = dc_copy_options(&o, sizeof(o), options);
    if (st != DC_OK) return st;
    dc_alloc a;
    if ((st = dc_alloc_init(&a, o.allocator)) != DC_OK) return st;
    if (o.decode_buffers > DC_PLANNER_MAX_DECODE_BUFFERS ||
        o.read_buffers > DC_PLANNER_MAX_READ_BUFFERS)
        return DC_ERR_RANGE;
    dc_planner *p = (dc_planner *)dc_calloc(&a, 1, sizeof(*p));
    if (!p) return DC_ERR_OUT_OF_MEMORY;
    p->alloc = a;
    p->nbuf = o.decode_buffers == 0 ? 1 : o.decode_buffers;
    p->nread = o.read_buffers == 0 ? p->nbuf : o.read_buffers;
    p->threads = o.decode_threads == 0 ? 1 : o.decode_threads;
    p->cores = o.cores == 0 ? p->threads + 1 : o.cores;
    *out = p;
    return DC_OK;
}

void dc_planner_free(dc_planner *p) {
    if (!p) return;
    dc_alloc a = p->alloc;
    dc_free(&a, p->chunks);
    dc_free(&a, p);
}

dc_status dc_planner_add_chunk(dc_planner *p, uint64_t raw_size, uint64_t compressed_size,
                               dc_tier tier, uint32_t group_id, size_t *index) {
    if (!p || (unsigned)tier >= DC_TIER_COUNT) return DC_ERR_INVALID_ARGUMENT;
    if (raw_size == 0 || compressed_size == 0) return DC_ERR_RANGE;
    if (raw_size >= PLAN_MAX_TOTAL || compressed_size >= PLAN_MAX_TOTAL ||
        p->total_raw + raw_size >= PLAN_MAX_TOTAL)
        return DC_ERR_RANGE;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        if (ncap > SIZE_MAX / sizeof(pchunk)) return DC_ERR_OUT_OF_MEMORY;
        pchunk *nc = (pchunk *)dc_malloc(&p->alloc, ncap * sizeof(pchunk));
        if (!nc) return DC_ERR_OUT_OF_MEMORY;
        if (p->n) memcpy(nc, p->chunks, p->n * sizeof(pchunk));
        dc_free(&p->alloc, p->chunks);
        p->chunks = nc;
        p->cap = ncap;
    }
    pchunk *c = &p->chunks[p->n];
    c->raw = raw_size;
    c->comp = compressed_size;
    c->group = group_id;
    c->tier = (uint8_t)tier;
    if (index) *index = p->n;
    p->n++;
    p->total_raw += raw_size;
    return DC_OK;
}

size_t dc_planner_chunk_count(const dc_planner *p) {
    return p ? p->n : 0;
}

dc_status dc_planner_get_chunk(const dc_planner *p, size_t index, uint64_t *raw_size,
                               uint64_t *compressed_size, dc_tier *tier, uint32_t *group_id) {
    if (!p) return DC_ERR_INVALID_ARGUMENT;
    if (index >= p->n) return DC_ERR_RANGE;
    const pchunk *c = &p->chunks[index];
    if (raw_size) *raw_size = c->raw;
    if (compressed_size) *compressed_size = c->comp;
    if (tier) *tier = (dc_tier)c->tier;
    if (group_id) *group_id = c->group;
    return DC_OK;
}

static dc_status check_rate(double v) {
    if (!isfinite(v)) return DC_ERR_NOT_FINITE;
    if (!(v > 0.0)) return DC_ERR_RANGE;
    return DC_OK;
}

dc_status dc_planner_set_tier_bandwidth(dc_planner *p, dc_tier tier, double bytes_per_s) {
    if (!p || (unsigned)tier >= DC_TIER_COUNT) return DC_ERR_INVALID_ARGUMENT;
    dc_status st = check_rate(bytes_per_s);
    if (st != DC_OK) return st;
    p->bw[tier] = bytes_per_s;
    return DC_OK;
}

dc_status dc_planner_set_compute_rate(dc_planner *p, double bytes_per_s) {
    if (!p) return DC_ERR_INVALID_ARGUMENT;
    dc_status st = check_rate(bytes_per_s);
    if (st != DC_OK) return st;
    p->compute = bytes_per_s;
    return DC_OK;
}

dc_status dc_planner_set_read_cost(dc_planner *p, double seconds_per_byte) {
    if (!p) return DC_ERR_INVALID_ARGUMENT;
    if (!isfinite(seconds_per_byte)) return DC_ERR_NOT_FINITE;
    if (seconds_per_byte < 0.0) return DC_ERR_RANGE;
    p->read_cost = seconds_per_byte;
    return DC_OK;
}

dc_status dc_planner_set_decode_curve(dc_planner *p, const size_t *sizes, const double *bytes_per_s,
                                      size_t n) {
    if (!p || !sizes || !bytes_per_s) return DC_ERR_INVALID_ARGUMENT;
    if (n == 0 || n > DC_PLANNER_MAX_CURVE_POINTS) return DC_ERR_RANGE;
    for (size_t k = 0; k < n; k++) {
        if (sizes[k] == 0) return DC_ERR_RANGE;
        if (k > 0 && sizes[k] <= sizes[k - 1]) return DC_ERR_INVALID_ARGUMENT;
        dc_status st = check_rate(bytes_per_s[k]);
        if (st != DC_OK) return st;
    }
    memcpy(p->curve_size, sizes, n * sizeof(size_t));
    memcpy(p->curve_bps, bytes_per_s, n * sizeof(double));
    p->ncurve = n;
    return DC_OK;
}

dc_status dc_planner_get_decode_curve(const dc_planner *p, size_t *sizes, double *bytes_per_s,
                                      size_t capacity, size_t *n) {
    if (!p || !n || (capacity > 0 && (!sizes || !bytes_per_s))) return DC_ERR_INVALID_ARGUMENT;
    size_t m = p->ncurve < capacity ? p->ncurve : capacity;
    if (m) {
        memcpy(sizes, p->curve_size, m * sizeof(size_t));
        memcpy(bytes_per_s, p->curve_bps, m * sizeof(double));
    }
    *n = p->ncurve;
    return DC_OK;
}

/* ========================================================================== */
/*                           Measuring the decode curve                       */
/* ========================================================================== */

static double now_seconds(void) {
    return (double)dc_os_clock_ns() * 1e-9;
}

/* Laplace(0, 4.2) rounded to int8, clamped to +-127 (as tests/gen.h). */
static void synth_sample(uint8_t *dst, size_t n) {
    uint64_t s = 0x5EEDu;
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        double u = ((double)(z >> 11) + 0.5) * (1.0 / 9007199254740992.0) - 0.5;
        double v = -4.2 * (u < 0 ? -1.0 : 1.0) * log(1.0 - 2.0 * fabs(u));
        long q = lround(v);
        if (q > 127) q = 127;
        if (q < -127) q = -127;
        dst[i] = (uint8_t)(int8_t)q;
    }
}

static const size_t default_sizes[] = {4096, 16384, 65536, 262144, 1048576};

dc_status dc_planner_measure_decode(dc_planner *p, const void *sample, size_t sample_size,
                                    const dc_planner_measure_options *options) {
    if (!p || (!sample && sample_size > 0)) return DC_ERR_INVALID_ARGUMENT;
    dc_planner_measure_options o;
    dc_status st = dc_copy_options(&o, sizeof(o), options);
    if (st != DC_OK) return st;
    if (isnan(o.min_seconds)) return DC_ERR_NOT_FINITE;
    if (o.min_seconds == 0.0) o.min_seconds = 0.02;
    if (!(o.min_seconds > 0.0 && o.min_seconds <= 10.0)) return DC_ERR_RANGE;
    const int synthetic = sample == NULL;

    size_t sizes[DC_PLANNER_MAX_CURVE_POINTS];
    size_t ns = 0;
    if (o.sizes) {
        if (o.n_sizes == 0 || o.n_sizes > DC_PLANNER_MAX_CURVE_POINTS) return DC_ERR_RANGE;
        for (size_t k = 0; k < o.n_sizes; k++) {
            size_t s = o.sizes[k];
            if (s < DC_CHUNK_SIZE_MIN || s > DC_CHUNK_SIZE_MAX) return DC_ERR_RANGE;
            if (!synthetic && s > sample_size) return DC_ERR_RANGE;
            if (k > 0 && s <= o.sizes[k - 1]) return DC_ERR_INVALID_ARGUMENT;
            sizes[ns++] = s;
        }
    } else {
        for (size_t k = 0; k < sizeof(default_sizes) / sizeof(default_sizes[0]); k++)
            if (synthetic || default_sizes[k] <= sample_size) sizes[ns++] = default_sizes[k];
        if (ns == 0) return DC_ERR_RANGE;
    }
    size_t maxs = sizes[ns - 1];

    dc_allocator user_alloc = {sizeof(dc_allocator), p->alloc.alloc_fn, p->alloc.free_fn,
                               p->alloc.opaque};
    dc_compress_options co;
    memset(&co, 0, sizeof(co));
    co.struct_size = sizeof(co);
    co.codec = o.codec;
    co.allocator = &user_alloc;
    dc_decompress_options dop;
    memset(&dop, 0, sizeof(dop));
    dop.struct_size = sizeof(dop);
    dop.simd = o.simd;
    dop.allocator = &user_alloc;

    dc_cctx *cctx = NULL;
    dc_dctx *dctx = NULL;
    uint8_t *synth = NULL, *cbuf = NULL, *obuf = NULL;
    double bps[DC_PLANNER_MAX_CURVE_POINTS];
    size_t bound = dc_compress_bound(maxs);
    if ((st = dc_cctx_create(&co, &cctx)) != DC_OK) goto done;
    if ((st = dc_dctx_create(&dop, &dctx)) != DC_OK) goto done;
    if (synthetic) {
        synth = (uint8_t *)dc_malloc(&p->alloc, maxs);
        if (!synth) {
            st = DC_ERR_OUT_OF_MEMORY;
            goto done;
        }
        synth_sample(synth, maxs);
        sample = synth;
    }
    cbuf = (uint8_t *)dc_malloc(&p->alloc, bound);
    obuf = (uint8_t *)dc_malloc(&p->alloc, maxs);
    if (!cbuf || !obuf) {
        st = DC_ERR_OUT_OF_MEMORY;
        goto done;
    }
    for (size_t k = 0; k < ns; k++) {
        size_t s = sizes[k], csize = 0, written = 0;
        if ((st = dc_chunk_compress(cctx, sample, s, cbuf, bound, &csize)) != DC_OK) goto done;
        double t0 = now_seconds(), el = 0.0;
        unsigned long reps = 0;
        do {
            st = dc_chunk_decompress(dctx, cbuf, csize, obuf, maxs, &written);
            if (st != DC_OK) goto done;
            if (written != s) {
                st = DC_ERR_SIZE_MISMATCH;
                goto done;
            }
            reps++;
            el = now_seconds() - t0;
        } while (el < o.min_seconds || reps < 3);
        bps[k] = (double)s * (double)reps / el;
        if (!isfinite(bps[k]) || !(bps[k] > 0.0)) {
            st = DC_ERR_NOT_FINITE; /* only with a broken clock */
            goto done;
        }
    }
    st = dc_planner_set_decode_curve(p, sizes, bps, ns);
done:
    dc_free(&p->alloc, synth);
    dc_free(&p->alloc, cbuf);
    dc_free(&p->alloc, obuf);
    dc_cctx_free(cctx);
    dc_dctx_free(dctx);
    return st;
}

/* ========================================================================== */
/*                               The latency model                            */
/* ========================================================================== */

/* D(S): linear in log(size) between curve points, clamped outside. */
static double decode_rate(const dc_planner *p, uint64_t s) {
    size_t n = p->ncurve;
    if ((double)s <= (double)p->curve_size[0]) return p->curve_bps[0];
    if ((double)s >= (double)p->curve_size[n - 1]) return p->curve_bps[n - 1];
    size_t k = 1;
    while ((double)p->curve_size[k] < (double)s)
        k++;
    double x0 = log((double)p->curve_size[k - 1]), x1 = log((double)p->curve_size[k]);
    double t = (log((double)s) - x0) / (x1 - x0);
    return p->curve_bps[k - 1] + t * (p->curve_bps[k] - p->curve_bps[k - 1]);
}

static double max3(double a, double b, double c) {
    double m = a > b ? a : b;
    return m > c ? m : c;
}

/* Cost of chunk c kept raw (*raw) and kept compressed (*cmp) in `mode`
 * (sequential or pipelined). */
static void chunk_costs(const dc_planner *p, const pchunk *c, dc_latency_mode mode, int need_cmp,
                        double *raw, double *cmp) {
    double b = p->bw[c->tier], s = (double)c->raw;
    double compute = s / p->compute;
    double load_raw = s / b;
    if (mode == DC_LATENCY_SEQUENTIAL)
        *raw = load_raw + compute;
    else
        *raw = load_raw > compute ? load_raw : compute;
    if (!need_cmp) return;
    double load_cmp = (double)c->comp / b;
    double decode = s / decode_rate(p, c->raw);
    if (mode == DC_LATENCY_SEQUENTIAL)
        *cmp = load_cmp + decode + compute;
    else
        *cmp = max3(load_cmp, decode, compute);
}

/* A streamed chunk is decoded when it is stored smaller than raw (else copied). */
static int stream_decodes(const pchunk *c) {
    return c->comp < c->raw;
}

/* Everything the model needs is set (the curve only if need_curve, the
 * storage bandwidth only if need_storage). */
static dc_status check_model(const dc_planner *p, int need_curve, int need_storage) {
    if (p->n > 0 && !(p->compute > 0.0)) return DC_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < p->n; i++)
        if (!(p->bw[p->chunks[i].tier] > 0.0)) return DC_ERR_INVALID_ARGUMENT;
    if (need_curve && p->n > 0 && p->ncurve == 0) return DC_ERR_INVALID_ARGUMENT;
    if (need_storage && !(p->bw[DC_TIER_STORAGE] > 0.0)) return DC_ERR_INVALID_ARGUMENT;
    return DC_OK;
}

/* Alignment of read buffers: a streamed chunk is read into a buffer of its
 * stored size rounded up to this, plus this (room to align an O_DIRECT read
 * that starts inside a block). */
#define PLAN_READ_ALIGN 4096u

/* What a plan costs (docs/planner.md, "The latency model", "Threaded engines"). */
typedef struct pred {
    double lat;
    uint64_t mem, buf, rbuf; /* resident bytes in all; decode and read buffers' part */
    size_t ncomp, nstream;
} pred;

/* Latency and memory of a decision vector (validated); dec NULL = all raw. */
static void predict_full(const dc_planner *p, const uint8_t *dec, dc_latency_mode mode, pred *o) {
    double l = 0.0, io = 0.0, de = 0.0, cp = 0.0, rd = 0.0;
    uint64_t m = 0, maxs = 0, maxr = 0;
    size_t nc = 0, ns = 0;
    for (size_t i = 0; i < p->n; i++) {
        const pchunk *c = &p->chunks[i];
        const int z = dec ? dec[i] : DC_PLACE_RAW;
        const double s = (double)c->raw, b = p->bw[c->tier], compute = s / p->compute;
        if (z != DC_PLACE_RAW && c->raw > maxs) maxs = c->raw;
        if (z == DC_PLACE_RAW) {
            m += c->raw;
            if (mode == DC_LATENCY_THREADED) {
                cp += fmax(s / b, compute);
            } else {
                double r, unused;
                chunk_costs(p, c, mode, 0, &r, &unused);
                l += r;
            }
        } else if (z == DC_PLACE_COMPRESSED) {
            m += c->comp;
            nc++;
            if (mode == DC_LATENCY_THREADED) {
                de += (double)c->comp / b + s / decode_rate(p, c->raw);
                cp += compute;
            } else {
                double r, a;
                chunk_costs(p, c, mode, 1, &r, &a);
                l += a;
            }
        } else { /* streamed: read as stored from storage, then decoded or copied */
            ns++;
            if (c->comp > maxr) maxr = c->comp;
            const double load = (double)c->comp / p->bw[DC_TIER_STORAGE];
            const double decode = stream_decodes(c) ? s / decode_rate(p, c->raw) : s / b;
            if (mode == DC_LATENCY_THREADED) {
                io += load;
                rd += (double)c->comp;
                de += decode;
                cp += compute;
            } else if (mode == DC_LATENCY_SEQUENTIAL) {
                l += load + decode + compute;
            } else {
                l += max3(load, decode, compute);
            }
        }
    }
    if (mode == DC_LATENCY_THREADED)
        l = fmax(fmax(io, de / (double)p->threads),
                 fmax(cp, (de + cp + p->read_cost * rd) / (double)p->cores));
    o->lat = l;
    o->buf = (uint64_t)p->nbuf * maxs;
    o->rbuf = ns ? (uint64_t)p->nread * ((maxr + PLAN_READ_ALIGN - 1) / PLAN_READ_ALIGN + 1) *
                       PLAN_READ_ALIGN
                 : 0;
    o->mem = m + o->buf + o->rbuf;
    o->ncomp = nc;
    o->nstream = ns;
}

static void predict(const dc_planner *p, const uint8_t *dec, dc_latency_mode mode, double *lat,
                    uint64_t *mem, uint64_t *bufbytes, size_t *ncomp) {
    pred o;
    predict_full(p, dec, mode, &o);
    if (lat) *lat = o.lat;
    if (mem) *mem = o.mem;
    if (bufbytes) *bufbytes = o.buf;
    if (ncomp) *ncomp = o.ncomp;
}

static int known_mode(dc_latency_mode mode) {
    return mode == DC_LATENCY_SEQUENTIAL || mode == DC_LATENCY_PIPELINED ||
           mode == DC_LATENCY_THREADED;
}

dc_status dc_planner_predict(const dc_planner *p, const uint8_t *decisions, dc_latency_mode mode,
                             double *latency_s, uint64_t *memory_bytes) {
    if (!p) return DC_ERR_INVALID_ARGUMENT;
    if (!known_mode(mode)) return DC_ERR_INVALID_ARGUMENT;
    int decodes = 0, streams = 0;
    if (decisions)
        for (size_t i = 0; i < p->n; i++) {
            if (decisions[i] > DC_PLACE_STREAMED) return DC_ERR_INVALID_ARGUMENT;
            decodes |= decisions[i] == DC_PLACE_COMPRESSED ||
                       (decisions[i] == DC_PLACE_STREAMED && stream_decodes(&p->chunks[i]));
            streams |= decisions[i] == DC_PLACE_STREAMED;
        }
    dc_status st = check_model(p, decodes, streams);
    if (st != DC_OK) return st;
    predict(p, decisions, mode, latency_s, memory_bytes, NULL, NULL);
    return DC_OK;
}

/* ========================================================================== */
/*                       Threaded plans (docs/planner.md)                     */
/* ========================================================================== */

/* Resident bytes of chunk c in place z. */
static uint64_t place_mem(const pchunk *c, uint8_t z) {
    return z == DC_PLACE_RAW ? c->raw : z == DC_PLACE_COMPRESSED ? c->comp : 0;
}

/*
 * Moves chunks from place `from` to place `to` (only chunks stored smaller
 * than raw become DC_PLACE_COMPRESSED), spread evenly over the execution
 * order: each candidate's share of `budget` (extra resident bytes, as a
 * fraction of what moving all candidates would cost) accumulates and the
 * chunk moves when its share covers its cost (Bresenham). Returns the bytes
 * used (<= budget).
 */
static double spread(const dc_planner *p, uint8_t *dec, uint8_t from, uint8_t to, double budget) {
    double tot = 0.0;
    for (size_t i = 0; i < p->n; i++) {
        const pchunk *c = &p->chunks[i];
        if (dec[i] != from || (to == DC_PLACE_COMPRESSED && !stream_decodes(c))) continue;
        tot += (double)place_mem(c, to) - (double)place_mem(c, from);
    }
    if (!(tot > 0.0) || !(budget > 0.0)) return 0.0;
    const double frac = budget >= tot ? 1.0 : budget / tot;
    double acc = 0.0, used = 0.0;
    for (size_t i = 0; i < p->n; i++) {
        const pchunk *c = &p->chunks[i];
        if (dec[i] != from || (to == DC_PLACE_COMPRESSED && !stream_decodes(c))) continue;
        const double w = (double)place_mem(c, to) - (double)place_mem(c, from);
        if (w <= 0.0) {
            dec[i] = to;
            continue;
        }
        acc += frac * w;
        if (acc >= w * (1.0 - 1e-12) && used + w <= budget) {
            dec[i] = to;
            used += w;
            acc -= w;
        }
    }
    return used;
}

/*
 * One candidate plan for a memory budget of `avail` bytes of chunks (the
 * buffers excluded). Without streaming: every chunk stored smaller than raw
 * compressed, then as many raw as fit. With streaming: everything streamed,
 * then the share theta of avail spent on raw chunks and the rest on
 * compressed ones.
 */
static void threaded_candidate(const dc_planner *p, int stream, double theta, double avail,
                               uint8_t *dec) {
    double base = 0.0;
    for (size_t i = 0; i < p->n; i++) {
        const pchunk *c = &p->chunks[i];
        dec[i] = stream              ? DC_PLACE_STREAMED
                 : stream_decodes(c) ? DC_PLACE_COMPRESSED
                                     : DC_PLACE_RAW;
        base += (double)place_mem(c, dec[i]);
    }
    if (!stream) {
        spread(p, dec, DC_PLACE_COMPRESSED, DC_PLACE_RAW, avail - base);
        return;
    }
    double used = spread(p, dec, DC_PLACE_STREAMED, DC_PLACE_RAW, theta * avail);
    spread(p, dec, DC_PLACE_STREAMED, DC_PLACE_COMPRESSED, avail - used);
}

/* The decode (and, with streaming, read) buffers at their largest. */
static double buffers_max(const dc_planner *p, int stream) {
    uint64_t maxs = 0, maxc = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (p->chunks[i].raw > maxs) maxs = p->chunks[i].raw;
        if (p->chunks[i].comp > maxc) maxc = p->chunks[i].comp;
    }
    double bufs = (double)p->nbuf * (double)maxs;
    if (stream)
        bufs += (double)p->nread *
                (double)(((maxc + PLAN_READ_ALIGN - 1) / PLAN_READ_ALIGN + 1) * PLAN_READ_ALIGN);
    return bufs;
}

/* The least-latency threaded plan within mb bytes, into dec (work: scratch
 * of 2 n bytes with streaming, n without); 0 if none fits. */
static int threaded_memory(const dc_planner *p, int stream, double mb, uint8_t *dec, uint8_t *work,
                           pred *best) {
    /* the buffers at their largest, then corrected from the exact figure */
    const double bufs = buffers_max(p, stream);
    int found = 0;
    double best_theta = 0.0;
    const int coarse = stream ? 32 : 0, fine = stream ? 16 : 0;
    for (int pass = 0; pass < 2; pass++) {
        const int steps = pass == 0 ? coarse : fine;
        const double lo = pass == 0 ? 0.0 : best_theta - 1.0 / 32,
                     step = pass == 0 ? 1.0 / 32 : 1.0 / 256;
        if (pass == 1 && (!found || !stream)) break;
        for (int k = 0; k <= steps; k++) {
            const double theta = lo + step * k;
            if (theta < 0.0 || theta > 1.0) continue;
            double avail = mb - bufs;
            pred o;
            for (int tries = 0; tries < 4; tries++) {
                threaded_candidate(p, stream, theta, avail, work);
                predict_full(p, work, DC_LATENCY_THREADED, &o);
                if ((double)o.mem <= mb) break;
                avail -= (double)o.mem - mb;
            }
            if ((double)o.mem > mb) continue;
            if (!found || o.lat < best->lat || (o.lat == best->lat && o.mem < best->mem)) {
                found = 1;
                *best = o;
                best_theta = theta;
                memcpy(dec, work, p->n);
            }
        }
    }
    if (stream) { /* nothing streamed (no read buffers) may be better, or all that fits */
        pred o;
        if (threaded_memory(p, 0, mb, work + p->n, work, &o) &&
            (!found || o.lat < best->lat || (o.lat == best->lat && o.mem < best->mem))) {
            found = 1;
            *best = o;
            memcpy(dec, work + p->n, p->n);
        }
    }
    return found;
}

/* ========================================================================== */
/*                                   Planning                                 */
/* ========================================================================== */

/* A chunk whose compression saves memory (w = S - Sc > 0). */
typedef struct item {
    double delta;  /* added latency when compressed (cost_cmp - cost_raw) */
    double dens;   /* w / delta (paid items only) */
    uint64_t w;    /* saved bytes */
    uint64_t size; /* raw size S (decides the decode buffer) */
    size_t idx;    /* chunk index */
} item;

static int cmp_dens(const void *a, const void *b) {
    const item *x = (const item *)a, *y = (const item *)b;
    if (x->dens > y->dens) return -1;
    if (x->dens < y->dens) return 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx ? 1 : 0);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

typedef struct plan_ctx {
    const item *freei; /* delta <= 0: compressing lowers memory and latency */
    size_t nfree;
    const item *paid; /* delta > 0, sorted by density, descending */
    size_t npaid;
    double lraw;
} plan_ctx;

/* Free items with size <= M: count their savings and added (<= 0) latency;
 * mark them in dec if not NULL. */
static void take_free(const plan_ctx *x, uint64_t M, uint64_t *wsum, double *dsum, uint8_t *dec) {
    uint64_t w = 0;
    double d = 0.0;
    for (size_t i = 0; i < x->nfree; i++)
        if (x->freei[i].size <= M) {
            w += x->freei[i].w;
            d += x->freei[i].delta;
            if (dec) dec[x->freei[i].idx] = 1;
        }
    *wsum = w;
    *dsum = d;
}

/*
 * Latency budget, buffer cap M, latency slack `cap` (>= 0) for paid items:
 * greedy by density with skipping, or the best single item if it saves
 * more (docs/planner.md, "Latency budget"). Returns the saving; *lp gets the
 * fractional bound. Marks dec if not NULL.
 */
static uint64_t solve_latency(const plan_ctx *x, uint64_t M, double cap, double *lp, uint8_t *dec) {
    uint64_t gval = 0, sval = 0;
    size_t sbest = SIZE_MAX;
    double used = 0.0, lused = 0.0, lval = 0.0;
    int lp_open = 1;
    for (size_t i = 0; i < x->npaid; i++) {
        const item *it = &x->paid[i];
        if (it->size > M || it->delta > cap) continue;
        if (used + it->delta <= cap) {
            used += it->delta;
            gval += it->w;
        }
        if (it->w > sval) {
            sval = it->w;
            sbest = i;
        }
        if (lp_open) {
            if (lused + it->delta <= cap) {
                lused += it->delta;
                lval += (double)it->w;
            } else {
                lval += (double)it->w * ((cap - lused) / it->delta);
                lp_open = 0;
            }
        }
    }
    *lp = lval;
    int single = sval > gval;
    if (dec) {
        if (single) {
            dec[x->paid[sbest].idx] = 1;
        } else {
            used = 0.0;
            for (size_t i = 0; i < x->npaid; i++) {
                const item *it = &x->paid[i];
                if (it->size > M || it->delta > cap) continue;
                if (used + it->delta <= cap) {
                    used += it->delta;
                    dec[it->idx] = 1;
                }
            }
        }
    }
    return single ? sval : gval;
}

/*
 * Memory budget, buffer cap M, bytes still to save `need` (> 0) with paid
 * items: the density prefix up to the critical item k, completed by the
 * cheapest item at or after k that alone covers the rest (docs/planner.md,
 * "Memory budget"). Returns 0 if the items with size <= M cannot save
 * `need`; else 1 with *cost (added latency) and *lp (fractional bound).
 */
static int solve_memory(const plan_ctx *x, uint64_t M, uint64_t need, double *cost, double *lp,
                        uint8_t *dec) {
    uint64_t got = 0;
    double pre = 0.0;
    size_t k = SIZE_MAX;
    for (size_t i = 0; i < x->npaid; i++) {
        const item *it = &x->paid[i];
        if (it->size > M) continue;
        if (got + it->w >= need) {
            k = i;
            break;
        }
        got += it->w;
        pre += it->delta;
    }
    if (k == SIZE_MAX) return 0;
    uint64_t rest = need - got;
    size_t j = k;
    for (size_t i = k + 1; i < x->npaid; i++) {
        const item *it = &x->paid[i];
        if (it->size <= M && it->w >= rest && it->delta < x->paid[j].delta) j = i;
    }
    *cost = pre + x->paid[j].delta;
    *lp = pre + x->paid[k].delta * ((double)rest / (double)x->paid[k].w);
    if (dec) {
        for (size_t i = 0; i < k; i++)
            if (x->paid[i].size <= M) dec[x->paid[i].idx] = 1;
        dec[x->paid[j].idx] = 1;
    }
    return 1;
}

static dc_status check_budget(double b) {
    if (!isfinite(b)) return DC_ERR_NOT_FINITE;
    if (!(b > 0.0)) return DC_ERR_RANGE;
    return DC_OK;
}

/* Writes the figures of plan dec into result (if not NULL). */
static void fill_result(const dc_planner *p, dc_latency_mode mode, const uint8_t *dec,
                        double budget, double bound, dc_plan_result *result) {
    if (!result) return;
    dc_plan_result l;
    memset(&l, 0, sizeof(l));
    l.struct_size = result->struct_size;
    pred o;
    predict_full(p, dec, mode, &o);
    l.latency_s = o.lat;
    l.memory_bytes = o.mem;
    l.decode_buffer_bytes = o.buf;
    l.compressed_chunks = o.ncomp;
    l.streamed_chunks = o.nstream;
    l.read_buffer_bytes = o.rbuf;
    predict_full(p, NULL, mode, &o);
    l.raw_latency_s = o.lat;
    l.raw_memory_bytes = p->total_raw;
    l.budget = budget;
    l.bound = bound;
    memcpy(result, &l, result->struct_size < sizeof(l) ? result->struct_size : sizeof(l));
}

/* The budget policies in DC_LATENCY_THREADED mode (docs/planner.md,
 * "Threaded engines"); request validated. */
static dc_status plan_threaded(const dc_planner *p, const dc_plan_request *rq,
                               dc_plan_result *result, uint8_t *decisions) {
    const size_t n = p->n;
    const int stream = rq->allow_streaming != 0;
    pred raw, o;
    predict_full(p, NULL, DC_LATENCY_THREADED, &raw);
    double budget;
    if (n == 0) {
        budget = rq->policy == DC_PLAN_MEMORY_BYTES ? floor(rq->budget) : rq->budget;
        if (rq->policy == DC_PLAN_LATENCY_FACTOR) budget = 0.0;
        fill_result(p, DC_LATENCY_THREADED, decisions, budget, 0.0, result);
        return DC_OK;
    }
    uint8_t *work = (uint8_t *)dc_malloc(&p->alloc, 3 * n); /* scratch (2 n), a plan (n) */
    if (!work) return DC_ERR_OUT_OF_MEMORY;
    uint8_t *dec = work + 2 * n;
    int found;
    if (rq->policy == DC_PLAN_MEMORY_BYTES) {
        budget = floor(rq->budget);
        found = threaded_memory(p, stream, budget, decisions, work, &o);
    } else {
        budget = rq->policy == DC_PLAN_LATENCY_FACTOR ? rq->budget * raw.lat : rq->budget;
        const double lim = budget + PLAN_REL_TOL * (budget > raw.lat ? budget : raw.lat);
        /* the least memory whose best plan meets the budget: bisection on
         * the memory budget between the smallest plan and all raw */
        /* all raw plus every buffer: room for any plan */
        double hi = (double)raw.mem + buffers_max(p, stream), lo = 0.0;
        found = threaded_memory(p, stream, hi, dec, work, &o) && o.lat <= lim;
        if (found) {
            memcpy(decisions, dec, n);
            for (int it = 0; it < 48 && hi - lo > 1.0; it++) {
                const double mid = floor(0.5 * (lo + hi));
                if (threaded_memory(p, stream, mid, dec, work, &o) && o.lat <= lim) {
                    hi = mid;
                    memcpy(decisions, dec, n);
                } else {
                    lo = mid;
                }
            }
        }
    }
    dc_free(&p->alloc, work);
    if (!found) return DC_ERR_INFEASIBLE;
    fill_result(p, DC_LATENCY_THREADED, decisions, budget, 0.0, result);
    return DC_OK;
}

dc_status dc_planner_plan(const dc_planner *p, const dc_plan_request *request,
                          dc_plan_result *result, uint8_t *decisions) {
    if (!p || !request) return DC_ERR_INVALID_ARGUMENT;
    dc_plan_request rq;
    dc_status st = dc_copy_options(&rq, sizeof(rq), request);
    if (st != DC_OK) return st;
    if (result && result->struct_size < sizeof(size_t)) return DC_ERR_INVALID_ARGUMENT;
    if (rq.policy != DC_PLAN_EVERY_N && rq.policy != DC_PLAN_LATENCY_FACTOR &&
        rq.policy != DC_PLAN_LATENCY_SECONDS && rq.policy != DC_PLAN_MEMORY_BYTES)
        return DC_ERR_INVALID_ARGUMENT;
    if (!known_mode(rq.mode)) return DC_ERR_INVALID_ARGUMENT;
    if (rq.allow_streaming && rq.mode != DC_LATENCY_THREADED) return DC_ERR_INVALID_ARGUMENT;
    if (rq.policy != DC_PLAN_EVERY_N && (st = check_budget(rq.budget)) != DC_OK) return st;
    if (p->n > 0 && !decisions) return DC_ERR_INVALID_ARGUMENT;
    if ((st = check_model(p, 1, rq.allow_streaming)) != DC_OK) return st;
    if (rq.mode == DC_LATENCY_THREADED && rq.policy != DC_PLAN_EVERY_N)
        return plan_threaded(p, &rq, result, decisions);

    const size_t n = p->n;
    double lraw = 0.0;
    predict(p, NULL, rq.mode, &lraw, NULL, NULL, NULL);
    double budget = 0.0;

    if (rq.policy == DC_PLAN_EVERY_N) {
        size_t N = rq.every_n ? rq.every_n : 5;
        for (size_t i = 0; i < n; i++)
            decisions[i] = (uint8_t)(i % N == N - 1);
    } else if (n > 0) {
        /* Items, the decode-buffer candidates M, and the solve per M. */
        const dc_alloc *a = &p->alloc;
        item *items = (item *)dc_malloc(a, n * sizeof(item));
        uint64_t *caps = (uint64_t *)dc_malloc(a, (n + 1) * sizeof(uint64_t));
        uint8_t *work = (uint8_t *)dc_malloc(a, n);
        if (!items || !caps || !work) {
            dc_free(a, items);
            dc_free(a, caps);
            dc_free(a, work);
            return DC_ERR_OUT_OF_MEMORY;
        }
        size_t nfree = 0, npaid = 0;
        /* free items fill items[] from the back, paid ones from the front */
        for (size_t i = 0; i < n; i++) {
            const pchunk *c = &p->chunks[i];
            if (c->comp >= c->raw) continue; /* saves nothing: never compressed */
            double r, cm;
            chunk_costs(p, c, rq.mode, 1, &r, &cm);
            item it;
            it.delta = cm - r;
            it.w = c->raw - c->comp;
            it.size = c->raw;
            it.idx = i;
            it.dens = it.delta > 0.0 ? (double)it.w / it.delta : 0.0;
            if (it.delta > 0.0)
                items[npaid++] = it;
            else
                items[n - 1 - nfree++] = it;
        }
        qsort(items, npaid, sizeof(item), cmp_dens);
        plan_ctx x = {items + n - nfree, nfree, items, npaid, lraw};
        size_t ncap = 0;
        caps[ncap++] = 0; /* M = 0: nothing compressed */
        for (size_t i = 0; i < npaid; i++)
            caps[ncap++] = items[i].size;
        for (size_t i = 0; i < nfree; i++)
            caps[ncap++] = x.freei[i].size;
        qsort(caps, ncap, sizeof(uint64_t), cmp_u64);
        size_t u = 0;
        for (size_t i = 0; i < ncap; i++)
            if (i == 0 || caps[i] != caps[u - 1]) caps[u++] = caps[i];
        ncap = u;

        const uint64_t nbuf = p->nbuf, total = p->total_raw;
        int found = 0;
        uint64_t best_M = 0, best_mem = 0;
        double best_lat = 0.0, bound = INFINITY;
        if (rq.policy != DC_PLAN_MEMORY_BYTES) {
            budget = rq.policy == DC_PLAN_LATENCY_FACTOR ? rq.budget * lraw : rq.budget;
            double lim = budget + PLAN_REL_TOL * (budget > lraw ? budget : lraw);
            for (size_t m = 0; m < ncap; m++) {
                uint64_t M = caps[m], wf;
                double df, lp = 0.0;
                take_free(&x, M, &wf, &df, NULL);
                double cap = lim - lraw - df;
                if (!(cap >= 0.0)) continue; /* even the fastest plan with this M is too slow */
                uint64_t val = solve_latency(&x, M, cap, &lp, NULL);
                uint64_t mem = total - wf - val + nbuf * M;
                double lb = (double)(total - wf) - lp + (double)(nbuf * M);
                if (lb < bound) bound = lb;
                if (!found || mem < best_mem) {
                    found = 1;
                    best_mem = mem;
                    best_M = M;
                }
            }
            if (found) {
                uint64_t wf;
                double df, lp;
                memset(work, 0, n);
                take_free(&x, best_M, &wf, &df, work);
                (void)solve_latency(&x, best_M, lim - lraw - df, &lp, work);
            }
        } else {
            budget = floor(rq.budget);
            uint64_t mb = budget >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)budget;
            for (size_t m = 0; m < ncap; m++) {
                uint64_t M = caps[m], wf, need = 0;
                double df, cost = 0.0, lp = 0.0;
                take_free(&x, M, &wf, &df, NULL);
                uint64_t base = total - wf + nbuf * M; /* memory before paid items */
                if (base > mb) {
                    need = base - mb;
                    if (!solve_memory(&x, M, need, &cost, &lp, NULL)) continue;
                }
                double lat = lraw + df + cost;
                double lb = lraw + df + lp;
                if (lb < bound) bound = lb;
                if (!found || lat < best_lat) {
                    found = 1;
                    best_lat = lat;
                    best_M = M;
                }
            }
            if (found) {
                uint64_t wf, need;
                double df, cost, lp;
                memset(work, 0, n);
                take_free(&x, best_M, &wf, &df, work);
                uint64_t base = total - wf + nbuf * best_M;
                if (base > mb) {
                    need = base - mb;
                    (void)solve_memory(&x, best_M, need, &cost, &lp, work);
                }
            }
        }
        if (found) memcpy(decisions, work, n);
        dc_free(a, items);
        dc_free(a, caps);
        dc_free(a, work);
        if (!found) return DC_ERR_INFEASIBLE;
        fill_result(p, rq.mode, decisions, budget, bound, result);
        return DC_OK;
    } else {
        budget = rq.policy == DC_PLAN_LATENCY_FACTOR ? 0.0 : rq.budget;
        if (rq.policy == DC_PLAN_MEMORY_BYTES) budget = floor(rq.budget);
    }

    /* EVERY_N, or no chunks. */
    fill_result(p, rq.mode, decisions, budget, 0.0, result);
    return DC_OK;
}
