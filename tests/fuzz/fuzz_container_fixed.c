/*
 * fuzz_container_fixed.c -- libFuzzer target: arbitrary bytes as a .dcz file
 * whose checksums are repaired before parsing, so mutations reach the tensor
 * table, the chunk index and the chunk decoders instead of stopping at the
 * header checksum (as most inputs of fuzz_container do).
 *
 * Repair, in dependency order: the magic and version are forced, the
 * recorded file size is set to the input size, every chunk that the index
 * places inside the file gets the checksum of what it decodes to (in its
 * header and in its index entry), then the tensor table, chunk index and
 * metadata checksums and finally the header checksum are recomputed.
 * The repaired file is then opened from memory and, through an in-memory
 * file, with and without mmap (DC_READER_NO_MMAP); all three must agree.
 */
#include "fuzz_util.h"

#include <string.h>

#include "doublecomp.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t csum(const uint8_t *b, uint64_t size, uint64_t off, uint64_t len) {
    if (off > size || len > size - off) return 0;
    return dc_checksum32(b + off, (size_t)len);
}

static void repair(uint8_t *b, size_t size) {
    if (size < 96) return;
    memcpy(b,
           "\x89"
           "DCZ\r\n\x1a\n",
           8);
    dc_store_le32(b + 8, 1);
    dc_store_le32(b + 12, 0);
    dc_store_le64(b + 16, size);
    uint64_t ioff = dc_load_le64(b + 48), n = dc_load_le64(b + 56);
    if (ioff <= size && n <= (size - ioff) / 32) {
        dc_dctx *d = NULL;
        if (dc_dctx_create(NULL, &d) != DC_OK) abort();
        for (uint64_t k = 0; k < n && k < 4096; k++) {
            uint8_t *e = b + ioff + 32 * k;
            uint64_t off = dc_load_le64(e), len = dc_load_le32(e + 8);
            if (off > size || len > size - off || len < DC_CHUNK_HEADER_SIZE) continue;
            size_t raw = 0, w = 0;
            if (dc_chunk_info(b + off, (size_t)len, NULL, &raw, NULL) != DC_OK) continue;
            if (raw > (1u << 22)) continue; /* keeps runs fast; such chunks stay as they are */
            uint8_t *tmp = malloc(raw ? raw : 1);
            if (!tmp) abort();
            dc_status st = dc_chunk_decompress(d, b + off, (size_t)len, tmp, raw, &w);
            if (st == DC_ERR_CHECKSUM || st == DC_OK) {
                uint32_t c = dc_checksum32(tmp, raw);
                dc_store_le32(b + off + 16, c);
                dc_store_le32(e + 16, c);
            }
            free(tmp);
        }
        dc_dctx_free(d);
    }
    dc_store_le32(b + 80, csum(b, size, dc_load_le64(b + 32), dc_load_le64(b + 40)));
    if (n <= UINT64_MAX / 32) dc_store_le32(b + 84, csum(b, size, ioff, n * 32));
    dc_store_le32(b + 88, csum(b, size, dc_load_le64(b + 64), dc_load_le64(b + 72)));
    dc_store_le32(b + 92, dc_checksum32(b, 92));
}

/* Everything a reader offers; returns a digest of the results to compare. */
static uint64_t exercise(dc_reader *r) {
    uint64_t digest = dc_reader_tensor_count(r);
    const char *meta = dc_reader_metadata(r);
    digest = digest * 31 + strlen(meta);
    for (size_t i = 0; i < dc_reader_tensor_count(r); i++) {
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        if (dc_reader_tensor(r, i, &d) != DC_OK) abort();
        size_t idx;
        if (dc_reader_find(r, d.name, &idx) != DC_OK || idx > i) abort();
        for (size_t k = 0; k < d.n_chunks && k < 64; k++) {
            uint8_t c[256];
            size_t cs = 0, raw = 0;
            dc_status st = dc_reader_read_chunk(r, i, k, c, sizeof(c), &cs, &raw);
            digest = digest * 31 + (uint64_t)(st + 100) + cs + raw;
        }
        if (d.data_size > (1u << 24)) continue;
        uint8_t *buf = malloc(d.data_size ? d.data_size : 1);
        if (!buf) abort();
        size_t failed = 0;
        dc_status st =
            dc_reader_decode_tensor(r, i, buf, d.data_size, 1 + (unsigned)(i & 1), &failed);
        digest = digest * 31 + (uint64_t)(st + 100);
        if (st == DC_OK) digest = digest * 31 + dc_checksum32(buf, (size_t)d.data_size);
        free(buf);
    }
    return digest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *b = malloc(size ? size : 1);
    if (!b) abort();
    if (size) memcpy(b, data, size);
    repair(b, size);
    dc_reader *r = NULL;
    const char *why = NULL;
    dc_status st = dc_reader_open_memory(b, size, NULL, &r, &why);
    if (st != DC_OK && (why == NULL || why[0] == '\0')) abort(); /* every failure says why */
    uint64_t ref = st == DC_OK ? exercise(r) : 0;
    dc_reader_close(r);

    char path[64];
    int fd = fuzz_memfd(b, size, path);
    for (unsigned flags = 0; flags <= DC_READER_NO_MMAP; flags += DC_READER_NO_MMAP) {
        dc_reader_options o = {sizeof(o), flags, NULL};
        dc_reader *f = NULL;
        dc_status fst = dc_reader_open_file_ex(path, &o, &f, &why);
        if (fst != st) abort(); /* file and memory readers disagree */
        if (fst == DC_OK && exercise(f) != ref) abort();
        dc_reader_close(f);
    }
    close(fd);
    free(b);
    return 0;
}
