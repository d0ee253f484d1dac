/*
 * GEMM driver in the BLIS style: for each (NC x KC) block of B packed into NR-wide panels and each
 * (MC x KC) block of A packed into MR-tall panels, the micro-kernel computes MR x NR tiles of C.
 * A is read in place instead of packed when it is transposed (its k rows are MR-contiguous) or,
 * for blocks of at most 4 column panels, row-major (a row-reading micro-kernel; packing would cost
 * as much as the multiply). Edge tiles go through a small buffer. Work is split across threads by
 * rows of C, by columns, or
 * (for long reductions such as weight gradients) by K with a final reduction.
 */
#include "gemm.h"

#include <stdlib.h>
#include <string.h>

#include "pool.h"

#ifndef KC
#define KC 256 /* the largest K block; K is cut into equal blocks of at most KC (see k_block) */
#endif
#ifndef MC_TILES
#define MC_TILES 16 /* MC = MC_TILES * MR rows of A per block */
#endif
#define NC 3072
#ifndef B_FLOATS
#define B_FLOATS (1L << 22) /* packed B of a column block: 16 MB (the 256-wide weight gradient packs all 256 columns at K=16384, so dout is streamed once, 142 -> 150 GFLOP/s) */
#endif
#ifndef NC_CAP
#define NC_CAP 768 /* columns per block when C is not L2-resident */
#endif
#define SMALL_M 256 /* at most this many rows: threads split the columns (B packing is not repeated per thread) */
#define COLUMN_TASKS_PER_THREAD 4 /* column ranges per thread of a few-row product */
#define COLUMN_TASK_FLOPS 2e6      /* the smallest such range worth a task */
#define C_RESIDENT_FLOATS (128L * 1024) /* a C region this small stays in L2 */

/* Packs A(i0.., k0..) (mc x kc) into MR-row panels: panel[k*MR + i], zero-padded rows. */
static void pack_a(float *packed, const gemm_problem *p, long i0, long mc, long k0, long kc, int mr) {
  if (p->a_col == 1) {
    for (long ip = 0; ip < mc; ip += mr) {
      long rows = mc - ip < mr ? mc - ip : mr;
      float *panel = packed + ip * kc;
      if (rows == mr && mr <= 16) {
        /* Full panel: the panel is written in order while the MR source rows are read in
         * step, 8 k at a time (MR streams, each L1-resident for the block). */
        const float *src[16];
        for (long i = 0; i < mr; i++) src[i] = p->a + (i0 + ip + i) * p->a_row + k0;
        long k = 0;
        for (; k + 8 <= kc; k += 8) {
          float *dst = panel + k * mr;
          for (long i = 0; i < mr; i++) {
            const float *s = src[i] + k;
            dst[0 * mr + i] = s[0];
            dst[1 * mr + i] = s[1];
            dst[2 * mr + i] = s[2];
            dst[3 * mr + i] = s[3];
            dst[4 * mr + i] = s[4];
            dst[5 * mr + i] = s[5];
            dst[6 * mr + i] = s[6];
            dst[7 * mr + i] = s[7];
          }
        }
        for (; k < kc; k++)
          for (long i = 0; i < mr; i++) panel[k * mr + i] = src[i][k];
        continue;
      }
      for (long i = 0; i < rows; i++) {
        const float *src = p->a + (i0 + ip + i) * p->a_row + k0;
        for (long k = 0; k < kc; k++) panel[k * mr + i] = src[k];
      }
      if (rows < mr)
        for (long k = 0; k < kc; k++) memset(panel + k * mr + rows, 0, (size_t)(mr - rows) * 4);
    }
    return;
  }
  /* Transposed A (rows of A are columns in memory): walk each k once across every panel, so
   * reads are mc-long contiguous runs instead of MR-long ones a page apart. */
  for (long k = 0; k < kc; k++) {
    const float *src = p->a + i0 * p->a_row + (k0 + k) * p->a_col;
    for (long ip = 0; ip < mc; ip += mr) {
      long rows = mc - ip < mr ? mc - ip : mr;
      float *dst = packed + ip * kc + k * mr;
      if (p->a_row == 1) memcpy(dst, src + ip, (size_t)rows * 4);
      else
        for (long i = 0; i < rows; i++) dst[i] = src[(ip + i) * p->a_row];
      for (long i = rows; i < mr; i++) dst[i] = 0;
    }
  }
}

/* Packs B(k0.., j0..) (kc x nc) into NR-column panels: panel[k*NR + j], zero-padded columns. */
static void pack_b(const simd_table *simd, float *packed, const gemm_problem *p, long k0, long kc, long j0, long nc, int nr) {
  for (long jp = 0; jp < nc; jp += nr) {
    long cols = nc - jp < nr ? nc - jp : nr;
    float *panel = packed + jp * kc;
    if (p->b_row == 1 && p->b_col != 1) {
      simd->pack_transposed(panel, p->b + (j0 + jp) * p->b_col + k0, p->b_col, kc, cols, nr);
    } else if (p->b_col == 1) {
      for (long k = 0; k < kc; k++) {
        memcpy(panel + k * nr, p->b + (k0 + k) * p->b_row + j0 + jp, (size_t)cols * 4);
        if (cols < nr) memset(panel + k * nr + cols, 0, (size_t)(nr - cols) * 4);
      }
    } else {
      for (long j = 0; j < cols; j++) {
        const float *src = p->b + (j0 + jp + j) * p->b_col + k0 * p->b_row;
        for (long k = 0; k < kc; k++) panel[k * nr + j] = src[k * p->b_row];
      }
      if (cols < nr)
        for (long k = 0; k < kc; k++) memset(panel + k * nr + cols, 0, (size_t)(nr - cols) * 4);
    }
  }
}

/* Columns per block: the packed B (K x nc) stays in L2/L3 and the C block (MC x nc) in L2 while
 * every K block accumulates into it, so C is read from memory once whatever K is. */
static long column_block(long K, int nr) { /* packed B <= B_FLOATS */
  long budget = B_FLOATS / (K > 0 ? K : 1);
  if (budget > NC_CAP) budget = NC_CAP;
  if (budget > NC) budget = NC;
  budget = budget / nr * nr;
  return budget < nr ? nr : budget;
}

/* K per block: K cut into the fewest blocks of at most KC, of equal size (a rounded-up multiple of
 * 8), so K=256 is one block (C tiles loaded and stored once) and K=384 two of 192, not 256+128. */
static long k_block(long K) {
  long blocks = (K + KC - 1) / KC;
  long kc = (K + blocks - 1) / blocks;
  kc = (kc + 7) / 8 * 8;
  return kc > KC ? KC : kc;
}

/*
 * Multiplies an A block (mc x kc) by a packed B block (kc x nc) into C at (ic, jc). A is either
 * packed (a_direct NULL) or read in place at a_direct: when A is a transposed matrix (a_rows 0)
 * its rows k are already MR-contiguous at stride a_stride; when A is row-major (a_rows 1) its rows
 * i are at stride a_stride and the row-reading micro-kernel walks MR of them in step. Either way
 * only edge panels (fewer than MR rows) get packed.
 */
static void multiply_block(const simd_table *simd, const gemm_problem *p, const float *packed_a, const float *a_direct, long a_stride, int a_rows, long ic, long pc, const float *packed_b, float *edge, long mc, long nc, long kc, float *c, long ldc, int acc, const float *bias) {
  int mr = simd->gemm_mr, nr = simd->gemm_nr;
  float *edge_a = edge + mr * nr;
  for (long jr = 0; jr < nc; jr += nr) {
    long cols = nc - jr < nr ? nc - jr : nr;
    const float *tile_bias = bias ? bias + jr : NULL;
    for (long ir = 0; ir < mc; ir += mr) {
      long rows = mc - ir < mr ? mc - ir : mr;
      float *ctile = c + ir * ldc + jr;
      const float *ap = packed_a + ir * kc, *bp = packed_b + jr * kc;
      long stride = mr;
      if (a_direct && a_rows && rows == mr) {
        ap = a_direct + ir * a_stride;
        if (cols == nr) {
          simd->gemm_kernel_rows(kc, ap, a_stride, bp, ctile, ldc, acc, tile_bias);
        } else {
          simd->gemm_kernel_rows(kc, ap, a_stride, bp, edge, nr, 0, NULL);
          for (long i = 0; i < rows; i++)
            for (long j = 0; j < cols; j++) ctile[i * ldc + j] = (acc ? ctile[i * ldc + j] : 0) + edge[i * nr + j] + (tile_bias ? tile_bias[j] : 0);
        }
        continue;
      }
      if (a_direct) {
        if (rows == mr) {
          ap = a_direct + ir;
          stride = a_stride;
        } else {
          if (jr == 0) pack_a(edge_a, p, ic + ir, rows, pc, kc, mr);
          ap = edge_a;
        }
      }
      if (rows == mr && cols == nr) {
        simd->gemm_kernel(kc, ap, stride, bp, ctile, ldc, acc, tile_bias);
      } else {
        simd->gemm_kernel(kc, ap, stride, bp, edge, nr, 0, NULL);
        for (long i = 0; i < rows; i++)
          for (long j = 0; j < cols; j++) ctile[i * ldc + j] = (acc ? ctile[i * ldc + j] : 0) + edge[i * nr + j] + (tile_bias ? tile_bias[j] : 0);
      }
    }
  }
}

/* Whether a row-major A is read in place by the row-reading micro-kernel rather than packed: when
 * this block has few columns (at most 4 panels), packing A costs about as much as multiplying it
 * (the input-gradient product of a 128-wide layer: 141 -> 170 GFLOP/s); with more columns the
 * packed layout wins (16384x256 input gradient: 166 packed, 158 in place). */
static int gemm_rows_in_place(long n, int nr) { return n <= 4L * nr; }

/*
 * The single-threaded blocked product over rows [i0,i1), columns [j0,j1), reduction [k0,k1).
 * When this C region fits in L2, K blocks are the outer loop (each A and B element packed once);
 * otherwise all of K is packed for a column block first and each C block stays in L2 while every
 * K block accumulates into it, so a large C is read from memory once whatever K is.
 */
static void gemm_block(const simd_table *simd, const gemm_problem *p, long i0, long i1, long j0, long j1, long k0, long k1, float *c, long ldc, int accumulate, const float *bias) {
  int mr = simd->gemm_mr, nr = simd->gemm_nr;
  long mc_max = (long)MC_TILES * mr;
  if (k1 <= k0) { /* empty reduction: C = (accumulate ? C : 0) + bias */
    for (long i = i0; i < i1; i++)
      for (long j = j0; j < j1; j++) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0) + (bias ? bias[j] : 0);
    return;
  }
  float *packed_a = thread_scratch(1, (size_t)KC * (mc_max + mr));
  float *edge = thread_scratch(2, (size_t)mr * nr + (size_t)KC * mr);
  int direct = p->a_row == 1 && p->a_col != 1; /* transposed A: read in place */
  int a_rows = 0;
  if (!direct && p->a_col == 1 && simd->gemm_kernel_rows && gemm_rows_in_place(j1 - j0, nr)) direct = a_rows = 1;
  long a_step = a_rows ? p->a_row : p->a_col; /* a_direct stride */
  long kb = k_block(k1 - k0);
  int k_outer = (i1 - i0) * (j1 - j0) <= C_RESIDENT_FLOATS;
  long nc_max = k_outer ? NC : column_block(k1 - k0, nr);
  long nc_padded_max = (nc_max + nr - 1) / nr * nr;
  float *packed_b = thread_scratch(0, (size_t)(k_outer ? kb : k1 - k0) * nc_padded_max);
  for (long jc = j0; jc < j1; jc += nc_max) {
    long nc = j1 - jc < nc_max ? j1 - jc : nc_max;
    long nc_padded = (nc + nr - 1) / nr * nr;
    if (k_outer) {
      for (long pc = k0; pc < k1; pc += kb) {
        long kc = k1 - pc < kb ? k1 - pc : kb;
        pack_b(simd, packed_b, p, pc, kc, jc, nc, nr);
        for (long ic = i0; ic < i1; ic += mc_max) {
          long mc = i1 - ic < mc_max ? i1 - ic : mc_max;
          if (!direct) pack_a(packed_a, p, ic, mc, pc, kc, mr);
          multiply_block(simd, p, packed_a, direct ? (a_rows ? p->a + ic * p->a_row + pc : p->a + ic + pc * p->a_col) : NULL, a_step, a_rows, ic, pc, packed_b, edge, mc, nc, kc, c + ic * ldc + jc, ldc, pc == k0 ? accumulate : 1, pc == k0 && bias ? bias + jc : NULL);
        }
      }
      continue;
    }
    for (long pc = k0; pc < k1; pc += kb) {
      long kc = k1 - pc < kb ? k1 - pc : kb;
      pack_b(simd, packed_b + (pc - k0) * nc_padded, p, pc, kc, jc, nc, nr);
    }
    for (long ic = i0; ic < i1; ic += mc_max) {
      long mc = i1 - ic < mc_max ? i1 - ic : mc_max;
      for (long pc = k0; pc < k1; pc += kb) {
        long kc = k1 - pc < kb ? k1 - pc : kb;
        if (!direct) pack_a(packed_a, p, ic, mc, pc, kc, mr);
        multiply_block(simd, p, packed_a, direct ? (a_rows ? p->a + ic * p->a_row + pc : p->a + ic + pc * p->a_col) : NULL, a_step, a_rows, ic, pc, packed_b + (pc - k0) * nc_padded, edge, mc, nc, kc, c + ic * ldc + jc, ldc, pc == k0 ? accumulate : 1, pc == k0 && bias ? bias + jc : NULL);
      }
    }
  }
}

typedef struct {
  const simd_table *simd;
  const gemm_problem *problem;
  char split;         /* 'm', 'n' or 'k' */
  long unit;          /* split granularity */
  float *partials;    /* split 'k': (tasks-1) x M x N buffers */
} gemm_job;

static void range_of(long total, long unit, int task, int tasks, long *start, long *end) {
  long units = (total + unit - 1) / unit;
  long first = units * task / tasks, last = units * (task + 1) / tasks;
  *start = first * unit < total ? first * unit : total;
  *end = last * unit < total ? last * unit : total;
}

static void gemm_task(void *context, int task, int tasks) {
  const gemm_job *job = context;
  const gemm_problem *p = job->problem;
  long start, end;
  range_of(job->split == 'm' ? p->M : job->split == 'n' ? p->N : p->K, job->unit, task, tasks, &start, &end);
  if (job->split == 'm') {
    if (start < end) gemm_block(job->simd, p, start, end, 0, p->N, 0, p->K, p->c, p->ldc, p->accumulate, p->bias);
  } else if (job->split == 'n') {
    if (start < end) gemm_block(job->simd, p, 0, p->M, start, end, 0, p->K, p->c, p->ldc, p->accumulate, p->bias);
  } else if (task == 0) {
    gemm_block(job->simd, p, 0, p->M, 0, p->N, start, end, p->c, p->ldc, p->accumulate, p->bias);
  } else {
    float *partial = job->partials + (size_t)(task - 1) * p->M * p->N;
    gemm_block(job->simd, p, 0, p->M, 0, p->N, start, end, partial, p->N, 0, NULL);
  }
}

typedef struct {
  const gemm_problem *problem;
  const float *partials;
  int count;
} reduce_job;

static void reduce_task(void *context, int task, int tasks) {
  const reduce_job *job = context;
  const gemm_problem *p = job->problem;
  long start, end;
  range_of(p->M, 1, task, tasks, &start, &end);
  size_t plane = (size_t)p->M * p->N;
  for (long i = start; i < end; i++)
    for (int t = 0; t < job->count; t++) {
      const float *src = job->partials + t * plane + i * p->N;
      float *dst = p->c + i * p->ldc;
      for (long j = 0; j < p->N; j++) dst[j] += src[j];
    }
}

void gemm_run(const simd_table *simd, const gemm_problem *p, int threads) {
  if (p->M <= 0 || p->N <= 0) return;
  double flops = 2.0 * (double)p->M * (double)p->N * (double)p->K;
  if (threads > 1 && flops < 2.0 * 48 * 48 * 48) threads = 1;
  gemm_job job = {simd, p, 'm', simd->gemm_mr, NULL};
  long max_mn = p->M > p->N ? p->M : p->N;
  if (threads > 1 && !p->rows_independent && p->K >= 4 * max_mn && p->K >= 2 * KC) {
    job.split = 'k';
    job.unit = KC;
    job.partials = malloc(sizeof(float) * (size_t)(threads - 1) * p->M * p->N);
    if (!job.partials) job.split = 'm', job.unit = simd->gemm_mr;
  } else if ((p->M < (long)simd->gemm_mr * threads * 2 && p->N > p->M) || (p->M <= SMALL_M && p->N >= (long)simd->gemm_nr * threads)) {
    /* Few rows (decoding): split the columns, so each thread packs only its part of B. */
    job.split = 'n';
    job.unit = simd->gemm_nr;
  }
  if (threads <= 1) {
    gemm_block(simd, p, 0, p->M, 0, p->N, 0, p->K, p->c, p->ldc, p->accumulate, p->bias);
    return;
  }
  int tasks = threads;
  if (job.split == 'n' && p->M <= SMALL_M) {
    /* Several column ranges per thread (of at least COLUMN_TASK_FLOPS each): a thread descheduled
     * mid-call delays the call by one small task instead of by half the product. */
    long panels = (p->N + simd->gemm_nr - 1) / simd->gemm_nr;
    double per_task = flops / (double)(threads * COLUMN_TASKS_PER_THREAD);
    tasks = per_task >= COLUMN_TASK_FLOPS ? threads * COLUMN_TASKS_PER_THREAD : (int)(flops / COLUMN_TASK_FLOPS);
    if (tasks < threads) tasks = threads;
    if (tasks > panels) tasks = (int)panels;
  }
  pool_run(gemm_task, &job, tasks);
  if (job.split == 'k') {
    reduce_job reduce = {p, job.partials, threads - 1};
    pool_run(reduce_task, &reduce, threads);
    free(job.partials);
  }
}

/* ------------------------------------------------------------------ forward of few rows */

/* out^T(OC,N) = weight(OC,C) . inp^T(C,N) with the weight as the row-major A read in place by the
 * row micro-kernel (no packing of the weight, and OC leaves at most one short row tile where 64
 * rows of A would leave an 8-row edge in a 14-row kernel), into a scratch accumulator holding the
 * bias, then transposed into out. Each product sums the same terms in the same order as gemm_run's
 * (the same K blocks, first block added to the bias), so the values are identical. */
typedef struct {
  const simd_table *simd;
  const gemm_problem *problem;
  const float *bias;
  float *out;
  long OC;
} few_rows_job;

long gemm_forward_few_rows_limit(const simd_table *simd) { return 4L * simd->gemm_nr; }

static void few_rows_task(void *context, int task, int tasks) {
  const few_rows_job *job = context;
  const gemm_problem *p = job->problem;
  long start, end;
  range_of(p->M, job->simd->gemm_mr, task, tasks, &start, &end);
  if (start >= end) return;
  for (long i = start; i < end; i++) {
    float init = job->bias ? job->bias[i] : 0.0f;
    for (long j = 0; j < p->N; j++) p->c[i * p->ldc + j] = init;
  }
  gemm_block(job->simd, p, start, end, 0, p->N, 0, p->K, p->c, p->ldc, 1, NULL);
  job->simd->transpose(job->out + start, job->OC, p->c + start * p->ldc, p->ldc, end - start, p->N);
}

void gemm_forward_few_rows(const simd_table *simd, float *out, const float *inp, const float *weight, const float *bias, long N, long C, long OC, int threads) {
  if (N <= 0 || OC <= 0) return;
  float *scratch = thread_scratch(3, (size_t)OC * (size_t)N);
  gemm_problem p = {OC, N, C, weight, C, 1, inp, 1, C, scratch, N, 1, NULL, 1};
  few_rows_job job = {simd, &p, bias, out, OC};
  double flops = 2.0 * (double)N * (double)OC * (double)C;
  long tiles = (OC + simd->gemm_mr - 1) / simd->gemm_mr;
  int tasks = 1;
  if (threads > 1 && flops >= 2.0 * 48 * 48 * 48) {
    tasks = flops / (double)(threads * COLUMN_TASKS_PER_THREAD) >= COLUMN_TASK_FLOPS ? threads * COLUMN_TASKS_PER_THREAD : (int)(flops / COLUMN_TASK_FLOPS);
    if (tasks < threads) tasks = threads;
    if (tasks > tiles) tasks = (int)tiles;
  }
  pool_run(few_rows_task, &job, tasks);
}
