/*
 * container.c -- the .dcz model container: streaming writer, mmap reader.
 *
 * Layout (docs/format.md, part 2): a 96-byte header (offsets, counts and a
 * DC32 of each table), 64-byte aligned chunk data from offset 128, then the
 * tensor table, the chunk index (32 bytes per chunk) and JSON metadata. The
 * header is written last, so a file cut short never looks complete.
 * The reader trusts nothing: every offset, size and count is checked against
 * the file before use.
 */
#include "internal.h"
#include "gguf.h" /* the key/value section (dc_gguf_section_parse) */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define FILE_MAGIC                                                                                 \
    "\x89"                                                                                         \
    "DCZ\r\n\x1a\n"
/* Version 2 differs from 1 only in that a raw-stored chunk may start 20 bytes
 * before a 64-byte boundary, so that its payload (the tensor's bytes) is
 * 64-byte aligned; the writer says 2 only in files that have such a chunk. */
#define FILE_VERSION     2
#define RAW_PAYLOAD_SKEW (ALIGN - DC_CHUNK_HEADER_SIZE) /* a raw chunk's offset mod 64 */
#define HEADER_SIZE      96
#define DATA_START       128
#define ALIGN            64
#define INDEX_ENTRY      32

/* ========================================================================== */
/*                              shared helpers                                */
/* ========================================================================== */

/* Product of all dims but the last (the rows) into *rows; 0 on overflow.
 * A zero dim makes an empty tensor (no rows or no columns, no bytes). */
static int tensor_rows(const dc_tensor_desc *d, uint64_t *rows) {
    uint64_t r = 1;
    for (unsigned i = 0; i + 1 < d->ndim; i++) {
        if (d->dims[i] != 0 && r > UINT64_MAX / d->dims[i]) return 0;
        r *= d->dims[i];
    }
    *rows = r;
    return 1;
}

/* Number of stored bytes a tensor must have, into *size; 0 on overflow or a
 * bad shape or dtype. Written so that no dim (0 or 2^64 - 1 included) can
 * overflow or divide by zero. */
static int expected_size(const dc_tensor_desc *d, uint64_t *size) {
    if (d->ndim < 1 || d->ndim > DC_MAX_DIMS) return 0;
    uint64_t rows;
    if (!tensor_rows(d, &rows)) return 0;
    uint64_t cols = d->dims[d->ndim - 1];
    uint64_t row_bytes;
    if (d->bits == 4)
        row_bytes = cols / 2 + (cols & 1); /* (cols + 1) / 2 without overflow */
    else if (d->bits == 8)
        row_bytes = cols;
    else {
        uint64_t es = d->dtype == DC_DTYPE_F32                                ? 4
                      : d->dtype == DC_DTYPE_F16 || d->dtype == DC_DTYPE_BF16 ? 2
                      : d->dtype == DC_DTYPE_I8                               ? 1
                                                                              : 0;
        if (es == 0 || cols > UINT64_MAX / es) return 0;
        row_bytes = cols * es;
    }
    if (row_bytes != 0 && rows > UINT64_MAX / row_bytes) return 0;
    if (rows * row_bytes > SIZE_MAX) return 0;
    *size = rows * row_bytes;
    return 1;
}

/* Number of scales a quantized tensor must have, into *n; 0 if its
 * granularity or group size is bad (G = 0) or the count overflows. */
static int expected_scales(const dc_tensor_desc *d, uint64_t *n) {
    uint64_t rows;
    if (!tensor_rows(d, &rows)) return 0;
    uint64_t cols = d->dims[d->ndim - 1];
    switch (d->granularity) {
    case DC_QUANT_PER_TENSOR:
        *n = 1;
        return 1;
    case DC_QUANT_PER_CHANNEL:
        *n = rows;
        return 1;
    case DC_QUANT_PER_GROUP: {
        uint64_t g = d->group_size;
        if (g == 0) return 0;
        uint64_t ng = cols / g + (cols % g != 0); /* ceil(cols / G) without overflow */
        if (ng != 0 && rows > UINT64_MAX / ng) return 0;
        *n = rows * ng;
        return 1;
    }
    }
    return 0;
}

/* Validates the fields a writer gets and a reader parses alike. */
static const char *check_desc(const dc_tensor_desc *d) {
    if (d->ndim < 1 || d->ndim > DC_MAX_DIMS) return "tensor: bad number of dimensions";
    if (d->bits != 0 && d->bits != 4 && d->bits != 8) return "tensor: bits must be 0, 4 or 8";
    if ((unsigned)d->source_dtype > DC_DTYPE_I8) return "tensor: unknown source dtype";
    if (d->bits == 0 && d->dtype != DC_DTYPE_F32 && d->dtype != DC_DTYPE_F16 &&
        d->dtype != DC_DTYPE_BF16 && d->dtype != DC_DTYPE_I8)
        return "tensor: unquantized tensors must be F32, F16, BF16 or I8 (opaque bytes)";
    if (d->bits != 0 && d->dtype != DC_DTYPE_I8) return "tensor: quantized tensors must be I8";
    uint64_t size, n_scales;
    if (!expected_size(d, &size)) return "tensor: bad shape (overflowing dimension)";
    if (!dc_utf8_valid(d->name, strlen(d->name))) return "tensor: name is not valid UTF-8";
    if (d->bits != 0) {
        if ((unsigned)d->granularity > DC_QUANT_PER_GROUP) return "tensor: unknown granularity";
        if (d->granularity == DC_QUANT_PER_GROUP && d->group_size == 0)
            return "tensor: per-group quantization with group size 0";
        if (!expected_scales(d, &n_scales)) return "tensor: scale count overflows";
        if (d->n_scales != n_scales) return "tensor: wrong number of scales";
    } else if (d->n_scales != 0) {
        return "tensor: scales on an unquantized tensor";
    }
    if (d->n_smooth != 0 && d->n_smooth != d->dims[d->ndim - 1])
        return "tensor: smoothing scales must have one per input column";
    if (d->quant_flags & ~(DC_QUANT_FULL_GRID | DC_QUANT_F16_SCALES))
        return "tensor: unknown quantization flags";
    if (d->quant_flags && d->bits == 0)
        return "tensor: quantization flags on an unquantized tensor";
    if ((d->quant_flags & DC_QUANT_FULL_GRID) && d->bits != 4)
        return "tensor: the full grid is for 4-bit tensors";
    if (d->prune_method < DC_PRUNE_NONE || d->prune_method > DC_PRUNE_MAGNITUDE)
        return "tensor: unknown prune method";
    if (!isfinite(d->alpha) || !isfinite(d->sparsity)) return "tensor: alpha/sparsity not finite";
    return NULL;
}

/* ========================================================================== */
/*                                   Writer                                   */
/* ========================================================================== */

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

struct dc_writer {
    dc_alloc alloc;
    dc_writer_options opt;
    char *path, *tmp_path;
    int tmp_slot; /* in tmpfile.c's table of live temporary files */
    int direct;   /* writing straight into a character device (no temporary file) */
    int err;      /* errno of the first failed system call, for DC_ERR_IO */
    FILE *f;
    uint64_t pos;     /* bytes written so far */
    uint64_t flushed; /* bytes handed to early writeback (start_writeback) */
    buf table, index, names, meta;
    buf kv;               /* the key/value section (dc_writer_set_kv_section); empty: none */
    uint64_t *name_slots; /* hash set of names: offset into `names` + 1, 0 = empty */
    size_t name_cap;      /* slots (a power of two, at most half full) */
    uint64_t tensors, chunks;
    int version2;   /* a raw chunk was placed payload-aligned (file version 2) */
    dc_cctx **cctx; /* one per thread */
    unsigned threads;
    int failed;
};

static int buf_put(const dc_alloc *a, buf *b, const void *data, size_t n) {
    if (n > SIZE_MAX - b->len) return 0;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) {
            if (cap > SIZE_MAX / 2) return 0;
            cap *= 2;
        }
        uint8_t *p = (uint8_t *)dc_malloc(a, cap);
        if (!p) return 0;
        if (b->len) memcpy(p, b->p, b->len);
        dc_free(a, b->p);
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
    return 1;
}

static int buf_u8(const dc_alloc *a, buf *b, unsigned v) {
    uint8_t x = (uint8_t)v;
    return buf_put(a, b, &x, 1);
}
static int buf_u16(const dc_alloc *a, buf *b, unsigned v) {
    uint8_t x[2];
    dc_store_le16(x, (uint16_t)v);
    return buf_put(a, b, x, 2);
}
static int buf_u32(const dc_alloc *a, buf *b, uint32_t v) {
    uint8_t x[4];
    dc_store_le32(x, v);
    return buf_put(a, b, x, 4);
}
static int buf_u64(const dc_alloc *a, buf *b, uint64_t v) {
    uint8_t x[8];
    dc_store_le64(x, v);
    return buf_put(a, b, x, 8);
}
static int buf_f32s(const dc_alloc *a, buf *b, const float *v, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        if (!buf_u32(a, b, u)) return 0;
    }
    return 1;
}

/* 1 if every one of v[0..n) is a binary16 value (n > 0): the tensor table
 * then holds them as binary16 (DC_QUANT_F16_SCALES: one chunk of 2-byte
 * values), exactly. */
static int all_f16(const float *v, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        int exact; /* the converter the scale chunk below is written with (-0 keeps its sign) */
        (void)dc_f16_bits(v[i], &exact);
        if (!exact) return 0;
    }
    return n > 0;
}

static char *dup_str(const dc_alloc *a, const char *s, size_t extra) {
    size_t n = strlen(s);
    char *d = (char *)dc_malloc(a, n + extra + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

/* Records the errno of a failed system call (the first one wins) and gives
 * DC_ERR_IO. */
static dc_status io_error(dc_writer *w) {
    if (w->err == 0) w->err = errno ? errno : EIO;
    return DC_ERR_IO;
}

/* Frees the writer; errno is preserved (it may hold the reason of a failure). */
static void writer_free(dc_writer *w) {
    int e = errno;
    dc_alloc a = w->alloc;
    if (w->f) fclose(w->f);
    dc_tmp_release(&a, w->tmp_path, w->tmp_slot, 1);
    for (unsigned t = 0; w->cctx && t < w->threads; t++)
        dc_cctx_free(w->cctx[t]);
    dc_free(&a, w->cctx);
    dc_free(&a, w->path);
    dc_free(&a, w->table.p);
    dc_free(&a, w->index.p);
    dc_free(&a, w->names.p);
    dc_free(&a, w->meta.p);
    dc_free(&a, w->kv.p);
    dc_free(&a, w->name_slots);
    dc_free(&a, w);
    errno = e;
}

/* FNV-1a of a NUL-terminated string. */
static uint64_t name_hash(const char *s) {
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The slot of `name` in the writer's name set: where it is, or the empty slot
 * where it would go. The set must have a free slot. */
static size_t name_slot(const dc_writer *w, const char *name) {
    size_t mask = w->name_cap - 1, k = (size_t)name_hash(name) & mask;
    while (w->name_slots[k] && strcmp((const char *)w->names.p + w->name_slots[k] - 1, name) != 0)
        k = (k + 1) & mask;
    return k;
}

/* Makes room for one more name (keeps the set at most half full). */
static int names_reserve(dc_writer *w) {
    if (w->name_cap && (w->tensors + 1) * 2 <= w->name_cap) return 1;
    size_t cap = w->name_cap ? w->name_cap * 2 : 64;
    if (cap > SIZE_MAX / sizeof(uint64_t)) return 0;
    uint64_t *old = w->name_slots;
    size_t old_cap = w->name_cap;
    w->name_slots = (uint64_t *)dc_calloc(&w->alloc, cap, sizeof(uint64_t));
    if (!w->name_slots) {
        w->name_slots = old;
        return 0;
    }
    w->name_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i]) w->name_slots[name_slot(w, (const char *)w->names.p + old[i] - 1)] = old[i];
    dc_free(&w->alloc, old);
    return 1;
}

dc_status dc_writer_create(const char *path, const dc_writer_options *options, dc_writer **out) {
    if (out == NULL) return DC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (path == NULL || *path == '\0') return DC_ERR_INVALID_ARGUMENT;
    dc_writer_options o;
    dc_status st = dc_copy_options(&o, sizeof(o), options);
    if (st != DC_OK) return st;
    if (o.threads == 0) o.threads = 1;
    if (o.threads > 256) return DC_ERR_RANGE;
    dc_alloc a;
    if ((st = dc_alloc_init(&a, o.allocator)) != DC_OK) return st;
    if (!o.overwrite && dc_os_stat(path, NULL) != DC_OS_NONE) {
        errno = EEXIST;
        return DC_ERR_IO;
    }
    dc_writer *w = (dc_writer *)dc_calloc(&a, 1, sizeof(*w));
    if (!w) return DC_ERR_OUT_OF_MEMORY;
    w->alloc = a;
    w->opt = o;
    w->threads = o.threads;
    w->tmp_slot = -1;
    w->cctx = (dc_cctx **)dc_calloc(&a, o.threads, sizeof(dc_cctx *));
    w->path = dup_str(&a, path, 0);
    if (!w->cctx || !w->path) {
        writer_free(w);
        return DC_ERR_OUT_OF_MEMORY;
    }
    dc_compress_options co = {sizeof(co), o.codec, o.level, o.chunk_size, o.allocator};
    for (unsigned t = 0; t < o.threads; t++) {
        if ((st = dc_cctx_create(&co, &w->cctx[t])) != DC_OK) {
            writer_free(w);
            return st;
        }
    }
    int fd = dc_tmp_create(&a, path, &w->tmp_path, &w->tmp_slot, &w->direct);
    if (fd < 0 || (w->f = dc_os_fdopen(fd, "wb")) == NULL) {
        int e = errno;
        if (fd >= 0) dc_os_close(fd);
        writer_free(w);
        errno = e;
        return DC_ERR_IO;
    }
    static const uint8_t zeros[DATA_START];
    if (fwrite(zeros, 1, DATA_START, w->f) != DATA_START) {
        st = io_error(w);
        writer_free(w); /* keeps errno */
        return st;
    }
    w->pos = DATA_START;
    *out = w;
    return DC_OK;
}

/* One batch of chunks compressed by several threads. */
typedef struct batch_job {
    dc_cctx *cctx;
    const uint8_t *src;
    size_t chunk, total;       /* chunk size, tensor bytes */
    size_t first, count, step; /* chunks first, first+step, ... (count of them) */
    uint8_t **out;
    size_t *out_size;
    dc_status st;
} batch_job;

static void *compress_batch(void *arg) {
    batch_job *j = (batch_job *)arg;
    j->st = DC_OK;
    for (size_t k = j->first; k < j->count; k += j->step) {
        size_t off = k * j->chunk, len = j->total - off < j->chunk ? j->total - off : j->chunk;
        dc_status st = dc_chunk_compress(j->cctx, j->src + off, len, j->out[k],
                                         dc_compress_bound(len), &j->out_size[k]);
        if (st != DC_OK) j->st = st;
    }
    return NULL;
}

/* Zero bytes up to the next offset that is `skew` past a multiple of 64. */
static dc_status write_pad_to(dc_writer *w, unsigned skew) {
    static const uint8_t zeros[ALIGN];
    size_t pad = (size_t)((ALIGN + skew - w->pos % ALIGN) % ALIGN);
    if (pad && fwrite(zeros, 1, pad, w->f) != pad) return io_error(w);
    w->pos += pad;
    return DC_OK;
}

static dc_status write_pad(dc_writer *w) {
    return write_pad_to(w, 0);
}

/* Starts the kernel writing what is written so far, without waiting for it,
 * every WRITEBACK_STEP bytes: the fsync in dc_writer_finish() then only waits
 * for the tail instead of the whole file (which would be a serial stall after
 * all the coding work). A hint: failures are ignored; fsync reports errors. */
#define WRITEBACK_STEP (16u << 20)
static void start_writeback(dc_writer *w) {
    if (w->pos - w->flushed < WRITEBACK_STEP || fflush(w->f) != 0) return;
    dc_os_writeback(w->f, w->flushed, w->pos - w->flushed);
    w->flushed = w->pos;
}

/* Compresses and writes the tensor's chunks; appends their index entries. */
/* The raw bytes of each of a tensor's chunks (the last may be shorter): the
 * writer's chunk size, or with chunk_rows whole rows (dc_writer_options). */
static size_t tensor_chunk_bytes(const dc_writer *w, const dc_tensor_desc *d, uint64_t size) {
    size_t chunk = w->opt.chunk_size ? w->opt.chunk_size : DC_CHUNK_SIZE_DEFAULT;
    uint64_t rows;
    if (w->opt.chunk_rows == 0 || size == 0 || !tensor_rows(d, &rows) || rows == 0) return chunk;
    uint64_t row_bytes = size / rows; /* check_desc: size = rows x row bytes */
    if (row_bytes == 0 || row_bytes > DC_CHUNK_SIZE_MAX) return chunk; /* rows too long */
    uint64_t n = w->opt.chunk_rows == DC_CHUNK_ROWS_FIT ? chunk / row_bytes : w->opt.chunk_rows;
    if (n == 0) n = 1;
    if (n > DC_CHUNK_SIZE_MAX / row_bytes) n = DC_CHUNK_SIZE_MAX / row_bytes;
    return (size_t)(n * row_bytes);
}

static dc_status write_chunks(dc_writer *w, const uint8_t *data, size_t size, uint32_t tensor,
                              size_t chunk) {
    size_t nchunks = (size + chunk - 1) / chunk;
    size_t per_batch = 4 * (size_t)w->threads; /* bounds memory: a few chunks per thread */
    if (per_batch > nchunks) per_batch = nchunks ? nchunks : 1;
    size_t bound = dc_compress_bound(size < chunk ? size : chunk); /* scratch fits the tensor */
    uint8_t **out = (uint8_t **)dc_calloc(&w->alloc, per_batch, sizeof(uint8_t *));
    size_t *out_size = (size_t *)dc_calloc(&w->alloc, per_batch, sizeof(size_t));
    dc_status st = out && out_size ? DC_OK : DC_ERR_OUT_OF_MEMORY;
    for (size_t k = 0; st == DC_OK && k < per_batch; k++)
        if (!(out[k] = (uint8_t *)dc_malloc(&w->alloc, bound))) st = DC_ERR_OUT_OF_MEMORY;
    for (size_t base = 0; st == DC_OK && base < nchunks; base += per_batch) {
        size_t count = nchunks - base < per_batch ? nchunks - base : per_batch;
        batch_job jobs[DC_MAX_THREADS];
        unsigned nt = w->threads < count ? w->threads : (unsigned)count;
        for (unsigned t = 0; t < nt; t++)
            jobs[t] = (batch_job){w->cctx[t], data + base * chunk,
                                  chunk,      size - base * chunk,
                                  t,          count,
                                  nt,         out,
                                  out_size,   DC_OK};
        dc_run_parallel(nt, compress_batch, jobs, sizeof(jobs[0]));
        for (unsigned t = 0; t < nt; t++)
            if (jobs[t].st != DC_OK) st = jobs[t].st;
        for (size_t k = 0; st == DC_OK && k < count; k++) {
            size_t raw;
            dc_codec codec;
            dc_chunk_info(out[k], out_size[k], NULL, &raw, &codec);
            /* a raw chunk's payload (the tensor's bytes) on a 64-byte boundary */
            const int raw_aligned = codec == DC_CODEC_RAW && raw > 0;
            if ((st = write_pad_to(w, raw_aligned ? RAW_PAYLOAD_SKEW : 0)) != DC_OK) break;
            w->version2 |= raw_aligned;
            if (fwrite(out[k], 1, out_size[k], w->f) != out_size[k]) {
                st = io_error(w);
                break;
            }
            uint8_t e[INDEX_ENTRY] = {0};
            dc_store_le64(e, w->pos);
            dc_store_le32(e + 8, (uint32_t)out_size[k]);
            dc_store_le32(e + 12, (uint32_t)raw);
            dc_store_le32(e + 16, dc_load_le32(out[k] + 16)); /* the chunk's checksum */
            e[20] = out[k][4];                                /* codec tag */
            dc_store_le32(e + 24, tensor);
            if (!buf_put(&w->alloc, &w->index, e, sizeof(e))) st = DC_ERR_OUT_OF_MEMORY;
            w->pos += out_size[k];
            w->chunks++;
        }
        if (st == DC_OK) start_writeback(w);
    }
    for (size_t k = 0; out && k < per_batch; k++)
        dc_free(&w->alloc, out[k]);
    dc_free(&w->alloc, out);
    dc_free(&w->alloc, out_size);
    return st;
}

dc_status dc_writer_add_tensor(dc_writer *w, const dc_tensor_desc *desc_in, const void *data,
                               size_t size) {
    if (w == NULL || desc_in == NULL || (data == NULL && size) || w->failed)
        return DC_ERR_INVALID_ARGUMENT;
    /* callers built before quant_flags pass a smaller struct: it reads as 0 */
    if (desc_in->struct_size < offsetof(dc_tensor_desc, quant_flags) || desc_in->name == NULL)
        return DC_ERR_INVALID_ARGUMENT;
    dc_tensor_desc dl;
    memset(&dl, 0, sizeof(dl));
    memcpy(&dl, desc_in, desc_in->struct_size < sizeof(dl) ? desc_in->struct_size : sizeof(dl));
    const dc_tensor_desc *desc = &dl;
    size_t name_len = strlen(desc->name);
    if (name_len == 0 || name_len > 65535 || check_desc(desc) != NULL)
        return DC_ERR_INVALID_ARGUMENT;
    uint64_t want;
    if (!expected_size(desc, &want) || want != size) return DC_ERR_SIZE_MISMATCH;
    if ((desc->n_scales && !desc->scales) || (desc->n_smooth && !desc->smooth))
        return DC_ERR_INVALID_ARGUMENT;
    if (!dc_all_finite_f32(desc->scales, desc->n_scales) ||
        !dc_all_finite_f32(desc->smooth, desc->n_smooth))
        return DC_ERR_NOT_FINITE;
    /* names: a hash set over the NUL-separated list, so n names cost O(n) */
    if (w->tensors >= UINT32_MAX) return DC_ERR_RANGE;
    if (!names_reserve(w)) return DC_ERR_OUT_OF_MEMORY;
    size_t slot = name_slot(w, desc->name);
    if (w->name_slots[slot]) return DC_ERR_INVALID_ARGUMENT;

    /* scales that binary16 holds exactly (Q8_0 block scales, GGUF-bound
     * quantization) are stored so even when the caller did not say so */
    if (desc->bits && desc->n_scales && (size_t)desc->n_scales <= DC_CHUNK_SIZE_MAX / 2 &&
        all_f16(desc->scales, desc->n_scales))
        dl.quant_flags |= DC_QUANT_F16_SCALES;
    /* binary16 scales: each must be one exactly; they are stored as one chunk */
    uint8_t *h16 = NULL, *h16c = NULL;
    size_t h16c_size = 0;
    if (desc->quant_flags & DC_QUANT_F16_SCALES) {
        if (desc->n_scales > (SIZE_MAX - 64) / 4) return DC_ERR_RANGE;
        const size_t hn = (size_t)desc->n_scales * 2, cap = dc_compress_bound(hn) + 64;
        h16 = (uint8_t *)dc_malloc(&w->alloc, hn ? hn : 1);
        h16c = (uint8_t *)dc_malloc(&w->alloc, cap);
        dc_status hs = h16 && h16c ? DC_OK : DC_ERR_OUT_OF_MEMORY;
        for (size_t k = 0; hs == DC_OK && k < desc->n_scales; k++) {
            int exact;
            dc_store_le16(h16 + 2 * k, dc_f16_bits(desc->scales[k], &exact));
            if (!exact) hs = DC_ERR_RANGE;
        }
        if (hs == DC_OK) hs = dc_chunk_compress(w->cctx[0], h16, hn, h16c, cap, &h16c_size);
        dc_free(&w->alloc, h16);
        if (hs != DC_OK) {
            dc_free(&w->alloc, h16c);
            return hs;
        }
    }
    /* DC_CODEC_FLOAT codes each tensor by its dtype (quantized or I8: ANS) */
    const unsigned elem = desc->bits || desc->dtype == DC_DTYPE_I8 ? 1u
                          : desc->dtype == DC_DTYPE_F32            ? 4u
                                                                   : 2u;
    for (unsigned t = 0; t < w->threads; t++)
        dc_cctx_set_element_size(w->cctx[t], elem);
    uint32_t first = (uint32_t)w->chunks;
    dc_status st = write_chunks(w, (const uint8_t *)data, size, (uint32_t)w->tensors,
                                tensor_chunk_bytes(w, desc, size));
    if (st != DC_OK) {
        dc_free(&w->alloc, h16c);
        w->failed = 1;
        if (st == DC_ERR_IO) errno = w->err;
        return st;
    }
    const dc_alloc *a = &w->alloc;
    buf rec = {0};
    int ok = buf_u16(a, &rec, (unsigned)name_len) && buf_put(a, &rec, desc->name, name_len) &&
             buf_u8(a, &rec, desc->ndim) && buf_u8(a, &rec, (unsigned)desc->source_dtype) &&
             buf_u8(a, &rec, (unsigned)desc->dtype) && buf_u8(a, &rec, desc->bits) &&
             buf_u8(a, &rec, (unsigned)desc->granularity) &&
             buf_u8(a, &rec, (unsigned)(desc->prune_method & 0xFF)) &&
             buf_u16(a, &rec, desc->quant_flags) && buf_u64(a, &rec, desc->group_size) &&
             buf_f32s(a, &rec, &desc->alpha, 1) && buf_f32s(a, &rec, &desc->sparsity, 1);
    for (unsigned i = 0; ok && i < desc->ndim; i++)
        ok = buf_u64(a, &rec, desc->dims[i]);
    ok = ok && buf_u64(a, &rec, size) && buf_u32(a, &rec, first) &&
         buf_u32(a, &rec, (uint32_t)(w->chunks - first)) && buf_u64(a, &rec, desc->n_scales);
    if (desc->quant_flags & DC_QUANT_F16_SCALES) /* u32 size, then the chunk of binary16 scales */
        ok = ok && h16c_size <= UINT32_MAX && buf_u32(a, &rec, (uint32_t)h16c_size) &&
             buf_put(a, &rec, h16c, h16c_size);
    else
        ok = ok && buf_f32s(a, &rec, desc->scales, desc->n_scales);
    dc_free(a, h16c);
    ok = ok && buf_u64(a, &rec, desc->n_smooth) && buf_f32s(a, &rec, desc->smooth, desc->n_smooth);
    size_t name_off = w->names.len;
    ok = ok && rec.len <= UINT32_MAX - 4 && buf_u32(a, &w->table, (uint32_t)(rec.len + 4)) &&
         buf_put(a, &w->table, rec.p, rec.len) && buf_put(a, &w->names, desc->name, name_len + 1);
    dc_free(a, rec.p);
    if (!ok) {
        w->failed = 1;
        return DC_ERR_OUT_OF_MEMORY;
    }
    w->name_slots[slot] = (uint64_t)name_off + 1;
    w->tensors++;
    return DC_OK;
}

dc_status dc_writer_set_metadata(dc_writer *w, const char *json) {
    if (w == NULL || json == NULL) return DC_ERR_INVALID_ARGUMENT;
    if (!dc_utf8_valid(json, strlen(json))) return DC_ERR_INVALID_ARGUMENT;
    w->meta.len = 0;
    return buf_put(&w->alloc, &w->meta, json, strlen(json)) ? DC_OK : DC_ERR_OUT_OF_MEMORY;
}

dc_status dc_writer_set_kv_section(dc_writer *w, const void *data, size_t size) {
    if (w == NULL || (data == NULL && size != 0)) return DC_ERR_INVALID_ARGUMENT;
    if (size != 0) {
        dc_gguf *g = NULL;
        dc_status st = dc_gguf_section_parse(&w->alloc, data, size, &g, NULL);
        dc_gguf_free(g);
        if (st != DC_OK) return st == DC_ERR_OUT_OF_MEMORY ? st : DC_ERR_INVALID_ARGUMENT;
    }
    w->kv.len = 0;
    return size == 0 || buf_put(&w->alloc, &w->kv, data, size) ? DC_OK : DC_ERR_OUT_OF_MEMORY;
}

static dc_status write_section(dc_writer *w, const buf *b, uint64_t *off) {
    dc_status st = write_pad(w);
    if (st != DC_OK) return st;
    *off = w->pos;
    if (b->len && fwrite(b->p, 1, b->len, w->f) != b->len) return io_error(w);
    w->pos += b->len;
    return DC_OK;
}

dc_status dc_writer_finish(dc_writer *w) {
    if (w == NULL) return DC_ERR_INVALID_ARGUMENT;
    if (w->failed) {
        int err = w->err;
        writer_free(w);
        errno = err;
        return DC_ERR_INVALID_ARGUMENT;
    }
    uint64_t table_off, index_off, meta_off, kv_off = 0;
    dc_status st = write_section(w, &w->table, &table_off);
    if (st == DC_OK) st = write_section(w, &w->index, &index_off);
    if (st == DC_OK) st = write_section(w, &w->meta, &meta_off);
    if (st == DC_OK && w->kv.len) st = write_section(w, &w->kv, &kv_off);
    if (st == DC_OK) {
        uint8_t h[DATA_START] = {0}; /* the header, and the key/value section's place at 96 */
        memcpy(h, FILE_MAGIC, 8);
        dc_store_le32(h + 8, w->version2 ? 2u : 1u); /* the oldest that holds the file */
        dc_store_le64(h + 16, w->pos);
        dc_store_le64(h + 24, w->tensors);
        dc_store_le64(h + 32, table_off);
        dc_store_le64(h + 40, w->table.len);
        dc_store_le64(h + 48, index_off);
        dc_store_le64(h + 56, w->chunks);
        dc_store_le64(h + 64, meta_off);
        dc_store_le64(h + 72, w->meta.len);
        dc_store_le32(h + 80, dc_checksum32(w->table.p, w->table.len));
        dc_store_le32(h + 84, dc_checksum32(w->index.p, w->index.len));
        dc_store_le32(h + 88, dc_checksum32(w->meta.p, w->meta.len));
        dc_store_le32(h + 92, dc_checksum32(h, 92));
        if (w->kv.len) {
            dc_store_le64(h + 96, kv_off);
            dc_store_le64(h + 104, w->kv.len);
            dc_store_le32(h + 112, dc_checksum32(w->kv.p, w->kv.len));
            dc_store_le32(h + 116, dc_checksum32(h + 96, 20));
        }
        if (fflush(w->f) != 0 || fseek(w->f, 0, SEEK_SET) != 0 ||
            fwrite(h, 1, DATA_START, w->f) != DATA_START || fflush(w->f) != 0 ||
            (!w->direct && dc_os_fsync(w->f) != 0))
            st = io_error(w);
    }
    if (fclose(w->f) != 0 && st == DC_OK) st = io_error(w);
    w->f = NULL;
    if (st == DC_OK && !w->direct) {
        /* without overwrite, fails if path appeared meanwhile */
        if (dc_os_rename(w->tmp_path, w->path, w->opt.overwrite) != 0) st = io_error(w);
    }
    int err = w->err;
    writer_free(w); /* removes the temporary name (the data lives on at path) */
    if (st == DC_ERR_IO) errno = err;
    return st;
}

void dc_writer_abort(dc_writer *w) {
    if (w) writer_free(w);
}

/* ========================================================================== */
/*                                   Reader                                   */
/* ========================================================================== */

typedef struct tensor_rec {
    dc_tensor_desc d;
    const uint8_t *scales_le, *smooth_le; /* little-endian floats inside the file */
    float *scales, *smooth;               /* decoded copies */
} tensor_rec;

struct dc_reader {
    dc_alloc alloc;
    /* the whole file (mapped, or the caller's memory); NULL with DC_READER_NO_MMAP */
    const uint8_t *data;
    size_t size;
    int mapped;
    int fd;                    /* open file with DC_READER_NO_MMAP, else -1 */
    uint8_t head[HEADER_SIZE]; /* DC_READER_NO_MMAP: the header, read with pread */
    uint8_t *sections;         /* copies of the tensor table, chunk index and metadata */
    uint64_t ntensors, nchunks;
    const uint8_t *index; /* nchunks * 32 bytes */
    tensor_rec *t;
    uint32_t *name_slots;       /* hash set of tensor numbers + 1 by name, 0 = empty */
    size_t name_mask;           /* slots - 1 (a power of two, at most half full) */
    const tensor_rec **by_name; /* sorted by name, if name_slots could not be built */
    char *names;                /* all names, NUL-terminated, for desc->name */
    char *meta;
    uint8_t *kv; /* the key/value section (checked at open), NULL if none */
    uint64_t kv_size;
    dc_gguf *kvg; /* kv parsed (typed metadata, meta.c), NULL if none */
    uint64_t largest_tensor, largest_chunk, largest_stored; /* dc_reader_get_footprint */
    uint64_t *raw_off; /* per chunk: offset of its first byte within its tensor */
};

static int cmp_rec_name(const void *a, const void *b) {
    return strcmp((*(const tensor_rec *const *)a)->d.name, (*(const tensor_rec *const *)b)->d.name);
}

/* A bounds-checked cursor over a byte range. */
typedef struct cursor {
    const uint8_t *p, *end;
    int bad;
} cursor;

static const uint8_t *cur_take(cursor *c, uint64_t n) {
    if (c->bad || n > (uint64_t)(c->end - c->p)) {
        c->bad = 1;
        return NULL;
    }
    const uint8_t *r = c->p;
    c->p += n;
    return r;
}
static uint64_t cur_u(cursor *c, unsigned bytes) {
    const uint8_t *p = cur_take(c, bytes);
    if (!p) return 0;
    return bytes == 1   ? p[0]
           : bytes == 2 ? dc_load_le16(p)
           : bytes == 4 ? dc_load_le32(p)
                        : dc_load_le64(p);
}
static float cur_f32(cursor *c) {
    uint32_t u = (uint32_t)cur_u(c, 4);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static float *load_floats(const dc_alloc *a, const uint8_t *p, uint64_t n) {
    float *v = (float *)dc_malloc(a, n ? (size_t)n * 4 : 1);
    for (uint64_t i = 0; v && i < n; i++) {
        uint32_t u = dc_load_le32(p + 4 * i);
        memcpy(&v[i], &u, 4);
    }
    return v;
}

#define FAIL(code, msg)                                                                            \
    do {                                                                                           \
        if (detail) *detail = msg;                                                                 \
        return code;                                                                               \
    } while (0)

static dc_status read_at(const dc_reader *r, void *dst, size_t n, uint64_t off);

/* The key/value section (docs/format.md, 6.7): its place in header bytes
 * 96..119 (all zero: none, as in files written before it existed), then
 * bounds, checksums and contents checked, and a copy kept. */
static dc_status load_kv_section(dc_reader *r, uint64_t size, const char **detail) {
    uint8_t e[24];
    if (r->data) {
        memcpy(e, r->data + 96, 24);
    } else if (read_at(r, e, 24, 96) != DC_OK) {
        FAIL(DC_ERR_IO, "cannot read the file");
    }
    uint64_t off = dc_load_le64(e), len = dc_load_le64(e + 8);
    if (off == 0 && len == 0 && dc_load_le64(e + 16) == 0) return DC_OK;
    if (dc_checksum32(e, 20) != dc_load_le32(e + 20))
        FAIL(DC_ERR_CHECKSUM, "key/value section: header entry checksum mismatch");
    if (off < DATA_START || off > size || len > size - off || len == 0 || len > SIZE_MAX - 1)
        FAIL(DC_ERR_CORRUPT, "key/value section: offset or size outside the file");
    r->kv = (uint8_t *)dc_malloc(&r->alloc, (size_t)len);
    if (!r->kv) FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
    if (r->data) {
        memcpy(r->kv, r->data + off, (size_t)len);
    } else {
        dc_status st = read_at(r, r->kv, (size_t)len, off);
        if (st == DC_ERR_IO) FAIL(st, "cannot read the file");
        if (st != DC_OK) FAIL(st, "file shrank while being read (truncated)");
    }
    r->kv_size = len;
    if (dc_checksum32(r->kv, (size_t)len) != dc_load_le32(e + 16))
        FAIL(DC_ERR_CHECKSUM, "key/value section: checksum mismatch");
    dc_gguf *g = NULL;
    const char *why = NULL;
    dc_status st = dc_gguf_section_parse(&r->alloc, r->kv, (size_t)len, &g, &why);
    if (st != DC_OK) {
        dc_gguf_free(g);
        FAIL(st, why ? why : "key/value section: malformed");
    }
    r->kvg = g; /* typed metadata (meta.c) */
    return DC_OK;
}

/* Reads exactly n bytes at off from the reader's file (DC_READER_NO_MMAP).
 * DC_ERR_IO (errno set) on a read error, DC_ERR_TRUNCATED if the file ends
 * first (it shrank after it was opened). */
static dc_status read_at(const dc_reader *r, void *dst, size_t n, uint64_t off) {
    size_t got;
    if (dc_os_pread(r->fd, dst, n, off, &got) != 0) return DC_ERR_IO;
    return got < n ? DC_ERR_TRUNCATED : DC_OK;
}

/* Copies the file ranges of the tensor table, chunk index and metadata
 * (already checked to lie inside the file) into one owned buffer, so that
 * nothing parsed here is read again from a mapping that may change, and
 * sets *tab, *idx, *met to them. */
static dc_status load_sections(dc_reader *r, const uint64_t off[3], const uint64_t len[3],
                               const uint8_t *sec[3], const char **detail) {
    uint64_t total = len[0] + len[1] + len[2]; /* each <= size: no overflow */
    r->sections = (uint8_t *)dc_malloc(&r->alloc, total ? (size_t)total : 1);
    if (!r->sections) FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
    uint8_t *p = r->sections;
    for (int i = 0; i < 3; i++) {
        sec[i] = p;
        if (len[i] == 0) continue;
        if (r->data) {
            memcpy(p, r->data + off[i], (size_t)len[i]);
        } else {
            dc_status st = read_at(r, p, (size_t)len[i], off[i]);
            if (st == DC_ERR_IO) FAIL(st, "cannot read the file");
            if (st != DC_OK) FAIL(st, "file shrank while being read (truncated)");
        }
        p += len[i];
    }
    return DC_OK;
}

/* Most slots a name may be from its home slot in the reader's hash set: a
 * file whose names collide more than this (crafted, since FNV-1a spreads
 * real names well) gets the sorted index instead, so neither open nor a
 * lookup can be driven quadratic. */
#define NAME_PROBES 32

/* Builds the reader's hash set of names (O(n), as the writer's). Returns 0,
 * leaving none, if a name lies more than NAME_PROBES slots from home or
 * memory is short; sets *dup if two tensors have the same name. */
static int build_name_slots(dc_reader *r, int *dup) {
    if (r->ntensors >= UINT32_MAX / 4) return 0;
    size_t cap = 16;
    while (cap < 2 * (size_t)r->ntensors)
        cap *= 2;
    uint32_t *slots = (uint32_t *)dc_calloc(&r->alloc, cap, sizeof(uint32_t));
    if (!slots) return 0;
    for (uint64_t i = 0; i < r->ntensors; i++) {
        const char *name = r->t[i].d.name;
        size_t k = (size_t)name_hash(name) & (cap - 1);
        for (unsigned probe = 0; slots[k]; probe++, k = (k + 1) & (cap - 1)) {
            if (probe == NAME_PROBES) {
                dc_free(&r->alloc, slots);
                return 0;
            }
            if (strcmp(r->t[slots[k] - 1].d.name, name) == 0) *dup = 1;
        }
        slots[k] = (uint32_t)i + 1;
    }
    r->name_slots = slots;
    r->name_mask = cap - 1;
    return 1;
}

static dc_status parse(dc_reader *r, const char **detail) {
    const uint8_t *h = r->data ? r->data : r->head;
    uint64_t size = r->size;
    if (size < 8 || memcmp(h, FILE_MAGIC, 8) != 0)
        FAIL(DC_ERR_FORMAT, "not a .dcz file (bad magic)");
    if (size < HEADER_SIZE) FAIL(DC_ERR_TRUNCATED, "header: file shorter than the header");
    if (dc_checksum32(h, 92) != dc_load_le32(h + 92))
        FAIL(DC_ERR_CHECKSUM, "header: checksum mismatch");
    const uint32_t version = dc_load_le32(h + 8);
    if (version < 1 || version > FILE_VERSION)
        FAIL(DC_ERR_UNSUPPORTED, "header: unsupported version");
    if (dc_load_le32(h + 12) != 0) FAIL(DC_ERR_UNSUPPORTED, "header: unknown flags");
    uint64_t file_size = dc_load_le64(h + 16);
    if (file_size > size)
        FAIL(DC_ERR_TRUNCATED, "header: file is shorter than recorded (truncated)");
    if (file_size < size) FAIL(DC_ERR_CORRUPT, "header: file is longer than recorded");
    r->ntensors = dc_load_le64(h + 24);
    uint64_t toff = dc_load_le64(h + 32), tsize = dc_load_le64(h + 40);
    uint64_t ioff = dc_load_le64(h + 48);
    r->nchunks = dc_load_le64(h + 56);
    uint64_t moff = dc_load_le64(h + 64), msize = dc_load_le64(h + 72);
    if (toff < DATA_START || toff > size || tsize > size - toff)
        FAIL(DC_ERR_CORRUPT, "tensor table: offset or size outside the file");
    if (r->nchunks > (size / INDEX_ENTRY) || ioff < DATA_START || ioff > size ||
        r->nchunks * INDEX_ENTRY > size - ioff)
        FAIL(DC_ERR_CORRUPT, "chunk index: offset or count outside the file");
    if (moff < DATA_START || moff > size || msize > size - moff)
        FAIL(DC_ERR_CORRUPT, "metadata: offset or size outside the file");
    if (r->ntensors > tsize / 8) FAIL(DC_ERR_CORRUPT, "tensor table: tensor count too large");
    const uint64_t sec_off[3] = {toff, ioff, moff};
    const uint64_t sec_len[3] = {tsize, r->nchunks * INDEX_ENTRY, msize};
    const uint8_t *sec[3];
    dc_status lst = load_sections(r, sec_off, sec_len, sec, detail);
    if (lst != DC_OK) return lst;
    const uint8_t *tab = sec[0], *met = sec[2];
    if (dc_checksum32(tab, (size_t)tsize) != dc_load_le32(h + 80))
        FAIL(DC_ERR_CHECKSUM, "tensor table: checksum mismatch");
    if (dc_checksum32(sec[1], (size_t)(r->nchunks * INDEX_ENTRY)) != dc_load_le32(h + 84))
        FAIL(DC_ERR_CHECKSUM, "chunk index: checksum mismatch");
    if (dc_checksum32(met, (size_t)msize) != dc_load_le32(h + 88))
        FAIL(DC_ERR_CHECKSUM, "metadata: checksum mismatch");
    r->index = sec[1];

    r->meta = (char *)dc_malloc(&r->alloc, (size_t)msize + 1);
    r->t = (tensor_rec *)dc_calloc(&r->alloc, (size_t)r->ntensors + 1, sizeof(tensor_rec));
    r->names = (char *)dc_malloc(&r->alloc, (size_t)tsize + 1);
    r->by_name =
        (const tensor_rec **)dc_calloc(&r->alloc, (size_t)r->ntensors + 1, sizeof(*r->by_name));
    r->raw_off = (uint64_t *)dc_malloc(&r->alloc, (size_t)r->nchunks * 8 + 8);
    if (!r->meta || !r->t || !r->names || !r->by_name || !r->raw_off)
        FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(r->meta, met, (size_t)msize);
    r->meta[msize] = '\0';
    if (memchr(r->meta, 0, (size_t)msize)) FAIL(DC_ERR_CORRUPT, "metadata: contains a NUL byte");
    if (!dc_utf8_valid(r->meta, (size_t)msize)) FAIL(DC_ERR_CORRUPT, "metadata: not valid UTF-8");
    dc_status kst = load_kv_section(r, size, detail);
    if (kst != DC_OK) return kst;

    /* chunk index entries: in the data region, aligned, non-overlapping, in order */
    uint64_t prev_end = DATA_START;
    for (uint64_t k = 0; k < r->nchunks; k++) {
        const uint8_t *e = r->index + k * INDEX_ENTRY;
        uint64_t off = dc_load_le64(e), csize = dc_load_le32(e + 8), raw = dc_load_le32(e + 12);
        /* 64-aligned; in version 2 a raw chunk's payload instead */
        const int skewed = version >= 2 && e[20] == 0 && off % ALIGN == RAW_PAYLOAD_SKEW;
        if ((off % ALIGN && !skewed) || off < prev_end || off > toff || csize > toff - off)
            FAIL(DC_ERR_CORRUPT, "chunk index: chunk offset outside the data region");
        if (csize < DC_CHUNK_HEADER_SIZE || raw > DC_CHUNK_SIZE_MAX || e[20] > 5 ||
            e[21] | e[22] | e[23] | e[28] | e[29] | e[30] | e[31])
            FAIL(DC_ERR_CORRUPT, "chunk index: bad size, codec tag or reserved field");
        if (dc_load_le32(e + 24) >= r->ntensors)
            FAIL(DC_ERR_CORRUPT, "chunk index: tensor number out of range");
        /* what a chunk may decode to is bounded by its codec: raw chunks hold
         * their bytes, runs one byte, LZ4 at most 255 bytes per payload byte */
        uint64_t payload = csize - DC_CHUNK_HEADER_SIZE;
        if ((e[20] == 0 && raw != payload) || (e[20] == 4 && (payload != 1 || raw == 0)) ||
            (e[20] == 3 && raw > 255 * payload + 16))
            FAIL(DC_ERR_CORRUPT, "chunk index: decoded size impossible for the chunk's codec");
        if (raw > r->largest_chunk) r->largest_chunk = raw;
        if (csize > r->largest_stored) r->largest_stored = csize;
        prev_end = off + csize;
    }

    cursor c = {tab, tab + tsize, 0};
    size_t names_len = 0;
    uint32_t next_chunk = 0;
    for (uint64_t i = 0; i < r->ntensors; i++) {
        tensor_rec *t = &r->t[i];
        dc_tensor_desc *d = &t->d;
        uint64_t rec_size = cur_u(&c, 4);
        if (c.bad || rec_size < 4 || rec_size - 4 > (uint64_t)(c.end - c.p))
            FAIL(DC_ERR_CORRUPT, "tensor table: record size outside the table");
        cursor rc = {c.p, c.p + (rec_size - 4), 0};
        c.p += rec_size - 4;
        size_t nlen = (size_t)cur_u(&rc, 2);
        const uint8_t *name = cur_take(&rc, nlen);
        if (rc.bad || nlen == 0 || memchr(name, 0, nlen))
            FAIL(DC_ERR_CORRUPT, "tensor table: bad tensor name");
        memcpy(r->names + names_len, name, nlen);
        r->names[names_len + nlen] = '\0';
        d->struct_size = sizeof(*d);
        d->name = r->names + names_len;
        names_len += nlen + 1;
        d->ndim = (unsigned)cur_u(&rc, 1);
        d->source_dtype = (dc_dtype)cur_u(&rc, 1);
        d->dtype = (dc_dtype)cur_u(&rc, 1);
        d->bits = (unsigned)cur_u(&rc, 1);
        d->granularity = (dc_quant_granularity)cur_u(&rc, 1);
        unsigned pm = (unsigned)cur_u(&rc, 1);
        d->prune_method = pm == 0xFF ? DC_PRUNE_NONE : (int)pm;
        d->quant_flags = (unsigned)cur_u(&rc, 2); /* 0 in files before 0.1.0: checked below */
        d->group_size = cur_u(&rc, 8);
        d->alpha = cur_f32(&rc);
        d->sparsity = cur_f32(&rc);
        if (d->ndim < 1 || d->ndim > DC_MAX_DIMS)
            FAIL(DC_ERR_CORRUPT, "tensor table: bad number of dimensions");
        for (unsigned k = 0; k < d->ndim; k++)
            d->dims[k] = cur_u(&rc, 8);
        d->data_size = cur_u(&rc, 8);
        d->first_chunk = (uint32_t)cur_u(&rc, 4);
        d->n_chunks = (uint32_t)cur_u(&rc, 4);
        d->n_scales = cur_u(&rc, 8);
        const uint8_t *h16c = NULL;
        size_t h16c_size = 0;
        if (d->quant_flags & DC_QUANT_F16_SCALES) { /* a chunk of 2-byte binary16 scales */
            h16c_size = (size_t)cur_u(&rc, 4);
            if (h16c_size > (size_t)(rc.end - rc.p) || d->n_scales > SIZE_MAX / 4)
                FAIL(DC_ERR_CORRUPT, "tensor table: scale chunk outside the record");
            h16c = cur_take(&rc, h16c_size);
            t->scales_le = NULL;
        } else {
            if (d->n_scales > (uint64_t)(rc.end - rc.p) / 4)
                FAIL(DC_ERR_CORRUPT, "tensor table: scale count outside the record");
            t->scales_le = cur_take(&rc, d->n_scales * 4);
        }
        d->n_smooth = cur_u(&rc, 8);
        if (d->n_smooth > (uint64_t)(rc.end - rc.p) / 4)
            FAIL(DC_ERR_CORRUPT, "tensor table: smoothing count outside the record");
        t->smooth_le = cur_take(&rc, d->n_smooth * 4);
        if (rc.bad) FAIL(DC_ERR_CORRUPT, "tensor table: record shorter than its fields");
        if (rc.p != rc.end) FAIL(DC_ERR_CORRUPT, "tensor table: record longer than its fields");
        const char *why = check_desc(d);
        if (why) FAIL(DC_ERR_CORRUPT, why);
        uint64_t want;
        if (!expected_size(d, &want) || want != d->data_size)
            FAIL(DC_ERR_CORRUPT, "tensor table: data size does not match the shape");
        if (d->first_chunk != next_chunk || d->n_chunks > r->nchunks - next_chunk)
            FAIL(DC_ERR_CORRUPT, "tensor table: chunk range does not follow the chunk index");
        uint64_t raw_total = 0;
        for (uint32_t k = 0; k < d->n_chunks; k++) {
            const uint8_t *e = r->index + (uint64_t)(d->first_chunk + k) * INDEX_ENTRY;
            r->raw_off[d->first_chunk + k] = raw_total;
            raw_total += dc_load_le32(e + 12);
            if (dc_load_le32(e + 24) != i)
                FAIL(DC_ERR_CORRUPT, "chunk index: chunk belongs to another tensor");
        }
        if (raw_total != d->data_size)
            FAIL(DC_ERR_CORRUPT, "chunk index: chunk sizes do not add up to the tensor size");
        next_chunk += d->n_chunks;
        if (h16c) { /* decode the scale chunk: exactly 2 bytes per scale */
            const size_t hn = (size_t)d->n_scales * 2;
            size_t csz = 0, craw = 0;
            if (dc_chunk_info(h16c, h16c_size, &csz, &craw, NULL) != DC_OK || csz != h16c_size ||
                craw != hn)
                FAIL(DC_ERR_CORRUPT, "tensor table: bad binary16 scale chunk");
            uint8_t *h16 = (uint8_t *)dc_malloc(&r->alloc, hn ? hn : 1);
            t->scales = (float *)dc_malloc(&r->alloc, d->n_scales ? (size_t)d->n_scales * 4 : 4);
            if (!h16 || !t->scales) {
                dc_free(&r->alloc, h16);
                FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
            }
            size_t got = 0;
            dc_status hs = dc_chunk_decompress(NULL, h16c, h16c_size, h16, hn, &got);
            for (size_t k = 0; hs == DC_OK && got == hn && k < d->n_scales; k++)
                t->scales[k] = dc_f16_value(dc_load_le16(h16 + 2 * k));
            dc_free(&r->alloc, h16);
            if (hs != DC_OK || got != hn)
                FAIL(DC_ERR_CORRUPT, "tensor table: bad binary16 scale chunk");
        } else {
            t->scales = load_floats(&r->alloc, t->scales_le, d->n_scales);
        }
        t->smooth = load_floats(&r->alloc, t->smooth_le, d->n_smooth);
        if (!t->scales || !t->smooth) FAIL(DC_ERR_OUT_OF_MEMORY, "out of memory");
        if (!dc_all_finite_f32(t->scales, d->n_scales) ||
            !dc_all_finite_f32(t->smooth, d->n_smooth))
            FAIL(DC_ERR_CORRUPT, "tensor table: scales not finite");
        d->scales = d->n_scales ? t->scales : NULL;
        d->smooth = d->n_smooth ? t->smooth : NULL;
        if (d->data_size > r->largest_tensor) r->largest_tensor = d->data_size;
        r->by_name[i] = t;
    }
    if (c.p != c.end) FAIL(DC_ERR_CORRUPT, "tensor table: trailing bytes");
    if (next_chunk != r->nchunks)
        FAIL(DC_ERR_CORRUPT, "chunk index: chunks not owned by any tensor");
    int dup = 0;
    if (build_name_slots(r, &dup)) {
        if (dup) FAIL(DC_ERR_CORRUPT, "tensor table: duplicate tensor name");
        return DC_OK;
    }
    /* no hash set (names collide too often, or no memory for it): sorted by
     * name, duplicates are neighbours, and dc_reader_find bisects */
    qsort(r->by_name, (size_t)r->ntensors, sizeof(*r->by_name), cmp_rec_name);
    for (uint64_t i = 1; i < r->ntensors; i++)
        if (strcmp(r->by_name[i - 1]->d.name, r->by_name[i]->d.name) == 0)
            FAIL(DC_ERR_CORRUPT, "tensor table: duplicate tensor name");
    return DC_OK;
}

static dc_status reader_open(const void *data, size_t size, int mapped, int fd,
                             const dc_allocator *al, dc_reader **out, const char **detail) {
    dc_alloc a;
    dc_status st = dc_alloc_init(&a, al);
    if (st != DC_OK) return st;
    dc_reader *r = (dc_reader *)dc_calloc(&a, 1, sizeof(*r));
    if (!r) return DC_ERR_OUT_OF_MEMORY;
    r->alloc = a;
    r->data = (const uint8_t *)data;
    r->size = size;
    r->mapped = mapped;
    r->fd = fd;
    if (fd >= 0) {
        size_t n = size < HEADER_SIZE ? size : HEADER_SIZE;
        st = read_at(r, r->head, n, 0);
        if (st != DC_OK && detail)
            *detail = st == DC_ERR_IO ? "cannot read the file" : "file shrank while being read";
    }
    if (st == DC_OK) st = parse(r, detail);
    if (st != DC_OK) {
        int e = errno;
        r->mapped = 0; /* the caller still owns the mapping */
        r->fd = -1;    /* and the descriptor */
        dc_reader_close(r);
        errno = e;
        return st;
    }
    *out = r;
    return DC_OK;
}

dc_status dc_reader_open_memory(const void *data, size_t size, const dc_allocator *allocator,
                                dc_reader **out, const char **detail) {
    if (detail) *detail = "";
    if (out == NULL || (data == NULL && size)) return DC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    static const uint8_t empty[1] = {0};
    return reader_open(data ? data : empty, size, 0, -1, allocator, out, detail);
}

dc_status dc_reader_open_file_ex(const char *path, const dc_reader_options *options,
                                 dc_reader **out, const char **detail) {
    if (detail) *detail = "";
    if (out == NULL || path == NULL) return DC_ERR_INVALID_ARGUMENT;
    *out = NULL;
    dc_reader_options o;
    dc_status st = dc_copy_options(&o, sizeof(o), options);
    if (st != DC_OK) return st;
    const unsigned known =
        DC_READER_NO_MMAP | DC_READER_SEQUENTIAL | DC_READER_WILLNEED | DC_READER_POPULATE;
    if (o.flags & ~known) return DC_ERR_INVALID_ARGUMENT;
    if ((o.flags & DC_READER_NO_MMAP) && (o.flags & DC_READER_POPULATE))
        return DC_ERR_INVALID_ARGUMENT; /* nothing mapped to populate */
    /* (a FIFO opens without waiting for a writer, and is refused below) */
    int fd = dc_os_open_read(path);
    if (fd < 0) {
        if (detail) *detail = "cannot open the file";
        return DC_ERR_IO;
    }
    uint64_t file_size;
    if (dc_os_file_size(fd, &file_size) != 0) {
        int e = errno;
        if (detail) *detail = "not a regular file";
        dc_os_close(fd);
        errno = e;
        return DC_ERR_IO;
    }
    if (file_size > SIZE_MAX) {
        dc_os_close(fd);
        if (detail) *detail = "file too large for this platform";
        errno = EFBIG;
        return DC_ERR_IO;
    }
    size_t size = (size_t)file_size;
    if (o.flags & DC_READER_NO_MMAP) {
        dc_os_advise_file(fd, size, o.flags);
        st = reader_open(NULL, size, 0, fd, o.allocator, out, detail);
        if (st != DC_OK) {
            int e = errno;
            dc_os_close(fd);
            errno = e;
        }
        return st;
    }
    void *map = NULL;
    if (size > 0) { /* madvise / MAP_POPULATE for the reader's flags */
        map = dc_os_map(fd, size, o.flags);
        if (map == NULL) {
            int e = errno;
            dc_os_close(fd);
            if (detail) *detail = "cannot map the file";
            errno = e;
            return DC_ERR_IO;
        }
    }
    dc_os_close(fd);
    static const uint8_t empty[1] = {0};
    st = reader_open(map ? map : empty, size, map != NULL, -1, o.allocator, out, detail);
    if (st != DC_OK && map) {
        int e = errno;
        dc_os_unmap(map, size);
        errno = e;
    }
    return st;
}

dc_status dc_reader_open_file(const char *path, const dc_allocator *allocator, dc_reader **out,
                              const char **detail) {
    dc_reader_options o = {sizeof(o), 0, allocator};
    return dc_reader_open_file_ex(path, &o, out, detail);
}

void dc_reader_close(dc_reader *r) {
    if (r == NULL) return;
    dc_alloc a = r->alloc;
    for (uint64_t i = 0; r->t && i <= r->ntensors; i++) {
        dc_free(&a, r->t[i].scales);
        dc_free(&a, r->t[i].smooth);
    }
    dc_free(&a, r->t);
    dc_free(&a, r->by_name);
    dc_free(&a, r->name_slots);
    dc_free(&a, r->names);
    dc_free(&a, r->meta);
    dc_gguf_free(r->kvg);
    dc_free(&a, r->kv);
    dc_free(&a, r->sections);
    dc_free(&a, r->raw_off);
    if (r->mapped && r->data) dc_os_unmap((void *)r->data, r->size);
    if (r->fd >= 0) dc_os_close(r->fd);
    dc_free(&a, r);
}

size_t dc_reader_tensor_count(const dc_reader *r) {
    return r ? (size_t)r->ntensors : 0;
}

dc_status dc_reader_find(const dc_reader *r, const char *name, size_t *index) {
    if (r == NULL || name == NULL || index == NULL) return DC_ERR_INVALID_ARGUMENT;
    if (r->name_slots) { /* every name is within NAME_PROBES slots of home */
        size_t k = (size_t)name_hash(name) & r->name_mask;
        for (unsigned probe = 0; probe <= NAME_PROBES && r->name_slots[k]; probe++) {
            const uint32_t v = r->name_slots[k];
            if (strcmp(r->t[v - 1].d.name, name) == 0) {
                *index = v - 1;
                return DC_OK;
            }
            k = (k + 1) & r->name_mask;
        }
        return DC_ERR_NOT_FOUND;
    }
    size_t lo = 0, hi = (size_t)r->ntensors; /* bisect the sorted index */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->by_name[mid]->d.name, name);
        if (c == 0) {
            *index = (size_t)(r->by_name[mid] - r->t);
            return DC_OK;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return DC_ERR_NOT_FOUND;
}

dc_status dc_reader_get_footprint(const dc_reader *r, dc_reader_footprint *out) {
    if (r == NULL || out == NULL || out->struct_size < sizeof(size_t))
        return DC_ERR_INVALID_ARGUMENT;
    dc_reader_footprint f;
    memset(&f, 0, sizeof(f));
    f.struct_size = out->struct_size;
    f.file_size = r->size;
    for (uint64_t i = 0; i < r->ntensors; i++)
        f.decoded_size += r->t[i].d.data_size;
    f.largest_tensor = r->largest_tensor;
    f.largest_chunk = r->largest_chunk;
    f.largest_stored_chunk = r->largest_stored;
    memcpy(out, &f, out->struct_size < sizeof(f) ? out->struct_size : sizeof(f));
    return DC_OK;
}

uint64_t dc_memory_limit_default(uint64_t input_size) {
    if (input_size > (UINT64_MAX - DC_MEMORY_LIMIT_SLACK) / 4) return UINT64_MAX;
    return 4 * input_size + DC_MEMORY_LIMIT_SLACK;
}

dc_status dc_reader_tensor(const dc_reader *r, size_t index, dc_tensor_desc *desc) {
    if (r == NULL || desc == NULL || index >= r->ntensors) return DC_ERR_INVALID_ARGUMENT;
    size_t n = desc->struct_size;
    if (n < sizeof(size_t)) return DC_ERR_INVALID_ARGUMENT;
    if (n > sizeof(dc_tensor_desc)) n = sizeof(dc_tensor_desc);
    memcpy((uint8_t *)desc + sizeof(size_t), (const uint8_t *)&r->t[index].d + sizeof(size_t),
           n - sizeof(size_t));
    return DC_OK;
}

const char *dc_reader_metadata(const dc_reader *r) {
    return r && r->meta ? r->meta : "";
}

const void *dc_reader_kv_section(const dc_reader *r, size_t *size) {
    if (size) *size = r && r->kv ? (size_t)r->kv_size : 0;
    return r ? r->kv : NULL;
}

const dc_gguf *dc_reader_kv_parsed(const dc_reader *r) {
    return r ? r->kvg : NULL;
}

const void *dc_writer_kv_bytes(const dc_writer *w, size_t *size, const dc_alloc **alloc) {
    *alloc = &w->alloc;
    *size = w->kv.len;
    return w->kv.len ? w->kv.p : NULL;
}

dc_status dc_reader_chunk(const dc_reader *r, size_t index, size_t chunk, const void **data,
                          size_t *size, size_t *raw_size) {
    if (r == NULL || index >= r->ntensors || data == NULL || size == NULL)
        return DC_ERR_INVALID_ARGUMENT;
    const dc_tensor_desc *d = &r->t[index].d;
    if (chunk >= d->n_chunks) return DC_ERR_INVALID_ARGUMENT;
    const uint8_t *e = r->index + (uint64_t)(d->first_chunk + chunk) * INDEX_ENTRY;
    *data = NULL;
    *size = dc_load_le32(e + 8);
    if (raw_size) *raw_size = dc_load_le32(e + 12);
    if (r->data == NULL) return DC_ERR_UNSUPPORTED; /* DC_READER_NO_MMAP: no mapping */
    *data = r->data + dc_load_le64(e);
    return DC_OK;
}

dc_status dc_reader_chunk_rows(const dc_reader *r, size_t index, uint64_t *rows_per_chunk) {
    if (r == NULL || index >= r->ntensors || rows_per_chunk == NULL) return DC_ERR_INVALID_ARGUMENT;
    *rows_per_chunk = 0;
    const dc_tensor_desc *d = &r->t[index].d;
    uint64_t rows;
    if (!tensor_rows(d, &rows) || rows == 0 || d->data_size == 0 || d->n_chunks == 0)
        return DC_ERR_UNSUPPORTED;
    const uint64_t row_bytes = d->data_size / rows;
    const uint64_t first = dc_load_le32(r->index + (uint64_t)d->first_chunk * INDEX_ENTRY + 12);
    if (first % row_bytes != 0) return DC_ERR_UNSUPPORTED;
    for (uint32_t k = 1; k < d->n_chunks; k++) { /* the first's size; the last no more */
        uint64_t raw = dc_load_le32(r->index + (uint64_t)(d->first_chunk + k) * INDEX_ENTRY + 12);
        if (k + 1 < d->n_chunks ? raw != first : raw > first) return DC_ERR_UNSUPPORTED;
    }
    *rows_per_chunk = first / row_bytes; /* the last chunk: the rest, whole rows too */
    return DC_OK;
}

dc_status dc_reader_chunk_raw_view(const dc_reader *r, size_t index, size_t chunk,
                                   const void **data, size_t *size) {
    if (data) *data = NULL;
    if (r == NULL || index >= r->ntensors || data == NULL || size == NULL)
        return DC_ERR_INVALID_ARGUMENT;
    const dc_tensor_desc *d = &r->t[index].d;
    if (chunk >= d->n_chunks) return DC_ERR_INVALID_ARGUMENT;
    const uint8_t *e = r->index + ((uint64_t)d->first_chunk + chunk) * INDEX_ENTRY;
    *size = dc_load_le32(e + 12);
    /* codec tag 0: raw; open checked that its payload is exactly its raw size */
    if (e[20] != 0 || r->data == NULL) return DC_ERR_UNSUPPORTED;
    *data = r->data + dc_load_le64(e) + DC_CHUNK_HEADER_SIZE;
    return DC_OK;
}

dc_status dc_reader_chunk_location(const dc_reader *r, size_t index, size_t chunk,
                                   dc_chunk_location *out) {
    if (r == NULL || out == NULL || index >= r->ntensors || out->struct_size < sizeof(size_t))
        return DC_ERR_INVALID_ARGUMENT;
    const dc_tensor_desc *d = &r->t[index].d;
    if (chunk >= d->n_chunks) return DC_ERR_INVALID_ARGUMENT;
    const uint64_t k = (uint64_t)d->first_chunk + chunk;
    const uint8_t *e = r->index + k * INDEX_ENTRY;
    /* chunk header tags (docs/format.md, section 2) as dc_codec values */
    static const dc_codec by_tag[6] = {DC_CODEC_RAW, DC_CODEC_ANS, DC_CODEC_ZSTD,
                                       DC_CODEC_LZ4, DC_CODEC_RUN, DC_CODEC_FLOAT};
    dc_chunk_location l;
    memset(&l, 0, sizeof(l));
    l.struct_size = out->struct_size;
    l.file_offset = dc_load_le64(e);
    l.size = dc_load_le32(e + 8);
    l.raw_offset = r->raw_off[k];
    l.raw_size = dc_load_le32(e + 12);
    l.checksum = dc_load_le32(e + 16);
    l.codec = e[20] < 6 ? by_tag[e[20]] : DC_CODEC_DEFAULT;
    memcpy(out, &l, out->struct_size < sizeof(l) ? out->struct_size : sizeof(l));
    return DC_OK;
}

dc_status dc_reader_read_chunk(const dc_reader *r, size_t index, size_t chunk, void *dst,
                               size_t dst_capacity, size_t *size, size_t *raw_size) {
    if (r == NULL || index >= r->ntensors || size == NULL || (dst == NULL && dst_capacity))
        return DC_ERR_INVALID_ARGUMENT;
    const dc_tensor_desc *d = &r->t[index].d;
    if (chunk >= d->n_chunks) return DC_ERR_INVALID_ARGUMENT;
    const uint8_t *e = r->index + (uint64_t)(d->first_chunk + chunk) * INDEX_ENTRY;
    uint64_t off = dc_load_le64(e);
    *size = dc_load_le32(e + 8);
    if (raw_size) *raw_size = dc_load_le32(e + 12);
    if (dst_capacity < *size) return DC_ERR_DST_TOO_SMALL;
    if (r->data) {
        memcpy(dst, r->data + off, *size);
        return DC_OK;
    }
    return read_at(r, dst, *size, off);
}

typedef struct decode_job {
    const dc_reader *r;
    size_t index, first, step, count;
    uint8_t *dst;
    size_t *offsets;
    dc_status st;
    size_t failed;
} decode_job;

/* Decodes chunk k of tensor `index` to dst + raw_off and verifies it, with
 * context d. Without a mapping the chunk is read into *copy (grown as
 * needed, *cap bytes; the caller frees it). */
static dc_status decode_chunk_at(const dc_reader *r, size_t index, size_t k, dc_dctx *d,
                                 uint8_t *dst, uint8_t **copy, size_t *cap) {
    const void *src;
    size_t size, raw, w, hdr_raw;
    dc_status st = dc_reader_chunk(r, index, k, &src, &size, &raw);
    if (st == DC_ERR_UNSUPPORTED) {
        st = DC_OK;
        if (size > *cap) {
            dc_free(&r->alloc, *copy);
            *cap = 0;
            if (!(*copy = (uint8_t *)dc_malloc(&r->alloc, size))) return DC_ERR_OUT_OF_MEMORY;
            *cap = size;
        }
        st = dc_reader_read_chunk(r, index, k, *copy, *cap, &size, &raw);
        src = *copy;
    }
    if (st == DC_OK) st = dc_chunk_info(src, size, NULL, &hdr_raw, NULL);
    if (st == DC_OK && hdr_raw != raw) st = DC_ERR_SIZE_MISMATCH;
    if (st == DC_OK) st = dc_chunk_decompress(d, src, size, dst, raw, &w);
    return st;
}

static void *decode_worker(void *arg) {
    decode_job *j = (decode_job *)arg;
    dc_dctx *d = NULL;
    uint8_t *copy = NULL; /* DC_READER_NO_MMAP: the chunk, read from the file */
    size_t copy_cap = 0;
    j->st = dc_dctx_create(NULL, &d);
    for (size_t k = j->first; j->st == DC_OK && k < j->count; k += j->step) {
        dc_status st =
            decode_chunk_at(j->r, j->index, k, d, j->dst + j->offsets[k], &copy, &copy_cap);
        if (st != DC_OK) j->st = st, j->failed = k;
    }
    dc_free(&j->r->alloc, copy);
    dc_dctx_free(d);
    return NULL;
}

dc_status dc_reader_decode_tensor(const dc_reader *r, size_t index, void *dst, size_t dst_capacity,
                                  unsigned threads, size_t *failed_chunk) {
    if (r == NULL || index >= r->ntensors || (dst == NULL && dst_capacity))
        return DC_ERR_INVALID_ARGUMENT;
    const dc_tensor_desc *d = &r->t[index].d;
    if (dst_capacity < d->data_size) return DC_ERR_DST_TOO_SMALL;
    size_t n = d->n_chunks;
    size_t *offsets = (size_t *)dc_malloc(&r->alloc, (n + 1) * sizeof(size_t));
    if (!offsets) return DC_ERR_OUT_OF_MEMORY;
    size_t off = 0;
    for (size_t k = 0; k < n; k++) {
        offsets[k] = off;
        off += dc_load_le32(r->index + (uint64_t)(d->first_chunk + k) * INDEX_ENTRY + 12);
    }
    if (threads == 0) threads = 1;
    if (threads > 64) threads = 64;
    if (threads > n) threads = n ? (unsigned)n : 1;
    decode_job jobs[64];
    for (unsigned t = 0; t < threads; t++)
        jobs[t] = (decode_job){r, index, t, threads, n, (uint8_t *)dst, offsets, DC_OK, 0};
    dc_run_parallel(threads, decode_worker, jobs, sizeof(jobs[0]));
    dc_status st = DC_OK;
    for (unsigned t = 0; t < threads; t++) {
        if (jobs[t].st != DC_OK && st == DC_OK) {
            st = jobs[t].st;
            if (failed_chunk) *failed_chunk = jobs[t].failed;
        }
    }
    dc_free(&r->alloc, offsets);
    return st;
}

/* dc_reader_decode_tensor_pool: what every job of one call shares. Each job
 * writes only its own chunk's status and its worker's buffer. */
typedef struct pool_call {
    const dc_reader *r;
    size_t index, first; /* tensor, its first chunk in the file's index */
    uint8_t *dst;
    dc_dctx *const *dctx;
    unsigned n_workers;
    int *status;    /* per chunk: -1 until its job ran, then a dc_status */
    uint8_t **copy; /* per worker (DC_READER_NO_MMAP only), else NULL */
    size_t *copy_cap;
} pool_call;

static void pool_job(void *arg, size_t k, unsigned worker) {
    pool_call *c = (pool_call *)arg;
    const dc_tensor_desc *d = &c->r->t[c->index].d;
    if (k >= d->n_chunks) return; /* not a job of ours: reported as a job not run */
    if (worker >= c->n_workers) {
        c->status[k] = DC_ERR_INVALID_ARGUMENT;
        return;
    }
    uint8_t *none = NULL; /* a mapped reader: decode_chunk_at copies nothing */
    size_t none_cap = 0;
    uint8_t **copy = c->copy ? &c->copy[worker] : &none;
    size_t *cap = c->copy ? &c->copy_cap[worker] : &none_cap;
    c->status[k] = (int)decode_chunk_at(c->r, c->index, k, c->dctx[worker],
                                        c->dst + c->r->raw_off[c->first + k], copy, cap);
    dc_free(&c->r->alloc, none);
}

dc_status dc_reader_decode_tensor_pool(const dc_reader *r, size_t index, void *dst,
                                       size_t dst_capacity, dc_dctx *const *dctx,
                                       unsigned n_workers, dc_parallel_for_fn parallel_for,
                                       void *pool, size_t *failed_chunk) {
    if (r == NULL || index >= r->ntensors || (dst == NULL && dst_capacity) || dctx == NULL ||
        n_workers == 0)
        return DC_ERR_INVALID_ARGUMENT;
    const dc_tensor_desc *d = &r->t[index].d;
    size_t n = d->n_chunks;
    if (failed_chunk) *failed_chunk = n;
    for (unsigned w = 0; w < n_workers; w++)
        if (dctx[w] == NULL) return DC_ERR_INVALID_ARGUMENT;
    if (dst_capacity < d->data_size) return DC_ERR_DST_TOO_SMALL;
    pool_call c = {r, index, d->first_chunk, (uint8_t *)dst, dctx, n_workers, NULL, NULL, NULL};
    c.status = (int *)dc_malloc(&r->alloc, (n + 1) * sizeof(int));
    if (!c.status) return DC_ERR_OUT_OF_MEMORY;
    for (size_t k = 0; k < n; k++)
        c.status[k] = -1;
    if (r->data == NULL) { /* DC_READER_NO_MMAP: a chunk buffer per worker */
        c.copy = (uint8_t **)dc_calloc(&r->alloc, n_workers, sizeof(uint8_t *));
        c.copy_cap = (size_t *)dc_calloc(&r->alloc, n_workers, sizeof(size_t));
        if (!c.copy || !c.copy_cap) {
            dc_free(&r->alloc, c.copy);
            dc_free(&r->alloc, c.copy_cap);
            dc_free(&r->alloc, c.status);
            return DC_ERR_OUT_OF_MEMORY;
        }
    }
    if (parallel_for)
        parallel_for(pool, n, pool_job, &c);
    else
        for (size_t k = 0; k < n; k++)
            pool_job(&c, k, 0);
    dc_status st = DC_OK;
    for (size_t k = 0; k < n && st == DC_OK; k++) {
        if (c.status[k] == DC_OK) continue;
        st = c.status[k] < 0 ? DC_ERR_INVALID_ARGUMENT : (dc_status)c.status[k];
        if (failed_chunk) *failed_chunk = k;
    }
    for (unsigned w = 0; c.copy && w < n_workers; w++)
        dc_free(&r->alloc, c.copy[w]);
    dc_free(&r->alloc, c.copy);
    dc_free(&r->alloc, c.copy_cap);
    dc_free(&r->alloc, c.status);
    return st;
}
