/*
 * gguf_load.h -- dc-llama: llama-architecture GGUF models (llama.cpp's
 * format), and the names that map them to llama2.c checkpoints.
 *
 * A GGUF file holds the hyper-parameters as llama.* keys, the weights under
 * llama.cpp's names (token_embd, blk.N.attn_q, ..., output_norm, output) and
 * the tokenizer as tokenizer.ggml.* keys. dc-llama reads them into the same
 * float layout a llama2.c checkpoint has, so both run identically.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DC_ENGINE_GGUF_LOAD_H
#define DC_ENGINE_GGUF_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "tokenizer.h"

struct dc_gguf;
struct dc_gguf_buf;
struct dc_gguf_out_tensor;

/* The GGUF (llama.cpp) name of llama2.c tensor `l2c` (as el_layout names
 * it: "tok_embeddings.weight", "layers.3.attention.wq.weight", ...) into
 * out; NULL for the RoPE tables, which GGUF does not store. */
const char *el_gguf_name(const char *l2c, char *out, size_t cap);

/* The llama2.c name of GGUF tensor `gguf` into out, or NULL if it has none. */
const char *el_l2c_name(const char *gguf, char *out, size_t cap);

/*
 * The llama2.c header (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 * vocab_size (negative: separate classifier), seq_len) of a
 * llama-architecture GGUF header or .dcz key/value section g: llama.* keys,
 * the vocabulary from token_embd.weight, a separate classifier if
 * output.weight is there. 0, or -1 with a message naming what is missing
 * into why[0..cap).
 */
int el_gguf_header(const struct dc_gguf *g, int32_t hdr[7], char *why, size_t cap);

/* Loads a llama-architecture GGUF file (F32, F16, BF16 and Q8_0 tensors,
 * dequantized to floats). Returns 0 or -1 (message on stderr). */
int el_model_load_gguf(el_model *m, const char *path);

/* 1 if path names a GGUF file (".gguf"): a model that carries its
 * tokenizer (tokenizer.ggml.* keys). Opens nothing. A .dcz made from a GGUF
 * carries it too: pass it as the tokenizer (el_tokenizer_load reads the
 * key/value section of a path ending in ".dcz"). */
int el_tokenizer_in_model(const char *path);

/* Loads the tokenizer of a GGUF file or of a .dcz key/value section
 * (tokenizer.ggml.tokens and .scores; U+2581 in tokens becomes a space, as
 * in llama2.c tokenizers). Returns 0 or -1 (message on stderr). */
int el_tokenizer_load_gguf(el_tokenizer *tk, const char *path, int vocab_size);

/*
 * Appends the key/values of a llama-architecture GGUF for a model with
 * config c to kv: general.* (general.name: `source` up to its first '.',
 * general.file_type), llama.* hyper-parameters (RMSNorm eps 1e-5, RoPE base
 * 10000) and tokenizer.ggml.* from the llama2.c tokenizer file `tokenizer`
 * (spaces as U+2581; token types unknown, control, byte, normal). 0, or -1
 * after a message on stderr (the tokenizer cannot be read); running out of
 * memory sets kv->oom.
 */
int el_gguf_llama_kv(struct dc_gguf_buf *kv, const el_config *c, const char *source,
                     const char *tokenizer, uint32_t file_type);

/*
 * The GGUF tensors of a llama2.c layout (slots[0..ns), el_layout's) in
 * llama.cpp's names and order (token_embd, then block by block, then
 * output_norm and output; no RoPE tables) into ot[], with slot_of[k] the
 * slot of ot[k] and the names stored in names[k] (ot[k].name points there;
 * arrays of ns entries). Types: 1-D tensors F32; 2-D ones type2d (ggml
 * F32, F16 or Q8_0; Q8_0 only where the rows, ne[0], are a multiple of 32,
 * else F32). Returns the number of tensors.
 */
size_t el_gguf_llama_tensors(const el_config *c, const el_slot *slots, size_t ns, uint32_t type2d,
                             struct dc_gguf_out_tensor *ot, size_t *slot_of, char (*names)[96]);

#endif /* DC_ENGINE_GGUF_LOAD_H */
