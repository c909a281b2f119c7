/*
 * common.c -- version query, status strings, allocator and option plumbing.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

unsigned dc_version_number(void) {
    return DC_VERSION_NUMBER;
}

const char *dc_version_string(void) {
    return DC_VERSION_STRING;
}

const char *dc_status_string(dc_status status) {
    switch (status) {
    case DC_OK:
        return "success";
    case DC_ERR_INVALID_ARGUMENT:
        return "invalid argument";
    case DC_ERR_OUT_OF_MEMORY:
        return "out of memory";
    case DC_ERR_DST_TOO_SMALL:
        return "destination buffer too small";
    case DC_ERR_CORRUPT:
        return "corrupt data";
    case DC_ERR_CHECKSUM:
        return "checksum mismatch";
    case DC_ERR_TRUNCATED:
        return "truncated input";
    case DC_ERR_UNSUPPORTED:
        return "unsupported format version, codec or CPU feature";
    case DC_ERR_SIZE_MISMATCH:
        return "size mismatch";
    case DC_ERR_IO:
        return "I/O error";
    case DC_ERR_NOT_FINITE:
        return "NaN or infinity in input";
    case DC_ERR_DIMENSION:
        return "dimension mismatch";
    case DC_ERR_RANGE:
        return "parameter out of range";
    case DC_ERR_INFEASIBLE:
        return "infeasible budget";
    case DC_ERR_CODEC:
        return "external codec error";
    case DC_ERR_FORMAT:
        return "unrecognised file format";
    case DC_ERR_LIMIT:
        return "resource limit exceeded";
    case DC_ERR_NOT_FOUND:
        return "not found";
    }
    return "unknown status";
}

static void *default_alloc(void *opaque, size_t size) {
    (void)opaque;
    return malloc(size);
}

static void default_free(void *opaque, void *ptr) {
    (void)opaque;
    free(ptr);
}

dc_status dc_alloc_init(dc_alloc *a, const dc_allocator *user) {
    a->alloc_fn = default_alloc;
    a->free_fn = default_free;
    a->opaque = NULL;
    if (user == NULL) return DC_OK;
    if (user->struct_size < sizeof(dc_allocator) || user->alloc_fn == NULL || user->free_fn == NULL)
        return DC_ERR_INVALID_ARGUMENT;
    a->alloc_fn = user->alloc_fn;
    a->free_fn = user->free_fn;
    a->opaque = user->opaque;
    return DC_OK;
}

void *dc_malloc(const dc_alloc *a, size_t size) {
    return a->alloc_fn(a->opaque, size == 0 ? 1 : size);
}

void *dc_calloc(const dc_alloc *a, size_t n, size_t size) {
    if (size != 0 && n > SIZE_MAX / size) return NULL;
    void *p = dc_malloc(a, n * size);
    if (p != NULL) memset(p, 0, n * size);
    return p;
}

void dc_free(const dc_alloc *a, void *ptr) {
    if (ptr != NULL) a->free_fn(a->opaque, ptr);
}

int dc_all_finite_f32(const void *v, size_t n) {
    const unsigned char *p = (const unsigned char *)v;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) { /* no early exit: branch-free, vectorisable */
        uint32_t u;
        memcpy(&u, p + 4 * i, 4);
        bad |= (uint32_t)((u & 0x7F800000u) == 0x7F800000u);
    }
    return !bad;
}

int dc_utf8_valid(const void *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p++;
        if (c < 0x80) continue;
        size_t more;
        unsigned lo = 0x80, hi = 0xBF; /* range of the first continuation byte */
        if (c >= 0xC2 && c <= 0xDF)
            more = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else
            return 0;
        if ((size_t)(end - p) < more || p[0] < lo || p[0] > hi) return 0;
        for (size_t k = 1; k < more; k++)
            if ((p[k] & 0xC0) != 0x80) return 0;
        p += more;
    }
    return 1;
}

dc_status dc_copy_options(void *local, size_t local_size, const void *user) {
    memset(local, 0, local_size);
    if (user == NULL) return DC_OK;
    size_t n = *(const size_t *)user;
    if (n < sizeof(size_t)) return DC_ERR_INVALID_ARGUMENT;
    if (n > local_size) {
        /* A newer caller: the fields we do not know must be zero. */
        const unsigned char *extra = (const unsigned char *)user + local_size;
        for (size_t i = 0; i < n - local_size; i++)
            if (extra[i] != 0) return DC_ERR_UNSUPPORTED;
        n = local_size;
    }
    memcpy(local, user, n);
    return DC_OK;
}

uint16_t dc_f16_bits(float x, int *exact) {
    uint32_t u;
    memcpy(&u, &x, 4);
    const uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7FFFFFFFu;
    uint32_t h;
    if (a >= 0x477FF000u) { /* >= 65520: infinity */
        h = 0x7C00u;
    } else if (a < 0x38800000u) { /* below 2^-14: a multiple of 2^-24 */
        float f;
        memcpy(&f, &a, 4);
        h = (uint32_t)nearbyint((double)f * 16777216.0); /* 0..1024 (1024: the smallest normal) */
    } else {
        uint32_t keep = (a >> 13) - (112u << 10), rem = a & 0x1FFFu;
        if (rem > 0x1000u || (rem == 0x1000u && (keep & 1u))) keep++;
        h = keep;
    }
    h |= sign;
    if (exact) *exact = dc_f16_value((uint16_t)h) == x;
    return (uint16_t)h;
}

float dc_f16_value(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
    float f;
    if (e == 0) {
        f = (float)m / 16777216.0f;
        return sign ? -f : f;
    }
    uint32_t x = e == 0x1F ? sign | 0x7F800000u | (m << 13) : sign | ((e + 112u) << 23) | (m << 13);
    memcpy(&f, &x, 4);
    return f;
}
