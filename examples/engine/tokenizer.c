/*
 * tokenizer.c -- dc-llama: llama2.c-format BPE tokenizer.
 *
 * The merge loop is a priority queue over adjacent pairs (highest score
 * first, then leftmost), with stale entries skipped lazily. It merges in the
 * same order as the quadratic "scan for the best pair, merge, repeat" loop,
 * so long texts encode in O(n log n).
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#include "tokenizer.h"
#include "gguf_load.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

int el_tokenizer_lookup(const el_tokenizer *tk, const char *s, size_t n) {
    size_t mask = tk->hash_cap - 1;
    for (size_t i = (size_t)fnv1a(s, n) & mask;; i = (i + 1) & mask) {
        int id = tk->hash[i];
        if (id < 0) return -1;
        if ((size_t)tk->vlen[id] == n && memcmp(tk->vocab[id], s, n) == 0) return id;
    }
}

int el_tokenizer_init(el_tokenizer *tk, int vocab_size, int max_token_length) {
    memset(tk, 0, sizeof(*tk));
    tk->vocab_size = vocab_size;
    tk->max_token_length = max_token_length;
    tk->vocab = calloc((size_t)vocab_size, sizeof(char *));
    tk->vlen = calloc((size_t)vocab_size, sizeof(int));
    tk->scores = calloc((size_t)vocab_size, sizeof(float));
    tk->hash_cap = 16;
    while (tk->hash_cap < (size_t)vocab_size * 2)
        tk->hash_cap <<= 1;
    tk->hash = malloc(tk->hash_cap * sizeof(int));
    if (!tk->vocab || !tk->vlen || !tk->scores || !tk->hash) {
        el_tokenizer_free(tk);
        return -1;
    }
    for (size_t i = 0; i < tk->hash_cap; i++)
        tk->hash[i] = -1;
    return 0;
}

int el_tokenizer_set(el_tokenizer *tk, int i, const char *s, size_t len, float score) {
    if (i < 0 || i >= tk->vocab_size || tk->vocab[i] || len > 1 << 16) return -1;
    tk->vocab[i] = malloc(len + 1);
    if (!tk->vocab[i]) return -1;
    if (len) memcpy(tk->vocab[i], s, len);
    tk->vocab[i][len] = 0;
    tk->vlen[i] = (int)len;
    tk->scores[i] = score;
    /* first occurrence wins on duplicates */
    if (el_tokenizer_lookup(tk, tk->vocab[i], len) < 0) {
        size_t mask = tk->hash_cap - 1;
        size_t h = (size_t)fnv1a(tk->vocab[i], len) & mask;
        while (tk->hash[h] >= 0)
            h = (h + 1) & mask;
        tk->hash[h] = i;
    }
    return 0;
}

int el_tokenizer_load(el_tokenizer *tk, const char *path, int vocab_size) {
    memset(tk, 0, sizeof(*tk));
    size_t plen = strlen(path);
    if (el_tokenizer_in_model(path) || (plen > 4 && !strcmp(path + plen - 4, ".dcz")))
        return el_tokenizer_load_gguf(tk, path, vocab_size);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dc-llama: cannot open tokenizer %s: %s\n", path, strerror(errno));
        return -1;
    }
    int32_t mtl;
    if (fread(&mtl, sizeof(mtl), 1, f) != 1 || mtl <= 0 || mtl > 1 << 16) {
        fprintf(stderr, "dc-llama: %s: bad tokenizer header\n", path);
        fclose(f);
        return -1;
    }
    if (vocab_size < EL_TOK_MIN_VOCAB) {
        /* encoding falls back to byte tokens 3..258 for text not in the vocabulary */
        fprintf(stderr,
                "dc-llama: %s: a vocabulary of %d tokens is too small (byte fallback needs "
                "ids 3..258: at least %d tokens)\n",
                path, vocab_size, EL_TOK_MIN_VOCAB);
        fclose(f);
        return -1;
    }
    if (el_tokenizer_init(tk, vocab_size, mtl) != 0) goto fail;
    for (int i = 0; i < vocab_size; i++) {
        int32_t len;
        float score;
        if (fread(&score, sizeof(float), 1, f) != 1 || fread(&len, sizeof(len), 1, f) != 1 ||
            len < 0 || len > 1 << 16)
            goto fail;
        char *str = malloc((size_t)len + 1);
        if (!str) goto fail;
        if (len && fread(str, 1, (size_t)len, f) != (size_t)len) {
            free(str);
            goto fail;
        }
        int rc = el_tokenizer_set(tk, i, str, (size_t)len, score);
        free(str);
        if (rc != 0) goto fail;
    }
    fclose(f);
    return 0;
fail:
    fprintf(stderr, "dc-llama: %s: bad or truncated tokenizer\n", path);
    fclose(f);
    el_tokenizer_free(tk);
    return -1;
}

void el_tokenizer_free(el_tokenizer *tk) {
    if (tk->vocab)
        for (int i = 0; i < tk->vocab_size; i++)
            free(tk->vocab[i]);
    free(tk->vocab);
    free(tk->vlen);
    free(tk->scores);
    free(tk->hash);
    memset(tk, 0, sizeof(*tk));
}

/* ---- merge queue ---------------------------------------------------------- */

typedef struct pair_ent {
    float score;
    int left;       /* node index of the left element (= its original order) */
    int lver, rver; /* versions of left and right node when pushed */
    int right;
    int merged; /* the id the pair merges into */
} pair_ent;

typedef struct heap {
    pair_ent *a;
    size_t n, cap;
} heap;

/* a before b: higher score, then smaller left index */
static int ent_less(const pair_ent *a, const pair_ent *b) {
    if (a->score != b->score) return a->score > b->score;
    return a->left < b->left;
}

static int heap_push(heap *h, pair_ent e) {
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 64;
        pair_ent *na = realloc(h->a, nc * sizeof(pair_ent));
        if (!na) return -1;
        h->a = na;
        h->cap = nc;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ent_less(&e, &h->a[p])) break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i] = e;
    return 0;
}

static pair_ent heap_pop(heap *h) {
    pair_ent top = h->a[0];
    pair_ent last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && ent_less(&h->a[c + 1], &h->a[c])) c++;
        if (!ent_less(&h->a[c], &last)) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n) h->a[i] = last;
    return top;
}

typedef struct enc_state {
    const el_tokenizer *tk;
    int *id, *prev, *next, *ver, *alive;
    char *buf;
    heap h;
} enc_state;

static int try_pair(enc_state *st, int l) {
    int r = st->next[l];
    if (l < 0 || r < 0) return 0;
    const el_tokenizer *tk = st->tk;
    int a = st->id[l], b = st->id[r];
    size_t la = (size_t)tk->vlen[a], lb = (size_t)tk->vlen[b];
    if (la + lb > (size_t)tk->max_token_length) return 0; /* cannot be in vocab */
    memcpy(st->buf, tk->vocab[a], la);
    memcpy(st->buf + la, tk->vocab[b], lb);
    int m = el_tokenizer_lookup(tk, st->buf, la + lb);
    if (m < 0) return 0;
    pair_ent e = {tk->scores[m], l, st->ver[l], st->ver[r], r, m};
    return heap_push(&st->h, e);
}

int *el_tokenizer_encode(const el_tokenizer *tk, const char *text, size_t n, int bos, int *n_out) {
    /* worst case: BOS + dummy prefix + one token per byte */
    size_t cap = n + 2;
    enc_state st = {0};
    st.tk = tk;
    st.id = malloc(cap * sizeof(int));
    st.prev = malloc(cap * sizeof(int));
    st.next = malloc(cap * sizeof(int));
    st.ver = calloc(cap, sizeof(int));
    st.alive = malloc(cap * sizeof(int));
    st.buf = malloc((size_t)tk->max_token_length * 2 + 8);
    int *out = malloc(cap * sizeof(int));
    int cnt = 0, ok = st.id && st.prev && st.next && st.ver && st.alive && st.buf && out;
    if (!ok) goto done;

    if (n > 0) {
        int sp = el_tokenizer_lookup(tk, " ", 1);
        if (sp >= 0) st.id[cnt++] = sp;
    }
    for (size_t i = 0; i < n;) {
        /* one UTF-8 code point: a lead byte plus up to 3 continuation bytes */
        size_t j = i + 1;
        while (j < n && j - i < 4 && ((unsigned char)text[j] & 0xC0) == 0x80)
            j++;
        int id = el_tokenizer_lookup(tk, text + i, j - i);
        if (id >= 0) {
            st.id[cnt++] = id;
        } else {
            for (size_t b = i; b < j; b++)
                st.id[cnt++] = (unsigned char)text[b] + 3;
        }
        i = j;
    }
    for (int i = 0; i < cnt; i++) {
        st.prev[i] = i - 1;
        st.next[i] = i + 1 < cnt ? i + 1 : -1;
        st.alive[i] = 1;
    }
    for (int i = 0; i + 1 < cnt; i++)
        if (try_pair(&st, i) < 0) goto fail;
    while (st.h.n) {
        pair_ent e = heap_pop(&st.h);
        int l = e.left, r = e.right;
        if (!st.alive[l] || !st.alive[r] || st.ver[l] != e.lver || st.ver[r] != e.rver ||
            st.next[l] != r)
            continue;
        st.id[l] = e.merged;
        st.ver[l]++;
        st.alive[r] = 0;
        st.next[l] = st.next[r];
        if (st.next[r] >= 0) st.prev[st.next[r]] = l;
        if (st.prev[l] >= 0 && try_pair(&st, st.prev[l]) < 0) goto fail;
        if (try_pair(&st, l) < 0) goto fail;
    }
    int k = 0;
    if (bos) out[k++] = EL_TOK_BOS;
    for (int i = 0; i >= 0 && i < cnt; i = st.next[i])
        out[k++] = st.id[i];
    *n_out = k;
    goto done;
fail:
    ok = 0;
done:
    free(st.id);
    free(st.prev);
    free(st.next);
    free(st.ver);
    free(st.alive);
    free(st.buf);
    free(st.h.a);
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

size_t el_tokenizer_decode(const el_tokenizer *tk, int prev, int token, char *buf, size_t cap) {
    if (cap == 0) return 0;
    buf[0] = 0;
    if (token < 0 || token >= tk->vocab_size) return 0;
    const char *s = tk->vocab[token];
    size_t len = (size_t)tk->vlen[token];
    if (prev == EL_TOK_BOS && len > 0 && s[0] == ' ') {
        s++;
        len--;
    }
    unsigned byte;
    if (len == 6 && sscanf(s, "<0x%02X>", &byte) == 1) {
        buf[0] = (char)byte;
        if (cap > 1) buf[1] = 0;
        return 1;
    }
    if (len > cap - 1) len = cap - 1;
    memcpy(buf, s, len);
    buf[len] = 0;
    return len;
}

size_t el_tokenizer_chars(const el_tokenizer *tk, const int *toks, int n) {
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        int id = toks[i];
        used += (id >= 3 && id < 259) ? 1 : (size_t)tk->vlen[id];
    }
    return used > 0 ? used - 1 : 0;
}
