/*
 * source.c -- tensor listings of safetensors files and llama2.c checkpoints.
 */
#define _GNU_SOURCE
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../engine/model.h"
#include "safetensors.h"

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int add(model_source *s, const char *name, dc_dtype dtype, unsigned ndim,
               const uint64_t *dims, uint64_t offset, uint64_t nbytes) {
    src_tensor *t = realloc(s->t, (s->n + 1) * sizeof(*t));
    if (!t) return 0;
    s->t = t;
    src_tensor *x = &t[s->n];
    memset(x, 0, sizeof(*x));
    if (!(x->name = xstrdup(name))) return 0;
    x->dtype = dtype;
    x->ndim = ndim;
    memcpy(x->dims, dims, ndim * sizeof(uint64_t));
    x->offset = offset;
    x->nbytes = nbytes;
    s->n++;
    return 1;
}

static dc_status open_safetensors(const char *path, model_source *s, const char **why) {
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    dc_st_file *f;
    dc_status st = dc_st_open(&a, path, &f);
    if (st != DC_OK) {
        *why = st == DC_ERR_IO ? "cannot read the file" : "not a valid safetensors file";
        return st;
    }
    s->file_size = f->file_size;
    for (size_t i = 0; i < f->hdr->n_tensors; i++) {
        const dc_st_tensor *t = &f->hdr->tensors[i];
        dc_dtype dt;
        switch (t->dtype) {
        case DC_ST_F32:
            dt = DC_DTYPE_F32;
            break;
        case DC_ST_F16:
            dt = DC_DTYPE_F16;
            break;
        case DC_ST_BF16:
            dt = DC_DTYPE_BF16;
            break;
        case DC_ST_I8:
            dt = DC_DTYPE_I8;
            break;
        default:
            *why = "a tensor has an unsupported dtype (F32, F16, BF16 and I8 are supported)";
            dc_st_close(f);
            return DC_ERR_UNSUPPORTED;
        }
        uint64_t dims[DC_MAX_DIMS] = {1};
        unsigned nd = t->ndim ? (unsigned)t->ndim : 1; /* a scalar is stored as [1] */
        if (t->ndim) memcpy(dims, t->shape, t->ndim * sizeof(uint64_t));
        if (t->numel == 0) continue; /* nothing to store */
        if (!add(s, t->name, dt, nd, dims, f->data_offset + t->begin, t->end - t->begin)) {
            dc_st_close(f);
            *why = "out of memory";
            return DC_ERR_OUT_OF_MEMORY;
        }
    }
    dc_st_close(f);
    return DC_OK;
}

static dc_status open_llama2c(const char *path, model_source *s, const char **why) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = "cannot open the file";
        return DC_ERR_IO;
    }
    int32_t *h = s->llama2c_header;
    size_t got = fread(h, sizeof(int32_t), 7, f);
    fclose(f);
    el_config c;
    if (got != 7 || el_config_from_header(&c, h) != 0) {
        *why = "not a llama2.c checkpoint (bad header)";
        return DC_ERR_FORMAT;
    }
    size_t n = el_layout(&c, NULL, 0);
    el_slot *slots = calloc(n, sizeof(el_slot));
    if (!slots) goto oom;
    el_layout(&c, slots, n);
    uint64_t end = 0;
    for (size_t i = 0; i < n; i++) {
        const el_slot *t = &slots[i];
        uint64_t dims[2] = {t->rows, t->cols};
        uint64_t bytes = t->rows * (t->cols ? t->cols : 1) * 4;
        if (!add(s, t->name, DC_DTYPE_F32, t->cols ? 2 : 1, dims, 28 + 4 * (uint64_t)t->offset,
                 bytes)) {
            free(slots);
            goto oom;
        }
        end = 28 + 4 * (uint64_t)t->offset + bytes;
    }
    free(slots);
    struct stat sb;
    if (stat(path, &sb) != 0 || (uint64_t)sb.st_size < end) {
        *why = "file shorter than its llama2.c header says";
        return DC_ERR_TRUNCATED;
    }
    s->file_size = (uint64_t)sb.st_size;
    s->is_llama2c = 1;
    return DC_OK;
oom:
    *why = "out of memory";
    return DC_ERR_OUT_OF_MEMORY;
}

dc_status source_open(const char *path, model_source *s, const char **why) {
    memset(s, 0, sizeof(*s));
    s->path = xstrdup(path);
    size_t n = strlen(path);
    dc_status st;
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) { /* a FIFO would block the open */
        *why = "not a regular file";
        source_close(s);
        errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
        return DC_ERR_IO;
    }
    if (n > 12 && strcmp(path + n - 12, ".safetensors") == 0)
        st = open_safetensors(path, s, why);
    else if (n > 4 && strcmp(path + n - 4, ".bin") == 0)
        st = open_llama2c(path, s, why);
    else {
        *why = "unknown model type (expected .safetensors or a llama2.c .bin)";
        st = DC_ERR_FORMAT;
    }
    if (st != DC_OK) {
        int e = errno; /* DC_ERR_IO: the reason, for the message */
        source_close(s);
        errno = e;
    }
    return st;
}

void source_close(model_source *s) {
    for (size_t i = 0; i < s->n; i++)
        free(s->t[i].name);
    free(s->t);
    free(s->path);
    memset(s, 0, sizeof(*s));
}

dc_status source_read(const model_source *s, size_t i, void *dst) {
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return DC_ERR_IO;
    uint8_t *p = dst;
    uint64_t left = s->t[i].nbytes, off = s->t[i].offset;
    while (left > 0) {
        ssize_t r = pread(fd, p, left > (1u << 30) ? (1u << 30) : (size_t)left, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = errno;
            close(fd);
            errno = e;
            return r == 0 ? DC_ERR_TRUNCATED : DC_ERR_IO; /* 0: the file shrank */
        }
        p += r, off += (uint64_t)r, left -= (uint64_t)r;
    }
    close(fd);
    return DC_OK;
}

uint64_t source_bytes(const model_source *s) {
    uint64_t b = 0;
    for (size_t i = 0; i < s->n; i++)
        b += s->t[i].nbytes;
    return b;
}
