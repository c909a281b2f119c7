/*
 * platform_posix.c -- platform.h for Linux, macOS and the BSDs (POSIX calls,
 * pthreads, mmap). With Linux extras where they exist: MAP_POPULATE and
 * sync_file_range.
 */
#define _GNU_SOURCE       /* O_CLOEXEC, MAP_POPULATE, sync_file_range, dirfd, fstatat */
#define _FILE_OFFSET_BITS 64
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* --- files ------------------------------------------------------------------ */

int dc_os_stat(const char *path, int *mode) {
    struct stat sb;
    if (stat(path, &sb) != 0) return DC_OS_NONE;
    if (mode) *mode = (int)(sb.st_mode & 0777);
    return S_ISREG(sb.st_mode)   ? DC_OS_REGULAR
           : S_ISDIR(sb.st_mode) ? DC_OS_DIR
           : S_ISCHR(sb.st_mode) ? DC_OS_CHARDEV
                                 : DC_OS_OTHER;
}

int dc_os_open_read(const char *path) {
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (its size is refused) */
    return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
}

int dc_os_open_write(const char *path) {
    return open(path, O_WRONLY | O_CLOEXEC);
}

int dc_os_create_excl(const char *path, int mode) {
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 && mode >= 0) (void)fchmod(fd, (mode_t)mode);
    return fd;
}

int dc_os_close(int fd) {
    return close(fd);
}

int dc_os_file_size(int fd, uint64_t *size) {
    struct stat sb;
    if (fstat(fd, &sb) != 0) return -1;
    if (!S_ISREG(sb.st_mode)) {
        errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
        return -1;
    }
    *size = (uint64_t)sb.st_size;
    return 0;
}

int dc_os_pread(int fd, void *buf, size_t n, uint64_t off, size_t *got) {
    uint8_t *p = (uint8_t *)buf;
    size_t done = 0;
    while (done < n) {
        size_t step = n - done > (1u << 30) ? (1u << 30) : n - done;
        ssize_t r = pread(fd, p + done, step, (off_t)(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            *got = done;
            return -1;
        }
        if (r == 0) break;
        done += (size_t)r;
    }
    *got = done;
    return 0;
}

void dc_os_advise_file(int fd, uint64_t size, unsigned flags) {
#if defined(POSIX_FADV_SEQUENTIAL) && defined(POSIX_FADV_WILLNEED)
    if (flags & DC_READER_SEQUENTIAL)
        (void)posix_fadvise(fd, 0, (off_t)size, POSIX_FADV_SEQUENTIAL);
    if (flags & DC_READER_WILLNEED) (void)posix_fadvise(fd, 0, (off_t)size, POSIX_FADV_WILLNEED);
#else
    (void)fd, (void)size, (void)flags;
#endif
}

int dc_os_rename(const char *from, const char *to, int replace) {
    return replace ? rename(from, to) : link(from, to); /* link fails if `to` exists */
}

const char *dc_os_last_sep(const char *path) {
    return strrchr(path, '/');
}

int dc_os_unlink(const char *path) {
    return unlink(path);
}

FILE *dc_os_fdopen(int fd, const char *mode) {
    return fdopen(fd, mode);
}

int dc_os_fsync(FILE *f) {
    return fsync(fileno(f));
}

void dc_os_writeback(FILE *f, uint64_t off, uint64_t len) {
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
    (void)sync_file_range(fileno(f), (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
#else
    (void)f, (void)off, (void)len;
#endif
}

/* --- memory maps ------------------------------------------------------------ */

void *dc_os_map(int fd, size_t size, unsigned flags) {
    int mflags = MAP_PRIVATE;
#ifdef MAP_POPULATE
    if (flags & DC_READER_POPULATE) mflags |= MAP_POPULATE;
#endif
    void *p = mmap(NULL, size, PROT_READ, mflags, fd, 0);
    if (p == MAP_FAILED) return NULL;
#if defined(MADV_SEQUENTIAL) && defined(MADV_WILLNEED)
    if (flags & DC_READER_SEQUENTIAL) (void)madvise(p, size, MADV_SEQUENTIAL);
    if (flags & DC_READER_WILLNEED) (void)madvise(p, size, MADV_WILLNEED);
#endif
    return p;
}

void dc_os_unmap(void *p, size_t size) {
    munmap(p, size);
}

/* --- processes and directories ---------------------------------------------- */

uint64_t dc_os_clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

long dc_os_pid(void) {
    return (long)getpid();
}

int dc_os_pid_alive(long pid) {
    return kill((pid_t)pid, 0) == 0 || errno != ESRCH; /* EPERM: alive, not ours to ask */
}

void dc_os_remove_files(const char *dir, int (*pick)(const char *name, void *ctx), void *ctx) {
    int e = errno;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *ent;
        while ((ent = readdir(d)) != NULL) {
            struct stat sb;
            if (!pick(ent->d_name, ctx) ||
                fstatat(dirfd(d), ent->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
                !S_ISREG(sb.st_mode) || sb.st_uid != geteuid())
                continue;
            (void)unlinkat(dirfd(d), ent->d_name, 0);
        }
        closedir(d);
    }
    errno = e;
}

/* --- threads ---------------------------------------------------------------- */

void dc_run_parallel(unsigned n, void *(*fn)(void *), void *jobs, size_t stride) {
    pthread_t th[DC_MAX_THREADS];
    int started[DC_MAX_THREADS] = {0};
    uint8_t *j = (uint8_t *)jobs;
    for (unsigned t = 1; t < n; t++) {
        started[t] = pthread_create(&th[t], NULL, fn, j + t * stride) == 0;
        if (!started[t]) fn(j + t * stride);
    }
    if (n) fn(j);
    for (unsigned t = 1; t < n; t++)
        if (started[t]) pthread_join(th[t], NULL);
}
