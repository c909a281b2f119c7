/*
 * limits.h -- the memory limit of the example tools (dcz, dc-llama).
 *
 * A tool refuses, before allocating, to hold more than its memory limit of
 * data decoded or derived from an input file (DC_ERR_LIMIT, a message naming
 * what needs how much). The limit is, by precedence: --max-memory BYTES,
 * the environment variable DC_MAX_MEMORY, else dc_memory_limit_default() of
 * the input's size (4 x the file + 48 MiB). BYTES is a decimal number with an
 * optional binary suffix K, M, G or T (KiB..TiB; "KiB", "MB", ... also read
 * as binary), or "unlimited". See docs/guide.md, "Limits".
 *
 * Header-only; not part of the library.
 */
#ifndef DC_EXAMPLES_LIMITS_H
#define DC_EXAMPLES_LIMITS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doublecomp.h"

/* Parses BYTES as described above into *out; 0 on success, -1 if malformed. */
static inline int dcx_parse_bytes(const char *s, uint64_t *out) {
    if (!s || !*s) return -1;
    if (strcmp(s, "unlimited") == 0) {
        *out = UINT64_MAX;
        return 0;
    }
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10) return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (p == s) return -1;
    unsigned shift = 0;
    switch (*p) {
    case 'k':
    case 'K':
        shift = 10;
        break;
    case 'm':
    case 'M':
        shift = 20;
        break;
    case 'g':
    case 'G':
        shift = 30;
        break;
    case 't':
    case 'T':
        shift = 40;
        break;
    case '\0':
        break;
    default:
        return -1;
    }
    if (shift) {
        p++;
        if (*p == 'i') p++;
        if (*p == 'B') p++;
    }
    if (*p != '\0' || (shift && v > (UINT64_MAX >> shift))) return -1;
    *out = v << shift;
    return 0;
}

/*
 * The limit for an input of input_size bytes: opt (a --max-memory value, may
 * be NULL), else $DC_MAX_MEMORY, else the default. 0 on success; -1 (after a
 * message on stderr prefixed by `tool`) if the value given is malformed.
 */
static inline int dcx_memory_limit(const char *tool, const char *opt, uint64_t input_size,
                                   uint64_t *limit) {
    const char *env = getenv("DC_MAX_MEMORY");
    const char *v = opt ? opt : env && *env ? env : NULL;
    if (!v) {
        *limit = dc_memory_limit_default(input_size);
        return 0;
    }
    if (dcx_parse_bytes(v, limit) != 0) {
        fprintf(stderr, "%s: bad memory limit '%s' (%s): want BYTES, e.g. 512M, 8G or unlimited\n",
                tool, v, opt ? "--max-memory" : "DC_MAX_MEMORY");
        return -1;
    }
    return 0;
}

static inline const char *dcx_bytes(uint64_t b, char *buf, size_t n) {
    static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)b;
    int k = 0;
    while (v >= 1024 && k < 6)
        v /= 1024, k++;
    if (k == 0)
        snprintf(buf, n, "%llu B", (unsigned long long)b);
    else
        snprintf(buf, n, "%.1f %s", v, u[k]);
    return buf;
}

/*
 * Checks that holding `need` bytes for `what` (e.g. "tensor x") of input
 * `path` (input_size bytes) stays within the limit. Returns DC_OK, or
 * DC_ERR_LIMIT after a message on stderr saying how to raise the limit, or
 * DC_ERR_INVALID_ARGUMENT after a message if the limit given is malformed.
 */
static inline dc_status dcx_check_memory(const char *tool, const char *opt, const char *path,
                                         uint64_t input_size, const char *what, uint64_t need) {
    uint64_t limit;
    if (dcx_memory_limit(tool, opt, input_size, &limit) != 0) return DC_ERR_INVALID_ARGUMENT;
    if (need <= limit) return DC_OK;
    char a[32], b[32], c[32];
    fprintf(stderr,
            "%s: %s: %s needs %s, above the memory limit of %s (default: 4 x the file size %s "
            "+ 48 MiB); if the file is trusted, raise it with --max-memory BYTES or "
            "DC_MAX_MEMORY=BYTES (%s)\n",
            tool, path, what, dcx_bytes(need, a, sizeof a), dcx_bytes(limit, b, sizeof b),
            dcx_bytes(input_size, c, sizeof c), dc_status_string(DC_ERR_LIMIT));
    return DC_ERR_LIMIT;
}

#endif /* DC_EXAMPLES_LIMITS_H */
