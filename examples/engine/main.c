/*
 * main.c -- dc-llama: command line of the reference inference engine.
 *
 *   dc-llama ppl MODEL.bin --tokenizer TOK.bin --text FILE [--offset CHARS]
 *            [--max-chars N] [--max-tokens N] [--alpha A] [--layer-alpha a0,a1,..]
 *            [--sparsity S] [--prune dc|wanda|magnitude] [--prune-group row|tensor]
 *            [--quant tensor|channel|group:G] [--bits 8|4] [--qmax Q]
 *            [--calib-text FILE] [--calib-tokens N] [--calib-offset CHARS] [--json]
 *            [--act int8|f32] [--preset NAME] [--segments OFF,OFF,...]
 *   dc-llama generate MODEL.bin --tokenizer TOK.bin [--prompt TEXT] [-n N]
 *            [--temperature T --seed S] [quantization options as for ppl]
 *   dc-llama bench MODEL.dcz [-n T] [--tokens ID,ID,...] [plan options]
 *            times T steps of one token: greedy generation from BOS, or the
 *            given token sequence; prints one JSON line (tokens/s, median
 *            step, peak RSS, the plan's memory, decode/compute/other split,
 *            predicted vs measured step latency, logits and token hashes).
 *
 * Plan options (a .dcz model; plan.h): --policy all-resident|all-compressed|
 * every-N:N, --latency-budget FACTOR (least memory with a predicted step
 * within FACTOR x all-resident), --memory-budget BYTES|P% (least latency
 * within BYTES, or P% of the INT8 weights); the planner's inputs are measured
 * unless given: --compute-rate B/s, --host-bandwidth B/s, --decode-rate B/s.
 * --threads N: N decoder threads decode the compressed (and streamed) chunks
 * up to --prefetch K (default 8; 16 with --storage) ring buffers ahead of the compute (planner:
 * threaded model). --storage: chunks may also stream from the .dcz file
 * every step, read by --io-threads N (default 8) threads up to --read-ahead R (default 96) chunks
 * ahead with O_DIRECT where possible; the storage bandwidth is measured unless --storage-bandwidth
 * is given; --storage alone streams every chunk (--policy all-streamed).
 *
 * Perplexity: the text is encoded (dummy-prefix space, no BOS), then cut into
 * consecutive windows of seq_len-1 tokens; every window is run as
 * [BOS, tokens...] from position 0 and all its tokens are predicted. PPL =
 * exp(mean NLL over all predicted tokens). --max-tokens N keeps the first
 * N-1 text tokens (so N counts the BOS of a single window, as in "BOS +
 * encoding capped at 256 tokens"). --segments O1,O2,... evaluates several
 * segments of the text in one run (each from its character offset, with the
 * same --max-tokens / --max-chars), after one calibration and quantization;
 * --json then lists each segment's tokens, characters and NLL sum.
 *
 * Calibration and evaluation text must not overlap: when both come from the
 * same file, the characters the calibration used and those each evaluated
 * segment used (from their tokens) are compared, and an overlap is reported
 * (WARNING on stderr).
 *
 * --act f32: weight-only mode, activations stay float (as in llama.cpp);
 * the default --act int8 is W8A8 (the paper's mode).
 *
 * GGUF models quantized in memory (a .gguf MODEL with quantization options)
 * get binary16 scales and DC scaling only where 1/s folds into a norm
 * (el_qopts_for_gguf), as dcz compress quantizes them, so the .dcz it makes
 * runs to the same perplexity and its GGUF export holds exact Q8_0.
 *
 * Determinism: the forward pass is single-threaded and sums in one fixed
 * order on every CPU (matmul.c), so results repeat to the last bit.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#include "doublecomp.h"
#include "model.h"
#include "pipeline.h"
#include "plan.h"
#include "tokenizer.h"
#include "gguf_load.h"
#include "../limits.h"
#include "../presets.h"

#include <doublecomp.h>

#include <math.h>
#include <sys/resource.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void) {
    fprintf(stderr,
            "usage: dc-llama ppl MODEL.bin --tokenizer TOK.bin --text FILE [--offset CHARS]\n"
            "         [--max-chars N] [--max-tokens N] [--json]\n"
            "         (or --token-file IDS: the text's token ids, little-endian uint32, no BOS)\n"
            "         [--quant tensor|channel|group:G] [--bits 8|4] [--qmax Q] [--alpha A]\n"
            "         [--layer-alpha a0,a1,...] [--sparsity S] [--prune dc|wanda|magnitude]\n"
            "         [--prune-group row|tensor] [--calib-text FILE] [--calib-tokens N]\n"
            "         [--calib-offset CHARS] [--act int8|f32] [--preset NAME]\n"
            "         [--segments OFF,OFF,...]  (several segments, one quantization)\n"
            "         [--quant q8_0|q4_0|q4_k]  (llama.cpp's formats, for comparison)\n"
            "         [--grid sym|full] [--scales f32|f16] [--gptq on|off]\n"
            "         [--scale-mantissa M]  (with --gptq: M significand bits per scale)\n"
            "         [--scale-inputs all|folded]  (folded: alpha only where 1/s folds\n"
            "         into a norm, no smoothing vectors)\n"
            "       dc-llama generate MODEL.bin --tokenizer TOK.bin [--prompt TEXT] [-n N]\n"
            "         [--temperature T] [--seed S] [quantization options]\n"
            "       dc-llama bench MODEL.dcz [-n T] [--tokens ID,ID,...] [--tokenizer TOK.bin]\n"
            "         [plan options]\n"
            "plan options (.dcz models): --policy all-resident|all-compressed|all-streamed|\n"
            "         every-N:N | --latency-budget FACTOR | --memory-budget BYTES|P%%\n"
            "         [--threads N]  (decoder threads ahead of the compute; 0: decode inline)\n"
            "         [--prefetch K]  (ring buffers they fill; default 8, 16 with --storage)\n"
            "         [--storage]  (chunks may stream from the file every step; alone:\n"
            "         all-streamed) [--io-threads N (default 8)] [--read-ahead R (read\n"
            "         buffers, default 96)] [--storage-bandwidth B/s] [--read-cost NS (core\n"
            "         nanoseconds each byte read costs the decode/compute cores; default 0)]\n"
            "         [--compute-rate B/s] [--host-bandwidth B/s] [--decode-rate B/s]\n"
            "every command: --max-memory BYTES|unlimited  (or DC_MAX_MEMORY): the most the\n"
            "         model may hold; default 4 x the model file + 48 MiB (docs/guide.md)\n"
            "presets (--preset NAME stands for these options):\n");
    for (size_t i = 0; i < sizeof dcx_presets / sizeof dcx_presets[0]; i++)
        fprintf(stderr, "  %s: %s\n", dcx_presets[i].name, dcx_presets[i].options);
}

static int parse_double(const char *s, double *out) {
    char *end;
    *out = strtod(s, &end);
    return *s && !*end && isfinite(*out) ? 0 : -1;
}

static int parse_long(const char *s, long *out) {
    char *end;
    *out = strtol(s, &end, 10);
    return *s && !*end ? 0 : -1;
}

#define EL_MAX_SEGMENTS 256

typedef struct args {
    const char *cmd, *model, *tokenizer, *text, *prompt;
    long offset, max_chars, max_tokens, steps;
    double temperature;
    unsigned long long seed;
    int json;
    el_qopts q;
    int use_plan;
    el_plan_opts plan;
    const char *policy_name;
    const char *fixed_tokens; /* bench: comma-separated ids */
    const char *token_file;   /* ppl: the evaluation tokens, little-endian uint32 ids */
    int act_f32;              /* --act f32: weight-only (float activations) */
    long segments[EL_MAX_SEGMENTS];
    int n_segments; /* 0: one segment at --offset */
} args;

static int parse_args(int argc, char **argv, args *a) {
    memset(a, 0, sizeof(*a));
    a->max_chars = -1;
    a->prompt = "Once upon a time";
    a->steps = 100;
    a->q.bits = 8;
    a->q.group = 0;
    a->q.calib_tokens = 20000;
    a->q.prune = EL_PRUNE_NONE;
    a->plan.verbose = 1;
    for (int l = 0; l < EL_MAX_LAYERS; l++)
        a->q.layer_alpha[l] = -1.0;
    if (argc < 3) return -1;
    a->cmd = argv[1];
    a->model = argv[2];
    int prune_given = 0;
    for (int i = 3; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
        long n;
        if (!strcmp(o, "--json")) {
            a->json = 1;
            continue;
        }
        if (!strcmp(o, "--storage")) {
            a->plan.storage = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "dc-llama: %s needs a value\n", o);
            return -1;
        }
        i++;
        if (!strcmp(o, "--tokenizer")) {
            a->tokenizer = v;
        } else if (!strcmp(o, "--max-memory")) {
            uint64_t lim;
            if (dcx_parse_bytes(v, &lim) != 0) {
                fprintf(stderr, "dc-llama: bad --max-memory %s (want BYTES, e.g. 512M, 8G)\n", v);
                return -1;
            }
            el_max_memory = v;
        } else if (!strcmp(o, "--text")) {
            a->text = v;
        } else if (!strcmp(o, "--prompt")) {
            a->prompt = v;
        } else if (!strcmp(o, "--offset") && !parse_long(v, &n) && n >= 0) {
            a->offset = n;
        } else if (!strcmp(o, "--max-chars") && !parse_long(v, &n) && n >= 0) {
            a->max_chars = n;
        } else if (!strcmp(o, "--max-tokens") && !parse_long(v, &n) && n >= 2) {
            a->max_tokens = n;
        } else if (!strcmp(o, "-n") && !parse_long(v, &n) && n >= 0) {
            a->steps = n;
        } else if (!strcmp(o, "--temperature") && !parse_double(v, &d) && d >= 0) {
            a->temperature = d;
        } else if (!strcmp(o, "--seed") && !parse_long(v, &n)) {
            a->seed = (unsigned long long)n;
        } else if (!strcmp(o, "--bits") && !parse_long(v, &n) && (n == 8 || n == 4)) {
            a->q.bits = (int)n;
            a->q.quantize = 1;
        } else if (!strcmp(o, "--qmax") && !parse_long(v, &n) && n >= 1 && n <= 127) {
            a->q.qmax = (unsigned)n;
            a->q.quantize = 1;
        } else if (!strcmp(o, "--quant")) {
            a->q.quantize = 1;
            if (el_ref_parse(v) != EL_REF_NONE) {
                a->q.ref = el_ref_parse(v);
            } else if (!strcmp(v, "tensor")) {
                a->q.gran = EL_GRAN_TENSOR;
            } else if (!strcmp(v, "channel")) {
                a->q.gran = EL_GRAN_CHANNEL;
            } else if (!strncmp(v, "group:", 6) && !parse_long(v + 6, &n) && n >= 1) {
                a->q.gran = EL_GRAN_GROUP;
                a->q.group = (int)n;
            } else {
                fprintf(stderr, "dc-llama: bad --quant %s\n", v);
                return -1;
            }
        } else if (!strcmp(o, "--alpha") && !parse_double(v, &d) && d >= 0 && d <= 1) {
            a->q.alpha = d;
            a->q.use_alpha = d > 0; /* 0: no scaling, as in dcz compress */
            a->q.quantize = 1;
        } else if (!strcmp(o, "--layer-alpha")) {
            const char *s = v;
            for (int l = 0; *s && l < EL_MAX_LAYERS; l++) {
                char *end;
                d = strtod(s, &end);
                if (end == s || d < 0 || d > 1) {
                    fprintf(stderr, "dc-llama: bad --layer-alpha %s\n", v);
                    return -1;
                }
                a->q.layer_alpha[l] = d;
                s = *end == ',' ? end + 1 : end;
            }
            a->q.use_alpha = 1;
            a->q.quantize = 1;
        } else if (!strcmp(o, "--sparsity") && !parse_double(v, &d) && d >= 0 && d < 1) {
            a->q.sparsity = d;
            a->q.quantize = 1;
        } else if (!strcmp(o, "--prune")) {
            prune_given = 1;
            a->q.quantize = 1;
            if (!strcmp(v, "dc")) {
                a->q.prune = EL_PRUNE_DC;
            } else if (!strcmp(v, "wanda")) {
                a->q.prune = EL_PRUNE_WANDA;
            } else if (!strcmp(v, "magnitude")) {
                a->q.prune = EL_PRUNE_MAGNITUDE;
            } else {
                fprintf(stderr, "dc-llama: bad --prune %s\n", v);
                return -1;
            }
        } else if (!strcmp(o, "--prune-group")) {
            if (!strcmp(v, "row")) {
                a->q.prune_group = 0;
            } else if (!strcmp(v, "tensor")) {
                a->q.prune_group = -1;
            } else {
                fprintf(stderr, "dc-llama: bad --prune-group %s\n", v);
                return -1;
            }
        } else if (!strcmp(o, "--policy")) {
            a->use_plan = 1;
            a->policy_name = v;
            if (!strcmp(v, "all-resident")) {
                a->plan.kind = EL_PLAN_ALL_RESIDENT;
            } else if (!strcmp(v, "all-compressed")) {
                a->plan.kind = EL_PLAN_ALL_COMPRESSED;
            } else if (!strcmp(v, "all-streamed")) {
                a->plan.kind = EL_PLAN_ALL_STREAMED;
            } else if (!strncmp(v, "every-N:", 8) && !parse_long(v + 8, &n) && n >= 1 &&
                       n < (1L << 30)) {
                a->plan.kind = EL_PLAN_EVERY_N;
                a->plan.every_n = (int)n;
            } else {
                fprintf(stderr, "dc-llama: bad --policy %s\n", v);
                return -1;
            }
        } else if (!strcmp(o, "--latency-budget") && !parse_double(v, &d) && d > 0) {
            a->use_plan = 1;
            a->policy_name = "planner-latency";
            a->plan.kind = EL_PLAN_LATENCY;
            a->plan.budget = d;
        } else if (!strcmp(o, "--memory-budget")) {
            size_t vl = strlen(v);
            char num[64];
            if (vl == 0 || vl >= sizeof num) {
                fprintf(stderr, "dc-llama: bad --memory-budget %s\n", v);
                return -1;
            }
            memcpy(num, v, vl + 1);
            int pct = num[vl - 1] == '%';
            if (pct) num[vl - 1] = 0;
            if (parse_double(num, &d) != 0 || d <= 0 || (pct && d > 1000)) {
                fprintf(stderr, "dc-llama: bad --memory-budget %s\n", v);
                return -1;
            }
            a->use_plan = 1;
            a->policy_name = "planner-memory";
            a->plan.kind = EL_PLAN_MEMORY;
            a->plan.budget = pct ? 0 : d;
            a->plan.budget_frac = pct ? d / 100.0 : 0;
        } else if (!strcmp(o, "--compute-rate") && !parse_double(v, &d) && d > 0) {
            a->plan.compute_rate = d;
        } else if (!strcmp(o, "--host-bandwidth") && !parse_double(v, &d) && d > 0) {
            a->plan.host_bw = d;
        } else if (!strcmp(o, "--decode-rate") && !parse_double(v, &d) && d > 0) {
            a->plan.decode_rate = d;
        } else if (!strcmp(o, "--prefetch") && !parse_long(v, &n) && n >= 0 && n <= 64) {
            a->plan.prefetch = (int)n;
        } else if (!strcmp(o, "--threads") && !parse_long(v, &n) && n >= 0 && n <= 64) {
            a->plan.threads = (int)n;
        } else if (!strcmp(o, "--read-ahead") && !parse_long(v, &n) && n >= 1 && n <= 4096) {
            a->plan.read_ahead = (int)n;
        } else if (!strcmp(o, "--io-threads") && !parse_long(v, &n) && n >= 1 && n <= 64) {
            a->plan.io_threads = (int)n;
        } else if (!strcmp(o, "--storage-bandwidth") && !parse_double(v, &d) && d > 0) {
            a->plan.storage_bw = d;
        } else if (!strcmp(o, "--read-cost") && !parse_double(v, &d) && d >= 0) {
            a->plan.read_cost = d * 1e-9; /* core-ns per byte read */
        } else if (!strcmp(o, "--tokens")) {
            a->fixed_tokens = v;
        } else if (!strcmp(o, "--grid")) {
            a->q.quantize = 1;
            if (!strcmp(v, "full")) {
                a->q.qflags |= DC_QUANT_FULL_GRID;
            } else if (!strcmp(v, "sym")) {
                a->q.qflags &= ~DC_QUANT_FULL_GRID;
            } else {
                fprintf(stderr, "dc-llama: bad --grid %s (sym or full)\n", v);
                return -1;
            }
        } else if (!strcmp(o, "--scales")) {
            a->q.quantize = 1;
            if (!strcmp(v, "f16")) {
                a->q.qflags |= DC_QUANT_F16_SCALES;
            } else if (!strcmp(v, "f32")) {
                a->q.qflags &= ~DC_QUANT_F16_SCALES;
            } else {
                fprintf(stderr, "dc-llama: bad --scales %s (f32 or f16)\n", v);
                return -1;
            }
        } else if (!strcmp(o, "--gptq")) {
            a->q.quantize = 1;
            if (!strcmp(v, "on")) {
                a->q.gptq = 1;
            } else if (!strcmp(v, "off")) {
                a->q.gptq = 0;
            } else {
                fprintf(stderr, "dc-llama: bad --gptq %s (on or off)\n", v);
                return -1;
            }
        } else if (!strcmp(o, "--scale-mantissa") && !parse_long(v, &n) && n >= 1 && n <= 10) {
            a->q.scale_mantissa = (int)n;
            a->q.quantize = 1;
        } else if (!strcmp(o, "--scale-inputs")) {
            a->q.quantize = 1;
            if (!strcmp(v, "folded")) {
                a->q.fold_only = 1;
            } else if (!strcmp(v, "all")) {
                a->q.fold_only = 0;
            } else {
                fprintf(stderr, "dc-llama: bad --scale-inputs %s (all or folded)\n", v);
                return -1;
            }
        } else if (!strcmp(o, "--act")) {
            if (!strcmp(v, "f32")) {
                a->act_f32 = 1;
            } else if (!strcmp(v, "int8")) {
                a->act_f32 = 0;
            } else {
                fprintf(stderr, "dc-llama: bad --act %s (int8 or f32)\n", v);
                return -1;
            }
        } else if (!strcmp(o, "--segments")) {
            a->n_segments = 0;
            for (const char *s = v; *s;) {
                char *end;
                long off = strtol(s, &end, 10);
                if (end == s || off < 0 || a->n_segments >= EL_MAX_SEGMENTS ||
                    (*end && *end != ',')) {
                    fprintf(stderr, "dc-llama: bad --segments %s\n", v);
                    return -1;
                }
                a->segments[a->n_segments++] = off;
                s = *end ? end + 1 : end;
            }
            if (a->n_segments == 0) {
                fprintf(stderr, "dc-llama: bad --segments %s\n", v);
                return -1;
            }
        } else if (!strcmp(o, "--token-file")) {
            a->token_file = v;
        } else if (!strcmp(o, "--calib-text")) {
            a->q.calib_path = v;
        } else if (!strcmp(o, "--calib-tokens") && !parse_long(v, &n) && n >= 1) {
            a->q.calib_tokens = (int)n;
        } else if (!strcmp(o, "--calib-offset") && !parse_long(v, &n) && n >= 0) {
            a->q.calib_offset = n;
        } else {
            fprintf(stderr, "dc-llama: bad option %s %s\n", o, v);
            return -1;
        }
    }
    if (a->q.sparsity > 0 && !prune_given) a->q.prune = EL_PRUNE_DC;
    if (a->q.scale_mantissa && !a->q.gptq) {
        fprintf(stderr, "dc-llama: --scale-mantissa needs --gptq on\n");
        return -1;
    }
    if (a->q.ref == EL_REF_Q4_K && !a->act_f32) {
        fprintf(stderr, "dc-llama: --quant q4_k runs weight-only: add --act f32\n");
        return -1;
    }
    if (a->q.ref != EL_REF_NONE && (a->q.bits != 8 || a->q.qmax || a->q.qflags)) {
        fprintf(stderr, "dc-llama: --quant %s fixes the bits, grid and scales\n",
                el_ref_name(a->q.ref));
        return -1;
    }
    if (a->plan.storage && !a->use_plan) { /* --storage alone: stream every chunk */
        a->use_plan = 1;
        a->policy_name = "all-streamed";
        a->plan.kind = EL_PLAN_ALL_STREAMED;
    }
    if (a->plan.kind == EL_PLAN_ALL_STREAMED && !a->plan.storage) {
        fprintf(stderr, "dc-llama: --policy all-streamed needs --storage\n");
        return -1;
    }
    if (!a->tokenizer && el_tokenizer_in_model(a->model)) a->tokenizer = a->model; /* GGUF */
    /* ppl --token-file evaluates given ids: no tokenizer (none in llama2.c format);
     * calibration still tokenizes its text */
    const int ids_only = a->token_file && !strcmp(a->cmd, "ppl") && !a->q.calib_path;
    if (!a->tokenizer && strcmp(a->cmd, "bench") != 0 && !ids_only) {
        fprintf(stderr, "dc-llama: --tokenizer is required\n");
        return -1;
    }
    return 0;
}

static const char *gran_name(const el_qopts *q, char *buf, size_t cap) {
    if (q->ref != EL_REF_NONE) return el_ref_name(q->ref);
    if (q->gran == EL_GRAN_TENSOR) return "tensor";
    if (q->gran == EL_GRAN_CHANNEL) return "channel";
    snprintf(buf, cap, "group:%d", q->group);
    return buf;
}

static const char *prune_name(el_prune_method p) {
    switch (p) {
    case EL_PRUNE_DC:
        return "dc";
    case EL_PRUNE_WANDA:
        return "wanda";
    case EL_PRUNE_MAGNITUDE:
        return "magnitude";
    default:
        return "none";
    }
}

/* log-softmax of logits at index `target`, in double */
static double nll_at(const float *logits, int n, int target) {
    float mx = logits[0];
    for (int i = 1; i < n; i++)
        if (logits[i] > mx) mx = logits[i];
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += exp((double)logits[i] - mx);
    return log(s) + mx - (double)logits[target];
}

/* --token-file: the text's token ids (no BOS), little-endian uint32, each
 * below the vocabulary size (a model whose tokenizer is not in llama2.c
 * format). NULL after a message on error. */
static int *read_token_file(const char *path, int vocab, int *n_tok) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dc-llama: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    int *t = malloc(cap * sizeof(int));
    unsigned char b[4];
    while (t && fread(b, 1, 4, f) == 4) {
        uint32_t id =
            (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        if (id >= (uint32_t)vocab || n >= (size_t)INT32_MAX) {
            fprintf(stderr, "dc-llama: %s: token %zu is %u, not below the vocabulary size %d\n",
                    path, n, id, vocab);
            free(t), fclose(f);
            return NULL;
        }
        if (n == cap) {
            int *nt = realloc(t, 2 * cap * sizeof(int));
            if (!nt) free(t);
            t = nt, cap *= 2;
            if (!t) break;
        }
        t[n++] = (int)id;
    }
    int trailing = !feof(f) || ferror(f) || (ftell(f) % 4) != 0;
    fclose(f);
    if (t && trailing) {
        fprintf(stderr, "dc-llama: %s: not a whole number of 4-byte token ids\n", path);
        free(t);
        return NULL;
    }
    if (!t) fprintf(stderr, "dc-llama: out of memory\n");
    *n_tok = (int)n;
    return t;
}

/* Runs toks[0..n_tok) in windows of [BOS] + up to seq_len-1 tokens and adds
 * every predicted token's NLL to *nll. 0 or -1. */
static int eval_windows(el_model *m, const int *toks, int n_tok, double *nll, long *predicted,
                        int *windows) {
    const int S = m->cfg.seq_len, V = m->cfg.vocab_size;
    float *logits = malloc((size_t)S * V * sizeof(float));
    int *win = malloc((size_t)S * sizeof(int));
    if (!logits || !win) {
        fprintf(stderr, "dc-llama: out of memory\n");
        free(logits), free(win);
        return -1;
    }
    for (int start = 0; start < n_tok; start += S - 1) {
        int cnt = n_tok - start < S - 1 ? n_tok - start : S - 1;
        win[0] = EL_TOK_BOS;
        memcpy(win + 1, toks + start, (size_t)cnt * sizeof(int));
        if (el_forward(m, win, cnt + 1, 0, logits) != 0) {
            fprintf(stderr, "dc-llama: forward failed\n");
            free(logits), free(win);
            return -1;
        }
        for (int r = 0; r < cnt; r++)
            *nll += nll_at(logits + (size_t)r * V, V, win[r + 1]);
        *predicted += cnt;
        (*windows)++;
    }
    free(logits);
    free(win);
    return 0;
}

typedef struct seg_result {
    long offset;
    size_t chars; /* characters of the text its tokens cover (0 for --token-file) */
    long tokens;
    double nll; /* sum over its predicted tokens */
} seg_result;

/* Encodes and evaluates one segment of the text from `offset` (or the token
 * file). Checks it against the calibration range. 0 or -1. */
static int eval_segment(el_model *m, const el_tokenizer *tk, const args *a, const el_qreport *rep,
                        long offset, seg_result *res, int *windows) {
    int n_tok;
    int *toks;
    memset(res, 0, sizeof *res);
    res->offset = offset;
    if (a->token_file) {
        if (!(toks = read_token_file(a->token_file, m->cfg.vocab_size, &n_tok))) return -1;
    } else {
        /* tok512 averages ~2-3 bytes per token: read generously, then cap tokens
         * (merges are local, so the cut far beyond the last kept token cannot
         * change it) */
        long want = a->max_chars;
        if (want < 0 && a->max_tokens > 0) want = a->max_tokens * 16 + 4096;
        size_t len;
        char *text = el_read_text(a->text, offset, want, &len);
        if (!text) return -1;
        toks = el_tokenizer_encode(tk, text, len, 0, &n_tok);
        free(text);
    }
    if (!toks) {
        fprintf(stderr, "dc-llama: encoding failed\n");
        return -1;
    }
    if (a->max_tokens > 0 && n_tok > a->max_tokens - 1) n_tok = (int)a->max_tokens - 1;
    if (!a->token_file) {
        res->chars = el_tokenizer_chars(tk, toks, n_tok);
        /* the calibration used [c0, c1) of the same file: no evaluated
         * character may fall inside it */
        long c0 = a->q.calib_offset, c1 = c0 + (long)rep->calib_chars;
        long e0 = offset, e1 = offset + (long)res->chars;
        if (rep->calib_chars && a->q.calib_path && !strcmp(a->q.calib_path, a->text) && e0 < c1 &&
            c0 < e1)
            fprintf(stderr,
                    "dc-llama: WARNING: calibration text [%ld, %ld) overlaps the evaluation "
                    "text [%ld, %ld)\n",
                    c0, c1, e0, e1);
    }
    int rc = eval_windows(m, toks, n_tok, &res->nll, &res->tokens, windows);
    free(toks);
    return rc;
}

static int cmd_ppl(el_model *m, const el_tokenizer *tk, const args *a, const el_qreport *rep) {
    if (!a->text && !a->token_file) {
        fprintf(stderr, "dc-llama: ppl needs --text (or --token-file)\n");
        return 1;
    }
    if (a->token_file && a->n_segments) {
        fprintf(stderr, "dc-llama: --segments needs --text\n");
        return 1;
    }
    const int n_seg = a->n_segments ? a->n_segments : 1;
    seg_result *seg = calloc((size_t)n_seg, sizeof *seg);
    if (!seg) {
        fprintf(stderr, "dc-llama: out of memory\n");
        return 1;
    }
    double nll = 0.0;
    long predicted = 0;
    int windows = 0;
    for (int i = 0; i < n_seg; i++) {
        if (eval_segment(m, tk, a, rep, a->n_segments ? a->segments[i] : a->offset, &seg[i],
                         &windows) != 0) {
            free(seg);
            return 1;
        }
        nll += seg[i].nll;
        predicted += seg[i].tokens;
    }
    if (predicted == 0) {
        fprintf(stderr, "dc-llama: no tokens to predict\n");
        free(seg);
        return 1;
    }
    double mean = nll / (double)predicted;
    double ppl = exp(mean);
    const el_qopts *q = &a->q;
    const char *act = a->act_f32 ? "f32" : "int8";
    char gb[32], alpha_s[32];
    if (q->use_alpha)
        snprintf(alpha_s, sizeof alpha_s, "%.4f", q->alpha);
    else
        snprintf(alpha_s, sizeof alpha_s, "null");
    if (q->quantize) {
        double cr = rep->entropy_bits > 0 ? q->bits / rep->entropy_bits : 0.0;
        /* every stored byte of the linear weights: chunks, scales, smoothing vectors */
        double bpw =
            !rep->n_weights ? 0.0
            : q->ref        ? 8.0 * (double)rep->ref_bytes / (double)rep->n_weights
                     : 8.0 * (double)(rep->ans_bytes + rep->side_bytes) / (double)rep->n_weights;
        /* the coded weights against their order-0 bound (1 = at the bound) */
        double eff = rep->ans_bytes ? rep->bound_bytes / (double)rep->ans_bytes : 0.0;
        printf("ppl %.4f  nll %.5f  tokens %ld  windows %d  W%dA%s %s alpha %s sparsity %.3f "
               "prune %s  entropy %.4f bits/weight  zeros %.4f  CR %.4f  ANS CR %.4f  bpw %.4f\n",
               ppl, mean, predicted, windows, q->bits, a->act_f32 ? "32" : "8",
               gran_name(q, gb, sizeof gb), q->use_alpha ? "on" : "off", q->sparsity,
               prune_name(q->prune), rep->entropy_bits, rep->zero_fraction, cr,
               rep->ans_bytes ? (double)rep->n_weights * q->bits / 8.0 / (double)rep->ans_bytes
                              : 0.0,
               bpw);
        if (a->json) {
            printf("{\"ppl\": %.6f, \"nll\": %.6f, \"tokens\": %ld, \"windows\": %d, \"bits\": %d, "
                   "\"act\": \"%s\", \"act_bits\": %d, \"qmax\": %u, \"quant\": \"%s\", "
                   "\"alpha\": %s, \"sparsity\": %.4f, "
                   "\"prune\": \"%s\", \"prune_fraction\": %.6f, \"n_weights\": %zu, "
                   "\"entropy_bits_per_weight\": %.6f, \"zero_fraction\": %.6f, \"cr\": %.6f, "
                   "\"ans_bytes\": %zu, \"side_bytes\": %zu, \"bpw\": %.6f, \"cr_ans\": %.6f, "
                   "\"calib_tokens\": %zu, \"calib_chars\": %zu, \"calib_offset\": %ld, "
                   "\"grid\": \"%s\", \"scales\": \"%s\", \"gptq\": %d, \"ref_bytes\": %zu, "
                   "\"coding_efficiency\": %.6f, \"ans_bytes_packed\": %zu",
                   ppl, mean, predicted, windows, q->bits, act, a->act_f32 ? 32 : 8,
                   q->qmax ? q->qmax : (q->bits == 8 ? 127u : 7u), gran_name(q, gb, sizeof gb),
                   alpha_s, q->sparsity, prune_name(q->prune), rep->prune_fraction, rep->n_weights,
                   rep->entropy_bits, rep->zero_fraction, cr, rep->ans_bytes, rep->side_bytes, bpw,
                   rep->ans_bytes ? (double)rep->n_weights * q->bits / 8.0 / (double)rep->ans_bytes
                                  : 0.0,
                   rep->calib_tokens, rep->calib_chars, q->calib_offset,
                   (q->qflags & DC_QUANT_FULL_GRID) ? "full" : "sym",
                   (q->qflags & DC_QUANT_F16_SCALES) ? "f16" : "f32", q->gptq, rep->ref_bytes, eff,
                   rep->packed_bytes);
        }
    } else {
        printf("ppl %.4f  nll %.5f  tokens %ld  windows %d  FP32\n", ppl, mean, predicted, windows);
        if (a->json)
            printf("{\"ppl\": %.6f, \"nll\": %.6f, \"tokens\": %ld, \"windows\": %d, \"bits\": 32",
                   ppl, mean, predicted, windows);
    }
    if (a->json) {
        printf(", \"segments\": [");
        for (int i = 0; i < n_seg; i++)
            printf("%s{\"offset\": %ld, \"chars\": %zu, \"tokens\": %ld, \"nll_sum\": %.9f}",
                   i ? ", " : "", seg[i].offset, seg[i].chars, seg[i].tokens, seg[i].nll);
        printf("]}\n");
    }
    free(seg);
    return 0;
}

static int cmd_generate(el_model *m, const el_tokenizer *tk, const args *a) {
    int n_tok;
    int *toks = el_tokenizer_encode(tk, a->prompt, strlen(a->prompt), 1, &n_tok);
    if (!toks) {
        fprintf(stderr, "dc-llama: encoding failed\n");
        return 1;
    }
    const int S = m->cfg.seq_len, V = m->cfg.vocab_size;
    float *logits = malloc((size_t)S * V * sizeof(float));
    if (n_tok > S) n_tok = S;
    /* run the prompt as one block, then one token at a time */
    if (!logits || el_forward(m, toks, n_tok, 0, logits) != 0) {
        fprintf(stderr, "dc-llama: %s\n", logits ? "forward failed" : "out of memory");
        free(logits), free(toks);
        return 1;
    }
    const float *last = logits + (size_t)(n_tok - 1) * V;
    char buf[64];
    int prev = EL_TOK_BOS;
    for (int i = 1; i < n_tok; i++) {
        el_tokenizer_decode(tk, prev, toks[i], buf, sizeof buf);
        fputs(buf, stdout);
        prev = toks[i];
    }
    unsigned long long rng = a->seed ? a->seed : 0x9E3779B97F4A7C15ull;
    int pos = n_tok;
    for (long s = 0; s < a->steps && pos < S; s++) {
        int next = 0;
        if (a->temperature <= 0) {
            for (int i = 1; i < V; i++)
                if (last[i] > last[next]) next = i;
        } else {
            /* softmax sampling with a xorshift generator */
            double mx = last[0], sum = 0.0;
            for (int i = 1; i < V; i++)
                if (last[i] > mx) mx = last[i];
            for (int i = 0; i < V; i++)
                sum += exp((last[i] - mx) / a->temperature);
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            double u = (double)(rng >> 11) / 9007199254740992.0 * sum, acc = 0.0;
            next = V - 1;
            for (int i = 0; i < V; i++) {
                acc += exp((last[i] - mx) / a->temperature);
                if (acc > u) {
                    next = i;
                    break;
                }
            }
        }
        if (next == EL_TOK_BOS || next == EL_TOK_EOS) break;
        el_tokenizer_decode(tk, prev, next, buf, sizeof buf);
        fputs(buf, stdout);
        fflush(stdout);
        prev = next;
        if (el_forward(m, &next, 1, pos, logits) != 0) {
            fprintf(stderr, "dc-llama: forward failed\n");
            free(logits), free(toks);
            return 1;
        }
        last = logits;
        pos++;
    }
    fputc('\n', stdout);
    free(logits);
    free(toks);
    return 0;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001B3ull;
    }
    return h;
}

/* Times T one-token steps (greedy from BOS, or a fixed token sequence) and
 * prints one JSON line. */
static int cmd_bench(el_model *m, const args *a) {
    const int S = m->cfg.seq_len, V = m->cfg.vocab_size;
    int T = (int)(a->steps < S ? a->steps : S);
    int *fixed = NULL, n_fixed = 0;
    if (a->fixed_tokens) {
        fixed = malloc((strlen(a->fixed_tokens) / 2 + 2) * sizeof(int));
        if (!fixed) return 1;
        for (const char *q = a->fixed_tokens; *q;) {
            char *end;
            long id = strtol(q, &end, 10);
            if (end == q || id < 0 || id >= V) {
                fprintf(stderr, "dc-llama: bad --tokens %s\n", a->fixed_tokens);
                free(fixed);
                return 2;
            }
            fixed[n_fixed++] = (int)id;
            q = *end == ',' ? end + 1 : end;
        }
        if (n_fixed < T) T = n_fixed;
    }
    if (T < 1) {
        fprintf(stderr, "dc-llama: bench needs at least one step\n");
        free(fixed);
        return 2;
    }
    float *logits = malloc((size_t)V * sizeof(float));
    double *step = malloc((size_t)T * sizeof(double));
    int *toks = malloc((size_t)T * sizeof(int));
    if (!logits || !step || !toks) {
        fprintf(stderr, "dc-llama: out of memory\n");
        free(logits), free(step), free(toks), free(fixed);
        return 1;
    }
    el_plan_reset_counters(m);
    uint64_t hl = 0xCBF29CE484222325ull, ht = 0xCBF29CE484222325ull;
    int tok = fixed ? fixed[0] : EL_TOK_BOS;
    double total0 = el_now();
    for (int i = 0; i < T; i++) {
        double t0 = el_now();
        if (el_forward(m, &tok, 1, i, logits) != 0) {
            fprintf(stderr, "dc-llama: forward failed\n");
            free(logits), free(step), free(toks), free(fixed);
            return 1;
        }
        step[i] = el_now() - t0;
        hl = fnv1a(hl, logits, (size_t)V * sizeof(float));
        int next = 0;
        for (int k = 1; k < V; k++)
            if (logits[k] > logits[next]) next = k;
        toks[i] = next;
        ht = fnv1a(ht, &next, sizeof next);
        tok = fixed ? (i + 1 < T ? fixed[i + 1] : 0) : next;
    }
    double total = el_now() - total0;
    el_plan_stats ps;
    el_plan_get_stats(m, &ps);
    qsort(step, (size_t)T, sizeof(double), cmp_double);
    const double med = T % 2 ? step[T / 2] : 0.5 * (step[T / 2 - 1] + step[T / 2]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const double dec_s = ps.decode_s / T, comp_s = ps.compute_s / T, wait_s = ps.wait_s / T;
    /* on the compute thread: decode (or, with prefetch, waiting for the
     * decoder thread), compute of the linears, and the rest */
    const double other_s = total / T - (ps.prefetch ? wait_s : dec_s) - comp_s;
    const double read_s = ps.read_s / T;
    /* the planner's constants as this run measures them: I from an
     * all-resident step (S/B + S/I = median step per weight byte), D from the
     * decode time of the compressed chunks */
    const double wb = (double)ps.int8_bytes;
    const double ir = ps.host_bw > 0 && med > wb / ps.host_bw ? wb / (med - wb / ps.host_bw) : 0;
    const double dr = ps.decode_s > 0 ? (double)ps.compressed_raw * T / ps.decode_s : 0;
    char budget[64] = "null";
    if (a->use_plan && (a->plan.kind == EL_PLAN_LATENCY || a->plan.kind == EL_PLAN_MEMORY)) {
        if (a->plan.kind == EL_PLAN_LATENCY)
            snprintf(budget, sizeof budget, "%.6g", a->plan.budget);
        else
            snprintf(budget, sizeof budget, "%.0f", ps.budget);
    }
    fprintf(stderr, "dc-llama: tokens:");
    for (int i = 0; i < T && i < 16; i++)
        fprintf(stderr, " %d", toks[i]);
    fprintf(stderr, "%s\n", T > 16 ? " ..." : "");
    printf("{\"policy\": \"%s\", \"every_n\": %d, \"budget\": %s, \"budget_factor\": %.6g, "
           "\"steps\": %d, \"tokens_per_s\": %.4f, \"median_step_s\": %.6f, "
           "\"mean_step_s\": %.6f, \"predicted_step_s\": %.6f, \"predicted_error\": %.4f, "
           "\"predicted_all_resident_step_s\": %.6f, \"peak_rss_bytes\": %lld, "
           "\"int8_bytes\": %llu, \"weight_raw_bytes\": %llu, \"weight_compressed_bytes\": %llu, "
           "\"buffer_bytes\": %llu, \"accounted_weight_bytes\": %llu, \"chunks\": %zu, "
           "\"compressed_chunks\": %zu, \"decode_s_per_step\": %.6f, "
           "\"compute_s_per_step\": %.6f, \"other_s_per_step\": %.6f, \"decodes_per_step\": %.1f, "
           "\"prefetch\": %d, \"wait_s_per_step\": %.6f, \"predicted_sequential_step_s\": %.6f, "
           "\"predicted_pipelined_step_s\": %.6f, \"predicted_threaded_step_s\": %.6f, "
           "\"host_bandwidth\": %.6g, \"compute_rate\": %.6g, \"decode_rate\": %.6g, "
           "\"measured_compute_rate\": %.6g, \"measured_decode_rate\": %.6g, \"load_s\": %.3f, "
           "\"tok_s\": %.4f, \"measured_ms\": %.3f, \"predicted_ms\": %.3f, \"threads\": %d, "
           "\"io_threads\": %d, \"cores\": %d, \"storage\": %d, \"direct_io\": %d, "
           "\"storage_bandwidth\": %.6g, \"read_cost_ns_per_byte\": %.6g, "
           "\"streamed_chunks\": %zu, \"streamed_bytes\": %llu, "
           "\"read_buffer_bytes\": %llu, \"bytes_read_per_token\": %.0f, "
           "\"read_s_per_step\": %.6f, "
           "\"tokens_hash\": \"%016llx\", \"logits_hash\": \"%016llx\"}\n",
           a->use_plan ? a->policy_name : "none",
           a->use_plan && a->plan.kind == EL_PLAN_EVERY_N ? a->plan.every_n : 0, budget,
           ps.predicted_raw_step_s > 0 ? ps.predicted_step_s / ps.predicted_raw_step_s : 0.0, T,
           (double)T / total, med, total / T, ps.predicted_step_s,
           med > 0 && ps.predicted_step_s > 0 ? (ps.predicted_step_s - med) / med : 0.0,
           ps.predicted_raw_step_s, (long long)ru.ru_maxrss * 1024LL,
           (unsigned long long)ps.int8_bytes, (unsigned long long)ps.raw_bytes,
           (unsigned long long)ps.compressed_bytes, (unsigned long long)ps.buffer_bytes,
           (unsigned long long)(ps.raw_bytes + ps.compressed_bytes + ps.buffer_bytes), ps.chunks,
           ps.compressed_chunks, dec_s, comp_s, other_s, (double)ps.decodes / T, ps.prefetch,
           wait_s, ps.predicted_seq_step_s, ps.predicted_pipe_step_s, ps.predicted_threaded_step_s,
           ps.host_bw, ps.compute_rate, ps.decode_rate_chunk, ir, dr, ps.load_s, (double)T / total,
           1e3 * med, 1e3 * ps.predicted_step_s, ps.threads, ps.io_threads, ps.cores,
           a->plan.storage, ps.direct_io, ps.storage_bw,
           a->plan.storage ? 1e9 * a->plan.read_cost : 0.0, ps.streamed_chunks,
           (unsigned long long)ps.streamed_bytes, (unsigned long long)ps.read_buffer_bytes,
           (double)ps.bytes_read / T, read_s, (unsigned long long)ht, (unsigned long long)hl);
    free(logits), free(step), free(toks), free(fixed);
    return 0;
}

int main(int argc, char **argv) {
    args a;
    char **xargv = NULL;
    const char *bad_preset = NULL;
    if (dcx_preset_expand(argc, argv, &argc, &xargv, &bad_preset) != 0) {
        fprintf(stderr, "dc-llama: %s%s\n",
                bad_preset ? "unknown --preset " : "--preset needs a name",
                bad_preset ? bad_preset : "");
        usage();
        return 2;
    }
    argv = xargv;
    int prc = parse_args(argc, argv, &a);
    if (prc == 0 && a.act_f32 && a.use_plan) {
        fprintf(stderr, "dc-llama: --act f32 runs without a plan (plans compute in int8)\n");
        prc = -1;
    }
    if (prc != 0) {
        free(xargv);
        usage();
        return 2;
    }

    el_model m;
    el_qreport rep;
    memset(&rep, 0, sizeof rep);
    size_t mlen = strlen(a.model);
    const int from_dcz = mlen > 4 && !strcmp(a.model + mlen - 4, ".dcz");
    if (from_dcz) {
        /* Already quantized (and scaled/pruned) by dcz compress: run it as stored. */
        if (a.q.quantize) {
            fprintf(stderr, "dc-llama: %s is already quantized; drop the quantization options\n",
                    a.model);
            free(xargv);
            return 2;
        }
        /* one open of the file: the loaders also fill a.q from what it holds */
        if (a.use_plan) {
            if (el_model_load_dcz_plan(&m, a.model, &a.plan, &a.q) != 0) return free(xargv), 1;
        } else if (el_model_load_dcz(&m, a.model, &rep, &a.q) != 0) {
            return free(xargv), 1;
        }
    } else if (a.use_plan) {
        fprintf(stderr, "dc-llama: plans need a .dcz model (dcz compress MODEL.bin -o M.dcz)\n");
        return free(xargv), 2;
    } else if (el_model_load(&m, a.model) != 0) {
        return free(xargv), 1;
    }
    el_tokenizer tk;
    memset(&tk, 0, sizeof tk);
    int rc;
    /* every error return below frees the model and the tokenizer */
    if (a.tokenizer && el_tokenizer_load(&tk, a.tokenizer, m.cfg.vocab_size) != 0) {
        rc = 1;
        goto done;
    }

    if (a.q.quantize && !from_dcz) {
        if (!a.q.calib_path) a.q.calib_path = a.text;
        /* as dcz compress quantizes a GGUF: binary16 scales, 1/s only in norms */
        if (el_tokenizer_in_model(a.model)) el_qopts_for_gguf(&a.q);
        if (el_pipeline_apply(&m, &tk, &a.q, &rep) != 0) {
            rc = 1;
            goto done;
        }
    }
    if (a.act_f32) el_model_set_act_f32(&m);
    if (!strcmp(a.cmd, "ppl")) {
        rc = cmd_ppl(&m, &tk, &a, &rep);
    } else if (!strcmp(a.cmd, "generate")) {
        rc = cmd_generate(&m, &tk, &a);
    } else if (!strcmp(a.cmd, "bench")) {
        rc = cmd_bench(&m, &a);
    } else {
        usage();
        rc = 2;
    }
done:
    el_tokenizer_free(&tk); /* a no-op when not loaded (all zero) */
    el_model_free(&m);
    free(xargv);
    return rc;
}
