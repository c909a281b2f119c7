/*
 * fuzz_tokenizer.c -- libFuzzer target: the engine's llama2.c tokenizer
 * loader, encoder and decoder (examples/engine/tokenizer.c).
 * Input: u16 vocabulary size, u16 text length, the text, then the tokenizer
 * file. Every token of the encoding must be a valid id and decode.
 *
 * The vocabulary is at least FUZZ_MIN_VOCAB tokens: the byte-fallback ids
 * 3..258 of a smaller one are issue 9 section 2 (fixed separately), which
 * the fuzzer would otherwise report on every other input.
 */
#include "fuzz_util.h"

#include <string.h>

#include "../../examples/engine/tokenizer.h"

#ifndef FUZZ_MIN_VOCAB
#define FUZZ_MIN_VOCAB 259
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    int vocab = FUZZ_MIN_VOCAB + (data[0] | data[1] << 8) % 4096;
    size_t tlen = (size_t)(data[2] | data[3] << 8);
    if (tlen > size - 4) tlen = size - 4;
    const char *text = (const char *)data + 4;
    char path[64];
    int fd = fuzz_memfd(data + 4 + tlen, size - 4 - tlen, path);
    el_tokenizer tk;
    if (el_tokenizer_load(&tk, path, vocab) == 0) {
        int n = 0;
        int *ids = el_tokenizer_encode(&tk, text, tlen, 1, &n);
        if (!ids) abort();
        char buf[512];
        for (int i = 0; i < n; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) abort();
            (void)el_tokenizer_decode(&tk, i ? ids[i - 1] : 1, ids[i], buf, sizeof(buf));
        }
        for (int id = 0; id < vocab && id < 300; id++)
            (void)el_tokenizer_decode(&tk, 1, id, buf, sizeof(buf));
        (void)el_tokenizer_lookup(&tk, text, tlen);
        free(ids);
        el_tokenizer_free(&tk);
    }
    close(fd);
    return 0;
}
