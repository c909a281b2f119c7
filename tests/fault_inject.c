/*
 * fault_inject.c -- an LD_PRELOAD shim for tests/test_faults.sh: makes file
 * system faults happen at a chosen moment.
 *
 *   FAULT_FAIL_OPEN=NAME:N     the N-th open() of a file whose last path
 *                              component is NAME fails with EACCES
 *   FAULT_TRUNCATE=NAME:BYTES  right after the first fstat() of such a file,
 *                              the file is truncated to BYTES (as another
 *                              process truncating it while it is read)
 *   FAULT_SIGNAL=SIG           right after the first fdopen() for writing
 *                              (the output writers' temporary files), the
 *                              process sends itself signal SIG
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Parses "NAME:N" from env var `var`; 1 if set and path's last component is NAME. */
static int match(const char *var, const char *path, long *n) {
    const char *v = getenv(var);
    if (!v || !path) return 0;
    const char *colon = strrchr(v, ':');
    if (!colon) return 0;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strlen(base) != (size_t)(colon - v) || strncmp(base, v, (size_t)(colon - v)) != 0) return 0;
    *n = strtol(colon + 1, NULL, 10);
    return 1;
}

static int opens;

static int do_open(const char *path, int flags, mode_t mode, int is64) {
    long n;
    if (match("FAULT_FAIL_OPEN", path, &n) && ++opens == n) {
        errno = EACCES;
        return -1;
    }
    typedef int (*open_fn)(const char *, int, ...);
    open_fn real = (open_fn)dlsym(RTLD_NEXT, is64 ? "open64" : "open");
    return real(path, flags, mode);
}

int open(const char *path, int flags, ...) {
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return do_open(path, flags, mode, 0);
}

int open64(const char *path, int flags, ...) {
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return do_open(path, flags, mode, 1);
}

static int truncated;

static void after_fstat(int fd) {
    char link[64], path[4096];
    long bytes;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    if (truncated || n <= 0) return;
    path[n] = '\0';
    if (match("FAULT_TRUNCATE", path, &bytes)) {
        truncated = 1;
        if (truncate(path, (off_t)bytes) != 0) perror("fault_inject: truncate");
    }
}

int fstat(int fd, struct stat *sb) {
    typedef int (*fstat_fn)(int, struct stat *);
    fstat_fn real = (fstat_fn)dlsym(RTLD_NEXT, "fstat");
    int rc = real(fd, sb);
    if (rc == 0) after_fstat(fd);
    return rc;
}

int fstat64(int fd, struct stat64 *sb) {
    typedef int (*fstat_fn)(int, struct stat64 *);
    fstat_fn real = (fstat_fn)dlsym(RTLD_NEXT, "fstat64");
    int rc = real(fd, sb);
    if (rc == 0) after_fstat(fd);
    return rc;
}

static int signalled;

FILE *fdopen(int fd, const char *mode) {
    typedef FILE *(*fdopen_fn)(int, const char *);
    fdopen_fn real = (fdopen_fn)dlsym(RTLD_NEXT, "fdopen");
    FILE *f = real(fd, mode);
    const char *sig = getenv("FAULT_SIGNAL");
    if (f && sig && strchr(mode, 'w') && !signalled) {
        signalled = 1;
        fputs("x", f); /* something buffered, as mid-write */
        raise(atoi(sig));
    }
    return f;
}
