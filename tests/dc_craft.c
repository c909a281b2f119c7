/*
 * dc_craft.c -- writes the crafted (hostile or extreme) inputs of
 * test_limits.sh, so that no large binary is committed:
 *   dc_craft bomb-dcz OUT.dcz N        N tensors of 64 MiB of zeros (run chunks)
 *   dc_craft bomb-llama OUT.dcz        a llama2.c-shaped .dcz whose embedding
 *                                      claims 256 MiB (run chunks)
 *   dc_craft kv-llama OUT.bin          an 8.8 MB llama2.c checkpoint whose
 *                                      header asks for a 64 GiB KV cache
 *   dc_craft many-dcz OUT.dcz N        N tensors of one float
 *   dc_craft many-st OUT.safetensors N N 2x2 F32 tensors
 *   dc_craft tiny-st OUT.safetensors N N scalar tensors, as few bytes as can be
 *   dc_craft meta-st OUT.safetensors N one tensor and N metadata entries
 *   dc_craft many-stats OUT N          activation statistics for the N tensors
 *                                      of many-st
 * Exit 0 on success, 1 on failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doublecomp.h"

#define MIB ((size_t)1 << 20)

static int fail(const char *what, dc_status st) {
    fprintf(stderr, "dc_craft: %s: %s\n", what, dc_status_string(st));
    return 1;
}

static dc_writer *writer(const char *path, size_t chunk, dc_codec codec) {
    dc_writer_options o = {
        .struct_size = sizeof(o), .codec = codec, .chunk_size = chunk, .overwrite = 1};
    dc_writer *w = NULL;
    dc_status st = dc_writer_create(path, &o, &w);
    if (st != DC_OK) fail(path, st);
    return w;
}

static dc_tensor_desc f32_desc(const char *name, unsigned ndim, uint64_t d0, uint64_t d1) {
    dc_tensor_desc d;
    memset(&d, 0, sizeof(d));
    d.struct_size = sizeof(d);
    d.name = name;
    d.ndim = ndim;
    d.dims[0] = d0;
    d.dims[1] = d1;
    d.source_dtype = DC_DTYPE_F32;
    d.dtype = DC_DTYPE_F32;
    d.prune_method = DC_PRUNE_NONE;
    return d;
}

static int bomb_dcz(const char *path, long n) {
    const size_t bytes = 64 * MIB;
    void *zeros = calloc(1, bytes); /* never written: no resident pages */
    dc_writer *w = writer(path, 64 * MIB, DC_CODEC_ANS);
    if (!zeros || !w) return 1;
    for (long i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "bomb.%ld", i);
        dc_tensor_desc d = f32_desc(name, 1, bytes / 4, 0);
        dc_status st = dc_writer_add_tensor(w, &d, zeros, bytes);
        if (st != DC_OK) return dc_writer_abort(w), fail("add", st);
    }
    free(zeros);
    dc_status st = dc_writer_finish(w);
    return st == DC_OK ? 0 : fail("finish", st);
}

/* llama2.c layout with dim 64, hidden 64, 1 layer, 1 head, vocab 2^20
 * (shared classifier), seq_len 8: the embedding is 256 MiB of zeros. */
static int bomb_llama(const char *path) {
    const uint64_t D = 64, H = 64, V = 1u << 20, S = 8, hs = 64;
    const size_t big = (size_t)(V * D * 4);
    void *zeros = calloc(1, big);
    dc_writer *w = writer(path, 64 * MIB, DC_CODEC_ANS);
    if (!zeros || !w) return 1;
    struct {
        const char *name;
        unsigned ndim;
        uint64_t d0, d1;
    } t[] = {{"tok_embeddings.weight", 2, V, D},
             {"layers.0.attention_norm.weight", 1, D, 0},
             {"layers.0.attention.wq.weight", 2, D, D},
             {"layers.0.attention.wk.weight", 2, D, D},
             {"layers.0.attention.wv.weight", 2, D, D},
             {"layers.0.attention.wo.weight", 2, D, D},
             {"layers.0.ffn_norm.weight", 1, D, 0},
             {"layers.0.feed_forward.w1.weight", 2, H, D},
             {"layers.0.feed_forward.w2.weight", 2, D, H},
             {"layers.0.feed_forward.w3.weight", 2, H, D},
             {"norm.weight", 1, D, 0},
             {"freq_cis_real", 2, S, hs / 2},
             {"freq_cis_imag", 2, S, hs / 2}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        dc_tensor_desc d = f32_desc(t[i].name, t[i].ndim, t[i].d0, t[i].d1);
        size_t n = (size_t)(t[i].d0 * (t[i].d1 ? t[i].d1 : 1) * 4);
        dc_status st = dc_writer_add_tensor(w, &d, zeros, n);
        if (st != DC_OK) return dc_writer_abort(w), fail(t[i].name, st);
    }
    char meta[128];
    snprintf(meta, sizeof meta, "{\"llama2c_header\":[%llu,%llu,1,1,1,%llu,%llu]}",
             (unsigned long long)D, (unsigned long long)H, (unsigned long long)V,
             (unsigned long long)S);
    dc_writer_set_metadata(w, meta);
    free(zeros);
    dc_status st = dc_writer_finish(w);
    return st == DC_OK ? 0 : fail("finish", st);
}

/* dim 2, hidden 1, 4096 layers, 1 head, vocab 512, seq_len 2^20: the
 * checkpoint is 8.8 MB, its KV cache 2 x 4096 x 2^20 x 2 floats = 64 GiB. */
static int kv_llama(const char *path) {
    const int32_t hdr[7] = {2, 1, 4096, 1, 1, 512, 1 << 20};
    const uint64_t D = 2, H = 1, L = 4096, V = 512, S = 1u << 20, KV = 2, hs = 2;
    uint64_t floats = V * D + L * (D + D * D + 2 * D * KV + D * D + D + 3 * D * H) + D + S * hs;
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    int ok = fwrite(hdr, sizeof hdr, 1, f) == 1;
    float one = 0.5f;
    for (uint64_t i = 0; ok && i < floats; i++)
        ok = fwrite(&one, 4, 1, f) == 1;
    return fclose(f) == 0 && ok ? 0 : 1;
}

static int many_dcz(const char *path, long n) {
    dc_writer *w = writer(path, 0, DC_CODEC_RAW);
    if (!w) return 1;
    for (long i = 0; i < n; i++) {
        char name[48];
        snprintf(name, sizeof name, "layer.%06ld.weight", (i * 7919) % n);
        float v = (float)i;
        dc_tensor_desc d = f32_desc(name, 1, 1, 0);
        dc_status st = dc_writer_add_tensor(w, &d, &v, 4);
        if (st != DC_OK) return dc_writer_abort(w), fail("add", st);
    }
    dc_status st = dc_writer_finish(w);
    return st == DC_OK ? 0 : fail("finish", st);
}

/* kind 0: N 2x2 F32 tensors; 1: N scalar F32 tensors with the shortest
 * names and no spaces (the most tensors per byte); 2: one tensor and N
 * empty metadata entries (the most entries per byte). */
static int many_st(const char *path, long n, int kind) {
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    size_t cap = (size_t)n * 96 + 256, len = 0;
    char *json = malloc(cap);
    if (!json) return 1;
    len += (size_t)snprintf(json + len, cap - len, "{");
    long nt = kind == 2 ? 1 : n, es = kind == 1 ? 4 : 16;
    if (kind == 2) {
        len += (size_t)snprintf(json + len, cap - len, "\"__metadata__\":{");
        for (long i = 0; i < n; i++)
            len += (size_t)snprintf(json + len, cap - len, "%s\"\":\"\"", i ? "," : "");
        len += (size_t)snprintf(json + len, cap - len, "},");
    }
    for (long i = 0; i < nt; i++)
        len += (size_t)snprintf(json + len, cap - len,
                                kind == 1 ? "%s\"%lx\":{\"dtype\":\"F32\",\"shape\":[],"
                                            "\"data_offsets\":[%ld,%ld]}"
                                          : "%s\"blk.%06ld.weight\":{\"dtype\":\"F32\","
                                            "\"shape\":[2,2],\"data_offsets\":[%ld,%ld]}",
                                i ? "," : "", kind == 1 ? i : (i * 7919) % n, i * es, i * es + es);
    len += (size_t)snprintf(json + len, cap - len, "}");
    while (len % 8)
        json[len++] = ' ';
    unsigned char hl[8];
    for (int k = 0; k < 8; k++)
        hl[k] = (unsigned char)((uint64_t)len >> (8 * k));
    int ok = fwrite(hl, 8, 1, f) == 1 && fwrite(json, len, 1, f) == 1;
    float v[4] = {0.25f, -0.5f, 1.0f, 2.0f};
    for (long i = 0; ok && i < nt; i++)
        ok = fwrite(v, (size_t)es, 1, f) == 1;
    free(json);
    return fclose(f) == 0 && ok ? 0 : 1;
}

static int many_stats(const char *path, long n) {
    char **names = calloc((size_t)n, sizeof(char *));
    dc_stats **stats = calloc((size_t)n, sizeof(dc_stats *));
    if (!names || !stats) return 1;
    for (long i = 0; i < n; i++) {
        names[i] = malloc(48);
        if (!names[i]) return 1;
        snprintf(names[i], 48, "blk.%06ld.weight", i);
        dc_stats_options so = {.struct_size = sizeof(so)};
        dc_status st = dc_stats_create(2, &so, &stats[i]);
        if (st != DC_OK) return fail("stats", st);
        float x[2] = {1.0f, 2.0f};
        if ((st = dc_stats_observe(stats[i], x, DC_DTYPE_F32, 1, 0)) != DC_OK)
            return fail("stats", st);
    }
    dc_status st =
        dc_stats_save(path, (const char *const *)names, (const dc_stats *const *)stats, (size_t)n);
    for (long i = 0; i < n; i++)
        free(names[i]), dc_stats_free(stats[i]);
    free(names), free(stats);
    return st == DC_OK ? 0 : fail("save", st);
}

int main(int argc, char **argv) {
    if (argc < 3) return fprintf(stderr, "usage: dc_craft KIND OUT [N]\n"), 1;
    const char *k = argv[1], *out = argv[2];
    long n = argc > 3 ? strtol(argv[3], NULL, 10) : 1;
    if (n < 1) n = 1;
    if (!strcmp(k, "bomb-dcz")) return bomb_dcz(out, n);
    if (!strcmp(k, "bomb-llama")) return bomb_llama(out);
    if (!strcmp(k, "kv-llama")) return kv_llama(out);
    if (!strcmp(k, "many-dcz")) return many_dcz(out, n);
    if (!strcmp(k, "many-st")) return many_st(out, n, 0);
    if (!strcmp(k, "tiny-st")) return many_st(out, n, 1);
    if (!strcmp(k, "meta-st")) return many_st(out, n, 2);
    if (!strcmp(k, "many-stats")) return many_stats(out, n);
    return fprintf(stderr, "dc_craft: unknown kind %s\n", k), 1;
}
