/*
 * dc_benchgen.c -- writes the benchmark inputs, reproducibly:
 *
 *   dc-benchgen laplace OUT SIZE [B [ZEROS [SEED]]]
 *       SIZE bytes of Laplace(0, B) int8 (default B 4.2: ~4.5 bits/byte),
 *       with a fraction ZEROS (default 0) of positions set to 0.
 *   dc-benchgen llama2c MODEL.bin OUT
 *       the linear weights of a llama2.c checkpoint, INT8 per tensor.
 *   dc-benchgen llama2c-float MODEL.bin OUT bf16|f16|f32
 *       every weight of a llama2.c checkpoint (embedding, norms, linear
 *       weights, classifier; not the RoPE tables) in file order, rounded to
 *       BF16 or F16 (nearest even), or as the F32 values: real weights for
 *       the lossless float codec's benchmark (dc-bench --float).
 *   dc-benchgen safetensors OUT DIM HIDDEN LAYERS VOCAB [DTYPE [SEED]]
 *       a llama-shaped model (HF tensor names) with heavy-tailed weights,
 *       written as it is generated (never held in memory). DTYPE: f32, f16,
 *       bf16, or mixed (cycles F32/F16/BF16 per tensor and adds a 3-D tensor
 *       and names with non-ASCII characters).
 *
 * Outputs are written to OUT.tmp.PID and renamed over OUT when complete.
 */
#define _POSIX_C_SOURCE 200809L
#include "doublecomp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tests/gen.h"
#include "../examples/float16.h"

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

/* IEEE binary16 / bfloat16 from float, round to nearest even. */

typedef struct gtensor {
    char name[96];
    int dtype; /* 0 F32, 1 F16, 2 BF16 */
    int ndim;
    uint64_t dims[3];
    int kind; /* 0 weight, 1 norm */
} gtensor;

static uint64_t gt_numel(const gtensor *t) {
    uint64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->dims[i];
    return n;
}

/* One row of a weight: Laplace values times a per-row log-normal scale, with
 * a few outlier columns (as real LLM weights have). */
static void gen_row(float *row, uint64_t cols, int kind, uint64_t *seed, const float *col_gain) {
    if (kind == 1) {
        for (uint64_t j = 0; j < cols; j++)
            row[j] = 1.0f + 0.1f * (float)(gen_unit(seed) - 0.5);
        return;
    }
    double scale = 0.02 * exp(0.3 * (gen_unit(seed) - 0.5));
    for (uint64_t j = 0; j < cols; j++) {
        double u = gen_unit(seed) - 0.5;
        double v = -(u < 0 ? -1.0 : 1.0) * log(1.0 - 2.0 * fabs(u));
        row[j] = (float)(v * scale * col_gain[j]);
    }
}

static int gen_safetensors(const char *path, uint64_t D, uint64_t H, uint64_t L, uint64_t V,
                           const char *dtype, uint64_t seed) {
    int mixed = !strcmp(dtype, "mixed");
    int fixed = !strcmp(dtype, "f16") ? 1 : !strcmp(dtype, "bf16") ? 2 : 0;
    size_t cap = 16 + 9 * L + 8, n = 0;
    gtensor *ts = calloc(cap, sizeof(*ts));
    if (!ts) return 1;
#define ADD(nm, nd, d0, d1, d2, k)                                                                 \
    do {                                                                                           \
        gtensor *t_ = &ts[n];                                                                      \
        snprintf(t_->name, sizeof(t_->name), "%s", nm);                                            \
        t_->ndim = nd, t_->dims[0] = d0, t_->dims[1] = d1, t_->dims[2] = d2, t_->kind = k;         \
        t_->dtype = mixed ? (int)(n % 3) : fixed;                                                  \
        n++;                                                                                       \
    } while (0)
    char nm[96];
    ADD("model.embed_tokens.weight", 2, V, D, 0, 0);
    for (uint64_t l = 0; l < L; l++) {
        static const char *const names[] = {
            "input_layernorm",  "self_attn.q_proj", "self_attn.k_proj",
            "self_attn.v_proj", "self_attn.o_proj", "post_attention_layernorm",
            "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};
        for (int k = 0; k < 9; k++) {
            snprintf(nm, sizeof(nm), "model.layers.%llu.%s.weight", (unsigned long long)l,
                     names[k]);
            if (k == 0 || k == 5)
                ADD(nm, 1, D, 0, 0, 1);
            else if (k == 6 || k == 7)
                ADD(nm, 2, H, D, 0, 0);
            else if (k == 8)
                ADD(nm, 2, D, H, 0, 0);
            else
                ADD(nm, 2, D, D, 0, 0);
        }
    }
    ADD("model.norm.weight", 1, D, 0, 0, 1);
    ADD("lm_head.weight", 2, V, D, 0, 0);
    if (mixed) {
        ADD("extra.\xc3\xbc"
            "n\xc3\xaf"
            "c\xc3\xb8"
            "d\xc3\xa9"
            ".\xe2\x9c\x93.bias",
            1, 7, 0, 0, 1);
        ADD("extra.conv.weight", 3, 4, 3, 5, 0);
    }
#undef ADD
    /* header */
    size_t hcap = 256 + n * 200, hl = 0;
    char *hdr = malloc(hcap);
    if (!hdr) return 1;
    static const char *const dn[] = {"F32", "F16", "BF16"};
    uint64_t off = 0;
    hl +=
        (size_t)snprintf(hdr + hl, hcap - hl, "{\"__metadata__\":{\"generator\":\"dc-benchgen\"}");
    for (size_t i = 0; i < n; i++) {
        uint64_t bytes = gt_numel(&ts[i]) * (ts[i].dtype ? 2u : 4u);
        hl += (size_t)snprintf(hdr + hl, hcap - hl, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                               ts[i].name, dn[ts[i].dtype]);
        for (int k = 0; k < ts[i].ndim; k++)
            hl += (size_t)snprintf(hdr + hl, hcap - hl, "%s%llu", k ? "," : "",
                                   (unsigned long long)ts[i].dims[k]);
        hl += (size_t)snprintf(hdr + hl, hcap - hl, "],\"data_offsets\":[%llu,%llu]}",
                               (unsigned long long)off, (unsigned long long)(off + bytes));
        off += bytes;
    }
    hl += (size_t)snprintf(hdr + hl, hcap - hl, "}");
    while (hl % 8)
        hdr[hl++] = ' ';
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return perror(tmp), 1;
    uint8_t len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    int bad = fwrite(len8, 1, 8, f) != 8 || fwrite(hdr, 1, hl, f) != hl;
    uint64_t maxcols = D > H ? D : H;
    float *row = malloc(maxcols * sizeof(float)), *gain = malloc(maxcols * sizeof(float));
    uint16_t *half = malloc(maxcols * 2);
    for (size_t i = 0; i < n && !bad; i++) {
        const gtensor *t = &ts[i];
        uint64_t cols = t->dims[t->ndim - 1], rows = gt_numel(t) / cols;
        for (uint64_t j = 0; j < cols; j++) /* a few strong input channels */
            gain[j] = gen_unit(&seed) < 0.01 ? (float)(4.0 + 4.0 * gen_unit(&seed)) : 1.0f;
        for (uint64_t r = 0; r < rows && !bad; r++) {
            gen_row(row, cols, t->kind, &seed, gain);
            if (t->dtype == 0) {
                bad = fwrite(row, 4, cols, f) != cols;
            } else {
                for (uint64_t j = 0; j < cols; j++)
                    half[j] = t->dtype == 1 ? to_f16(row[j]) : to_bf16(row[j]);
                bad = fwrite(half, 2, cols, f) != cols;
            }
        }
    }
    bad |= fclose(f) != 0;
    free(row), free(gain), free(half), free(hdr), free(ts);
    if (bad || rename(tmp, path) != 0) {
        perror(path);
        remove(tmp);
        return 1;
    }
    fprintf(stderr, "%s: %zu tensors, %llu data bytes\n", path, n, (unsigned long long)off);
    return 0;
}

/* One row of a llama2c-gen weight: Laplace(0, 1) times a log-normal row scale
 * (sigma 0.15) times the column gain. */
static void gen_lrow(float *row, uint64_t cols, uint64_t *seed, const float *col_gain) {
    double z = sqrt(-2.0 * log(gen_unit(seed))) * cos(6.283185307179586 * gen_unit(seed));
    double scale = 0.02 * exp(0.15 * z);
    for (uint64_t j = 0; j < cols; j++) {
        double u = gen_unit(seed) - 0.5;
        double v = -(u < 0 ? -1.0 : 1.0) * log(1.0 - 2.0 * fabs(u));
        row[j] = (float)(v * scale * col_gain[j]);
    }
}

static int gen_llama2c(const char *path, const uint64_t shape[7], uint64_t seed) {
    const uint64_t D = shape[0], H = shape[1], L = shape[2], NH = shape[3], KVH = shape[4];
    const uint64_t V = shape[5], S = shape[6];
    if (!D || !H || !L || !NH || !KVH || !V || !S || D % NH || NH % KVH || (D / NH) % 2 ||
        D > (1u << 16) || H > (1u << 18) || L > 4096 || V > (1u << 22) || S > (1u << 20)) {
        fprintf(stderr, "llama2c-gen: bad shape\n");
        return 2;
    }
    const uint64_t hs = D / NH, KV = KVH * hs;
    int32_t hdr[7] = {(int32_t)D,   (int32_t)H, (int32_t)L, (int32_t)NH,
                      (int32_t)KVH, (int32_t)V, (int32_t)S};
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return perror(tmp), 1;
    uint64_t maxcols = D > H ? D : H;
    float *row = malloc(maxcols * sizeof(float)), *gain = malloc(maxcols * sizeof(float));
    int bad = !row || !gain || fwrite(hdr, sizeof(int32_t), 7, f) != 7;
    /* llama2.c order: embedding, then each kind for all layers (model.c el_layout) */
    enum { K_NORM, K_LIN };
    static const int kind9[9] = {K_NORM, K_LIN, K_LIN, K_LIN, K_LIN, K_NORM, K_LIN, K_LIN, K_LIN};
    const uint64_t rows9[9] = {1, D, KV, KV, D, 1, H, D, H};
    const uint64_t cols9[9] = {D, D, D, D, D, D, D, H, D};
    uint64_t floats = 0;
    /* token embedding: Gaussian-ish rows of unit RMS scale 0.5 */
    for (uint64_t j = 0; j < D; j++)
        gain[j] = 1.0f;
    for (uint64_t r = 0; r < V && !bad; r++) {
        gen_lrow(row, D, &seed, gain);
        for (uint64_t j = 0; j < D; j++)
            row[j] *= 25.0f;
        bad = fwrite(row, sizeof(float), D, f) != D;
        floats += D;
    }
    for (int k = 0; k < 9 && !bad; k++) {
        for (uint64_t l = 0; l < L && !bad; l++) {
            const uint64_t rows = rows9[k], cols = cols9[k];
            if (kind9[k] == K_NORM) {
                for (uint64_t j = 0; j < cols; j++)
                    row[j] = 1.0f + 0.1f * (float)(gen_unit(&seed) - 0.5);
                bad = fwrite(row, sizeof(float), cols, f) != cols;
                floats += cols;
                continue;
            }
            for (uint64_t j = 0; j < cols; j++) /* a few strong input channels */
                gain[j] = gen_unit(&seed) < 0.002 ? (float)(1.2 + 0.6 * gen_unit(&seed)) : 1.0f;
            for (uint64_t r = 0; r < rows && !bad; r++) {
                gen_lrow(row, cols, &seed, gain);
                bad = fwrite(row, sizeof(float), cols, f) != cols;
                floats += cols;
            }
        }
    }
    /* final norm, then freq_cis_real/imag (the engine recomputes RoPE; stored for the format) */
    for (uint64_t j = 0; j < D && !bad; j++) {
        float one = 1.0f;
        bad = fwrite(&one, sizeof(float), 1, f) != 1;
        floats++;
    }
    for (int part = 0; part < 2 && !bad; part++)
        for (uint64_t p = 0; p < S && !bad; p++)
            for (uint64_t i = 0; i < hs / 2 && !bad; i++) {
                double ang = (double)p * pow(10000.0, -(double)(2 * i) / (double)hs);
                float v = (float)(part == 0 ? cos(ang) : sin(ang));
                bad = fwrite(&v, sizeof(float), 1, f) != 1;
                floats++;
            }
    bad |= fclose(f) != 0;
    free(row), free(gain);
    if (bad || rename(tmp, path) != 0) {
        perror(path);
        remove(tmp);
        return 1;
    }
    fprintf(stderr,
            "%s: llama2.c checkpoint dim %llu hidden %llu layers %llu heads %llu/%llu "
            "vocab %llu seq %llu, %llu floats\n",
            path, (unsigned long long)D, (unsigned long long)H, (unsigned long long)L,
            (unsigned long long)NH, (unsigned long long)KVH, (unsigned long long)V,
            (unsigned long long)S, (unsigned long long)floats);
    return 0;
}

/* Every weight of a llama2.c checkpoint (not its RoPE tables) as BF16, F16
 * or F32, little-endian, in file order. */
static int llama2c_float(const char *path, const char *out, const char *dtype) {
    int kind = !strcmp(dtype, "bf16")  ? 2
               : !strcmp(dtype, "f16") ? 1
               : !strcmp(dtype, "f32") ? 0
                                       : -1;
    if (kind < 0) return fprintf(stderr, "llama2c-float: dtype bf16, f16 or f32\n"), 2;
    size_t size;
    uint8_t *file = gen_read_file(path, &size);
    if (!file) return perror(path), 1;
    int32_t h[7];
    if (size < sizeof(h)) return free(file), fprintf(stderr, "%s: too short\n", path), 2;
    memcpy(h, file, sizeof(h));
    if (h[0] <= 0 || h[1] <= 0 || h[2] <= 0 || h[3] <= 0 || h[4] <= 0 || h[6] <= 0 || h[0] % h[3] ||
        h[5] == 0 || h[5] == INT32_MIN)
        return free(file), fprintf(stderr, "%s: not a llama2.c checkpoint\n", path), 2;
    uint64_t D = (uint64_t)h[0], H = (uint64_t)h[1], L = (uint64_t)h[2], NH = (uint64_t)h[3];
    uint64_t KV = (uint64_t)h[4] * (D / NH), V = (uint64_t)(h[5] < 0 ? -h[5] : h[5]);
    uint64_t S = (uint64_t)h[6], hs = D / NH;
    uint64_t w = V * D + L * (2 * D + 2 * D * D + 2 * D * KV + 3 * H * D) + D; /* to rms_final */
    uint64_t rope = S * hs, cls = h[5] < 0 ? V * D : 0; /* freq_cis real + imag; wcls */
    if ((w + rope + cls) * 4 + 28 > size)
        return free(file), fprintf(stderr, "%s: shorter than its header says\n", path), 2;
    uint64_t n = w + cls;
    uint8_t *buf = malloc(n * (kind ? 2 : 4) + 1);
    if (!buf) return free(file), fprintf(stderr, "out of memory\n"), 1;
    for (uint64_t i = 0; i < n; i++) {
        float f;
        memcpy(&f, file + 28 + 4 * (i < w ? i : i + rope), 4);
        if (kind == 0) {
            memcpy(buf + 4 * i, &f, 4);
        } else {
            uint16_t v = kind == 1 ? to_f16(f) : to_bf16(f);
            buf[2 * i] = (uint8_t)v, buf[2 * i + 1] = (uint8_t)(v >> 8);
        }
    }
    free(file);
    size_t bytes = (size_t)(n * (kind ? 2 : 4));
    fprintf(stderr, "%s: %llu weights as %s, %zu bytes\n", out, (unsigned long long)n, dtype,
            bytes);
    int rc = write_atomic(out, buf, bytes);
    free(buf);
    return rc;
}

/* The stored INT8 weights (bits == 8 tensors, decoded) of a .dcz, concatenated:
 * the DC-quantized tensors as the codec sees them. */
static int dcz_int8(const char *path, const char *out) {
    dc_reader *r;
    dc_status st = dc_reader_open_file(path, NULL, &r, NULL);
    if (st != DC_OK) return fprintf(stderr, "%s: %s\n", path, dc_status_string(st)), 1;
    size_t total = 0, cap = 0;
    uint8_t *buf = NULL;
    for (size_t i = 0; i < dc_reader_tensor_count(r); i++) {
        dc_tensor_desc d;
        memset(&d, 0, sizeof(d));
        d.struct_size = sizeof(d);
        if (dc_reader_tensor(r, i, &d) != DC_OK || d.bits != 8) continue;
        if (total + d.data_size > cap) {
            cap = 2 * (total + (size_t)d.data_size);
            uint8_t *nb = realloc(buf, cap);
            if (!nb) return free(buf), dc_reader_close(r), fprintf(stderr, "out of memory\n"), 1;
            buf = nb;
        }
        st = dc_reader_decode_tensor(r, i, buf + total, cap - total, 1, NULL);
        if (st != DC_OK)
            return free(buf), dc_reader_close(r), fprintf(stderr, "%s\n", dc_status_string(st)), 1;
        total += (size_t)d.data_size;
    }
    dc_reader_close(r);
    fprintf(stderr, "%s: %zu stored INT8 weights, order-0 entropy %.3f bits\n", out, total,
            gen_entropy_bits(buf, total));
    int rc = write_atomic(out, buf, total);
    free(buf);
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "dcz-int8") == 0) return dcz_int8(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "llama2c-float") == 0)
        return llama2c_float(argv[2], argv[3], argv[4]);
    if ((argc == 10 || argc == 11) && strcmp(argv[1], "llama2c-gen") == 0) {
        uint64_t shape[7];
        for (int i = 0; i < 7; i++)
            shape[i] = strtoull(argv[3 + i], NULL, 0);
        return gen_llama2c(argv[2], shape, argc > 10 ? strtoull(argv[10], NULL, 0) : 1);
    }
    if (argc >= 7 && strcmp(argv[1], "safetensors") == 0)
        return gen_safetensors(argv[2], strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0),
                               strtoull(argv[5], NULL, 0), strtoull(argv[6], NULL, 0),
                               argc > 7 ? argv[7] : "f32",
                               argc > 8 ? strtoull(argv[8], NULL, 0) : 1);
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
    fprintf(stderr,
            "usage: dc-benchgen laplace OUT SIZE [B [ZEROS [SEED]]]\n"
            "       dc-benchgen llama2c MODEL.bin OUT\n"
            "       dc-benchgen llama2c-float MODEL.bin OUT bf16|f16|f32\n"
            "       dc-benchgen dcz-int8 FILE.dcz OUT   (its stored INT8 weights)\n"
            "       dc-benchgen safetensors OUT DIM HIDDEN LAYERS VOCAB [f32|f16|bf16|mixed "
            "[SEED]]\n"
            "       dc-benchgen llama2c-gen OUT DIM HIDDEN LAYERS HEADS KV_HEADS VOCAB SEQ "
            "[SEED]\n");
    return 2;
}
