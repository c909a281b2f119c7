#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>

char *el_read_text(const char *path, long offset, long max_chars, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dc-llama: cannot open %s\n", path);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long size = ftell(f);
    if (offset > size) offset = size;
    long n = size - offset;
    if (max_chars >= 0 && n > max_chars) n = max_chars;
    char *buf = malloc((size_t)n + 1);
    if (!buf || fseek(f, offset, SEEK_SET) != 0 || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "dc-llama: cannot read %s\n", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

int el_pipeline_apply(el_model *m, const el_tokenizer *tk, const el_qopts *opts, el_qreport *rep) {
    (void)m;
    (void)tk;
    (void)opts;
    (void)rep;
    fprintf(stderr, "dc-llama: quantization not available yet\n");
    return -1;
}
