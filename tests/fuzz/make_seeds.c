/*
 * make_seeds.c -- writes valid chunks (every codec, several shapes) into a
 * directory, as the starting corpus of fuzz_chunk_decode, and next to it
 * small valid files for the other targets: corpus-dcz (.dcz files: 8-bit,
 * 4-bit per-group with smoothing scales, several codecs), corpus-st
 * (safetensors header), corpus-stats (statistics file), corpus-l2c (tiny
 * llama2.c checkpoints) and corpus-tok (tokenizers, with fuzz_tokenizer's
 * 4-byte prefix). tests/fuzz/run.sh adds real files from ../shared/models.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include "../gen.h"
#ifndef DC_EXPERIMENTAL
#define DC_EXPERIMENTAL /* typed metadata seeds */
#endif
#include "doublecomp.h"

static int write_file(const char *dir, const char *sub, const char *name, const void *p, size_t n) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/../%s", dir, sub);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/../%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) return perror(path), 1;
    return 0;
}

/* A 4-bit per-group tensor with smoothing scales and an F16 one, with zstd. */
static int dcz_seed2(const char *dir) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/../corpus-dcz/seed2.dcz", dir);
    static uint8_t q[8 * 12 / 2];
    float scales[8 * 3], smooth[12];
    uint16_t h[10];
    for (size_t i = 0; i < sizeof(q); i++)
        q[i] = (uint8_t)(i * 37);
    for (int i = 0; i < 24; i++)
        scales[i] = 0.01f * (float)(i + 1);
    for (int i = 0; i < 12; i++)
        smooth[i] = 1.0f + (float)i;
    for (int i = 0; i < 10; i++)
        h[i] = (uint16_t)(0x3C00 + i);
    dc_writer_options wo = {sizeof(wo), DC_CODEC_ZSTD, 0, 0, 1, 1, NULL, 0};
    dc_tensor_desc a = {.struct_size = sizeof(a),
                        .name = "layers.0.w",
                        .ndim = 2,
                        .dims = {8, 12},
                        .source_dtype = DC_DTYPE_BF16,
                        .dtype = DC_DTYPE_I8,
                        .bits = 4,
                        .granularity = DC_QUANT_PER_GROUP,
                        .group_size = 4,
                        .scales = scales,
                        .n_scales = 24,
                        .smooth = smooth,
                        .n_smooth = 12,
                        .alpha = 0.5f,
                        .prune_method = 0,
                        .sparsity = 0.25f};
    dc_tensor_desc b = {.struct_size = sizeof(b),
                        .name = "h",
                        .ndim = 3,
                        .dims = {1, 2, 5},
                        .source_dtype = DC_DTYPE_F16,
                        .dtype = DC_DTYPE_F16,
                        .prune_method = DC_PRUNE_NONE};
    dc_writer *w;
    if (dc_writer_create(path, &wo, &w) != DC_OK || dc_writer_add_tensor(w, &a, q, sizeof(q)) ||
        dc_writer_add_tensor(w, &b, h, sizeof(h)) ||
        dc_writer_set_metadata(w, "{\"llama2c_header\":[8,16,1,2,1,32,4]}"))
        return 1;
    /* typed metadata of several types (the key/value section) */
    const char *toks[2] = {"<s>", "a"};
    const float fs[2] = {1.5f, -2.0f};
    if (dc_writer_meta_int(w, "llama.block_count", DC_META_U32, 1) ||
        dc_writer_meta_float(w, "llama.rope.freq_base", DC_META_F32, 10000.0) ||
        dc_writer_meta_string(w, "general.name", "seed") ||
        dc_writer_meta_array(w, "tokenizer.ggml.tokens", DC_META_STRING, toks, 2) ||
        dc_writer_meta_array(w, "scores", DC_META_F32, fs, 2) || dc_writer_finish(w))
        return 1;
    return 0;
}

/* A llama2.c checkpoint: header then every float the layout asks for. */
static int l2c_seed(const char *dir, const char *name, const int32_t hdr[7]) {
    int64_t D = hdr[0], H = hdr[1], L = hdr[2], NH = hdr[3], KVH = hdr[4];
    int64_t V = hdr[5] < 0 ? -hdr[5] : hdr[5], S = hdr[6], hs = D / NH, KV = KVH * hs;
    int64_t n = V * D + L * (2 * D + 2 * D * D + 2 * D * KV + 3 * D * H) + D + S * hs;
    if (hdr[5] < 0) n += V * D;
    size_t bytes = 28 + 4 * (size_t)n;
    uint8_t *p = calloc(1, bytes);
    if (!p) return 1;
    memcpy(p, hdr, 28);
    for (int64_t i = 0; i < n; i++) {
        float v = (float)((i * 7919) % 201 - 100) / 400.0f;
        memcpy(p + 28 + 4 * i, &v, 4);
    }
    int rc = write_file(dir, "corpus-l2c", name, p, bytes);
    free(p);
    return rc;
}

/* A llama2.c tokenizer of `vocab` tokens (BOS, EOS, 256 bytes, merges). */
static int tok_seed(const char *dir, int vocab) {
    size_t cap = 16 + (size_t)vocab * 64, n = 0;
    uint8_t *p = calloc(1, cap);
    if (!p) return 1;
    const char text[] = "Once upon a time";
    p[0] = (uint8_t)((vocab - 259) & 0xFF), p[1] = (uint8_t)((vocab - 259) >> 8);
    p[2] = (uint8_t)(sizeof(text) - 1), p[3] = 0;
    memcpy(p + 4, text, sizeof(text) - 1);
    n = 4 + sizeof(text) - 1;
    int32_t mtl = 8;
    memcpy(p + n, &mtl, 4), n += 4;
    static const char *extra[] = {" ", "e", "n", "on", " t", "ce", "me", " a", "up", " up"};
    for (int i = 0; i < vocab; i++) {
        char tok[16];
        if (i == 0)
            strcpy(tok, "<unk>");
        else if (i == 1)
            strcpy(tok, "\n<s>\n");
        else if (i == 2)
            strcpy(tok, "\n</s>\n");
        else if (i < 259)
            snprintf(tok, sizeof(tok), "<0x%02X>", i - 3);
        else
            snprintf(tok, sizeof(tok), "%s", extra[(i - 259) % 10]);
        float score = i < 259 ? 0.0f : (float)-(i - 259);
        int32_t len = (int32_t)strlen(tok);
        memcpy(p + n, &score, 4), n += 4;
        memcpy(p + n, &len, 4), n += 4;
        memcpy(p + n, tok, (size_t)len), n += (size_t)len;
    }
    int rc = write_file(dir, "corpus-tok", "seed", p, n);
    free(p);
    return rc;
}

static int stats_seed(const char *dir) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/../corpus-stats", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/../corpus-stats/seed", dir);
    dc_stats *s[2] = {NULL, NULL};
    float x[3 * 6];
    for (int i = 0; i < 18; i++)
        x[i] = (float)(i % 7) - 3.0f;
    if (dc_stats_create(6, NULL, &s[0]) || dc_stats_create(3, NULL, &s[1]) ||
        dc_stats_observe(s[0], x, DC_DTYPE_F32, 3, 6) ||
        dc_stats_observe(s[1], x, DC_DTYPE_F32, 6, 3))
        return 1;
    const char *names[2] = {"layers.0.attention.wq.weight", "layers.0.feed_forward.w2.weight"};
    int rc = dc_stats_save(path, names, (const dc_stats *const *)s, 2) != DC_OK;
    dc_stats_free(s[0]);
    dc_stats_free(s[1]);
    return rc;
}

static int more_seeds(const char *dir) {
    static const int32_t tiny[7] = {8, 16, 1, 2, 1, 32, 4};
    static const int32_t unshared[7] = {8, 12, 2, 2, 2, -20, 3};
    if (dcz_seed2(dir) || l2c_seed(dir, "tiny.bin", tiny) ||
        l2c_seed(dir, "unshared.bin", unshared) || tok_seed(dir, 269) || stats_seed(dir))
        return 1;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) return fprintf(stderr, "usage: %s DIR\n", argv[0]), 2;
    static uint8_t src[262144], dst[270000];
    int k = 0;
    /* 4 states (6000 bytes), 32 (40000), 64 (100000) and 128 (262144: a
     * payload over 128 KiB), so that every decode kernel is reached; 100000
     * and 65536 bytes of few symbols: pair payloads (format 4.5) */
    for (int shape = 0; shape < 8; shape++) {
        size_t n = shape == 3   ? 37
                   : shape == 7 ? 65536
                   : shape == 4 ? 40000
                   : shape == 5 ? 100000
                   : shape == 6 ? 262144
                                : 6000;
        if (shape == 0) gen_laplace(src, n, 4.2, 0.2, 1);
        if (shape == 1) gen_laplace(src, n, 0.4, 0.0, 2);
        if (shape == 2) gen_uniform(src, n, 3);
        if (shape == 3) gen_laplace(src, n, 2.0, 0.0, 4);
        if (shape == 4) gen_laplace(src, n, 4.2, 0.0, 5);
        if (shape == 5) gen_laplace(src, n, 1.0, 0.0, 6);
        if (shape == 6) gen_laplace(src, n, 30.0, 0.0, 7);
        if (shape == 7) gen_laplace(src, n, 2.0, 0.6, 8);
        /* every codec; the float codec with 2- and 4-byte elements (c = 5, 6) */
        for (int c = DC_CODEC_ANS; c <= DC_CODEC_RAW + 2; c++) {
            dc_compress_options o = {sizeof(o), c > DC_CODEC_RAW ? DC_CODEC_FLOAT : (dc_codec)c,
                                     c > DC_CODEC_RAW ? 2 * (c - DC_CODEC_RAW) : 0, 0, NULL};
            dc_cctx *cc;
            size_t w;
            if (dc_cctx_create(&o, &cc) != DC_OK ||
                dc_chunk_compress(cc, src, n, dst, sizeof(dst), &w) != DC_OK)
                return 1;
            dc_cctx_free(cc);
            char path[4096];
            snprintf(path, sizeof(path), "%s/seed-%02d", argv[1], k++);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(dst, 1, w, f) != w || fclose(f) != 0) return perror(path), 1;
        }
    }
    /* a small .dcz and a safetensors header for the container/safetensors targets */
    if (argc == 2) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/../corpus-dcz", argv[1]);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/../corpus-dcz/seed.dcz", argv[1]);
        dc_writer_options wo = {sizeof(wo), DC_CODEC_ANS, 0, 1024, 1, 1, NULL, 0};
        dc_writer *w;
        float scale = 0.5f, v[40];
        for (int i = 0; i < 40; i++)
            v[i] = (float)i;
        dc_tensor_desc q = {.struct_size = sizeof(q),
                            .name = "q",
                            .ndim = 2,
                            .dims = {30, 100},
                            .dtype = DC_DTYPE_I8,
                            .bits = 8,
                            .scales = &scale,
                            .n_scales = 1,
                            .prune_method = DC_PRUNE_NONE};
        dc_tensor_desc f = {.struct_size = sizeof(f),
                            .name = "norm",
                            .ndim = 1,
                            .dims = {40},
                            .dtype = DC_DTYPE_F32,
                            .prune_method = DC_PRUNE_NONE};
        gen_laplace(src, 3000, 4.0, 0.1, 5);
        if (dc_writer_create(path, &wo, &w) != DC_OK || dc_writer_add_tensor(w, &q, src, 3000) ||
            dc_writer_add_tensor(w, &f, v, sizeof(v)) || dc_writer_set_metadata(w, "{}") ||
            dc_writer_finish(w))
            return 1;
        snprintf(path, sizeof(path), "%s/../corpus-st", argv[1]);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/../corpus-st/seed", argv[1]);
        const char *hdr = "\x00\x00\x00\x00\x01\x00\x00\x00{\"__metadata__\":{\"a\":\"b\"},"
                          "\"t.x\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]}}";
        FILE *sf = fopen(path, "wb");
        if (!sf || fwrite(hdr, 1, 8 + strlen(hdr + 8), sf) != 8 + strlen(hdr + 8) || fclose(sf))
            return 1;
    }
    return more_seeds(argv[1]);
}
