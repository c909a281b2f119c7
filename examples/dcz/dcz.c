/*
 * dcz.c -- the libdoublecomp command line: compress a model into a .dcz
 * file, inspect it, verify it, and extract the quantized weights.
 *
 * Exit codes: 0 success; 1 usage error; 2 the input is damaged or invalid
 * (verify failed, corrupt file, unsupported model); 3 I/O error (cannot
 * read or write a file, output exists without --force); 4 out of memory or
 * internal error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doublecomp.h"
#include "safetensors.h" /* also internal.h: dc_utf8_valid, dc_json_valid */
#include "source.h"
#include "dcz.h"
#include "../engine/model.h"
#include "../limits.h"

enum { EXIT_USAGE = 1, EXIT_DATA = 2, EXIT_IO = 3, EXIT_INTERNAL = 4 };

static int status_exit(dc_status st) {
    switch (st) {
    case DC_OK:
        return 0;
    case DC_ERR_IO:
        return EXIT_IO;
    case DC_ERR_OUT_OF_MEMORY:
        return EXIT_INTERNAL;
    case DC_ERR_INVALID_ARGUMENT:
    case DC_ERR_RANGE:
        return EXIT_USAGE;
    default:
        return EXIT_DATA;
    }
}

/* Prints "dcz: MESSAGE (reason)" and gives the exit code of st. The reason
 * of DC_ERR_IO is strerror(errno) as it was on entry (the library leaves the
 * system's reason in errno), else the status string. */
static int fail(dc_status st, const char *fmt, ...) {
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    fputs("dcz: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (st == DC_ERR_IO && e != 0)
        fprintf(stderr, " (%s)", strerror(e));
    else if (st != DC_OK)
        fprintf(stderr, " (%s)", dc_status_string(st));
    fputc('\n', stderr);
    return status_exit(st);
}

/* Opens a .dcz for the read commands: with pread, not mmap, so a file that
 * is truncated while being read gives an error instead of SIGBUS. */
static dc_status open_reader(const char *path, dc_reader **r, const char **why) {
    dc_reader_options o = {sizeof(o), DC_READER_NO_MMAP, NULL};
    return dc_reader_open_file_ex(path, &o, r, why);
}

/* ---- signals: no temporary files left behind ----------------------------- */

static void on_fatal_signal(int sig) {
    dc_temp_files_remove(); /* async-signal-safe */
    raise(sig);             /* SA_RESETHAND: the default action, once this returns */
}

/* SIGINT, SIGTERM and SIGHUP remove the temporary output files, then kill
 * the process as before. Signals ignored at start (nohup, background jobs)
 * stay ignored. SIGKILL cannot be caught: the next run writing the same
 * output removes what such a run left (dc_temp_files_remove in dc_common.h). */
static void install_signal_cleanup(void) {
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        struct sigaction old, sa;
        if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler == SIG_IGN) continue;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_fatal_signal;
        sa.sa_flags = SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

/* ---- output helpers ------------------------------------------------------ */

const char *dcz_human(uint64_t bytes, char *buf, size_t n) {
    static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int k = 0;
    while (v >= 1024 && k < 4)
        v /= 1024, k++;
    if (k == 0)
        snprintf(buf, n, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, n, "%.1f %s", v, u[k]);
    return buf;
}

void dcz_progress(dcz_progress_state *p, uint64_t done) {
    if (!p->enabled) return;
    int pct = p->total ? (int)(done * 100 / p->total) : 100;
    if (pct == p->last_pct && done != p->total) return;
    p->last_pct = pct;
    char a[32], b[32];
    int bar = pct / 4;
    fprintf(stderr, "\r%-9s [%.*s%*s] %3d%%  %s / %s", p->label, bar, "#########################",
            25 - bar, "", pct, dcz_human(done, a, sizeof(a)), dcz_human(p->total, b, sizeof(b)));
    if (done >= p->total) fputc('\n', stderr);
    fflush(stderr);
}

/* Writes s as a JSON string. Tensor names and metadata are valid UTF-8 (the
 * reader checks); other text (a path) may not be: a byte that does not start
 * a valid UTF-8 sequence is written as U+FFFD, so the output stays JSON. */
static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else if (*p < 0x80)
            fputc(*p, f);
        else {
            size_t n = *p < 0xE0 ? 2 : *p < 0xF0 ? 3 : 4;
            if (strnlen((const char *)p, n) == n && dc_utf8_valid(p, n)) {
                fwrite(p, 1, n, f);
                p += n - 1;
            } else {
                fputs("\\ufffd", f);
            }
        }
    }
    fputc('"', f);
}

static const char *dtype_name(dc_dtype d) {
    switch (d) {
    case DC_DTYPE_F32:
        return "F32";
    case DC_DTYPE_F16:
        return "F16";
    case DC_DTYPE_BF16:
        return "BF16";
    case DC_DTYPE_I8:
        return "I8";
    }
    return "?";
}

static size_t dtype_bytes(dc_dtype d) {
    return d == DC_DTYPE_F32 ? 4 : d == DC_DTYPE_I8 ? 1 : 2;
}

/* ---- memory limit (examples/limits.h) --------------------------------------- */

/* DC_OK if the largest tensor (chunk: 1) of r fits the memory limit, else
 * DC_ERR_LIMIT (or DC_ERR_INVALID_ARGUMENT) after a message. */
static dc_status check_largest(const dc_reader *r, const char *path, int chunk) {
    dc_reader_footprint fp = {.struct_size = sizeof(fp)};
    dc_reader_get_footprint(r, &fp);
    size_t n = dc_reader_tensor_count(r), worst = 0;
    for (size_t i = 0; i < n && !chunk; i++) {
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        dc_reader_tensor(r, i, &d);
        if (d.data_size == fp.largest_tensor) worst = i;
    }
    char what[512];
    if (chunk) {
        snprintf(what, sizeof what, "decoding its largest chunk");
    } else {
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        dc_reader_tensor(r, worst, &d);
        snprintf(what, sizeof what, "decoding tensor %.400s", n ? d.name : "");
    }
    return dcx_check_memory("dcz", el_max_memory, path, fp.file_size, what,
                            chunk ? fp.largest_chunk : fp.largest_tensor);
}

/* ---- info ------------------------------------------------------------------ */

typedef struct tensor_stats {
    uint64_t stored, zeros, elements;
    unsigned codecs; /* bit per dc_codec */
} tensor_stats;

static uint64_t numel(const dc_tensor_desc *d) {
    uint64_t n = 1;
    for (unsigned i = 0; i < d->ndim; i++)
        n *= d->dims[i];
    return n;
}

static uint64_t count_zeros(const dc_tensor_desc *d, const uint8_t *data) {
    uint64_t z = 0, n = numel(d);
    if (n == 0) return 0; /* an empty tensor (and no division by a zero dim) */
    if (d->bits == 8) {
        for (uint64_t i = 0; i < n; i++)
            z += data[i] == 0;
    } else if (d->bits == 4) {
        uint64_t cols = d->dims[d->ndim - 1], rows = n / cols, rb = cols / 2 + (cols & 1);
        for (uint64_t r = 0; r < rows; r++)
            for (uint64_t c = 0; c < cols; c++) {
                uint8_t b = data[r * rb + c / 2];
                z += ((c & 1) ? (b >> 4) : (b & 15)) == 0;
            }
    } else if (d->dtype == DC_DTYPE_F32) {
        for (uint64_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, data + 4 * i, 4);
            z += (u & 0x7FFFFFFFu) == 0;
        }
    } else {
        for (uint64_t i = 0; i < n; i++) {
            uint16_t u;
            memcpy(&u, data + 2 * i, 2);
            z += (u & 0x7FFFu) == 0;
        }
    }
    return z;
}

static dc_status tensor_info(const dc_reader *r, size_t i, const dc_tensor_desc *d,
                             tensor_stats *ts, unsigned threads) {
    memset(ts, 0, sizeof(*ts));
    uint8_t hdr[DC_CHUNK_HEADER_SIZE];
    for (size_t k = 0; k < d->n_chunks; k++) {
        size_t size;
        dc_codec codec;
        /* only the chunk header is needed: a short copy, sized on the way */
        uint8_t *c = NULL;
        dc_status st = dc_reader_read_chunk(r, i, k, hdr, sizeof(hdr), &size, NULL);
        if (st == DC_ERR_DST_TOO_SMALL) {
            if (!(c = malloc(size))) return DC_ERR_OUT_OF_MEMORY;
            st = dc_reader_read_chunk(r, i, k, c, size, &size, NULL);
        }
        if (st == DC_OK) st = dc_chunk_info(c ? c : hdr, size, NULL, NULL, &codec);
        free(c);
        if (st != DC_OK) return st;
        ts->stored += size;
        ts->codecs |= 1u << codec;
    }
    uint8_t *buf = malloc(d->data_size ? d->data_size : 1);
    if (!buf) return DC_ERR_OUT_OF_MEMORY;
    dc_status st = dc_reader_decode_tensor(r, i, buf, d->data_size, threads, NULL);
    if (st == DC_OK) {
        ts->zeros = count_zeros(d, buf);
        ts->elements = numel(d);
    }
    free(buf);
    return st;
}

static void codec_list(unsigned mask, char *out, size_t n) {
    out[0] = '\0';
    for (int c = DC_CODEC_ANS; c <= DC_CODEC_FLOAT; c++)
        if (mask & (1u << c)) {
            if (out[0]) strncat(out, "+", n - strlen(out) - 1);
            strncat(out, dc_codec_name((dc_codec)c), n - strlen(out) - 1);
        }
}

static int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    int json = 0;
    unsigned threads = 2;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            puts("usage: dcz info FILE.dcz [--json]\n"
                 "Prints one row per tensor (name, shape, bits, raw bytes, stored bytes, CR,\n"
                 "zero fraction, codec) and totals. CR is raw/stored; for quantized tensors\n"
                 "'raw' is their INT8/INT4 size, so the 'quantized' total is the CR over INT8.\n"
                 "--json prints one JSON object instead.");
            return 0;
        } else if (argv[i][0] == '-')
            return fail(DC_OK, "info: unknown option %s (see dcz info --help)", argv[i]),
                   EXIT_USAGE;
        else
            path = argv[i];
    }
    if (!path) return fail(DC_OK, "info: no file given (see dcz info --help)"), EXIT_USAGE;
    dc_reader *r;
    const char *why;
    dc_status st = open_reader(path, &r, &why);
    if (st != DC_OK) return fail(st, "%s: %s", path, why);
    if ((st = check_largest(r, path, 0)) != DC_OK) { /* info decodes one tensor at a time */
        dc_reader_close(r);
        return status_exit(st);
    }
    size_t n = dc_reader_tensor_count(r);
    uint64_t tot_raw = 0, tot_stored = 0, q_raw = 0, q_stored = 0, q_zeros = 0, q_elems = 0,
             src_bytes = 0;
    if (json)
        printf("{\"file\":"), json_string(stdout, path), printf(",\"tensors\":[");
    else
        printf("%-36s %-14s %4s %12s %12s %7s %6s  %s\n", "tensor", "shape", "bits", "raw",
               "stored", "CR", "zeros", "codec");
    for (size_t i = 0; i < n; i++) {
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        dc_reader_tensor(r, i, &d);
        tensor_stats ts;
        if ((st = tensor_info(r, i, &d, &ts, threads)) != DC_OK) {
            int rc = fail(st, "%s: tensor %s", path, d.name); /* d.name is the reader's */
            dc_reader_close(r);
            return rc;
        }
        char shape[96] = "", codecs[64], a[32], b[32];
        for (unsigned k = 0; k < d.ndim; k++)
            snprintf(shape + strlen(shape), sizeof(shape) - strlen(shape), "%s%llu", k ? "x" : "",
                     (unsigned long long)d.dims[k]);
        codec_list(ts.codecs, codecs, sizeof(codecs));
        double cr = ts.stored ? (double)d.data_size / (double)ts.stored : 0;
        double zf = ts.elements ? (double)ts.zeros / (double)ts.elements : 0;
        tot_raw += d.data_size, tot_stored += ts.stored;
        src_bytes += numel(&d) * dtype_bytes(d.source_dtype);
        if (d.bits)
            q_raw += d.data_size, q_stored += ts.stored, q_zeros += ts.zeros,
                q_elems += ts.elements;
        if (json) {
            printf("%s{\"name\":", i ? "," : "");
            json_string(stdout, d.name);
            printf(",\"shape\":[");
            for (unsigned k = 0; k < d.ndim; k++)
                printf("%s%llu", k ? "," : "", (unsigned long long)d.dims[k]);
            printf("],\"dtype\":\"%s\",\"source_dtype\":\"%s\",\"bits\":%u,\"raw_bytes\":%llu,"
                   "\"stored_bytes\":%llu,\"cr\":%.4f,\"zero_fraction\":%.4f,\"codec\":\"%s\","
                   "\"chunks\":%u}",
                   dtype_name(d.dtype), dtype_name(d.source_dtype), d.bits,
                   (unsigned long long)d.data_size, (unsigned long long)ts.stored, cr, zf, codecs,
                   d.n_chunks);
        } else {
            printf("%-36s %-14s %4s %12s %12s %7.3f %5.1f%%  %s\n", d.name, shape,
                   d.bits ? (d.bits == 8 ? "8" : "4") : dtype_name(d.dtype),
                   dcz_human(d.data_size, a, sizeof(a)), dcz_human(ts.stored, b, sizeof(b)), cr,
                   100 * zf, codecs);
        }
    }
    double cr_all = tot_stored ? (double)tot_raw / (double)tot_stored : 0;
    double cr_q = q_stored ? (double)q_raw / (double)q_stored : 0;
    double zf_q = q_elems ? (double)q_zeros / (double)q_elems : 0;
    if (json) {
        /* The metadata is the writer's JSON text: printed as it is if it is a
         * JSON value, else (a file from elsewhere) as a JSON string. */
        const char *meta = dc_reader_metadata(r);
        int meta_json = meta[0] && dc_json_valid(meta, strlen(meta));
        printf("],\"totals\":{\"tensors\":%zu,\"raw_bytes\":%llu,\"stored_bytes\":%llu,\"cr\":%.4f,"
               "\"source_bytes\":%llu,\"cr_vs_source\":%.4f},"
               "\"quantized\":{\"raw_bytes\":%llu,\"stored_bytes\":%llu,\"cr\":%.4f,"
               "\"zero_fraction\":%.4f},\"metadata\":",
               n, (unsigned long long)tot_raw, (unsigned long long)tot_stored, cr_all,
               (unsigned long long)src_bytes,
               tot_stored ? (double)src_bytes / (double)tot_stored : 0, (unsigned long long)q_raw,
               (unsigned long long)q_stored, cr_q, zf_q);
        if (meta_json)
            fputs(meta, stdout);
        else if (meta[0])
            json_string(stdout, meta);
        else
            fputs("null", stdout);
        puts("}");
    } else {
        char a[32], b[32], c[32];
        printf("total: %zu tensors, %s stored as %s (CR %.3f; source %s)\n", n,
               dcz_human(tot_raw, a, sizeof(a)), dcz_human(tot_stored, b, sizeof(b)), cr_all,
               dcz_human(src_bytes, c, sizeof(c)));
        if (q_raw)
            printf("quantized weights: %s -> %s, CR over INT8 %.3f, zeros %.1f%%\n",
                   dcz_human(q_raw, a, sizeof(a)), dcz_human(q_stored, b, sizeof(b)), cr_q,
                   100 * zf_q);
    }
    dc_reader_close(r);
    return 0;
}

/* ---- verify ---------------------------------------------------------------- */

static int cmd_verify(int argc, char **argv) {
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            puts("usage: dcz verify FILE.dcz\n"
                 "Checks the file's tables, then decodes every chunk and checks every checksum.\n"
                 "On damage prints which tensor and chunk and exits 2.");
            return 0;
        } else if (argv[i][0] == '-')
            return fail(DC_OK, "verify: unknown option %s", argv[i]), EXIT_USAGE;
        else
            path = argv[i];
    }
    if (!path) return fail(DC_OK, "verify: no file given (see dcz verify --help)"), EXIT_USAGE;
    dc_reader *r;
    const char *why;
    dc_status st = open_reader(path, &r, &why); /* a truncated file: an error, not SIGBUS */
    if (st != DC_OK) return fail(st, "%s: %s", path, why);
    if ((st = check_largest(r, path, 1)) != DC_OK) { /* one chunk at a time */
        dc_reader_close(r);
        return status_exit(st);
    }
    dc_reader_footprint fp = {.struct_size = sizeof(fp)};
    dc_reader_get_footprint(r, &fp);
    const size_t cap = fp.largest_chunk ? (size_t)fp.largest_chunk : 1;
    dc_dctx *dctx = NULL;
    uint8_t *buf = malloc(cap);
    uint8_t *cbuf = NULL; /* the chunk as stored */
    size_t ccap = 0;
    if (!buf || dc_dctx_create(NULL, &dctx) != DC_OK) {
        free(buf);
        dc_reader_close(r);
        return fail(DC_ERR_OUT_OF_MEMORY, "verify");
    }
    size_t n = dc_reader_tensor_count(r), bad = 0, chunks = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        dc_reader_tensor(r, i, &d);
        for (size_t k = 0; k < d.n_chunks; k++) {
            size_t size, raw, w, hdr_raw;
            st = dc_reader_read_chunk(r, i, k, cbuf, ccap, &size, &raw);
            if (st == DC_ERR_DST_TOO_SMALL) {
                free(cbuf);
                ccap = 0;
                if (!(cbuf = malloc(size))) {
                    free(buf);
                    dc_dctx_free(dctx);
                    dc_reader_close(r);
                    return fail(DC_ERR_OUT_OF_MEMORY, "verify");
                }
                ccap = size;
                st = dc_reader_read_chunk(r, i, k, cbuf, ccap, &size, &raw);
            }
            const void *c = cbuf;
            if (st == DC_OK) st = dc_chunk_info(c, size, NULL, &hdr_raw, NULL);
            if (st == DC_OK && hdr_raw != raw) st = DC_ERR_SIZE_MISMATCH;
            if (st == DC_OK) st = dc_chunk_decompress(dctx, c, size, buf, cap, &w);
            chunks++;
            bytes += raw;
            if (st != DC_OK) {
                fprintf(stderr, "dcz: %s: tensor %s, chunk %zu of %u: %s\n", path, d.name, k,
                        d.n_chunks, dc_status_string(st));
                bad++;
            }
        }
    }
    free(buf);
    free(cbuf);
    dc_dctx_free(dctx);
    dc_reader_close(r);
    char a[32];
    if (bad) {
        fprintf(stderr, "dcz: %s: DAMAGED: %zu of %zu chunks failed\n", path, bad, chunks);
        return EXIT_DATA;
    }
    printf("%s: OK (%zu tensors, %zu chunks, %s verified)\n", path, n, chunks,
           dcz_human(bytes, a, sizeof(a)));
    return 0;
}

/* ---- extract --------------------------------------------------------------- */

/* Decodes the tensors of an extract one at a time into one buffer. */
typedef struct extract_ctx {
    const dc_reader *r;
    const char *path;
    const size_t *tensor_of; /* output index -> reader index */
    uint8_t *buf;
    size_t cap;
} extract_ctx;

static dc_status extract_load(void *arg, size_t index, const void **data) {
    extract_ctx *x = arg;
    size_t i = x->tensor_of[index];
    dc_tensor_desc d = {.struct_size = sizeof(d)};
    dc_reader_tensor(x->r, i, &d);
    if (d.data_size > x->cap) {
        free(x->buf);
        x->cap = 0;
        if (!(x->buf = malloc((size_t)d.data_size))) return DC_ERR_OUT_OF_MEMORY;
        x->cap = (size_t)d.data_size;
    }
    dc_status st = dc_reader_decode_tensor(x->r, i, x->buf, x->cap, 2, NULL);
    if (st != DC_OK) return fail(st, "%s: tensor %s", x->path, d.name), st;
    *data = x->buf;
    return DC_OK;
}

static int cmd_extract(int argc, char **argv) {
    const char *path = NULL, *out = NULL, *hf = NULL;
    int force = 0, dtype = -1;
    uint64_t max_shard = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            puts("usage: dcz extract FILE.dcz -o OUT.safetensors [--force] [--max-memory BYTES]\n"
                 "       dcz extract FILE.dcz --hf OUTDIR [--dtype bf16|f16|f32]\n"
                 "                   [--max-shard-size BYTES] [--force]\n"
                 "--hf: a Hugging Face checkpoint directory: shards, model.safetensors.index.json\n"
                 "(metadata.total_size, weight_map) and the config.json and\n"
                 "generation_config.json it was compressed with. Float tensors keep their dtype\n"
                 "and bytes (a --lossless file gives back the very same tensor data), quantized\n"
                 "ones are dequantized to their source dtype; --dtype converts every tensor.\n"
                 "The recorded shard layout is kept unless --max-shard-size is given (shards\n"
                 "of at most that many bytes; 5 GB where no layout is recorded).\n"
                 "Each file is written to a temporary file and renamed, the index last.\n"
                 "Writes every tensor as stored: quantized ones as I8 (4-bit: U8, two per byte)\n"
                 "with '<name>.scales' (F32) and, if scaled, '<name>.smooth' (F32), described\n"
                 "by the metadata entry '<name>.quant'; others in their original dtype.\n"
                 "Bit-exact with what was compressed; dcz compress imports such a file as\n"
                 "it is (extract -> compress -> extract gives the same bytes). The output is\n"
                 "written to a temporary file and renamed; an existing file needs --force.\n"
                 "Tensors are decoded one at a time: the largest must fit the memory limit.");
            return 0;
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--hf") == 0 && i + 1 < argc)
            hf = argv[++i];
        else if (strcmp(argv[i], "--dtype") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            dtype = !strcmp(v, "bf16")  ? DC_DTYPE_BF16
                    : !strcmp(v, "f16") ? DC_DTYPE_F16
                    : !strcmp(v, "f32") ? DC_DTYPE_F32
                                        : -2;
            if (dtype == -2)
                return fail(DC_OK, "extract: --dtype must be bf16, f16 or f32"), EXIT_USAGE;
        } else if (strcmp(argv[i], "--max-shard-size") == 0 && i + 1 < argc) {
            if (dcx_parse_bytes(argv[++i], &max_shard) != 0 || max_shard == 0)
                return fail(DC_OK, "extract: bad --max-shard-size %s", argv[i]), EXIT_USAGE;
        } else if (strcmp(argv[i], "--force") == 0)
            force = 1;
        else if (argv[i][0] == '-')
            return fail(DC_OK, "extract: unknown option %s", argv[i]), EXIT_USAGE;
        else
            path = argv[i];
    }
    if (!path || (!out) == (!hf))
        return fail(DC_OK, "extract: need FILE.dcz and -o OUT or --hf OUTDIR (see --help)"),
               EXIT_USAGE;
    if (!hf && (dtype != -1 || max_shard))
        return fail(DC_OK, "extract: --dtype and --max-shard-size go with --hf"), EXIT_USAGE;
    if (hf) {
        dc_reader *r;
        const char *why;
        dc_status st = open_reader(path, &r, &why);
        if (st != DC_OK) return fail(st, "%s: %s", path, why);
        if ((st = check_largest(r, path, 0)) != DC_OK) {
            dc_reader_close(r);
            return status_exit(st);
        }
        int rc = dcz_extract_hf(r, path, hf, dtype, max_shard, force);
        dc_reader_close(r);
        return rc;
    }
    if (!force && access(out, F_OK) == 0)
        return errno = EEXIST, fail(DC_ERR_IO, "%s exists; use --force to overwrite", out);
    dc_reader *r;
    const char *why;
    dc_status st = open_reader(path, &r, &why);
    if (st != DC_OK) return fail(st, "%s: %s", path, why);
    if ((st = check_largest(r, path, 0)) != DC_OK) {
        dc_reader_close(r);
        return status_exit(st);
    }
    size_t n = dc_reader_tensor_count(r), k = 0;
    dc_st_out_tensor *t = calloc(3 * n + 1, sizeof(*t));
    size_t *tensor_of = calloc(3 * n + 1, sizeof(size_t));
    uint64_t(*shapes)[DC_MAX_DIMS] = calloc(3 * n + 1, sizeof(*shapes));
    char **names = calloc(4 * n + 1, sizeof(char *)); /* .scales, .smooth, .quant key and value */
    char **meta = calloc(2 * n + 2, sizeof(char *));
    size_t nmeta = 0, nnames = 0;
    if (!t || !tensor_of || !shapes || !names || !meta) {
        free(tensor_of), free(t), free(shapes), free(names), free(meta);
        dc_reader_close(r);
        return fail(DC_ERR_OUT_OF_MEMORY, "extract");
    }
    meta[nmeta++] = "dcz.metadata";
    meta[nmeta++] = (char *)dc_reader_metadata(r);
    for (size_t i = 0; i < n && st == DC_OK; i++) {
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        dc_reader_tensor(r, i, &d);
        size_t ti = k++;
        memcpy(shapes[ti], d.dims, sizeof(d.dims));
        if (d.bits == 4) /* bytes per row: ceil(cols / 2), without overflow */
            shapes[ti][d.ndim - 1] = d.dims[d.ndim - 1] / 2 + (d.dims[d.ndim - 1] & 1);
        dc_st_dtype sd = d.bits == 8               ? DC_ST_I8
                         : d.bits == 4             ? DC_ST_U8
                         : d.dtype == DC_DTYPE_F32 ? DC_ST_F32
                         : d.dtype == DC_DTYPE_F16 ? DC_ST_F16
                                                   : DC_ST_BF16;
        /* data NULL: decoded by extract_load when the writer gets to it */
        t[ti] = (dc_st_out_tensor){d.name, sd, d.ndim, shapes[ti], NULL, (size_t)d.data_size};
        tensor_of[ti] = i;
        const float *aux[2] = {d.scales, d.smooth};
        uint64_t naux[2] = {d.n_scales, d.n_smooth};
        const char *suffix[2] = {".scales", ".smooth"};
        for (int a = 0; a < 2; a++) {
            if (naux[a] == 0) continue;
            size_t len = strlen(d.name) + 8;
            char *nm = names[nnames++] = malloc(len);
            if (!nm) {
                st = DC_ERR_OUT_OF_MEMORY;
                break;
            }
            snprintf(nm, len, "%s%s", d.name, suffix[a]);
            shapes[k][0] = naux[a];
            t[k] = (dc_st_out_tensor){nm, DC_ST_F32, 1, shapes[k], aux[a], naux[a] * 4};
            k++;
        }
        if (st == DC_OK && d.bits) {
            size_t len = strlen(d.name) + 8;
            char *key = names[nnames++] = malloc(len);
            char *val = names[nnames++] = malloc(200);
            if (!key || !val) {
                st = DC_ERR_OUT_OF_MEMORY;
                break;
            }
            snprintf(key, len, "%s.quant", d.name);
            snprintf(
                val, 200,
                "{\"bits\":%u,\"granularity\":\"%s\",\"group_size\":%llu,\"source_dtype\":\"%s\","
                "\"alpha\":%g,\"sparsity\":%g,\"prune\":%d,\"cols\":%llu,\"flags\":%u}",
                d.bits,
                d.granularity == DC_QUANT_PER_TENSOR    ? "tensor"
                : d.granularity == DC_QUANT_PER_CHANNEL ? "channel"
                                                        : "group",
                (unsigned long long)d.group_size, dtype_name(d.source_dtype), (double)d.alpha,
                (double)d.sparsity, d.prune_method, (unsigned long long)d.dims[d.ndim - 1],
                d.quant_flags);
            meta[nmeta++] = key; /* room: 2 per tensor + 2 */
            meta[nmeta++] = val;
        }
    }
    extract_ctx x = {r, path, tensor_of, NULL, 0};
    if (st == DC_OK) {
        dc_alloc a;
        dc_alloc_init(&a, NULL);
        st = dc_st_write_stream(&a, out, t, k, (const char *const *)meta, nmeta / 2, extract_load,
                                &x);
        if (st == DC_ERR_IO || st == DC_ERR_INVALID_ARGUMENT) fail(st, "cannot write %s", out);
    } else {
        fail(st, "extract");
    }
    if (st == DC_OK) printf("%s: %zu tensors extracted to %s\n", path, n, out);
    free(x.buf);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(tensor_of), free(t), free(shapes), free(names), free(meta);
    dc_reader_close(r);
    return status_exit(st);
}

/* ---- main ------------------------------------------------------------------ */

static void usage(FILE *f) {
    fprintf(f,
            "dcz %s -- double compression of quantized LLM weights\n\n"
            "usage: dcz COMMAND [options]   (dcz COMMAND --help for details)\n\n"
            "  compress MODEL -o OUT.dcz   quantize, prune and entropy-code a model\n"
            "  calibrate MODEL --tokenizer TOK --text FILE -o STATS\n"
            "                              record activation statistics (llama2.c models)\n"
            "  info FILE.dcz [--json]      per-tensor sizes, ratios and totals\n"
            "  verify FILE.dcz             decode every chunk and check every checksum\n"
            "  extract FILE.dcz -o OUT.safetensors\n"
            "                              the stored (quantized) weights and their scales\n"
            "  extract FILE.dcz --hf OUTDIR a Hugging Face checkpoint (shards, index, config)\n"
            "  export FILE.dcz --gguf -o OUT.gguf\n"
            "                              a .dcz made from a GGUF file, as a GGUF file\n\n"
            "  --max-memory BYTES|unlimited (any command; or DC_MAX_MEMORY): the most decoded\n"
            "                              data held at once; default 4 x the input + 48 MiB\n\n"
            "exit codes: 0 ok, 1 usage, 2 damaged or invalid input (or over the memory\n"
            "limit), 3 I/O error, 4 internal\n",
            dc_version_string());
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0) return printf("dcz %s\n", dc_version_string()), 0;
    /* --max-memory BYTES (any command, anywhere after it): examples/limits.h */
    int m = 2;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--max-memory") == 0 && i + 1 < argc) {
            uint64_t lim;
            if (dcx_parse_bytes(argv[i + 1], &lim) != 0)
                return fail(DC_OK, "bad --max-memory %s (want BYTES, e.g. 512M, 8G, unlimited)",
                            argv[i + 1]),
                       EXIT_USAGE;
            el_max_memory = argv[++i];
        } else {
            argv[m++] = argv[i];
        }
    }
    argc = m;
    const char *cmd = argv[1];
    install_signal_cleanup();
    if (strcmp(cmd, "compress") == 0) return dcz_compress(argc - 2, argv + 2);
    if (strcmp(cmd, "calibrate") == 0) return dcz_calibrate(argc - 2, argv + 2);
    if (strcmp(cmd, "info") == 0) return cmd_info(argc - 2, argv + 2);
    if (strcmp(cmd, "verify") == 0) return cmd_verify(argc - 2, argv + 2);
    if (strcmp(cmd, "extract") == 0) return cmd_extract(argc - 2, argv + 2);
    if (strcmp(cmd, "export") == 0) return dcz_export(argc - 2, argv + 2);
    fprintf(stderr, "dcz: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
