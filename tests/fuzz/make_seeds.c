/*
 * make_seeds.c -- writes valid chunks (every codec, several shapes) into a
 * directory, as the starting corpus of fuzz_chunk_decode.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../gen.h"
#include "doublecomp.h"

int main(int argc, char **argv) {
    if (argc != 2) return fprintf(stderr, "usage: %s DIR\n", argv[0]), 2;
    static uint8_t src[6000], dst[7000];
    int k = 0;
    for (int shape = 0; shape < 4; shape++) {
        size_t n = shape == 3 ? 37 : sizeof(src);
        if (shape == 0) gen_laplace(src, n, 4.2, 0.2, 1);
        if (shape == 1) gen_laplace(src, n, 0.4, 0.0, 2);
        if (shape == 2) gen_uniform(src, n, 3);
        if (shape == 3) gen_laplace(src, n, 2.0, 0.0, 4);
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
    return 0;
}
