/*
 * presets.h -- named compression settings of the example tools (`dcz
 * compress --preset NAME`, `dc-llama ppl|generate --preset NAME`).
 *
 * A preset is a list of ordinary options: `--preset NAME` stands for them at
 * the place where it appears, so an option given after it overrides the
 * preset's value and both tools read a preset exactly as they read the
 * options it lists. The settings were chosen with the evaluation protocol of
 * docs/pipeline-results.md (examples/engine/pipeline-grid.sh); test_presets
 * checks that the table there lists these same options.
 *
 * Header-only; not part of the library.
 */
#ifndef DC_EXAMPLES_PRESETS_H
#define DC_EXAMPLES_PRESETS_H

#include <stdlib.h>
#include <string.h>

typedef struct dcx_preset {
    const char *name;
    const char *options; /* space-separated, no quoting */
    const char *what;    /* one line for --help */
} dcx_preset;

static const dcx_preset dcx_presets[] = {
    {"dc8",
     "--quant tensor --alpha 0.9 --qmax 90 --sparsity 0.05 --prune dc --prune-group tensor "
     "--gptq on",
     "8-bit double compression (docs/pipeline-results.md)"},
    {"dc4",
     "--bits 4 --quant group:32 --grid full --scales f16 --alpha 0 --sparsity 0.03 --prune dc "
     "--prune-group tensor --gptq on --scale-mantissa 4",
     "4-bit DC format: full grid, binary16 group scales (docs/pipeline-results.md)"},
};

/* The preset called `name`, or NULL. */
static inline const dcx_preset *dcx_preset_find(const char *name) {
    for (size_t i = 0; i < sizeof dcx_presets / sizeof dcx_presets[0]; i++)
        if (!strcmp(dcx_presets[i].name, name)) return &dcx_presets[i];
    return NULL;
}

/*
 * Replaces every "--preset NAME" pair in argv[0..argc) by the options of
 * that preset. On success returns 0 and sets *out_argv (NULL-terminated, one
 * malloc'd block holding the pointers and the preset words; free it with
 * free()) and *out_argc; the other strings still belong to argv. Returns -1
 * with *bad set to the offending name (or NULL when NAME is missing or memory
 * ran out).
 */
static inline int dcx_preset_expand(int argc, char **argv, int *out_argc, char ***out_argv,
                                    const char **bad) {
    size_t words = 0, bytes = 0;
    *bad = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--preset") != 0) continue;
        if (i + 1 >= argc) return -1;
        const dcx_preset *p = dcx_preset_find(argv[i + 1]);
        if (!p) {
            *bad = argv[i + 1];
            return -1;
        }
        bytes += strlen(p->options) + 1;
        for (const char *s = p->options; *s; s++)
            words += *s == ' ';
        words++;
        i++;
    }
    const size_t n_ptr = (size_t)argc + words + 1;
    char **v = malloc(n_ptr * sizeof(char *) + bytes);
    if (!v) return -1;
    char *store = (char *)(v + n_ptr);
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--preset") != 0) {
            v[n++] = argv[i];
            continue;
        }
        const dcx_preset *p = dcx_preset_find(argv[++i]);
        const size_t len = strlen(p->options);
        memcpy(store, p->options, len + 1);
        for (char *w = store; *w;) {
            v[n++] = w;
            char *sp = strchr(w, ' ');
            if (!sp) break;
            *sp = 0;
            w = sp + 1;
        }
        store += len + 1;
    }
    v[n] = NULL;
    *out_argc = n;
    *out_argv = v;
    return 0;
}

#endif /* DC_EXAMPLES_PRESETS_H */
