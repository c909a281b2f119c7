/*
 * feed.c -- dc-llama: reader and decoder threads feeding chunks to the
 * compute thread (feed.h).
 *
 * Chunks are numbered by sequence s = 0, 1, 2, ... over the rounds (item
 * s % n, raw slot s % ring, read slot s % rd_ring). Counters under one
 * mutex order the work: io_next (next chunk a reader claims; readers skip
 * resident chunks), dec_next (next chunk a decoder claims, once it is read
 * if it streams), dec_done (every chunk below it is decoded: its read slot
 * is free) and consumed (chunks the compute has given back: their raw slots
 * are free). A reader may claim s only while s < dec_done + rd_ring, a
 * decoder only while s < consumed + ring, so a slot's previous user is done
 * with it. The read ring is deeper than the raw ring: reads run far ahead
 * (covering the storage's latency spikes) for the price of compressed-size
 * buffers. read_seq[read slot] and ready_seq[raw slot] hold the last
 * sequence read into / decoded into each slot.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* O_DIRECT */
#include "feed.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "doublecomp.h"

#define ALIGN       4096u
#define MAX_THREADS 64

struct el_feed {
    el_feed_item *items;
    size_t n, ring, rd_ring, raw_slot, io_slot;
    uint8_t *raw, *io; /* ring x raw_slot, rd_ring x io_slot (ALIGN-aligned) */
    uint64_t *read_seq, *ready_seq;
    int fd, direct;
    pthread_mutex_t mu;
    /* readers, decoders and the compute thread each wait on their own
     * condition, and each event wakes one waiter that can use it (waiters
     * of one kind all wait for the same counter, so one is as good as any;
     * a woken thread that claims work wakes the next of its kind if more is
     * claimable), not every thread of the feed */
    pthread_cond_t cv_rd, cv_dec, cv_use;
    uint64_t io_next, dec_next, dec_done, consumed;
    int stop, failed;
    char err[256];
    pthread_t th[2 * MAX_THREADS];
    dc_dctx *dctx[MAX_THREADS + 1];
    int nth, ndec, started;
    el_feed_stats st;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fail_locked(el_feed *f, const char *msg) {
    if (!f->failed) snprintf(f->err, sizeof f->err, "%s", msg);
    f->failed = 1;
    pthread_cond_broadcast(&f->cv_rd);
    pthread_cond_broadcast(&f->cv_dec);
    pthread_cond_broadcast(&f->cv_use);
}

/* A reader could claim a chunk now (skipping resident ones). */
static int read_claimable(el_feed *f) {
    while (f->io_next < f->dec_done + f->rd_ring && f->items[f->io_next % f->n].comp)
        f->io_next++; /* resident: nothing to read */
    return f->io_next < f->dec_done + f->rd_ring;
}

/* A chunk became claimable for decoding: wakes a decoder thread, and the
 * compute thread, which decodes while it waits (it would otherwise sleep
 * until its own chunk is ready, leaving its core idle while reads gate the
 * decoders). */
static void wake_decoders(el_feed *f) {
    pthread_cond_signal(&f->cv_dec);
    pthread_cond_signal(&f->cv_use);
}

/* A decoder could claim a chunk now. */
static int decode_claimable(const el_feed *f) {
    const uint64_t s = f->dec_next;
    return s < f->consumed + f->ring &&
           (f->items[s % f->n].comp || f->read_seq[s % f->rd_ring] == s);
}

/* Opens path for chunk reads: O_DIRECT if the file system takes it. */
static int open_for_reads(const char *path, int *direct) {
    int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
    *direct = fd >= 0;
    if (fd < 0) fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd;
}

/*
 * Reads item it into buf (io_slot bytes, ALIGN-aligned): the chunk lands at
 * buf + (file_off % ALIGN). Direct: the aligned extent around the chunk;
 * a file system that refuses the O_DIRECT read (EINVAL) switches *direct
 * off for good. Buffered: the chunk alone, then dropped from the page cache.
 * Returns bytes read, or -1 with errno.
 */
static long read_item(int fd, int *direct, const el_feed_item *it, uint8_t *buf) {
    const uint64_t a = it->file_off / ALIGN * ALIGN, head = it->file_off - a;
    const uint64_t end = it->file_off + it->comp_len;
    if (*direct) {
        const uint64_t len = (end - a + ALIGN - 1) / ALIGN * ALIGN;
        uint64_t got = 0;
        while (got < end - a) {
            ssize_t r = pread(fd, buf + got, (size_t)(len - got), (off_t)(a + got));
            if (r < 0 && errno == EINTR) continue;
            if (r < 0 && errno == EINVAL && got == 0) {
                int fl = fcntl(fd, F_GETFL);
                if (fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_DIRECT) == 0) {
                    *direct = 0;
                    return read_item(fd, direct, it, buf);
                }
            }
            if (r < 0) return -1;
            if (r == 0) {
                errno = EIO; /* the file is shorter than its index says */
                return -1;
            }
            got += (uint64_t)r;
        }
        return (long)got;
    }
    uint64_t got = 0;
    while (got < it->comp_len) {
        ssize_t r =
            pread(fd, buf + head + got, (size_t)(it->comp_len - got), (off_t)(it->file_off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) {
            errno = EIO;
            return -1;
        }
        got += (uint64_t)r;
    }
    (void)posix_fadvise(fd, (off_t)it->file_off, (off_t)it->comp_len, POSIX_FADV_DONTNEED);
    return (long)got;
}

static void *reader_main(void *arg) {
    el_feed *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->stop && !f->failed && !read_claimable(f))
            pthread_cond_wait(&f->cv_rd, &f->mu);
        if (f->stop || f->failed) break;
        const uint64_t s = f->io_next++;
        if (read_claimable(f)) pthread_cond_signal(&f->cv_rd);
        int direct = f->direct;
        pthread_mutex_unlock(&f->mu);
        const el_feed_item *it = &f->items[s % f->n];
        const double t0 = now_s();
        long got = read_item(f->fd, &direct, it, f->io + (s % f->rd_ring) * f->io_slot);
        const double e = now_s() - t0;
        const int err = errno;
        pthread_mutex_lock(&f->mu);
        f->direct = f->direct && direct;
        f->st.read_s += e;
        if (got < 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "reading a weight chunk at offset %llu: %s",
                     (unsigned long long)it->file_off, strerror(err));
            fail_locked(f, msg);
            break;
        }
        f->st.reads++;
        f->st.bytes_read += (uint64_t)got;
        f->read_seq[s % f->rd_ring] = s;
        if (s == f->dec_next) wake_decoders(f);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

typedef struct dec_arg {
    el_feed *f;
    int id;
} dec_arg;

/* Claims the next chunk to decode (decode_claimable(f) holds; f->mu held),
 * decodes it without the lock and publishes it. Returns 0, or -1 after
 * failing the feed. */
static int decode_one_locked(el_feed *f, dc_dctx *dctx) {
    const uint64_t s = f->dec_next++;
    if (decode_claimable(f)) wake_decoders(f);
    pthread_mutex_unlock(&f->mu);
    const el_feed_item *it = &f->items[s % f->n];
    const uint8_t *src =
        it->comp ? it->comp : f->io + (s % f->rd_ring) * f->io_slot + it->file_off % ALIGN;
    const double t0 = now_s();
    size_t got = 0;
    dc_status st = dc_chunk_decompress(dctx, src, it->comp_len,
                                       f->raw + (s % f->ring) * f->raw_slot, f->raw_slot, &got);
    if (st == DC_OK && got != it->raw_len) st = DC_ERR_SIZE_MISMATCH;
    const double e = now_s() - t0;
    pthread_mutex_lock(&f->mu);
    f->st.decode_s += e;
    if (st != DC_OK) {
        char msg[160];
        snprintf(msg, sizeof msg, "decoding a weight chunk: %s", dc_status_string(st));
        fail_locked(f, msg);
        return -1;
    }
    f->st.decodes++;
    f->ready_seq[s % f->ring] = s;
    if (s == f->consumed) pthread_cond_signal(&f->cv_use);
    if (s == f->dec_done) { /* read slots below the new floor are free */
        while (f->dec_done < f->dec_next && f->ready_seq[f->dec_done % f->ring] == f->dec_done)
            f->dec_done++;
        pthread_cond_signal(&f->cv_rd);
    }
    return 0;
}

static void *decoder_main(void *arg) {
    el_feed *f = ((dec_arg *)arg)->f;
    dc_dctx *dctx = f->dctx[((dec_arg *)arg)->id];
    free(arg);
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->stop && !f->failed && !decode_claimable(f))
            pthread_cond_wait(&f->cv_dec, &f->mu);
        if (f->stop || f->failed || decode_one_locked(f, dctx) != 0) break;
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

void el_feed_stop(el_feed *f) {
    if (!f) return;
    if (f->started) {
        pthread_mutex_lock(&f->mu);
        f->stop = 1;
        pthread_cond_broadcast(&f->cv_rd);
        pthread_cond_broadcast(&f->cv_dec);
        pthread_cond_broadcast(&f->cv_use);
        pthread_mutex_unlock(&f->mu);
        for (int i = 0; i < f->nth; i++)
            pthread_join(f->th[i], NULL);
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cv_rd);
        pthread_cond_destroy(&f->cv_dec);
        pthread_cond_destroy(&f->cv_use);
    }
    for (int i = 0; i <= MAX_THREADS; i++)
        dc_dctx_free(f->dctx[i]);
    if (f->fd >= 0) close(f->fd);
    free(f->items);
    free(f->raw);
    free(f->io);
    free(f->read_seq);
    free(f->ready_seq);
    free(f);
}

int el_feed_start(el_feed **out, const el_feed_item *items, size_t n, size_t ring, size_t read_ring,
                  size_t raw_slot, int threads, int io_threads, const char *path) {
    *out = NULL;
    if (n == 0 || ring == 0 || read_ring == 0 || threads < 1 || threads > MAX_THREADS ||
        io_threads < 0 || io_threads > MAX_THREADS) {
        fprintf(stderr, "dc-llama: feed: bad arguments\n");
        return -1;
    }
    el_feed *f = calloc(1, sizeof(*f));
    if (!f) return -1;
    f->fd = -1;
    f->n = n, f->ring = ring, f->rd_ring = read_ring, f->raw_slot = raw_slot;
    f->items = malloc(n * sizeof(*items));
    size_t max_stream = 0;
    for (size_t i = 0; f->items && i < n; i++) {
        f->items[i] = items[i];
        if (!items[i].comp && items[i].comp_len > max_stream) max_stream = items[i].comp_len;
    }
    if (max_stream) f->io_slot = (max_stream + ALIGN - 1) / ALIGN * ALIGN + ALIGN;
    f->raw = malloc(ring * raw_slot);
    if (f->io_slot && posix_memalign((void **)&f->io, ALIGN, read_ring * f->io_slot) != 0)
        f->io = NULL;
    f->read_seq = malloc(read_ring * sizeof(uint64_t));
    f->ready_seq = malloc(ring * sizeof(uint64_t));
    if (!f->items || !f->raw || (f->io_slot && !f->io) || !f->read_seq || !f->ready_seq) {
        fprintf(stderr, "dc-llama: feed: out of memory\n");
        el_feed_stop(f);
        return -1;
    }
    for (size_t i = 0; i < ring; i++)
        f->ready_seq[i] = UINT64_MAX;
    for (size_t i = 0; i < read_ring; i++)
        f->read_seq[i] = UINT64_MAX;
    if (max_stream) {
        if (!path || (f->fd = open_for_reads(path, &f->direct)) < 0) {
            fprintf(stderr, "dc-llama: %s: %s\n", path ? path : "(no file)", strerror(errno));
            el_feed_stop(f);
            return -1;
        }
        if (io_threads < 1) io_threads = 1;
    } else {
        io_threads = 0;
    }
    for (int i = 0; i <= threads; i++) /* [threads]: the compute thread's */
        if (dc_dctx_create(NULL, &f->dctx[i]) != DC_OK) {
            el_feed_stop(f);
            return -1;
        }
    if (pthread_mutex_init(&f->mu, NULL) != 0 || pthread_cond_init(&f->cv_rd, NULL) != 0 ||
        pthread_cond_init(&f->cv_dec, NULL) != 0 || pthread_cond_init(&f->cv_use, NULL) != 0) {
        el_feed_stop(f); /* not started: frees, destroys nothing */
        return -1;
    }
    f->started = 1;
    f->ndec = threads;
    for (int i = 0; i < threads + io_threads; i++) {
        int rc;
        if (i < threads) {
            dec_arg *a = malloc(sizeof(*a));
            if (!a)
                rc = -1;
            else {
                a->f = f, a->id = i;
                rc = pthread_create(&f->th[f->nth], NULL, decoder_main, a);
                if (rc != 0) free(a);
            }
        } else {
            rc = pthread_create(&f->th[f->nth], NULL, reader_main, f);
        }
        if (rc != 0) {
            fprintf(stderr, "dc-llama: feed: cannot start a thread\n");
            el_feed_stop(f);
            return -1;
        }
        f->nth++;
    }
    *out = f;
    return 0;
}

void el_feed_memory(const el_feed *f, uint64_t *raw_bytes, uint64_t *read_bytes) {
    *raw_bytes = f ? (uint64_t)f->ring * f->raw_slot : 0;
    *read_bytes = f ? (uint64_t)f->rd_ring * f->io_slot : 0;
}

const uint8_t *el_feed_acquire(el_feed *f, size_t item, double *waited) {
    const double t0 = now_s();
    pthread_mutex_lock(&f->mu);
    const uint64_t s = f->consumed;
    if (s % f->n != item) {
        fprintf(stderr, "dc-llama: feed: chunks applied out of list order\n");
        exit(1);
    }
    /* while its chunk is not ready, the compute thread decodes too (the
     * next chunk any decoder could take), rather than idle on its core */
    while (f->ready_seq[s % f->ring] != s && !f->failed) {
        if (decode_claimable(f))
            (void)decode_one_locked(f, f->dctx[f->ndec]);
        else
            pthread_cond_wait(&f->cv_use, &f->mu);
    }
    if (f->failed) {
        fprintf(stderr, "dc-llama: %s\n", f->err);
        exit(1);
    }
    pthread_mutex_unlock(&f->mu);
    if (waited) *waited = now_s() - t0;
    return f->raw + (s % f->ring) * f->raw_slot;
}

void el_feed_release(el_feed *f) {
    pthread_mutex_lock(&f->mu);
    f->consumed++; /* a slot is free: one more chunk may be read and decoded */
    pthread_cond_signal(&f->cv_rd);
    pthread_cond_signal(&f->cv_dec);
    pthread_mutex_unlock(&f->mu);
}

void el_feed_get_stats(el_feed *f, el_feed_stats *st) {
    memset(st, 0, sizeof(*st));
    if (!f) return;
    pthread_mutex_lock(&f->mu);
    *st = f->st;
    st->direct = f->direct;
    pthread_mutex_unlock(&f->mu);
}

void el_feed_reset_stats(el_feed *f) {
    if (!f) return;
    pthread_mutex_lock(&f->mu);
    memset(&f->st, 0, sizeof(f->st));
    pthread_mutex_unlock(&f->mu);
}

void el_feed_drop_cache(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
}

/* measure_storage's shared state */
typedef struct measure {
    pthread_mutex_t mu;
    const el_feed_item *items;
    size_t n, next, max_items;
    uint64_t bytes, chunk_bytes, target_bytes;
    double t0, min_s;
    int fd, direct, failed;
    size_t slot;
} measure;

static void *measure_main(void *arg) {
    measure *m = arg;
    uint8_t *buf = NULL;
    if (posix_memalign((void **)&buf, ALIGN, m->slot) != 0) {
        pthread_mutex_lock(&m->mu);
        m->failed = 1;
        pthread_mutex_unlock(&m->mu);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&m->mu);
        const int done = m->failed || m->next >= m->max_items ||
                         (m->chunk_bytes >= m->target_bytes && now_s() - m->t0 >= m->min_s);
        const size_t k = m->next++;
        int direct = m->direct;
        pthread_mutex_unlock(&m->mu);
        if (done) break;
        const el_feed_item *it = &m->items[k % m->n];
        long got = read_item(m->fd, &direct, it, buf);
        pthread_mutex_lock(&m->mu);
        m->direct = m->direct && direct;
        if (got < 0)
            m->failed = 1;
        else
            m->chunk_bytes += it->comp_len;
        pthread_mutex_unlock(&m->mu);
    }
    free(buf);
    return NULL;
}

double el_feed_measure_storage(const char *path, const el_feed_item *items, size_t n,
                               int io_threads, double min_seconds, uint64_t min_bytes) {
    /* the streamed items only */
    el_feed_item *s = malloc((n ? n : 1) * sizeof(*s));
    size_t ns = 0, slot = 0;
    uint64_t total = 0;
    for (size_t i = 0; s && i < n; i++)
        if (!items[i].comp) {
            s[ns++] = items[i];
            total += items[i].comp_len;
            if (items[i].comp_len > slot) slot = items[i].comp_len;
        }
    if (!s || ns == 0) {
        free(s);
        return 0;
    }
    measure m;
    memset(&m, 0, sizeof m);
    m.items = s, m.n = ns;
    m.slot = (slot + ALIGN - 1) / ALIGN * ALIGN + ALIGN;
    m.fd = open_for_reads(path, &m.direct);
    if (m.fd < 0) {
        free(s);
        return 0;
    }
    el_feed_drop_cache(path);
    /* at most one pass over the list (a second would be cached if buffered) */
    m.max_items = ns;
    m.target_bytes = min_bytes < total ? min_bytes : total;
    m.min_s = min_seconds;
    if (io_threads < 1) io_threads = 1;
    if (io_threads > MAX_THREADS) io_threads = MAX_THREADS;
    pthread_mutex_init(&m.mu, NULL);
    pthread_t th[MAX_THREADS];
    int started = 0;
    m.t0 = now_s();
    for (int i = 0; i < io_threads; i++)
        if (pthread_create(&th[i], NULL, measure_main, &m) == 0) started++;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    const double e = now_s() - m.t0;
    pthread_mutex_destroy(&m.mu);
    close(m.fd);
    el_feed_drop_cache(path);
    free(s);
    if (m.failed || started == 0 || !(e > 0)) return 0;
    return (double)m.chunk_bytes / e;
}
