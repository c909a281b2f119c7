/*
 * fuzz_llama2c.c -- libFuzzer target: arbitrary bytes as a llama2.c
 * checkpoint for the reference engine's loader (examples/engine/model.c);
 * a model that loads is run for two tokens. Must fail with a message or
 * load, never crash.
 *
 * Headers that ask for a huge KV cache or run state are skipped: that
 * resource limit is issue 9 section 3, handled separately; the harness looks
 * for memory-safety bugs, not for allocations the fuzzer makes large.
 */
#include "fuzz_util.h"

#include <string.h>

#include "../../examples/engine/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size >= 28) {
        int32_t hdr[7];
        memcpy(hdr, data, sizeof(hdr));
        el_config c;
        if (el_config_from_header(&c, hdr) == 0) {
            uint64_t L = (uint64_t)c.n_layers, S = (uint64_t)c.seq_len, KV = (uint64_t)c.kv_dim;
            uint64_t D = (uint64_t)c.dim, H = (uint64_t)c.hidden_dim, V = (uint64_t)c.vocab_size;
            uint64_t state = 2 * L * S * KV + S * (5 * D + 2 * KV + 5 * (H > D ? H : D)) + V;
            if (state > (8u << 20)) return 0; /* floats of run state: see above */
        }
    }
    char path[64];
    int fd = fuzz_memfd(data, size, path);
    el_model m;
    if (el_model_load(&m, path) == 0) {
        int toks[2] = {1, 0};
        int t = m.cfg.seq_len >= 2 ? 2 : 1;
        float *logits = calloc((size_t)t * (size_t)m.cfg.vocab_size, sizeof(float));
        if (!logits) abort();
        (void)el_forward(&m, toks, t, 0, logits);
        free(logits);
        el_model_free(&m);
    }
    close(fd);
    return 0;
}
