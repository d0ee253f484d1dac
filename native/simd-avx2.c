/* The AVX2 + FMA build of the kernels: 8 lanes, a 6x16 GEMM micro-kernel. */
#include <stddef.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#pragma GCC target("avx2,fma,bmi2")
#define W 8
#define MR 6
#define FN(name) name##_avx2
#define TABLE_NAME simd_avx2
#define SIMD_NAME "avx2"
#include "simd-impl.h"
#else
#include "simd.h"
const simd_table simd_avx2 = {0};
#endif
