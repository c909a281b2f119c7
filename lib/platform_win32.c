/*
 * platform_win32.c -- platform.h for Windows: the Win32 API under the C
 * runtime's descriptors (CreateFileW handles wrapped by _open_osfhandle), so
 * that the library's stdio streams work unchanged. UTF-8 paths are converted
 * with MultiByteToWideChar. CI cross-compiles it with mingw-w64 (a build
 * check: nothing here runs in CI).
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0602 /* Windows 8: PrefetchVirtualMemory */
#endif
#include "internal.h"

#include <windows.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <process.h>
#include <stdlib.h>
#include <wchar.h>

/* Sets errno from GetLastError() (the nearest value) and returns -1. */
static int fail_errno(void) {
    switch (GetLastError()) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME:
    case ERROR_BAD_NETPATH:
    case ERROR_INVALID_DRIVE:
        errno = ENOENT;
        break;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_WRITE_PROTECT:
        errno = EACCES;
        break;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
        errno = EEXIST;
        break;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
        errno = ENOSPC;
        break;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
        errno = ENOMEM;
        break;
    case ERROR_TOO_MANY_OPEN_FILES:
        errno = EMFILE;
        break;
    case ERROR_FILENAME_EXCED_RANGE:
        errno = ENAMETOOLONG;
        break;
    case ERROR_DIRECTORY:
        errno = ENOTDIR;
        break;
    case ERROR_INVALID_HANDLE:
        errno = EBADF;
        break;
    case ERROR_INVALID_PARAMETER:
        errno = EINVAL;
        break;
    default:
        errno = EIO;
    }
    return -1;
}

/* `s` (UTF-8) as a new UTF-16 string (free() it), or NULL with errno set. */
static wchar_t *wide(const char *s) {
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0) {
        errno = EINVAL; /* not UTF-8 */
        return NULL;
    }
    wchar_t *w = (wchar_t *)malloc((size_t)n * sizeof(wchar_t));
    if (!w) {
        errno = ENOMEM;
        return NULL;
    }
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        free(w);
        errno = EINVAL;
        return NULL;
    }
    return w;
}

static HANDLE handle_of(int fd) {
    return (HANDLE)_get_osfhandle(fd);
}

/* CreateFileW(path, ...) as a C runtime descriptor (which owns the handle). */
static int open_fd(const char *path, DWORD access, DWORD disposition, DWORD attributes,
                   int crt_flags) {
    wchar_t *w = wide(path);
    if (!w) return -1;
    HANDLE h = CreateFileW(w, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           disposition, attributes, NULL);
    int rc = h == INVALID_HANDLE_VALUE ? fail_errno() : 0;
    free(w);
    if (rc != 0) return -1;
    int fd = _open_osfhandle((intptr_t)h, crt_flags | _O_BINARY);
    if (fd < 0) {
        CloseHandle(h);
        errno = EMFILE;
    }
    return fd;
}

/* --- files ------------------------------------------------------------------ */

int dc_os_stat(const char *path, int *mode) {
    wchar_t *w = wide(path);
    if (!w) return DC_OS_NONE;
    WIN32_FILE_ATTRIBUTE_DATA a;
    int ok = GetFileAttributesExW(w, GetFileExInfoStandard, &a) != 0;
    if (!ok) fail_errno();
    free(w);
    if (!ok) return DC_OS_NONE;
    if (a.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) return DC_OS_DIR;
    if (a.dwFileAttributes & FILE_ATTRIBUTE_DEVICE) return DC_OS_OTHER;
    if (mode) *mode = a.dwFileAttributes & FILE_ATTRIBUTE_READONLY ? 0444 : 0666;
    return DC_OS_REGULAR;
}

int dc_os_open_read(const char *path) {
    /* BACKUP_SEMANTICS: a directory opens too, and dc_os_file_size says EISDIR */
    return open_fd(path, GENERIC_READ, OPEN_EXISTING,
                   FILE_ATTRIBUTE_NORMAL | FILE_FLAG_BACKUP_SEMANTICS, _O_RDONLY);
}

int dc_os_open_write(const char *path) {
    return open_fd(path, GENERIC_WRITE, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, _O_WRONLY);
}

int dc_os_create_excl(const char *path, int mode) {
    (void)mode; /* Windows has no permission bits to copy: a new file gets the folder's ACL */
    return open_fd(path, GENERIC_READ | GENERIC_WRITE, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, _O_RDWR);
}

int dc_os_close(int fd) {
    return _close(fd);
}

int dc_os_file_size(int fd, uint64_t *size) {
    HANDLE h = handle_of(fd);
    BY_HANDLE_FILE_INFORMATION info;
    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    if (GetFileType(h) != FILE_TYPE_DISK) {
        errno = EINVAL; /* a pipe, console or device */
        return -1;
    }
    if (!GetFileInformationByHandle(h, &info)) return fail_errno();
    if (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
        errno = EISDIR;
        return -1;
    }
    *size = (uint64_t)info.nFileSizeHigh << 32 | info.nFileSizeLow;
    return 0;
}

int dc_os_pread(int fd, void *buf, size_t n, uint64_t off, size_t *got) {
    HANDLE h = handle_of(fd);
    uint8_t *p = (uint8_t *)buf;
    size_t done = 0;
    *got = 0;
    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    while (done < n) {
        /* the offset in an OVERLAPPED: a positional read, whatever the file pointer */
        DWORD step = n - done > (1u << 30) ? (1u << 30) : (DWORD)(n - done), r = 0;
        uint64_t at = off + done;
        OVERLAPPED ov;
        memset(&ov, 0, sizeof(ov));
        ov.Offset = (DWORD)at;
        ov.OffsetHigh = (DWORD)(at >> 32);
        if (!ReadFile(h, p + done, step, &r, &ov)) {
            if (GetLastError() == ERROR_HANDLE_EOF) break;
            *got = done;
            return fail_errno();
        }
        if (r == 0) break;
        done += r;
    }
    *got = done;
    return 0;
}

void dc_os_advise_file(int fd, uint64_t size, unsigned flags) {
    (void)fd, (void)size, (void)flags; /* no such hints for an open file */
}

int dc_os_rename(const char *from, const char *to, int replace) {
    wchar_t *wf = wide(from), *wt = wf ? wide(to) : NULL;
    int rc = -1;
    if (wt) {
        DWORD how = MOVEFILE_WRITE_THROUGH | (replace ? MOVEFILE_REPLACE_EXISTING : 0);
        rc = MoveFileExW(wf, wt, how) ? 0 : fail_errno();
    }
    free(wf);
    free(wt);
    return rc;
}

const char *dc_os_last_sep(const char *path) {
    const char *a = strrchr(path, '/'), *b = strrchr(path, '\\');
    return !a ? b : !b ? a : a > b ? a : b;
}

int dc_os_unlink(const char *path) {
    wchar_t *w = wide(path);
    if (!w) return -1;
    int rc = DeleteFileW(w) ? 0 : fail_errno();
    free(w);
    return rc;
}

FILE *dc_os_fdopen(int fd, const char *mode) {
    return _fdopen(fd, mode);
}

int dc_os_fsync(FILE *f) {
    HANDLE h = handle_of(_fileno(f));
    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    return FlushFileBuffers(h) ? 0 : fail_errno();
}

void dc_os_writeback(FILE *f, uint64_t off, uint64_t len) {
    (void)f, (void)off, (void)len;
}

/* --- memory maps ------------------------------------------------------------ */

void *dc_os_map(int fd, size_t size, unsigned flags) {
    HANDLE m = CreateFileMappingW(handle_of(fd), NULL, PAGE_READONLY, 0, 0, NULL);
    if (!m) {
        fail_errno();
        return NULL;
    }
    void *p = MapViewOfFile(m, FILE_MAP_READ, 0, 0, size);
    if (!p) fail_errno();
    CloseHandle(m); /* the view keeps the mapping */
    if (p && (flags & (DC_READER_WILLNEED | DC_READER_POPULATE))) {
        WIN32_MEMORY_RANGE_ENTRY range = {p, size};
        (void)PrefetchVirtualMemory(GetCurrentProcess(), 1, &range, 0); /* a hint */
    }
    return p;
}

void dc_os_unmap(void *p, size_t size) {
    (void)size;
    UnmapViewOfFile(p);
}

/* --- processes and directories ---------------------------------------------- */

uint64_t dc_os_clock_ns(void) {
    LARGE_INTEGER c, f;
    QueryPerformanceCounter(&c);
    QueryPerformanceFrequency(&f);
    uint64_t n = (uint64_t)c.QuadPart, hz = (uint64_t)f.QuadPart;
    return n / hz * 1000000000u + n % hz * 1000000000u / hz;
}

long dc_os_pid(void) {
    return (long)GetCurrentProcessId();
}

int dc_os_pid_alive(long pid) {
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!h) return GetLastError() != ERROR_INVALID_PARAMETER; /* that: no such process */
    DWORD code = 0;
    int alive = !GetExitCodeProcess(h, &code) || code == STILL_ACTIVE;
    CloseHandle(h);
    return alive;
}

/* (Files are not checked for their owner here: a user's temporary files
 * lie in folders the user writes to.) */
void dc_os_remove_files(const char *dir, int (*pick)(const char *name, void *ctx), void *ctx) {
    int e = errno;
    wchar_t *wdir = wide(dir);
    size_t n = wdir ? wcslen(wdir) : 0;
    wchar_t *path = wdir ? (wchar_t *)malloc((n + 2 + MAX_PATH) * sizeof(wchar_t)) : NULL;
    if (path) {
        memcpy(path, wdir, n * sizeof(wchar_t));
        path[n] = L'\\', path[n + 1] = L'*', path[n + 2] = 0;
        WIN32_FIND_DATAW fd;
        HANDLE h = FindFirstFileW(path, &fd);
        if (h != INVALID_HANDLE_VALUE) {
            do {
                char name[3 * MAX_PATH + 1]; /* UTF-8: at most 3 bytes per UTF-16 unit */
                if (fd.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT |
                                           FILE_ATTRIBUTE_DEVICE))
                    continue;
                if (WideCharToMultiByte(CP_UTF8, 0, fd.cFileName, -1, name, (int)sizeof(name), NULL,
                                        NULL) <= 0 ||
                    !pick(name, ctx))
                    continue;
                size_t k = wcslen(fd.cFileName);
                if (k >= MAX_PATH) continue;
                memcpy(path + n + 1, fd.cFileName, (k + 1) * sizeof(wchar_t));
                (void)DeleteFileW(path);
            } while (FindNextFileW(h, &fd));
            FindClose(h);
        }
    }
    free(path);
    free(wdir);
    errno = e;
}

/* --- threads ---------------------------------------------------------------- */

typedef struct thread_start {
    void *(*fn)(void *);
    void *arg;
} thread_start;

static unsigned __stdcall thread_main(void *p) {
    thread_start *s = (thread_start *)p;
    s->fn(s->arg);
    return 0;
}

void dc_run_parallel(unsigned n, void *(*fn)(void *), void *jobs, size_t stride) {
    HANDLE th[DC_MAX_THREADS] = {0};
    thread_start start[DC_MAX_THREADS];
    uint8_t *j = (uint8_t *)jobs;
    for (unsigned t = 1; t < n; t++) {
        start[t].fn = fn;
        start[t].arg = j + t * stride;
        /* _beginthreadex, not CreateThread: the C runtime's per-thread state */
        th[t] = (HANDLE)_beginthreadex(NULL, 0, thread_main, &start[t], 0, NULL);
        if (!th[t]) fn(j + t * stride);
    }
    if (n) fn(j);
    for (unsigned t = 1; t < n; t++) {
        if (th[t]) {
            WaitForSingleObject(th[t], INFINITE);
            CloseHandle(th[t]);
        }
    }
}
