/*
 * tmpfile.c -- the temporary files behind every atomic output (the .dcz
 * writer and the safetensors writer: dcz extract, dc_stats_save).
 *
 * A temporary file for OUT is "<dir of OUT>/.<name of OUT>.dcz-tmp.<pid>.XXXXXX",
 * created with O_EXCL and mode 0666, so the umask (and a default ACL) applies
 * as for any new file; when it will replace an existing regular file it takes
 * that file's permission bits instead, as cp does. Live temporary files are
 * kept in a small fixed table that dc_temp_files_remove() (async-signal-safe)
 * unlinks, for a SIGINT/SIGTERM handler. A process killed with SIGKILL
 * leaves its file behind; the next temporary file for the same OUT removes
 * such leftovers whose process no longer exists.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TMP_TAG      ".dcz-tmp."
#define TMP_RANDOM   6
#define TMP_SLOTS    16
#define TMP_PATH_MAX 4096

/* Slot states: free, being filled, holds a live path, taken by a handler. */
enum { SLOT_FREE = 0, SLOT_FILLING, SLOT_LIVE, SLOT_CLAIMED };
static atomic_int slot_state[TMP_SLOTS];
static char slot_path[TMP_SLOTS][TMP_PATH_MAX];

static int registry_add(const char *path) {
    size_t n = strlen(path);
    if (n >= TMP_PATH_MAX) return -1;
    for (int i = 0; i < TMP_SLOTS; i++) {
        int expect = SLOT_FREE;
        if (atomic_compare_exchange_strong(&slot_state[i], &expect, SLOT_FILLING)) {
            memcpy(slot_path[i], path, n + 1);
            atomic_store(&slot_state[i], SLOT_LIVE);
            return i;
        }
    }
    return -1; /* table full: this file is not removed on a signal */
}

static void registry_drop(int slot) {
    if (slot < 0) return;
    int expect = SLOT_LIVE;
    /* SLOT_CLAIMED: a signal handler is removing it and the process is about
     * to die; the slot is left as it is. */
    (void)atomic_compare_exchange_strong(&slot_state[slot], &expect, SLOT_FREE);
}

void dc_temp_files_remove(void) {
    int e = errno;
    for (int i = 0; i < TMP_SLOTS; i++) {
        int expect = SLOT_LIVE;
        if (atomic_compare_exchange_strong(&slot_state[i], &expect, SLOT_CLAIMED))
            (void)dc_os_unlink(slot_path[i]);
    }
    errno = e;
}

/* Splits path into its directory ("." if none) and its last component. */
static int split_path(const char *path, char *dir, size_t dir_cap, const char **base) {
    const char *slash = dc_os_last_sep(path);
    *base = slash ? slash + 1 : path;
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (slash && n == 0) n = 1; /* "/name" */
    if (n >= dir_cap) return -1;
    if (slash)
        memcpy(dir, path, n);
    else
        dir[0] = '.';
    dir[n] = '\0';
    return **base ? 0 : -1;
}

/* Is `name` ".<base>.dcz-tmp.<pid>.XXXXXX" for this base? Gives the pid. */
static int stale_name(const char *name, const char *base, long *pid) {
    size_t bl = strlen(base), tl = strlen(TMP_TAG);
    if (name[0] != '.' || strncmp(name + 1, base, bl) != 0 ||
        strncmp(name + 1 + bl, TMP_TAG, tl) != 0)
        return 0;
    const char *p = name + 1 + bl + tl;
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || *p < '0' || *p > '9' || errno || v <= 0 || v > INT_MAX || *end != '.') return 0;
    if (strlen(end + 1) != TMP_RANDOM) return 0;
    *pid = v;
    return 1;
}

/* The leftovers remove_stale removes: "stale_name" files of processes that
 * no longer exist. */
typedef struct stale_ctx {
    const char *base;
    long self;
} stale_ctx;

static int is_stale(const char *name, void *ctx) {
    const stale_ctx *c = (const stale_ctx *)ctx;
    long pid;
    return stale_name(name, c->base, &pid) && pid != c->self && !dc_os_pid_alive(pid);
}

/* Removes leftovers of earlier processes (killed with SIGKILL, or crashed)
 * for this output: our naming, a regular file owned by us, and a pid that
 * no longer exists. Best effort; errors are ignored. */
static void remove_stale(const char *dir, const char *base) {
    stale_ctx c = {base, dc_os_pid()};
    dc_os_remove_files(dir, is_stale, &c);
}

int dc_tmp_create(const dc_alloc *a, const char *path, char **tmp_path, int *slot, int *direct) {
    *tmp_path = NULL;
    *slot = -1;
    *direct = 0;
    char dir[TMP_PATH_MAX];
    const char *base;
    if (split_path(path, dir, sizeof(dir), &base) != 0) {
        errno = *base ? ENAMETOOLONG : EISDIR; /* "dir/" names a directory */
        return -1;
    }
    int keep_mode = -1, mode = 0, kind = dc_os_stat(path, &mode);
    if (kind != DC_OS_NONE) {
        if (kind == DC_OS_DIR) {
            errno = EISDIR;
            return -1;
        }
        /* A character device (/dev/null, /dev/full, a terminal) is written
         * in place, as cp does: renaming over it would replace the device. */
        if (kind == DC_OS_CHARDEV) {
            *direct = 1;
            return dc_os_open_write(path);
        }
        /* A FIFO or socket cannot take the seek back to the header. */
        if (kind != DC_OS_REGULAR) {
            errno = EINVAL;
            return -1;
        }
        keep_mode = mode;
    }
    remove_stale(dir, base);
    size_t len = strlen(dir) + 1 + 1 + strlen(base) + strlen(TMP_TAG) + 24 + TMP_RANDOM + 1;
    char *t = (char *)dc_malloc(a, len);
    if (!t) {
        errno = ENOMEM;
        return -1;
    }
    static atomic_uint counter;
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint64_t x = dc_os_clock_ns() * 0x9E3779B97F4A7C15ull ^ ((uint64_t)dc_os_pid() << 32) ^
                 (uint64_t)(uintptr_t)t;
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        x ^= (uint64_t)atomic_fetch_add(&counter, 1) * 0xBF58476D1CE4E5B9ull;
        int n = snprintf(t, len, "%s/.%s%s%ld.", dir, base, TMP_TAG, dc_os_pid());
        for (int i = 0; i < TMP_RANDOM; i++) {
            x ^= x >> 31, x *= 0x94D049BB133111EBull, x ^= x >> 29;
            t[n + i] = alnum[x % (sizeof(alnum) - 1)];
        }
        t[n + TMP_RANDOM] = '\0';
        fd = dc_os_create_excl(t, keep_mode);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int e = errno;
        dc_free(a, t);
        errno = e;
        return -1;
    }
    *slot = registry_add(t);
    *tmp_path = t;
    return fd;
}

void dc_tmp_release(const dc_alloc *a, char *tmp_path, int slot, int unlink_it) {
    if (!tmp_path) return;
    int e = errno;
    if (unlink_it) (void)dc_os_unlink(tmp_path);
    registry_drop(slot);
    dc_free(a, tmp_path);
    errno = e;
}
