/*
 * gguf_check.c -- test helper for GGUF files (lib/gguf.c's reader).
 *
 *   gguf_check list FILE.gguf      one line per key ("kv KEY TYPE VALUE";
 *                                  integers and strings with their value,
 *                                  arrays with their length) and per tensor
 *                                  ("tensor NAME ne0,ne1,.. TYPE"), as
 *                                  tests/gguf_check.mjs prints them
 *   gguf_check same A.gguf B.gguf  every key/value of A is in B with the same
 *                                  type and bytes, the tensors have the same
 *                                  names, order, shapes and types, and their
 *                                  data bytes are identical
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"

static dc_gguf *open_or_die(const char *path) {
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_gguf *g = NULL;
    const char *why = "";
    if (dc_gguf_open(&a, path, &g, &why) != DC_OK) {
        fprintf(stderr, "gguf_check: %s: %s\n", path, why);
        exit(2);
    }
    return g;
}

static uint8_t *read_range(const char *path, uint64_t off, uint64_t n) {
    FILE *f = fopen(path, "rb");
    uint8_t *p = malloc(n ? n : 1);
    if (!f || !p || fseeko(f, (off_t)off, SEEK_SET) != 0 || fread(p, 1, n, f) != n) {
        fprintf(stderr, "gguf_check: %s: read error\n", path);
        exit(2);
    }
    fclose(f);
    return p;
}

static const char *const kTypes[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                     "bool", "string", "array", "u64", "i64", "f64"};

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "list")) {
        dc_gguf *g = open_or_die(argv[2]);
        for (size_t i = 0; i < g->n_kv; i++) {
            const dc_gguf_kv *kv = &g->kv[i];
            int64_t v;
            const char *s;
            uint64_t len, count;
            uint32_t et;
            const uint8_t *el;
            size_t es;
            printf("kv %s %s", kv->key, kTypes[kv->type]);
            if (kv->type != DC_GGUF_BOOL && dc_gguf_kv_int(kv, &v))
                printf(" %lld", (long long)v);
            else if (dc_gguf_kv_string(kv, &s, &len))
                printf(" %.*s", (int)len, s);
            else if (dc_gguf_kv_array(kv, &et, &count, &el, &es))
                printf(" %llu", (unsigned long long)count);
            printf("\n");
        }
        for (size_t i = 0; i < g->n_tensors; i++) {
            const dc_gguf_tensor *t = &g->tensors[i];
            printf("tensor %s ", t->name);
            for (unsigned d = 0; d < t->n_dims; d++)
                printf("%s%llu", d ? "," : "", (unsigned long long)t->ne[d]);
            printf(" %u\n", t->type);
        }
        dc_gguf_free(g);
        return 0;
    }
    if (argc != 4 || strcmp(argv[1], "same")) {
        fprintf(stderr, "usage: gguf_check list FILE | gguf_check same A B\n");
        return 2;
    }
    dc_gguf *a = open_or_die(argv[2]), *b = open_or_die(argv[3]);
    int bad = 0;
    for (size_t i = 0; i < a->n_kv; i++) {
        const dc_gguf_kv *x = &a->kv[i], *y = dc_gguf_find(b, x->key);
        if (!y || y->type != x->type || y->val_size != x->val_size ||
            memcmp(x->val, y->val, x->val_size) != 0) {
            printf("key/value %s differs or is missing\n", x->key);
            bad = 1;
        }
    }
    if (a->n_tensors != b->n_tensors) printf("tensor counts differ\n"), bad = 1;
    uint64_t bytes = 0;
    for (size_t i = 0; !bad && i < a->n_tensors; i++) {
        const dc_gguf_tensor *x = &a->tensors[i], *y = &b->tensors[i];
        if (strcmp(x->name, y->name) || x->type != y->type || x->n_dims != y->n_dims ||
            memcmp(x->ne, y->ne, sizeof(x->ne))) {
            printf("tensor %zu (%s) differs in name, type or shape\n", i, x->name);
            bad = 1;
            break;
        }
        uint8_t *p = read_range(argv[2], a->data_offset + x->offset, x->nbytes);
        uint8_t *q = read_range(argv[3], b->data_offset + y->offset, y->nbytes);
        if (memcmp(p, q, x->nbytes) != 0) printf("tensor %s: data differs\n", x->name), bad = 1;
        bytes += x->nbytes;
        free(p), free(q);
    }
    if (!bad)
        printf("same: %zu key/values, %zu tensors, %llu data bytes identical\n", a->n_kv,
               a->n_tensors, (unsigned long long)bytes);
    dc_gguf_free(a), dc_gguf_free(b);
    return bad;
}
