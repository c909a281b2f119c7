/*
 * ans.c -- order-0 rANS with interleaved 32-bit states and 16-bit
 * renormalisation (docs/format.md, "ANS payload").
 *
 * Chunk format v2 (written): 12-bit probabilities and 4, 8, 16, 32 or 64
 * interleaved states; the decode table packs symbol, frequency and bias into
 * one 32-bit entry per slot, so a symbol costs one table lookup. Format v1
 * (13-bit probabilities, 32 states, a split table) is still decoded.
 * The chunk header's codec parameter packs the per-chunk choices
 * (dc_ans_param_valid): the precision P the frequency table is sent at,
 * scaled by 2^(B-P) on both sides (B = 12 or 13), and the number of states.
 * Small chunks save more table and state bytes than the coarser
 * probabilities cost.
 *
 * State invariant: x in [L, 2^32) with L = 2^16. Decoding symbol s from x:
 *   x' = freq[s] * (x >> B) + (x & (2^B - 1)) - cum[s]; if x' < L: x' = x' << 16 | next_word
 * At most one word per symbol, since x' >= 16 after a step. Symbol i of a
 * chunk belongs to state i % ns; words are stored in the order the decoder
 * consumes them. v1: after the last symbol every state is back to L, which
 * the decoder checks along with having consumed exactly the whole stream.
 * v2 (chunks of at least 2 ns symbols): the last two symbols of each state
 * are not coded; each state starts (in the encoder) at L + a * 256 + b and
 * the decoder takes a and b from its final states, which must lie in [L, 2L).
 *
 * Decode kernels (x86/ans_avx2.c, x86/ans_avx512.c) run the same recurrence
 * on 8 or 16 states per vector and stop before the stream tail; this file's
 * scalar code is the reference, a fast kernel of its own, and finishes what
 * the SIMD loops leave.
 */
#include "internal.h"

#include <math.h>
#include <stdatomic.h>

#define STATE_LOW DC_ANS_L

#if defined(__GNUC__)
#define DC_ANS_INLINE inline __attribute__((always_inline)) /* one copy per B */
#else
#define DC_ANS_INLINE inline
#endif
/* The encoder's and the scalar decoder's renormalisation selects are asm on
 * x86-64 and AArch64 (see decode2_scalar); DC_ANS_NO_ASM
 * (tests/test_aarch64.sh) builds the plain C instead. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(DC_ANS_NO_ASM)
#define DC_ANS_ASM_X86 1
typedef uint16_t __attribute__((may_alias)) dc_u16_alias;
#elif defined(__aarch64__) && defined(__GNUC__) && !defined(DC_ANS_NO_ASM)
#define DC_ANS_ASM_A64 1
#endif

/* --- histogram -------------------------------------------------------------- */

/* Eight partial histograms: a run of one symbol updates eight counters in
 * turn rather than four, so fewer increments wait on the store before them
 * (laplace with 60% zeros 2.9 -> 3.5 GB/s). */
void dc_histogram(const uint8_t *src, size_t n, uint32_t counts[256]) {
    uint32_t c[8][256];
    memset(c, 0, sizeof(c));
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        c[0][src[i]]++;
        c[1][src[i + 1]]++;
        c[2][src[i + 2]]++;
        c[3][src[i + 3]]++;
        c[4][src[i + 4]]++;
        c[5][src[i + 5]]++;
        c[6][src[i + 6]]++;
        c[7][src[i + 7]]++;
    }
    for (; i < n; i++)
        c[0][src[i]]++;
    for (int s = 0; s < 256; s++)
        counts[s] = c[0][s] + c[1][s] + c[2][s] + c[3][s] + c[4][s] + c[5][s] + c[6][s] + c[7][s];
}

/* --- frequency normalisation -------------------------------------------------- */

/*
 * Scales counts (total n, at least two symbols present) to frequencies that
 * sum to PROB_SCALE, every present symbol >= 1. Rounding is corrected one
 * unit at a time where it costs the least code length: removing a unit from
 * symbol s costs about c_s / (f_s - 1/2) bits, adding one gains c_s / (f_s + 1/2).
 */

/* Tournament tree over cost[256]: node 1 is the root, node 256 + s leaf s,
 * each inner node the winner of its two children. The winner is the lowest
 * (min) or highest (max) cost, the lower symbol on a tie: the symbol a linear
 * scan with a strict comparison finds, in 8 steps per update instead of 256. */
typedef struct cost_tree {
    const double *cost;
    int max;
    uint8_t node[256];
} cost_tree;

static inline unsigned tree_winner(const cost_tree *t, unsigned a, unsigned b) { /* a < b */
    return (t->max ? t->cost[b] > t->cost[a] : t->cost[b] < t->cost[a]) ? b : a;
}

static void tree_build(cost_tree *t) {
    for (unsigned v = 255; v >= 128; v--) /* parents of the leaves */
        t->node[v] = (uint8_t)tree_winner(t, 2 * v - 256, 2 * v + 1 - 256);
    for (unsigned v = 127; v >= 1; v--)
        t->node[v] = (uint8_t)tree_winner(t, t->node[2 * v], t->node[2 * v + 1]);
}

static void tree_update(cost_tree *t, unsigned s) { /* after cost[s] changed */
    unsigned v = (256 + s) >> 1;
    t->node[v] = (uint8_t)tree_winner(t, 2 * v - 256, 2 * v + 1 - 256);
    for (v >>= 1; v >= 1; v >>= 1)
        t->node[v] = (uint8_t)tree_winner(t, t->node[2 * v], t->node[2 * v + 1]);
}

static void normalize_freqs(const uint32_t counts[256], size_t n, uint32_t scale,
                            uint32_t freq[256]) {
    uint32_t sum = 0;
    for (int s = 0; s < 256; s++) {
        freq[s] = 0;
        if (counts[s] == 0) continue;
        /* (c * scale + n/2) / n, in double: both integers are exact (below
         * 2^53) and the rounded quotient cannot cross an integer (its error
         * is below 2^-39, the distance at least 1/n), so floor is exact */
        const uint64_t f = (uint64_t)(((double)counts[s] * scale + (double)(n / 2)) / (double)n);
        freq[s] = f == 0 ? 1u : (uint32_t)f;
        sum += freq[s];
    }
    /* cost[s]: bits lost by taking a unit from s (down) / gained by adding
     * one (up); only the symbol that changed needs its cost recomputed */
    double cost[256];
    cost_tree t = {cost, 0, {0}};
    if (sum > scale) {
        for (int s = 0; s < 256; s++)
            cost[s] = freq[s] > 1 ? (double)counts[s] / ((double)freq[s] - 0.5) : 1e300;
        tree_build(&t);
        while (sum > scale) {
            const unsigned best = t.node[1];
            freq[best]--;
            sum--;
            cost[best] = freq[best] > 1 ? (double)counts[best] / ((double)freq[best] - 0.5) : 1e300;
            tree_update(&t, best);
        }
    }
    if (sum < scale) {
        for (int s = 0; s < 256; s++)
            cost[s] = counts[s] ? (double)counts[s] / ((double)freq[s] + 0.5) : -1.0;
        t.max = 1;
        tree_build(&t);
        while (sum < scale) {
            const unsigned best = t.node[1];
            freq[best]++;
            sum++;
            cost[best] = (double)counts[best] / ((double)freq[best] + 0.5);
            tree_update(&t, best);
        }
    }
}

/* --- compact frequency table ------------------------------------------------- */
/*
 * 4 bits k, then for s = 0..255 the zigzag of freq[s] - freq[s-1] (freq[-1] = 0)
 * as an order-k Exp-Golomb code: q zero bits, a one bit, then q + k low bits
 * of (v + 2^k), where q = floor(log2(v + 2^k)) - k. Bits are packed LSB first;
 * the table ends at the next byte boundary.
 */

typedef struct bitwriter {
    uint8_t *p, *end;
    uint64_t acc;
    unsigned nbits;
    int overflow;
} bitwriter;

static void bw_put(bitwriter *w, uint32_t v, unsigned n) { /* n <= 32 */
    if (w->overflow) return;                               /* the result is discarded anyway */
    w->acc |= (uint64_t)v << w->nbits;
    w->nbits += n;
    while (w->nbits >= 8) {
        if (w->p == w->end) {
            w->overflow = 1;
            return;
        }
        *w->p++ = (uint8_t)w->acc;
        w->acc >>= 8;
        w->nbits -= 8;
    }
}

static unsigned floor_log2(uint32_t v) { /* v >= 1 */
#if defined(__GNUC__)
    return 31u - (unsigned)__builtin_clz(v);
#else
    unsigned r = 0;
    while (v >>= 1)
        r++;
    return r;
#endif
}

static uint32_t zigzag(int32_t d) {
    return d < 0 ? (uint32_t)(-d) * 2u - 1u : (uint32_t)d * 2u;
}

static void eg_put(bitwriter *w, uint32_t v, unsigned k) {
    uint32_t u = v + (1u << k);
    unsigned q = floor_log2(u) - k;
    bw_put(w, 1u << q, q + 1); /* q zeros then a one, LSB first */
    bw_put(w, u & ((1u << (q + k)) - 1u), q + k);
}

/* The values the table codes: zigzag of freq[s] - freq[s-1]. */
static void freq_deltas(const uint32_t freq[256], uint32_t zz[256]) {
    for (int s = 0; s < 256; s++)
        zz[s] = zigzag((int32_t)freq[s] - (s ? (int32_t)freq[s - 1] : 0));
}

/* Sum over s of floor(log2(zz[s] + add)): every term is below 2^24, so it is
 * exact as a float, whose exponent field is the floor of its log2 (a loop
 * the compiler vectorises, where a clz per value would not be). */
static uint32_t sum_floor_log2(const uint32_t zz[256], uint32_t add) {
    uint32_t acc = 0;
    for (int s = 0; s < 256; s++) {
        const float v = (float)(int32_t)(zz[s] + add);
        uint32_t b;
        memcpy(&b, &v, sizeof(b));
        acc += b >> 23;
    }
    return acc - 256u * 127u;
}

/* Bits of the table whose deltas are zz, and its best Exp-Golomb order in *k:
 * 4 + the sum over s of the code lengths 2 (floor(log2(zz[s] + 2^k)) - k) + 1 + k.
 * (Values are zigzagged differences of frequencies below 2^13, so below 2^15.) */
static size_t table_bits(const uint32_t zz[256], unsigned *k) {
    size_t best_bits = SIZE_MAX;
    for (unsigned kk = 0; kk < 14; kk++) {
        const size_t bits = 4 + 2 * (size_t)sum_floor_log2(zz, 1u << kk) + 256 - 256 * (size_t)kk;
        if (bits < best_bits) best_bits = bits, *k = kk;
    }
    return best_bits;
}

/* Writes the table; returns its size in bytes, or 0 if it does not fit. */
static size_t write_freqs(const uint32_t freq[256], uint8_t *dst, size_t cap) {
    uint32_t zz[256];
    freq_deltas(freq, zz);
    unsigned best_k = 0;
    table_bits(zz, &best_k);
    bitwriter w = {dst, dst + cap, 0, 0, 0};
    bw_put(&w, best_k, 4);
    for (int s = 0; s < 256; s++)
        eg_put(&w, zz[s], best_k);
    if (w.nbits) bw_put(&w, 0, 8 - w.nbits);
    return w.overflow ? 0 : (size_t)(w.p - dst);
}

typedef struct bitreader {
    const uint8_t *p, *end;
    uint64_t acc;
    unsigned nbits;
} bitreader;

/* Tops the accumulator up to at least 57 bits (or the end of input). */
static inline void br_refill(bitreader *r) {
    while (r->nbits <= 56 && r->p != r->end) {
        r->acc |= (uint64_t)*r->p++ << r->nbits;
        r->nbits += 8;
    }
}

/* Reads n <= 28 bits; returns -1 past the end of input. */
static int64_t br_get(bitreader *r, unsigned n) {
    while (r->nbits < n) {
        if (r->p == r->end) return -1;
        r->acc |= (uint64_t)*r->p++ << r->nbits;
        r->nbits += 8;
    }
    uint32_t v = (uint32_t)(r->acc & ((1u << n) - 1u));
    r->acc >>= n;
    r->nbits -= n;
    return v;
}

/* Parses and validates a table whose frequencies sum to 2^bits; returns
 * bytes consumed, or 0 on bad data. */
static size_t read_freqs(const uint8_t *src, size_t size, unsigned bits, uint32_t freq[256]) {
    const uint32_t scale = 1u << bits;
    bitreader r = {src, src + size, 0, 0};
    int64_t k = br_get(&r, 4);
    if (k < 0 || k >= 14) return 0;
    int32_t prev = 0;
    uint32_t sum = 0, present = 0;
    for (int s = 0; s < 256; s++) {
        /* the unary prefix: q zero bits then a one (q <= 15), found at once */
        br_refill(&r);
        const unsigned q = (unsigned)__builtin_ctzll(r.acc | (1ull << 63));
        if (q > 15 || q >= r.nbits) return 0; /* no valid value needs more; or truncated */
        r.acc >>= q + 1;
        r.nbits -= q + 1;
        br_refill(&r);
        if (r.nbits < q + (unsigned)k) return 0;
        const uint32_t low = (uint32_t)(r.acc & ((1ull << (q + (unsigned)k)) - 1u));
        r.acc >>= q + (unsigned)k;
        r.nbits -= q + (unsigned)k;
        uint32_t v = ((1u << (q + (unsigned)k)) | (uint32_t)low) - (1u << (unsigned)k);
        int32_t d = (v & 1) ? -(int32_t)((v + 1) / 2) : (int32_t)(v / 2);
        int32_t f = prev + d;
        if (f < 0 || f >= (int32_t)scale) return 0;
        freq[s] = (uint32_t)f;
        sum += (uint32_t)f;
        present += f != 0;
        prev = f;
    }
    if (sum != scale || present < 2) return 0;
    /* bytes up to the last bit used (the refills read ahead); the rest of the
     * last byte is padding */
    return ((size_t)(r.p - src) * 8 - r.nbits + 7) / 8;
}

/* --- encoder --------------------------------------------------------------- */

/* The encoder's per-symbol constants, one array each (so every field is one
 * load by symbol index from one base register). */
typedef struct enc_table {
    uint64_t rcp[256];   /* ceil(2^45 / freq): x / freq == (x * rcp) >> 45 for x < 2^32 */
    uint32_t x_max[256]; /* renormalise (emit a word) while x >= x_max */
    uint32_t fc[256];    /* 2^B - freq: C(s, x) = (x / freq) * fc + x + cum */
    uint32_t cum[256];
    uint32_t freq[256];
} enc_table;

static inline uint32_t div_by_freq(uint32_t x, const enc_table *t, unsigned s) {
#if defined(__SIZEOF_INT128__)
    return (uint32_t)(((unsigned __int128)x * t->rcp[s]) >> 45);
#else
    return x / t->freq[s];
#endif
}

/* One encoder step for symbol s: renormalise, then x = C(s, x) = (x / f) << B
 * + x mod f + cum, written (x / f) (2^B - f) + x + cum. The words go below p:
 * the low 16 bits of x are always stored at p - 2 - 2k (k words kept so far,
 * *kn = -k) and kept (k + 1) only if x >= x_max. Branch-free: whether a word
 * is emitted is a coin flip per symbol; the only chain between symbols is the
 * add to kn (adc on x86-64). */
static inline uint32_t encode_step(uint32_t x, const enc_table *t, unsigned s, uint8_t *p,
                                   ptrdiff_t *kn) {
    dc_store_le16(p + 2 * *kn - 2, (uint16_t)x);
#if defined(DC_ANS_ASM_X86)
    uint32_t r;
    ptrdiff_t k = *kn;
    __asm__("movl %k[x], %k[r]\n\t"
            "shrl $16, %k[r]\n\t"
            "cmpl %[xm], %k[x]\n\t"
            "cmovae %k[r], %k[x]\n\t"
            "adcq $-1, %[k]" /* k - 1 if x >= x_max (no carry) */
            : [x] "+r"(x), [r] "=&r"(r), [k] "+r"(k)
            : [xm] "m"(t->x_max[s])
            : "cc");
    *kn = k;
#elif defined(DC_ANS_ASM_A64)
    uint32_t r, y;
    ptrdiff_t k1;
    __asm__("cmp %w[x], %w[xm]\n\t"
            "lsr %w[r], %w[x], #16\n\t"
            "sub %[k1], %[k], #1\n\t"
            "csel %w[y], %w[r], %w[x], hs\n\t"
            "csel %[k1], %[k1], %[k], hs"
            : [y] "=&r"(y), [r] "=&r"(r), [k1] "=&r"(k1)
            : [x] "r"(x), [xm] "r"(t->x_max[s]), [k] "r"(*kn)
            : "cc");
    x = y;
    *kn = k1;
#else
    const unsigned emit = x >= t->x_max[s];
    x = emit ? x >> 16 : x;
    *kn -= emit;
#endif
    uint32_t c = div_by_freq(x, t, s) * t->fc[s] + x + t->cum[s];
#if defined(DC_ANS_ASM_A64)
    __asm__("" : "+r"(c)); /* else GCC gathers four states' multiply-adds into lanes */
#endif
    return c;
}

size_t dc_ans_scratch_size(size_t n) {
    return 2 * n + 64; /* one word per symbol at most, plus slack for the blind stores */
}

int dc_ans_encode_simd = 1;

/* log2(f) for f = 1 .. 2^13 - 1, as libm's log2() gives it (so the estimates
 * below are bit for bit those of calling log2), filled at first use. */
static double log2_tab[1u << DC_ANS2_PROB_BITS_MAX];
static atomic_int log2_state; /* 0 empty, 1 being filled, 2 ready */

static const double *log2_table(void) {
    if (atomic_load_explicit(&log2_state, memory_order_acquire) != 2) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&log2_state, &expected, 1)) {
            for (unsigned f = 1; f < (1u << DC_ANS2_PROB_BITS_MAX); f++)
                log2_tab[f] = log2((double)f);
            atomic_store_explicit(&log2_state, 2, memory_order_release);
        } else {
            while (atomic_load_explicit(&log2_state, memory_order_acquire) != 2)
                ; /* another thread is filling it (about 0.1 ms, once) */
        }
    }
    return log2_tab;
}

/* The table precision (DC_ANS_TABLE_BITS_MIN .. B) that minimises table bits
 * + coded bits (estimated from the counts) for this chunk, and its
 * frequencies. Chunks above 64 KiB keep full precision: there the table is a
 * small part of the chunk and the search would only cost encode time. */
static unsigned choose_precision(const uint32_t counts[256], size_t n, unsigned B,
                                 const uint32_t f13[256], uint32_t freq[256]) {
    if (n > (64u << 10)) {
        if (B == DC_ANS2_PROB_BITS_MAX)
            memcpy(freq, f13, 256 * sizeof(uint32_t));
        else
            normalize_freqs(counts, n, 1u << B, freq);
        return B;
    }
    const double *lg = log2_table();
    unsigned best = B;
    double best_bits = 0;
    for (unsigned b = B + 1; b-- > DC_ANS_TABLE_BITS_MIN;) {
        uint32_t f[256], zz[256];
        unsigned k;
        if (b == DC_ANS2_PROB_BITS_MAX)
            memcpy(f, f13, sizeof(f));
        else
            normalize_freqs(counts, n, 1u << b, f);
        /* scaled to B bits, every frequency must still fit the packed entry */
        int fits = 1;
        for (int s = 0; s < 256; s++)
            fits &= (f[s] << (B - b)) < (1u << 12);
        if (!fits) continue;
        freq_deltas(f, zz);
        double bits = (double)table_bits(zz, &k);
        for (int s = 0; s < 256; s++)
            if (counts[s]) bits += (double)counts[s] * ((double)b - lg[f[s]]);
        if (b == B || bits < best_bits) {
            best_bits = bits, best = b;
            memcpy(freq, f, sizeof(f));
        }
    }
    return best;
}

/* The coder's probability bits: 13 where every frequency fits the packed
 * entry's 12 bits at that precision (no symbol near half the chunk), which
 * brings the ratio about 0.1% closer to the order-0 bound; else 12. f13 gets
 * the 13-bit frequencies (choose_precision reuses them). */
static unsigned choose_coder_bits(const uint32_t counts[256], size_t n, uint32_t f13[256]) {
    normalize_freqs(counts, n, 1u << DC_ANS2_PROB_BITS_MAX, f13);
    for (int s = 0; s < 256; s++)
        if (f13[s] >= (1u << 12)) return DC_ANS2_PROB_BITS;
    return DC_ANS2_PROB_BITS_MAX;
}

/* 4 states up to 16 KiB (decoded by the scalar loop), 32 up to 64 KiB; above,
 * 128 where the coded payload is at least 96 KiB and the data codes at 6
 * bits a byte or less, else 64. More states let the SIMD decoders overlap
 * more table lookups (+11-15% decode speed on AVX-512, Zen 5: 2.45 -> 2.8
 * GB/s on 4.5-bit Laplace data), but each costs 1.5-2.4 bytes net (measured:
 * 1.8 at 4.5 bits a byte, 2.1 at 3.8, 2.4 at 2.5); at 96 KiB of payload the
 * extra 64 states cost 0.1-0.15%. Denser data, close to stored, keeps 64:
 * there the coder's lead in ratio over zstd -19 and Huff0 is thinnest
 * (0.3% on the DC-quantized stories260K weights, 6.1 bits a byte). */
static unsigned auto_states(const uint32_t counts[256], size_t n) {
    if (n <= (16u << 10)) return 4;
    if (n <= (64u << 10)) return 32;
    double bits = 0;
    for (int s = 0; s < 256; s++)
        if (counts[s]) bits += (double)counts[s] * log2((double)n / (double)counts[s]);
    return bits / 8 >= (double)(96u << 10) && bits <= 6.0 * (double)n ? 128 : 64;
}

int dc_ans_param_valid(unsigned version, unsigned param) {
    unsigned tb = param & 15u, c = (param >> 4) & 7u;
    if (version == 2 && param == DC_ANS_PAIR_PARAM) return 1;
    if (tb < DC_ANS_TABLE_BITS_MIN) return 0;
    if (version == 1) return param < 64u && c <= 3 && tb <= DC_ANS1_PROB_BITS;
    return version == 2 && c <= 5 && tb <= (param & 128u ? 13u : 12u);
}

/* Encodes with ns interleaved states (a power of two, at most 128), from the
 * initial states in x, into the word stream growing down from p (the scratch
 * has room for one word per symbol); returns its new start. */
static DC_ANS_INLINE uint8_t *encode_states(const uint8_t *src, size_t n, const enc_table *t,
                                            unsigned ns, uint32_t x[DC_ANS_MAX_STATES], uint8_t *p,
                                            int enc_simd, const unsigned B) {
    const unsigned mask = ns - 1;
    size_t i = n;
    ptrdiff_t kn = 0;
    /* the partial group at the end first, so the rest is whole groups */
    for (; i % ns;) {
        i--;
        x[i & mask] = encode_step(x[i & mask], t, src[i], p, &kn);
    }
#if DC_X86
    if (ns >= 32 && i > 0 && enc_simd && dc_cpu_avx512_encoder()) {
        uint32_t enc[256];
        for (int s = 0; s < 256; s++)
            enc[s] = t->freq[s] | t->cum[s] << 16;
        return dc_ans2_encode_avx512(enc, src, i, ns, B, x, p + 2 * kn);
    }
#else
    (void)enc_simd;
    (void)B;
#endif
    /* whole groups (i is a multiple of ns), last state first, four states an
     * iteration: x[j .. j + 3] for symbols i - 4 .. i - 1 */
    for (; i >= 4; i -= 4) {
        uint32_t *xs = x + ((i - 4) & mask);
        const uint8_t *s = src + i - 4;
        xs[3] = encode_step(xs[3], t, s[3], p, &kn);
        xs[2] = encode_step(xs[2], t, s[2], p, &kn);
        xs[1] = encode_step(xs[1], t, s[1], p, &kn);
        xs[0] = encode_step(xs[0], t, s[0], p, &kn);
    }
    return p + 2 * kn;
}

/* One plain payload (docs/format.md 4.1-4.4). */
static size_t encode_plain(const uint8_t *src, size_t n, const uint32_t counts[256], uint8_t *dst,
                           size_t dst_capacity, void *scratch, unsigned states, unsigned *param) {
    uint32_t freq[256], f13[256];
    const unsigned B = choose_coder_bits(counts, n, f13);
    unsigned tb = choose_precision(counts, n, B, f13, freq);
    if (states == 0) states = auto_states(counts, n);
    unsigned code = 0;
    while ((4u << code) < states && code < 5)
        code++;
    const unsigned ns = 4u << code;
    *param = tb | code << 4 | (B == 13 ? 128u : 0u);
    size_t table_bytes = write_freqs(freq, dst, dst_capacity);
    if (table_bytes == 0) return 0;
    for (int s = 0; s < 256; s++) /* the coder runs at B bits */
        freq[s] <<= B - tb;

    enc_table t;
    uint32_t cum = 0;
    for (int s = 0; s < 256; s++) {
        t.freq[s] = freq[s];
        t.cum[s] = cum;
        /* ((L >> B) << 16) * freq: the largest state that stays < 2^32 */
        t.x_max[s] = freq[s] << (32 - B);
        t.fc[s] = (1u << B) - freq[s];
        t.rcp[s] = freq[s] ? ((1ull << 45) + freq[s] - 1) / freq[s] : 0;
        cum += freq[s];
    }

    uint8_t *words_end = (uint8_t *)scratch + dc_ans_scratch_size(n);
    /* The last two symbols of every state are not coded: the states start
     * from them (x = L + a << 8 + b, below 2L), and the decoder reads them
     * back from its final states. A state starting at L would carry nothing;
     * this one carries 16 bits for about half a bit of extra state. */
    uint32_t x[DC_ANS_MAX_STATES];
    size_t m = n;
    for (unsigned j = 0; j < ns; j++)
        x[j] = STATE_LOW;
    if (n >= 2 * (size_t)ns) {
        m = n - 2 * (size_t)ns;
        for (unsigned k = 0; k < ns; k++)
            x[(m + k) & (ns - 1)] = STATE_LOW | (uint32_t)src[m + k] << 8 | src[m + ns + k];
    }
    uint8_t *p = B == 12 ? encode_states(src, m, &t, ns, x, words_end, dc_ans_encode_simd, 12)
                         : encode_states(src, m, &t, ns, x, words_end, dc_ans_encode_simd, 13);
    size_t words = (size_t)(words_end - p);
    size_t total = table_bytes + 4 * ns + words;
    if (total > dst_capacity) return 0;
    uint8_t *o = dst + table_bytes;
    for (unsigned j = 0; j < ns; j++)
        dc_store_le32(o + 4 * j, x[j]);
    memcpy(o + 4 * ns, p, words);
    return total;
}

/*
 * Pair payloads (docs/format.md 4.5), for chunks dominated by a few symbols:
 * the 15 most frequent symbols are classes 0-14, every other byte is an
 * escape (class 15); each pair of bytes becomes one symbol (first class << 4 |
 * second), coded by a plain payload of n / 2 symbols, and the escaped bytes
 * by a second one. Each table lookup then yields two bytes, so such chunks
 * decode about 1.3x faster on AVX-512 and 1.05-1.1x on AVX2 (60%-zeros
 * Laplace data, Zen 5; the scalar path is about 10% slower), and the pair table's
 * finer probabilities make up for the second payload's table and states.
 * Taken where the escapes are at most an eighth of the bytes (above that
 * the escape payload costs more decode time than the pairs save: plain
 * 4.5-bit Laplace data, 17% escapes, decoded no faster in pairs).
 */
#define PAIR_HEAD    25 /* 15 map bytes, 2 params, u32 escapes, u32 pair payload size */
#define PAIR_MIN     (64u << 10)
#define PAIR_CLASSES 15

static int distinct_at_least_two(const uint32_t counts[256], size_t n) {
    for (int s = 0; s < 256; s++)
        if (counts[s]) return counts[s] < n;
    return 0;
}

static size_t encode_pairs(const uint8_t *src, size_t n, const uint32_t counts[256], uint8_t *dst,
                           size_t dst_capacity, void *scratch, unsigned *param) {
    if (n < PAIR_MIN || (n & 1) || dst_capacity < PAIR_HEAD) return 0;
    uint8_t cls[256], map[PAIR_CLASSES] = {0};
    memset(cls, PAIR_CLASSES, sizeof cls);
    size_t covered = 0;
    for (unsigned k = 0; k < PAIR_CLASSES; k++) { /* the most frequent first, ties: lower value */
        int best = -1;
        for (int s = 0; s < 256; s++)
            if (counts[s] && cls[s] == PAIR_CLASSES && (best < 0 || counts[s] > counts[best]))
                best = s;
        if (best < 0) break;
        cls[best] = (uint8_t)k, map[k] = (uint8_t)best, covered += counts[best];
    }
    const size_t nesc = n - covered, np = n / 2;
    if (nesc > n / 8 || nesc > DC_ANS_ESC_MAX) return 0;
    uint8_t *pairs = (uint8_t *)scratch, *esc = pairs + np, *sub = esc + np;
    size_t e = 0;
    for (size_t i = 0; i < np; i++) {
        const unsigned a = cls[src[2 * i]], b = cls[src[2 * i + 1]];
        esc[e] = src[2 * i], e += a == PAIR_CLASSES;
        esc[e] = src[2 * i + 1], e += b == PAIR_CLASSES;
        pairs[i] = (uint8_t)(a << 4 | b);
    }
    uint32_t pc[256], ec[256];
    dc_histogram(pairs, np, pc);
    dc_histogram(esc, nesc, ec);
    if (!distinct_at_least_two(pc, np) || (nesc && !distinct_at_least_two(ec, nesc))) return 0;
    unsigned pp = 0, ep = 0;
    /* sub: dc_ans_scratch_size(np) = n + 64 bytes, the rest of the scratch */
    const size_t sp =
        encode_plain(pairs, np, pc, dst + PAIR_HEAD, dst_capacity - PAIR_HEAD, sub, 0, &pp);
    if (sp == 0) return 0;
    size_t se = 0;
    if (nesc) {
        se = encode_plain(esc, nesc, ec, dst + PAIR_HEAD + sp, dst_capacity - PAIR_HEAD - sp, sub,
                          0, &ep);
        if (se == 0) return 0;
    }
    memcpy(dst, map, PAIR_CLASSES);
    dst[15] = (uint8_t)pp, dst[16] = (uint8_t)ep;
    dc_store_le32(dst + 17, (uint32_t)nesc);
    dc_store_le32(dst + 21, (uint32_t)sp);
    *param = DC_ANS_PAIR_PARAM;
    return PAIR_HEAD + sp + se;
}

size_t dc_ans_encode(const uint8_t *src, size_t n, const uint32_t counts[256], uint8_t *dst,
                     size_t dst_capacity, void *scratch, unsigned states, unsigned *param) {
    if (states == 0) {
        size_t r = encode_pairs(src, n, counts, dst, dst_capacity, scratch, param);
        if (r) return r;
    }
    return encode_plain(src, n, counts, dst, dst_capacity, scratch, states, param);
}

/* --- decoder --------------------------------------------------------------- */

/* One scalar step of either format, with a bounds-checked refill. */
#define V1_MASK ((1u << DC_ANS1_PROB_BITS) - 1u)

/* The scalar recurrence with bounds-checked refills: whatever the kernels
 * leave (and the whole of small chunks). Returns n, or (size_t)-1 if the word
 * stream runs out. Symbol 0 of out belongs to state 0. */
static size_t decode_rest(unsigned version, const dc_ans_table *t, uint32_t *st, unsigned ns,
                          const uint8_t **pp, const uint8_t *end, uint8_t *out, size_t n) {
    const uint8_t *p = *pp;
    for (size_t i = 0; i < n; i++) {
        unsigned j = (unsigned)i & (ns - 1);
        uint32_t x = st[j];
        if (version == 1) {
            uint32_t e = t->u.v1.entry[x & V1_MASK];
            out[i] = t->u.v1.sym[x & V1_MASK];
            x = (e & 0xFFFFu) * (x >> DC_ANS1_PROB_BITS) + (e >> 16);
        } else {
            uint32_t e = t->u.packed[x & ((1u << t->bits) - 1u)];
            out[i] = (uint8_t)e;
            x = ((e >> 8) & 0xFFFu) * (x >> t->bits) + (e >> 20);
        }
        if (x < STATE_LOW) {
            if (end - p < 2) return (size_t)-1;
            x = (x << 16) | dc_load_le16(p);
            p += 2;
        }
        st[j] = x;
    }
    *pp = p;
    return n;
}

/* x, or x << 16 | the next word if x < L (then *pp advances by the word):
 * without branches, whose outcome is a coin flip per symbol. The word is
 * always loaded; the caller guarantees it is inside the stream. GCC turns
 * the obvious ?: into a branch, so x86 gets the two cmovs spelled out. */
static inline uint32_t renorm(uint32_t x, const uint8_t **pp) {
    const uint8_t *p = *pp;
    const uint32_t refilled = (x << 16) | dc_load_le16(p);
#if DC_X86 && defined(__GNUC__)
    const uint8_t *q;
    __asm__("cmpl $0xffff, %k0\n\t"
            "cmovbe %k3, %k0\n\t"
            "lea 2(%1), %2\n\t"
            "cmovbe %2, %1"
            : "+&r"(x), "+&r"(p), "=&r"(q)
            : "r"(refilled)
            : "cc");
    *pp = p;
    return x;
#else
    const uint32_t need = x < STATE_LOW, mask = 0u - need;
    *pp = p + 2 * need;
    return (x & ~mask) | (refilled & mask);
#endif
}

/* Fast loops, branch-free: while a whole group of ns symbols cannot run past
 * the end (it reads at most ns words), load the next word unconditionally
 * and consume it only if the state needs it. */
#define SCALAR_GROUPS(LOOKUP)                                                                      \
    const uint8_t *p = *pp;                                                                        \
    size_t i = 0;                                                                                  \
    for (; i + ns <= n && (size_t)(end - p) >= 2 * (size_t)ns; i += ns) {                          \
        _Pragma("GCC unroll 4") for (unsigned j = 0; j < ns; j++) {                                \
            uint32_t x = st[j];                                                                    \
            LOOKUP;                                                                                \
            st[j] = renorm(x, &p);                                                                 \
        }                                                                                          \
    }                                                                                              \
    *pp = p;                                                                                       \
    return i

size_t dc_ans1_decode_scalar(const dc_ans_table *t, uint32_t *st, unsigned ns, const uint8_t **pp,
                             const uint8_t *end, uint8_t *out, size_t n) {
    SCALAR_GROUPS(uint32_t e = t->u.v1.entry[x & V1_MASK]; out[i + j] = t->u.v1.sym[x & V1_MASK];
                  x = (e & 0xFFFFu) * (x >> DC_ANS1_PROB_BITS) + (e >> 16));
}

/*
 * The v2 scalar kernel. The word stream is read by index (k words past p), so
 * the only serial chain between symbols is k += (x < L), one add (adc on
 * x86-64, cinc on AArch64); the states go in groups of four, table lookups
 * first, then the four refills in stream order. B is a constant in
 * each instance (shifts and masks by immediates). The refill select is asm on
 * x86-64 and AArch64: GCC turns the ?: into a branch (a coin flip per symbol)
 * and, on x86, merges the byte stores with shifts and vectorises the state
 * stores, all slower than the plain instructions. Words are loaded
 * unconditionally; the caller checks that a whole group of ns symbols (at
 * most ns words) cannot read past the end.
 */

/* *s = x, or x << 16 | the word at w[*k] (then ++*k) if x < L. */
static inline void renorm_at(uint32_t x, const uint8_t *restrict w, size_t *k, uint32_t *s) {
#if defined(DC_ANS_ASM_X86)
    uint32_t r = x;
    size_t kk = *k;
    __asm__("shll $16, %k[r]\n\t"
            "orw %[m], %w[r]\n\t"
            "cmpl $0x10000, %k[x]\n\t"
            "cmovb %k[r], %k[x]\n\t"
            "adcq $0, %[k]\n\t"
            "movl %k[x], %[s]"
            : [x] "+r"(x), [r] "+r"(r), [k] "+r"(kk), [s] "=m"(*s)
            : [m] "m"(*(const dc_u16_alias *)(w + 2 * kk))
            : "cc");
    *k = kk;
#elif defined(DC_ANS_ASM_A64)
    const uint32_t r = x << 16 | dc_load_le16(w + 2 * *k);
    uint32_t y;
    size_t k1;
    __asm__("cmp %w[x], #0x10000\n\t"
            "cinc %[k1], %[k], lo\n\t"
            "csel %w[y], %w[r], %w[x], lo"
            : [y] "=r"(y), [k1] "=&r"(k1)
            : [x] "r"(x), [r] "r"(r), [k] "r"(*k)
            : "cc");
    *s = y;
    *k = k1;
#else
    const uint32_t r = x << 16 | dc_load_le16(w + 2 * *k);
    const unsigned need = x < STATE_LOW;
    *s = need ? r : x;
    *k += need;
#endif
}

/* *o = the symbol of entry e (a plain byte store on x86-64, see above). */
static inline void put_sym(uint8_t *o, uint32_t e) {
#if defined(DC_ANS_ASM_X86)
    __asm__("movb %b[e], %[o]" : [o] "=m"(*o) : [e] "q"(e));
#else
    *o = (uint8_t)e;
#endif
}

/* The table part of a decode step for four states: x0..x3 = ss[0..3], their
 * symbols to oo[0..3], x = freq * (x >> B) + bias (renormalised by REFILL4). */
#define LOOKUP4(oo, ss, x0, x1, x2, x3)                                                            \
    do {                                                                                           \
        x0 = (ss)[0], x1 = (ss)[1], x2 = (ss)[2], x3 = (ss)[3];                                    \
        LOOKUP1((oo), x0);                                                                         \
        LOOKUP1((oo) + 1, x1);                                                                     \
        LOOKUP1((oo) + 2, x2);                                                                     \
        LOOKUP1((oo) + 3, x3);                                                                     \
    } while (0)
#define LOOKUP1(oo, x)                                                                             \
    do {                                                                                           \
        const uint32_t e_ = tab[(x)&mask];                                                         \
        put_sym((oo), e_);                                                                         \
        (x) = ((e_ >> 8) & 0xFFFu) * ((x) >> B) + (e_ >> 20);                                      \
    } while (0)
#define REFILL4(ss, x0, x1, x2, x3)                                                                \
    do {                                                                                           \
        renorm_at(x0, p, &k, (ss));                                                                \
        renorm_at(x1, p, &k, (ss) + 1);                                                            \
        renorm_at(x2, p, &k, (ss) + 2);                                                            \
        renorm_at(x3, p, &k, (ss) + 3);                                                            \
    } while (0)

/* Software-pipelined by one group of four states: the table lookups of group
 * g + 1 come before the refills of group g in program order (they do not
 * depend on each other), which lets the refills' word loads overlap more
 * work; unrolled by two groups (a, b), so no registers are copied. */
static DC_ANS_INLINE size_t decode2_scalar(const uint32_t *restrict tab, uint32_t *restrict st,
                                           unsigned ns, const uint8_t **pp, const uint8_t *end,
                                           uint8_t *restrict out, size_t n, const unsigned B) {
    const uint32_t mask = (1u << B) - 1u;
    const uint8_t *const p = *pp;
    size_t i = 0, k = 0;
    for (; i + ns <= n && (size_t)(end - p) / 2 - k >= ns; i += ns) {
        uint8_t *restrict o = out + i;
        uint32_t *s = st, *const last = st + ns - 4; /* the last group */
        uint32_t a0, a1, a2, a3, b0, b1, b2, b3;
        LOOKUP4(o, s, a0, a1, a2, a3);
        if (s == last) { /* 4 states */
            REFILL4(s, a0, a1, a2, a3);
            continue;
        }
        for (; s + 8 <= last; s += 8, o += 8) {
            LOOKUP4(o + 4, s + 4, b0, b1, b2, b3);
            REFILL4(s, a0, a1, a2, a3);
            LOOKUP4(o + 8, s + 8, a0, a1, a2, a3);
            REFILL4(s + 4, b0, b1, b2, b3);
        }
        LOOKUP4(o + 4, s + 4, b0, b1, b2, b3); /* s + 4 == last: ns / 4 groups is even */
        REFILL4(s, a0, a1, a2, a3);
        REFILL4(s + 4, b0, b1, b2, b3);
    }
    *pp = p + 2 * k;
    return i;
}
#undef LOOKUP4
#undef LOOKUP1
#undef REFILL4

size_t dc_ans2_decode_scalar(const dc_ans_table *t, uint32_t *st, unsigned ns, const uint8_t **pp,
                             const uint8_t *end, uint8_t *out, size_t n) {
    if (t->bits == 12) return decode2_scalar(t->u.packed, st, ns, pp, end, out, n, 12);
    return decode2_scalar(t->u.packed, st, ns, pp, end, out, n, 13);
}

/* The kernel for (format version, state count, path). */
static dc_ans_kernel pick_kernel(unsigned version, unsigned ns, dc_simd simd) {
    /* few states (small chunks): the branch-free scalar loop */
    if (ns < 32) return version == 1 ? dc_ans1_decode_scalar : dc_ans2_decode_scalar;
#if DC_X86
    if (version == 1) {
        if (simd == DC_SIMD_AVX512 || simd == DC_SIMD_AVX512_SWGATHER) return dc_ans1_decode_avx512;
        if (simd == DC_SIMD_AVX2 || simd == DC_SIMD_AVX2_SWGATHER) return dc_ans1_decode_avx2;
        return dc_ans1_decode_scalar;
    }
    switch (simd) {
    case DC_SIMD_AVX512:
        return dc_ans2_decode_avx512;
    case DC_SIMD_AVX512_SWGATHER:
        return dc_ans2_decode_avx512_sw;
    case DC_SIMD_AVX2:
        return dc_ans2_decode_avx2;
    case DC_SIMD_AVX2_SWGATHER:
        return dc_ans2_decode_avx2_sw;
    default:
        return dc_ans2_decode_scalar;
    }
#elif DC_ARM64
    if (version == 2 && simd == DC_SIMD_NEON) return dc_ans2_decode_neon;
    return version == 1 ? dc_ans1_decode_scalar : dc_ans2_decode_scalar;
#else
    (void)simd;
    return version == 1 ? dc_ans1_decode_scalar : dc_ans2_decode_scalar;
#endif
}

/* Fills the decode table from the frequencies (scaled to the coder's B bits). */
static void build_table(unsigned version, const uint32_t freq[256], dc_ans_table *t) {
    uint32_t cum = 0;
    for (uint32_t s = 0; s < 256; s++) {
        const uint32_t f = freq[s];
        if (version == 1) {
            for (uint32_t k = 0; k < f; k++)
                t->u.v1.entry[cum + k] = f | (k << 16);
            memset(t->u.v1.sym + cum, (int)s, f);
        } else {
            uint32_t *e = t->u.packed + cum;
            const uint32_t base = s | f << 8;
            for (uint32_t k = 0; k < f; k++)
                e[k] = base | (k << 20);
        }
        cum += f;
    }
}

/* The scalar pair expansion, from pair i on (what the SIMD passes left), in
 * blocks of 256 pairs, branch-free (escapes come too irregularly to
 * predict): tab[v] holds the two bytes (class 15 gives 0), the offset of the
 * first escape (0 or 1) and the number of escapes. Each block's pairs go to
 * out while their escape positions are listed, then the escape bytes go to
 * those positions. Stores are what limits this loop: four pairs go out as
 * one 64-bit store, and each pair's two candidate positions as one 32-bit
 * store into the list (the next pair's overwrites what its count does not
 * keep). Returns the escapes used in all, or SIZE_MAX if they run out. */
static size_t expand_pairs_scalar(const uint8_t *pairs, size_t np, size_t i, const uint8_t *esc,
                                  size_t nesc, size_t used, const uint8_t map[16], uint8_t *out) {
    uint32_t tab[256];
    uint16_t pos[512 + 2];
    for (unsigned v = 0; v < 256; v++)
        tab[v] = (uint32_t)map[v >> 4] | (uint32_t)map[v & 15] << 8 |
                 (uint32_t)((v >> 4) != 15) << 16 |
                 (uint32_t)(((v >> 4) == 15) + ((v & 15u) == 15)) << 17;
    while (i < np) {
        const size_t stop = np - i < 256 ? np : i + 256, base = 2 * i;
        unsigned k = 0;
#define PAIR_POS(e, o)                                                                             \
    do {                                                                                           \
        const uint32_t pp_ = ((o) + (((e) >> 16) & 1u)) | ((o) + 1u) << 16;                        \
        memcpy(pos + k, &pp_, 4);                                                                  \
        k += (e) >> 17;                                                                            \
    } while (0)
        for (; i + 4 <= stop; i += 4) {
            const uint32_t e0 = tab[pairs[i]], e1 = tab[pairs[i + 1]], e2 = tab[pairs[i + 2]],
                           e3 = tab[pairs[i + 3]];
            const unsigned o = (unsigned)(2 * i - base);
            dc_store_le64(out + 2 * i, (uint64_t)(e0 & 0xFFFFu) | (uint64_t)(e1 & 0xFFFFu) << 16 |
                                           (uint64_t)(e2 & 0xFFFFu) << 32 |
                                           (uint64_t)(e3 & 0xFFFFu) << 48);
            PAIR_POS(e0, o);
            PAIR_POS(e1, o + 2);
            PAIR_POS(e2, o + 4);
            PAIR_POS(e3, o + 6);
        }
        for (; i < stop; i++) {
            const uint32_t e = tab[pairs[i]];
            const unsigned o = (unsigned)(2 * i - base);
            dc_store_le16(out + 2 * i, (uint16_t)e);
            PAIR_POS(e, o);
        }
#undef PAIR_POS
        if (k > nesc - used) return SIZE_MAX;
        for (unsigned j = 0; j < k; j++)
            out[base + pos[j]] = esc[used + j];
        used += k;
    }
    return used;
}

/* A pair payload: the escapes into table->esc, the pair symbols into the
 * upper half of out, then expanded forward in place (pair i is read before
 * bytes 2i and 2i + 1 are written, and 2i + 1 <= n / 2 + i). */
static dc_status decode_pairs(const uint8_t *src, size_t src_size, uint8_t *out, size_t n,
                              dc_simd simd, dc_ans_table *table) {
    if (n & 1) return DC_ERR_CORRUPT;
    if (src_size < PAIR_HEAD) return DC_ERR_TRUNCATED;
    const unsigned pp = src[15], ep = src[16];
    const size_t nesc = dc_load_le32(src + 17), sp = dc_load_le32(src + 21), np = n / 2;
    if (nesc > n || nesc > DC_ANS_ESC_MAX) return DC_ERR_CORRUPT;
    if (pp == DC_ANS_PAIR_PARAM || !dc_ans_param_valid(2, pp)) return DC_ERR_CORRUPT;
    if (sp > src_size - PAIR_HEAD) return DC_ERR_TRUNCATED;
    const uint8_t *ps = src + PAIR_HEAD, *es = ps + sp;
    const size_t se = src_size - PAIR_HEAD - sp;
    dc_status st;
    if (nesc) {
        if (ep == DC_ANS_PAIR_PARAM || !dc_ans_param_valid(2, ep)) return DC_ERR_CORRUPT;
        if ((st = dc_ans_decode(2, es, se, ep, table->esc, nesc, simd, table)) != DC_OK) return st;
    } else if (se != 0 || ep != 0) {
        return DC_ERR_CORRUPT;
    }
    uint8_t *pairs = out + (n - np);
    if ((st = dc_ans_decode(2, ps, sp, pp, pairs, np, simd, table)) != DC_OK) return st;
    uint8_t map[16];
    memcpy(map, src, PAIR_CLASSES);
    map[15] = 0;
    size_t used = 0, i = 0;
#if DC_X86
    if ((simd == DC_SIMD_AVX512 || simd == DC_SIMD_AVX512_SWGATHER) && dc_cpu_avx512_encoder())
        i = dc_pair_expand_avx512(pairs, np, table->esc, nesc, &used, map, out);
    else if (simd == DC_SIMD_AVX2 || simd == DC_SIMD_AVX2_SWGATHER)
        i = dc_pair_expand_avx2(pairs, np, table->esc, nesc, &used, map, out);
#endif
    if (i < np) used = expand_pairs_scalar(pairs, np, i, table->esc, nesc, used, map, out);
    return used == nesc ? DC_OK : DC_ERR_CORRUPT;
}

dc_status dc_ans_decode(unsigned version, const uint8_t *src, size_t src_size, unsigned param,
                        uint8_t *out, size_t n, dc_simd simd, dc_ans_table *table) {
    uint32_t freq[256];
    if (!dc_ans_param_valid(version, param)) return DC_ERR_UNSUPPORTED;
    if (version == 2 && param == DC_ANS_PAIR_PARAM)
        return decode_pairs(src, src_size, out, n, simd, table);
    const unsigned bits = version == 1 ? DC_ANS1_PROB_BITS : param & 128u ? 13u : 12u;
    const unsigned table_bits = param & 15u;
    const unsigned ns = version == 1 ? DC_ANS1_STATES >> (param >> 4) : 4u << ((param >> 4) & 7u);
    size_t table_bytes = read_freqs(src, src_size, table_bits, freq);
    if (table_bytes == 0) return DC_ERR_CORRUPT;
    for (int s = 0; s < 256; s++)
        freq[s] <<= bits - table_bits;
    /* v2 packs freq into 12 bits: at B = 12 every valid table has freq < 2^12
     * (two symbols present); at B = 13 the encoder promised it, and a table
     * that breaks the promise is corrupt */
    for (int s = 0; version == 2 && s < 256; s++)
        if (freq[s] >= (1u << 12)) return DC_ERR_CORRUPT;
    table->bits = bits;
    build_table(version, freq, table);

    const uint8_t *p = src + table_bytes, *end = src + src_size;
    if ((size_t)(end - p) < 4 * ns) return DC_ERR_TRUNCATED;
    uint32_t st[DC_ANS_MAX_STATES];
    for (unsigned j = 0; j < ns; j++) {
        st[j] = dc_load_le32(p + 4 * j);
        if (st[j] < STATE_LOW) return DC_ERR_CORRUPT;
    }
    p += 4 * ns;
    if ((end - p) & 1) return DC_ERR_CORRUPT;

    /* v2: the last two symbols of each state come from its final state */
    const size_t m = version == 2 && n >= 2 * (size_t)ns ? n - 2 * (size_t)ns : n;
    size_t done = pick_kernel(version, ns, simd)(table, st, ns, &p, end, out, m);
    if (decode_rest(version, table, st, ns, &p, end, out + done, m - done) != m - done)
        return DC_ERR_CORRUPT; /* the word stream ran out */
    if (p != end) return DC_ERR_CORRUPT;
    for (unsigned j = 0; j < ns; j++) {
        if (m == n) {
            if (st[j] != STATE_LOW) return DC_ERR_CORRUPT;
            continue;
        }
        if (st[j] < STATE_LOW || st[j] >= 2 * STATE_LOW) return DC_ERR_CORRUPT;
        const size_t k = (j + ns - (unsigned)(m % ns)) % ns; /* state j is symbol m + k's */
        out[m + k] = (uint8_t)(st[j] >> 8);
        out[m + ns + k] = (uint8_t)st[j];
    }
    return DC_OK;
}
