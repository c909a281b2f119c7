/*
 * chunk.c -- the chunk container: header, codec selection, contexts.
 *
 * Chunk = 20-byte header + payload (docs/format.md):
 *   0  'D' 'C' 'K'   magic
 *   3  u8  version (2 written; 1 still read: it differs only in the ANS payload)
 *   4  u8  codec tag: 0 raw, 1 ans, 2 zstd, 3 lz4, 4 run, 5 float
 *   5  u8  codec parameter (ans: table precision and state count, see ans.c;
 *          float: element size and layout, see floatcodec.c; others 0)
 *   6  u16 reserved, 0
 *   8  u32 raw size
 *  12  u32 payload size
 *  16  u32 DC32 checksum of the raw bytes
 * All integers little-endian.
 */
#include "internal.h"

/* The optional codecs (CMake DC_WITH_ZSTD / DC_WITH_LZ4 define these). */
#ifndef DC_HAVE_ZSTD
#define DC_HAVE_ZSTD 0
#endif
#ifndef DC_HAVE_LZ4
#define DC_HAVE_LZ4 0
#endif
#include <stdatomic.h>
#include <stdlib.h>

#if DC_HAVE_LZ4
#include <lz4.h>
#include <lz4hc.h>
#endif
#if DC_HAVE_ZSTD
#include <zstd.h>
#include <zstd_errors.h>
#endif

#define HDR            DC_CHUNK_HEADER_SIZE
#define FORMAT_VERSION 2

enum { TAG_RAW = 0, TAG_ANS = 1, TAG_ZSTD = 2, TAG_LZ4 = 3, TAG_RUN = 4, TAG_FLOAT = 5 };

typedef struct chunk_header {
    unsigned version, tag, param;
    size_t raw_size, payload_size;
    uint32_t checksum;
} chunk_header;

const char *dc_codec_name(dc_codec codec) {
    switch (codec) {
    case DC_CODEC_DEFAULT:
    case DC_CODEC_ANS:
        return "ans";
    case DC_CODEC_ZSTD:
        return "zstd";
    case DC_CODEC_LZ4:
        return "lz4";
    case DC_CODEC_RAW:
        return "raw";
    case DC_CODEC_RUN:
        return "run";
    case DC_CODEC_FLOAT:
        return "float";
    }
    return "unknown";
}

int dc_codec_supported(dc_codec codec) {
    switch (codec) {
    case DC_CODEC_DEFAULT:
    case DC_CODEC_ANS:
    case DC_CODEC_RAW:
    case DC_CODEC_RUN:
    case DC_CODEC_FLOAT: /* (its zstd-coded planes need zstd: DC_ERR_UNSUPPORTED without) */
        return 1;
    case DC_CODEC_ZSTD:
        return DC_HAVE_ZSTD;
    case DC_CODEC_LZ4:
        return DC_HAVE_LZ4;
    }
    return 0;
}

/* ========================================================================== */
/*                                 Compression                                */
/* ========================================================================== */

struct dc_cctx {
    dc_alloc alloc;
    dc_codec codec;
    int level;
    size_t chunk_size;
    uint8_t *scratch; /* ANS word buffer */
    size_t scratch_size;
    uint8_t *planes; /* float: the chunk's byte planes */
    size_t planes_size;
    unsigned elem; /* float: element bytes (1: plain ANS) */
#if DC_HAVE_ZSTD
    ZSTD_CCtx *zstd;
#endif
};

dc_status dc_cctx_create(const dc_compress_options *options, dc_cctx **out) {
    if (out == NULL) return DC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    dc_compress_options o;
    dc_status st = dc_copy_options(&o, sizeof(o), options);
    if (st != DC_OK) return st;
    if (o.codec == DC_CODEC_DEFAULT) o.codec = DC_CODEC_ANS;
    if (o.codec != DC_CODEC_ANS && o.codec != DC_CODEC_ZSTD && o.codec != DC_CODEC_LZ4 &&
        o.codec != DC_CODEC_RAW && o.codec != DC_CODEC_FLOAT)
        return DC_ERR_INVALID_ARGUMENT;
    if (!dc_codec_supported(o.codec)) return DC_ERR_UNSUPPORTED; /* built without it */
    if (o.chunk_size == 0) o.chunk_size = DC_CHUNK_SIZE_DEFAULT;
    if (o.chunk_size < DC_CHUNK_SIZE_MIN || o.chunk_size > DC_CHUNK_SIZE_MAX) return DC_ERR_RANGE;
    if (o.codec == DC_CODEC_ZSTD) {
#if DC_HAVE_ZSTD
        if (o.level == 0) o.level = 3;
        if (o.level < 1 || o.level > ZSTD_maxCLevel()) return DC_ERR_RANGE;
#endif
    } else if (o.codec == DC_CODEC_LZ4) {
#if DC_HAVE_LZ4
        if (o.level < 0 || o.level > LZ4HC_CLEVEL_MAX) return DC_ERR_RANGE;
#endif
    } else if (o.codec == DC_CODEC_FLOAT) {
        if (o.level == 0) o.level = 2; /* the element size */
        if (o.level != 1 && o.level != 2 && o.level != 4) return DC_ERR_RANGE;
    } else if (o.level != 0) {
        return DC_ERR_RANGE;
    }
    dc_alloc a;
    if ((st = dc_alloc_init(&a, o.allocator)) != DC_OK) return st;
    dc_cctx *c = (dc_cctx *)dc_calloc(&a, 1, sizeof(*c));
    if (c == NULL) return DC_ERR_OUT_OF_MEMORY;
    c->alloc = a;
    c->codec = o.codec;
    c->level = o.level;
    c->chunk_size = o.chunk_size;
    c->elem = o.codec == DC_CODEC_FLOAT ? (unsigned)o.level : 1;
#if DC_HAVE_ZSTD
    if (o.codec == DC_CODEC_ZSTD && (c->zstd = ZSTD_createCCtx()) == NULL) {
        dc_cctx_free(c);
        return DC_ERR_OUT_OF_MEMORY;
    }
#endif
    *out = c;
    return DC_OK;
}

void dc_cctx_free(dc_cctx *cctx) {
    if (cctx == NULL) return;
    dc_alloc a = cctx->alloc;
#if DC_HAVE_ZSTD
    ZSTD_freeCCtx(cctx->zstd);
#endif
    dc_free(&a, cctx->scratch);
    dc_free(&a, cctx->planes);
    dc_free(&a, cctx);
}

void dc_cctx_set_element_size(dc_cctx *cctx, unsigned bytes) {
    if (cctx != NULL && cctx->codec == DC_CODEC_FLOAT && (bytes == 1 || bytes == 2 || bytes == 4))
        cctx->elem = bytes;
}

/* Grows *buf (of *size bytes) to at least need bytes; 0 on failure. */
static int grow(const dc_alloc *a, uint8_t **buf, size_t *size, size_t need) {
    if (need <= *size) return 1;
    dc_free(a, *buf);
    *size = 0;
    if ((*buf = (uint8_t *)dc_malloc(a, need)) == NULL) return 0;
    *size = need;
    return 1;
}

size_t dc_compress_bound(size_t src_size) {
    size_t chunks = src_size / DC_CHUNK_SIZE_MIN + 1;
    if (chunks > (SIZE_MAX - src_size) / HDR) return 0;
    return src_size + chunks * HDR;
}

static void write_header(uint8_t *dst, const chunk_header *h) {
    dst[0] = 'D';
    dst[1] = 'C';
    dst[2] = 'K';
    dst[3] = FORMAT_VERSION;
    dst[4] = (uint8_t)h->tag;
    dst[5] = (uint8_t)h->param;
    dc_store_le16(dst + 6, 0);
    dc_store_le32(dst + 8, (uint32_t)h->raw_size);
    dc_store_le32(dst + 12, (uint32_t)h->payload_size);
    dc_store_le32(dst + 16, h->checksum);
}

static int is_run(const uint8_t *src, size_t n) {
    return n > 0 && (n == 1 || memcmp(src, src + 1, n - 1) == 0);
}

/* Codes src with the context's codec into payload[0..limit); returns the
 * payload size, or 0 if it does not fit in limit (caller then stores raw). */
static dc_status code_payload(dc_cctx *c, const uint8_t *src, size_t n, uint8_t *payload,
                              size_t limit, chunk_header *h) {
    h->payload_size = 0;
    if (limit == 0) return DC_OK;
    dc_codec codec = c->codec;
    if (codec == DC_CODEC_FLOAT && (c->elem == 1 || n < 2 * (size_t)c->elem))
        codec = DC_CODEC_ANS; /* not floats, or too few: plain ANS */
    switch (codec) {
    case DC_CODEC_FLOAT: {
        if (!grow(&c->alloc, &c->scratch, &c->scratch_size, dc_ans_scratch_size(n / c->elem)) ||
            !grow(&c->alloc, &c->planes, &c->planes_size, 2 * n))
            return DC_ERR_OUT_OF_MEMORY;
        void *zc = NULL; /* zstd for planes that repeat, where built in */
#if DC_HAVE_ZSTD
        if (c->zstd == NULL && (c->zstd = ZSTD_createCCtx()) == NULL) return DC_ERR_OUT_OF_MEMORY;
        zc = c->zstd;
#endif
        h->tag = TAG_FLOAT;
        h->payload_size = dc_float_encode(src, n, c->elem, payload, limit, c->planes, c->scratch,
                                          c->scratch_size, zc, &h->param);
        return DC_OK;
    }
    case DC_CODEC_ANS: {
        if (!grow(&c->alloc, &c->scratch, &c->scratch_size, dc_ans_scratch_size(n)))
            return DC_ERR_OUT_OF_MEMORY;
        uint32_t counts[256];
        dc_histogram(src, n, counts);
        h->tag = TAG_ANS;
        h->payload_size = dc_ans_encode(src, n, counts, payload, limit, c->scratch, 0, &h->param);
        return DC_OK;
    }
#if DC_HAVE_ZSTD
    case DC_CODEC_ZSTD: {
        size_t r = ZSTD_compressCCtx(c->zstd, payload, limit, src, n, c->level);
        if (ZSTD_isError(r)) {
            if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall) return DC_OK;
            return DC_ERR_CODEC;
        }
        h->tag = TAG_ZSTD;
        h->payload_size = r;
        return DC_OK;
    }
#endif
#if DC_HAVE_LZ4
    case DC_CODEC_LZ4: {
        int cap =
            limit > (size_t)LZ4_compressBound((int)n) ? LZ4_compressBound((int)n) : (int)limit;
        int r = c->level == 0
                    ? LZ4_compress_default((const char *)src, (char *)payload, (int)n, cap)
                    : LZ4_compress_HC((const char *)src, (char *)payload, (int)n, cap, c->level);
        h->tag = TAG_LZ4;
        h->payload_size = r > 0 ? (size_t)r : 0;
        return DC_OK;
    }
#endif
    default:
        return DC_OK; /* DC_CODEC_RAW */
    }
}

static dc_status compress_chunk(dc_cctx *c, const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                size_t *written) {
    if (cap < HDR) return DC_ERR_DST_TOO_SMALL;
    uint8_t *payload = dst + HDR;
    size_t pcap = cap - HDR;
    chunk_header h = {FORMAT_VERSION, TAG_RAW, 0, n, 0, dc_checksum32(src, n)};
    if (is_run(src, n)) {
        if (pcap < 1) return DC_ERR_DST_TOO_SMALL;
        h.tag = TAG_RUN;
        h.payload_size = 1;
        payload[0] = src[0];
    } else {
        /* Only a payload strictly smaller than the raw bytes is worth keeping. */
        dc_status st = code_payload(c, src, n, payload, n == 0 ? 0 : (pcap < n ? pcap : n - 1), &h);
        if (st != DC_OK) return st;
        if (h.payload_size == 0) {
            if (pcap < n) return DC_ERR_DST_TOO_SMALL;
            h.tag = TAG_RAW;
            h.param = 0;
            h.payload_size = n;
            if (n) memcpy(payload, src, n);
        }
    }
    write_header(dst, &h);
    *written = HDR + h.payload_size;
    return DC_OK;
}

/* Runs fn with cctx, or with a temporary default context when cctx is NULL. */
static dc_status with_cctx(dc_cctx *cctx, dc_cctx **tmp) {
    *tmp = NULL;
    if (cctx != NULL) return DC_OK;
    return dc_cctx_create(NULL, tmp);
}

dc_status dc_chunk_compress(dc_cctx *cctx, const void *src, size_t src_size, void *dst,
                            size_t dst_capacity, size_t *dst_size) {
    if ((src == NULL && src_size) || dst == NULL || dst_size == NULL)
        return DC_ERR_INVALID_ARGUMENT;
    *dst_size = 0;
    if (src_size > DC_CHUNK_SIZE_MAX) return DC_ERR_RANGE;
    dc_cctx *tmp;
    dc_status st = with_cctx(cctx, &tmp);
    if (st != DC_OK) return st;
    st = compress_chunk(cctx ? cctx : tmp, (const uint8_t *)src, src_size, (uint8_t *)dst,
                        dst_capacity, dst_size);
    dc_cctx_free(tmp);
    return st;
}

dc_status dc_compress(dc_cctx *cctx, const void *src, size_t src_size, void *dst,
                      size_t dst_capacity, size_t *dst_size) {
    if ((src == NULL && src_size) || (dst == NULL && dst_capacity) || dst_size == NULL)
        return DC_ERR_INVALID_ARGUMENT;
    *dst_size = 0;
    dc_cctx *tmp;
    dc_status st = with_cctx(cctx, &tmp);
    if (st != DC_OK) return st;
    dc_cctx *c = cctx ? cctx : tmp;
    const uint8_t *s = (const uint8_t *)src;
    uint8_t *d = (uint8_t *)dst;
    size_t done = 0, out = 0;
    while (done < src_size) {
        size_t n = src_size - done < c->chunk_size ? src_size - done : c->chunk_size;
        size_t w;
        st = compress_chunk(c, s + done, n, d + out, dst_capacity - out, &w);
        if (st != DC_OK) break;
        done += n;
        out += w;
    }
    dc_cctx_free(tmp);
    if (st == DC_OK) *dst_size = out;
    return st;
}

/* ========================================================================== */
/*                                Decompression                               */
/* ========================================================================== */

struct dc_dctx {
    dc_alloc alloc;
    dc_simd simd;
    unsigned threads; /* dc_decompress only */
#if DC_HAVE_ZSTD
    ZSTD_DCtx *zstd; /* created on first zstd chunk */
#endif
    uint8_t *planes; /* float chunks: their decoded byte planes */
    size_t planes_size;
    dc_ans_table table;
};

dc_status dc_dctx_create(const dc_decompress_options *options, dc_dctx **out) {
    if (out == NULL) return DC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    dc_decompress_options o;
    dc_status st = dc_copy_options(&o, sizeof(o), options);
    if (st != DC_OK) return st;
    if ((unsigned)o.simd > DC_SIMD_AVX512_SWGATHER) return DC_ERR_INVALID_ARGUMENT;
    if (!dc_simd_supported(o.simd)) return DC_ERR_UNSUPPORTED;
    dc_alloc a;
    if ((st = dc_alloc_init(&a, o.allocator)) != DC_OK) return st;
    dc_dctx *d = (dc_dctx *)dc_calloc(&a, 1, sizeof(*d));
    if (d == NULL) return DC_ERR_OUT_OF_MEMORY;
    d->alloc = a;
    d->simd = dc_simd_resolve(o.simd);
    d->threads = o.threads == 0 ? 1 : o.threads > 64 ? 64 : o.threads;
    *out = d;
    return DC_OK;
}

void dc_dctx_free(dc_dctx *dctx) {
    if (dctx == NULL) return;
    dc_alloc a = dctx->alloc;
#if DC_HAVE_ZSTD
    ZSTD_freeDCtx(dctx->zstd);
#endif
    dc_free(&a, dctx->planes);
    dc_free(&a, dctx);
}

static dc_status parse_header(const uint8_t *src, size_t size, chunk_header *h) {
    if (src == NULL) return DC_ERR_INVALID_ARGUMENT;
    if (size < HDR) return DC_ERR_TRUNCATED;
    if (src[0] != 'D' || src[1] != 'C' || src[2] != 'K') return DC_ERR_CORRUPT;
    if (src[3] < 1 || src[3] > FORMAT_VERSION || src[4] > TAG_FLOAT) return DC_ERR_UNSUPPORTED;
    h->version = src[3];
    h->tag = src[4];
    h->param = src[5];
    h->raw_size = dc_load_le32(src + 8);
    h->payload_size = dc_load_le32(src + 12);
    h->checksum = dc_load_le32(src + 16);
    if (dc_load_le16(src + 6) != 0 || h->raw_size > DC_CHUNK_SIZE_MAX) return DC_ERR_CORRUPT;
    if (h->tag == TAG_ANS && !dc_ans_param_valid(h->version, h->param)) return DC_ERR_UNSUPPORTED;
    /* float (chunk version 2 only): unknown parameter bits may be a later layout */
    if (h->tag == TAG_FLOAT && (h->version < 2 || !dc_float_param_valid(h->param)))
        return DC_ERR_UNSUPPORTED;
    if (h->tag != TAG_ANS && h->tag != TAG_FLOAT && h->param != 0) return DC_ERR_CORRUPT;
    if (h->tag == TAG_RAW && h->payload_size != h->raw_size) return DC_ERR_CORRUPT;
    if (h->tag == TAG_RUN && (h->payload_size != 1 || h->raw_size == 0)) return DC_ERR_CORRUPT;
    if (h->payload_size > size - HDR) return DC_ERR_TRUNCATED;
    return DC_OK;
}

static dc_codec tag_codec(unsigned tag) {
    static const dc_codec map[] = {DC_CODEC_RAW, DC_CODEC_ANS, DC_CODEC_ZSTD,
                                   DC_CODEC_LZ4, DC_CODEC_RUN, DC_CODEC_FLOAT};
    return map[tag];
}

dc_status dc_chunk_info(const void *src, size_t src_size, size_t *chunk_bytes, size_t *raw_size,
                        dc_codec *codec) {
    chunk_header h;
    dc_status st = parse_header((const uint8_t *)src, src_size, &h);
    if (st != DC_OK) return st;
    if (chunk_bytes) *chunk_bytes = HDR + h.payload_size;
    if (raw_size) *raw_size = h.raw_size;
    if (codec) *codec = tag_codec(h.tag);
    return DC_OK;
}

static dc_status decode_payload(dc_dctx *d, const chunk_header *h, const uint8_t *payload,
                                uint8_t *dst) {
    size_t n = h->raw_size, ps = h->payload_size;
    switch (h->tag) {
    case TAG_RAW:
        if (n) memcpy(dst, payload, n);
        return DC_OK;
    case TAG_RUN:
        memset(dst, payload[0], n);
        return DC_OK;
    case TAG_ANS: {
        if (d != NULL)
            return dc_ans_decode(h->version, payload, ps, h->param, dst, n, d->simd, &d->table);
        /* no context: a temporary table (72 KiB, too much for some threads' stacks) */
        dc_ans_table *table = (dc_ans_table *)malloc(sizeof(dc_ans_table));
        if (table == NULL) return DC_ERR_OUT_OF_MEMORY;
        dc_status st =
            dc_ans_decode(h->version, payload, ps, h->param, dst, n, dc_simd_best(), table);
        free(table);
        return st;
    }
    case TAG_ZSTD: {
#if !DC_HAVE_ZSTD
        (void)ps;
        return DC_ERR_UNSUPPORTED; /* built without zstd */
#else
        if (d != NULL && d->zstd == NULL && (d->zstd = ZSTD_createDCtx()) == NULL)
            return DC_ERR_OUT_OF_MEMORY;
        size_t r = d != NULL ? ZSTD_decompressDCtx(d->zstd, dst, n, payload, ps)
                             : ZSTD_decompress(dst, n, payload, ps);
        if (ZSTD_isError(r)) {
            return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? DC_ERR_OUT_OF_MEMORY
                                                                        : DC_ERR_CORRUPT;
        }
        return r == n ? DC_OK : DC_ERR_CORRUPT;
#endif
    }
    case TAG_FLOAT: {
        if (d != NULL) {
            if (!grow(&d->alloc, &d->planes, &d->planes_size, n)) return DC_ERR_OUT_OF_MEMORY;
            void *zd = NULL;
#if DC_HAVE_ZSTD
            if (d->zstd == NULL && (d->zstd = ZSTD_createDCtx()) == NULL)
                return DC_ERR_OUT_OF_MEMORY;
            zd = d->zstd;
#endif
            return dc_float_decode(payload, ps, h->param, dst, n, d->simd, &d->table, d->planes,
                                   zd);
        }
        /* no context: a temporary table and planes */
        dc_ans_table *table = (dc_ans_table *)malloc(sizeof(dc_ans_table));
        uint8_t *planes = (uint8_t *)malloc(n ? n : 1);
        dc_status st = table && planes ? dc_float_decode(payload, ps, h->param, dst, n,
                                                         dc_simd_best(), table, planes, NULL)
                                       : DC_ERR_OUT_OF_MEMORY;
        free(table);
        free(planes);
        return st;
    }
    case TAG_LZ4: {
#if !DC_HAVE_LZ4
        return DC_ERR_UNSUPPORTED; /* built without lz4 */
#else
        if (ps > (size_t)INT32_MAX) return DC_ERR_CORRUPT;
        int r = LZ4_decompress_safe((const char *)payload, (char *)dst, (int)ps, (int)n);
        return r >= 0 && (size_t)r == n ? DC_OK : DC_ERR_CORRUPT;
#endif
    }
    }
    return DC_ERR_UNSUPPORTED;
}

dc_status dc_chunk_decompress(dc_dctx *dctx, const void *src, size_t src_size, void *dst,
                              size_t dst_capacity, size_t *written) {
    if (written == NULL || (dst == NULL && dst_capacity)) return DC_ERR_INVALID_ARGUMENT;
    *written = 0;
    chunk_header h;
    dc_status st = parse_header((const uint8_t *)src, src_size, &h);
    if (st != DC_OK) return st;
    if (h.raw_size > dst_capacity) return DC_ERR_DST_TOO_SMALL;
    if (h.raw_size && dst == NULL) return DC_ERR_INVALID_ARGUMENT;
    st = decode_payload(dctx, &h, (const uint8_t *)src + HDR, (uint8_t *)dst);
    if (st != DC_OK) return st;
    if (dc_checksum32(dst, h.raw_size) != h.checksum) return DC_ERR_CHECKSUM;
    *written = h.raw_size;
    return DC_OK;
}

dc_status dc_decompressed_size(const void *src, size_t src_size, size_t *size) {
    if (size == NULL || (src == NULL && src_size)) return DC_ERR_INVALID_ARGUMENT;
    *size = 0;
    const uint8_t *s = (const uint8_t *)src;
    size_t off = 0, total = 0;
    while (off < src_size) {
        size_t cb, raw;
        dc_status st = dc_chunk_info(s + off, src_size - off, &cb, &raw, NULL);
        if (st != DC_OK) return st;
        off += cb;
        total += raw;
    }
    *size = total;
    return DC_OK;
}

/* One thread's part of a dc_decompress call: it claims the next chunk from
 * the shared counter until none is left or one of its chunks fails. */
typedef struct decode_share {
    dc_dctx *d;
    const uint8_t *src;
    uint8_t *dst;
    const size_t *in_off, *out_off; /* n + 1 entries each */
    atomic_size_t *next;            /* the next chunk to claim */
    size_t n;
    dc_status st;
    size_t failed; /* the chunk that failed, if st != DC_OK */
} decode_share;

static void *decode_share_run(void *arg) {
    decode_share *j = (decode_share *)arg;
    for (;;) {
        const size_t k = atomic_fetch_add_explicit(j->next, 1, memory_order_relaxed);
        if (k >= j->n) break;
        size_t w;
        j->st = dc_chunk_decompress(j->d, j->src + j->in_off[k], j->in_off[k + 1] - j->in_off[k],
                                    j->dst + j->out_off[k], j->out_off[k + 1] - j->out_off[k], &w);
        if (j->st != DC_OK) {
            j->failed = k;
            break;
        }
    }
    return NULL;
}

/* dc_decompress on dctx->threads threads: walk the headers, then the threads
 * claim chunks in order from a shared counter, so a thread slowed down (a
 * busy core, a harder chunk) takes fewer, not the others' time. Each thread
 * claims increasing chunk numbers and stops at its first failure, and every
 * claimed chunk is decoded, so the lowest failing chunk is found whatever the
 * timing. */
static dc_status decompress_parallel(dc_dctx *dctx, const uint8_t *s, size_t src_size, uint8_t *d,
                                     size_t dst_capacity, size_t *written) {
    size_t n = 0;
    for (size_t off = 0, cb; off < src_size; off += cb, n++) {
        dc_status st = dc_chunk_info(s + off, src_size - off, &cb, NULL, NULL);
        if (st != DC_OK) return st;
    }
    const dc_alloc *a = &dctx->alloc;
    size_t *in_off = (size_t *)dc_malloc(a, 2 * (n + 1) * sizeof(size_t));
    if (in_off == NULL) return DC_ERR_OUT_OF_MEMORY;
    size_t *out_off = in_off + n + 1;
    in_off[0] = out_off[0] = 0;
    for (size_t k = 0; k < n; k++) {
        size_t cb = 0, raw = 0; /* set: every chunk was parsed above */
        dc_chunk_info(s + in_off[k], src_size - in_off[k], &cb, &raw, NULL);
        in_off[k + 1] = in_off[k] + cb;
        out_off[k + 1] = out_off[k] + raw;
    }
    if (out_off[n] > dst_capacity) {
        dc_free(a, in_off);
        return DC_ERR_DST_TOO_SMALL;
    }
    const unsigned nt = dctx->threads < n ? dctx->threads : (unsigned)n;
    decode_share job[64];
    atomic_size_t next;
    atomic_init(&next, 0);
    dc_status st = DC_OK;
    unsigned made = 0; /* job[0 .. made) are set up; job 0 uses dctx itself */
    for (; made < nt; made++) {
        job[made] = (decode_share){dctx, s, d, in_off, out_off, &next, n, DC_OK, 0};
        if (made == 0) continue;
        /* a context like the caller's, from the caller's allocator */
        dc_dctx *c = (dc_dctx *)dc_calloc(a, 1, sizeof(*c));
        if (c == NULL) {
            st = DC_ERR_OUT_OF_MEMORY;
            break;
        }
        c->alloc = *a, c->simd = dctx->simd, c->threads = 1;
        job[made].d = c;
    }
    if (st == DC_OK) dc_run_parallel(nt, decode_share_run, job, sizeof(job[0]));
    size_t bad = SIZE_MAX; /* the first failing chunk gives the status */
    for (unsigned t = 0; t < made; t++) {
        if (t > 0) dc_dctx_free(job[t].d);
        if (st == DC_OK && job[t].st != DC_OK && job[t].failed < bad) bad = job[t].failed;
    }
    for (unsigned t = 0; st == DC_OK && t < made; t++)
        if (job[t].st != DC_OK && job[t].failed == bad) st = job[t].st;
    if (st == DC_OK) *written = out_off[n];
    dc_free(a, in_off);
    return st;
}

dc_status dc_decompress(dc_dctx *dctx, const void *src, size_t src_size, void *dst,
                        size_t dst_capacity, size_t *written) {
    if (written == NULL || (src == NULL && src_size) || (dst == NULL && dst_capacity))
        return DC_ERR_INVALID_ARGUMENT;
    *written = 0;
    const uint8_t *s = (const uint8_t *)src;
    uint8_t *d = (uint8_t *)dst;
    if (dctx != NULL && dctx->threads > 1)
        return decompress_parallel(dctx, s, src_size, d, dst_capacity, written);
    size_t off = 0, out = 0;
    while (off < src_size) {
        size_t cb, w;
        dc_status st = dc_chunk_info(s + off, src_size - off, &cb, NULL, NULL);
        if (st == DC_OK)
            st = dc_chunk_decompress(dctx, s + off, cb, d + out, dst_capacity - out, &w);
        if (st != DC_OK) return st;
        off += cb;
        out += w;
    }
    *written = out;
    return DC_OK;
}
