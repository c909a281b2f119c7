/*
 * test_container.c -- .dcz writer/reader: round trips, atomic output, and
 * hostile files (truncated, bit-flipped, forged offsets and counts).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doublecomp.h"
#include "gen.h"
#include "internal.h"

static char g_dir[] = "/tmp/dc_test_container_XXXXXX";

static void path_in(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", g_dir, name);
}

typedef struct model {
    float f32[3 * 50];
    uint16_t f16[70];
    uint8_t i8[40 * 300];
    float i8_scales[40];
    float smooth[300];
    uint8_t i4[5 * 4]; /* 5 rows x 7 cols, 4 bytes per row */
    float i4_scales[1];
} model;

static void make_model(model *m) {
    uint64_t s = 42;
    for (size_t i = 0; i < 150; i++)
        m->f32[i] = (float)gen_unit(&s) - 0.5f;
    for (size_t i = 0; i < 70; i++)
        m->f16[i] = (uint16_t)(0x3C00 + i);
    gen_laplace(m->i8, sizeof(m->i8), 6.0, 0.2, 7);
    for (size_t i = 0; i < 40; i++)
        m->i8_scales[i] = 0.01f * (float)(i + 1);
    for (size_t i = 0; i < 300; i++)
        m->smooth[i] = 1.0f + (float)i / 300.0f;
    for (size_t i = 0; i < sizeof(m->i4); i++)
        m->i4[i] = (uint8_t)(i * 37);
    for (size_t r = 0; r < 5; r++)
        m->i4[r * 4 + 3] &= 0x0F; /* odd row: zero high nibble */
    m->i4_scales[0] = 0.5f;
}

/* The first 96 bytes of the file at path (a static buffer). */
static const uint8_t *chunk_file_header(const char *path) {
    static uint8_t h[96];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(h, 1, sizeof h, f), sizeof h);
    fclose(f);
    return h;
}

static dc_tensor_desc desc_base(const char *name, unsigned ndim, uint64_t d0, uint64_t d1) {
    dc_tensor_desc d;
    memset(&d, 0, sizeof(d));
    d.struct_size = sizeof(d);
    d.name = name;
    d.ndim = ndim;
    d.dims[0] = d0;
    d.dims[1] = d1;
    d.prune_method = DC_PRUNE_NONE;
    return d;
}

/* Writes the test model; returns DC_OK or the first error. */
static dc_status write_model(const char *path, const model *m, unsigned threads, int overwrite) {
    dc_writer_options o = {sizeof(o), DC_CODEC_ANS, 0, 1024, threads, overwrite, NULL, 0};
    dc_writer *w;
    dc_status st = dc_writer_create(path, &o, &w);
    if (st != DC_OK) return st;
    dc_tensor_desc a = desc_base("layers.0.norm.weight", 2, 3, 50);
    a.source_dtype = a.dtype = DC_DTYPE_F32;
    dc_tensor_desc b = desc_base("emb\xc3\xa9.\xe2\x9c\x93", 1, 70, 0); /* UTF-8 name with dots */
    b.source_dtype = b.dtype = DC_DTYPE_F16;
    dc_tensor_desc c = desc_base("layers.0.wq", 2, 40, 300);
    c.source_dtype = DC_DTYPE_BF16;
    c.dtype = DC_DTYPE_I8;
    c.bits = 8;
    c.granularity = DC_QUANT_PER_CHANNEL;
    c.scales = m->i8_scales;
    c.n_scales = 40;
    c.smooth = m->smooth;
    c.n_smooth = 300;
    c.alpha = 0.8f;
    c.prune_method = DC_PRUNE_DC;
    c.sparsity = 0.2f;
    dc_tensor_desc d = desc_base("q4", 2, 5, 7);
    d.source_dtype = DC_DTYPE_F32;
    d.dtype = DC_DTYPE_I8;
    d.bits = 4;
    d.granularity = DC_QUANT_PER_TENSOR;
    d.scales = m->i4_scales;
    d.n_scales = 1;
    if ((st = dc_writer_add_tensor(w, &a, m->f32, sizeof(m->f32))) != DC_OK ||
        (st = dc_writer_add_tensor(w, &b, m->f16, sizeof(m->f16))) != DC_OK ||
        (st = dc_writer_add_tensor(w, &c, m->i8, sizeof(m->i8))) != DC_OK ||
        (st = dc_writer_add_tensor(w, &d, m->i4, sizeof(m->i4))) != DC_OK ||
        (st = dc_writer_set_metadata(w, "{\"alpha\":0.8}")) != DC_OK) {
        dc_writer_abort(w);
        return st;
    }
    return dc_writer_finish(w);
}

/* Checks a reader holds exactly the test model. */
static void check_model(dc_reader *r, const model *m) {
    assert_int_equal(dc_reader_tensor_count(r), 4);
    assert_string_equal(dc_reader_metadata(r), "{\"alpha\":0.8}");
    const void *want[4] = {m->f32, m->f16, m->i8, m->i4};
    size_t sizes[4] = {sizeof(m->f32), sizeof(m->f16), sizeof(m->i8), sizeof(m->i4)};
    for (size_t i = 0; i < 4; i++) {
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        assert_int_equal(dc_reader_tensor(r, i, &d), DC_OK);
        assert_int_equal(d.data_size, sizes[i]);
        uint8_t *out = malloc(sizes[i]);
        size_t failed;
        for (unsigned t = 1; t <= 3; t++) {
            memset(out, 0, sizes[i]);
            assert_int_equal(dc_reader_decode_tensor(r, i, out, sizes[i], t, &failed), DC_OK);
            assert_memory_equal(out, want[i], sizes[i]);
        }
        assert_int_equal(dc_reader_decode_tensor(r, i, out, sizes[i] - 1, 1, &failed),
                         DC_ERR_DST_TOO_SMALL);
        free(out);
    }
    size_t idx;
    assert_int_equal(dc_reader_find(r, "layers.0.wq", &idx), DC_OK);
    assert_int_equal(idx, 2);
    assert_int_equal(dc_reader_find(r, "emb\xc3\xa9.\xe2\x9c\x93", &idx), DC_OK);
    assert_int_equal(idx, 1);
    assert_int_equal(dc_reader_find(r, "nope", &idx), DC_ERR_NOT_FOUND);
    dc_tensor_desc d = {.struct_size = sizeof(d)};
    assert_int_equal(dc_reader_tensor(r, 2, &d), DC_OK);
    assert_int_equal(d.bits, 8);
    assert_int_equal(d.granularity, DC_QUANT_PER_CHANNEL);
    assert_int_equal(d.source_dtype, DC_DTYPE_BF16);
    assert_int_equal(d.n_scales, 40);
    assert_memory_equal(d.scales, m->i8_scales, sizeof(m->i8_scales));
    assert_int_equal(d.n_smooth, 300);
    assert_memory_equal(d.smooth, m->smooth, sizeof(m->smooth));
    assert_true(d.alpha == 0.8f && d.sparsity == 0.2f);
    assert_int_equal(d.prune_method, DC_PRUNE_DC);
    assert_true(d.n_chunks >= 10); /* 12000 bytes in 1 KiB chunks */
    const void *chunk;
    size_t csize, raw, w;
    uint8_t buf[1024], copy[2048];
    dc_status st = dc_reader_chunk(r, 2, 3, &chunk, &csize, &raw);
    if (st == DC_ERR_UNSUPPORTED) { /* DC_READER_NO_MMAP */
        assert_null(chunk);
        chunk = copy;
    } else {
        assert_int_equal(st, DC_OK);
    }
    size_t csize2, raw2;
    assert_int_equal(dc_reader_read_chunk(r, 2, 3, copy, csize - 1, &csize2, &raw2),
                     DC_ERR_DST_TOO_SMALL);
    assert_int_equal(csize2, csize);
    assert_int_equal(dc_reader_read_chunk(r, 2, 3, copy, sizeof(copy), &csize2, &raw2), DC_OK);
    assert_int_equal(csize2, csize);
    assert_int_equal(raw2, raw);
    if (chunk != copy) assert_memory_equal(copy, chunk, csize);
    assert_int_equal(dc_chunk_decompress(NULL, chunk, csize, buf, sizeof(buf), &w), DC_OK);
    assert_int_equal(w, raw);
    assert_memory_equal(buf, m->i8 + 3 * 1024, raw);
    assert_int_equal(dc_reader_chunk(r, 2, d.n_chunks, &chunk, &csize, &raw),
                     DC_ERR_INVALID_ARGUMENT);
}

static void test_roundtrip(void **state) {
    (void)state;
    static model m;
    make_model(&m);
    char path[512];
    path_in(path, sizeof(path), "m.dcz");
    unlink(path);
    for (unsigned threads = 1; threads <= 2; threads++) {
        assert_int_equal(write_model(path, &m, threads, 1), DC_OK);
        dc_reader *r;
        const char *why;
        assert_int_equal(dc_reader_open_file(path, NULL, &r, &why), DC_OK);
        check_model(r, &m);
        /* chunk data is 64-byte aligned in the file (and the mapping is
         * page-aligned): a chunk's header, or a raw chunk's payload (file
         * version 2), which dc_reader_chunk_raw_view hands out in place */
        int raw_chunks = 0;
        for (size_t i = 0; i < dc_reader_tensor_count(r); i++) {
            const void *chunk, *view;
            size_t cs, vs;
            dc_codec codec;
            assert_int_equal(dc_reader_chunk(r, i, 0, &chunk, &cs, NULL), DC_OK);
            assert_int_equal(dc_chunk_info(chunk, cs, NULL, NULL, &codec), DC_OK);
            if (codec == DC_CODEC_RAW) {
                raw_chunks++;
                assert_int_equal(((uintptr_t)chunk + DC_CHUNK_HEADER_SIZE) % 64, 0);
                assert_int_equal(dc_reader_chunk_raw_view(r, i, 0, &view, &vs), DC_OK);
                assert_int_equal((uintptr_t)view % 64, 0);
            } else {
                assert_int_equal((uintptr_t)chunk % 64, 0);
                assert_int_equal(dc_reader_chunk_raw_view(r, i, 0, &view, &vs), DC_ERR_UNSUPPORTED);
            }
        }
        /* the oldest version that holds the file: 2 with a payload-aligned raw chunk */
        const uint8_t *hdr = chunk_file_header(path);
        assert_int_equal(dc_load_le32(hdr + 8), raw_chunks ? 2u : 1u);
        dc_reader_close(r);
        size_t n;
        uint8_t *bytes = gen_read_file(path, &n);
        assert_non_null(bytes);
        assert_int_equal(dc_reader_open_memory(bytes, n, NULL, &r, &why), DC_OK);
        check_model(r, &m);
        dc_reader_close(r);
        free(bytes);
        dc_reader_options ro = {sizeof(ro), DC_READER_NO_MMAP, NULL};
        assert_int_equal(dc_reader_open_file_ex(path, &ro, &r, &why), DC_OK);
        check_model(r, &m);
        dc_reader_close(r);
        ro.flags = 16; /* unknown */
        assert_int_equal(dc_reader_open_file_ex(path, &ro, &r, &why), DC_ERR_INVALID_ARGUMENT);
    }
}

/* dc_reader_chunk_location: where every chunk lies, in both reader modes;
 * the bytes at file_offset decode to the tensor's [raw_offset, +raw_size). */
static void test_chunk_location(void **state) {
    (void)state;
    static model m;
    make_model(&m);
    char path[512];
    path_in(path, sizeof(path), "loc.dcz");
    unlink(path);
    assert_int_equal(write_model(path, &m, 1, 1), DC_OK);
    size_t fsize;
    uint8_t *file = gen_read_file(path, &fsize);
    assert_non_null(file);
    for (int mode = 0; mode < 2; mode++) {
        dc_reader_options ro = {sizeof(ro), mode ? DC_READER_NO_MMAP : 0, NULL};
        dc_reader *r;
        const char *why;
        assert_int_equal(dc_reader_open_file_ex(path, &ro, &r, &why), DC_OK);
        size_t multi = 0;
        for (size_t i = 0; i < dc_reader_tensor_count(r); i++) {
            dc_tensor_desc d = {.struct_size = sizeof(d)};
            assert_int_equal(dc_reader_tensor(r, i, &d), DC_OK);
            uint8_t *all = malloc(d.data_size), *one = malloc(d.data_size);
            assert_non_null(all);
            assert_non_null(one);
            assert_int_equal(dc_reader_decode_tensor(r, i, all, d.data_size, 1, NULL), DC_OK);
            uint64_t next = 0;
            for (size_t c = 0; c < d.n_chunks; c++) {
                dc_chunk_location l = {.struct_size = sizeof(l)};
                assert_int_equal(dc_reader_chunk_location(r, i, c, &l), DC_OK);
                assert_int_equal((l.file_offset + (l.codec == DC_CODEC_RAW ? 20 : 0)) % 64, 0);
                assert_true(l.file_offset + l.size <= fsize);
                assert_int_equal(l.raw_offset, next);
                next += l.raw_size;
                size_t size, raw, got;
                uint8_t copy[4096];
                assert_int_equal(dc_reader_read_chunk(r, i, c, copy, sizeof copy, &size, &raw),
                                 DC_OK);
                assert_int_equal(size, l.size);
                assert_int_equal(raw, l.raw_size);
                assert_memory_equal(copy, file + l.file_offset, size);
                size_t cb, rs;
                dc_codec codec;
                assert_int_equal(dc_chunk_info(file + l.file_offset, l.size, &cb, &rs, &codec),
                                 DC_OK);
                assert_int_equal(codec, l.codec);
                assert_int_equal(dc_load_le32(file + l.file_offset + 16), l.checksum);
                assert_int_equal(
                    dc_chunk_decompress(NULL, file + l.file_offset, l.size, one, d.data_size, &got),
                    DC_OK);
                assert_int_equal(got, l.raw_size);
                assert_memory_equal(one, all + l.raw_offset, got);
            }
            assert_int_equal(next, d.data_size);
            if (d.n_chunks > 1) multi++;
            free(all);
            free(one);
            dc_chunk_location l = {.struct_size = sizeof(l)};
            assert_int_equal(dc_reader_chunk_location(r, i, d.n_chunks, &l),
                             DC_ERR_INVALID_ARGUMENT);
        }
        assert_true(multi >= 1); /* the INT8 tensor spans several 1 KiB chunks */
        dc_chunk_location l = {.struct_size = sizeof(l)};
        assert_int_equal(dc_reader_chunk_location(r, dc_reader_tensor_count(r), 0, &l),
                         DC_ERR_INVALID_ARGUMENT);
        assert_int_equal(dc_reader_chunk_location(r, 0, 0, NULL), DC_ERR_INVALID_ARGUMENT);
        assert_int_equal(dc_reader_chunk_location(NULL, 0, 0, &l), DC_ERR_INVALID_ARGUMENT);
        l.struct_size = 0;
        assert_int_equal(dc_reader_chunk_location(r, 0, 0, &l), DC_ERR_INVALID_ARGUMENT);
        /* an older, shorter struct: only its fields are written */
        union {
            dc_chunk_location l;
            uint8_t b[sizeof(dc_chunk_location)];
        } u;
        memset(&u, 0xAB, sizeof u);
        u.l.struct_size = sizeof(size_t) + 8; /* struct_size and file_offset */
        assert_int_equal(dc_reader_chunk_location(r, 0, 0, &u.l), DC_OK);
        for (size_t k = sizeof(size_t) + 8; k < sizeof u.b; k++)
            assert_int_equal(u.b[k], 0xAB);
        dc_reader_close(r);
    }
    free(file);
    unlink(path);
}

/* A file truncated after it was opened: with DC_READER_NO_MMAP every read
 * gives DC_ERR_TRUNCATED (mapped, the same reads would raise SIGBUS). */
static void test_truncated_while_open(void **state) {
    (void)state;
    static model m;
    make_model(&m);
    char path[512];
    path_in(path, sizeof(path), "shrinks.dcz");
    assert_int_equal(write_model(path, &m, 1, 1), DC_OK);
    dc_reader_options ro = {sizeof(ro), DC_READER_NO_MMAP, NULL};
    dc_reader *r;
    const char *why;
    assert_int_equal(dc_reader_open_file_ex(path, &ro, &r, &why), DC_OK);
    assert_int_equal(truncate(path, 200), 0);
    uint8_t buf[sizeof(m.i8)];
    size_t failed = 99, cs;
    for (unsigned t = 1; t <= 2; t++)
        assert_int_equal(dc_reader_decode_tensor(r, 2, buf, sizeof(buf), t, &failed),
                         DC_ERR_TRUNCATED);
    assert_true(failed < 99);
    assert_int_equal(dc_reader_read_chunk(r, 2, 1, buf, sizeof(buf), &cs, NULL), DC_ERR_TRUNCATED);
    dc_reader_close(r);
    /* Truncated between open and the reading of its tables. */
    assert_int_equal(dc_reader_open_file_ex(path, &ro, &r, &why), DC_ERR_TRUNCATED);
    assert_non_null(strstr(why, "truncated"));
}

/* Counts files in g_dir whose name contains `part`. */
static int count_files(const char *part) {
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, part) != NULL;
    closedir(d);
    return n;
}

/* DC_ERR_IO leaves the reason in errno; outputs respect the umask; the
 * temporary file is named recognisably, removable by a signal handler, and
 * leftovers of dead processes are removed by the next writer. */
static void test_files_and_errors(void **state) {
    (void)state;
    static model m;
    make_model(&m);
    char path[512];
    dc_reader *r;
    const char *why;
    dc_writer *w;
    errno = 0;
    assert_int_equal(dc_reader_open_file("/nonexistent/x.dcz", NULL, &r, &why), DC_ERR_IO);
    assert_int_equal(errno, ENOENT);
    errno = 0;
    assert_int_equal(dc_writer_create("/nonexistent/x.dcz", NULL, &w), DC_ERR_IO);
    assert_int_equal(errno, ENOENT);
    path_in(path, sizeof(path), "exists.dcz");
    assert_int_equal(write_model(path, &m, 1, 1), DC_OK);
    errno = 0;
    assert_int_equal(write_model(path, &m, 1, 0), DC_ERR_IO);
    assert_int_equal(errno, EEXIST);
    errno = 0;
    dc_writer_options force = {sizeof(force), DC_CODEC_ANS, 0, 0, 1, 1, NULL, 0};
    assert_int_equal(dc_writer_create(g_dir, &force, &w), DC_ERR_IO); /* a directory */
    assert_int_equal(errno, EISDIR);
    dc_stats *st;
    assert_int_equal(dc_stats_create(4, NULL, &st), DC_OK);
    const char *names[1] = {"l"};
    const dc_stats *sts[1] = {st};
    errno = 0;
    assert_int_equal(dc_stats_save("/nonexistent/s.stats", names, sts, 1), DC_ERR_IO);
    assert_int_equal(errno, ENOENT);
    errno = 0;
    dc_stats_file *sf;
    assert_int_equal(dc_stats_file_open("/nonexistent/s.stats", NULL, &sf), DC_ERR_IO);
    assert_int_equal(errno, ENOENT);

    /* modes: 0666 & ~umask, as cp; a replaced file keeps its mode */
    struct stat sb;
    mode_t old = umask(027);
    path_in(path, sizeof(path), "mode.dcz");
    assert_int_equal(write_model(path, &m, 1, 1), DC_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
    path_in(path, sizeof(path), "mode.stats");
    assert_int_equal(dc_stats_save(path, names, sts, 1), DC_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(dc_stats_save(path, names, sts, 1), DC_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0604);
    umask(old);
    dc_stats_free(st);

    /* the temporary file: named ".<name>.dcz-tmp.<pid>.XXXXXX", removed by
     * dc_temp_files_remove() (then the writer cannot finish) */
    path_in(path, sizeof(path), "sig.dcz");
    char tag[64];
    snprintf(tag, sizeof(tag), ".sig.dcz.dcz-tmp.%ld.", (long)getpid());
    assert_int_equal(dc_writer_create(path, NULL, &w), DC_OK);
    assert_int_equal(count_files(tag), 1);
    dc_temp_files_remove();
    assert_int_equal(count_files(tag), 0);
    errno = 0;
    assert_int_equal(dc_writer_finish(w), DC_ERR_IO);
    assert_int_equal(errno, ENOENT);
    assert_int_not_equal(access(path, F_OK), 0);

    /* a leftover of a dead process is removed; a live one's stays */
    pid_t child = fork();
    if (child == 0) _exit(0);
    assert_true(child > 0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    char dead[600], live[600];
    snprintf(dead, sizeof(dead), "%s/.sig.dcz.dcz-tmp.%ld.abcDEF", g_dir, (long)child);
    snprintf(live, sizeof(live), "%s/.sig.dcz.dcz-tmp.%ld.abcDEF", g_dir, (long)getppid());
    FILE *f = fopen(dead, "wb");
    fclose(f);
    f = fopen(live, "wb");
    fclose(f);
    assert_int_equal(write_model(path, &m, 1, 1), DC_OK);
    assert_int_not_equal(access(dead, F_OK), 0);
    assert_int_equal(access(live, F_OK), 0);
    unlink(live);
    assert_int_equal(count_files("dcz-tmp"), 0);
}

static void test_no_overwrite_and_atomic(void **state) {
    (void)state;
    static model m;
    make_model(&m);
    char path[512];
    path_in(path, sizeof(path), "keep.dcz");
    FILE *f = fopen(path, "wb");
    fputs("precious", f);
    fclose(f);
    assert_int_equal(write_model(path, &m, 1, 0), DC_ERR_IO); /* refuses to overwrite */
    size_t n;
    uint8_t *b = gen_read_file(path, &n);
    assert_int_equal(n, 8);
    free(b);
    /* An aborted writer leaves neither the target nor a temporary file. */
    path_in(path, sizeof(path), "aborted.dcz");
    dc_writer *w;
    assert_int_equal(dc_writer_create(path, NULL, &w), DC_OK);
    dc_writer_abort(w);
    assert_int_not_equal(access(path, F_OK), 0);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "ls -A %s | grep -c tmp || true", g_dir);
    FILE *p = popen(cmd, "r");
    int count = -1;
    assert_int_equal(fscanf(p, "%d", &count), 1);
    pclose(p);
    assert_int_equal(count, 0);
}

static void test_writer_rejects(void **state) {
    (void)state;
    char path[512];
    path_in(path, sizeof(path), "rej.dcz");
    dc_writer *w;
    assert_int_equal(dc_writer_create(path, NULL, &w), DC_OK);
    float v[6] = {1, 2, 3, 4, 5, 6}, bad[1] = {NAN};
    uint8_t q[6] = {0};
    dc_tensor_desc d = desc_base("a", 2, 2, 3);
    d.dtype = DC_DTYPE_F32;
    assert_int_equal(dc_writer_add_tensor(w, &d, v, 20), DC_ERR_SIZE_MISMATCH);
    d.ndim = 0;
    assert_int_equal(dc_writer_add_tensor(w, &d, v, 24), DC_ERR_INVALID_ARGUMENT);
    d.ndim = 2;
    d.dtype = (dc_dtype)7; /* not a dtype (unquantized I8 is: opaque bytes, test_gguf) */
    assert_int_equal(dc_writer_add_tensor(w, &d, v, 6), DC_ERR_INVALID_ARGUMENT);
    d.dtype = DC_DTYPE_I8;
    d.bits = 8;
    d.granularity = DC_QUANT_PER_TENSOR;
    d.n_scales = 1;
    d.scales = bad;
    assert_int_equal(dc_writer_add_tensor(w, &d, q, 6), DC_ERR_NOT_FINITE);
    d.n_scales = 2; /* per-tensor needs exactly one */
    assert_int_equal(dc_writer_add_tensor(w, &d, q, 6), DC_ERR_INVALID_ARGUMENT);
    d.bits = 0;
    d.dtype = DC_DTYPE_F32;
    d.n_scales = 0;
    d.scales = NULL;
    assert_int_equal(dc_writer_add_tensor(w, &d, v, 24), DC_OK);
    assert_int_equal(dc_writer_add_tensor(w, &d, v, 24), DC_ERR_INVALID_ARGUMENT); /* dup name */
    dc_writer_abort(w);
}

/* Quantization flags (format 6.4, since 0.1.0): binary16 scales go through
 * a chunk in the tensor record and come back exactly, negative ones too
 * (the full grid); a scale that is not a binary16 value, unknown flags and
 * flags on the wrong tensors are refused; a caller whose struct ends before
 * quant_flags still writes (as 0). */
static void test_quant_flags(void **state) {
    (void)state;
    char path[512];
    path_in(path, sizeof(path), "qf.dcz");
    unlink(path);
    dc_writer *w;
    assert_int_equal(dc_writer_create(path, NULL, &w), DC_OK);
    enum { R = 64, C = 64, G = 32, NS = R * (C / G) };
    static uint8_t q[R * C / 2];
    static float sc[NS];
    for (size_t k = 0; k < sizeof q; k++)
        q[k] = (uint8_t)(k * 37u);
    for (size_t k = 0; k < NS; k++) /* binary16 values: 11 significant bits */
        sc[k] = (float)((int)(k % 2047) - 1023) / 1024.0f * (k % 3 ? 1.0f : -0.5f);
    dc_tensor_desc d = desc_base("w4", 2, R, C);
    d.dtype = DC_DTYPE_I8;
    d.bits = 4;
    d.granularity = DC_QUANT_PER_GROUP;
    d.group_size = G;
    d.scales = sc;
    d.n_scales = NS;
    d.quant_flags = DC_QUANT_FULL_GRID | DC_QUANT_F16_SCALES;
    assert_int_equal(dc_writer_add_tensor(w, &d, q, sizeof q), DC_OK);
    dc_tensor_desc e = d;
    e.name = "bad";
    e.quant_flags = 4;
    assert_int_equal(dc_writer_add_tensor(w, &e, q, sizeof q), DC_ERR_INVALID_ARGUMENT);
    e.quant_flags = DC_QUANT_F16_SCALES;
    float sc2[NS];
    memcpy(sc2, sc, sizeof sc2);
    sc2[5] = 1.0f + 1.0f / 4096.0f; /* not a binary16 value */
    e.scales = sc2;
    assert_int_equal(dc_writer_add_tensor(w, &e, q, sizeof q), DC_ERR_RANGE);
    e.scales = sc;
    e.quant_flags = DC_QUANT_FULL_GRID;
    e.bits = 8;
    static uint8_t q8[R * C];
    assert_int_equal(dc_writer_add_tensor(w, &e, q8, sizeof q8), DC_ERR_INVALID_ARGUMENT);
    dc_tensor_desc old = desc_base("old", 2, R, C); /* a caller built before quant_flags */
    old.struct_size = offsetof(dc_tensor_desc, quant_flags);
    old.quant_flags = DC_QUANT_F16_SCALES; /* beyond its struct_size: not read */
    old.dtype = DC_DTYPE_I8;
    old.bits = 8;
    old.granularity = DC_QUANT_PER_TENSOR;
    float one = 1.0f / 3.0f; /* not binary16: fine without the flag */
    old.scales = &one;
    old.n_scales = 1;
    assert_int_equal(dc_writer_add_tensor(w, &old, q8, sizeof q8), DC_OK);
    assert_int_equal(dc_writer_finish(w), DC_OK);

    dc_reader *r;
    const char *why;
    assert_int_equal(dc_reader_open_file(path, NULL, &r, &why), DC_OK);
    size_t i;
    assert_int_equal(dc_reader_find(r, "w4", &i), DC_OK);
    dc_tensor_desc g = {.struct_size = sizeof(g)};
    assert_int_equal(dc_reader_tensor(r, i, &g), DC_OK);
    assert_int_equal(g.quant_flags, DC_QUANT_FULL_GRID | DC_QUANT_F16_SCALES);
    assert_int_equal(g.n_scales, NS);
    assert_memory_equal(g.scales, sc, sizeof sc);
    uint8_t back[sizeof q];
    assert_int_equal(dc_reader_decode_tensor(r, i, back, sizeof back, 1, NULL), DC_OK);
    assert_memory_equal(back, q, sizeof q);
    assert_int_equal(dc_reader_find(r, "old", &i), DC_OK);
    assert_int_equal(dc_reader_tensor(r, i, &g), DC_OK);
    assert_int_equal(g.quant_flags, 0);
    assert_true(g.scales[0] == one);
    dc_reader_close(r);
}

/* Issue 9: size arithmetic that divided by zero or overflowed, per-group
 * tensors with no scales, names and metadata that are not UTF-8, and empty
 * tensors (kept, with no chunks). */
static void test_writer_edges(void **state) {
    (void)state;
    char path[512];
    path_in(path, sizeof(path), "edges.dcz");
    dc_writer *w;
    assert_int_equal(dc_writer_create(path, NULL, &w), DC_OK);
    float one = 1.0f, two[2] = {0.5f, 0.25f};
    uint8_t q[6] = {1, 2, 3, 4, 5, 6};
    /* a 4-bit row of 2^64 - 1 columns: (cols + 1) / 2 was 0, then a division by it */
    dc_tensor_desc d = desc_base("q4", 2, 1, UINT64_MAX);
    d.dtype = DC_DTYPE_I8;
    d.bits = 4;
    d.scales = &one;
    d.n_scales = 1;
    assert_int_not_equal(dc_writer_add_tensor(w, &d, q, 0), DC_OK);
    d.dims[0] = UINT64_MAX, d.dims[1] = 3;
    d.bits = 8;
    assert_int_not_equal(dc_writer_add_tensor(w, &d, q, 6), DC_OK);
    /* per-group with G = 0 or G near 2^64 and no scales: refused */
    d = desc_base("g", 2, 2, 3);
    d.dtype = DC_DTYPE_I8;
    d.bits = 8;
    d.granularity = DC_QUANT_PER_GROUP;
    d.group_size = 0;
    assert_int_equal(dc_writer_add_tensor(w, &d, q, 6), DC_ERR_INVALID_ARGUMENT);
    d.group_size = UINT64_MAX;
    assert_int_equal(dc_writer_add_tensor(w, &d, q, 6), DC_ERR_INVALID_ARGUMENT);
    d.group_size = UINT64_MAX - 1;
    assert_int_equal(dc_writer_add_tensor(w, &d, q, 6), DC_ERR_INVALID_ARGUMENT);
    d.scales = two; /* one group per row: 2 scales */
    d.n_scales = 2;
    assert_int_equal(dc_writer_add_tensor(w, &d, q, 6), DC_OK);
    /* names and metadata must be UTF-8 */
    dc_tensor_desc e = desc_base("bad\xff", 1, 1, 0);
    e.dtype = DC_DTYPE_F32;
    assert_int_equal(dc_writer_add_tensor(w, &e, &one, 4), DC_ERR_INVALID_ARGUMENT);
    e.name = "\xed\xa0\x80"; /* a surrogate */
    assert_int_equal(dc_writer_add_tensor(w, &e, &one, 4), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_writer_set_metadata(w, "{\"a\":\"\xc3\x28\"}"), DC_ERR_INVALID_ARGUMENT);
    /* empty tensors are stored (no chunks) and read back */
    e = desc_base("empty", 2, 0, 5);
    e.dtype = DC_DTYPE_F32;
    assert_int_equal(dc_writer_add_tensor(w, &e, NULL, 0), DC_OK);
    e.name = "empty.q4";
    e.dims[0] = 3, e.dims[1] = 0;
    e.dtype = DC_DTYPE_I8, e.bits = 4, e.granularity = DC_QUANT_PER_CHANNEL;
    e.scales = two, e.n_scales = 2;
    assert_int_equal(dc_writer_add_tensor(w, &e, NULL, 0), DC_ERR_INVALID_ARGUMENT); /* 3 rows */
    float three[3] = {1, 1, 1};
    e.scales = three, e.n_scales = 3;
    assert_int_equal(dc_writer_add_tensor(w, &e, NULL, 0), DC_OK);
    assert_int_equal(dc_writer_set_metadata(w, "{\"\xc3\xa9\":1}"), DC_OK);
    assert_int_equal(dc_writer_finish(w), DC_OK);
    dc_reader *r;
    const char *why;
    assert_int_equal(dc_reader_open_file(path, NULL, &r, &why), DC_OK);
    assert_int_equal(dc_reader_tensor_count(r), 3);
    dc_tensor_desc got = {.struct_size = sizeof(got)};
    assert_int_equal(dc_reader_tensor(r, 1, &got), DC_OK);
    assert_string_equal(got.name, "empty");
    assert_int_equal(got.data_size, 0);
    assert_int_equal(got.n_chunks, 0);
    assert_int_equal(got.dims[0], 0);
    assert_int_equal(dc_reader_decode_tensor(r, 1, NULL, 0, 2, NULL), DC_OK);
    assert_int_equal(dc_reader_tensor(r, 0, &got), DC_OK);
    assert_int_equal(got.group_size, UINT64_MAX - 1);
    dc_reader_close(r);
}

static void test_utf8(void **state) {
    (void)state;
    static const char *const good[] = {"",
                                       "abc",
                                       "\xc3\xa9",
                                       "\xe2\x9c\x93",
                                       "\xf0\x9f\x98\x80",
                                       "\xf4\x8f\xbf\xbf",
                                       "\xef\xbf\xbd"};
    static const char *const bad[] = {"\xff",         "\xc3",         "\xc0\xaf",
                                      "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                      "\x80",         "\xe2\x9c",     "a\xc3\x28"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(dc_utf8_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(dc_utf8_valid(bad[i], strlen(bad[i])));
}

/* Every prefix, and every single-bit flip, of a small file: open or decode
 * fails with a status, or (flips in padding/unused bytes) the content read
 * back is exactly the original. Never a crash (ASan checks the rest). */
/* Scales that binary16 holds exactly are stored in 2 bytes each (record
 * flag 1, docs/format.md 6.4) and read back bit-exactly; one scale that is
 * not a binary16 value keeps the whole tensor's scales in 4 bytes. */
static void test_f16_scales(void **state) {
    (void)state;
    static int8_t q[64 * 64];
    float sc[64 * 2];
    for (size_t i = 0; i < sizeof(q); i++)
        q[i] = (int8_t)((i * 37) % 255 - 127);
    for (size_t i = 0; i < 128; i++) /* binary16 values: normal, subnormal, -0 */
        sc[i] = i == 5 ? 5.9604645e-08f : i == 6 ? -0.0f : (float)(i + 1) / 1024.0f;
    size_t size[2];
    for (int k = 0; k < 2; k++) {
        char path[512];
        path_in(path, sizeof(path), k ? "f32s.dcz" : "f16s.dcz");
        unlink(path);
        float s2[128];
        memcpy(s2, sc, sizeof(s2));
        if (k) s2[77] = 0.1f; /* not a binary16 value */
        dc_writer_options o = {sizeof(o), DC_CODEC_ANS, 0, 0, 1, 1, NULL, 0};
        dc_writer *w;
        assert_int_equal(dc_writer_create(path, &o, &w), DC_OK);
        dc_tensor_desc d = desc_base("blk.0.attn_q.weight", 2, 64, 64);
        d.source_dtype = d.dtype = DC_DTYPE_I8;
        d.bits = 8;
        d.granularity = DC_QUANT_PER_GROUP;
        d.group_size = 32;
        d.scales = s2;
        d.n_scales = 128;
        assert_int_equal(dc_writer_add_tensor(w, &d, q, sizeof(q)), DC_OK);
        assert_int_equal(dc_writer_finish(w), DC_OK);
        uint8_t *bytes = gen_read_file(path, &size[k]);
        assert_non_null(bytes);
        dc_reader *r;
        const char *why;
        assert_int_equal(dc_reader_open_memory(bytes, size[k], NULL, &r, &why), DC_OK);
        dc_tensor_desc got = {.struct_size = sizeof(got)};
        assert_int_equal(dc_reader_tensor(r, 0, &got), DC_OK);
        assert_int_equal(got.n_scales, 128);
        assert_memory_equal(got.scales, s2, sizeof(s2)); /* bits, -0 included */
        dc_reader_close(r);
        free(bytes);
    }
    /* binary16 scales, one chunk of 2-byte values: 128 x 4 bytes become 256 or fewer (+ 24) */
    assert_true(size[1] >= size[0] + 128 * 2 - 24);
}

static void test_hostile(void **state) {
    (void)state;
    static model m;
    make_model(&m);
    char path[512];
    path_in(path, sizeof(path), "h.dcz");
    assert_int_equal(write_model(path, &m, 1, 1), DC_OK);
    size_t n;
    uint8_t *orig = gen_read_file(path, &n);
    assert_non_null(orig);
    uint8_t *b = malloc(n);
    dc_reader *r;
    const char *why;
    for (size_t len = 0; len < n; len++) {
        memcpy(b, orig, len);
        assert_int_not_equal(dc_reader_open_memory(b, len, NULL, &r, &why), DC_OK);
        assert_true(why != NULL && why[0] != '\0');
    }
    size_t opened = 0;
    for (size_t bit = 0; bit < n * 8; bit += (bit < 8 * 200 ? 1 : 7)) {
        memcpy(b, orig, n);
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (dc_reader_open_memory(b, n, NULL, &r, &why) != DC_OK) continue;
        opened++;
        for (size_t i = 0; i < dc_reader_tensor_count(r); i++) {
            dc_tensor_desc d = {.struct_size = sizeof(d)};
            assert_int_equal(dc_reader_tensor(r, i, &d), DC_OK);
            uint8_t *out = malloc(d.data_size);
            size_t failed;
            if (dc_reader_decode_tensor(r, i, out, d.data_size, 1, &failed) == DC_OK) {
                const void *want[4] = {m.f32, m.f16, m.i8, m.i4};
                assert_memory_equal(out, want[i], d.data_size);
            }
            free(out);
        }
        dc_reader_close(r);
    }
    print_message("bit flips that still opened (data/padding): %zu\n", opened);
    /* Forged header fields with a recomputed header checksum. */
    const size_t fields[] = {16, 24, 32, 40, 48, 56, 64, 72};
    const uint64_t values[] = {0, 1, 0x7FFFFFFFFFFFFFFFull, UINT64_MAX, 127, 129};
    for (size_t fi = 0; fi < sizeof(fields) / sizeof(fields[0]); fi++)
        for (size_t vi = 0; vi < sizeof(values) / sizeof(values[0]); vi++) {
            memcpy(b, orig, n);
            dc_store_le64(b + fields[fi], values[vi]);
            dc_store_le32(b + 92, dc_checksum32(b, 92));
            if (dc_reader_open_memory(b, n, NULL, &r, &why) == DC_OK) {
                /* only a no-op forgery may open */
                assert_memory_equal(b, orig, n);
                dc_reader_close(r);
            }
        }
    free(b);
    free(orig);
    assert_int_equal(dc_reader_open_file("/nonexistent/x.dcz", NULL, &r, &why), DC_ERR_IO);
    assert_int_equal(dc_reader_open_memory("hello", 5, NULL, &r, &why), DC_ERR_FORMAT);
}

/* An allocator that tracks live and peak bytes (a 16-byte size header). */
typedef struct meter {
    size_t live, peak;
} meter;

static void *meter_alloc(void *opaque, size_t size) {
    meter *m = (meter *)opaque;
    uint8_t *p = malloc(size + 16);
    if (!p) return NULL;
    memcpy(p, &size, sizeof(size));
    m->live += size;
    if (m->live > m->peak) m->peak = m->live;
    return p + 16;
}

static void meter_free(void *opaque, void *ptr) {
    if (!ptr) return;
    meter *m = (meter *)opaque;
    uint8_t *p = (uint8_t *)ptr - 16;
    size_t size;
    memcpy(&size, p, sizeof(size));
    m->live -= size;
    free(p);
}

/* Scratch is sized to the tensor: writing 4-byte tensors with the default
 * 256 KiB chunk size never holds anything near a chunk's worth of buffers
 * (it used to allocate 4 x 256 KiB per tensor). */
static void test_small_tensor_scratch(void **state) {
    (void)state;
    char path[512];
    path_in(path, sizeof(path), "small.dcz");
    meter m = {0, 0};
    dc_allocator al = {sizeof(al), meter_alloc, meter_free, &m};
    dc_writer_options o = {sizeof(o), DC_CODEC_ANS, 0, 0, 1, 1, &al, 0};
    dc_writer *w;
    assert_int_equal(dc_writer_create(path, &o, &w), DC_OK);
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%d", i);
        dc_tensor_desc d = desc_base(name, 1, 1, 0);
        d.source_dtype = d.dtype = DC_DTYPE_F32;
        float v = (float)i;
        assert_int_equal(dc_writer_add_tensor(w, &d, &v, 4), DC_OK);
    }
    assert_int_equal(dc_writer_finish(w), DC_OK);
    print_message("peak writer memory for 200 4-byte tensors: %zu bytes\n", m.peak);
    assert_true(m.peak < 128 * 1024);
    assert_int_equal(m.live, 0);
}

/* FNV-1a, as the reader hashes names. */
static uint64_t fnv1a(const char *s) {
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Names crafted to share one home slot in the reader's hash set (40 names:
 * 128 slots) go past its probe limit: the reader falls back to its sorted
 * index, and every name is still found, and a duplicate still refused. */
static void test_find_colliding_names(void **state) {
    (void)state;
    enum { N = 40 };
    static char names[N][24];
    int got = 0;
    for (unsigned c = 0; got < N; c++) {
        snprintf(names[got], sizeof names[got], "c.%u", c);
        if ((fnv1a(names[got]) & 127) == 0) got++;
    }
    for (int dup = 0; dup < 2; dup++) {
        uint8_t *file = NULL;
        size_t fsize = 0;
        char path[512];
        path_in(path, sizeof(path), "collide.dcz");
        dc_writer_options o = {sizeof(o), DC_CODEC_RAW, 0, 1024, 1, 1, NULL, 0};
        dc_writer *w;
        assert_int_equal(dc_writer_create(path, &o, &w), DC_OK);
        static const float v[2] = {1.0f, 2.0f};
        for (int i = 0; i < N; i++) {
            dc_tensor_desc d = desc_base(names[i], 1, 2, 0);
            d.source_dtype = d.dtype = DC_DTYPE_F32;
            assert_int_equal(dc_writer_add_tensor(w, &d, v, sizeof v), DC_OK);
        }
        assert_int_equal(dc_writer_finish(w), DC_OK);
        dc_reader *r;
        if (dup) {
            /* the writer refuses duplicates, so forge one: rename the last
             * tensor as an earlier one of the same name length, then fix
             * the table's and the header's checksums */
            FILE *f = fopen(path, "rb");
            assert_non_null(f);
            fseek(f, 0, SEEK_END);
            fsize = (size_t)ftell(f);
            fseek(f, 0, SEEK_SET);
            file = malloc(fsize);
            assert_int_equal(fread(file, 1, fsize, f), fsize);
            fclose(f);
            size_t l1 = strlen(names[N - 1]), j = 0;
            while (strlen(names[j]) != l1)
                j++;
            assert_true(j < N - 1);
            uint8_t *p = NULL;
            for (size_t k = 0; k + l1 < fsize; k++)
                if (memcmp(file + k, names[N - 1], l1) == 0) p = file + k;
            assert_non_null(p);
            memcpy(p, names[j], l1);
            /* the table checksum (header byte 80) over the changed table */
            uint64_t toff = 0, tlen = 0;
            for (int b = 7; b >= 0; b--) {
                toff = toff << 8 | file[32 + b];
                tlen = tlen << 8 | file[40 + b];
            }
            uint32_t ck = dc_checksum32(file + toff, (size_t)tlen);
            for (int b = 0; b < 4; b++)
                file[80 + b] = (uint8_t)(ck >> (8 * b));
            uint32_t hk = dc_checksum32(file, 92);
            for (int b = 0; b < 4; b++)
                file[92 + b] = (uint8_t)(hk >> (8 * b));
            const char *why = NULL;
            assert_int_equal(dc_reader_open_memory(file, fsize, NULL, &r, &why), DC_ERR_CORRUPT);
            assert_string_equal(why, "tensor table: duplicate tensor name");
            free(file);
            continue;
        }
        assert_int_equal(dc_reader_open_file(path, NULL, &r, NULL), DC_OK);
        for (int i = 0; i < N; i++) {
            size_t idx = 99;
            assert_int_equal(dc_reader_find(r, names[i], &idx), DC_OK);
            assert_int_equal(idx, i);
        }
        size_t idx;
        assert_int_equal(dc_reader_find(r, "c.none", &idx), DC_ERR_NOT_FOUND);
        assert_int_equal(dc_reader_find(r, NULL, &idx), DC_ERR_INVALID_ARGUMENT);
        dc_reader_close(r);
    }
}

/* Parallel fors for dc_reader_decode_tensor_pool: all jobs backwards on two
 * alternating workers; all but one job; a worker out of range. */
typedef struct pf_mode {
    int skip;       /* job not run, or -1 */
    unsigned bad_w; /* nonzero: worker given to job 0 */
} pf_mode;
static void pf_backwards(void *pool, size_t n, dc_job_fn job, void *arg) {
    const pf_mode *m = (const pf_mode *)pool;
    for (size_t k = n; k-- > 0;) {
        if ((int)k == m->skip) continue;
        job(arg, k, k == 0 && m->bad_w ? m->bad_w : (unsigned)(k % 2));
    }
}

/* Whole-tensor decodes on the caller's "threads" and contexts. */
static void test_decode_pool(void **state) {
    (void)state;
    static model m;
    make_model(&m);
    char path[512];
    path_in(path, sizeof(path), "pool.dcz");
    assert_int_equal(write_model(path, &m, 1, 1), DC_OK);
    const void *want[4] = {m.f32, m.f16, m.i8, m.i4};
    dc_dctx *dctx[2];
    assert_int_equal(dc_dctx_create(NULL, &dctx[0]), DC_OK);
    assert_int_equal(dc_dctx_create(NULL, &dctx[1]), DC_OK);
    static uint8_t out[sizeof(m.i8)];
    for (int mode = 0; mode < 2; mode++) {
        dc_reader_options ro = {sizeof(ro), mode ? DC_READER_NO_MMAP : 0, NULL};
        dc_reader *r;
        assert_int_equal(dc_reader_open_file_ex(path, &ro, &r, NULL), DC_OK);
        for (size_t i = 0; i < 4; i++) {
            dc_tensor_desc d = {.struct_size = sizeof(d)};
            assert_int_equal(dc_reader_tensor(r, i, &d), DC_OK);
            size_t n = (size_t)d.data_size, failed = 99;
            memset(out, 0, n);
            assert_int_equal(
                dc_reader_decode_tensor_pool(r, i, out, n, dctx, 1, NULL, NULL, &failed), DC_OK);
            assert_memory_equal(out, want[i], n);
            pf_mode pm = {-1, 0};
            memset(out, 0, n);
            assert_int_equal(
                dc_reader_decode_tensor_pool(r, i, out, n, dctx, 2, pf_backwards, &pm, &failed),
                DC_OK);
            assert_memory_equal(out, want[i], n);
            pm.skip = (int)d.n_chunks - 1; /* a pool that drops a job */
            assert_int_equal(
                dc_reader_decode_tensor_pool(r, i, out, n, dctx, 2, pf_backwards, &pm, &failed),
                DC_ERR_INVALID_ARGUMENT);
            assert_int_equal(failed, d.n_chunks - 1);
            pm = (pf_mode){-1, 2}; /* a worker out of range */
            assert_int_equal(
                dc_reader_decode_tensor_pool(r, i, out, n, dctx, 2, pf_backwards, &pm, &failed),
                DC_ERR_INVALID_ARGUMENT);
            assert_int_equal(failed, 0);
            assert_int_equal(
                dc_reader_decode_tensor_pool(r, i, out, n - 1, dctx, 1, NULL, NULL, &failed),
                DC_ERR_DST_TOO_SMALL);
        }
        dc_dctx *none[1] = {NULL};
        assert_int_equal(
            dc_reader_decode_tensor_pool(r, 0, out, sizeof out, dctx, 0, NULL, NULL, NULL),
            DC_ERR_INVALID_ARGUMENT);
        assert_int_equal(
            dc_reader_decode_tensor_pool(r, 0, out, sizeof out, none, 1, NULL, NULL, NULL),
            DC_ERR_INVALID_ARGUMENT);
        assert_int_equal(
            dc_reader_decode_tensor_pool(r, 4, out, sizeof out, dctx, 1, NULL, NULL, NULL),
            DC_ERR_INVALID_ARGUMENT);
        dc_reader_close(r);
    }
    /* a damaged chunk: its index comes back */
    size_t fsize;
    uint8_t *file = gen_read_file(path, &fsize);
    assert_non_null(file);
    dc_reader *r;
    assert_int_equal(dc_reader_open_memory(file, fsize, NULL, &r, NULL), DC_OK);
    dc_chunk_location l = {.struct_size = sizeof(l)};
    assert_int_equal(dc_reader_chunk_location(r, 2, 5, &l), DC_OK);
    dc_reader_close(r);
    file[l.file_offset + l.size - 1] ^= 0x55; /* last payload byte */
    assert_int_equal(dc_reader_open_memory(file, fsize, NULL, &r, NULL), DC_OK);
    size_t failed = 0;
    pf_mode pm = {-1, 0};
    assert_int_not_equal(
        dc_reader_decode_tensor_pool(r, 2, out, sizeof out, dctx, 2, pf_backwards, &pm, &failed),
        DC_OK);
    assert_int_equal(failed, 5);
    dc_reader_close(r);
    free(file);
    dc_dctx_free(dctx[0]);
    dc_dctx_free(dctx[1]);
}

/* chunk_rows: chunks cut on row boundaries, and read back by
 * dc_reader_chunk_rows; rows then decode from their own chunks. */
static void test_chunk_rows(void **state) {
    (void)state;
    static uint8_t v[100 * 300], out[100 * 300];
    gen_laplace(v, sizeof v, 5.0, 0.1, 3);
    const uint64_t modes[4] = {0, DC_CHUNK_ROWS_FIT, 7, 1000};
    const uint64_t want_2d[4] = {0, 3, 7, 100}; /* 1024-byte chunks, 300-byte rows */
    for (int m = 0; m < 4; m++) {
        char path[512];
        path_in(path, sizeof(path), "rows.dcz");
        dc_writer_options o = {sizeof(o), DC_CODEC_ANS, 0, 1024, 2, 1, NULL, modes[m]};
        dc_writer *w;
        assert_int_equal(dc_writer_create(path, &o, &w), DC_OK);
        dc_tensor_desc a = desc_base("m", 2, 100, 300);
        a.source_dtype = a.dtype = DC_DTYPE_I8;
        dc_tensor_desc b = desc_base("v", 1, 5000, 0);
        b.source_dtype = b.dtype = DC_DTYPE_I8;
        assert_int_equal(dc_writer_add_tensor(w, &a, v, sizeof v), DC_OK);
        assert_int_equal(dc_writer_add_tensor(w, &b, v, 5000), DC_OK);
        assert_int_equal(dc_writer_finish(w), DC_OK);
        dc_reader *r;
        assert_int_equal(dc_reader_open_file(path, NULL, &r, NULL), DC_OK);
        uint64_t rpc = 99;
        assert_int_equal(dc_reader_chunk_rows(r, 0, &rpc), m == 0 ? DC_ERR_UNSUPPORTED : DC_OK);
        assert_int_equal(rpc, want_2d[m]);
        const uint64_t rows_per_chunk = rpc;
        assert_int_equal(dc_reader_chunk_rows(r, 1, &rpc), m == 0 ? DC_ERR_UNSUPPORTED : DC_OK);
        assert_int_equal(rpc, m == 0 ? 0 : 1); /* one row: one chunk */
        assert_int_equal(dc_reader_chunk_rows(r, 2, &rpc), DC_ERR_INVALID_ARGUMENT);
        if (m > 0) { /* rows 10 .. 19 from their chunks alone */
            dc_dctx *d;
            assert_int_equal(dc_dctx_create(NULL, &d), DC_OK);
            const uint64_t rpc0 = rows_per_chunk;
            for (uint64_t c = 10 / rpc0; c <= 19 / rpc0; c++) {
                dc_chunk_location l = {.struct_size = sizeof(l)};
                assert_int_equal(dc_reader_chunk_location(r, 0, c, &l), DC_OK);
                assert_int_equal(l.raw_offset, c * rpc0 * 300);
                const void *p;
                size_t size, raw, got;
                assert_int_equal(dc_reader_chunk(r, 0, c, &p, &size, &raw), DC_OK);
                assert_int_equal(dc_chunk_decompress(d, p, size, out + l.raw_offset, raw, &got),
                                 DC_OK);
            }
            assert_memory_equal(out + 10 * 300, v + 10 * 300, 10 * 300);
            dc_dctx_free(d);
        }
        memset(out, 0, sizeof out);
        assert_int_equal(dc_reader_decode_tensor(r, 0, out, sizeof out, 2, NULL), DC_OK);
        assert_memory_equal(out, v, sizeof v);
        dc_reader_close(r);
    }
}

/* The open flags: access hints and MAP_POPULATE change nothing but timing. */
static void test_open_hints(void **state) {
    (void)state;
    char path[512];
    path_in(path, sizeof(path), "hints.dcz");
    dc_writer_options o = {sizeof(o), DC_CODEC_ANS, 0, 4096, 1, 1, NULL, 0};
    dc_writer *w;
    assert_int_equal(dc_writer_create(path, &o, &w), DC_OK);
    static uint8_t v[20000], out[20000];
    for (size_t i = 0; i < sizeof v; i++)
        v[i] = (uint8_t)((i * 31) % 7);
    dc_tensor_desc d = desc_base("t", 2, 100, 200);
    d.source_dtype = d.dtype = DC_DTYPE_I8;
    assert_int_equal(dc_writer_add_tensor(w, &d, v, sizeof v), DC_OK);
    assert_int_equal(dc_writer_finish(w), DC_OK);
    const unsigned ok[] = {DC_READER_SEQUENTIAL, DC_READER_WILLNEED, DC_READER_POPULATE,
                           DC_READER_SEQUENTIAL | DC_READER_WILLNEED | DC_READER_POPULATE,
                           DC_READER_NO_MMAP | DC_READER_SEQUENTIAL | DC_READER_WILLNEED};
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        dc_reader_options ro = {sizeof(ro), ok[k], NULL};
        dc_reader *r;
        assert_int_equal(dc_reader_open_file_ex(path, &ro, &r, NULL), DC_OK);
        memset(out, 0, sizeof out);
        assert_int_equal(dc_reader_decode_tensor(r, 0, out, sizeof out, 2, NULL), DC_OK);
        assert_memory_equal(out, v, sizeof v);
        dc_reader_close(r);
    }
    dc_reader_options bad = {sizeof(bad), DC_READER_NO_MMAP | DC_READER_POPULATE, NULL};
    dc_reader *r = NULL;
    assert_int_equal(dc_reader_open_file_ex(path, &bad, &r, NULL), DC_ERR_INVALID_ARGUMENT);
    bad.flags = 16u;
    assert_int_equal(dc_reader_open_file_ex(path, &bad, &r, NULL), DC_ERR_INVALID_ARGUMENT);
    assert_null(r);
}

/* Many names: every tensor is found by dc_reader_find (a hash set);
 * the footprint adds up what the tables claim. */
static void test_find_and_footprint(void **state) {
    (void)state;
    char path[512];
    path_in(path, sizeof(path), "names.dcz");
    dc_writer_options o = {sizeof(o), DC_CODEC_RAW, 0, 1024, 1, 1, NULL, 0};
    dc_writer *w;
    assert_int_equal(dc_writer_create(path, &o, &w), DC_OK);
    enum { N = 3000 };
    static float data[600];
    for (int i = 0; i < 600; i++)
        data[i] = (float)i; /* not a run: stored raw */
    uint64_t total = 0;
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "n.%d", (i * 7919) % N); /* not in sorted order */
        size_t n = 1 + (size_t)(i % 600);
        dc_tensor_desc d = desc_base(name, 1, n, 0);
        d.source_dtype = d.dtype = DC_DTYPE_F32;
        assert_int_equal(dc_writer_add_tensor(w, &d, data, 4 * n), DC_OK);
        if (i == N / 2)
            assert_int_equal(dc_writer_add_tensor(w, &d, data, 4 * n), DC_ERR_INVALID_ARGUMENT);
        total += 4 * n;
    }
    assert_int_equal(dc_writer_finish(w), DC_OK);
    dc_reader *r;
    const char *why;
    assert_int_equal(dc_reader_open_file(path, NULL, &r, &why), DC_OK);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "n.%d", (i * 7919) % N);
        size_t idx = 0;
        assert_int_equal(dc_reader_find(r, name, &idx), DC_OK);
        assert_int_equal(idx, i);
    }
    size_t idx;
    assert_int_equal(dc_reader_find(r, "n.", &idx), DC_ERR_NOT_FOUND);
    assert_int_equal(dc_reader_find(r, "n.99999", &idx), DC_ERR_NOT_FOUND);
    dc_reader_footprint fp = {.struct_size = sizeof(fp)};
    assert_int_equal(dc_reader_get_footprint(r, &fp), DC_OK);
    assert_int_equal(fp.decoded_size, total);
    assert_int_equal(fp.largest_tensor, 2400);
    assert_int_equal(fp.largest_chunk, 1024);
    assert_int_equal(fp.largest_stored_chunk, 1024 + DC_CHUNK_HEADER_SIZE); /* raw chunks */
    /* raw chunks: seen in place, zero-copy */
    const void *view = NULL;
    size_t vsize = 0;
    /* tensor 0 is one float 0.0f: a run chunk, not raw */
    assert_int_equal(dc_reader_chunk_raw_view(r, 0, 0, &view, &vsize), DC_ERR_UNSUPPORTED);
    assert_null(view);
    for (int i = 1; i < 4; i++) {
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        assert_int_equal(dc_reader_tensor(r, (size_t)i, &d), DC_OK);
        assert_int_equal(dc_reader_chunk_raw_view(r, (size_t)i, 0, &view, &vsize), DC_OK);
        assert_int_equal(vsize, d.data_size); /* small tensors: one chunk */
        assert_memory_equal(view, data, vsize);
        assert_int_equal((uintptr_t)view % 4, 0);
        assert_int_equal(dc_reader_chunk_raw_view(r, (size_t)i, 1, &view, &vsize),
                         DC_ERR_INVALID_ARGUMENT);
    }
    assert_true(fp.file_size > total);
    dc_reader_footprint small = {.struct_size = sizeof(size_t) + sizeof(uint64_t)};
    assert_int_equal(dc_reader_get_footprint(r, &small), DC_OK);
    assert_int_equal(small.file_size, fp.file_size);
    assert_int_equal(small.decoded_size, 0); /* beyond struct_size: untouched */
    dc_reader_close(r);
    assert_int_equal(dc_memory_limit_default(0), DC_MEMORY_LIMIT_SLACK);
    assert_int_equal(dc_memory_limit_default(1000), 4000 + DC_MEMORY_LIMIT_SLACK);
    assert_int_equal(dc_memory_limit_default(UINT64_MAX / 2), UINT64_MAX);
}

/* Rewrites the checksums of a file's tables and header after a forgery. */
static void reseal(uint8_t *b) {
    uint64_t toff = dc_load_le64(b + 32), tsize = dc_load_le64(b + 40);
    uint64_t ioff = dc_load_le64(b + 48), nchunks = dc_load_le64(b + 56);
    dc_store_le32(b + 80, dc_checksum32(b + toff, (size_t)tsize));
    dc_store_le32(b + 84, dc_checksum32(b + ioff, (size_t)(nchunks * 32)));
    dc_store_le32(b + 92, dc_checksum32(b, 92));
}

/* Forged tables with valid checksums: a duplicate name (found by the sorted
 * index), and a chunk that claims more than its codec can decode to. */
static void test_forged_claims(void **state) {
    (void)state;
    char path[512];
    path_in(path, sizeof(path), "forge.dcz");
    dc_writer_options o = {sizeof(o), DC_CODEC_ANS, 0, 0, 1, 1, NULL, 0};
    dc_writer *w;
    assert_int_equal(dc_writer_create(path, &o, &w), DC_OK);
    static float zeros[1024], ramp[1024];
    for (int i = 0; i < 1024; i++)
        ramp[i] = (float)i;
    dc_tensor_desc a = desc_base("zq", 1, 1024, 0), b = desc_base("zz", 1, 1024, 0);
    a.source_dtype = a.dtype = b.source_dtype = b.dtype = DC_DTYPE_F32;
    assert_int_equal(dc_writer_add_tensor(w, &a, zeros, sizeof zeros), DC_OK); /* a run chunk */
    assert_int_equal(dc_writer_add_tensor(w, &b, ramp, sizeof ramp), DC_OK);
    assert_int_equal(dc_writer_finish(w), DC_OK);
    size_t n;
    uint8_t *orig = gen_read_file(path, &n);
    assert_non_null(orig);
    uint8_t *f = malloc(n);
    dc_reader *r;
    const char *why;
    memcpy(f, orig, n);
    reseal(f);
    assert_int_equal(dc_reader_open_memory(f, n, NULL, &r, &why), DC_OK);
    dc_reader_close(r);
    /* "zq" -> "zz": two tensors of one name */
    uint8_t *t = f + dc_load_le64(f + 32);
    assert_memory_equal(t + 6, "zq", 2); /* record size (4), name length (2), name */
    t[7] = 'z';
    reseal(f);
    assert_int_equal(dc_reader_open_memory(f, n, NULL, &r, &why), DC_ERR_CORRUPT);
    assert_non_null(strstr(why, "duplicate"));
    /* the run chunk's index entry claims a 44-byte payload */
    memcpy(f, orig, n);
    uint8_t *e = f + dc_load_le64(f + 48);
    assert_int_equal(e[20], 4);                /* codec tag: run */
    assert_int_equal(dc_load_le32(e + 8), 21); /* header + one byte */
    dc_store_le32(e + 8, 64);
    reseal(f);
    assert_int_equal(dc_reader_open_memory(f, n, NULL, &r, &why), DC_ERR_CORRUPT);
    assert_non_null(strstr(why, "impossible"));
    free(f);
    free(orig);
}

static int setup(void **state) {
    (void)state;
    return mkdtemp(g_dir) ? 0 : -1;
}

/* Typed metadata: every value type written, read back typed, found by key;
 * wrong types, ranges, duplicates and bad keys refused; a GGUF-style section
 * set first keeps its records and tensors, and the pairs are appended. */
static void test_typed_meta(void **state) {
    (void)state;
    char path[512];
    path_in(path, sizeof(path), "meta.dcz");
    dc_writer *w;
    dc_writer_options o = {sizeof(o), DC_CODEC_ANS, 0, 0, 1, 1, NULL, 0};
    assert_int_equal(dc_writer_create(path, &o, &w), DC_OK);
    assert_int_equal(dc_writer_meta_int(w, "llama.block_count", DC_META_U32, 8), DC_OK);
    assert_int_equal(dc_writer_meta_int(w, "neg", DC_META_I8, -128), DC_OK);
    assert_int_equal(dc_writer_meta_int(w, "flag", DC_META_BOOL, 1), DC_OK);
    assert_int_equal(dc_writer_meta_int(w, "big", DC_META_I64, INT64_MIN), DC_OK);
    assert_int_equal(dc_writer_meta_float(w, "eps", DC_META_F32, 1e-5), DC_OK);
    assert_int_equal(dc_writer_meta_float(w, "theta", DC_META_F64, 10000.5), DC_OK);
    assert_int_equal(dc_writer_meta_string(w, "general.name", "st\xc3\xa9ries"), DC_OK);
    const int16_t shorts[3] = {-3, 0, 32767};
    const float floats[2] = {0.25f, -1e30f};
    const char *toks[3] = {"<s>", "", "\xe2\x9c\x93"};
    assert_int_equal(dc_writer_meta_array(w, "a.i16", DC_META_I16, shorts, 3), DC_OK);
    assert_int_equal(dc_writer_meta_array(w, "a.f32", DC_META_F32, floats, 2), DC_OK);
    assert_int_equal(dc_writer_meta_array(w, "a.str", DC_META_STRING, toks, 3), DC_OK);
    assert_int_equal(dc_writer_meta_array(w, "a.empty", DC_META_U64, NULL, 0), DC_OK);
    /* refused, and nothing written for them */
    assert_int_equal(dc_writer_meta_int(w, "llama.block_count", DC_META_U32, 9),
                     DC_ERR_INVALID_ARGUMENT); /* duplicate */
    assert_int_equal(dc_writer_meta_int(w, "x", DC_META_U8, 256), DC_ERR_RANGE);
    assert_int_equal(dc_writer_meta_int(w, "x", DC_META_BOOL, 2), DC_ERR_RANGE);
    assert_int_equal(dc_writer_meta_int(w, "x", DC_META_U64, -1), DC_ERR_RANGE);
    assert_int_equal(dc_writer_meta_int(w, "x", DC_META_F32, 1), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_writer_meta_float(w, "x", DC_META_I32, 1), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_writer_meta_int(w, "", DC_META_U8, 1), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_writer_meta_int(w, "bad\xff", DC_META_U8, 1), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_writer_meta_string(w, "x", "bad\xc3"), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_writer_meta_string(w, "x", NULL), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_writer_meta_array(w, "x", DC_META_ARRAY, shorts, 1),
                     DC_ERR_INVALID_ARGUMENT);
    const uint8_t two = 2;
    assert_int_equal(dc_writer_meta_array(w, "x", DC_META_BOOL, &two, 1), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_writer_meta_int(NULL, "x", DC_META_U8, 1), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_writer_finish(w), DC_OK);

    dc_reader *r;
    assert_int_equal(dc_reader_open_file(path, NULL, &r, NULL), DC_OK);
    assert_int_equal(dc_reader_meta_count(r), 11);
    const char *key;
    dc_meta_type type;
    assert_int_equal(dc_reader_meta_entry(r, 0, &key, &type), DC_OK);
    assert_string_equal(key, "llama.block_count");
    assert_int_equal(type, DC_META_U32);
    assert_int_equal(dc_reader_meta_entry(r, 11, &key, &type), DC_ERR_NOT_FOUND);
    size_t i;
    int64_t v;
    double d;
    assert_int_equal(dc_reader_meta_find(r, "llama.block_count", &i), DC_OK);
    assert_int_equal(dc_reader_meta_int(r, i, &v), DC_OK);
    assert_int_equal(v, 8);
    assert_int_equal(dc_reader_meta_find(r, "neg", &i), DC_OK);
    assert_int_equal(dc_reader_meta_int(r, i, &v), DC_OK);
    assert_int_equal(v, -128);
    assert_int_equal(dc_reader_meta_float(r, i, &d), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_reader_meta_find(r, "big", &i), DC_OK);
    assert_int_equal(dc_reader_meta_int(r, i, &v), DC_OK);
    assert_true(v == INT64_MIN);
    assert_int_equal(dc_reader_meta_find(r, "flag", &i), DC_OK);
    assert_int_equal(dc_reader_meta_int(r, i, &v), DC_OK);
    assert_int_equal(v, 1);
    assert_int_equal(dc_reader_meta_find(r, "eps", &i), DC_OK);
    assert_int_equal(dc_reader_meta_float(r, i, &d), DC_OK);
    assert_true(d == (double)1e-5f);
    assert_int_equal(dc_reader_meta_int(r, i, &v), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_reader_meta_find(r, "theta", &i), DC_OK);
    assert_int_equal(dc_reader_meta_float(r, i, &d), DC_OK);
    assert_true(d == 10000.5);
    dc_meta_string ms;
    assert_int_equal(dc_reader_meta_find(r, "general.name", &i), DC_OK);
    assert_int_equal(dc_reader_meta_string(r, i, &ms), DC_OK);
    assert_int_equal(ms.size, 8);
    assert_memory_equal(ms.data, "st\xc3\xa9ries", 8);
    uint64_t n;
    assert_int_equal(dc_reader_meta_array(r, i, &type, &n), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_reader_meta_find(r, "a.i16", &i), DC_OK);
    assert_int_equal(dc_reader_meta_array(r, i, &type, &n), DC_OK);
    assert_int_equal(type, DC_META_I16);
    assert_int_equal(n, 3);
    int16_t s2[2];
    assert_int_equal(dc_reader_meta_array_get(r, i, 1, 2, s2), DC_OK);
    assert_int_equal(s2[0], 0);
    assert_int_equal(s2[1], 32767);
    assert_int_equal(dc_reader_meta_array_get(r, i, 2, 2, s2), DC_ERR_RANGE);
    assert_int_equal(dc_reader_meta_find(r, "a.f32", &i), DC_OK);
    float f2[2];
    assert_int_equal(dc_reader_meta_array_get(r, i, 0, 2, f2), DC_OK);
    assert_true(f2[0] == 0.25f && f2[1] == -1e30f);
    assert_int_equal(dc_reader_meta_find(r, "a.str", &i), DC_OK);
    dc_meta_string t[2];
    assert_int_equal(dc_reader_meta_array_get(r, i, 1, 2, t), DC_OK);
    assert_int_equal(t[0].size, 0);
    assert_int_equal(t[1].size, 3);
    assert_memory_equal(t[1].data, "\xe2\x9c\x93", 3);
    assert_int_equal(dc_reader_meta_find(r, "a.empty", &i), DC_OK);
    assert_int_equal(dc_reader_meta_array(r, i, &type, &n), DC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(dc_reader_meta_array_get(r, i, 0, 0, NULL), DC_OK);
    assert_int_equal(dc_reader_meta_find(r, "x", &i), DC_ERR_NOT_FOUND);
    assert_int_equal(dc_reader_meta_find(r, NULL, &i), DC_ERR_INVALID_ARGUMENT);
    /* the same bytes as the experimental section accessor sees */
    size_t ksz;
    const void *kv = dc_reader_kv_section(r, &ksz);
    assert_non_null(kv);
    assert_true(ksz > 32);

    /* a section set first (here: this file's) is kept, pairs appended to it */
    char path2[512];
    path_in(path2, sizeof(path2), "meta2.dcz");
    assert_int_equal(dc_writer_create(path2, &o, &w), DC_OK);
    assert_int_equal(dc_writer_set_kv_section(w, kv, ksz), DC_OK);
    assert_int_equal(dc_writer_meta_string(w, "neg", "dup"), DC_ERR_INVALID_ARGUMENT);
    assert_int_equal(dc_writer_meta_string(w, "added", "yes"), DC_OK);
    assert_int_equal(dc_writer_finish(w), DC_OK);
    dc_reader_close(r);
    assert_int_equal(dc_reader_open_file(path2, NULL, &r, NULL), DC_OK);
    assert_int_equal(dc_reader_meta_count(r), 12);
    assert_int_equal(dc_reader_meta_entry(r, 11, &key, NULL), DC_OK);
    assert_string_equal(key, "added");
    dc_reader_close(r);

    /* files without typed metadata */
    static model m;
    make_model(&m);
    path_in(path2, sizeof(path2), "nometa.dcz");
    assert_int_equal(write_model(path2, &m, 1, 1), DC_OK);
    assert_int_equal(dc_reader_open_file(path2, NULL, &r, NULL), DC_OK);
    assert_int_equal(dc_reader_meta_count(r), 0);
    assert_int_equal(dc_reader_meta_find(r, "neg", &i), DC_ERR_NOT_FOUND);
    assert_int_equal(dc_reader_meta_int(r, 0, &v), DC_ERR_NOT_FOUND);
    dc_reader_close(r);
    assert_int_equal(dc_reader_meta_count(NULL), 0);
}

/* Raw-stored chunks (codec raw) start 20 bytes before a 64-byte boundary, so
 * their payloads, the tensor bytes an engine uses in place, are 64-byte
 * aligned; such a file says version 2, decodes exactly, and a version 1
 * reader's rule (every chunk offset a multiple of 64) holds for the others. */
static void test_raw_alignment(void **state) {
    (void)state;
    char path[512];
    path_in(path, sizeof(path), "raw.dcz");
    dc_writer_options o = {sizeof(o), DC_CODEC_RAW, 0, 1024, 1, 1, NULL, 0};
    dc_writer *w;
    assert_int_equal(dc_writer_create(path, &o, &w), DC_OK);
    static uint8_t q[3][3000];
    const uint64_t rows[3] = {7, 3, 1}, cols[3] = {301, 1000, 77};
    for (int t = 0; t < 3; t++) {
        gen_laplace(q[t], sizeof(q[t]), 8.0, 0.0, (uint64_t)t + 3);
        char name[8];
        snprintf(name, sizeof name, "w%d", t);
        dc_tensor_desc d = desc_base(name, 2, rows[t], cols[t]);
        d.source_dtype = DC_DTYPE_F32;
        d.dtype = DC_DTYPE_I8;
        d.bits = 8;
        d.granularity = DC_QUANT_PER_TENSOR;
        const float sc = 0.5f;
        d.scales = &sc;
        d.n_scales = 1;
        assert_int_equal(dc_writer_add_tensor(w, &d, q[t], rows[t] * cols[t]), DC_OK);
    }
    assert_int_equal(dc_writer_finish(w), DC_OK);
    assert_int_equal(dc_load_le32(chunk_file_header(path) + 8), 2);
    dc_reader *r;
    assert_int_equal(dc_reader_open_file(path, NULL, &r, NULL), DC_OK);
    size_t views = 0;
    for (size_t i = 0; i < 3; i++) {
        dc_tensor_desc d = {.struct_size = sizeof(d)};
        assert_int_equal(dc_reader_tensor(r, i, &d), DC_OK);
        uint64_t at = 0;
        for (size_t c = 0; c < d.n_chunks; c++) {
            const void *v;
            size_t n;
            assert_int_equal(dc_reader_chunk_raw_view(r, i, c, &v, &n), DC_OK);
            assert_int_equal((uintptr_t)v % 64, 0);
            assert_memory_equal(v, q[i] + at, n);
            at += n;
            views++;
        }
        assert_int_equal(at, rows[i] * cols[i]);
        uint8_t out[3000];
        assert_int_equal(dc_reader_decode_tensor(r, i, out, sizeof out, 1, NULL), DC_OK);
        assert_memory_equal(out, q[i], at);
    }
    assert_true(views >= 5); /* 1024-byte chunks: several per tensor */
    dc_reader_close(r);
    /* a version 1 file may not hold a skewed chunk: patch the version back */
    size_t n;
    uint8_t *bytes = gen_read_file(path, &n);
    assert_non_null(bytes);
    dc_store_le32(bytes + 8, 1);
    dc_store_le32(bytes + 92, dc_checksum32(bytes, 92));
    const char *why = NULL;
    assert_int_equal(dc_reader_open_memory(bytes, n, NULL, &r, &why), DC_ERR_CORRUPT);
    assert_non_null(why);
    dc_store_le32(bytes + 8, 3); /* a future version */
    dc_store_le32(bytes + 92, dc_checksum32(bytes, 92));
    assert_int_equal(dc_reader_open_memory(bytes, n, NULL, &r, &why), DC_ERR_UNSUPPORTED);
    free(bytes);
}

static int teardown(void **state) {
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_quant_flags),
        cmocka_unit_test(test_chunk_location),
        cmocka_unit_test(test_no_overwrite_and_atomic),
        cmocka_unit_test(test_writer_rejects),
        cmocka_unit_test(test_writer_edges),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_f16_scales),
        cmocka_unit_test(test_small_tensor_scratch),
        cmocka_unit_test(test_find_and_footprint),
        cmocka_unit_test(test_find_colliding_names),
        cmocka_unit_test(test_open_hints),
        cmocka_unit_test(test_decode_pool),
        cmocka_unit_test(test_chunk_rows),
        cmocka_unit_test(test_forged_claims),
        cmocka_unit_test(test_truncated_while_open),
        cmocka_unit_test(test_files_and_errors),
        cmocka_unit_test(test_typed_meta),
        cmocka_unit_test(test_raw_alignment),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
