/*
 * Blocked, packed, multithreaded single-precision GEMM on top of the selected micro-kernel:
 * C(M,N) (+)= A(M,K) . B(K,N) (+ bias(N)), with A and B given by element strides so that
 * transposed operands need no copies beyond the packing every block does anyway.
 */
#ifndef TURNWISE_GEMM_H
#define TURNWISE_GEMM_H

#include "simd.h"

/* A(i,k) = a[i*a_row + k*a_col]; B(k,j) = b[k*b_row + j*b_col]; C row-major with row stride ldc. */
typedef struct {
  long M, N, K;
  const float *a;
  long a_row, a_col;
  const float *b;
  long b_row, b_col;
  float *c;
  long ldc;
  int accumulate;    /* 1: C += A.B; 0: C = A.B */
  const float *bias; /* optional bias(N) added once */
  int rows_independent; /* 1: never split K across threads, so each row of C is bitwise the same whatever M is */
} gemm_problem;

/* Runs the product with `threads` tasks on the pool (1 = on the calling thread only). */
void gemm_run(const simd_table *simd, const gemm_problem *problem, int threads);

/* out(N,OC) = inp(N,C) . weight(OC,C)^T (+ bias(OC)) for few rows (N <= gemm_forward_few_rows_limit):
 * the transposed product, so the weight is read in place instead of packed; values identical to gemm_run's. */
void gemm_forward_few_rows(const simd_table *simd, float *out, const float *inp, const float *weight, const float *bias, long N, long C, long OC, int threads);
/* The most rows gemm_forward_few_rows serves with this instruction set. */
long gemm_forward_few_rows_limit(const simd_table *simd);

#endif
