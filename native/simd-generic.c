/* The portable build of the kernels: 4-lane generic vectors (SSE2 on x86-64, NEON or scalar code elsewhere), a 4x8 GEMM micro-kernel. */
#define W 4
#define MR 4
#define FN(name) name##_generic
#define TABLE_NAME simd_generic
#define SIMD_NAME "generic"
#include "simd-impl.h"
