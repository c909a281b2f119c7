/*
 * source.h -- model files as a list of tensors read one at a time
 * (safetensors F32/F16/BF16, pre-quantized I8/U8 with their scales, llama2.c
 * checkpoints), so that compressing a model never needs the whole model in
 * memory.
 */
#ifndef DCZ_SOURCE_H
#define DCZ_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "doublecomp.h"

/* A tensor already quantized by the host (I8, or U8 holding 4-bit pairs),
 * with its dequantization scales and, if any, smoothing scales in companion
 * tensors '<name>.scales' and '<name>.smooth' (as dcz extract writes them). */
typedef struct src_quant {
    unsigned bits; /* 8 or 4; 0: not imported with scales */
    dc_quant_granularity gran;
    uint64_t group_size;
    dc_dtype source_dtype;
    float alpha, sparsity;
    int prune_method;
    uint64_t scales_offset, n_scales; /* F32 values in the file */
    uint64_t smooth_offset, n_smooth;
} src_quant;

typedef struct src_tensor {
    char *name;
    dc_dtype dtype; /* F32, F16 or BF16; I8 for quantized tensors */
    unsigned ndim;
    uint64_t dims[DC_MAX_DIMS]; /* of the weights (4 bits: the real column count) */
    uint64_t offset;            /* byte offset in the file */
    uint64_t nbytes;
    src_quant q;
} src_tensor;

typedef struct model_source {
    char *path;
    int is_llama2c;
    src_tensor *t;
    size_t n;
    uint64_t file_size;
    int32_t llama2c_header[7]; /* llama2.c only */
    /* safetensors written by dcz extract: the .dcz metadata it carries (its
     * "dcz.metadata" entry); NULL otherwise. Such a model is stored as it was:
     * no tensor is quantized again. */
    char *dcz_metadata;
} model_source;

/* Opens a model; on error returns a status and sets *why (static text). */
dc_status source_open(const char *path, model_source *s, const char **why);
void source_close(model_source *s);
/* Reads tensor i's bytes into dst (nbytes). */
dc_status source_read(const model_source *s, size_t i, void *dst);
/* Reads n little-endian F32 values at byte offset `offset` into dst. */
dc_status source_read_f32(const model_source *s, uint64_t offset, uint64_t n, float *dst);
/* Total bytes of all tensors. */
uint64_t source_bytes(const model_source *s);

#endif
