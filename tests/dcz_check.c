/*
 * dcz_check.c -- checks `dcz extract` output against the source model:
 * every 2-D float tensor (embeddings excepted) must equal the library's own
 * per-tensor INT8 quantization of the source values (data and scale, bit for
 * bit), every other tensor its source bytes.
 *   dcz_check SOURCE.safetensors EXTRACTED.safetensors [--exact]
 * --exact (dcz compress --lossless): every tensor must equal its source
 * bytes (dtype, shape, data), and the output must hold no other tensor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doublecomp.h"
#include "safetensors.h"

static void *read_tensor(dc_st_file *f, const dc_st_tensor *t) {
    size_t n = (size_t)(t->end - t->begin);
    void *p = malloc(n ? n : 1);
    if (p && dc_st_read(f, t, p, n) != DC_OK) free(p), p = NULL;
    return p;
}

int main(int argc, char **argv) {
    int exact = argc == 4 && !strcmp(argv[3], "--exact");
    if (argc != 3 && !exact) return fprintf(stderr, "usage: dcz_check SRC OUT [--exact]\n"), 2;
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_st_file *src, *out;
    if (dc_st_open(&a, argv[1], &src) != DC_OK || dc_st_open(&a, argv[2], &out) != DC_OK)
        return fprintf(stderr, "cannot open inputs\n"), 1;
    size_t checked_q = 0, checked_raw = 0, bad = 0;
    for (size_t i = 0; i < src->hdr->n_tensors; i++) {
        const dc_st_tensor *s = &src->hdr->tensors[i];
        const dc_st_tensor *o = dc_st_find(out->hdr, s->name);
        if (!o) {
            fprintf(stderr, "missing: %s\n", s->name), bad++;
            continue;
        }
        void *sd = read_tensor(src, s), *od = read_tensor(out, o);
        int linear = !exact && s->ndim == 2 && !strstr(s->name, "embed");
        if (linear) {
            size_t rows = (size_t)s->shape[0], cols = (size_t)s->shape[1];
            float *f = malloc(rows * cols * 4);
            dc_dtype dt = s->dtype == DC_ST_F32   ? DC_DTYPE_F32
                          : s->dtype == DC_ST_F16 ? DC_DTYPE_F16
                                                  : DC_DTYPE_BF16;
            dc_qtensor *q = NULL;
            char sname[256];
            snprintf(sname, sizeof(sname), "%s.scales", s->name);
            const dc_st_tensor *os = dc_st_find(out->hdr, sname);
            float scale = 0;
            void *sc = os ? read_tensor(out, os) : NULL;
            if (sc) memcpy(&scale, sc, 4);
            if (dc_convert_to_f32(f, sd, dt, rows * cols) != DC_OK ||
                dc_quantize(f, rows, cols, NULL, &q) != DC_OK || o->dtype != DC_ST_I8 ||
                o->end - o->begin != rows * cols || memcmp(dc_qtensor_data(q), od, rows * cols) ||
                !os || memcmp(&scale, dc_qtensor_scales(q), 4) != 0) {
                fprintf(stderr, "quantized tensor differs from the reference: %s\n", s->name);
                bad++;
            }
            checked_q++;
            dc_qtensor_free(q);
            free(f), free(sc);
        } else {
            int same_shape = o->ndim == s->ndim;
            for (size_t k = 0; same_shape && k < s->ndim; k++)
                same_shape = o->shape[k] == s->shape[k];
            if (o->dtype != s->dtype || o->end - o->begin != s->end - s->begin || !same_shape ||
                memcmp(sd, od, (size_t)(s->end - s->begin)) != 0) {
                fprintf(stderr, "raw tensor differs: %s\n", s->name);
                bad++;
            }
            checked_raw++;
        }
        free(sd), free(od);
    }
    if (exact && out->hdr->n_tensors != src->hdr->n_tensors) {
        fprintf(stderr, "output has %zu tensors, source %zu\n", (size_t)out->hdr->n_tensors,
                (size_t)src->hdr->n_tensors);
        bad++;
    }
    dc_st_close(src);
    dc_st_close(out);
    printf("dcz_check: %zu quantized and %zu raw tensors checked, %zu bad\n", checked_q,
           checked_raw, bad);
    return bad || (exact ? checked_raw == 0 : checked_q == 0) ? 1 : 0;
}
