/*
 * fuzz_tokenizer.c -- libFuzzer target: the engine's llama2.c tokenizer
 * loader, encoder and decoder (examples/engine/tokenizer.c).
 * Input: u16 vocabulary size (bit 15 set: a small one), u16 text length, the text, then the
 * tokenizer file. Every token of the encoding must be a valid id and decode.
 *
 * Vocabulary sizes start at FUZZ_MIN_VOCAB (default 1): those below 259,
 * whose byte-fallback ids 3..258 used to overflow (issue 9 section 2), must
 * be refused by the loader.
 */
#include "fuzz_util.h"

#include <string.h>

#include "../../examples/engine/tokenizer.h"

#ifndef FUZZ_MIN_VOCAB
#define FUZZ_MIN_VOCAB 1
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    /* bit 15: a vocabulary below EL_TOK_MIN_VOCAB, which the loader must refuse */
    int small = (data[1] & 0x80) != 0;
    int vocab = small ? FUZZ_MIN_VOCAB + data[0] % (EL_TOK_MIN_VOCAB - FUZZ_MIN_VOCAB)
                      : EL_TOK_MIN_VOCAB + (data[0] | (data[1] & 0x7F) << 8) % 4096;
    size_t tlen = (size_t)(data[2] | data[3] << 8);
    if (tlen > size - 4) tlen = size - 4;
    const char *text = (const char *)data + 4;
    char path[64];
    int fd = fuzz_memfd(data + 4 + tlen, size - 4 - tlen, path);
    el_tokenizer tk;
    if (el_tokenizer_load(&tk, path, vocab) == 0) {
        if (small) abort(); /* byte fallback would index past the vocabulary */
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
