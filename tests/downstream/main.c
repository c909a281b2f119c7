/* A downstream program built against the *installed* library (CI builds it
 * via pkg-config and via CMake find_package). Round-trips a buffer. */
#include <doublecomp.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    static unsigned char src[100000], comp[110000], out[100000];
    for (size_t i = 0; i < sizeof(src); i++) src[i] = (unsigned char)((i * 7919u) % 13u);
    size_t csize, n;
    if (dc_compress(NULL, src, sizeof(src), comp, sizeof(comp), &csize) != DC_OK) return 1;
    if (dc_decompress(NULL, comp, csize, out, sizeof(out), &n) != DC_OK) return 1;
    if (n != sizeof(src) || memcmp(src, out, n) != 0) return 1;
    if (dc_version_number() != DC_VERSION_NUMBER) return 1;
    printf("downstream OK: libdoublecomp %s, %zu -> %zu bytes\n", dc_version_string(), n, csize);
    return 0;
}
