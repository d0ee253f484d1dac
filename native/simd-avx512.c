/* The AVX-512 (F/VL/BW/DQ + FMA) build of the kernels: 16 lanes, a 14x32 GEMM micro-kernel. */
#include <stddef.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2")
#define W 16
#define MR 14
#define FN(name) name##_avx512
#define TABLE_NAME simd_avx512
#define SIMD_NAME "avx512"
#include "simd-impl.h"
#else
#include "simd.h"
const simd_table simd_avx512 = {0};
#endif
