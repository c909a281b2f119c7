/*
 * make_seeds.c -- writes valid chunks (every codec, several shapes) into a
 * directory, as the starting corpus of fuzz_chunk_decode.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>

#include "../gen.h"
#include "doublecomp.h"

int main(int argc, char **argv) {
    if (argc != 2) return fprintf(stderr, "usage: %s DIR\n", argv[0]), 2;
    static uint8_t src[262144], dst[270000];
    int k = 0;
    /* 4 states (6000 bytes), 32 (40000), 64 (100000) and 128 (262144: a
     * payload over 128 KiB), so that every decode kernel is reached */
    for (int shape = 0; shape < 7; shape++) {
        size_t n = shape == 3   ? 37
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
        for (int c = DC_CODEC_ANS; c <= DC_CODEC_RAW; c++) {
            dc_compress_options o = {sizeof(o), (dc_codec)c, 0, 0, NULL};
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
        dc_writer_options wo = {sizeof(wo), DC_CODEC_ANS, 0, 1024, 1, 1, NULL};
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
    return 0;
}
