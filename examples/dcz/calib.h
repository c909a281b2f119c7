/*
 * calib.h -- dcz's llama2.c path: calibration and the full DC pipeline run by
 * the reference engine (examples/engine), whose result is then written to
 * the .dcz exactly as the engine would run it.
 */
#ifndef DCZ_CALIB_H
#define DCZ_CALIB_H

#include "doublecomp.h"

typedef struct calib_options {
    double alpha, sparsity;
    int prune; /* dc_prune_method */
    int bits;
    dc_quant_granularity gran;
    size_t group;
    long tokens;
    int prune_tensor;   /* 1: compare scores across the whole tensor, 0: per output row */
    unsigned qmax;      /* largest |q|; 0 = the full range */
    int gptq;           /* GPTQ-style error feedback (examples/engine/gptq.h) */
    unsigned qflags;    /* dc_quant_options.flags (DC_QUANT_FULL_GRID, DC_QUANT_F16_SCALES) */
    int scale_mantissa; /* with gptq: significand bits kept per scale (0 = all) */
} calib_options;

/* One tensor the engine changed (quantized linear, or norm with 1/s folded). */
typedef struct calib_tensor {
    dc_tensor_desc desc; /* name/scales/smooth point into storage owned by the result */
    void *data;
    size_t size;
} calib_tensor;

typedef struct calib_result calib_result;

/* Runs calibration + scaling + pruning + quantization on a llama2.c model,
 * or on a llama-architecture GGUF file (a path ending in ".gguf": names as
 * in the file, binary16 scales, 1/s only where it folds into a norm; see
 * el_qopts_for_gguf). tokenizer may be NULL for a GGUF (its own
 * tokenizer.ggml.* keys). Returns 0 or an exit code (message printed). */
int calib_compress_llama2c(const char *model, const char *tokenizer, const char *text,
                           const calib_options *o, calib_result **out, int quiet);
/* The changed tensor called `name`, or NULL (then store the source tensor). */
const calib_tensor *calib_find(const calib_result *r, const char *name);
/* Metadata to add to the file (JSON members, no braces), e.g. the llama2.c header. */
const char *calib_metadata(const calib_result *r);
void calib_free(calib_result *r);

#endif
