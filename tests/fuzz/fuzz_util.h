/*
 * fuzz_util.h -- helpers shared by the libFuzzer targets.
 */
#ifndef DC_FUZZ_UTIL_H
#define DC_FUZZ_UTIL_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Puts data[0..size) in an anonymous in-memory file and writes a path that
 * opens it ("/proc/self/fd/N") into path. Returns the descriptor (close it
 * afterwards); aborts if the kernel refuses, which is not a finding. */
static int fuzz_memfd(const uint8_t *data, size_t size, char path[64]) {
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0) abort();
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) abort();
        off += (size_t)w;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
