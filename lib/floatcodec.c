/*
 * floatcodec.c -- the "float" chunk codec (tag 5, docs/format.md 3.1):
 * IEEE floats (BF16, F16: 2-byte elements; F32: 4-byte elements) coded
 * losslessly as byte planes, each plane on its own with the ANS coder, or
 * zstd where a plane repeats itself (an embedding table whose rows repeat:
 * LZ matches that no order-0 coder sees), or stored, or a run.
 *
 * Before splitting, an element may be rotated left by one bit (sign to bit
 * 0): for BF16 and F32 the 8 exponent bits then fill the high byte, so that
 * plane is the exponent alone (DFloat11's split) and the other planes hold
 * sign and mantissa. Without the rotation the planes are the bytes as they
 * are (ZipNN's byte grouping; for BF16 the high byte is sign + 7 exponent
 * bits). The encoder picks, per chunk, the layout whose planes have the
 * smaller order-0 entropy.
 *
 * Payload (all integers little-endian), with w = element bytes, m = raw_size
 * / w elements and t = raw_size mod w trailing bytes:
 *   w plane headers of 6 bytes: u8 kind (0 stored, 1 ans, 2 zstd, 4 run), u8 ans
 *   parameter (0 unless ans), u32 plane payload size;
 *   the w plane payloads, in plane order (plane p = byte p of every element,
 *   little-endian byte order, after the rotation if any);
 *   the t trailing bytes as they are.
 */
#include "internal.h"

#include <math.h>

/* zstd planes need the zstd codec (CMake DC_WITH_ZSTD defines DC_HAVE_ZSTD);
 * without it planes are never zstd-coded and such a plane does not decode */
#ifndef DC_HAVE_ZSTD
#define DC_HAVE_ZSTD 0
#endif
#if DC_HAVE_ZSTD
#include <zstd.h>
#include <zstd_errors.h>
#endif

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define PLANE_HDR 6
enum { PK_RAW = 0, PK_ANS = 1, PK_ZSTD = 2, PK_RUN = 4 };

/* A plane is kept ANS-coded only if that saves at least 1/FLOAT_MIN_GAIN of
 * its bytes: a near-uniform mantissa plane stored as it is decodes as a copy.
 * (Measured on stories260K in BF16: see docs/format.md 3.1.) */
#define FLOAT_MIN_GAIN 64
/* zstd's level for planes that repeat (fast; see the bench in docs/format.md 3.1) */
#define FLOAT_ZSTD_LEVEL 1
/* ... and where it wins, its strongest level (such planes are rare: an
 * embedding's repeated rows) */
#define FLOAT_ZSTD_RETRY 19

int dc_float_param_valid(unsigned param) {
    unsigned wc = param & 3u;
    return (wc == 1 || wc == 2) && (param & ~7u) == 0;
}

static unsigned param_width(unsigned param) {
    return 1u << (param & 3u);
}

/* Byte k of an element rotated left by one bit (b: the element's bytes). */
static inline uint8_t rot_byte(const uint8_t *b, unsigned k, unsigned w) {
    return (uint8_t)(b[k] << 1 | b[(k + w - 1) % w] >> 7);
}

/* Order-0 cost in bits of a plane with histogram h of m symbols. */
static double plane_bits(const uint32_t h[256], size_t m) {
    double bits = 0, lm = log2((double)m);
    for (int s = 0; s < 256; s++)
        if (h[s]) bits += (double)h[s] * (lm - log2((double)h[s]));
    return bits;
}

/* Histograms of both layouts (h[0]: bytes as they are, h[1]: rotated) and
 * the planes of the chosen one; inlined with w a constant (2 or 4). */
static inline void histograms(const uint8_t *src, size_t m, unsigned w, uint32_t h[2][4][256]) {
    for (size_t i = 0; i < m; i++) {
        const uint8_t *b = src + w * i;
        for (unsigned k = 0; k < w; k++) {
            h[0][k][b[k]]++;
            h[1][k][rot_byte(b, k, w)]++;
        }
    }
}

static inline void split(const uint8_t *src, size_t m, unsigned w, int rot,
                         uint8_t *restrict planes) {
    for (size_t i = 0; i < m; i++) {
        const uint8_t *b = src + w * i;
        for (unsigned k = 0; k < w; k++)
            planes[k * m + i] = rot ? rot_byte(b, k, w) : b[k];
    }
}

/* The payload of one layout (rot) into dst[0..cap): 0 if it does not fit;
 * *zstd_used: some plane is zstd-coded. */
static size_t encode_layout(const uint8_t *src, size_t n, unsigned w, int rot,
                            const uint32_t h[4][256], uint8_t *dst, size_t cap, uint8_t *planes,
                            void *ans_scratch, size_t scratch_size, void *zstd, int *zstd_used) {
    const size_t m = n / w, tail = n - m * w, hdr = PLANE_HDR * (size_t)w;
    *zstd_used = 0;
    if (w == 2)
        split(src, m, 2, rot, planes);
    else
        split(src, m, 4, rot, planes);
    if (cap < hdr + tail) return 0;
    size_t off = hdr;
    for (unsigned k = 0; k < w; k++) {
        const uint8_t *pl = planes + k * m;
        const uint32_t *hk = h[k];
        unsigned kind = PK_RAW, pp = 0;
        size_t psz = m;
        if (hk[pl[0]] == m) {
            kind = PK_RUN, psz = 1;
            if (cap - off < 1) return 0;
            dst[off] = pl[0];
        } else {
            /* ANS where it saves enough; its output must leave room */
            size_t limit = cap - off, keep = m - m / FLOAT_MIN_GAIN;
            size_t a = dc_ans_encode(pl, m, hk, dst + off, limit < keep ? limit : keep, ans_scratch,
                                     0, &pp);
            if (a != 0 && a < keep)
                kind = PK_ANS, psz = a;
            else
                pp = 0;
                /* zstd where it beats that (a plane that repeats itself), into the
                 * ANS scratch; where its fast level wins, its strongest is tried */
#if DC_HAVE_ZSTD
            static const int levels[2] = {FLOAT_ZSTD_LEVEL, FLOAT_ZSTD_RETRY};
            for (int l = 0; zstd && l < 2 && (l == 0 || kind == PK_ZSTD); l++) {
                size_t best = kind == PK_RAW ? keep : psz;
                size_t zcap = scratch_size < best ? scratch_size : best;
                if (zcap < 2 || zcap - 1 > cap - off) zcap = cap - off < best ? cap - off + 1 : 0;
                if (zcap < 2) break;
                size_t z =
                    ZSTD_compressCCtx((ZSTD_CCtx *)zstd, ans_scratch, zcap - 1, pl, m, levels[l]);
                if (ZSTD_isError(z) || z >= best) continue;
                kind = PK_ZSTD, pp = 0, psz = z;
                memcpy(dst + off, ans_scratch, z);
                *zstd_used = 1;
            }
#else
            (void)scratch_size, (void)zstd;
#endif
            if (kind == PK_RAW) {
                if (cap - off < m) return 0;
                memcpy(dst + off, pl, m);
            }
        }
        uint8_t *e = dst + PLANE_HDR * k;
        e[0] = (uint8_t)kind;
        e[1] = (uint8_t)pp;
        dc_store_le32(e + 2, (uint32_t)psz);
        off += psz;
    }
    if (cap - off < tail) return 0;
    if (tail) memcpy(dst + off, src + m * w, tail);
    return off + tail;
}

size_t dc_float_encode(const uint8_t *src, size_t n, unsigned w, uint8_t *dst, size_t cap,
                       uint8_t *planes, void *ans_scratch, size_t scratch_size, void *zstd,
                       unsigned *param) {
    if (w != 2 && w != 4) return 0;
    const size_t m = n / w;
    if (m < 2) return 0;
    /* histograms of both layouts: [rotated][plane][symbol] */
    uint32_t h[2][4][256];
    memset(h, 0, sizeof(h));
    if (w == 2)
        histograms(src, m, 2, h);
    else
        histograms(src, m, 4, h);
    double cost[2] = {0, 0};
    for (int r = 0; r < 2; r++)
        for (unsigned k = 0; k < w; k++) {
            double c = plane_bits(h[r][k], m), raw = 8.0 * (double)m;
            cost[r] += c < raw ? c : raw;
        }
    /* the layout of smaller order-0 cost; where zstd found repeats, order-0
     * costs do not tell, so the other layout is coded too (into the second
     * half of `planes`) and the smaller kept */
    int rot = cost[1] < cost[0], used;
    size_t size = encode_layout(src, n, w, rot, h[rot], dst, cap, planes, ans_scratch, scratch_size,
                                zstd, &used);
    if (used) {
        uint8_t *alt = planes + n;
        size_t acap = size ? size - 1 : (cap < n ? cap : n);
        size_t other = encode_layout(src, n, w, !rot, h[!rot], alt, acap, planes, ans_scratch,
                                     scratch_size, zstd, &used);
        if (other != 0 && (size == 0 || other < size)) {
            memcpy(dst, alt, other);
            size = other, rot = !rot;
        }
    }
    *param = (w == 2 ? 1u : 2u) | (rot ? 4u : 0u);
    return size;
}

/* --- decoder: planes to elements -------------------------------------------- */

static void interleave2(const uint8_t *restrict p0, const uint8_t *restrict p1, size_t m, int rot,
                        uint8_t *restrict out) {
    size_t i = 0;
#if defined(__SSE2__)
    if (rot) {
        for (; i + 16 <= m; i += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(p0 + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(p1 + i));
            __m128i lo = _mm_unpacklo_epi8(a, b), hi = _mm_unpackhi_epi8(a, b);
            lo = _mm_or_si128(_mm_srli_epi16(lo, 1), _mm_slli_epi16(lo, 15));
            hi = _mm_or_si128(_mm_srli_epi16(hi, 1), _mm_slli_epi16(hi, 15));
            _mm_storeu_si128((__m128i *)(out + 2 * i), lo);
            _mm_storeu_si128((__m128i *)(out + 2 * i + 16), hi);
        }
    } else {
        for (; i + 16 <= m; i += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(p0 + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(p1 + i));
            _mm_storeu_si128((__m128i *)(out + 2 * i), _mm_unpacklo_epi8(a, b));
            _mm_storeu_si128((__m128i *)(out + 2 * i + 16), _mm_unpackhi_epi8(a, b));
        }
    }
#endif
    for (; i < m; i++) {
        uint8_t a = p0[i], b = p1[i];
        if (rot) {
            out[2 * i] = (uint8_t)(a >> 1 | b << 7);
            out[2 * i + 1] = (uint8_t)(b >> 1 | a << 7);
        } else {
            out[2 * i] = a;
            out[2 * i + 1] = b;
        }
    }
}

static void interleave4(const uint8_t *const p[4], size_t m, int rot, uint8_t *restrict out) {
    size_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= m; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(p[0] + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(p[1] + i));
        __m128i c = _mm_loadu_si128((const __m128i *)(p[2] + i));
        __m128i d = _mm_loadu_si128((const __m128i *)(p[3] + i));
        __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);
        __m128i cd0 = _mm_unpacklo_epi8(c, d), cd1 = _mm_unpackhi_epi8(c, d);
        __m128i v[4] = {_mm_unpacklo_epi16(ab0, cd0), _mm_unpackhi_epi16(ab0, cd0),
                        _mm_unpacklo_epi16(ab1, cd1), _mm_unpackhi_epi16(ab1, cd1)};
        for (int k = 0; k < 4; k++) {
            if (rot) v[k] = _mm_or_si128(_mm_srli_epi32(v[k], 1), _mm_slli_epi32(v[k], 31));
            _mm_storeu_si128((__m128i *)(out + 4 * i + 16 * (size_t)k), v[k]);
        }
    }
#endif
    for (; i < m; i++) {
        uint8_t b[4] = {p[0][i], p[1][i], p[2][i], p[3][i]};
        for (unsigned k = 0; k < 4; k++)
            out[4 * i + k] = (uint8_t)(rot ? (b[k] >> 1 | b[(k + 1) & 3] << 7) : b[k]);
    }
}

dc_status dc_float_decode(const uint8_t *src, size_t size, unsigned param, uint8_t *out, size_t n,
                          dc_simd simd, dc_ans_table *table, uint8_t *scratch, void *zstd) {
    if (!dc_float_param_valid(param)) return DC_ERR_CORRUPT;
    const unsigned w = param_width(param);
    const int rot = (param & 4u) != 0;
    const size_t m = n / w, tail = n - m * w, hdr = PLANE_HDR * (size_t)w;
    if (size < hdr) return DC_ERR_CORRUPT;
    const uint8_t *pl[4];
    size_t off = hdr;
    for (unsigned k = 0; k < w; k++) {
        const uint8_t *e = src + PLANE_HDR * k;
        const unsigned kind = e[0], pp = e[1];
        const size_t psz = dc_load_le32(e + 2);
        if (psz > size - off) return DC_ERR_CORRUPT;
        uint8_t *dst = scratch + k * m;
        switch (kind) {
        case PK_RAW:
            if (pp != 0 || psz != m) return DC_ERR_CORRUPT;
            pl[k] = src + off;
            break;
        case PK_RUN:
            if (pp != 0 || psz != 1 || m == 0) return DC_ERR_CORRUPT;
            memset(dst, src[off], m);
            pl[k] = dst;
            break;
        case PK_ANS: {
            if (m == 0 || !dc_ans_param_valid(2, pp)) return DC_ERR_CORRUPT;
            if (dc_ans_decode(2, src + off, psz, pp, dst, m, simd, table) != DC_OK)
                return DC_ERR_CORRUPT;
            pl[k] = dst;
            break;
        }
        case PK_ZSTD: {
            if (pp != 0 || m == 0) return DC_ERR_CORRUPT;
#if !DC_HAVE_ZSTD
            (void)zstd;
            return DC_ERR_UNSUPPORTED; /* built without zstd */
#else
            size_t r = zstd ? ZSTD_decompressDCtx((ZSTD_DCtx *)zstd, dst, m, src + off, psz)
                            : ZSTD_decompress(dst, m, src + off, psz);
            if (ZSTD_isError(r))
                return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? DC_ERR_OUT_OF_MEMORY
                                                                            : DC_ERR_CORRUPT;
            if (r != m) return DC_ERR_CORRUPT;
            pl[k] = dst;
            break;
#endif
        }
        default:
            return DC_ERR_CORRUPT;
        }
        off += psz;
    }
    if (size - off != tail) return DC_ERR_CORRUPT;
    if (w == 2)
        interleave2(pl[0], pl[1], m, rot, out);
    else
        interleave4(pl, m, rot, out);
    if (tail) memcpy(out + m * w, src + off, tail);
    return DC_OK;
}
