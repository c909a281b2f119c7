/*
 * source.h -- model files as a list of tensors read one at a time
 * (safetensors F32/F16/BF16, llama2.c checkpoints), so that compressing a
 * model never needs the whole model in memory.
 */
#ifndef DCZ_SOURCE_H
#define DCZ_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "doublecomp.h"

typedef struct src_tensor {
    char *name;
    dc_dtype dtype; /* F32, F16 or BF16; I8 for raw int8 tensors */
    unsigned ndim;
    uint64_t dims[DC_MAX_DIMS];
    uint64_t offset; /* byte offset in the file */
    uint64_t nbytes;
} src_tensor;

typedef struct model_source {
    char *path;
    int is_llama2c;
    src_tensor *t;
    size_t n, cap;
    uint64_t file_size;
    int32_t llama2c_header[7]; /* llama2.c only */
} model_source;

/* Opens a model; on error returns a status and sets *why (static text). */
dc_status source_open(const char *path, model_source *s, const char **why);
void source_close(model_source *s);
/* Reads tensor i's bytes into dst (nbytes). */
dc_status source_read(const model_source *s, size_t i, void *dst);
/* Total bytes of all tensors. */
uint64_t source_bytes(const model_source *s);

#endif
