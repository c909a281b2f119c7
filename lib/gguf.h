/*
 * gguf.h -- minimal GGUF reader and writer (internal).
 *
 * GGUF (ggml-org/ggml, docs/gguf.md) is the model file of llama.cpp and the
 * other ggml engines. All integers little-endian:
 *
 *   "GGUF" u32 version (2 or 3)  u64 n_tensors  u64 n_kv
 *   n_kv x { string key, u32 value type, value }
 *   n_tensors x { string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset }
 *   zero padding to the alignment (key general.alignment, u32, default 32)
 *   tensor data; tensor offsets are relative to its start, multiples of the
 *   alignment
 *
 * A string is u64 length + that many bytes (no NUL). A value is one of the
 * 13 types of dc_gguf_vtype; an array is u32 element type, u64 count, then
 * the elements (arrays may nest). ne[0] is the innermost (fastest-varying)
 * dimension: a [rows x cols] row-major matrix has ne = {cols, rows}.
 *
 * The parser is written for hostile input: every read is bounds-checked
 * against the bytes given, counts are checked against the bytes left before
 * anything is allocated (memory stays a small multiple of the header),
 * integer overflow is checked, strings must be valid UTF-8 without NUL,
 * arrays nest at most DC_GGUF_MAX_DEPTH deep, booleans are 0 or 1, keys and
 * tensor names are unique, tensor types must be known, their byte ranges
 * must be aligned, lie inside the data section and not overlap. Any
 * violation gives DC_ERR_FORMAT (DC_ERR_UNSUPPORTED for GGUF v1 and
 * big-endian files, DC_ERR_TRUNCATED where the header runs past the bytes
 * given); nothing crashes or reads out of bounds.
 *
 * Key/value records are kept verbatim (the bytes of the file), so a writer
 * can copy them back bit-exactly; accessors decode them.
 */
#ifndef DC_GGUF_H
#define DC_GGUF_H

#include "internal.h"

#include <stdint.h>

#define DC_GGUF_MAGIC     0x46554747u /* "GGUF" read as little-endian u32 */
#define DC_GGUF_MAX_DIMS  4           /* GGML_MAX_DIMS */
#define DC_GGUF_MAX_DEPTH 8           /* nesting of arrays in arrays */
#define DC_GGUF_ALIGNMENT 32          /* default general.alignment */
/* Largest header (key/values and tensor infos) dc_gguf_open reads. */
#define DC_GGUF_MAX_HEADER ((uint64_t)1 << 30)
/* Longest tensor name accepted (the container's limit; llama.cpp's is 63). */
#define DC_GGUF_MAX_NAME 65535

/* Metadata value types (gguf_metadata_value_type). */
typedef enum dc_gguf_vtype {
    DC_GGUF_U8 = 0,
    DC_GGUF_I8 = 1,
    DC_GGUF_U16 = 2,
    DC_GGUF_I16 = 3,
    DC_GGUF_U32 = 4,
    DC_GGUF_I32 = 5,
    DC_GGUF_F32 = 6,
    DC_GGUF_BOOL = 7,
    DC_GGUF_STRING = 8,
    DC_GGUF_ARRAY = 9,
    DC_GGUF_U64 = 10,
    DC_GGUF_I64 = 11,
    DC_GGUF_F64 = 12
} dc_gguf_vtype;

/* The ggml tensor types this library interprets; every other type listed
 * by dc_gguf_type_info is kept as opaque bytes. */
enum {
    DC_GGML_F32 = 0,
    DC_GGML_F16 = 1,
    DC_GGML_Q8_0 = 8,
    DC_GGML_BF16 = 30,
};
#define DC_Q8_0_BLOCK 32 /* values per Q8_0 block */
#define DC_Q8_0_BYTES 34 /* fp16 d, then 32 int8 q; value = d * q */

/*
 * Block size (values per block) and bytes per block of ggml type `type`, and
 * its name ("f32", "q8_0", ...). Returns 0 for types unknown or removed
 * from GGUF files (then *blck and *size are 0).
 */
int dc_gguf_type_info(uint32_t type, uint64_t *blck, uint64_t *size, const char **name);

/* Byte size of the encoded value of `type` at p[0..n) (arrays and strings
 * included), checking it lies inside; 0 if it does not (or nests deeper
 * than DC_GGUF_MAX_DEPTH, or holds a bad string or boolean). */
size_t dc_gguf_value_size(uint32_t type, const uint8_t *p, size_t n);

/* One key/value pair. */
typedef struct dc_gguf_kv {
    char *key;          /* NUL-terminated copy (the key holds no NUL) */
    uint32_t type;      /* dc_gguf_vtype */
    const uint8_t *val; /* the encoded value, inside dc_gguf.kv_blob */
    size_t val_size;
    const uint8_t *rec; /* the whole record (key, type, value), inside kv_blob */
    size_t rec_size;
} dc_gguf_kv;

typedef struct dc_gguf_tensor {
    char *name; /* NUL-terminated */
    uint32_t n_dims;
    uint64_t ne[DC_GGUF_MAX_DIMS]; /* ne[0] innermost; unused entries 1 */
    uint32_t type;                 /* ggml type */
    uint64_t offset;               /* in the data section */
    uint64_t numel, nbytes;
} dc_gguf_tensor;

/* A parsed header. Key/values and tensors are in file order. */
typedef struct dc_gguf {
    dc_alloc alloc;
    uint32_t version;
    uint64_t alignment;
    uint8_t *kv_blob; /* the n_kv records, verbatim */
    size_t kv_blob_size;
    dc_gguf_kv *kv;
    size_t n_kv;
    dc_gguf_tensor *tensors;
    size_t n_tensors;
    uint64_t header_size; /* bytes before the (aligned) data section */
    uint64_t data_offset; /* file offset of the data section */
    uint64_t data_size;   /* bytes from data_offset to the end of the file */
} dc_gguf;

/*
 * Parses p[0..n) as the start of a GGUF file of file_size bytes (n <=
 * file_size). Returns DC_OK and *out (free with dc_gguf_free),
 * DC_ERR_TRUNCATED if the header continues past p + n (when n < file_size
 * the caller may retry with more bytes), DC_ERR_FORMAT, DC_ERR_UNSUPPORTED
 * (GGUF v1, a big-endian file or a version above 3), DC_ERR_OUT_OF_MEMORY.
 * `detail` (may be NULL) receives a static English reason.
 */
dc_status dc_gguf_parse(const dc_alloc *alloc, const void *p, size_t n, uint64_t file_size,
                        dc_gguf **out, const char **detail);

/*
 * Parses a key/value list alone: n_kv records at p[0..n) (exactly), as
 * dc_gguf_parse checks them; for the .dcz GGUF section. *out has no tensors.
 */
dc_status dc_gguf_parse_kv(const dc_alloc *alloc, const void *p, size_t n, uint64_t n_kv,
                           dc_gguf **out, const char **detail);

void dc_gguf_free(dc_gguf *g);

/* Opens and parses the GGUF file at path (reads only the header). Errors
 * as dc_gguf_parse, plus DC_ERR_IO (errno set). */
dc_status dc_gguf_open(const dc_alloc *alloc, const char *path, dc_gguf **out, const char **detail);

/* The key/value called `key`, or NULL. O(n). */
const dc_gguf_kv *dc_gguf_find(const dc_gguf *g, const char *key);
/* The tensor called `name`, or NULL. O(n). */
const dc_gguf_tensor *dc_gguf_find_tensor(const dc_gguf *g, const char *name);

/* An integer value (any integer type, or BOOL) into *v: 1, or 0 if kv is
 * NULL, not an integer, or does not fit an int64. */
int dc_gguf_kv_int(const dc_gguf_kv *kv, int64_t *v);
/* A float value (F32 or F64) into *v: 1 or 0. */
int dc_gguf_kv_float(const dc_gguf_kv *kv, double *v);
/* A string value: *s points into the blob (not NUL-terminated), *len. 1 or 0. */
int dc_gguf_kv_string(const dc_gguf_kv *kv, const char **s, uint64_t *len);
/* An array value: element type, count and the first element's bytes. 1 or 0. */
int dc_gguf_kv_array(const dc_gguf_kv *kv, uint32_t *elem_type, uint64_t *count,
                     const uint8_t **elems, size_t *elems_size);

/* A growing byte buffer for building key/value records. */
typedef struct dc_gguf_buf {
    const dc_alloc *alloc;
    uint8_t *p;
    size_t len, cap;
    int oom;
    uint64_t n_kv; /* records appended with dc_gguf_put_kv_* */
} dc_gguf_buf;

void dc_gguf_buf_put(dc_gguf_buf *b, const void *data, size_t n);
void dc_gguf_buf_u32(dc_gguf_buf *b, uint32_t v);
void dc_gguf_buf_u64(dc_gguf_buf *b, uint64_t v);
void dc_gguf_buf_str(dc_gguf_buf *b, const char *s, size_t len);
void dc_gguf_buf_free(dc_gguf_buf *b);
/* Appends one key/value record (key, type, value) and counts it. */
void dc_gguf_put_kv_u32(dc_gguf_buf *b, const char *key, uint32_t v);
void dc_gguf_put_kv_i32(dc_gguf_buf *b, const char *key, int32_t v);
void dc_gguf_put_kv_f32(dc_gguf_buf *b, const char *key, float v);
void dc_gguf_put_kv_str(dc_gguf_buf *b, const char *key, const char *s);
/* A record whose value is raw encoded bytes of `type` (e.g. an array). */
void dc_gguf_put_kv_raw(dc_gguf_buf *b, const char *key, uint32_t type, const void *val, size_t n);

/* One tensor to write. */
typedef struct dc_gguf_out_tensor {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[DC_GGUF_MAX_DIMS];
    uint32_t type;
    uint64_t nbytes; /* must equal what type and ne imply */
} dc_gguf_out_tensor;

/* Produces the nbytes bytes of tensor `index` into *data (valid until the
 * next call). A status other than DC_OK stops the write. */
typedef dc_status (*dc_gguf_load_fn)(void *ctx, size_t index, const void **data);

/*
 * Writes a GGUF v3 file atomically (temporary file, then rename): the
 * n_kv records kv[0..kv_size) verbatim, the tensor infos, and each tensor's
 * bytes from load(ctx, i, ...), aligned to `alignment` (a power of two; it
 * must agree with any general.alignment record). Errors:
 * DC_ERR_INVALID_ARGUMENT (a bad tensor: unknown type, size not matching,
 * duplicate name; bad records), DC_ERR_IO (errno set), DC_ERR_OUT_OF_MEMORY,
 * or load's status.
 */
dc_status dc_gguf_write(const dc_alloc *alloc, const char *path, const void *kv, size_t kv_size,
                        uint64_t n_kv, uint64_t alignment, const dc_gguf_out_tensor *tensors,
                        size_t n_tensors, dc_gguf_load_fn load, void *ctx);

/*
 * The .dcz key/value section (docs/format.md, 6.7): a GGUF file's header
 * without its data offsets, so a .dcz keeps every key/value typed and
 * bit-exact, and each tensor's GGUF name, shape and type:
 *
 *   "DCKV" u32 section version (1) u32 GGUF version u32 alignment
 *   u64 n_kv  u64 kv_size  kv_size bytes: n_kv GGUF key/value records
 *   u64 n_tensors  n_tensors x { string name, u32 n_dims, u64 ne[n_dims], u32 type }
 *
 * dc_gguf_section_encode writes it from a parsed GGUF (its key/values and
 * tensor infos) into *out; dc_gguf_section_parse checks one as
 * dc_gguf_parse checks a file (offsets, sizes and data ranges aside) and
 * returns it as a dc_gguf whose tensors have offset 0 and data_size 0.
 */
#define DC_KV_SECTION_MAGIC 0x564B4344u /* "DCKV" */
void dc_gguf_section_encode(const dc_gguf *g, dc_gguf_buf *out);
dc_status dc_gguf_section_parse(const dc_alloc *alloc, const void *p, size_t n, dc_gguf **out,
                                const char **detail);

/* IEEE binary16 <-> binary32. dc_f16_to_f32 is exact for every input;
 * dc_f32_to_f16 rounds to nearest even (NaN stays NaN). */
float dc_f16_to_f32(uint16_t h);
uint16_t dc_f32_to_f16(float f);

#endif /* DC_GGUF_H */
