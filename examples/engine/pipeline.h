/*
 * pipeline.h -- dc-llama: calibration, DC scaling, pruning and W8A8
 * quantization of the linear layers, done with libdoublecomp's handles.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DC_ENGINE_PIPELINE_H
#define DC_ENGINE_PIPELINE_H

#include "doublecomp.h"
#include "model.h"
#include "refquant.h"
#include "tokenizer.h"

typedef enum el_gran { EL_GRAN_TENSOR = 0, EL_GRAN_CHANNEL, EL_GRAN_GROUP } el_gran;
typedef enum el_prune_method {
    EL_PRUNE_NONE = 0,
    EL_PRUNE_DC,
    EL_PRUNE_WANDA,
    EL_PRUNE_MAGNITUDE
} el_prune_method;

#define EL_MAX_LAYERS 256

typedef struct el_qopts {
    int quantize; /* 0: plain FP32 */
    int bits;     /* weight bits (8 or 4); activations are always int8 */
    el_gran gran;
    int group;     /* columns per group for EL_GRAN_GROUP */
    unsigned qmax; /* largest |q| (dc_quant_options.qmax); 0 = the full range */
    int use_alpha;
    double alpha;                      /* DC scaling exponent (all layers) */
    double layer_alpha[EL_MAX_LAYERS]; /* per-layer override; < 0 = use alpha */
    double sparsity;                   /* fraction of weights pruned per output row */
    el_prune_method prune;
    int prune_group; /* comparison group: 0 = per output row, -1 = whole tensor */
    const char *calib_path;
    int calib_tokens;
    long calib_offset;
    /* GGUF models (el_qopts_for_gguf): 8-bit scales are binary16 values
     * (el_quantize_f16_scales), so that dcz export --gguf writes the
     * weights as Q8_0 with exactly these values; and fold_only below: GGUF
     * has no place for the run-time 1/s of wo's and w2's inputs. */
    int f16_scales;
    unsigned qflags;    /* dc_quant_options.flags: DC_QUANT_FULL_GRID, DC_QUANT_F16_SCALES */
    el_ref_format ref;  /* a llama.cpp format instead of dc_quantize (refquant.h) */
    int gptq;           /* GPTQ-style error feedback from the calibration X^T X (gptq.h) */
    int scale_mantissa; /* with gptq: significand bits kept in each scale (0 = all) */
    int fold_only;      /* scale only the inputs whose 1/s folds into a norm (wq/wk/wv, w1/w3):
                         * no smoothing vectors to store */
} el_qopts;

typedef struct el_qreport {
    size_t n_weights;      /* quantized linear weights */
    double entropy_bits;   /* order-0 entropy, one table per tensor, weighted */
    double zero_fraction;  /* fraction of quantized weights equal to 0 */
    double prune_fraction; /* fraction of weights zeroed by pruning (before quantization) */
    size_t ans_bytes;      /* the library's ANS coder, one chunk per tensor */
    size_t calib_tokens;   /* activation rows observed per input */
    size_t calib_chars;    /* characters of calibration text used (from calib_offset) */
    size_t side_bytes;     /* stored scales and smoothing vectors: 4 bytes each, binary16
                            * scales 2 bytes each, ANS-coded when that is smaller */
    double bound_bytes;    /* sum over tensors of n * entropy / 8: the order-0 bound */
    size_t ref_bytes;      /* a llama.cpp format (ref): the bytes it stores */
    size_t packed_bytes;   /* 4 bits: ANS size of the packed nibble pairs instead */
} el_qreport;

/* Runs the FP32 model over opts' calibration text (calib_path, calib_offset,
 * calib_tokens), feeding every linear input into stats[layer * EL_NIN + input]
 * (created by the caller with the input's width) and, when hess is not NULL,
 * adding X^T X into hess[layer * EL_NIN + input] (width x width doubles,
 * zeroed by the caller). 0 or -1. */
int el_calibrate(el_model *m, const el_tokenizer *tk, const el_qopts *opts, dc_stats **stats,
                 double **hess, size_t *chars_used);

/* Installs a quantized tensor into a linear (W8A8 mode) and adds its entropy,
 * zeros and ANS size to rep. 8 bits: the int8 bytes are coded; 4 bits: the
 * codes one per byte (each nibble a symbol of its own: the packed pairs would
 * need a 256-symbol table for 16 values). 0 or -1. */
int el_install_qtensor(el_linear *lin, const dc_qtensor *qt, int bits, el_qreport *rep,
                       dc_cctx *cctx);

/* Applies opts to the model (which must be FP32 when called). 0 or -1. */
int el_pipeline_apply(el_model *m, const el_tokenizer *tk, const el_qopts *opts, el_qreport *rep);

/* Sets o's GGUF fields (f16_scales, fold_only) for a model that comes from,
 * or goes to, a GGUF file. */
void el_qopts_for_gguf(el_qopts *o);

/*
 * Symmetric quantization of w[rows x cols] with binary16 scales (what Q8_0
 * holds exactly): per scale group (per tensor: all; per channel: a row; per
 * group: G columns of a row) d = the smallest binary16 value >= max|w| /
 * qmax (1 for an all-zero group), q = clamp(round(w / d), -qmax, qmax).
 * qo->qmax 0 means 127; qo->bits must be 8. Returns a dc_qtensor like
 * dc_quantize's (DC_OK; the caller frees it), DC_ERR_RANGE if a group's
 * max|w| is not finite or needs a scale above 65504, or another status.
 */
dc_status el_quantize_f16_scales(const float *w, size_t rows, size_t cols,
                                 const dc_quant_options *qo, dc_qtensor **out);

/* Reads [offset, offset+max_chars) of a file (max_chars < 0: to the end). */
char *el_read_text(const char *path, long offset, long max_chars, size_t *len);

#endif /* DC_ENGINE_PIPELINE_H */
