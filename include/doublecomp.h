/*
 * doublecomp.h -- libdoublecomp umbrella header.
 *
 * libdoublecomp compresses quantized LLM weights a second time, losslessly,
 * and hands them back to inference engines chunk by chunk. Include this one
 * header; it pulls in every component:
 *   dc_common.h  version, status codes, allocator hooks
 *   dc_codec.h   the chunked ANS codec (dc_chunk_decompress and friends)
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DOUBLECOMP_H
#define DOUBLECOMP_H

#include "doublecomp/dc_common.h"
#include "doublecomp/dc_codec.h"

#endif /* DOUBLECOMP_H */
