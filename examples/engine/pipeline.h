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
} el_qopts;

typedef struct el_qreport {
    size_t n_weights;      /* quantized linear weights */
    double entropy_bits;   /* order-0 entropy, one table per tensor, weighted */
    double zero_fraction;  /* fraction of quantized weights equal to 0 */
    double prune_fraction; /* fraction of weights zeroed by pruning (before quantization) */
    size_t ans_bytes;      /* the library's ANS coder, one chunk per tensor */
    size_t calib_tokens;   /* activation rows observed per input */
    size_t calib_chars;    /* characters of calibration text used (from calib_offset) */
    size_t side_bytes;     /* stored scales and smoothing vectors (4 bytes each in a .dcz) */
} el_qreport;

/* Runs the FP32 model over opts' calibration text (calib_path, calib_offset,
 * calib_tokens), feeding every linear input into stats[layer * EL_NIN + input]
 * (created by the caller with the input's width). 0 or -1. */
int el_calibrate(el_model *m, const el_tokenizer *tk, const el_qopts *opts, dc_stats **stats,
                 size_t *chars_used);

/* Installs a quantized tensor into a linear (W8A8 mode) and adds its entropy,
 * zeros and ANS size to rep. 0 or -1. */
int el_install_qtensor(el_linear *lin, const dc_qtensor *qt, int bits, el_qreport *rep,
                       dc_cctx *cctx);

/* Applies opts to the model (which must be FP32 when called). 0 or -1. */
int el_pipeline_apply(el_model *m, const el_tokenizer *tk, const el_qopts *opts, el_qreport *rep);

/* Reads [offset, offset+max_chars) of a file (max_chars < 0: to the end). */
char *el_read_text(const char *path, long offset, long max_chars, size_t *len);

#endif /* DC_ENGINE_PIPELINE_H */
