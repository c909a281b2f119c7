/*
 * dcz.h -- internals shared by the dcz command's source files.
 */
#ifndef DCZ_H
#define DCZ_H

#include <stddef.h>
#include <stdint.h>

#include "doublecomp.h"

/* Progress bar on stderr (enabled only on a terminal and without --json). */
typedef struct dcz_progress_state {
    int enabled, last_pct;
    uint64_t total;
    const char *label;
} dcz_progress_state;
void dcz_progress(dcz_progress_state *p, uint64_t done);

/* "12.3 MiB" etc. into buf. */
const char *dcz_human(uint64_t bytes, char *buf, size_t n);

/* SHA-256 of a file as 64 hex digits; 0 or -1. */
int dcz_sha256_file(const char *path, char hex[65]);

/* Commands implemented outside dcz.c. Each returns an exit code. */
int dcz_compress(int argc, char **argv);
int dcz_calibrate(int argc, char **argv);
/* dcz export FILE.dcz --gguf -o OUT.gguf (export.c). */
int dcz_export(int argc, char **argv);
/* dcz extract FILE.dcz --hf OUTDIR (hf_out.c): dtype -1 = as stored (quantized
 * tensors dequantized to their source dtype), else a dc_dtype for every
 * tensor; max_shard 0 = the recorded layout (else 5 GB shards). Returns an
 * exit code. */
int dcz_extract_hf(const dc_reader *r, const char *path, const char *outdir, int dtype,
                   uint64_t max_shard, int force);

#endif
