/*
 * feed.h -- dc-llama: the threads that feed weight chunks to the compute.
 *
 * A feed walks a fixed list of chunks (the planned model's compressed and
 * streamed chunks, in execution order) round after round. Reader threads
 * read the streamed ones from the .dcz file (pread into aligned buffers,
 * O_DIRECT where the file system allows it, else buffered reads followed
 * by posix_fadvise(DONTNEED), so the page cache never holds the model);
 * decoder threads decode every chunk with dc_chunk_decompress into a ring
 * of `ring` slots; the compute thread takes the slots in order and gives
 * each back when it has used it, and while the chunk it needs is not ready
 * it decodes the next one itself (so `threads` decoder threads plus the
 * compute thread decode). Decoders run at most `ring` chunks ahead of the
 * compute, readers at most `read_ring` chunks ahead of the decoders (a
 * deeper read-ahead rides out the storage's latency spikes at the cost of
 * compressed-size buffers). Memory: ring raw slots + read_ring read slots,
 * where a read slot is the largest streamed chunk rounded up to 4096
 * bytes, plus 4096 (what dc_planner counts as read buffers).
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DC_ENGINE_FEED_H
#define DC_ENGINE_FEED_H

#include <stddef.h>
#include <stdint.h>

/* One chunk of the list: resident compressed (comp set) or streamed (comp
 * NULL: read [file_off, file_off + comp_len) of the file each round). */
typedef struct el_feed_item {
    const uint8_t *comp;
    uint64_t file_off;
    size_t comp_len, raw_len;
} el_feed_item;

typedef struct el_feed el_feed;

/* What a feed did (accumulated since the last reset). */
typedef struct el_feed_stats {
    double decode_s;     /* decoder threads' time decoding, summed over threads */
    double read_s;       /* reader threads' time in pread, summed over threads */
    uint64_t decodes;    /* chunks decoded */
    uint64_t reads;      /* chunks read from the file */
    uint64_t bytes_read; /* bytes read from the file (aligned extents) */
    int direct;          /* 1: O_DIRECT reads; 0: buffered reads + fadvise */
} el_feed_stats;

/*
 * Starts a feed over items[0..n) (copied; comp pointers must stay valid),
 * with `threads` >= 1 decoder threads, `io_threads` reader threads (used
 * only if some item is streamed; then path names the file they read), a
 * ring of `ring` >= 1 slots of raw_slot bytes (>= every raw_len) and
 * `read_ring` >= 1 read slots. Returns 0 and *out, or -1 after a message on
 * stderr.
 */
int el_feed_start(el_feed **out, const el_feed_item *items, size_t n, size_t ring, size_t read_ring,
                  size_t raw_slot, int threads, int io_threads, const char *path);

/* Bytes of the ring (raw slots) and of the read slots. */
void el_feed_memory(const el_feed *f, uint64_t *raw_bytes, uint64_t *read_bytes);

/*
 * Waits for the next chunk in list order and returns its decoded bytes
 * (raw_len of them; valid until el_feed_release). `item` must be the index
 * of that chunk in the list (the caller's check that it applies chunks in
 * list order; a mismatch is fatal). *waited (may be NULL) receives the
 * seconds spent waiting. A failed read or decode is fatal (message, exit 1).
 */
const uint8_t *el_feed_acquire(el_feed *f, size_t item, double *waited);

/* Gives the slot of the last acquired chunk back. */
void el_feed_release(el_feed *f);

void el_feed_get_stats(el_feed *f, el_feed_stats *st);
void el_feed_reset_stats(el_feed *f);

/* Stops the threads and frees the feed. NULL is a no-op. */
void el_feed_stop(el_feed *f);

/*
 * Storage bandwidth as the feed sees it: reads the streamed items' extents
 * from path (in list order, from the first, wrapping), with io_threads
 * threads, O_DIRECT where possible (else buffered, with the file dropped
 * from the page cache first), for at least min_seconds and min_bytes or the
 * whole list. Returns stored chunk bytes per second, or 0 on error.
 */
double el_feed_measure_storage(const char *path, const el_feed_item *items, size_t n,
                               int io_threads, double min_seconds, uint64_t min_bytes);

/* Drops the file's pages from the page cache (posix_fadvise DONTNEED). */
void el_feed_drop_cache(const char *path);

#endif /* DC_ENGINE_FEED_H */
