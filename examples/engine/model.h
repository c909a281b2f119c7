/*
 * model.h -- dc-llama: a small llama-family transformer (llama2.c checkpoints).
 *
 * The forward pass runs a block of T consecutive tokens at positions
 * pos0..pos0+T-1 against a KV cache (T = 1 for generation, T = a whole window
 * for perplexity). Every linear layer goes through el_linear, which is either
 * FP32 or W8A8 (integer-valued weights with their scales, activations
 * quantized per token at run time); see linear.c.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DC_ENGINE_MODEL_H
#define DC_ENGINE_MODEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct el_config {
    int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
    int shared_classifier; /* vocab_size > 0 in the header */
    int head_size, kv_dim;
} el_config;

/* Which linear of a layer; the ids are used for naming and calibration. */
enum { EL_WQ = 0, EL_WK, EL_WV, EL_WO, EL_W1, EL_W2, EL_W3, EL_NLIN };

/*
 * The inputs that linear layers read. Several linears share one input:
 * wq/wk/wv read the attention-normed x, w1/w3 read the ffn-normed x.
 */
enum { EL_IN_ATT = 0, EL_IN_WO, EL_IN_FFN, EL_IN_W2, EL_NIN };

/* Input of each linear (EL_WQ -> EL_IN_ATT, ...). */
int el_linear_input(int which);
/* "wq", "wk", ... */
const char *el_linear_name(int which);

/* Weight/activation format of one linear layer. */
typedef enum el_lin_mode {
    EL_LIN_FP32 = 0, /* y = x W^T in float */
    EL_LIN_W8A8 = 1  /* integer weights + scales; activations int8 per token */
} el_lin_mode;

typedef struct el_linear {
    int in, out;
    el_lin_mode mode;
    const float *w; /* FP32 weights [out x in], row-major (one row per output) */
    float *w_owned; /* set when w was modified (pruned) and is owned here */
    /* W8A8: qw holds the integer weight values q (|q| <= qmax) as floats. */
    float *qw;
    float *scale;  /* per tensor: 1; per channel: out; per group: out x n_groups */
    int n_scales;  /* 1, out, or out * n_groups */
    int group;     /* columns per group (per-group mode), else 0 */
    int8_t *q8;    /* the same integers as bytes (for entropy/compression) */
    int act_qmax;  /* activation quantization range (127 for int8; 0: float, weight-only) */
    float *inv_in; /* if set: x[:, j] *= inv_in[j] before quantizing (1/s) */
    float *smooth; /* with inv_in: the s it was computed from (inv_in[j] = 1.0f / s[j]) */
    /* Planned INT8 mode (plan.h): set when the weights live in a plan's
     * chunks (raw INT8 or compressed) instead of qw/q8; owned by the plan. */
    struct el_jit_lin *jit;
} el_linear;

typedef struct el_layer {
    float *rms_att, *rms_ffn; /* owned copies (1/s can be folded in) */
    el_linear lin[EL_NLIN];
} el_layer;

/*
 * Observer of linear-layer inputs (calibration). Called once per shared input
 * with X [T x n] row-major, before any run-time 1/s scaling.
 */
typedef void (*el_observer)(void *ctx, int layer, int input, const float *x, int t, int n);

typedef struct el_model {
    el_config cfg;
    float *file_data; /* the whole checkpoint, floats after the header */
    size_t file_floats;
    const float *tok_emb; /* [vocab x dim]; also the classifier when shared */
    const float *wcls;    /* [vocab x dim] */
    float *rms_final;
    el_layer *layers;
    float *rope_cos, *rope_sin; /* [seq_len x head_size/2] */
    /* run state */
    float *key_cache, *value_cache; /* [L x seq_len x kv_dim] */
    int max_t;                      /* largest block the scratch below holds */
    float *x, *xb, *xb2, *q, *k, *v, *att, *hb, *hb2, *scratch_in, *scratch_out;
    float *scratch_q; /* per-group partial products */
    el_observer observer;
    void *observer_ctx;
    struct el_plan *plan; /* set by el_model_load_dcz_plan (plan.h); freed with the model */
} el_model;

/* Loads a llama2.c checkpoint, or a .dcz written by `dcz compress` from one
 * (path ending in ".dcz"; see el_model_load_dcz). Returns 0 on success, else
 * prints to stderr. */
int el_model_load(el_model *m, const char *path);

/* One tensor of a llama2.c checkpoint: its name (as dcz names it), where its
 * floats start after the 28-byte header, and its shape (cols = 0: 1-D). */
typedef struct el_slot {
    char name[64];
    size_t offset, rows, cols;
    int layer, linear; /* linear: EL_WQ.. for linear weights, else -1 */
} el_slot;

/* Validates a llama2.c header into *c (0 or -1). */
int el_config_from_header(el_config *c, const int32_t hdr[7]);

/* Floats a checkpoint with config c holds after its 28-byte header
 * (computed, nothing allocated). */
uint64_t el_layout_floats(const el_config *c);

/* Bytes el_model_init allocates for a model with config c besides the
 * weights: KV cache, activation scratch for blocks of seq_len tokens, RoPE
 * tables, norm copies. A llama2.c header is checked against the memory limit
 * with this before anything is allocated (a 28-byte header can ask for a
 * 64 GiB KV cache). */
uint64_t el_run_state_bytes(const el_config *c);

/* The --max-memory value of the running tool (examples/limits.h), or NULL
 * for $DC_MAX_MEMORY or the default. Set by main() before loading. */
extern const char *el_max_memory;

/* 0 if holding `need` bytes for `what` of the model file `path`
 * (file_size bytes) is within the memory limit, else -1 after a message. */
int el_check_memory(const char *path, uint64_t file_size, const char *what, uint64_t need);

/* Lists the tensors of a checkpoint with config c in file order into
 * slots[0..max); returns how many there are (call with max 0 to count). */
size_t el_layout(const el_config *c, el_slot *slots, size_t max);

struct el_qreport;
/* Loads a .dcz written by `dcz compress` from a llama2.c checkpoint: FP32
 * tensors decoded, quantized linears installed in W8A8 mode exactly as
 * el_pipeline_apply leaves them (scales, run-time 1/s from the stored s).
 * rep (may be NULL) receives entropy/zero statistics, desc (may be NULL) how
 * the linears were quantized, read from the same open of the file. Returns 0
 * or -1 (message on stderr). */
struct el_qopts;
int el_model_load_dcz(el_model *m, const char *path, struct el_qreport *rep, struct el_qopts *desc);

/* Sets up a model from a header and the floats that follow it in a
 * checkpoint (takes ownership of data, nfl floats). Returns 0 or -1. */
int el_model_init(el_model *m, const int32_t hdr[7], float *data, size_t nfl, const char *what);
void el_model_free(el_model *m);

/*
 * Runs tokens[0..t) at positions pos0.. and writes logits for every one of
 * them into logits [t x vocab] (t <= seq_len - pos0). Returns 0 or -1.
 */
int el_forward(el_model *m, const int *tokens, int t, int pos0, float *logits);

/* Applies y[T x out] = x[T x in] W^T for one linear (any mode). */
void el_linear_apply(el_model *m, el_linear *lin, const float *x, int t, float *y);
/* y[r * out + i] = sum_{j < in} x[r * ld + j] * w[i * ld + j] for r < t, i < out,
 * in one fixed summation order on every CPU (matmul.c), single-threaded. */
void el_matmul(int t, int out, int in, int ld, const float *x, const float *w, float *y);

/* W8A8 activation quantization of x[t x in] for lin: qx gets the
 * integer-valued floats, dt[r] the per-token step (see el_linear_apply). */
void el_quantize_input(const el_linear *lin, const float *x, int t, float *qx, float *dt);

/* Weight-only mode (dc-llama --act f32): every quantized linear keeps its
 * activations in float (act_qmax = 0; el_quantize_input only applies 1/s),
 * as llama.cpp does; FP32 linears are unaffected. Call after quantizing or
 * loading; planned (.dcz plan) linears compute in int8 and must not be set. */
void el_model_set_act_f32(el_model *m);

/* Frees a linear's owned quantized data and returns it to FP32 mode. */
void el_linear_reset(el_linear *lin);

#endif /* DC_ENGINE_MODEL_H */
