/*
 * platform.h -- the library's one door to the operating system. Never installed.
 *
 * Files, memory maps, threads and the few process facts the temporary files
 * need. lib/platform_posix.c implements it for Linux, macOS and the BSDs,
 * lib/platform_win32.c for Windows; CMake compiles one of them, and no other
 * library file includes an OS header. A port to another system writes one
 * more such file.
 *
 * Paths are UTF-8 (converted to UTF-16 on Windows). Files are C runtime
 * descriptors (on Windows over a handle from CreateFileW), so the stdio calls
 * on top of them (fdopen'ed FILE streams) are the same everywhere. Calls that
 * fail return -1 (or NULL) with errno set to the system's reason (Windows
 * errors are mapped to the nearest errno value).
 */
#ifndef DC_PLATFORM_H
#define DC_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* --- files ------------------------------------------------------------------ */

/* What a path names (following symbolic links); for dc_os_stat. */
enum { DC_OS_NONE = 0, DC_OS_REGULAR, DC_OS_DIR, DC_OS_CHARDEV, DC_OS_OTHER };

/* The kind of `path` (DC_OS_NONE, errno set, if it cannot be examined, e.g.
 * it does not exist); *mode gets the permission bits (0777) of a regular file. */
int dc_os_stat(const char *path, int *mode);
/* Opens an existing file read-only, never blocking on a FIFO. Descriptor or -1. */
int dc_os_open_read(const char *path);
/* Opens an existing file (a character device) write-only, in place. */
int dc_os_open_write(const char *path);
/* Creates a new file read-write, failing with EEXIST if `path` exists; mode
 * 0666 & ~umask, then `mode` (permission bits) if it is >= 0. */
int dc_os_create_excl(const char *path, int mode);
int dc_os_close(int fd);
/* The size of the open file; -1 with EISDIR (a directory) or EINVAL
 * (anything else that is not a regular file) too. */
int dc_os_file_size(int fd, uint64_t *size);
/* Reads n bytes at offset off, whatever the file position (safe from several
 * threads at once), retrying interrupted and short reads. *got: the bytes
 * read, fewer than n only at the end of the file. 0, or -1 on an error. */
int dc_os_pread(int fd, void *buf, size_t n, uint64_t off, size_t *got);
/* Hints for reading the whole file (DC_READER_SEQUENTIAL, DC_READER_WILLNEED
 * of dc_container.h); ignored where the system has none. */
void dc_os_advise_file(int fd, uint64_t size, unsigned flags);
/* Moves `from` to `to`, atomically. replace: over an existing `to`; else
 * failing (EEXIST) if `to` exists, when `from` may stay (the caller removes it). */
int dc_os_rename(const char *from, const char *to, int replace);
/* The last directory separator in `path` ('/'; on Windows '\\' too), or NULL. */
const char *dc_os_last_sep(const char *path);
/* Removes a file. Async-signal-safe on POSIX (dc_temp_files_remove). */
int dc_os_unlink(const char *path);

/* stdio on a descriptor (fdopen; the FILE then owns it), and for such a
 * stream: its written data to stable storage (fsync), or a hint to start
 * writing back [off, off + len) without waiting (Linux; elsewhere nothing). */
FILE *dc_os_fdopen(int fd, const char *mode);
int dc_os_fsync(FILE *f);
void dc_os_writeback(FILE *f, uint64_t off, uint64_t len);

/* --- memory maps ------------------------------------------------------------ */

/* Maps size > 0 bytes of the open file read-only (a private mapping; the
 * descriptor may be closed afterwards), with DC_READER_POPULATE,
 * DC_READER_SEQUENTIAL and DC_READER_WILLNEED (dc_container.h) as hints.
 * NULL on failure. */
void *dc_os_map(int fd, size_t size, unsigned flags);
void dc_os_unmap(void *p, size_t size);

/* --- a clock ---------------------------------------------------------------- */

/* A monotonic clock, in nanoseconds from some fixed point (for timing and
 * seeding; never goes back). */
uint64_t dc_os_clock_ns(void);

/* --- processes and directories (the temporary files, tmpfile.c) ------------ */

long dc_os_pid(void);
/* 0 only if no process `pid` exists (1 if it does, or the system cannot tell). */
int dc_os_pid_alive(long pid);
/* Calls pick(name, ctx) for each entry of directory `dir` and removes each
 * regular file (not following links; on POSIX owned by this user) for which
 * it returns nonzero. Best effort: errors are ignored; errno is preserved. */
void dc_os_remove_files(const char *dir, int (*pick)(const char *name, void *ctx), void *ctx);

/* --- threads ---------------------------------------------------------------- */

#define DC_MAX_THREADS 256
/* Runs fn on each of n (<= DC_MAX_THREADS) jobs laid out `stride` bytes apart
 * from `jobs`: jobs 1 .. n-1 on threads started for the call (on the calling
 * thread where one cannot be started), job 0 on the calling thread meanwhile.
 * Returns when all have finished. */
void dc_run_parallel(unsigned n, void *(*fn)(void *), void *jobs, size_t stride);

#endif /* DC_PLATFORM_H */
