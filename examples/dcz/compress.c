/*
 * compress.c -- dcz compress: model -> .dcz, one tensor at a time.
 *
 * Every 2-D floating-point tensor except embeddings (unless
 * --quant-embeddings) and RoPE tables is a linear weight: with activation
 * statistics for it (--stats, keyed by tensor name) it is scaled
 * (s_j = a_j^alpha / max|W_j|^(1-alpha), s stored with the tensor for the
 * host), quantized and pruned; without, quantized and magnitude-pruned.
 * Other tensors are stored as they were. For llama2.c checkpoints and
 * llama GGUF files with --calib-text, calibration and the scaling folded
 * into the RMSNorm weights are done by the reference engine (calib.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/model.h"
#include "../engine/pipeline.h" /* el_quantize_f16_scales */
#include "../limits.h"
#include "../presets.h"
#include "calib.h"
#include "dcz.h"
#include "gguf.h"     /* DC_GGML_Q8_0 */
#include "internal.h" /* dc_utf8_valid */
#include "source.h"

/* Memory per tensor while compressing (source list, writer tables), as
 * measured with 200,000 tiny tensors (480 bytes), rounded up. */
#define DCZ_BYTES_PER_TENSOR 512

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "dcz compress: %s%s%s (see dcz compress --help)\n", msg, arg ? ": " : "",
            arg ? arg : "");
    return 1;
}

static const char kHelp[] =
    "usage: dcz compress MODEL -o OUT.dcz [options]\n"
    "MODEL: .gguf (F32/F16/BF16 as below; Q8_0 re-coded bit-exactly; other types kept as\n"
    "       bytes; every key/value kept), .safetensors (F32, F16, BF16; I8 stored as already\n"
    "       quantized, with its scales\n"
    "       from '<name>.scales' if present), a Hugging Face checkpoint (its directory, with\n"
    "       model.safetensors.index.json and shards or one model.safetensors, or the index\n"
    "       file; every shard checked against the index; config.json and\n"
    "       generation_config.json kept in the metadata) or a llama2.c .bin. A file written by\n"
    "       dcz extract is stored as it was (tensors, scales and metadata kept)\n"
    "  --stats FILE           activation statistics (dcz calibrate), keyed by tensor name\n"
    "  --calib-text FILE      llama2.c or llama GGUF: calibrate now on this text, in the\n"
    "                         engine (a GGUF: binary16 scales, 1/s folded into the norms\n"
    "                         only, so dcz export --gguf gives Q8_0 of the same values)\n"
    "  --tokenizer TOK        llama2.c tokenizer for --calib-text (a GGUF: default its own)\n"
    "  --calib-tokens N       calibration tokens (default 20000)\n"
    "  --alpha A              scaling exponent in [0,1] (default 0.8 with statistics)\n"
    "  --sparsity S           fraction pruned per output row, in [0,1) (default 0)\n"
    "  --prune dc|wanda|magnitude   pruning score (default dc with statistics, else magnitude)\n"
    "  --prune-group row|tensor     compare scores per output row (default) or tensor-wide\n"
    "  --quant tensor|channel|group:G   quantization granularity (default tensor)\n"
    "  --bits 8|4             weight bits (default 8)\n"
    "  --qmax Q               largest |q|, below the full range (127, or 7 for 4 bits):\n"
    "                         a coarser step, better ratio, more rounding error\n"
    "  --quant-embeddings     also quantize embedding tables (default: stored as they were)\n"
    "  --gptq on|off          llama2.c with --calib-text: GPTQ-style error feedback from the\n"
    "                         calibration inputs' X^T X (default off)\n"
    "  --grid sym|full        4 bits: symmetric -7..7 (default) or the full grid -8..7\n"
    "  --scales f32|f16       scales as floats (default) or binary16 (stored in 2 bytes,\n"
    "                         entropy-coded; docs/format.md 6.4)\n"
    "  --scale-mantissa M     with --gptq on: M significand bits per scale\n"
    "  --preset NAME          a named setting (below): stands for its options, which later\n"
    "                         options override\n"
    "  --codec ans|zstd|lz4|raw  entropy coder (default ans)\n"
    "  --lossless             store every tensor exactly as it is (no quantization or\n"
    "                         pruning): F32/F16/BF16 tensors with the lossless float codec\n"
    "                         (byte planes, each ANS-coded), others with ANS; dcz extract\n"
    "                         gives back the same bytes. Excludes the quantization options\n"
    "  --chunk-size N         bytes per chunk (default 262144)\n"
    "  --threads N            threads preparing tensors, coding chunks and hashing the source\n"
    "                         (default 1: strictly sequential)\n"
    "  --json                 print a JSON summary line instead of text; no progress bar\n"
    "  --force                overwrite OUT if it exists\n"
    "Without statistics there is no scaling and only magnitude pruning (a note says so).\n"
    "OUT is written to a temporary file (.OUT.dcz-tmp.PID.XXXXXX) and renamed when complete;\n"
    "Ctrl-C/SIGTERM remove it, and after kill -9 the next run for OUT does. New files get\n"
    "mode 0666 & ~umask.";

typedef struct statset {
    dc_stats_file *file;
    calib_result *calib;
} statset;

/* The statistics of tensor `name` into *out (NULL if the file has none for
 * it). Errors (a value that is NaN, infinite or negative, I/O) are returned,
 * not taken for "no statistics". O(log n): the file's index is bisected. */
static dc_status stats_for(statset *s, const char *name, dc_stats **out) {
    *out = NULL;
    if (!s->file) return DC_OK;
    /* file and name are not NULL: DC_ERR_INVALID_ARGUMENT means no such layer */
    dc_status st = dc_stats_file_get(s->file, name, out);
    return st == DC_ERR_INVALID_ARGUMENT ? DC_OK : st;
}

static int is_linear(const src_tensor *t, int quant_embeddings) {
    if (t->ndim != 2 || t->dtype == DC_DTYPE_I8) return 0;
    if (strstr(t->name, "freq_cis") || strstr(t->name, "rotary")) return 0;
    if (!quant_embeddings && (strstr(t->name, "embed") || strstr(t->name, "wte"))) return 0;
    return 1;
}

/* Copies s into out (size n) as the inside of a JSON string. A byte that
 * does not start a valid UTF-8 sequence (a path may hold any bytes) becomes
 * U+FFFD, so the result is always valid JSON (and valid .dcz metadata). */
static void json_escape(const char *s, char *out, size_t n) {
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 7 < n; p++) {
        if (*p == '"' || *p == '\\')
            out[o++] = '\\', out[o++] = (char)*p;
        else if (*p < 0x20)
            o += (size_t)snprintf(out + o, n - o, "\\u%04x", *p);
        else if (*p < 0x80)
            out[o++] = (char)*p;
        else {
            size_t k = *p < 0xE0 ? 2 : *p < 0xF0 ? 3 : 4;
            if (strnlen((const char *)p, k) == k && dc_utf8_valid(p, k)) {
                memcpy(out + o, p, k);
                o += k, p += k - 1;
            } else {
                o += (size_t)snprintf(out + o, n - o, "\\ufffd");
            }
        }
    }
    out[o] = '\0';
}

typedef struct hash_job {
    const char *path;
    char hex[65];
    int ok;
} hash_job;

static void *hash_thread(void *arg) {
    hash_job *h = arg;
    h->ok = dcz_sha256_file(h->path, h->hex) == 0;
    return NULL;
}

typedef struct job_ctx {
    const model_source *src;
    statset *stats;
    const calib_result *calib;
    int have_stats, quant_emb;
    double alpha, sparsity;
    int prune, prune_tensor, bits;
    unsigned qmax;
    dc_quant_granularity gran;
    size_t group;
    int lossless; /* store every tensor as it is */
} job_ctx;

/* The reason to print for a failed status: strerror(err) for DC_ERR_IO
 * (err = the errno the library left), else the status string. */
static const char *why_failed(dc_status st, int err) {
    return st == DC_ERR_IO && err ? strerror(err) : dc_status_string(st);
}

/* One tensor ready for the writer, with everything its desc points to. */
typedef struct prepared {
    dc_tensor_desc d;
    const void *data;
    size_t size;
    dc_status st;
    int err; /* errno when st == DC_ERR_IO */
    void *raw;
    float *smooth, *scales; /* scales: of an imported pre-quantized tensor */
    dc_qtensor *q;
} prepared;

static void prepared_free(prepared *p) {
    dc_qtensor_free(p->q);
    free(p->raw);
    free(p->smooth);
    free(p->scales);
    memset(p, 0, sizeof(*p));
}

static const float kOne = 1.0f;

/* A tensor quantized by the host (t->q): its scales and smoothing scales are
 * read from their companion tensors and the values checked against the
 * layout (dc_qtensor_import); stored exactly as given. */
static void import_prequantized(const model_source *src, const src_tensor *t, prepared *p) {
    dc_tensor_desc *d = &p->d;
    const src_quant *q = t->q;
    d->source_dtype = q->source_dtype;
    d->dtype = DC_DTYPE_I8;
    d->bits = q->bits;
    d->granularity = q->gran;
    d->group_size = q->group_size;
    d->alpha = q->alpha;
    d->sparsity = q->sparsity;
    d->prune_method = q->prune_method;
    d->quant_flags = q->quant_flags;
    if (q->n_scales > SIZE_MAX / 8 || q->n_smooth > SIZE_MAX / 8 ||
        !(p->scales = malloc(q->n_scales ? q->n_scales * 4 : 4)) ||
        (q->n_smooth && !(p->smooth = malloc(q->n_smooth * 4)))) {
        p->st = DC_ERR_OUT_OF_MEMORY;
        return;
    }
    if ((p->st = source_read_f32(src, q->file, q->scales_offset, q->n_scales, p->scales)) !=
            DC_OK ||
        (p->st = source_read_f32(src, q->file, q->smooth_offset, q->n_smooth, p->smooth)) != DC_OK)
        return;
    d->scales = p->scales, d->n_scales = q->n_scales;
    d->smooth = p->smooth, d->n_smooth = q->n_smooth;
    if (t->nbytes == 0) return; /* an empty tensor: nothing to check (the writer checks the rest) */
    size_t rows = 1, cols = (size_t)t->dims[t->ndim - 1];
    for (unsigned k = 0; k + 1 < t->ndim; k++)
        rows *= (size_t)t->dims[k];
    dc_quant_options qo = {sizeof(qo), q->gran, (size_t)q->group_size, q->bits,
                           NULL,       0,       q->quant_flags};
    dc_qtensor *check = NULL;
    p->st = dc_qtensor_import(p->raw, t->nbytes, p->scales, (size_t)q->n_scales, rows, cols, &qo,
                              &check);
    dc_qtensor_free(check);
}

/* A GGUF Q8_0 tensor as int8 codes with its block scales (bits 8, per group
 * of 32: exactly the values llama.cpp computes), or a tensor of another
 * type (or a Q8_0 with a NaN/Inf scale) kept as opaque bytes. */
static void gguf_prepare(const src_tensor *t, prepared *p) {
    dc_tensor_desc *d = &p->d;
    d->source_dtype = d->dtype = DC_DTYPE_I8;
    int8_t *codes = NULL;
    float *scales = NULL;
    uint64_t ns = 0;
    if (t->gguf_type == DC_GGML_Q8_0 &&
        gguf_split_q8_0(p->raw, t->nbytes, &codes, &scales, &ns) == 0) {
        free(p->raw);
        p->raw = codes;
        p->scales = scales;
        p->data = codes, p->size = (size_t)(ns * DC_Q8_0_BLOCK);
        d->bits = 8;
        d->granularity = DC_QUANT_PER_GROUP;
        d->group_size = DC_Q8_0_BLOCK;
        d->scales = scales, d->n_scales = ns;
        return;
    }
    free(codes), free(scales);
    d->ndim = 1; /* opaque bytes, described by the key/value section */
    d->dims[0] = t->nbytes;
}

/* Reads tensor i and, for a linear weight, scales, quantizes and prunes it. */
static void prepare(const job_ctx *c, size_t i, prepared *p) {
    memset(p, 0, sizeof(*p));
    const src_tensor *t = &c->src->t[i];
    dc_tensor_desc *d = &p->d;
    d->struct_size = sizeof(*d);
    d->name = t->name;
    d->ndim = t->ndim;
    memcpy(d->dims, t->dims, sizeof(d->dims));
    d->source_dtype = t->dtype;
    d->dtype = t->dtype;
    d->prune_method = DC_PRUNE_NONE;
    const calib_tensor *ct = c->calib ? calib_find(c->calib, t->name) : NULL;
    if (ct) { /* the engine already scaled, folded, pruned and quantized it */
        *d = ct->desc;
        p->data = ct->data, p->size = ct->size;
        return;
    }
    if (!(p->raw = malloc(t->nbytes ? t->nbytes : 1))) {
        p->st = DC_ERR_OUT_OF_MEMORY;
        return;
    }
    if ((p->st = source_read(c->src, i, p->raw)) != DC_OK) {
        p->err = errno;
        return;
    }
    p->data = p->raw, p->size = t->nbytes;
    if (t->gguf_type >= 0 && t->dtype == DC_DTYPE_I8) { /* GGUF Q8_0, or opaque bytes */
        gguf_prepare(t, p);
        return;
    }
    if (t->dtype == DC_DTYPE_I8 && t->q) { /* quantized by the host, with its scales */
        import_prequantized(c->src, t, p);
        return;
    }
    if (t->dtype == DC_DTYPE_I8) { /* already quantized by the host, no scales: scale 1 */
        d->bits = 8;
        d->granularity = DC_QUANT_PER_TENSOR;
        d->scales = &kOne;
        d->n_scales = 1;
        return;
    }
    if (c->lossless || !is_linear(t, c->quant_emb) ||
        (c->calib && (c->src->is_llama2c || c->src->gguf)) || t->nbytes == 0 ||
        c->src->dcz_metadata || c->src->gguf_quantized)
        return; /* stored as is (a dcz extract: as it was stored) */
    size_t rows = t->dims[0], cols = t->dims[1];
    float *f32 = (float *)p->raw; /* F32 sources are used in place: no second copy */
    if (t->dtype != DC_DTYPE_F32) {
        if (!(f32 = malloc(rows * cols * sizeof(float)))) {
            p->st = DC_ERR_OUT_OF_MEMORY;
            return;
        }
        p->st = dc_convert_to_f32(f32, p->raw, t->dtype, rows * cols);
        free(p->raw);
        p->raw = f32;
        if (p->st != DC_OK) return;
    }
    dc_stats *sst = NULL;
    dc_status st = c->have_stats ? stats_for(c->stats, t->name, &sst) : DC_OK;
    dc_scaler *sc = NULL;
    if (sst && c->alpha > 0) {
        const float *ws[1] = {f32};
        st = dc_scaler_create(sst, (float)c->alpha, ws, &rows, 1, NULL, &sc);
        if (st == DC_OK) st = dc_scaler_apply(sc, f32, rows, cols);
        if (st == DC_OK && !(p->smooth = malloc(cols * sizeof(float)))) st = DC_ERR_OUT_OF_MEMORY;
        if (st == DC_OK) st = dc_scaler_get_scales(sc, p->smooth, cols);
    }
    dc_quant_options qo = {sizeof(qo), c->gran, c->group, (unsigned)c->bits, NULL, c->qmax, 0};
    /* GGUF: binary16 scales, so that dcz export --gguf gives exact Q8_0 */
    if (st == DC_OK)
        st = c->src->gguf && c->bits == 8 ? el_quantize_f16_scales(f32, rows, cols, &qo, &p->q)
                                          : dc_quantize(f32, rows, cols, &qo, &p->q);
    free(p->raw); /* the float weights are no longer needed */
    p->raw = NULL;
    int method = sst ? c->prune : DC_PRUNE_MAGNITUDE;
    if (st == DC_OK && c->sparsity > 0) {
        dc_prune_options po = {sizeof(po), (dc_prune_method)method,
                               c->prune_tensor ? DC_PRUNE_GROUP_TENSOR : DC_PRUNE_GROUP_ROW, sc,
                               NULL};
        st = dc_prune_qtensor(p->q, sst, (float)c->sparsity, &po, NULL);
    }
    if (st == DC_OK) {
        dc_qtensor_info qi = {.struct_size = sizeof(qi)};
        dc_qtensor_get_info(p->q, &qi);
        d->dtype = DC_DTYPE_I8;
        d->bits = (unsigned)c->bits;
        d->granularity = c->gran;
        d->group_size = c->gran == DC_QUANT_PER_GROUP ? c->group : 0;
        d->scales = dc_qtensor_scales(p->q);
        d->n_scales = qi.n_scales;
        d->smooth = p->smooth;
        d->n_smooth = p->smooth ? cols : 0;
        d->alpha = p->smooth ? (float)c->alpha : 0;
        d->prune_method = c->sparsity > 0 ? method : DC_PRUNE_NONE;
        d->sparsity = (float)c->sparsity;
        p->data = dc_qtensor_data(p->q), p->size = qi.data_size;
    }
    p->st = st;
    dc_scaler_free(sc);
    dc_stats_free(sst);
}

typedef struct prep_arg {
    const job_ctx *c;
    size_t i;
    prepared *out;
} prep_arg;

static void *prepare_thread(void *arg) {
    prep_arg *a = arg;
    prepare(a->c, a->i, a->out);
    return NULL;
}

static int compress_args(int argc, char **argv);

int dcz_compress(int argc, char **argv) {
    char **xargv = NULL;
    const char *bad = NULL;
    if (dcx_preset_expand(argc, argv, &argc, &xargv, &bad) != 0)
        return usage_error(bad ? "unknown --preset" : "--preset needs a name (or no memory)", bad);
    int rc = compress_args(argc, xargv);
    free(xargv);
    return rc;
}

static int compress_args(int argc, char **argv) {
    const char *model = NULL, *out = NULL, *stats_path = NULL, *calib_text = NULL, *tok = NULL;
    double alpha = -1, sparsity = 0;
    long calib_tokens = 20000;
    unsigned qmax = 0;
    int bits = 8, json = 0, force = 0, quant_emb = 0, prune = -1, prune_tensor = 0;
    dc_quant_granularity gran = DC_QUANT_PER_TENSOR;
    size_t group = 0, chunk = 0;
    unsigned threads = 1;
    dc_codec codec = DC_CODEC_ANS;
    int lossless = 0, codec_given = 0, gptq = 0, scale_mantissa = 0;
    unsigned qflags = 0;
    const char *quant_opt = NULL; /* the first option --lossless excludes */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        static const char *const quant_opts[] = {"--stats",
                                                 "--calib-text",
                                                 "--calib-tokens",
                                                 "--alpha",
                                                 "--sparsity",
                                                 "--bits",
                                                 "--qmax",
                                                 "--prune",
                                                 "--prune-group",
                                                 "--quant",
                                                 "--quant-embeddings",
                                                 "--gptq",
                                                 "--preset",
                                                 "--grid",
                                                 "--scales",
                                                 "--scale-mantissa"};
        for (size_t q = 0; q < sizeof(quant_opts) / sizeof(quant_opts[0]) && !quant_opt; q++)
            if (!strcmp(a, quant_opts[q])) quant_opt = a;
#define NEEDV()                                                                                    \
    do {                                                                                           \
        if (!v) return usage_error("missing value for", a);                                        \
        i++;                                                                                       \
    } while (0)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            puts(kHelp);
            for (size_t p = 0; p < sizeof dcx_presets / sizeof dcx_presets[0]; p++)
                printf("  preset %s: %s\n", dcx_presets[p].name, dcx_presets[p].options);
            return 0;
        } else if (!strcmp(a, "--grid")) {
            NEEDV();
            if (strcmp(v, "full") != 0 && strcmp(v, "sym") != 0)
                return usage_error("--grid must be sym or full", v);
            qflags =
                !strcmp(v, "full") ? qflags | DC_QUANT_FULL_GRID : qflags & ~DC_QUANT_FULL_GRID;
        } else if (!strcmp(a, "--scales")) {
            NEEDV();
            if (strcmp(v, "f16") != 0 && strcmp(v, "f32") != 0)
                return usage_error("--scales must be f32 or f16", v);
            qflags =
                !strcmp(v, "f16") ? qflags | DC_QUANT_F16_SCALES : qflags & ~DC_QUANT_F16_SCALES;
        } else if (!strcmp(a, "--scale-mantissa")) {
            NEEDV();
            scale_mantissa = atoi(v);
            if (scale_mantissa < 1 || scale_mantissa > 10)
                return usage_error("--scale-mantissa must be 1..10", v);
        } else if (!strcmp(a, "--gptq")) {
            NEEDV();
            if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
                return usage_error("--gptq must be on or off", v);
            gptq = !strcmp(v, "on");
        } else if (!strcmp(a, "-o")) {
            NEEDV();
            out = v;
        } else if (!strcmp(a, "--stats")) {
            NEEDV();
            stats_path = v;
        } else if (!strcmp(a, "--calib-text")) {
            NEEDV();
            calib_text = v;
        } else if (!strcmp(a, "--tokenizer")) {
            NEEDV();
            tok = v;
        } else if (!strcmp(a, "--calib-tokens")) {
            NEEDV();
            calib_tokens = atol(v);
        } else if (!strcmp(a, "--alpha")) {
            NEEDV();
            alpha = atof(v);
        } else if (!strcmp(a, "--sparsity")) {
            NEEDV();
            sparsity = atof(v);
        } else if (!strcmp(a, "--bits")) {
            NEEDV();
            bits = atoi(v);
        } else if (!strcmp(a, "--qmax")) {
            NEEDV();
            char *e;
            unsigned long q = strtoul(v, &e, 10);
            if (*e || q < 1 || q > 127) return usage_error("--qmax must be 1..127", v);
            qmax = (unsigned)q;
        } else if (!strcmp(a, "--chunk-size")) {
            NEEDV();
            chunk = (size_t)strtoull(v, NULL, 0);
        } else if (!strcmp(a, "--threads")) {
            NEEDV();
            threads = (unsigned)atoi(v);
        } else if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--force"))
            force = 1;
        else if (!strcmp(a, "--quant-embeddings"))
            quant_emb = 1;
        else if (!strcmp(a, "--prune-group")) {
            NEEDV();
            if (!strcmp(v, "row"))
                prune_tensor = 0;
            else if (!strcmp(v, "tensor"))
                prune_tensor = 1;
            else
                return usage_error("--prune-group must be row or tensor", v);
        } else if (!strcmp(a, "--prune")) {
            NEEDV();
            prune = !strcmp(v, "dc")          ? DC_PRUNE_DC
                    : !strcmp(v, "wanda")     ? DC_PRUNE_WANDA
                    : !strcmp(v, "magnitude") ? DC_PRUNE_MAGNITUDE
                                              : -2;
            if (prune == -2) return usage_error("unknown pruning method", v);
        } else if (!strcmp(a, "--quant")) {
            NEEDV();
            if (!strcmp(v, "tensor"))
                gran = DC_QUANT_PER_TENSOR;
            else if (!strcmp(v, "channel"))
                gran = DC_QUANT_PER_CHANNEL;
            else if (!strncmp(v, "group:", 6) && atol(v + 6) > 0)
                gran = DC_QUANT_PER_GROUP, group = (size_t)atol(v + 6);
            else
                return usage_error("bad --quant", v);
        } else if (!strcmp(a, "--lossless")) {
            lossless = 1;
        } else if (!strcmp(a, "--codec")) {
            NEEDV();
            codec_given = 1;
            codec = !strcmp(v, "ans")    ? DC_CODEC_ANS
                    : !strcmp(v, "zstd") ? DC_CODEC_ZSTD
                    : !strcmp(v, "lz4")  ? DC_CODEC_LZ4
                    : !strcmp(v, "raw")  ? DC_CODEC_RAW
                                         : DC_CODEC_RUN;
            if (codec == DC_CODEC_RUN) return usage_error("unknown codec", v);
        } else if (a[0] == '-')
            return usage_error("unknown option", a);
        else if (!model)
            model = a;
        else
            return usage_error("unexpected argument", a);
#undef NEEDV
    }
    if (!model || !out) return usage_error("need MODEL and -o OUT.dcz", NULL);
    if (lossless && quant_opt) return usage_error("--lossless quantizes nothing; drop", quant_opt);
    if (lossless && codec_given)
        return usage_error("--lossless chooses the codec; drop --codec", NULL);
    if (lossless) codec = DC_CODEC_FLOAT;
    if (bits != 8 && bits != 4) return usage_error("--bits must be 8 or 4", NULL);
    if (qmax > (bits == 8 ? 127u : 7u))
        return usage_error("--qmax is above the range of --bits", NULL);
    if (sparsity < 0 || sparsity >= 1) return usage_error("--sparsity must be in [0, 1)", NULL);
    if (alpha != -1 && (alpha < 0 || alpha > 1))
        return usage_error("--alpha must be in [0, 1]", NULL);
    if (threads < 1 || threads > 256) return usage_error("--threads must be 1..256", NULL);
    if (stats_path && calib_text)
        return usage_error("give --stats or --calib-text, not both", NULL);
    size_t mlen = strlen(model);
    const int gguf_path = mlen > 5 && !strcmp(model + mlen - 5, ".gguf");
    if (gptq && !calib_text) return usage_error("--gptq needs --calib-text", NULL);
    if ((qflags || scale_mantissa) && !calib_text)
        return usage_error("--grid/--scales/--scale-mantissa need --calib-text", NULL);
    if ((qflags & DC_QUANT_FULL_GRID) && (bits != 4 || qmax))
        return usage_error("--grid full is for --bits 4 without --qmax", NULL);
    if (scale_mantissa && !gptq) return usage_error("--scale-mantissa needs --gptq on", NULL);
    if (calib_text && !tok && !gguf_path)
        return usage_error("--calib-text needs --tokenizer (a GGUF model carries its own)", NULL);
    if (!force && access(out, F_OK) == 0) {
        fprintf(stderr, "dcz compress: %s exists; use --force to overwrite\n", out);
        return 3;
    }

    model_source src;
    const char *why = "";
    dc_status st = source_open(model, &src, &why);
    if (st != DC_OK) {
        fprintf(stderr, "dcz compress: %s: %s (%s)\n", model, why, why_failed(st, errno));
        return st == DC_ERR_IO ? 3 : 2;
    }
    /* what the tables of src.n tensors cost (source list, writer tables),
     * against the memory limit: a crafted file of many tiny tensors must not
     * make memory a large multiple of its size */
    char what[64];
    snprintf(what, sizeof what, "the tables of %zu tensors", src.n);
    if ((st = dcx_check_memory("dcz compress", el_max_memory, model, src.file_size, what,
                               (uint64_t)src.n * DCZ_BYTES_PER_TENSOR)) != DC_OK) {
        source_close(&src);
        return st == DC_ERR_LIMIT ? 2 : 1;
    }
    if (src.dcz_metadata && !json)
        fprintf(stderr,
                "dcz compress: note: %s was written by dcz extract: its tensors are stored "
                "as they were quantized and its .dcz metadata is kept\n",
                model);
    if (calib_text && !src.is_llama2c && !(src.gguf && gguf_path)) {
        source_close(&src);
        return usage_error("--calib-text works with llama2.c and llama GGUF models; use --stats "
                           "for others",
                           NULL);
    }
    if (calib_text && src.gguf && src.gguf_quantized) {
        source_close(&src);
        fprintf(stderr,
                "dcz compress: %s: --calib-text needs a float GGUF (F32/F16/BF16); this "
                "one already holds quantized tensors\n",
                model);
        return 2;
    }
    statset stats = {NULL, NULL};
    char note[256] = "";
    if (stats_path && (st = dc_stats_file_open(stats_path, NULL, &stats.file)) != DC_OK) {
        fprintf(stderr, "dcz compress: %s: %s\n", stats_path, why_failed(st, errno));
        source_close(&src);
        return st == DC_ERR_IO ? 3 : 2;
    }
    /* Every layer's statistics are checked now: NaN, infinite or negative
     * values are an error naming the tensor, never silently skipped. */
    for (size_t i = 0; stats.file && i < dc_stats_file_count(stats.file); i++) {
        dc_stats *one = NULL;
        const char *nm = dc_stats_file_name(stats.file, i);
        if ((st = dc_stats_file_get(stats.file, nm, &one)) != DC_OK) {
            fprintf(stderr, "dcz compress: %s: statistics of tensor %s: %s\n", stats_path, nm,
                    st == DC_ERR_NOT_FINITE ? "NaN or infinite value"
                    : st == DC_ERR_RANGE    ? "negative value"
                                            : dc_status_string(st));
            dc_stats_file_close(stats.file);
            source_close(&src);
            return st == DC_ERR_IO ? 3 : st == DC_ERR_OUT_OF_MEMORY ? 4 : 2;
        }
        dc_stats_free(one);
    }
    /* GGUF: the float tensors stored as they were (norms, and in quantized files
     * the tensors kept float on purpose, e.g. rows that do not fit Q8_0's
     * blocks) get the lossless float codec; quantized and opaque ones ANS */
    if (src.gguf && !codec_given) codec = DC_CODEC_FLOAT;
    int have_stats = stats_path || calib_text;
    if (lossless) {
        snprintf(note, sizeof(note), "lossless: every tensor stored as it was");
        prune = DC_PRUNE_MAGNITUDE;
        alpha = 0;
    } else if (!have_stats) {
        snprintf(note, sizeof(note),
                 "no activation statistics: no scaling, magnitude pruning only");
        if (!json) fprintf(stderr, "dcz compress: note: %s\n", note);
        if (prune == DC_PRUNE_DC || prune == DC_PRUNE_WANDA) {
            source_close(&src);
            return usage_error("--prune dc/wanda needs --stats or --calib-text", NULL);
        }
        prune = DC_PRUNE_MAGNITUDE;
        alpha = 0;
    } else {
        if (alpha < 0) alpha = 0.8;
        if (prune < 0) prune = DC_PRUNE_DC;
    }

    hash_job hj = {src.hash_path ? src.hash_path : model, "", 0}; /* HF: the index file */
    pthread_t hth;
    /* The source hash overlaps the work on its own thread when more than one
     * thread is allowed; --threads 1 is strictly sequential. */
    int hashing = threads > 1 && pthread_create(&hth, NULL, hash_thread, &hj) == 0;
    int rc = 0;
    if (calib_text) {
        calib_options co = {alpha,        sparsity,     prune, bits, gran,   group,
                            calib_tokens, prune_tensor, qmax,  gptq, qflags, scale_mantissa};
        rc = calib_compress_llama2c(model, tok, calib_text, &co, &stats.calib, json);
        if (rc != 0) goto done;
    }

    dc_writer_options wo = {sizeof(wo), codec, 0, chunk, threads, force, NULL, 0};
    dc_writer *w = NULL;
    if ((st = dc_writer_create(out, &wo, &w)) != DC_OK) {
        fprintf(stderr, "dcz compress: cannot create %s: %s\n", out, why_failed(st, errno));
        rc = 3;
        goto done;
    }
    dcz_progress_state prog = {!json && isatty(2), -1, source_bytes(&src), "compress"};
    uint64_t done_bytes = 0, q_bytes = 0, n_quant = 0;
    unsigned bits_seen = 0; /* 1 << bits of every quantized tensor written (4, 8) */
    job_ctx jc = {&src,  &stats,       stats.calib, have_stats, quant_emb, alpha, sparsity,
                  prune, prune_tensor, bits,        qmax,       gran,      group, lossless};
    /* Tensors are prepared (read, scaled, quantized, pruned) by up to
     * `threads` + 1 threads ahead of the writer (one more than the cores asked
     * for, so a core whose tensor is done finds the next one started while the
     * writer codes chunks), and written in order: at most `window` prepared
     * tensors are in memory. --threads 1 prepares one tensor, then writes it. */
    const size_t window = threads > 1 ? (size_t)threads + 1 : 1;
    /* ring buffers of `window` slots (tensor i in slot i % window), so the
     * memory does not grow with the number of tensors */
    prepared *items = calloc(window, sizeof(prepared));
    prep_arg *args = calloc(window, sizeof(prep_arg));
    pthread_t *th = calloc(window, sizeof(pthread_t));
    unsigned char *started = calloc(window, 1);
    if (!items || !args || !th || !started) rc = 4;
    size_t next = 0;
    for (size_t i = 0; i < src.n && rc == 0; i++) {
        for (; next < src.n && next < i + window; next++) { /* fill the window */
            size_t k = next % window;
            args[k] = (prep_arg){&jc, next, &items[k]};
            started[k] = threads > 1 && pthread_create(&th[k], NULL, prepare_thread, &args[k]) == 0;
            if (!started[k]) prepare(&jc, next, &items[k]);
        }
        size_t k = i % window;
        if (started[k]) pthread_join(th[k], NULL), started[k] = 0;
        prepared *cur = &items[k];
        st = cur->st;
        int err = cur->err;
        if (st == DC_OK) {
            st = dc_writer_add_tensor(w, &cur->d, cur->data, cur->size);
            err = errno;
        }
        if (st == DC_ERR_IO && cur->st == DC_OK) { /* writing failed, not reading */
            fprintf(stderr, "%sdcz compress: cannot write %s: %s\n", prog.enabled ? "\n" : "", out,
                    why_failed(st, err));
        } else if (st != DC_OK) {
            fprintf(stderr, "%sdcz compress: tensor %s: %s\n", prog.enabled ? "\n" : "",
                    src.t[i].name, why_failed(st, err));
        }
        if (st != DC_OK) rc = st == DC_ERR_IO ? 3 : st == DC_ERR_OUT_OF_MEMORY ? 4 : 2;
        n_quant += cur->d.bits != 0;
        q_bytes += cur->d.bits ? cur->size : 0;
        if (cur->d.bits) bits_seen |= 1u << (cur->d.bits & 15u);
        prepared_free(cur);
        done_bytes += src.t[i].nbytes;
        dcz_progress(&prog, done_bytes);
    }
    for (size_t k = 0; started && k < window; k++) /* after an error: finish and drop the rest */
        if (started[k]) pthread_join(th[k], NULL);
    for (size_t k = 0; items && k < window; k++)
        prepared_free(&items[k]);
    free(items), free(args), free(th), free(started);
    if (rc != 0) {
        dc_writer_abort(w);
        goto done;
    }
    if (hashing)
        pthread_join(hth, NULL), hashing = 0;
    else
        hash_thread(&hj);
    char meta[4096], src_name[1024], calib_desc[1200], l2c[160] = "";
    const char *pname[] = {"dc", "wanda", "magnitude"};
    json_escape(strrchr(model, '/') ? strrchr(model, '/') + 1 : model, src_name, sizeof(src_name));
    char tmp[600];
    if (calib_text)
        snprintf(tmp, sizeof(tmp), "text %s, %ld tokens", calib_text, calib_tokens);
    else
        snprintf(tmp, sizeof(tmp), "%s", stats_path ? stats_path : "none");
    json_escape(tmp, calib_desc, sizeof(calib_desc));
    if (src.is_llama2c) { /* lets dc-llama run the file */
        const int32_t *h = src.llama2c_header;
        snprintf(l2c, sizeof(l2c), ",\"llama2c_header\":[%d,%d,%d,%d,%d,%d,%d]", h[0], h[1], h[2],
                 h[3], h[4], h[5], h[6]);
    }
    snprintf(meta, sizeof(meta),
             "{\"tool\":\"dcz %s\",\"source\":\"%s\",\"source_sha256\":\"%s\",\"alpha\":%g,"
             "\"sparsity\":%g,\"prune\":\"%s\",\"quant\":\"%s\",\"group_size\":%zu,\"bits\":%d,"
             "\"qmax\":%u,"
             "\"codec\":\"%s\",\"calibration\":\"%s\",\"note\":\"%s\"%s%s%s}",
             dc_version_string(), src_name, hj.ok ? hj.hex : "", alpha, sparsity,
             sparsity > 0 ? pname[prune] : "none",
             lossless                       ? "none"
             : gran == DC_QUANT_PER_TENSOR  ? "tensor"
             : gran == DC_QUANT_PER_CHANNEL ? "channel"
                                            : "group",
             group, lossless ? 0 : bits,
             lossless ? 0u
             : qmax   ? qmax
                      : (bits == 8 ? 127u : 7u),
             dc_codec_name(codec), calib_desc, note, l2c, stats.calib ? "," : "",
             calib_metadata(stats.calib));
    int err = 0;
    void *kvsec = NULL;
    size_t kvsize = 0;
    /* GGUF: every key/value and tensor info, typed (docs/format.md, 6.7) */
    if ((st = source_kv_section(&src, &kvsec, &kvsize)) == DC_OK && kvsec)
        st = dc_writer_set_kv_section(w, kvsec, kvsize);
    free(kvsec);
    if (st != DC_OK) {
        dc_writer_abort(w);
        fprintf(stderr, "dcz compress: cannot write %s: %s\n", out, dc_status_string(st));
        rc = st == DC_ERR_OUT_OF_MEMORY ? 4 : 2;
        goto done;
    }
    /* Hugging Face checkpoints: config files and shard layout under "hf" */
    char *full = NULL;
    if (src.hf_json && !src.dcz_metadata) {
        size_t ml = strlen(meta), hl = strlen(src.hf_json);
        if (!(full = malloc(ml + hl + 16))) {
            dc_writer_abort(w);
            fprintf(stderr, "dcz compress: out of memory\n");
            rc = 4;
            goto done;
        }
        memcpy(full, meta, ml - 1); /* without its closing brace */
        memcpy(full + ml - 1, ",\"hf\":", 6);
        memcpy(full + ml + 5, src.hf_json, hl);
        memcpy(full + ml + 5 + hl, "}", 2);
    }
    /* A dcz extract keeps the metadata it came with: the tensors are the same
     * as in that .dcz (extract -> compress -> extract gives the same bytes). */
    st = dc_writer_set_metadata(w, src.dcz_metadata ? src.dcz_metadata : full ? full : meta);
    free(full);
    if (st == DC_OK) {
        st = dc_writer_finish(w);
        err = errno;
    } else {
        dc_writer_abort(w);
    }
    if (st != DC_OK) {
        fprintf(stderr, "dcz compress: cannot write %s: %s\n", out, why_failed(st, err));
        rc = 3;
        goto done;
    }
    FILE *f = fopen(out, "rb");
    long out_size = 0;
    if (f) fseek(f, 0, SEEK_END), out_size = ftell(f), fclose(f);
    char a[32], b[32], model_js[2048], out_js[2048];
    json_escape(model, model_js, sizeof(model_js));
    json_escape(out, out_js, sizeof(out_js));
    if (json)
        printf("{\"model\":\"%s\",\"out\":\"%s\",\"source_bytes\":%llu,\"out_bytes\":%ld,"
               "\"ratio\":%.4f,\"quantized_tensors\":%llu,\"quantized_bytes\":%llu}\n",
               model_js, out_js, (unsigned long long)source_bytes(&src), out_size,
               out_size ? (double)source_bytes(&src) / (double)out_size : 0,
               (unsigned long long)n_quant, (unsigned long long)q_bytes);
    else if (lossless)
        printf("%s -> %s: %s -> %s (%.3fx), lossless\n", model, out,
               dcz_human(source_bytes(&src), a, sizeof(a)),
               dcz_human((uint64_t)out_size, b, sizeof(b)),
               out_size ? (double)source_bytes(&src) / (double)out_size : 0);
    else
        /* the bits the tensors have (an extracted 4-bit file stays 4-bit whatever --bits says) */
        printf("%s -> %s: %s -> %s (%.2fx), %llu tensors quantized to %s bits\n", model, out,
               dcz_human(source_bytes(&src), a, sizeof(a)),
               dcz_human((uint64_t)out_size, b, sizeof(b)),
               out_size ? (double)source_bytes(&src) / (double)out_size : 0,
               (unsigned long long)n_quant,
               bits_seen == (1u << 4 | 1u << 8) ? "4 and 8"
               : bits_seen == 1u << 4           ? "4"
               : bits_seen == 1u << 8           ? "8"
                                                : (bits == 4 ? "4" : "8"));
done:
    if (hashing) pthread_join(hth, NULL);
    dc_stats_file_close(stats.file);
    calib_free(stats.calib);
    source_close(&src);
    return rc;
}
