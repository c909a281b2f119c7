/*
 * dc_benchgen.c -- writes the benchmark inputs, reproducibly:
 *
 *   dc-benchgen laplace OUT SIZE [B [ZEROS [SEED]]]
 *       SIZE bytes of Laplace(0, B) int8 (default B 4.2: ~4.5 bits/byte),
 *       with a fraction ZEROS (default 0) of positions set to 0.
 *   dc-benchgen llama2c MODEL.bin OUT
 *       the linear weights of a llama2.c checkpoint, INT8 per tensor.
 *
 * Outputs are written to OUT.tmp.PID and renamed over OUT when complete.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tests/gen.h"

static int write_atomic(const char *path, const uint8_t *buf, size_t n) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return perror(tmp), 1;
    int bad = fwrite(buf, 1, n, f) != n;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        perror(path);
        remove(tmp);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "laplace") == 0) {
        size_t n = (size_t)strtoull(argv[3], NULL, 0);
        double b = argc > 4 ? atof(argv[4]) : 4.2, zeros = argc > 5 ? atof(argv[5]) : 0.0;
        uint64_t seed = argc > 6 ? strtoull(argv[6], NULL, 0) : 1;
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf) return fprintf(stderr, "out of memory\n"), 1;
        gen_laplace(buf, n, b, zeros, seed);
        fprintf(stderr, "%s: %zu bytes, order-0 entropy %.3f bits/byte\n", argv[2], n,
                gen_entropy_bits(buf, n));
        int rc = write_atomic(argv[2], buf, n);
        free(buf);
        return rc;
    }
    if (argc == 4 && strcmp(argv[1], "llama2c") == 0) {
        size_t n;
        uint8_t *q = gen_llama2c_int8(argv[2], &n);
        if (!q) return fprintf(stderr, "%s: not a readable llama2.c checkpoint\n", argv[2]), 1;
        fprintf(stderr, "%s: %zu INT8 linear weights, order-0 entropy %.3f bits\n", argv[3], n,
                gen_entropy_bits(q, n));
        int rc = write_atomic(argv[3], q, n);
        free(q);
        return rc;
    }
    fprintf(stderr, "usage: dc-benchgen laplace OUT SIZE [B [ZEROS [SEED]]]\n"
                    "       dc-benchgen llama2c MODEL.bin OUT\n");
    return 2;
}
