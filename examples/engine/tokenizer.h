/*
 * tokenizer.h -- dc-llama: llama2.c-format BPE tokenizer (sentencepiece-like).
 *
 * Encoding follows the llama2.c convention: optional BOS (id 1), a dummy
 * prefix " " before non-empty text, every UTF-8 code point looked up in the
 * vocabulary (unknown ones fall back to byte tokens id = byte + 3), then
 * repeatedly the adjacent pair whose concatenation is in the vocabulary with
 * the highest score is merged (ties: leftmost), until no pair merges.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DC_ENGINE_TOKENIZER_H
#define DC_ENGINE_TOKENIZER_H

#include <stddef.h>

#define EL_TOK_BOS 1
#define EL_TOK_EOS 2
/* Smallest vocabulary el_tokenizer_load accepts: the byte tokens 3..258. */
#define EL_TOK_MIN_VOCAB 259

typedef struct el_tokenizer {
    int vocab_size;
    int max_token_length;
    char **vocab;  /* NUL-terminated token strings */
    int *vlen;     /* byte lengths */
    float *scores; /* merge scores */
    int *hash;     /* open-addressing table of ids, -1 = empty */
    size_t hash_cap;
} el_tokenizer;

int el_tokenizer_load(el_tokenizer *tk, const char *path, int vocab_size);
void el_tokenizer_free(el_tokenizer *tk);

/* An empty tokenizer of vocab_size tokens, to be filled with
 * el_tokenizer_set (0 or -1: out of memory). */
int el_tokenizer_init(el_tokenizer *tk, int vocab_size, int max_token_length);
/* Sets token i (once) to s[0..len) with merge score `score`. 0 or -1. */
int el_tokenizer_set(el_tokenizer *tk, int i, const char *s, size_t len, float score);

/* Id of the exact byte string s[0..n), or -1. */
int el_tokenizer_lookup(const el_tokenizer *tk, const char *s, size_t n);

/*
 * Encodes text[0..n). Returns a malloc'd array of ids (*n_out of them; free
 * it), or NULL on allocation failure. bos != 0 prepends BOS.
 */
int *el_tokenizer_encode(const el_tokenizer *tk, const char *text, size_t n, int bos, int *n_out);

/*
 * Characters (bytes) of the source text that toks[0..n) of an encoding
 * without BOS cover: the sum of their byte lengths (a byte token counts 1),
 * minus the dummy-prefix space (0 for n = 0).
 */
size_t el_tokenizer_chars(const el_tokenizer *tk, const int *toks, int n);

/*
 * The bytes to print for `token` following `prev`: a leading space is
 * dropped after BOS, "<0xHH>" tokens give the raw byte. Writes at most
 * cap-1 bytes plus NUL into buf and returns the byte count.
 */
size_t el_tokenizer_decode(const el_tokenizer *tk, int prev, int token, char *buf, size_t cap);

#endif /* DC_ENGINE_TOKENIZER_H */
