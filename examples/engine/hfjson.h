/*
 * hfjson.h -- a small JSON reader for Hugging Face checkpoint files
 * (config.json, model.safetensors.index.json), written for hostile input:
 * every read bounds-checked, nesting at most HJ_MAX_DEPTH deep, strings
 * valid UTF-8 without NUL, duplicate keys in an object refused, numbers
 * checked against the RFC 8259 grammar. Used by dcz (HF layout in and out)
 * and dc-llama (HF Llama checkpoints).
 */
#ifndef DC_HFJSON_H
#define DC_HFJSON_H

#include <stddef.h>
#include <stdint.h>

#define HJ_MAX_DEPTH 64
/* Largest JSON file hj_read_file accepts. */
#define HJ_MAX_FILE ((size_t)64 << 20)

typedef enum { HJ_NULL, HJ_BOOL, HJ_NUM, HJ_STR, HJ_ARR, HJ_OBJ } hj_type;

typedef struct hj_key {
    const char *key;
    size_t index;
} hj_key;

typedef struct hj_value {
    hj_type type;
    int boolean;   /* HJ_BOOL */
    double num;    /* HJ_NUM */
    int is_uint;   /* HJ_NUM written as a non-negative integer that fits uint64 */
    uint64_t uint; /* its exact value */
    char *str;     /* HJ_STR: NUL-terminated, unescaped (no NUL inside) */
    size_t n;      /* HJ_ARR, HJ_OBJ: number of items */
    struct hj_value *items;
    char **keys;    /* HJ_OBJ: key of each item, in file order */
    hj_key *sorted; /* HJ_OBJ: keys sorted, with their item (lookups bisect) */
} hj_value;

/* Parses text[0..len) as one JSON value. Returns it (free with hj_free), or
 * NULL with *why set to a static reason ("duplicate key", ...). */
hj_value *hj_parse(const char *text, size_t len, const char **why);
void hj_free(hj_value *v);
/* Reads and parses a file (at most HJ_MAX_FILE bytes). NULL with *why on
 * error (errno is kept for "cannot read"). */
hj_value *hj_read_file(const char *path, const char **why);
/* The member `key` of object o, or NULL (also when o is not an object). */
const hj_value *hj_get(const hj_value *o, const char *key);
/* Member `key` as a non-negative integer / number / string / bool: returns
 * 1 and sets *out, 0 if absent, -1 if present with another type. */
int hj_get_uint(const hj_value *o, const char *key, uint64_t *out);
int hj_get_num(const hj_value *o, const char *key, double *out);
int hj_get_str(const hj_value *o, const char *key, const char **out);
int hj_get_bool(const hj_value *o, const char *key, int *out);

/* A growable string (JSON output). On allocation failure `oom` is set and
 * later appends do nothing. */
typedef struct hj_buf {
    char *p;
    size_t n, cap;
    int oom;
} hj_buf;
void hj_buf_put(hj_buf *b, const char *s, size_t n);
void hj_buf_puts(hj_buf *b, const char *s);
void hj_buf_printf(hj_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s (UTF-8) as a JSON string, quotes included. */
void hj_buf_string(hj_buf *b, const char *s);
/* v as compact JSON (numbers: exact integers, else %.17g). */
void hj_buf_value(hj_buf *b, const hj_value *v);
/* Writes text[0..n) to path atomically (a temporary file next to it, fsync,
 * rename; removed on failure and on SIGINT/SIGTERM). 0, or -1 with errno. */
int hj_write_file(const char *path, const char *text, size_t n);

#endif
