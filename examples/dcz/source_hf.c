/*
 * source_hf.c -- Hugging Face checkpoints as they come: a directory with
 * config.json (and generation_config.json), model.safetensors.index.json
 * and its shards, or a directory with one model.safetensors.
 *
 * The index is checked against the shards before anything is compressed:
 * every shard it names must be a plain file name (no '/', so nothing outside
 * the directory is ever opened because the index says so), every tensor of
 * every shard must be in the index's weight_map under that shard, every
 * weight_map entry must be in its shard, and no tensor may be in two shards.
 * Symbolic links inside the directory are followed as the user placed them
 * (the Hugging Face cache's snapshot directories link into its blob store).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../engine/hfjson.h"
#include "safetensors.h"
#include "source.h"

#define INDEX_NAME "model.safetensors.index.json"
/* The largest config.json / generation_config.json kept. */
#define CONFIG_MAX ((size_t)1 << 20)

static char g_why[1024];

static const char *whyf(const char *fmt, const char *a, const char *b) {
    snprintf(g_why, sizeof(g_why), fmt, a, b);
    return g_why;
}

int source_is_hf(const char *path) {
    struct stat sb;
    size_t n = strlen(path), k = strlen(".safetensors.index.json");
    if (n >= k && strcmp(path + n - k, ".safetensors.index.json") == 0) return 1;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* 1 if name is a shard file name the index may use: a plain name in the
 * directory (no '/' or '\\', so no "../x" and no absolute path), ending in
 * ".safetensors", at most 255 bytes. */
static int safe_shard_name(const char *name) {
    size_t n = strlen(name);
    return n > strlen(".safetensors") && n <= 255 && !strchr(name, '/') && !strchr(name, '\\') &&
           strcmp(name + n - strlen(".safetensors"), ".safetensors") == 0;
}

static char *join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct name_at {
    const char *name;
    uint32_t shard;
} name_at;

static int cmp_name_at(const void *a, const void *b) {
    const name_at *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->shard > y->shard) - (x->shard < y->shard);
}

/* Reads dir/name (a JSON object, at most CONFIG_MAX bytes) into *text; DC_OK
 * with *text NULL if there is no such file. */
static dc_status read_config(const char *dir, const char *name, char **text, const char **why) {
    *text = NULL;
    char *path = join(dir, name);
    if (!path) return *why = "out of memory", DC_ERR_OUT_OF_MEMORY;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        free(path);
        return DC_OK;
    }
    if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > CONFIG_MAX) {
        free(path);
        *why = whyf("%s: not a regular file of at most 1 MiB%s", name, "");
        return DC_ERR_FORMAT;
    }
    FILE *f = fopen(path, "rb");
    free(path);
    char *buf = malloc((size_t)sb.st_size + 1);
    size_t got = f && buf ? fread(buf, 1, (size_t)sb.st_size, f) : 0;
    if (f) fclose(f);
    if (!f || !buf || got != (size_t)sb.st_size) {
        free(buf);
        *why = whyf("%s: cannot read the file%s", name, "");
        return buf ? DC_ERR_IO : DC_ERR_OUT_OF_MEMORY;
    }
    buf[got] = '\0';
    const char *jwhy = "";
    hj_value *v = memchr(buf, 0, got) ? NULL : hj_parse(buf, got, &jwhy);
    if (!v || v->type != HJ_OBJ) {
        *why = whyf("%s: not a JSON object (%s)", name, v ? "another JSON value" : jwhy);
        hj_free(v);
        free(buf);
        return DC_ERR_FORMAT;
    }
    hj_free(v);
    *text = buf;
    return DC_OK;
}

/* The "hf" object of the .dcz metadata (docs/format.md 6.9). */
static dc_status build_hf_json(model_source *s, char *const *shards, const hj_value *meta,
                               const char *config, const char *genconfig) {
    hj_buf b = {0};
    hj_buf_puts(&b, "{\"format\":1");
    if (config) hj_buf_puts(&b, ",\"config.json\":"), hj_buf_string(&b, config);
    if (genconfig) hj_buf_puts(&b, ",\"generation_config.json\":"), hj_buf_string(&b, genconfig);
    if (meta) hj_buf_puts(&b, ",\"index_metadata\":"), hj_buf_value(&b, meta);
    hj_buf_puts(&b, ",\"shards\":[");
    for (size_t k = 0; k < s->n_files; k++) {
        if (k) hj_buf_puts(&b, ",");
        hj_buf_string(&b, shards[k]);
    }
    hj_buf_puts(&b, "],\"shard_of\":[");
    for (size_t i = 0; i < s->n; i++)
        hj_buf_printf(&b, "%s%u", i ? "," : "", s->t[i].file);
    hj_buf_puts(&b, "]}");
    if (b.oom) {
        free(b.p);
        return DC_ERR_OUT_OF_MEMORY;
    }
    s->hf_json = b.p;
    return DC_OK;
}

/* The shards' tensors against the index; every failure names the tensor. */
static dc_status check_index(const model_source *s, char *const *shards, const hj_value *wm,
                             const hj_value *meta, const char **why) {
    size_t cap = 0, n = 0;
    name_at *all = NULL;
    dc_status st = DC_OK;
    uint64_t bytes = 0;
    dc_alloc a;
    dc_alloc_init(&a, NULL);
    /* all shards are read even after a mismatch (DC_ERR_FORMAT): a tensor in
     * two shards gets that message, not the mismatch it causes */
    for (size_t k = 0; k < s->n_files && (st == DC_OK || st == DC_ERR_FORMAT); k++) {
        dc_st_file *f;
        dc_status ost = dc_st_open(&a, s->files[k], &f);
        if (ost != DC_OK) {
            st = ost;
            *why = whyf("shard %s: %s", shards[k],
                        ost == DC_ERR_IO ? "cannot read the file" : "not a valid safetensors file");
            break;
        }
        for (size_t i = 0; i < f->hdr->n_tensors; i++) {
            const dc_st_tensor *t = &f->hdr->tensors[i];
            const hj_value *m = hj_get(wm, t->name);
            if (st == DC_OK && !m) {
                *why = whyf("tensor %s of shard %s is not in the index's weight_map", t->name,
                            shards[k]);
                st = DC_ERR_FORMAT;
            } else if (st == DC_OK && strcmp(m->str, shards[k]) != 0) {
                snprintf(g_why, sizeof(g_why),
                         "tensor %s is in shard %s but the index's weight_map puts it in %s",
                         t->name, shards[k], m->str);
                *why = g_why;
                st = DC_ERR_FORMAT;
            }
            if (n == cap) {
                size_t c2 = cap ? 2 * cap : 256;
                name_at *na = realloc(all, c2 * sizeof(*na));
                if (!na) {
                    st = DC_ERR_OUT_OF_MEMORY, *why = "out of memory";
                    break;
                }
                all = na, cap = c2;
            }
            if (!(all[n].name = strdup(t->name))) {
                st = DC_ERR_OUT_OF_MEMORY, *why = "out of memory";
                break;
            }
            all[n++].shard = (uint32_t)k;
            bytes += t->end - t->begin;
        }
        dc_st_close(f);
    }
    if (all) qsort(all, n, sizeof(*all), cmp_name_at);
    /* a tensor in two shards: the clearest message, whatever else failed */
    for (size_t i = 1; i < n && (st == DC_OK || st == DC_ERR_FORMAT); i++)
        if (strcmp(all[i - 1].name, all[i].name) == 0) {
            snprintf(g_why, sizeof(g_why), "tensor %s is in two shards, %s and %s", all[i].name,
                     shards[all[i - 1].shard], shards[all[i].shard]);
            *why = g_why;
            st = DC_ERR_FORMAT;
            break;
        }
    /* every weight_map entry in its shard (names are unique: n == entries) */
    for (size_t e = 0; st == DC_OK && e < wm->n; e++) {
        name_at key = {wm->keys[e], 0};
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(all[mid].name, key.name) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == n || strcmp(all[lo].name, key.name) != 0) {
            *why = whyf("tensor %s is in the index's weight_map but not in shard %s", wm->keys[e],
                        wm->items[e].str);
            st = DC_ERR_FORMAT;
        }
    }
    uint64_t total;
    if (st == DC_OK && hj_get_uint(meta, "total_size", &total) == 1 && total != bytes)
        fprintf(stderr,
                "dcz compress: note: the index's metadata.total_size (%llu) differs from the "
                "shards' tensor bytes (%llu)\n",
                (unsigned long long)total, (unsigned long long)bytes);
    for (size_t i = 0; i < n; i++)
        free((char *)all[i].name);
    free(all);
    return st;
}

dc_status source_open_hf(const char *path, model_source *s, const char **why) {
    struct stat sb;
    char *dir = NULL, *index = NULL, **shards = NULL, *config = NULL, *genconfig = NULL;
    hj_value *idx = NULL, *single = NULL;
    dc_status st = DC_OK;
    const char *jwhy = "";
    const int dir_mode = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (dir_mode) {
        dir = strdup(path);
        index = dir ? join(dir, INDEX_NAME) : NULL;
    } else {
        const char *slash = strrchr(path, '/');
        dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
        index = strdup(path);
    }
    if (!dir || !index) {
        st = DC_ERR_OUT_OF_MEMORY, *why = "out of memory";
        goto done;
    }
    const hj_value *wm, *meta;
    if (dir_mode && stat(index, &sb) != 0 && errno == ENOENT) {
        /* no index: one model.safetensors in the directory */
        char *one = join(dir, "model.safetensors");
        int have = one && stat(one, &sb) == 0;
        free(one);
        if (!have) {
            st = DC_ERR_IO;
            *why = "a Hugging Face checkpoint directory needs " INDEX_NAME " or model.safetensors";
            errno = ENOENT;
            goto done;
        }
        dc_alloc a;
        dc_alloc_init(&a, NULL);
        dc_st_file *f;
        char *p1 = join(dir, "model.safetensors");
        if (!p1) {
            st = DC_ERR_OUT_OF_MEMORY, *why = "out of memory";
            goto done;
        }
        st = dc_st_open(&a, p1, &f);
        free(p1);
        if (st != DC_OK) {
            *why = "model.safetensors: not a valid safetensors file";
            goto done;
        }
        /* a weight_map of its own tensors, so the checks below are the same */
        hj_buf b = {0};
        hj_buf_puts(&b, "{\"weight_map\":{");
        for (size_t i = 0; i < f->hdr->n_tensors; i++) {
            if (i) hj_buf_puts(&b, ",");
            hj_buf_string(&b, f->hdr->tensors[i].name);
            hj_buf_puts(&b, ":\"model.safetensors\"");
        }
        hj_buf_puts(&b, "}}");
        dc_st_close(f);
        single = b.oom ? NULL : hj_parse(b.p, b.n, &jwhy);
        free(b.p);
        if (!single) {
            st = DC_ERR_OUT_OF_MEMORY, *why = "out of memory";
            goto done;
        }
        idx = single, single = NULL;
        if (!(s->hash_path = join(dir, "model.safetensors"))) {
            st = DC_ERR_OUT_OF_MEMORY, *why = "out of memory";
            goto done;
        }
    } else if (!(idx = hj_read_file(index, &jwhy))) {
        st = strcmp(jwhy, "cannot read the file") == 0 ? DC_ERR_IO : DC_ERR_FORMAT;
        *why = whyf(INDEX_NAME ": %s%s", jwhy, "");
        goto done;
    }
    if (!s->hash_path && !(s->hash_path = strdup(index))) {
        st = DC_ERR_OUT_OF_MEMORY, *why = "out of memory";
        goto done;
    }
    wm = hj_get(idx, "weight_map");
    meta = hj_get(idx, "metadata");
    if (idx->type != HJ_OBJ || !wm || wm->type != HJ_OBJ || wm->n == 0 ||
        (meta && meta->type != HJ_OBJ)) {
        st = DC_ERR_FORMAT;
        *why = "index: not an object with a non-empty \"weight_map\" object (and an optional "
               "\"metadata\" object)";
        goto done;
    }
    uint64_t total;
    if (hj_get_uint(meta, "total_size", &total) < 0) {
        st = DC_ERR_FORMAT;
        *why = "index: metadata.total_size is not a non-negative integer";
        goto done;
    }
    /* the shard names: plain file names in dir, each once, sorted */
    if (!(shards = calloc(wm->n, sizeof(char *)))) {
        st = DC_ERR_OUT_OF_MEMORY, *why = "out of memory";
        goto done;
    }
    size_t ns = 0;
    for (size_t e = 0; e < wm->n; e++) {
        const hj_value *v = &wm->items[e];
        if (v->type != HJ_STR) {
            st = DC_ERR_FORMAT;
            *why = whyf("index: weight_map entry %s is not a file name%s", wm->keys[e], "");
            goto done;
        }
        if (!safe_shard_name(v->str)) {
            st = DC_ERR_FORMAT;
            *why = whyf("index: weight_map entry %s names \"%s\", not a .safetensors file in the "
                        "checkpoint's directory (no '/' allowed)",
                        wm->keys[e], v->str);
            goto done;
        }
        shards[ns++] = v->str;
    }
    qsort(shards, ns, sizeof(char *), cmp_str);
    size_t u = 0;
    for (size_t k = 0; k < ns; k++)
        if (u == 0 || strcmp(shards[u - 1], shards[k]) != 0) shards[u++] = shards[k];
    if (u > UINT32_MAX || !(s->files = calloc(u, sizeof(char *)))) {
        st = DC_ERR_OUT_OF_MEMORY, *why = "out of memory";
        goto done;
    }
    for (size_t k = 0; k < u; k++) {
        if (!(s->files[k] = join(dir, shards[k]))) {
            st = DC_ERR_OUT_OF_MEMORY, *why = "out of memory";
            goto done;
        }
        s->n_files = k + 1;
        if (stat(s->files[k], &sb) != 0 || !S_ISREG(sb.st_mode)) {
            int e = errno;
            st = DC_ERR_IO;
            *why = whyf("shard %s, named by the index, is missing or not a regular file%s",
                        shards[k], "");
            errno = S_ISREG(sb.st_mode) ? e : EINVAL;
            goto done;
        }
    }
    if ((st = check_index(s, shards, wm, meta, why)) != DC_OK) goto done;
    for (size_t k = 0; k < u; k++) {
        const char *w2 = "";
        if ((st = source_add_safetensors(s->files[k], s, (uint32_t)k, &w2)) != DC_OK) {
            *why = whyf("shard %s: %s", shards[k], w2);
            goto done;
        }
    }
    if ((st = read_config(dir, "config.json", &config, why)) != DC_OK ||
        (st = read_config(dir, "generation_config.json", &genconfig, why)) != DC_OK)
        goto done;
    if ((st = build_hf_json(s, shards, meta, config, genconfig)) != DC_OK) *why = "out of memory";
done:
    free(dir), free(index), free(shards), free(config), free(genconfig);
    hj_free(idx);
    hj_free(single);
    return st;
}
