/*
 * decode_chunks.c -- how an engine uses libdoublecomp: compress a weight file
 * into chunks, then walk the chunks and decode each one on its own into a
 * single reusable caller-owned buffer, as an engine would just before use.
 *
 *   dc-decode-chunks FILE [CHUNK_SIZE]
 *
 * Prints the ratio and verifies every chunk against the original bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doublecomp.h"

int main(int argc, char **argv) {
    if (argc < 2) return fprintf(stderr, "usage: %s FILE [CHUNK_SIZE]\n", argv[0]), 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f) return perror(argv[1]), 1;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    size_t n = len > 0 ? (size_t)len : 0;
    unsigned char *raw = malloc(n + 1);
    if (!raw || fread(raw, 1, n, f) != n) return fprintf(stderr, "read failed\n"), 1;
    fclose(f);

    /* Compress: one call, the output is a sequence of self-describing chunks. */
    dc_compress_options opt = {sizeof(opt), DC_CODEC_ANS, 0, 0, NULL};
    if (argc > 2) opt.chunk_size = strtoull(argv[2], NULL, 0);
    dc_cctx *cctx;
    dc_status st = dc_cctx_create(&opt, &cctx);
    size_t cap = dc_compress_bound(n), csize = 0;
    unsigned char *comp = malloc(cap ? cap : 1);
    if (st == DC_OK) st = dc_compress(cctx, raw, n, comp, cap, &csize);
    dc_cctx_free(cctx);
    if (st != DC_OK) return fprintf(stderr, "compress: %s\n", dc_status_string(st)), 1;

    /* Decode chunk by chunk into one buffer sized for the largest chunk. */
    size_t chunk = opt.chunk_size ? opt.chunk_size : DC_CHUNK_SIZE_DEFAULT;
    unsigned char *buf = malloc(chunk);
    dc_dctx *dctx;
    if (!buf || dc_dctx_create(NULL, &dctx) != DC_OK) return 1;
    size_t off = 0, done = 0, chunks = 0;
    while (off < csize) {
        size_t chunk_bytes, written;
        st = dc_chunk_info(comp + off, csize - off, &chunk_bytes, NULL, NULL);
        if (st == DC_OK)
            st = dc_chunk_decompress(dctx, comp + off, chunk_bytes, buf, chunk, &written);
        if (st != DC_OK) return fprintf(stderr, "chunk %zu: %s\n", chunks, dc_status_string(st)), 1;
        if (memcmp(buf, raw + done, written) != 0)
            return fprintf(stderr, "chunk %zu: mismatch\n", chunks), 1;
        off += chunk_bytes, done += written, chunks++;
    }
    dc_dctx_free(dctx);
    printf(
        "%s: %zu bytes -> %zu bytes in %zu chunks, ratio %.4f, decoder %s, all chunks verified\n",
        argv[1], n, csize, chunks, csize ? (double)n / (double)csize : 0.0,
        dc_simd_name(dc_simd_best()));
    free(raw), free(comp), free(buf);
    return done == n ? 0 : 1;
}
