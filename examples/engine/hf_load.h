/*
 * hf_load.h -- dc-llama: Hugging Face Llama-architecture checkpoints
 * (LlamaForCausalLM: config.json, safetensors shards), read into the float
 * layout of a llama2.c checkpoint so that both run identically.
 *
 * Names: model.embed_tokens.weight, model.layers.N.input_layernorm.weight,
 * .self_attn.{q,k,v,o}_proj.weight, .post_attention_layernorm.weight,
 * .mlp.{gate,down,up}_proj.weight, model.norm.weight, lm_head.weight
 * (absent with tie_word_embeddings). Hugging Face rotates the two halves of
 * each head (rotate_half) where llama2.c rotates adjacent pairs, so its
 * conversion script permutes the rows of q_proj and k_proj within each
 * head: HF row j * hs/2 + i holds llama2.c row 2i + j (i < hs/2, j < 2).
 * el_hf_permute applies that permutation, el_hf_unpermute undoes it.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DC_ENGINE_HF_LOAD_H
#define DC_ENGINE_HF_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "hfjson.h"
#include "model.h"

/* The Hugging Face name of llama2.c tensor `l2c` (el_layout's names) into
 * out; NULL for the RoPE tables (not stored). *perm_heads: for q_proj and
 * k_proj the number of heads whose rows are permuted (n_heads, n_kv_heads),
 * else 0. */
const char *el_hf_name(const el_config *c, const char *l2c, char *out, size_t cap, int *perm_heads);

/* rows x cols (row-major floats) of a q or k weight with `heads` heads of
 * rows / heads rows each: llama2.c order to Hugging Face order (permute) and
 * back (unpermute), through tmp (rows x cols floats). */
void el_hf_permute(float *w, size_t rows, size_t cols, int heads, float *tmp);
void el_hf_unpermute(float *w, size_t rows, size_t cols, int heads, float *tmp);
/* The same for rows of row_bytes bytes each (quantized codes, scales). */
void el_hf_unpermute_rows(void *w, size_t rows, size_t row_bytes, int heads, void *tmp);

/*
 * The llama2.c header of a Hugging Face config.json (parsed): hidden_size,
 * intermediate_size, num_hidden_layers, num_attention_heads,
 * num_key_value_heads (default: num_attention_heads), vocab_size,
 * max_position_embeddings (seq_len), tie_word_embeddings (default false,
 * as LlamaConfig's); rms_norm_eps (default 1e-6) and rope_theta (default
 * 10000) into *eps and *theta. 0, or -1 with a reason in why[0..cap).
 */
int el_hf_header(const hj_value *config, int32_t hdr[7], double *eps, double *theta, char *why,
                 size_t cap);

/* 0 if the engine's fixed constants (RMSNorm eps 1e-5, RoPE theta 10000)
 * are the config's, else -1 with a reason. */
int el_hf_check_constants(double eps, double theta, char *why, size_t cap);

/* 1 if path is a directory or ends in ".safetensors.index.json". */
int el_is_hf_path(const char *path);

/* Loads a Hugging Face Llama checkpoint (its directory, or its index file):
 * config.json for the hyper-parameters, F32/F16/BF16 tensors from the shards
 * the index names (plain file names in the directory only), q_proj and
 * k_proj rows un-permuted to llama2.c's order, so the run equals the
 * llama2.c checkpoint's. Returns 0 or -1 (message on stderr). */
int el_model_load_hf(el_model *m, const char *path);

#endif /* DC_ENGINE_HF_LOAD_H */
