/*
 * source.h -- model files as a list of tensors read one at a time
 * (safetensors F32/F16/BF16, pre-quantized I8/U8 with their scales, llama2.c
 * checkpoints), so that compressing a model never needs the whole model in
 * memory.
 */
#ifndef DCZ_SOURCE_H
#define DCZ_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "doublecomp.h"

/* A tensor already quantized by the host (I8, or U8 holding 4-bit pairs),
 * with its dequantization scales and, if any, smoothing scales in companion
 * tensors '<name>.scales' and '<name>.smooth' (as dcz extract writes them). */
typedef struct src_quant {
    unsigned bits; /* 8 or 4; 0: not imported with scales */
    dc_quant_granularity gran;
    uint64_t group_size;
    dc_dtype source_dtype;
    float alpha, sparsity;
    int prune_method;
    unsigned quant_flags;             /* dc_quant_options.flags ("flags" in .quant; 0 if absent) */
    uint64_t scales_offset, n_scales; /* F32 values in the file */
    uint64_t smooth_offset, n_smooth;
    uint32_t file; /* the file holding them (a shard, see model_source.files) */
} src_quant;

typedef struct src_tensor {
    char *name;
    dc_dtype dtype; /* F32, F16 or BF16; I8 for quantized tensors */
    unsigned ndim;
    uint64_t dims[DC_MAX_DIMS]; /* of the weights (4 bits: the real column count) */
    uint64_t offset;            /* byte offset in the file */
    uint64_t nbytes;
    src_quant *q; /* quantized by the host, with scales; NULL otherwise (kept out of
                   * line: the list costs little per tensor, see dcz compress's limit) */
    /* GGUF sources: the ggml type; Q8_0 is split into int8 codes and fp16
     * block scales (gguf_split_q8_0), types other than F32/F16/BF16/Q8_0
     * are stored as opaque bytes (dtype I8, bits 0, dims {nbytes}). */
    int gguf_type; /* -1: not from a GGUF file */
    uint32_t file; /* Hugging Face directories: the shard, files[file]; else 0 */
} src_tensor;

typedef struct model_source {
    char *path;
    int is_llama2c;
    src_tensor *t;
    size_t n, cap;
    uint64_t file_size;
    int32_t llama2c_header[7]; /* llama2.c only */
    /* safetensors written by dcz extract: the .dcz metadata it carries (its
     * "dcz.metadata" entry); NULL otherwise. Such a model is stored as it was:
     * no tensor is quantized again. */
    char *dcz_metadata;
    /* GGUF: the parsed header (a dc_gguf *, lib/gguf.h), whose key/values
     * and tensor infos go to the .dcz key/value section; NULL otherwise. */
    void *gguf;
    /* GGUF holding quantized tensors (Q8_0, K-quants...): its float tensors
     * were kept float on purpose and are stored as they were. */
    int gguf_quantized;
    /* Hugging Face checkpoint directories (source_hf.c): the shard paths
     * (tensors name theirs by index) and the "hf" metadata object (JSON
     * text: config files, index metadata, shard layout; docs/format.md
     * 6.9); NULL otherwise. */
    char **files;
    size_t n_files;
    char *hf_json;
    char *hash_path; /* the file whose SHA-256 is the source's: its index file */
} model_source;

/* Opens a model (a file, or a Hugging Face checkpoint: its directory or
 * its model.safetensors.index.json); on error returns a status and sets
 * *why (static text). */
dc_status source_open(const char *path, model_source *s, const char **why);
void source_close(model_source *s);
/* Reads tensor i's bytes into dst (nbytes). */
dc_status source_read(const model_source *s, size_t i, void *dst);
/* Reads n little-endian F32 values at byte offset `offset` of file `file`
 * (0 unless the source has shards) into dst. */
dc_status source_read_f32(const model_source *s, uint32_t file, uint64_t offset, uint64_t n,
                          float *dst);
/* Appends the tensors of the safetensors file `path` to s, as file `file`
 * (their src_tensor.file); s->file_size grows by its size. As source_open. */
dc_status source_add_safetensors(const char *path, model_source *s, uint32_t file,
                                 const char **why);
/* Opens a Hugging Face checkpoint (source_hf.c): `path` is its directory or
 * its index file. Every shard the index names (plain file names inside the
 * directory only) is opened and checked against the index. As source_open. */
dc_status source_open_hf(const char *path, model_source *s, const char **why);
/* 1 if `path` is a directory or ends in ".safetensors.index.json". */
int source_is_hf(const char *path);
/* Opens a GGUF file (source_gguf.c). As source_open. */
dc_status source_open_gguf(const char *path, model_source *s, const char **why);
/* The .dcz key/value section of a GGUF source into *data (malloc'd, *size
 * bytes); DC_OK with *data NULL for other sources. */
dc_status source_kv_section(const model_source *s, void **data, size_t *size);
/*
 * Splits Q8_0 blocks raw[0..nbytes) (34 bytes: fp16 d, 32 int8 q) into the
 * int8 codes (row-major, what the .dcz stores with bits 8, per-group G=32)
 * and the scales d as floats (exact). Returns 0, or -1 if a scale is NaN or
 * infinite (the tensor is then kept as opaque bytes) or memory runs out.
 */
int gguf_split_q8_0(const void *raw, uint64_t nbytes, int8_t **codes, float **scales,
                    uint64_t *n_scales);
/* Total bytes of all tensors. */
uint64_t source_bytes(const model_source *s);

#endif
