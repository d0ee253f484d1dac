/*
 * The per-instruction-set function table of the kernels. simd-impl.h is compiled three times
 * (simd-avx512.c, simd-avx2.c, simd-generic.c) with a different vector width and target, and
 * kernels.c picks one table at run time from what the CPU supports.
 */
#ifndef TURNWISE_SIMD_H
#define TURNWISE_SIMD_H

#include <stddef.h>

/* The largest head dimension the native attention handles (larger ones use the reference). */
#define MAX_HEAD_DIM 256
/* Positions per key tile of the KV cache (KEY_TILE in src/engine/kernels/kernels.ts). */
#define KEY_TILE 16

/* Every kernel of the table, X(return type, name, parameters). simd_table gets a function pointer
 * per line and simd-impl.h fills it with its FN(name), so a new kernel is one line here and its
 * definition there. */
#define SIMD_KERNELS(X) \
  /* GEMM micro-kernel: c(MR,NR) (+)= a(kc,MR; row k at a + k*a_stride) . b(kc,NR packed) (+ bias(NR) when not NULL). */ \
  X(void, gemm_kernel, (long kc, const float *a, long a_stride, const float *b, float *c, long ldc, int accumulate, const float *bias)) \
  /* The same product with A read in place from row-major rows: a(MR,kc; row i at a + i*lda). */ \
  X(void, gemm_kernel_rows, (long kc, const float *a, long lda, const float *b, float *c, long ldc, int accumulate, const float *bias)) \
  /* A B panel from a transposed operand: panel[k*nr + j] = src[j*ld + k] (k < kc, j < cols), zero-padded to nr columns. */ \
  X(void, pack_transposed, (float *panel, const float *src, long ld, long kc, long cols, long nr)) \
  /* dst[j*ld_dst + i] = src[i*ld_src + j] for i < rows, j < cols. */ \
  X(void, transpose, (float *dst, long ld_dst, const float *src, long ld_src, long rows, long cols)) \
  X(void, rmsnorm_forward, (float *out, float *rstd, const float *inp, const float *weight, long rows, long C, float eps)) \
  /* dweight_partial(C) += this row range's contribution. */ \
  X(void, rmsnorm_backward, (float *dinp, float *dweight_partial, const float *dout, const float *inp, const float *weight, const float *rstd, long rows, long C)) \
  /* Rotates rows (H heads of D) with precomputed cos/sin tables of the row's position (D/2 each). */ \
  X(void, rope_rows, (float *out, const float *inp, const int *positions, long rows, long H, long D, const float *cos_table, const float *sin_table, int inverse)) \
  X(void, swiglu_forward, (float *out, const float *gate, const float *up, long n)) \
  X(void, swiglu_backward, (float *dgate, float *dup, const float *dout, const float *gate, const float *up, long n)) \
  X(void, add, (float *out, const float *a, const float *b, long n)) \
  X(void, logprobs_forward, (float *logprobs, float *lse, float *entropy, const float *logits, const int *targets, long rows, long V, float inv_temperature)) \
  X(void, logprobs_backward, (float *dlogits, const float *dlogprobs, const float *logits, const float *lse, const int *targets, long rows, long V, float inv_temperature)) \
  /* e(V) = exp(x*invT - max(x)*invT); returns sum(e) and sets *xmax = max(x). */ \
  X(float, softmax_weights, (float *e, const float *x, long V, float inv_temperature, float *xmax)) \
  /* The first v whose cumulative e[0..v] exceeds target (the last v with e > 0 when none does). */ \
  X(long, scan_weights, (const float *e, long V, double target)) \
  /* out[b] = max(x[16b .. 16b+16)) for b < blocks. */ \
  X(void, block_maxima, (float *out, const float *x, long blocks)) \
  X(void, adamw, (float *params, const float *grads, float *m, float *v, long n, float lr, float beta1, float beta2, float eps, float decay, float step_size, float correction2_sqrt, float grad_scale)) \
  X(double, sum_squares, (const float *x, long n)) \
  /* sums(OC) += column sums of dout(rows,OC). */ \
  X(void, column_sums, (float *sums, const float *dout, long rows, long OC)) \
  /* One (b,h) of causal attention: out rows and lse of query head h. */ \
  X(void, attention_forward_head, (float *out, float *lse, const float *q, const float *k, const float *v, long b, long h, long T, long H, long KVH, long D)) \
  /* One (b,kvh): every query head of the group, accumulating dq, dk, dv. */ \
  X(void, attention_backward_group, (float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k, const float *v, const float *out, const float *lse, long b, long kvh, long T, long H, long KVH, long D)) \
  /* Query rows i0..i0+n-1 (one cache slot) with their heads of KV head kvh, row i against positions \
   * 0..positions[i] of the slot: k_slot is the slot's (maxT/KEY_TILE, D, KEY_TILE) key tiles of that \
   * head, v_slot its (maxT, D) values. A row's output does not depend on the other rows. */ \
  X(void, attention_cached_rows, (float *out, const float *q, const float *k_slot, const float *v_slot, long i0, long n, long kvh, const int *positions, long H, long KVH, long D))

typedef struct {
  const char *name;
  /* The GEMM micro-kernel's tile: MR rows by NR columns. */
  int gemm_mr, gemm_nr;
#define SIMD_KERNEL_POINTER(type, name, parameters) type(*name) parameters;
  SIMD_KERNELS(SIMD_KERNEL_POINTER)
#undef SIMD_KERNEL_POINTER
} simd_table;

extern const simd_table simd_avx512;
extern const simd_table simd_avx2;
extern const simd_table simd_generic;

/* A per-thread scratch buffer of at least `floats` floats, 64-byte aligned; slot 0..3. */
float *thread_scratch(int slot, size_t floats);

#endif
