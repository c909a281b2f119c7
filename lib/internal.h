/*
 * internal.h -- helpers shared by the library's source files. Never installed.
 */
#ifndef DC_INTERNAL_H
#define DC_INTERNAL_H

#include "doublecomp.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__MINGW32__) && defined(__GNUC__)
/* mingw-w64's type-generic isfinite() and isnan() also pass a double to the
 * float function, in a branch never taken, which -Wfloat-conversion flags:
 * GCC's built-ins instead (math.h is included above, so they stay). */
#undef isfinite
#define isfinite(x) __builtin_isfinite(x)
#undef isnan
#define isnan(x) __builtin_isnan(x)
#endif

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#define DC_X86 1
#else
#define DC_X86 0
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
#define DC_ARM64 1
#else
#define DC_ARM64 0
#endif

/* --- allocation ---------------------------------------------------------- */

/* A resolved allocator: never has NULL function pointers. */
typedef struct dc_alloc {
    void *(*alloc_fn)(void *opaque, size_t size);
    void (*free_fn)(void *opaque, void *ptr);
    void *opaque;
} dc_alloc;

/* Resolves a user allocator (NULL = malloc/free). Returns DC_OK or
 * DC_ERR_INVALID_ARGUMENT for a bad struct_size or a missing function. */
dc_status dc_alloc_init(dc_alloc *a, const dc_allocator *user);
void *dc_malloc(const dc_alloc *a, size_t size);

/* --- container.c hooks for typed metadata (meta.c) -------------------------- */

struct dc_gguf;
/* The reader's key/value section, parsed at open (NULL if none). */
const struct dc_gguf *dc_reader_kv_parsed(const dc_reader *r);
/* The writer's key/value section so far (NULL and *size 0 if none), and
 * the writer's allocator. */
const void *dc_writer_kv_bytes(const dc_writer *w, size_t *size, const dc_alloc **alloc);
void *dc_calloc(const dc_alloc *a, size_t n, size_t size);
void dc_free(const dc_alloc *a, void *ptr);

/* Copies a versioned options struct (size_t struct_size first) into a
 * zero-initialised local of `local_size` bytes. Accepts struct_size from
 * sizeof(size_t) up to any larger value (newer callers: extra fields must be
 * zero). Returns DC_ERR_INVALID_ARGUMENT on a bad struct_size. */
dc_status dc_copy_options(void *local, size_t local_size, const void *user);

/* Returns 1 if none of the n IEEE binary32 values at v (any alignment) is
 * NaN or infinite, else 0. */
int dc_all_finite_f32(const void *v, size_t n);

/* x (finite) rounded to the nearest IEEE binary16 value, ties to even, as
 * its 16 bits; *exact (may be NULL) gets whether that value equals x. A |x|
 * that rounds above 65504 gives infinity's bits (0x7C00 with x's sign). */
uint16_t dc_f16_bits(float x, int *exact);
/* The IEEE binary16 value h as a float (exact). */
float dc_f16_value(uint16_t h);

/* Returns 1 if s[0..n) is well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), else 0. */
int dc_utf8_valid(const void *s, size_t n);

/* The operating system: files, maps, threads (dc_run_parallel). */
#include "platform.h"

/* --- little-endian access ------------------------------------------------ */

static inline uint16_t dc_load_le16(const void *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint16_t v;
    memcpy(&v, p, 2); /* one load */
    return v;
#endif
    const uint8_t *b = (const uint8_t *)p;
    return (uint16_t)(b[0] | (b[1] << 8));
}
static inline uint32_t dc_load_le32(const void *p) {
    const uint8_t *b = (const uint8_t *)p;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}
static inline uint64_t dc_load_le64(const void *p) {
    return (uint64_t)dc_load_le32(p) | ((uint64_t)dc_load_le32((const uint8_t *)p + 4) << 32);
}
static inline void dc_store_le16(void *p, uint16_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 2); /* one store */
    return;
#endif
    uint8_t *b = (uint8_t *)p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}
static inline void dc_store_le32(void *p, uint32_t v) {
    uint8_t *b = (uint8_t *)p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}
static inline void dc_store_le64(void *p, uint64_t v) {
    dc_store_le32(p, (uint32_t)v);
    dc_store_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t dc_rotl32(uint32_t x, unsigned r) {
    return (x << r) | (x >> (32u - r));
}

/* --- CPU dispatch (cpu.c) -------------------------------------------------- */

/* Resolves DC_SIMD_AUTO to the best supported path; other values unchanged. */
dc_simd dc_simd_resolve(dc_simd simd);
/* The widest instruction set this CPU supports (DC_SIMD_SCALAR, _AVX2 or
 * _AVX512): for kernels whose speed follows the feature bits (checksum). */
dc_simd dc_simd_isa(void);

/* --- checksum (checksum.c, x86/checksum_x86.c) ----------------------------- */

#define DC_CK_LANES  64
#define DC_CK_STRIPE 256
/* Folds whole 256-byte stripes of p[0..nstripes*256) into acc[64]. */
void dc_checksum_stripes_scalar(uint32_t acc[DC_CK_LANES], const uint8_t *p, size_t nstripes);
#if DC_X86
void dc_checksum_stripes_avx2(uint32_t acc[DC_CK_LANES], const uint8_t *p, size_t nstripes);
void dc_checksum_stripes_avx512(uint32_t acc[DC_CK_LANES], const uint8_t *p, size_t nstripes);
#endif

/* --- rANS (ans.c, x86/ans_avx2.c, x86/ans_avx512.c, arm/ans_neon.c) -------- */

/* Chunk format v1 (decoded only): 13-bit probabilities, 32 states (4, 8 or 16
 * in small chunks), a split table: `entry` (freq | (slot - cum) << 16) and `sym`. */
#define DC_ANS1_PROB_BITS 13
#define DC_ANS1_STATES    32u
/* Chunk format v2 (written): 12- or 13-bit probabilities (B), up to 128
 * states, one packed 32-bit entry per slot: symbol | freq << 8 | (slot - cum)
 * << 20, so every frequency must be below 2^12 (at B = 13: no symbol at half
 * the probability or more). */
#define DC_ANS2_PROB_BITS     12
#define DC_ANS2_PROB_BITS_MAX 13
#define DC_ANS_MAX_STATES     128
#define DC_ANS_TABLE_BITS_MIN 8          /* coarsest precision a frequency table may be sent at */
#define DC_ANS_L              (1u << 16) /* lower bound of a normalised state */

/* Pair payloads (docs/format.md 4.5): the ANS codec parameter that marks
 * them, and the most escape bytes one may carry. */
#define DC_ANS_PAIR_PARAM 0x70u
#define DC_ANS_ESC_MAX    (32u << 10)
#define DC_ANS_ESC_SLACK  16u /* room past the escapes for 16-byte windows */

/* Decode table for one chunk (scratch, one per dctx). */
typedef struct dc_ans_table {
    union {
        struct {
            uint32_t entry[1u << DC_ANS1_PROB_BITS];
            uint8_t
                sym[(1u << DC_ANS1_PROB_BITS) + 4]; /* a 32-bit gather at any slot stays inside */
        } v1;
        uint32_t packed[1u << DC_ANS2_PROB_BITS_MAX];
    } u;
    unsigned bits; /* v2: B, the coder's probability bits (12 or 13) */
    uint8_t esc[DC_ANS_ESC_MAX + DC_ANS_ESC_SLACK]; /* pair payloads: the escape bytes */
} dc_ans_table;

/*
 * Decode kernels. Each decodes whole groups of `ns` symbols (one per state,
 * states in order) from the 16-bit word stream [*pp, end) for as long as a
 * group cannot read past `end` and fewer than `n` symbols remain undecoded;
 * it advances *pp and the states and returns how many symbols it decoded. The
 * scalar "rest" functions below finish the job with bounds-checked refills.
 * v1 kernels take ns = 32; v2 kernels ns = 32, 64 or 128.
 */
typedef size_t (*dc_ans_kernel)(const dc_ans_table *table, uint32_t *states, unsigned ns,
                                const uint8_t **pp, const uint8_t *end, uint8_t *out, size_t n);
size_t dc_ans1_decode_scalar(const dc_ans_table *t, uint32_t *st, unsigned ns, const uint8_t **pp,
                             const uint8_t *end, uint8_t *out, size_t n);
size_t dc_ans2_decode_scalar(const dc_ans_table *t, uint32_t *st, unsigned ns, const uint8_t **pp,
                             const uint8_t *end, uint8_t *out, size_t n);
#if DC_ARM64
size_t dc_ans2_decode_neon(const dc_ans_table *t, uint32_t *st, unsigned ns, const uint8_t **pp,
                           const uint8_t *end, uint8_t *out, size_t n);
#endif
#if DC_X86
size_t dc_ans1_decode_avx2(const dc_ans_table *t, uint32_t *st, unsigned ns, const uint8_t **pp,
                           const uint8_t *end, uint8_t *out, size_t n);
size_t dc_ans1_decode_avx512(const dc_ans_table *t, uint32_t *st, unsigned ns, const uint8_t **pp,
                             const uint8_t *end, uint8_t *out, size_t n);
/* v2: hardware gathers, or table lookups by scalar loads ("sw": software gather) */
size_t dc_ans2_decode_avx2(const dc_ans_table *t, uint32_t *st, unsigned ns, const uint8_t **pp,
                           const uint8_t *end, uint8_t *out, size_t n);
size_t dc_ans2_decode_avx2_sw(const dc_ans_table *t, uint32_t *st, unsigned ns, const uint8_t **pp,
                              const uint8_t *end, uint8_t *out, size_t n);
size_t dc_ans2_decode_avx512(const dc_ans_table *t, uint32_t *st, unsigned ns, const uint8_t **pp,
                             const uint8_t *end, uint8_t *out, size_t n);
size_t dc_ans2_decode_avx512_sw(const dc_ans_table *t, uint32_t *st, unsigned ns,
                                const uint8_t **pp, const uint8_t *end, uint8_t *out, size_t n);
/* v2 encoder for whole groups (n a multiple of ns, ns = 32, 64 or 128) on
 * AVX-512 (F, BW, VL, DQ, VBMI): the scalar encoder's output, faster. States
 * in st, word stream growing down from p (32 bytes of slack below the end
 * result); returns the new p. enc[s] = freq | cum << 16. */
uint8_t *dc_ans2_encode_avx512(const uint32_t enc[256], const uint8_t *src, size_t n, unsigned ns,
                               unsigned bits, uint32_t *st, uint8_t *p);
int dc_cpu_avx512_encoder(void);
/* Pair payloads: expands whole blocks (16 pairs on AVX2, 32 on AVX-512) of
 * the pair symbols pairs[0 .. np) into
 * out[0 .. 2 np) (out may end where pairs ends: each block is read before it
 * is written), taking escape bytes from esc[*used .. nesc); returns the pairs
 * done, stopping early where a block would need more escapes than remain.
 * The AVX-512 one needs F, BW, VBMI, VBMI2 (dc_cpu_avx512_encoder()). */
size_t dc_pair_expand_avx2(const uint8_t *pairs, size_t np, const uint8_t *esc, size_t nesc,
                           size_t *used, const uint8_t map[16], uint8_t *out);
size_t dc_pair_expand_avx512(const uint8_t *pairs, size_t np, const uint8_t *esc, size_t nesc,
                             size_t *used, const uint8_t map[16], uint8_t *out);
#endif

/* The chunk header's codec parameter for ANS (docs/format.md):
 *   v1: bits 0-3 table precision P (8..13), bits 4-5 c (32 >> c states), 6-7 zero;
 *   v2: bits 0-3 table precision P (8..B), bits 4-6 c (4 << c states, c <= 5),
 *       bit 7: B = 13 (else 12).
 * Returns nonzero if param is valid for chunk format `version` (1 or 2). */
int dc_ans_param_valid(unsigned version, unsigned param);

/* Encodes src[0..n) (n >= 1, at least two distinct symbols) as a v2 ANS payload
 * (frequency table, states, word stream) into dst; `scratch` must hold
 * dc_ans_scratch_size(n) bytes. `states`: 0 = chosen by size (4 up to
 * 16 KiB, 32 up to 64 KiB, else 64, or 128 for 128 KiB of payload and
 * more), or 4, 8, 16, 32, 64, 128 (tests). Returns the
 * payload size, or 0 if it would not fit in dst_capacity; *param gets the
 * codec parameter. */
size_t dc_ans_scratch_size(size_t n);
/* Nonzero (the default): dc_ans_encode may use the AVX-512 encoder where the
 * CPU has it. Tests set it to 0 to compare with the scalar encoder. */
extern int dc_ans_encode_simd;
size_t dc_ans_encode(const uint8_t *src, size_t n, const uint32_t counts[256], uint8_t *dst,
                     size_t dst_capacity, void *scratch, unsigned states, unsigned *param);

/* Decodes an ANS payload of chunk format `version` coded with `param` into
 * out[0..n), with the kernel for path `simd` (resolved, not AUTO). `table` is
 * scratch. Returns DC_OK or DC_ERR_CORRUPT / DC_ERR_TRUNCATED /
 * DC_ERR_UNSUPPORTED (param not valid). */
dc_status dc_ans_decode(unsigned version, const uint8_t *src, size_t src_size, unsigned param,
                        uint8_t *out, size_t n, dc_simd simd, dc_ans_table *table);

/* --- the float codec (floatcodec.c; chunk tag 5, docs/format.md 3.1) ------- */

/* Nonzero if `param` is a valid float-codec parameter: bits 0-1 log2 of the
 * element bytes (1: 2 bytes, 2: 4 bytes), bit 2 the rotation, others 0. */
int dc_float_param_valid(unsigned param);
/* Codes src[0..n) as elements of w bytes (2 or 4) into dst[0..cap): byte
 * planes, each ANS-coded, zstd-coded (with `zstd`, a ZSTD_CCtx; NULL: never),
 * stored or a run. `planes` is scratch of 2 n bytes, `ans_scratch` of
 * scratch_size >= dc_ans_scratch_size(n / w) bytes. Returns the payload size
 * and sets *param, or returns 0 (fewer than two elements, or no room). */
size_t dc_float_encode(const uint8_t *src, size_t n, unsigned w, uint8_t *dst, size_t cap,
                       uint8_t *planes, void *ans_scratch, size_t scratch_size, void *zstd,
                       unsigned *param);
/* Decodes a float payload src[0..size) coded with `param` into out[0..n);
 * `scratch` holds n bytes, `table` is ANS scratch, `simd` resolved, `zstd` a
 * ZSTD_DCtx (NULL: a temporary one per zstd plane). Returns DC_OK,
 * DC_ERR_CORRUPT or DC_ERR_OUT_OF_MEMORY. */
dc_status dc_float_decode(const uint8_t *src, size_t size, unsigned param, uint8_t *out, size_t n,
                          dc_simd simd, dc_ans_table *table, uint8_t *scratch, void *zstd);
/* Sets the element size (1, 2 or 4 bytes) the DC_CODEC_FLOAT context codes
 * its next chunks with (1: plain ANS); no effect on other codecs. For the
 * container writer, which codes each tensor by its dtype. */
void dc_cctx_set_element_size(dc_cctx *cctx, unsigned bytes);

/* Byte histogram of src[0..n) into counts[256]. */
void dc_histogram(const uint8_t *src, size_t n, uint32_t counts[256]);

/* Temporary files of atomic outputs (tmpfile.c). dc_tmp_create opens a new
 * file next to `path` (see tmpfile.c for its name and mode), registered for
 * dc_temp_files_remove(); returns the descriptor, or -1 with errno set
 * (EISDIR if `path` is a directory, EINVAL if it is a FIFO or socket).
 * If `path` is a character device it is opened itself for writing and
 * *direct is set: no temporary file, nothing to rename (and no fsync).
 * *tmp_path (allocated with a; NULL when direct) and *slot go to
 * dc_tmp_release, which unlinks the file if unlink_it, unregisters it and
 * frees the name (NULL: no-op); errno is preserved. */
int dc_tmp_create(const dc_alloc *a, const char *path, char **tmp_path, int *slot, int *direct);
void dc_tmp_release(const dc_alloc *a, char *tmp_path, int slot, int unlink_it);

#endif /* DC_INTERNAL_H */
