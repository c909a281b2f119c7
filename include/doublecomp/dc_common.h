/*
 * dc_common.h -- libdoublecomp: export macro, version, status codes, allocator.
 *
 * Included by every other libdoublecomp header; include <doublecomp.h> rather
 * than this file directly.
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DOUBLECOMP_DC_COMMON_H
#define DOUBLECOMP_DC_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ========================================================================== */
/*                               Export macro                                 */
/* ========================================================================== */

/*
 * DC_API marks every public function. The shared library is built with
 * -fvisibility=hidden, so only functions marked DC_API (and named dc_*, which
 * the linker version script enforces) are exported. On Windows the DLL's
 * functions are __declspec(dllexport) (the build defines DC_DLL_EXPORT for
 * the DLL only), a program using the DLL gets __declspec(dllimport), and
 * one linking the static library defines DC_STATIC (the CMake target
 * doublecomp::doublecomp_static does it) to get neither.
 */
#if defined(_WIN32)
#if defined(DC_DLL_EXPORT)
#define DC_API __declspec(dllexport)
#elif defined(DC_STATIC) || defined(DC_BUILDING_LIBRARY)
#define DC_API
#else
#define DC_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#define DC_API __attribute__((visibility("default")))
#else
#define DC_API
#endif

/* ========================================================================== */
/*                          Stable and experimental API                       */
/* ========================================================================== */

/*
 * The ABI promise (README, "ABI"): every function, type and constant these
 * headers declare by default is the stable API. Within one SONAME
 * (libdoublecomp.so.0) none of it is removed or changes signature, layout
 * or meaning, and enum and status values never renumber: a program built
 * against an older header runs against a newer library. Options and
 * description structs only grow at their end (struct_size says how much the
 * caller knows). CI checks this against a committed abidiff baseline.
 *
 * New API that is not settled yet is declared only when the program defines
 * DC_EXPERIMENTAL before including <doublecomp.h> (as with zstd's
 * ZSTD_STATIC_LINKING_ONLY); its symbols carry the version
 * DOUBLECOMP_EXPERIMENTAL. It may change or be removed in any release, so a
 * program that uses it should require the exact library version it was
 * built with (dc_version_number()). Calls graduate to the stable API, and
 * their symbols to the stable version node, in a release that freezes them.
 * Experimental declarations are marked "Experimental" where they appear.
 */

/* ========================================================================== */
/*                                  Version                                   */
/* ========================================================================== */

#define DC_VERSION_MAJOR 0
#define DC_VERSION_MINOR 1
#define DC_VERSION_PATCH 0
/* MAJOR*10000 + MINOR*100 + PATCH, e.g. 0.1.0 -> 100. */
#define DC_VERSION_NUMBER        (DC_VERSION_MAJOR * 10000 + DC_VERSION_MINOR * 100 + DC_VERSION_PATCH)
#define DC_VERSION_STRINGIFY_(x) #x
#define DC_VERSION_STRINGIFY(x)  DC_VERSION_STRINGIFY_(x)
#define DC_VERSION_STRING                                                                          \
    DC_VERSION_STRINGIFY(DC_VERSION_MAJOR)                                                         \
    "." DC_VERSION_STRINGIFY(DC_VERSION_MINOR) "." DC_VERSION_STRINGIFY(DC_VERSION_PATCH)

/*
 * dc_version_number() returns DC_VERSION_NUMBER of the library actually
 * loaded at run time (which can differ from the header a program was compiled
 * against). dc_version_string() returns the same as "MAJOR.MINOR.PATCH"; the
 * string is static and must not be freed. Both are thread-safe.
 */
DC_API unsigned dc_version_number(void);
DC_API const char *dc_version_string(void);

/* ========================================================================== */
/*                                Status codes                                */
/* ========================================================================== */

/*
 * Every fallible function returns a dc_status. The numeric values are part of
 * the ABI: they are never renumbered, and new codes are only appended.
 */
typedef enum dc_status {
    DC_OK = 0,
    DC_ERR_INVALID_ARGUMENT = 1, /* NULL pointer, bad option, value out of range */
    DC_ERR_OUT_OF_MEMORY = 2,    /* an allocation failed */
    DC_ERR_DST_TOO_SMALL = 3,    /* destination buffer too small for the result */
    DC_ERR_CORRUPT = 4,          /* input is malformed (bad magic, bad table, ...) */
    DC_ERR_CHECKSUM = 5,         /* decoded data does not match its checksum */
    DC_ERR_TRUNCATED = 6,        /* input ends before the structure it announces */
    DC_ERR_UNSUPPORTED = 7,      /* unknown version/codec, or CPU lacks a forced SIMD path */
    DC_ERR_SIZE_MISMATCH = 8,    /* sizes given by the caller disagree with the data */
    DC_ERR_IO = 9,               /* reading or writing a file failed */
    DC_ERR_NOT_FINITE = 10,      /* NaN or infinity in floating-point input */
    DC_ERR_DIMENSION = 11,       /* matrix/vector dimensions do not agree */
    DC_ERR_RANGE = 12,           /* a parameter is outside its documented range */
    DC_ERR_INFEASIBLE = 13,      /* no solution satisfies the given budget */
    DC_ERR_CODEC = 14,           /* an external codec (zstd, lz4) reported an error */
    DC_ERR_FORMAT = 15,          /* a file is not in the expected format */
    DC_ERR_LIMIT = 16,           /* a resource limit (e.g. a memory limit) would be exceeded */
    DC_ERR_NOT_FOUND = 17        /* no such item (e.g. no tensor of that name); since 0.1.0 */
} dc_status;

/*
 * Returns a static, human-readable, English description of a status code
 * (never NULL; unknown values give "unknown status"). Thread-safe.
 */
DC_API const char *dc_status_string(dc_status status);

/* ========================================================================== */
/*                          Custom memory allocator                           */
/* ========================================================================== */

/*
 * Engines that manage their own memory pass a dc_allocator in the options of
 * any create function. Set struct_size = sizeof(dc_allocator). Both functions
 * must be set (or the whole pointer left NULL for malloc/free). alloc_fn must
 * return memory aligned for any C object (like malloc), or NULL on failure.
 * The allocator is called from the thread calling into the library; it must
 * be thread-safe if objects are created or used from several threads. The
 * structure is copied: it need not outlive the call that received it.
 */
typedef struct dc_allocator {
    size_t struct_size;
    void *(*alloc_fn)(void *opaque, size_t size);
    void (*free_fn)(void *opaque, void *ptr);
    void *opaque;
} dc_allocator;

/* ========================================================================== */
/*                              Temporary files                               */
/* ========================================================================== */

/*
 * Files are written atomically: dc_writer_create and dc_stats_save write to a
 * temporary file next to the output, "<dir>/.<name>.dcz-tmp.<pid>.XXXXXX",
 * and rename it over the output when complete. (The file gets mode
 * 0666 & ~umask, or the mode of the regular file it replaces.)
 *
 * dc_temp_files_remove() unlinks every such temporary file that this process
 * has open right now. It is async-signal-safe and meant for a SIGINT/SIGTERM
 * handler, which should then re-raise the signal (writers whose files were
 * removed fail or write into the void; the process is expected to exit).
 * The library installs no handler itself. A process killed by SIGKILL cannot
 * clean up: the next temporary file created for the same output removes the
 * leftovers whose process no longer exists (regular files named as above and
 * owned by the caller's user). On a directory shared between machines or PID
 * namespaces a pid may look dead while its writer is alive elsewhere; do not
 * write the same output from two of them at once.
 */
DC_API void dc_temp_files_remove(void);

#ifdef __cplusplus
}
#endif
#endif /* DOUBLECOMP_DC_COMMON_H */
