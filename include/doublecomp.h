/*
 * doublecomp.h -- libdoublecomp umbrella header.
 *
 * libdoublecomp compresses quantized LLM weights a second time, losslessly,
 * and hands them back to inference engines chunk by chunk. Include this one
 * header; it pulls in every component:
 *   dc_common.h  version, status codes, allocator hooks
 *   dc_codec.h   the chunked ANS codec (dc_chunk_decompress and friends)
 *   dc_stats.h   element types; calibration statistics (amax, sum x^2), their file
 *   dc_scaler.h  compression-aware per-channel scaling s_j = a_j^alpha / max|W_j|^(1-alpha)
 *   dc_quant.h   symmetric INT8 / 4-bit quantization (per tensor, channel, group)
 *   dc_prune.h   activation-aware pruning (DC, Wanda, magnitude)
 *   dc_container.h  the .dcz model file: streaming writer, mmap reader
 *   dc_planner.h    which chunks to keep compressed under a latency or memory budget
 *
 * Copyright (c) 2026 The libdoublecomp authors. SPDX-License-Identifier: MIT
 */
#ifndef DOUBLECOMP_H
#define DOUBLECOMP_H

#include "doublecomp/dc_common.h"
#include "doublecomp/dc_codec.h"
#include "doublecomp/dc_stats.h"
#include "doublecomp/dc_scaler.h"
#include "doublecomp/dc_quant.h"
#include "doublecomp/dc_prune.h"
#include "doublecomp/dc_container.h"
#include "doublecomp/dc_planner.h"

#endif /* DOUBLECOMP_H */
