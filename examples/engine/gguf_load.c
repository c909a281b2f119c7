/*
 * gguf_load.c -- dc-llama: llama-architecture GGUF models and tokenizers.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "gguf_load.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doublecomp.h"
#include "gguf.h"

/* llama2.c linear / norm names and their GGUF counterparts in a block. */
static const char *const kL2c[] = {"attention_norm",  "attention.wq",    "attention.wk",
                                   "attention.wv",    "attention.wo",    "ffn_norm",
                                   "feed_forward.w1", "feed_forward.w2", "feed_forward.w3"};
static const char *const kGguf[] = {"attn_norm", "attn_q",   "attn_k",   "attn_v", "attn_output",
                                    "ffn_norm",  "ffn_gate", "ffn_down", "ffn_up"};
#define NKINDS (sizeof(kL2c) / sizeof(kL2c[0]))

const char *el_gguf_name(const char *l2c, char *out, size_t cap) {
    int layer, pos = 0;
    if (!strcmp(l2c, "tok_embeddings.weight")) return snprintf(out, cap, "token_embd.weight"), out;
    if (!strcmp(l2c, "norm.weight")) return snprintf(out, cap, "output_norm.weight"), out;
    if (!strcmp(l2c, "output.weight")) return snprintf(out, cap, "output.weight"), out;
    if (sscanf(l2c, "layers.%d.%n", &layer, &pos) == 1 && pos > 0) {
        for (size_t k = 0; k < NKINDS; k++) {
            size_t n = strlen(kL2c[k]);
            if (!strncmp(l2c + pos, kL2c[k], n) && !strcmp(l2c + pos + n, ".weight")) {
                snprintf(out, cap, "blk.%d.%s.weight", layer, kGguf[k]);
                return out;
            }
        }
    }
    return NULL;
}

const char *el_l2c_name(const char *gguf, char *out, size_t cap) {
    int layer, pos = 0;
    if (!strcmp(gguf, "token_embd.weight")) return snprintf(out, cap, "tok_embeddings.weight"), out;
    if (!strcmp(gguf, "output_norm.weight")) return snprintf(out, cap, "norm.weight"), out;
    if (!strcmp(gguf, "output.weight")) return snprintf(out, cap, "output.weight"), out;
    if (sscanf(gguf, "blk.%d.%n", &layer, &pos) == 1 && pos > 0) {
        for (size_t k = 0; k < NKINDS; k++) {
            size_t n = strlen(kGguf[k]);
            if (!strncmp(gguf + pos, kGguf[k], n) && !strcmp(gguf + pos + n, ".weight")) {
                snprintf(out, cap, "layers.%d.%s.weight", layer, kL2c[k]);
                return out;
            }
        }
    }
    return NULL;
}

static int key_int(const dc_gguf *g, const char *key, int64_t *v) {
    return dc_gguf_kv_int(dc_gguf_find(g, key), v);
}

int el_gguf_header(const dc_gguf *g, int32_t hdr[7], char *why, size_t cap) {
    const char *arch;
    uint64_t alen;
    if (!dc_gguf_kv_string(dc_gguf_find(g, "general.architecture"), &arch, &alen) || alen != 5 ||
        memcmp(arch, "llama", 5) != 0) {
        snprintf(why, cap, "general.architecture is not \"llama\"");
        return -1;
    }
    static const char *const keys[] = {"llama.embedding_length", "llama.feed_forward_length",
                                       "llama.block_count", "llama.attention.head_count",
                                       "llama.context_length"};
    int64_t v[5];
    for (int i = 0; i < 5; i++)
        if (!key_int(g, keys[i], &v[i]) || v[i] <= 0 || v[i] > (1 << 30)) {
            snprintf(why, cap, "key %s missing or out of range", keys[i]);
            return -1;
        }
    int64_t kvh = v[3];
    if (dc_gguf_find(g, "llama.attention.head_count_kv") &&
        (!key_int(g, "llama.attention.head_count_kv", &kvh) || kvh <= 0 || kvh > v[3])) {
        snprintf(why, cap, "key llama.attention.head_count_kv out of range");
        return -1;
    }
    /* what the engine computes: RMSNorm eps 1e-5, RoPE base 10000, full head */
    double f;
    if (dc_gguf_kv_float(dc_gguf_find(g, "llama.attention.layer_norm_rms_epsilon"), &f) &&
        (float)f != 1e-5f) {
        snprintf(why, cap, "llama.attention.layer_norm_rms_epsilon is not 1e-5");
        return -1;
    }
    if (dc_gguf_kv_float(dc_gguf_find(g, "llama.rope.freq_base"), &f) && f != 10000.0) {
        snprintf(why, cap, "llama.rope.freq_base is not 10000");
        return -1;
    }
    int64_t rd;
    if (key_int(g, "llama.rope.dimension_count", &rd) && rd != v[0] / v[3]) {
        snprintf(why, cap, "llama.rope.dimension_count is not the head size (partial RoPE)");
        return -1;
    }
    const dc_gguf_tensor *emb = dc_gguf_find_tensor(g, "token_embd.weight");
    if (!emb || emb->n_dims != 2 || emb->ne[0] != (uint64_t)v[0] || emb->ne[1] > (1u << 24)) {
        snprintf(why, cap, "token_embd.weight missing or not [vocab x dim]");
        return -1;
    }
    int shared = dc_gguf_find_tensor(g, "output.weight") == NULL;
    hdr[0] = (int32_t)v[0], hdr[1] = (int32_t)v[1], hdr[2] = (int32_t)v[2];
    hdr[3] = (int32_t)v[3], hdr[4] = (int32_t)kvh;
    hdr[5] = shared ? (int32_t)emb->ne[1] : -(int32_t)emb->ne[1];
    hdr[6] = (int32_t)v[4];
    el_config c;
    if (el_config_from_header(&c, hdr) != 0) {
        snprintf(why, cap, "hyper-parameters out of the engine's range");
        return -1;
    }
    return 0;
}

/* Converts n values of ggml type `type` at src to floats. 0 or -1. */
static int to_f32(uint32_t type, const uint8_t *src, size_t n, float *dst) {
    switch (type) {
    case DC_GGML_F32:
        for (size_t i = 0; i < n; i++) {
            uint32_t u = dc_load_le32(src + 4 * i);
            memcpy(&dst[i], &u, 4);
        }
        return 0;
    case DC_GGML_F16:
        for (size_t i = 0; i < n; i++)
            dst[i] = dc_f16_to_f32(dc_load_le16(src + 2 * i));
        return 0;
    case DC_GGML_BF16:
        for (size_t i = 0; i < n; i++) {
            uint32_t u = (uint32_t)dc_load_le16(src + 2 * i) << 16;
            memcpy(&dst[i], &u, 4);
        }
        return 0;
    case DC_GGML_Q8_0:
        for (size_t b = 0; b < n / DC_Q8_0_BLOCK; b++) {
            const uint8_t *blk = src + b * DC_Q8_0_BYTES;
            float d = dc_f16_to_f32(dc_load_le16(blk));
            for (int k = 0; k < DC_Q8_0_BLOCK; k++)
                dst[b * DC_Q8_0_BLOCK + (size_t)k] = d * (float)(int8_t)blk[2 + k];
        }
        return 0;
    default:
        return -1;
    }
}

int el_model_load_gguf(el_model *m, const char *path) {
    memset(m, 0, sizeof(*m));
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_gguf *g = NULL;
    const char *why = "";
    dc_status st = dc_gguf_open(&a, path, &g, &why);
    if (st != DC_OK) {
        fprintf(stderr, "dc-llama: %s: %s (%s)\n", path, why,
                st == DC_ERR_IO ? strerror(errno) : dc_status_string(st));
        return -1;
    }
    int32_t hdr[7];
    char msg[160];
    el_config c;
    if (el_gguf_header(g, hdr, msg, sizeof msg) != 0 || el_config_from_header(&c, hdr) != 0) {
        fprintf(stderr, "dc-llama: %s: not a llama model dc-llama runs: %s\n", path, msg);
        dc_gguf_free(g);
        return -1;
    }
    uint64_t nfl = el_layout_floats(&c);
    uint64_t file_size = g->data_offset + g->data_size;
    if (el_check_memory(path, file_size, "the model (weights, KV cache and activations)",
                        4 * nfl + el_run_state_bytes(&c)) != 0) {
        dc_gguf_free(g);
        return -1;
    }
    size_t nslots = el_layout(&c, NULL, 0);
    el_slot *slots = calloc(nslots, sizeof(el_slot));
    float *data = calloc((size_t)nfl, sizeof(float));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = slots && data && fd >= 0 ? 0 : -1;
    if (rc) fprintf(stderr, "dc-llama: %s: %s\n", path, fd < 0 ? strerror(errno) : "out of memory");
    if (slots) el_layout(&c, slots, nslots);
    for (size_t i = 0; rc == 0 && i < nslots; i++) {
        const el_slot *s = &slots[i];
        char gname[96];
        if (!el_gguf_name(s->name, gname, sizeof gname)) continue; /* RoPE: computed */
        const dc_gguf_tensor *t = dc_gguf_find_tensor(g, gname);
        uint64_t rows = s->cols ? s->rows : 1, cols = s->cols ? s->cols : s->rows;
        if (!t || (t->n_dims != (s->cols ? 2u : 1u)) || t->ne[0] != cols ||
            (s->cols && t->ne[1] != rows)) {
            fprintf(stderr, "dc-llama: %s: tensor %s missing or of an unexpected shape\n", path,
                    gname);
            rc = -1;
            break;
        }
        uint8_t *raw = malloc(t->nbytes ? (size_t)t->nbytes : 1);
        ssize_t got =
            raw ? pread(fd, raw, (size_t)t->nbytes, (off_t)(g->data_offset + t->offset)) : -1;
        if (got != (ssize_t)t->nbytes || to_f32(t->type, raw, (size_t)t->numel, data + s->offset)) {
            const char *tn;
            dc_gguf_type_info(t->type, NULL, NULL, &tn);
            fprintf(stderr, "dc-llama: %s: tensor %s: %s\n", path, gname,
                    got != (ssize_t)t->nbytes ? "read error" : "unsupported type");
            if (got == (ssize_t)t->nbytes) fprintf(stderr, "  (type %s)\n", tn);
            rc = -1;
        }
        free(raw);
    }
    if (fd >= 0) close(fd);
    free(slots);
    dc_gguf_free(g);
    if (rc != 0) {
        free(data);
        return -1;
    }
    return el_model_init(m, hdr, data, (size_t)nfl, path);
}

/* The key/values of path: a GGUF header, or a .dcz's key/value section. */
static dc_gguf *open_kv(const char *path, int quiet) {
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_gguf *g = NULL;
    const char *why = "";
    size_t n = strlen(path);
    if (n > 4 && !strcmp(path + n - 4, ".dcz")) {
        dc_reader *r = NULL;
        if (dc_reader_open_file(path, NULL, &r, &why) != DC_OK) {
            if (!quiet) fprintf(stderr, "dc-llama: %s: %s\n", path, why);
            return NULL;
        }
        size_t sz;
        const void *p = dc_reader_kv_section(r, &sz);
        if (!p) {
            if (!quiet) fprintf(stderr, "dc-llama: %s: no GGUF key/values in it\n", path);
        } else if (dc_gguf_section_parse(&a, p, sz, &g, &why) != DC_OK) {
            if (!quiet) fprintf(stderr, "dc-llama: %s: %s\n", path, why);
        }
        dc_reader_close(r);
        return g;
    }
    dc_status st = dc_gguf_open(&a, path, &g, &why);
    if (st != DC_OK && !quiet) fprintf(stderr, "dc-llama: %s: %s\n", path, why);
    return st == DC_OK ? g : NULL;
}

int el_tokenizer_in_model(const char *path) {
    size_t n = strlen(path);
    return n > 5 && !strcmp(path + n - 5, ".gguf");
}

int el_tokenizer_load_gguf(el_tokenizer *tk, const char *path, int vocab_size) {
    memset(tk, 0, sizeof(*tk));
    dc_gguf *g = open_kv(path, 0);
    if (!g) return -1;
    uint32_t tt, st;
    uint64_t nt, ns;
    const uint8_t *tp, *sp;
    size_t tsz, ssz;
    const char *model;
    uint64_t mlen;
    int rc = -1;
    if (!dc_gguf_kv_string(dc_gguf_find(g, "tokenizer.ggml.model"), &model, &mlen) || mlen != 5 ||
        memcmp(model, "llama", 5) != 0) {
        fprintf(stderr, "dc-llama: %s: tokenizer.ggml.model is not \"llama\" (sentencepiece)\n",
                path);
    } else if (!dc_gguf_kv_array(dc_gguf_find(g, "tokenizer.ggml.tokens"), &tt, &nt, &tp, &tsz) ||
               tt != DC_GGUF_STRING ||
               !dc_gguf_kv_array(dc_gguf_find(g, "tokenizer.ggml.scores"), &st, &ns, &sp, &ssz) ||
               st != DC_GGUF_F32 || nt != ns || nt != (uint64_t)vocab_size) {
        fprintf(stderr,
                "dc-llama: %s: tokenizer.ggml.tokens / .scores missing, or not %d of them\n", path,
                vocab_size);
    } else if (vocab_size < EL_TOK_MIN_VOCAB) {
        fprintf(stderr, "dc-llama: %s: a vocabulary of %d tokens is too small\n", path, vocab_size);
    } else if (el_tokenizer_init(tk, vocab_size, 1) == 0) {
        rc = 0;
        size_t o = 0;
        int maxlen = 1;
        for (int i = 0; rc == 0 && i < vocab_size; i++) {
            /* the array was checked at parse: each string lies inside */
            uint64_t len = dc_load_le64(tp + o);
            const char *s = (const char *)tp + o + 8;
            o += 8 + (size_t)len;
            char *t = malloc(len + 1);
            size_t k = 0;
            for (size_t j = 0; t && j < len; j++) { /* U+2581 (E2 96 81) -> ' ' */
                if (j + 2 < len && (uint8_t)s[j] == 0xE2 && (uint8_t)s[j + 1] == 0x96 &&
                    (uint8_t)s[j + 2] == 0x81) {
                    t[k++] = ' ';
                    j += 2;
                } else {
                    t[k++] = s[j];
                }
            }
            uint32_t u = dc_load_le32(sp + 4 * (size_t)i);
            float score;
            memcpy(&score, &u, 4);
            if (!t || el_tokenizer_set(tk, i, t, k, score) != 0) rc = -1;
            if ((int)k > maxlen) maxlen = (int)k;
            free(t);
        }
        tk->max_token_length = maxlen;
        if (rc != 0) {
            fprintf(stderr, "dc-llama: %s: out of memory or bad token\n", path);
            el_tokenizer_free(tk);
        }
    } else {
        fprintf(stderr, "dc-llama: %s: out of memory\n", path);
    }
    dc_gguf_free(g);
    return rc;
}

/* ---- llama2.c -> GGUF (dc-l2c-gguf, dcz export) ------------------------- */

/* The llama2.c tokenizer's tokens into GGUF arrays (tokens, scores, types). */
static int read_tokenizer(const char *path, int vocab, dc_gguf_buf *toks, dc_gguf_buf *scores,
                          dc_gguf_buf *types) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open the tokenizer %s: %s\n", path, strerror(errno));
        return -1;
    }
    int32_t mtl;
    if (fread(&mtl, 4, 1, f) != 1) goto bad;
    dc_gguf_buf_u32(toks, DC_GGUF_STRING);
    dc_gguf_buf_u64(toks, (uint64_t)vocab);
    dc_gguf_buf_u32(scores, DC_GGUF_F32);
    dc_gguf_buf_u64(scores, (uint64_t)vocab);
    dc_gguf_buf_u32(types, DC_GGUF_I32);
    dc_gguf_buf_u64(types, (uint64_t)vocab);
    for (int i = 0; i < vocab; i++) {
        float score;
        int32_t len;
        if (fread(&score, 4, 1, f) != 1 || fread(&len, 4, 1, f) != 1 || len < 0 || len > 4096)
            goto bad;
        char s[4096], t[3 * 4096];
        if (len && fread(s, 1, (size_t)len, f) != (size_t)len) goto bad;
        size_t k = 0;
        for (int j = 0; j < len; j++) {
            if (s[j] == ' ') {
                memcpy(t + k, "\xe2\x96\x81", 3);
                k += 3;
            } else {
                t[k++] = s[j];
            }
        }
        dc_gguf_buf_str(toks, t, k);
        uint32_t u;
        memcpy(&u, &score, 4);
        dc_gguf_buf_u32(scores, u);
        int32_t type = 1; /* normal */
        if (i == 0)
            type = 2; /* unknown */
        else if (i <= 2)
            type = 3; /* control: <s>, </s> */
        else if (len == 6 && !strncmp(s, "<0x", 3) && s[5] == '>')
            type = 6; /* byte */
        dc_gguf_buf_u32(types, (uint32_t)type);
    }
    fclose(f);
    return 0;
bad:
    fclose(f);
    fprintf(stderr, "%s: bad or truncated llama2.c tokenizer\n", path);
    return -1;
}

int el_gguf_llama_kv(dc_gguf_buf *kv, const el_config *c, const char *source, const char *tokenizer,
                     uint32_t file_type) {
    dc_gguf_buf toks = {kv->alloc, NULL, 0, 0, 0, 0}, scores = toks, types = toks;
    if (read_tokenizer(tokenizer, c->vocab_size, &toks, &scores, &types) != 0) {
        dc_gguf_buf_free(&toks), dc_gguf_buf_free(&scores), dc_gguf_buf_free(&types);
        return -1;
    }
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(strcspn(source, ".")), source);
    dc_gguf_put_kv_str(kv, "general.architecture", "llama");
    dc_gguf_put_kv_str(kv, "general.name", name);
    dc_gguf_put_kv_u32(kv, "general.file_type", file_type);
    dc_gguf_put_kv_u32(kv, "general.quantization_version", 2);
    dc_gguf_put_kv_u32(kv, "llama.context_length", (uint32_t)c->seq_len);
    dc_gguf_put_kv_u32(kv, "llama.embedding_length", (uint32_t)c->dim);
    dc_gguf_put_kv_u32(kv, "llama.block_count", (uint32_t)c->n_layers);
    dc_gguf_put_kv_u32(kv, "llama.feed_forward_length", (uint32_t)c->hidden_dim);
    dc_gguf_put_kv_u32(kv, "llama.rope.dimension_count", (uint32_t)c->head_size);
    dc_gguf_put_kv_u32(kv, "llama.attention.head_count", (uint32_t)c->n_heads);
    dc_gguf_put_kv_u32(kv, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads);
    dc_gguf_put_kv_f32(kv, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    dc_gguf_put_kv_f32(kv, "llama.rope.freq_base", 10000.0f);
    dc_gguf_put_kv_u32(kv, "llama.vocab_size", (uint32_t)c->vocab_size);
    dc_gguf_put_kv_str(kv, "tokenizer.ggml.model", "llama");
    dc_gguf_put_kv_raw(kv, "tokenizer.ggml.tokens", DC_GGUF_ARRAY, toks.p, toks.len);
    dc_gguf_put_kv_raw(kv, "tokenizer.ggml.scores", DC_GGUF_ARRAY, scores.p, scores.len);
    dc_gguf_put_kv_raw(kv, "tokenizer.ggml.token_type", DC_GGUF_ARRAY, types.p, types.len);
    dc_gguf_put_kv_u32(kv, "tokenizer.ggml.bos_token_id", 1);
    dc_gguf_put_kv_u32(kv, "tokenizer.ggml.eos_token_id", 2);
    dc_gguf_put_kv_u32(kv, "tokenizer.ggml.unknown_token_id", 0);
    int oom = toks.oom || scores.oom || types.oom;
    if (oom) kv->oom = 1;
    dc_gguf_buf_free(&toks), dc_gguf_buf_free(&scores), dc_gguf_buf_free(&types);
    return 0;
}

size_t el_gguf_llama_tensors(const el_config *c, const el_slot *slots, size_t ns, uint32_t type2d,
                             dc_gguf_out_tensor *ot, size_t *slot_of, char (*names)[96]) {
    (void)c;
    /* llama.cpp's order: the embedding, then block by block, then the head */
    size_t n = 0;
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < ns; i++) {
            const el_slot *s = &slots[i];
            int head = !strcmp(s->name, "norm.weight") || !strcmp(s->name, "output.weight");
            if ((pass == 0) != !strcmp(s->name, "tok_embeddings.weight")) continue;
            if (pass == 2 && !head) continue;
            if (pass == 1 && (s->layer < 0 || head)) continue;
            if (!el_gguf_name(s->name, names[n], sizeof names[n])) continue;
            dc_gguf_out_tensor *t = &ot[n];
            t->name = names[n];
            t->n_dims = s->cols ? 2 : 1;
            t->ne[0] = s->cols ? s->cols : s->rows;
            t->ne[1] = s->cols ? s->rows : 1;
            t->type = !s->cols                                                 ? DC_GGML_F32
                      : type2d == DC_GGML_Q8_0 && s->cols % DC_Q8_0_BLOCK == 0 ? DC_GGML_Q8_0
                      : type2d == DC_GGML_F16                                  ? DC_GGML_F16
                                                                               : DC_GGML_F32;
            uint64_t numel = t->ne[0] * t->ne[1];
            t->nbytes = t->type == DC_GGML_Q8_0  ? numel / DC_Q8_0_BLOCK * DC_Q8_0_BYTES
                        : t->type == DC_GGML_F16 ? 2 * numel
                                                 : 4 * numel;
            slot_of[n++] = i;
        }
    /* pass 1 visits kinds before layers (el_layout's order); llama.cpp
     * orders by block: a stable sort by layer of the block tensors */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            int la = slots[slot_of[j - 1]].layer, lb = slots[slot_of[j]].layer;
            if (la < 0 || lb < 0 || la <= lb) break;
            dc_gguf_out_tensor tt = ot[j];
            ot[j] = ot[j - 1], ot[j - 1] = tt;
            size_t ts = slot_of[j];
            slot_of[j] = slot_of[j - 1], slot_of[j - 1] = ts;
        }
    return n;
}
