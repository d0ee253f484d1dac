/*
 * The Node-API entry points of the turnwise kernels. Every function validates its arguments
 * (types, integer dimensions, buffer lengths against the shapes, index ranges) before touching
 * memory and throws a JavaScript error naming the op and the shapes; then it runs the kernel of
 * the selected instruction set (AVX-512, AVX2 or generic, chosen from cpuid at load time) on the
 * persistent thread pool.
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "pool.h"
#include "simd.h"

static const simd_table *simd = &simd_generic;

/* ------------------------------------------------------------------ argument parsing */

#define MAX_ARGS 16
#define MAX_DIM 2147483647L

typedef struct {
  napi_env env;
  napi_value argv[MAX_ARGS];
  size_t argc;
  const char *op;
  char dims[256];
  int failed;
} call_t;

static void fail(call_t *c, int type_error, const char *format, ...) {
  if (c->failed) return;
  c->failed = 1;
  char detail[384], message[768];
  va_list args;
  va_start(args, format);
  vsnprintf(detail, sizeof detail, format, args);
  va_end(args);
  snprintf(message, sizeof message, "%s(%s): %s", c->op, c->dims, detail);
  if (type_error) napi_throw_type_error(c->env, "ERR_TURNWISE_ARGUMENT", message);
  else napi_throw_range_error(c->env, "ERR_TURNWISE_SHAPE", message);
}

/* One function the addon exports: its JavaScript name, its entry point and the arguments it needs. */
typedef struct {
  const char *name;
  napi_callback entry;
  size_t arguments;
} export_entry;

/* Reads the arguments of a call to an entry point registered from EXPORTS (its name and argument
 * count come from there); fails unless enough were given. */
static int begin(call_t *c, napi_env env, napi_callback_info info) {
  memset(c, 0, sizeof *c);
  c->env = env;
  c->argc = MAX_ARGS;
  void *data = NULL;
  napi_status status = napi_get_cb_info(env, info, &c->argc, c->argv, NULL, &data);
  const export_entry *entry = data;
  c->op = entry ? entry->name : "turnwise kernel";
  if (status != napi_ok || !entry) {
    fail(c, 1, "cannot read the arguments");
    return 0;
  }
  if (c->argc < entry->arguments) {
    fail(c, 1, "expects %zu arguments, got %zu", entry->arguments, c->argc);
    return 0;
  }
  return 1;
}

static double arg_number(call_t *c, int index, const char *name) {
  if (c->failed) return 0;
  double value = 0;
  if (napi_get_value_double(c->env, c->argv[index], &value) != napi_ok) fail(c, 1, "%s must be a number", name);
  return value;
}

/* A non-negative integer dimension, recorded for error messages. */
static long arg_dim(call_t *c, int index, const char *name) {
  double value = arg_number(c, index, name);
  size_t used = strlen(c->dims);
  char text[32];
  snprintf(text, sizeof text, "%.15g", value);
  if (strtod(text, NULL) != value) snprintf(text, sizeof text, "%.17g", value);
  snprintf(c->dims + used, sizeof c->dims - used, "%s%s=%s", used ? ", " : "", name, text);
  if (c->failed) return 0;
  if (!(value >= 0 && value <= MAX_DIM && value == floor(value))) fail(c, 0, "%s must be an integer in [0, 2^31), got %s", name, text);
  return (long)value;
}

static int arg_bool(call_t *c, int index, const char *name) {
  if (c->failed) return 0;
  bool value = false;
  if (napi_get_value_bool(c->env, c->argv[index], &value) != napi_ok) fail(c, 1, "%s must be a boolean", name);
  return value;
}

/* The product of dimensions as an element count, failing past 2^53. */
static long elements(call_t *c, long a, long b, long d) {
  long ab, abd;
  if (__builtin_mul_overflow(a, b, &ab) || __builtin_mul_overflow(ab, d, &abd) || abd > (1L << 53)) {
    fail(c, 0, "the shape is too large (%ld x %ld x %ld elements)", a, b, d);
    return 0;
  }
  return abd;
}

static int is_null(call_t *c, int index) {
  napi_valuetype type;
  return napi_typeof(c->env, c->argv[index], &type) == napi_ok && (type == napi_null || type == napi_undefined);
}

static void *arg_typed(call_t *c, int index, const char *name, const char *shape, long needed, int optional, napi_typedarray_type want, const char *want_name) {
  if (c->failed) return NULL;
  if (optional && is_null(c, index)) return NULL;
  bool is_typed = false;
  napi_is_typedarray(c->env, c->argv[index], &is_typed);
  if (!is_typed) {
    fail(c, 1, "%s %s must be a %s", name, shape, want_name);
    return NULL;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(c->env, c->argv[index], &type, &length, &data, NULL, NULL) != napi_ok || type != want) {
    fail(c, 1, "%s %s must be a %s", name, shape, want_name);
    return NULL;
  }
  if ((long)length < needed) {
    fail(c, 0, "%s %s needs %ld elements, got a buffer of %zu", name, shape, needed, length);
    return NULL;
  }
  return data;
}

static float *arg_floats(call_t *c, int index, const char *name, const char *shape, long needed, int optional) {
  return arg_typed(c, index, name, shape, needed, optional, napi_float32_array, "Float32Array");
}

static int *arg_ints(call_t *c, int index, const char *name, const char *shape, long needed) {
  return arg_typed(c, index, name, shape, needed, 0, napi_int32_array, "Int32Array");
}

static void check_indices(call_t *c, const int *indices, long count, long limit, const char *name, const char *limit_name) {
  if (c->failed) return;
  for (long i = 0; i < count; i++)
    if (indices[i] < 0 || indices[i] >= limit) {
      fail(c, 0, "%s[%ld]=%d is outside [0, %s=%ld)", name, i, indices[i], limit_name, limit);
      return;
    }
}

static void check_heads(call_t *c, long H, long KVH) {
  if (!c->failed && (KVH <= 0 || H % KVH != 0)) fail(c, 0, "H must be a multiple of KVH > 0, got H=%ld KVH=%ld", H, KVH);
}

static napi_value undefined_value(napi_env env) {
  napi_value value;
  napi_get_undefined(env, &value);
  return value;
}

/* ------------------------------------------------------------------ parallel row ranges */

typedef void (*range_fn)(void *context, long start, long end, int task);

typedef struct {
  range_fn fn;
  void *context;
  long total;
} range_job;

static void range_task(void *context, int task, int tasks) {
  range_job *job = context;
  long start = job->total * task / tasks, end = job->total * (task + 1) / tasks;
  if (start < end) job->fn(job->context, start, end, task);
}

/* Splits [0,total) into up to `threads` ranges of at least `min_per_task` items; returns the task count used. */
static int tasks_for(long total, long min_per_task) {
  long tasks = min_per_task > 0 ? total / min_per_task : total;
  int threads = pool_threads();
  if (tasks > threads) tasks = threads;
  return tasks < 1 ? 1 : (int)tasks;
}

static void parallel_ranges(range_fn fn, void *context, long total, int tasks) {
  range_job job = {fn, context, total};
  pool_run(range_task, &job, tasks);
}

/* ------------------------------------------------------------------ matmul */

static napi_value matmul_forward(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long N = arg_dim(&c, 4, "N"), C = arg_dim(&c, 5, "C"), OC = arg_dim(&c, 6, "OC");
  float *out = arg_floats(&c, 0, "out", "(N,OC)", elements(&c, N, OC, 1), 0);
  float *inp = arg_floats(&c, 1, "inp", "(N,C)", elements(&c, N, C, 1), 0);
  float *weight = arg_floats(&c, 2, "weight", "(OC,C)", elements(&c, OC, C, 1), 0);
  float *bias = arg_floats(&c, 3, "bias", "(OC)", OC, 1);
  if (c.failed) return NULL;
  if (N <= gemm_forward_few_rows_limit(simd)) {
    gemm_forward_few_rows(simd, out, inp, weight, bias, N, C, OC, pool_threads());
    return undefined_value(env);
  }
  /* Rows independent: a sequence's logits do not depend on what else is in the batch. */
  gemm_problem p = {N, OC, C, inp, C, 1, weight, 1, C, out, OC, 0, bias, 1};
  gemm_run(simd, &p, pool_threads());
  return undefined_value(env);
}

typedef struct {
  float *partials;
  const float *dout;
  long OC;
} column_sums_job;

static void column_sums_range(void *context, long start, long end, int task) {
  column_sums_job *job = context;
  float *sums = job->partials + (size_t)task * job->OC;
  memset(sums, 0, sizeof(float) * (size_t)job->OC);
  simd->column_sums(sums, job->dout + start * job->OC, end - start, job->OC);
}

static napi_value matmul_backward(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long N = arg_dim(&c, 6, "N"), C = arg_dim(&c, 7, "C"), OC = arg_dim(&c, 8, "OC");
  float *dinp = arg_floats(&c, 0, "dinp", "(N,C)", elements(&c, N, C, 1), 1);
  float *dweight = arg_floats(&c, 1, "dweight", "(OC,C)", elements(&c, OC, C, 1), 1);
  float *dbias = arg_floats(&c, 2, "dbias", "(OC)", OC, 1);
  float *dout = arg_floats(&c, 3, "dout", "(N,OC)", elements(&c, N, OC, 1), 0);
  float *inp = arg_floats(&c, 4, "inp", "(N,C)", elements(&c, N, C, 1), 0);
  float *weight = arg_floats(&c, 5, "weight", "(OC,C)", elements(&c, OC, C, 1), 0);
  if (c.failed) return NULL;
  int threads = pool_threads();
  if (dinp) {
    gemm_problem p = {N, C, OC, dout, OC, 1, weight, C, 1, dinp, C, 1, NULL, 0};
    gemm_run(simd, &p, threads);
  }
  if (dweight) {
    gemm_problem p = {OC, C, N, dout, 1, OC, inp, C, 1, dweight, C, 1, NULL, 0};
    gemm_run(simd, &p, threads);
  }
  if (dbias && OC > 0) {
    int tasks = tasks_for(N, 256);
    float *partials = malloc(sizeof(float) * (size_t)tasks * OC);
    if (!partials) {
      fail(&c, 0, "out of memory");
      return NULL;
    }
    column_sums_job job = {partials, dout, OC};
    parallel_ranges(column_sums_range, &job, N, tasks);
    for (int t = 0; t < tasks && N > 0; t++) simd->add(dbias, dbias, partials + (size_t)t * OC, OC);
    free(partials);
  }
  return undefined_value(env);
}

/* ------------------------------------------------------------------ embedding */

static napi_value embedding_forward(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long N = arg_dim(&c, 3, "N"), C = arg_dim(&c, 4, "C"), V = arg_dim(&c, 5, "V");
  float *out = arg_floats(&c, 0, "out", "(N,C)", elements(&c, N, C, 1), 0);
  int *ids = arg_ints(&c, 1, "ids", "(N)", N);
  float *table = arg_floats(&c, 2, "table", "(V,C)", elements(&c, V, C, 1), 0);
  check_indices(&c, ids, N, V, "ids", "V");
  if (c.failed) return NULL;
  for (long n = 0; n < N; n++) memcpy(out + n * C, table + (long)ids[n] * C, sizeof(float) * (size_t)C);
  return undefined_value(env);
}

static napi_value embedding_backward(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long N = arg_dim(&c, 3, "N"), C = arg_dim(&c, 4, "C"), V = arg_dim(&c, 5, "V");
  float *dtable = arg_floats(&c, 0, "dtable", "(V,C)", elements(&c, V, C, 1), 0);
  float *dout = arg_floats(&c, 1, "dout", "(N,C)", elements(&c, N, C, 1), 0);
  int *ids = arg_ints(&c, 2, "ids", "(N)", N);
  check_indices(&c, ids, N, V, "ids", "V");
  if (c.failed) return NULL;
  /* Serial: repeated ids would race across threads, and this is a small share of a step. */
  for (long n = 0; n < N; n++) simd->add(dtable + (long)ids[n] * C, dtable + (long)ids[n] * C, dout + n * C, C);
  return undefined_value(env);
}

/* ------------------------------------------------------------------ rmsnorm */

typedef struct {
  float *out, *rstd, *dinp, *partials;
  const float *inp, *weight, *dout, *saved_rstd;
  long C;
  float eps;
} rmsnorm_job;

static void rmsnorm_forward_range(void *context, long start, long end, int task) {
  (void)task;
  rmsnorm_job *job = context;
  simd->rmsnorm_forward(job->out + start * job->C, job->rstd + start, job->inp + start * job->C, job->weight, end - start, job->C, job->eps);
}

static napi_value rmsnorm_forward(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long N = arg_dim(&c, 4, "N"), C = arg_dim(&c, 5, "C");
  double eps = arg_number(&c, 6, "eps");
  float *out = arg_floats(&c, 0, "out", "(N,C)", elements(&c, N, C, 1), 0);
  float *rstd = arg_floats(&c, 1, "rstd", "(N)", N, 0);
  float *inp = arg_floats(&c, 2, "inp", "(N,C)", elements(&c, N, C, 1), 0);
  float *weight = arg_floats(&c, 3, "weight", "(C)", C, 0);
  if (!c.failed && !(eps >= 0 && isfinite(eps))) fail(&c, 0, "eps must be a finite number >= 0, got %g", eps);
  if (c.failed) return NULL;
  rmsnorm_job job = {.out = out, .rstd = rstd, .inp = inp, .weight = weight, .C = C, .eps = (float)eps};
  parallel_ranges(rmsnorm_forward_range, &job, N, tasks_for(N * C, 16384) > N ? (int)(N ? N : 1) : tasks_for(N * C, 16384));
  return undefined_value(env);
}

static void rmsnorm_backward_range(void *context, long start, long end, int task) {
  rmsnorm_job *job = context;
  float *partial = job->partials + (size_t)task * job->C;
  memset(partial, 0, sizeof(float) * (size_t)job->C);
  simd->rmsnorm_backward(job->dinp + start * job->C, partial, job->dout + start * job->C, job->inp + start * job->C, job->weight, job->saved_rstd + start, end - start, job->C);
}

static napi_value rmsnorm_backward(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long N = arg_dim(&c, 6, "N"), C = arg_dim(&c, 7, "C");
  float *dinp = arg_floats(&c, 0, "dinp", "(N,C)", elements(&c, N, C, 1), 0);
  float *dweight = arg_floats(&c, 1, "dweight", "(C)", C, 0);
  float *dout = arg_floats(&c, 2, "dout", "(N,C)", elements(&c, N, C, 1), 0);
  float *inp = arg_floats(&c, 3, "inp", "(N,C)", elements(&c, N, C, 1), 0);
  float *weight = arg_floats(&c, 4, "weight", "(C)", C, 0);
  float *rstd = arg_floats(&c, 5, "rstd", "(N)", N, 0);
  if (c.failed || N == 0) return c.failed ? NULL : undefined_value(env);
  int tasks = tasks_for(N * C, 16384);
  if (tasks > N) tasks = (int)N;
  float *partials = malloc(sizeof(float) * (size_t)tasks * (C ? C : 1));
  if (!partials) {
    fail(&c, 0, "out of memory");
    return NULL;
  }
  rmsnorm_job job = {.dinp = dinp, .partials = partials, .inp = inp, .weight = weight, .dout = dout, .saved_rstd = rstd, .C = C};
  parallel_ranges(rmsnorm_backward_range, &job, N, tasks);
  for (int t = 0; t < tasks; t++) simd->add(dweight, dweight, partials + (size_t)t * C, C);
  free(partials);
  return undefined_value(env);
}

/* ------------------------------------------------------------------ rope */

static pthread_mutex_t rope_mutex = PTHREAD_MUTEX_INITIALIZER;
#define ROPE_TABLE_POSITIONS 65536 /* positions served by the shared cos/sin table */
static struct {
  double theta;
  long D, positions;
  float *cos_table, *sin_table; /* (positions, D/2) */
} rope_cache;

/* Makes the cos/sin tables cover positions [0, needed) for (theta, D); returns 0 when out of memory. */
static int rope_tables(double theta, long D, long needed) {
  if (rope_cache.theta == theta && rope_cache.D == D && rope_cache.positions >= needed) return 1;
  long positions = needed < 4096 ? 4096 : needed * 2 > ROPE_TABLE_POSITIONS ? ROPE_TABLE_POSITIONS : needed * 2;
  long half = D / 2;
  float *cos_table = malloc(sizeof(float) * (size_t)(positions * half + 1));
  float *sin_table = malloc(sizeof(float) * (size_t)(positions * half + 1));
  if (!cos_table || !sin_table) {
    free(cos_table);
    free(sin_table);
    return 0;
  }
  for (long i = 0; i < half; i++) {
    double frequency = pow(theta, -2.0 * (double)i / (double)D);
    for (long p = 0; p < positions; p++) {
      double angle = (double)p * frequency;
      cos_table[p * half + i] = (float)cos(angle);
      sin_table[p * half + i] = (float)sin(angle);
    }
  }
  free(rope_cache.cos_table);
  free(rope_cache.sin_table);
  rope_cache.theta = theta;
  rope_cache.D = D;
  rope_cache.positions = positions;
  rope_cache.cos_table = cos_table;
  rope_cache.sin_table = sin_table;
  return 1;
}

typedef struct {
  float *out;
  const float *inp;
  const int *positions;
  long H, D;
  int inverse;
} rope_job;

static void rope_range(void *context, long start, long end, int task) {
  (void)task;
  rope_job *job = context;
  long row = job->H * job->D;
  simd->rope_rows(job->out + start * row, job->inp + start * row, job->positions + start, end - start, job->H, job->D, rope_cache.cos_table, rope_cache.sin_table, job->inverse);
}

static napi_value rope(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long N = arg_dim(&c, 3, "N"), H = arg_dim(&c, 4, "H"), D = arg_dim(&c, 5, "D");
  double theta = arg_number(&c, 6, "theta");
  int inverse = arg_bool(&c, 7, "inverse");
  float *out = arg_floats(&c, 0, "out", "(N,H,D)", elements(&c, N, H, D), 0);
  float *inp = arg_floats(&c, 1, "inp", "(N,H,D)", elements(&c, N, H, D), 0);
  int *positions = arg_ints(&c, 2, "positions", "(N)", N);
  if (!c.failed && D % 2 != 0) fail(&c, 0, "D must be even, got %ld", D);
  if (!c.failed && !(theta > 0 && isfinite(theta))) fail(&c, 0, "theta must be a positive number, got %g", theta);
  check_indices(&c, positions, N, MAX_DIM, "positions", "2^31-1");
  if (c.failed) return NULL;
  long max_position = 0;
  for (long n = 0; n < N; n++) max_position = positions[n] > max_position ? positions[n] : max_position;
  int tasks = tasks_for(N * H * D, 16384) > N ? (int)(N ? N : 1) : tasks_for(N * H * D, 16384);
  if (max_position >= ROPE_TABLE_POSITIONS) {
    /* Far positions: per-row tables for this call instead of a huge shared table. */
    long half = D / 2;
    float *cos_rows = malloc(sizeof(float) * (size_t)(N * half + 1)), *sin_rows = malloc(sizeof(float) * (size_t)(N * half + 1));
    int *rows = malloc(sizeof(int) * (size_t)(N + 1));
    if (!cos_rows || !sin_rows || !rows) {
      free(cos_rows), free(sin_rows), free(rows);
      fail(&c, 0, "out of memory for the rotary tables");
      return NULL;
    }
    for (long n = 0; n < N; n++) {
      rows[n] = (int)n;
      for (long i = 0; i < half; i++) {
        double angle = (double)positions[n] * pow(theta, -2.0 * (double)i / (double)D);
        cos_rows[n * half + i] = (float)cos(angle);
        sin_rows[n * half + i] = (float)sin(angle);
      }
    }
    simd->rope_rows(out, inp, rows, N, H, D, cos_rows, sin_rows, inverse);
    free(cos_rows), free(sin_rows), free(rows);
    return undefined_value(env);
  }
  pthread_mutex_lock(&rope_mutex);
  if (!rope_tables(theta, D, max_position + 1)) {
    pthread_mutex_unlock(&rope_mutex);
    fail(&c, 0, "out of memory for the rotary tables");
    return NULL;
  }
  rope_job job = {out, inp, positions, H, D, inverse};
  parallel_ranges(rope_range, &job, N, tasks);
  pthread_mutex_unlock(&rope_mutex);
  return undefined_value(env);
}

/* ------------------------------------------------------------------ attention */

typedef struct {
  float *out, *lse, *dq, *dk, *dv, *kcache, *vcache;
  const float *q, *k, *v, *dout, *saved_out, *saved_lse;
  const int *slots, *positions;
  long B, T, H, KVH, D, maxT;
} attention_job;

static void attention_forward_task(void *context, int task, int tasks) {
  (void)tasks;
  attention_job *job = context;
  simd->attention_forward_head(job->out, job->lse, job->q, job->k, job->v, task / job->H, task % job->H, job->T, job->H, job->KVH, job->D);
}

static void attention_backward_task(void *context, int task, int tasks) {
  (void)tasks;
  attention_job *job = context;
  simd->attention_backward_group(job->dq, job->dk, job->dv, job->dout, job->q, job->k, job->v, job->saved_out, job->saved_lse, task / job->KVH, task % job->KVH, job->T, job->H, job->KVH, job->D);
}

/* Writes row b's key and value of KV head h into the cache (keys transposed in tiles of KEY_TILE). */
static void write_row_head(float *kcache, float *vcache, const float *k, const float *v, const int *slots, const int *positions, long b, long h, long maxT, long KVH, long D) {
  long position = positions[b], within = position % KEY_TILE;
  size_t head = ((size_t)slots[b] * (size_t)KVH + (size_t)h) * (size_t)maxT;
  const float *krow = k + (b * KVH + h) * D;
  float *kt = kcache + (head + (size_t)(position - within)) * (size_t)D + (size_t)within;
  for (long d = 0; d < D; d++) kt[d * KEY_TILE] = krow[d];
  memcpy(vcache + (head + (size_t)position) * (size_t)D, v + (b * KVH + h) * D, sizeof(float) * (size_t)D);
}

/* Cached attention: a unit is (block of consecutive rows of one slot, KV head), the rows of a block
 * scored together against each key tile (prefill rows read their slot's keys once per block);
 * tasks are contiguous ranges of units of about equal work. */
#define CACHED_MAX_TASKS 64
#define CACHED_TASKS_PER_THREAD 4
#define CACHED_MIN_TASK_WORK 32768 /* positions x head dims below which a task is not worth a thread */
#define CACHED_BLOCK_ROWS 8

typedef struct {
  attention_job base;
  int write; /* write each row's new key and value just before attending (no slot repeats in the call) */
  const long *blocks; /* block b holds rows blocks[b]..blocks[b+1]-1 */
  long bounds[CACHED_MAX_TASKS + 1];
} attention_cached_job;

/* Prefetches the first two key tiles and value rows of a unit's (slot, KV head): the streams of a
 * new unit start before its computation does (short rows are otherwise latency-bound). */
static void prefetch_head(const attention_cached_job *job, long unit) {
  const attention_job *a = &job->base;
  long i = job->blocks[unit / a->KVH], kvh = unit % a->KVH;
  size_t head = ((size_t)a->slots[i] * (size_t)a->KVH + (size_t)kvh) * (size_t)a->maxT * (size_t)a->D;
  long positions = a->positions[i] + 1;
  long tiles = (positions + KEY_TILE - 1) / KEY_TILE;
  long floats = (tiles < 2 ? tiles : 2) * KEY_TILE * a->D;
  for (long e = 0; e < floats; e += 16) {
    __builtin_prefetch(a->kcache + head + e, 0, 3);
    if (e < positions * a->D) __builtin_prefetch(a->vcache + head + e, 0, 2);
  }
}

static void attention_cached_task(void *context, int task, int tasks) {
  (void)tasks;
  attention_cached_job *job = context;
  const attention_job *a = &job->base;
  long end = job->bounds[task + 1];
  for (long unit = job->bounds[task]; unit < end; unit++) {
    long block = unit / a->KVH, kvh = unit % a->KVH, i0 = job->blocks[block], n = job->blocks[block + 1] - i0;
    size_t head = ((size_t)a->slots[i0] * (size_t)a->KVH + (size_t)kvh) * (size_t)a->maxT * (size_t)a->D;
    if (unit == job->bounds[task]) prefetch_head(job, unit);
    if (unit + 1 < end) prefetch_head(job, unit + 1);
    if (job->write)
      for (long i = i0; i < i0 + n; i++) write_row_head(a->kcache, a->vcache, a->k, a->v, a->slots, a->positions, i, kvh, a->maxT, a->KVH, a->D);
    simd->attention_cached_rows(a->out, a->q, a->kcache + head, a->vcache + head, i0, n, kvh, a->positions, a->H, a->KVH, a->D);
  }
}

static void check_head_dim(call_t *c, long D) {
  if (!c->failed && D > MAX_HEAD_DIM) fail(c, 0, "native attention supports D <= %d, got %ld", MAX_HEAD_DIM, D);
}

static void check_task_count(call_t *c, long tasks) {
  if (!c->failed && tasks > MAX_DIM) fail(c, 0, "too many (sequence, head) pairs: %ld", tasks);
}

static napi_value attention_forward(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long B = arg_dim(&c, 5, "B"), T = arg_dim(&c, 6, "T"), H = arg_dim(&c, 7, "H"), KVH = arg_dim(&c, 8, "KVH"), D = arg_dim(&c, 9, "D");
  long queries = elements(&c, elements(&c, B, T, 1), H, D), keys = elements(&c, elements(&c, B, T, 1), KVH, D);
  float *out = arg_floats(&c, 0, "out", "(B,T,H,D)", queries, 0);
  float *lse = arg_floats(&c, 1, "lse", "(B,H,T)", elements(&c, B, H, T), 0);
  float *q = arg_floats(&c, 2, "q", "(B,T,H,D)", queries, 0);
  float *k = arg_floats(&c, 3, "k", "(B,T,KVH,D)", keys, 0);
  float *v = arg_floats(&c, 4, "v", "(B,T,KVH,D)", keys, 0);
  check_heads(&c, H, KVH);
  check_head_dim(&c, D);
  check_task_count(&c, B * H);
  if (c.failed) return NULL;
  if (T == 0 || D == 0) {
    memset(out, 0, sizeof(float) * (size_t)queries);
    if (D == 0) for (long i = 0; i < B * H * T; i++) lse[i] = logf((float)(i % T + 1));
    return undefined_value(env);
  }
  attention_job job = {.out = out, .lse = lse, .q = q, .k = k, .v = v, .B = B, .T = T, .H = H, .KVH = KVH, .D = D};
  pool_run(attention_forward_task, &job, (int)(B * H));
  return undefined_value(env);
}

static napi_value attention_backward(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long B = arg_dim(&c, 9, "B"), T = arg_dim(&c, 10, "T"), H = arg_dim(&c, 11, "H"), KVH = arg_dim(&c, 12, "KVH"), D = arg_dim(&c, 13, "D");
  long queries = elements(&c, elements(&c, B, T, 1), H, D), keys = elements(&c, elements(&c, B, T, 1), KVH, D);
  float *dq = arg_floats(&c, 0, "dq", "(B,T,H,D)", queries, 0);
  float *dk = arg_floats(&c, 1, "dk", "(B,T,KVH,D)", keys, 0);
  float *dv = arg_floats(&c, 2, "dv", "(B,T,KVH,D)", keys, 0);
  float *dout = arg_floats(&c, 3, "dout", "(B,T,H,D)", queries, 0);
  float *q = arg_floats(&c, 4, "q", "(B,T,H,D)", queries, 0);
  float *k = arg_floats(&c, 5, "k", "(B,T,KVH,D)", keys, 0);
  float *v = arg_floats(&c, 6, "v", "(B,T,KVH,D)", keys, 0);
  float *out = arg_floats(&c, 7, "out", "(B,T,H,D)", queries, 0);
  float *lse = arg_floats(&c, 8, "lse", "(B,H,T)", elements(&c, B, H, T), 0);
  check_heads(&c, H, KVH);
  check_head_dim(&c, D);
  check_task_count(&c, B * KVH);
  if (c.failed) return NULL;
  if (T == 0 || D == 0) return undefined_value(env);
  attention_job job = {.dq = dq, .dk = dk, .dv = dv, .dout = dout, .q = q, .k = k, .v = v, .saved_out = out, .saved_lse = lse, .B = B, .T = T, .H = H, .KVH = KVH, .D = D};
  pool_run(attention_backward_task, &job, (int)(B * KVH));
  return undefined_value(env);
}

/* Packed attention: sequence b holds rows offsets[b]..offsets[b+1]-1 and runs as a batch of one
 * sequence (b = 0, T = its length) on buffers offset to its first row; its lse block (H, T) starts
 * at offsets[b]*H. Tasks are (sequence, head) pairs in order, so longer sequences first start first
 * when the caller packs them longest first. */
typedef struct {
  attention_job base;
  const int *offsets;
} packed_attention_job;

static void packed_attention_forward_task(void *context, int task, int tasks) {
  (void)tasks;
  packed_attention_job *job = context;
  const attention_job *a = &job->base;
  long b = task / a->H, h = task % a->H, start = job->offsets[b], T = job->offsets[b + 1] - start;
  if (T == 0) return;
  simd->attention_forward_head(a->out + start * a->H * a->D, a->lse + start * a->H, a->q + start * a->H * a->D, a->k + start * a->KVH * a->D, a->v + start * a->KVH * a->D, 0, h, T, a->H, a->KVH, a->D);
}

static void packed_attention_backward_task(void *context, int task, int tasks) {
  (void)tasks;
  packed_attention_job *job = context;
  const attention_job *a = &job->base;
  long b = task / a->KVH, kvh = task % a->KVH, start = job->offsets[b], T = job->offsets[b + 1] - start;
  if (T == 0) return;
  long queries = start * a->H * a->D, keys = start * a->KVH * a->D;
  simd->attention_backward_group(a->dq + queries, a->dk + keys, a->dv + keys, a->dout + queries, a->q + queries, a->k + keys, a->v + keys, a->saved_out + queries, a->saved_lse + start * a->H, 0, kvh, T, a->H, a->KVH, a->D);
}

/* offsets(B+1): 0, non-decreasing, ending at N. */
static void check_offsets(call_t *c, const int *offsets, long B, long N) {
  if (c->failed) return;
  if (offsets[0] != 0) {
    fail(c, 0, "offsets[0] must be 0, got %d", offsets[0]);
    return;
  }
  for (long b = 0; b < B; b++)
    if (offsets[b + 1] < offsets[b]) {
      fail(c, 0, "offsets must not decrease, got offsets[%ld]=%d > offsets[%ld]=%d", b, offsets[b], b + 1, offsets[b + 1]);
      return;
    }
  if (offsets[B] != N) fail(c, 0, "offsets[B] must be N=%ld, got %d", N, offsets[B]);
}

static napi_value packed_attention_forward(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long B = arg_dim(&c, 6, "B"), N = arg_dim(&c, 7, "N"), H = arg_dim(&c, 8, "H"), KVH = arg_dim(&c, 9, "KVH"), D = arg_dim(&c, 10, "D");
  long queries = elements(&c, N, H, D), keys = elements(&c, N, KVH, D);
  float *out = arg_floats(&c, 0, "out", "(N,H,D)", queries, 0);
  float *lse = arg_floats(&c, 1, "lse", "(N*H)", elements(&c, N, H, 1), 0);
  float *q = arg_floats(&c, 2, "q", "(N,H,D)", queries, 0);
  float *k = arg_floats(&c, 3, "k", "(N,KVH,D)", keys, 0);
  float *v = arg_floats(&c, 4, "v", "(N,KVH,D)", keys, 0);
  int *offsets = arg_ints(&c, 5, "offsets", "(B+1)", elements(&c, B + 1, 1, 1));
  check_heads(&c, H, KVH);
  check_head_dim(&c, D);
  check_task_count(&c, elements(&c, B, H, 1));
  check_offsets(&c, offsets, B, N);
  if (c.failed) return NULL;
  if (N == 0) return undefined_value(env);
  if (D == 0) {
    memset(out, 0, sizeof(float) * (size_t)queries);
    for (long b = 0; b < B; b++)
      for (long h = 0; h < H; h++)
        for (long t = 0; t < offsets[b + 1] - offsets[b]; t++) lse[offsets[b] * H + h * (offsets[b + 1] - offsets[b]) + t] = logf((float)(t + 1));
    return undefined_value(env);
  }
  packed_attention_job job = {.base = {.out = out, .lse = lse, .q = q, .k = k, .v = v, .H = H, .KVH = KVH, .D = D}, .offsets = offsets};
  pool_run(packed_attention_forward_task, &job, (int)(B * H));
  return undefined_value(env);
}

static napi_value packed_attention_backward(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long B = arg_dim(&c, 10, "B"), N = arg_dim(&c, 11, "N"), H = arg_dim(&c, 12, "H"), KVH = arg_dim(&c, 13, "KVH"), D = arg_dim(&c, 14, "D");
  long queries = elements(&c, N, H, D), keys = elements(&c, N, KVH, D);
  float *dq = arg_floats(&c, 0, "dq", "(N,H,D)", queries, 0);
  float *dk = arg_floats(&c, 1, "dk", "(N,KVH,D)", keys, 0);
  float *dv = arg_floats(&c, 2, "dv", "(N,KVH,D)", keys, 0);
  float *dout = arg_floats(&c, 3, "dout", "(N,H,D)", queries, 0);
  float *q = arg_floats(&c, 4, "q", "(N,H,D)", queries, 0);
  float *k = arg_floats(&c, 5, "k", "(N,KVH,D)", keys, 0);
  float *v = arg_floats(&c, 6, "v", "(N,KVH,D)", keys, 0);
  float *out = arg_floats(&c, 7, "out", "(N,H,D)", queries, 0);
  float *lse = arg_floats(&c, 8, "lse", "(N*H)", elements(&c, N, H, 1), 0);
  int *offsets = arg_ints(&c, 9, "offsets", "(B+1)", elements(&c, B + 1, 1, 1));
  check_heads(&c, H, KVH);
  check_head_dim(&c, D);
  check_task_count(&c, elements(&c, B, KVH, 1));
  check_offsets(&c, offsets, B, N);
  if (c.failed) return NULL;
  if (N == 0 || D == 0) return undefined_value(env);
  packed_attention_job job = {.base = {.dq = dq, .dk = dk, .dv = dv, .dout = dout, .q = q, .k = k, .v = v, .saved_out = out, .saved_lse = lse, .H = H, .KVH = KVH, .D = D}, .offsets = offsets};
  pool_run(packed_attention_backward_task, &job, (int)(B * KVH));
  return undefined_value(env);
}

static void check_cache_length(call_t *c, long maxT) {
  if (!c->failed && maxT % KEY_TILE != 0) fail(c, 0, "maxT must be a multiple of the key tile %d, got %ld", KEY_TILE, maxT);
}

static napi_value kv_cache_write(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long B = arg_dim(&c, 6, "B"), S = arg_dim(&c, 7, "S"), maxT = arg_dim(&c, 8, "maxT"), KVH = arg_dim(&c, 9, "KVH"), D = arg_dim(&c, 10, "D");
  long cache = elements(&c, elements(&c, S, maxT, 1), KVH, D), rows = elements(&c, B, KVH, D);
  float *kcache = arg_floats(&c, 0, "kcache", "(S,KVH,maxT/16,D,16)", cache, 0);
  float *vcache = arg_floats(&c, 1, "vcache", "(S,KVH,maxT,D)", cache, 0);
  float *k = arg_floats(&c, 2, "k", "(B,KVH,D)", rows, 0);
  float *v = arg_floats(&c, 3, "v", "(B,KVH,D)", rows, 0);
  int *slots = arg_ints(&c, 4, "slots", "(B)", B);
  int *positions = arg_ints(&c, 5, "positions", "(B)", B);
  check_cache_length(&c, maxT);
  check_indices(&c, slots, B, S, "slots", "S");
  check_indices(&c, positions, B, maxT, "positions", "maxT");
  if (c.failed) return NULL;
  for (long b = 0; b < B; b++)
    for (long h = 0; h < KVH; h++) write_row_head(kcache, vcache, k, v, slots, positions, b, h, maxT, KVH, D);
  return undefined_value(env);
}

static napi_value attention_cached(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long B = arg_dim(&c, 8, "B"), S = arg_dim(&c, 9, "S"), maxT = arg_dim(&c, 10, "maxT"), H = arg_dim(&c, 11, "H"), KVH = arg_dim(&c, 12, "KVH"), D = arg_dim(&c, 13, "D");
  long cache = elements(&c, elements(&c, S, maxT, 1), KVH, D), rows = elements(&c, B, KVH, D);
  float *out = arg_floats(&c, 0, "out", "(B,H,D)", elements(&c, B, H, D), 0);
  float *q = arg_floats(&c, 1, "q", "(B,H,D)", elements(&c, B, H, D), 0);
  float *k = arg_floats(&c, 2, "k", "(B,KVH,D)", rows, 1);
  float *v = arg_floats(&c, 3, "v", "(B,KVH,D)", rows, 1);
  float *kcache = arg_floats(&c, 4, "kcache", "(S,KVH,maxT/16,D,16)", cache, 0);
  float *vcache = arg_floats(&c, 5, "vcache", "(S,KVH,maxT,D)", cache, 0);
  int *slots = arg_ints(&c, 6, "slots", "(B)", B);
  int *positions = arg_ints(&c, 7, "positions", "(B)", B);
  if (!c.failed && (k == NULL) != (v == NULL)) fail(&c, 0, "k and v must both be given or both be null");
  check_heads(&c, H, KVH);
  check_head_dim(&c, D);
  check_cache_length(&c, maxT);
  check_indices(&c, slots, B, S, "slots", "S");
  check_indices(&c, positions, B, maxT, "positions", "maxT");
  if (c.failed) return NULL;
  if (B == 0) return undefined_value(env);
  attention_cached_job job = {.base = {.out = out, .q = q, .k = k, .v = v, .kcache = kcache, .vcache = vcache, .slots = slots, .positions = positions, .B = B, .H = H, .KVH = KVH, .D = D, .maxT = maxT}};
  if (k) {
    /* Rows sharing a slot (a prefill chunk) read each other's keys: those calls write every row
     * first; otherwise each task writes its own rows right before attending to them. */
    unsigned char *seen = calloc((size_t)S / 8 + 1, 1);
    int repeats = !seen;
    for (long i = 0; i < B && !repeats; i++) {
      if (seen[slots[i] / 8] & (1u << (slots[i] % 8))) repeats = 1;
      seen[slots[i] / 8] |= (unsigned char)(1u << (slots[i] % 8));
    }
    free(seen);
    if (repeats) {
      for (long b = 0; b < B; b++)
        for (long h = 0; h < KVH; h++) write_row_head(kcache, vcache, k, v, slots, positions, b, h, maxT, KVH, D);
    } else {
      job.write = 1;
    }
  }
  if (D == 0) return undefined_value(env);
  /* Blocks: runs of consecutive rows of one slot, at most CACHED_BLOCK_ROWS rows each. */
  long *blocks = malloc(sizeof(long) * (size_t)(B + 1));
  if (!blocks) {
    fail(&c, 0, "out of memory for %ld row blocks", B);
    return NULL;
  }
  long nblocks = 0;
  for (long i = 0; i < B; i++)
    if (i == 0 || slots[i] != slots[i - 1] || i - blocks[nblocks - 1] >= CACHED_BLOCK_ROWS) blocks[nblocks++] = i;
  blocks[nblocks] = B;
  job.blocks = blocks;
  /* Work of a row ~ (position + 1 + fixed cost) x query heads x D; units split into ranges of equal work. */
  long units = nblocks * KVH, G = H / KVH;
  double total = 0;
  for (long i = 0; i < B; i++) total += (double)KVH * (double)(positions[i] + 9) * (double)(G * D);
  long tasks = (long)(total / CACHED_MIN_TASK_WORK);
  long most = (long)pool_threads() * CACHED_TASKS_PER_THREAD;
  if (most > CACHED_MAX_TASKS) most = CACHED_MAX_TASKS;
  if (pool_threads() == 1) most = 1;
  if (tasks > most) tasks = most;
  if (tasks > units) tasks = units;
  if (tasks < 1) tasks = 1;
  job.bounds[0] = 0;
  double done = 0;
  long task = 1;
  for (long unit = 0; unit < units && task < tasks; unit++) {
    long block = unit / KVH;
    for (long i = blocks[block]; i < blocks[block + 1]; i++) done += (double)(positions[i] + 9) * (double)(G * D);
    while (task < tasks && done >= total * (double)task / (double)tasks) job.bounds[task++] = unit + 1;
  }
  while (task <= tasks) job.bounds[task++] = units;
  pool_run(attention_cached_task, &job, (int)tasks);
  free(blocks);
  return undefined_value(env);
}

/* ------------------------------------------------------------------ elementwise */

typedef struct {
  float *out, *dgate, *dup;
  const float *a, *b, *dout, *gate, *up;
} elementwise_job;

static void swiglu_forward_range(void *context, long start, long end, int task) {
  (void)task;
  elementwise_job *job = context;
  simd->swiglu_forward(job->out + start, job->gate + start, job->up + start, end - start);
}

static void swiglu_backward_range(void *context, long start, long end, int task) {
  (void)task;
  elementwise_job *job = context;
  simd->swiglu_backward(job->dgate + start, job->dup + start, job->dout + start, job->gate + start, job->up + start, end - start);
}

static void add_range(void *context, long start, long end, int task) {
  (void)task;
  elementwise_job *job = context;
  simd->add(job->out + start, job->a + start, job->b + start, end - start);
}

/* Splits elementwise work into cache-line multiples so tasks never share a line. */
static void parallel_elements(range_fn fn, void *context, long n, long min_per_task) {
  int tasks = tasks_for(n, min_per_task);
  if (tasks <= 1) {
    if (n > 0) fn(context, 0, n, 0);
    return;
  }
  parallel_ranges(fn, context, n, tasks);
}

static napi_value swiglu_forward(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long n = arg_dim(&c, 3, "n");
  elementwise_job job = {.out = arg_floats(&c, 0, "out", "(n)", n, 0), .gate = arg_floats(&c, 1, "gate", "(n)", n, 0), .up = arg_floats(&c, 2, "up", "(n)", n, 0)};
  if (c.failed) return NULL;
  parallel_elements(swiglu_forward_range, &job, n, 32768);
  return undefined_value(env);
}

static napi_value swiglu_backward(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long n = arg_dim(&c, 5, "n");
  elementwise_job job = {.dgate = arg_floats(&c, 0, "dgate", "(n)", n, 0),
                         .dup = arg_floats(&c, 1, "dup", "(n)", n, 0),
                         .dout = arg_floats(&c, 2, "dout", "(n)", n, 0),
                         .gate = arg_floats(&c, 3, "gate", "(n)", n, 0),
                         .up = arg_floats(&c, 4, "up", "(n)", n, 0)};
  if (c.failed) return NULL;
  parallel_elements(swiglu_backward_range, &job, n, 32768);
  return undefined_value(env);
}

static napi_value add(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long n = arg_dim(&c, 3, "n");
  elementwise_job job = {.out = arg_floats(&c, 0, "out", "(n)", n, 0), .a = arg_floats(&c, 1, "a", "(n)", n, 0), .b = arg_floats(&c, 2, "b", "(n)", n, 0)};
  if (c.failed) return NULL;
  parallel_elements(add_range, &job, n, 65536);
  return undefined_value(env);
}

/* ------------------------------------------------------------------ logprobs */

typedef struct {
  float *logprobs, *lse, *entropy, *dlogits;
  const float *logits, *dlogprobs, *saved_lse;
  const int *targets;
  long V;
  float inv_temperature;
} logprobs_job;

static void logprobs_forward_range(void *context, long start, long end, int task) {
  (void)task;
  logprobs_job *job = context;
  simd->logprobs_forward(job->logprobs + start, job->lse + start, job->entropy ? job->entropy + start : NULL, job->logits + start * job->V, job->targets + start, end - start, job->V, job->inv_temperature);
}

static void logprobs_backward_range(void *context, long start, long end, int task) {
  (void)task;
  logprobs_job *job = context;
  simd->logprobs_backward(job->dlogits + start * job->V, job->dlogprobs + start, job->logits + start * job->V, job->saved_lse + start, job->targets + start, end - start, job->V, job->inv_temperature);
}

static void check_temperature(call_t *c, double inv_temperature) {
  if (!c->failed && !(inv_temperature > 0 && isfinite(inv_temperature))) fail(c, 0, "invTemperature must be a positive finite number, got %g", inv_temperature);
}

static int row_tasks(long N, long V) {
  int tasks = tasks_for(N * (V ? V : 1), 16384);
  return tasks > N ? (int)(N ? N : 1) : tasks;
}

static napi_value logprobs_forward(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long N = arg_dim(&c, 5, "N"), V = arg_dim(&c, 6, "V");
  double inv_temperature = arg_number(&c, 7, "invTemperature");
  logprobs_job job = {.logprobs = arg_floats(&c, 0, "logprobs", "(N)", N, 0),
                      .lse = arg_floats(&c, 1, "lse", "(N)", N, 0),
                      .entropy = arg_floats(&c, 2, "entropy", "(N)", N, 1),
                      .logits = arg_floats(&c, 3, "logits", "(N,V)", elements(&c, N, V, 1), 0),
                      .targets = arg_ints(&c, 4, "targets", "(N)", N),
                      .V = V,
                      .inv_temperature = (float)inv_temperature};
  check_temperature(&c, inv_temperature);
  check_indices(&c, job.targets, N, V, "targets", "V");
  if (c.failed) return NULL;
  if (N > 0) parallel_ranges(logprobs_forward_range, &job, N, row_tasks(N, V));
  return undefined_value(env);
}

static napi_value logprobs_backward(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long N = arg_dim(&c, 5, "N"), V = arg_dim(&c, 6, "V");
  double inv_temperature = arg_number(&c, 7, "invTemperature");
  logprobs_job job = {.dlogits = arg_floats(&c, 0, "dlogits", "(N,V)", elements(&c, N, V, 1), 0),
                      .dlogprobs = arg_floats(&c, 1, "dlogprobs", "(N)", N, 0),
                      .logits = arg_floats(&c, 2, "logits", "(N,V)", elements(&c, N, V, 1), 0),
                      .saved_lse = arg_floats(&c, 3, "lse", "(N)", N, 0),
                      .targets = arg_ints(&c, 4, "targets", "(N)", N),
                      .V = V,
                      .inv_temperature = (float)inv_temperature};
  check_temperature(&c, inv_temperature);
  check_indices(&c, job.targets, N, V, "targets", "V");
  if (c.failed) return NULL;
  if (N > 0) parallel_ranges(logprobs_backward_range, &job, N, row_tasks(N, V));
  return undefined_value(env);
}

/* ------------------------------------------------------------------ sampling */

typedef struct {
  int *tokens;
  float *logprobs;
  const float *logits;
  const double *uniforms;
  long V, top_k;
  float inv_temperature, top_p;
} sample_job;

/* Whether token a ranks before token b: larger weight, then lower id. */
static inline int ranks_before(const float *e, int a, int b) { return e[a] > e[b] || (e[a] == e[b] && a < b); }

/* Restores the heap property below heap[i]: the best-ranked token on top when best_on_top, else the worst. */
static void sift_down(int *heap, long size, long i, const float *e, int best_on_top) {
  for (;;) {
    long left = 2 * i + 1, right = left + 1, top = i;
    if (left < size && (best_on_top ? ranks_before(e, heap[left], heap[top]) : ranks_before(e, heap[top], heap[left]))) top = left;
    if (right < size && (best_on_top ? ranks_before(e, heap[right], heap[top]) : ranks_before(e, heap[top], heap[right]))) top = right;
    if (top == i) return;
    int swap = heap[top];
    heap[top] = heap[i], heap[i] = swap;
    i = top;
  }
}

/* The k-th largest of x[0..n) (k <= n), by a size-k min-heap of values. */
static float kth_largest(float *heap, const float *x, long n, long k) {
  long size = 0;
  for (long i = 0; i < n; i++) {
    float value = x[i];
    if (size < k) {
      long j = size++;
      heap[j] = value;
      while (j > 0 && heap[(j - 1) / 2] > heap[j]) {
        float swap = heap[(j - 1) / 2];
        heap[(j - 1) / 2] = heap[j], heap[j] = swap;
        j = (j - 1) / 2;
      }
    } else if (value > heap[0]) {
      heap[0] = value;
      long j = 0;
      for (;;) {
        long left = 2 * j + 1, right = left + 1, low = j;
        if (left < size && heap[left] < heap[low]) low = left;
        if (right < size && heap[right] < heap[low]) low = right;
        if (low == j) break;
        float swap = heap[low];
        heap[low] = heap[j], heap[j] = swap;
        j = low;
      }
    }
  }
  return heap[0];
}

#define TOP_K_BLOCK 16 /* block_maxima's block */

/* The k best tokens by weight into order[0..k), best first. A lower bound on the k-th best weight
 * comes first: the k-th largest of the maxima of blocks of TOP_K_BLOCK tokens (k blocks hold a token
 * at least that heavy). Only tokens reaching it enter a size-k heap with the worst kept token on
 * top, which is then sorted in place by taking the worst off repeatedly. `scratch` holds V floats. */
static long select_top_k(int *order, const float *e, long V, long k, float *scratch) {
  long blocks = V / TOP_K_BLOCK;
  float *block_max = scratch, *heap = scratch + blocks;
  float bound = -INFINITY;
  if (blocks >= 2 * k) {
    simd->block_maxima(block_max, e, blocks);
    bound = kth_largest(heap, block_max, blocks, k);
  }
  long size = 0;
  int bounded = blocks >= 2 * k;
  for (long v = 0; v < V; v++) {
    if (bounded && v % TOP_K_BLOCK == 0 && v / TOP_K_BLOCK < blocks && block_max[v / TOP_K_BLOCK] < bound) {
      v += TOP_K_BLOCK - 1;
      continue;
    }
    if (e[v] < bound) continue;
    if (size < k) {
      long i = size++;
      order[i] = (int)v;
      while (i > 0) {
        long parent = (i - 1) / 2;
        if (!ranks_before(e, order[parent], order[i])) break;
        int swap = order[parent];
        order[parent] = order[i], order[i] = swap;
        i = parent;
      }
    } else if (e[v] > e[order[0]]) { /* a later id never wins a tie */
      order[0] = (int)v;
      sift_down(order, size, 0, e, 0);
    }
  }
  for (long end = size - 1; end > 0; end--) {
    int swap = order[0];
    order[0] = order[end], order[end] = swap;
    sift_down(order, end, 0, e, 0);
  }
  return size;
}

/* Top-p alone: the most likely tokens, best first, into nucleus[0..n) until their weight reaches
 * `goal` (all candidates when rounding never does); *mass receives their weight. Candidates are
 * the tokens above a threshold lowered until they hold `candidates_mass`, popped from a heap. */
static long select_nucleus(int *nucleus, int *candidates, const float *e, long V, double candidates_mass, double goal, double *mass) {
  double threshold = 1e-2; /* weights are relative to the most likely token's (1) */
  long count;
  for (;;) {
    count = 0;
    double selected = 0;
    for (long v = 0; v < V; v++)
      if (e[v] >= threshold) {
        candidates[count++] = (int)v;
        selected += e[v];
      }
    if (selected >= candidates_mass || threshold == 0) break;
    threshold = threshold < 1e-30 ? 0 : threshold / 16;
  }
  for (long i = count / 2 - 1; i >= 0; i--) sift_down(candidates, count, i, e, 1);
  double cumulative = 0;
  long n = 0;
  while (count > 0) {
    int best = candidates[0];
    nucleus[n++] = best;
    cumulative += e[best];
    if (cumulative >= goal) break;
    candidates[0] = candidates[--count];
    sift_down(candidates, count, 0, e, 1);
  }
  *mass = cumulative;
  return n;
}

static void sample_row(const sample_job *job, long n, float *e, int *order, int *candidates) {
  long V = job->V;
  const float *x = job->logits + n * V;
  float xmax;
  double total = simd->softmax_weights(e, x, V, job->inv_temperature, &xmax);
  double uniform = job->uniforms[n];
  int top_k = job->top_k > 0 && job->top_k < V;
  long token;
  if (!top_k && job->top_p >= 1) {
    /* uniform 1 is the end of the CDF: the last token with mass (as the reference's exact sum gives) */
    token = simd->scan_weights(e, V, uniform >= 1 ? INFINITY : uniform * total);
  } else {
    long kept;
    double kept_mass;
    if (top_k) {
      kept = select_top_k(order, e, V, job->top_k, (float *)candidates);
      kept_mass = 0;
      for (long i = 0; i < kept; i++) kept_mass += e[order[i]];
      if (job->top_p < 1) {
        double goal = (double)job->top_p * kept_mass, cumulative = 0;
        long cut = kept;
        for (long i = 0; i < kept; i++) {
          cumulative += e[order[i]];
          if (cumulative >= goal) {
            cut = i + 1;
            break;
          }
        }
        kept = cut;
        kept_mass = cumulative;
      }
    } else {
      double mass = (double)job->top_p * total;
      kept = select_nucleus(order, candidates, e, V, mass, mass, &kept_mass);
    }
    double target = uniform * (kept_mass > 0 ? kept_mass : total);
    token = order[kept - 1];
    for (long i = 0; i < kept; i++) {
      target -= e[order[i]];
      if (target < 0) {
        token = order[i];
        break;
      }
    }
  }
  job->tokens[n] = (int)token;
  /* (x_t - xmax)*invT is exact for the arg-max token, as in logprobs_forward */
  job->logprobs[n] = (x[token] - xmax) * job->inv_temperature - logf((float)total);
}

static void sample_range(void *context, long start, long end, int task) {
  (void)task;
  const sample_job *job = context;
  float *e = thread_scratch(0, (size_t)job->V);
  int *order = (int *)thread_scratch(1, (size_t)job->V);
  int *candidates = (int *)thread_scratch(2, (size_t)job->V);
  for (long n = start; n < end; n++) sample_row(job, n, e, order, candidates);
}

static napi_value sample_tokens(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long N = arg_dim(&c, 4, "N"), V = arg_dim(&c, 5, "V");
  double inv_temperature = arg_number(&c, 6, "invTemperature"), top_k = arg_number(&c, 7, "topK"), top_p = arg_number(&c, 8, "topP");
  sample_job job = {.tokens = arg_ints(&c, 0, "tokens", "(N)", N),
                    .logprobs = arg_floats(&c, 1, "logprobs", "(N)", N, 0),
                    .logits = arg_floats(&c, 2, "logits", "(N,V)", elements(&c, N, V, 1), 0),
                    .uniforms = arg_typed(&c, 3, "uniforms", "(N)", N, 0, napi_float64_array, "Float64Array"),
                    .V = V,
                    .inv_temperature = (float)inv_temperature,
                    .top_p = (float)top_p};
  if (!c.failed && N > 0 && V == 0) fail(&c, 0, "V must be > 0");
  check_temperature(&c, inv_temperature);
  if (!c.failed && !(top_k == floor(top_k) && fabs(top_k) <= 9007199254740991.0)) fail(&c, 0, "topK must be an integer, got %g", top_k);
  if (!c.failed && !(top_p > 0 && top_p <= 1)) fail(&c, 0, "topP must be in (0, 1], got %g", top_p);
  for (long n = 0; n < N && !c.failed; n++)
    if (!(job.uniforms[n] >= 0 && job.uniforms[n] <= 1)) fail(&c, 0, "uniforms[%ld]=%g is outside [0, 1]", n, job.uniforms[n]);
  if (c.failed) return NULL;
  job.top_k = top_k > (double)V ? V : top_k < 0 ? 0 : (long)top_k;
  if (N > 0) parallel_ranges(sample_range, &job, N, row_tasks(N, V));
  return undefined_value(env);
}

/* ------------------------------------------------------------------ optimizer */

typedef struct {
  float *params, *m, *v;
  const float *grads, *x;
  float lr, beta1, beta2, eps, decay, step_size, correction2_sqrt, grad_scale;
  double *sums;
} optimizer_job;

static void adamw_range(void *context, long start, long end, int task) {
  (void)task;
  optimizer_job *j = context;
  simd->adamw(j->params + start, j->grads + start, j->m + start, j->v + start, end - start, j->lr, j->beta1, j->beta2, j->eps, j->decay, j->step_size, j->correction2_sqrt, j->grad_scale);
}

static napi_value adamw(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long n = arg_dim(&c, 4, "n");
  double lr = arg_number(&c, 5, "lr"), beta1 = arg_number(&c, 6, "beta1"), beta2 = arg_number(&c, 7, "beta2"), eps = arg_number(&c, 8, "eps");
  double weight_decay = arg_number(&c, 9, "weightDecay"), step = arg_number(&c, 10, "step"), grad_scale = arg_number(&c, 11, "gradScale");
  optimizer_job job = {.params = arg_floats(&c, 0, "params", "(n)", n, 0), .grads = arg_floats(&c, 1, "grads", "(n)", n, 0), .m = arg_floats(&c, 2, "m", "(n)", n, 0), .v = arg_floats(&c, 3, "v", "(n)", n, 0)};
  if (!c.failed && !(step >= 1 && step == floor(step))) fail(&c, 0, "step must be an integer >= 1, got %g", step);
  if (!c.failed && !(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) fail(&c, 0, "betas must lie in [0, 1), got %g, %g", beta1, beta2);
  if (c.failed) return NULL;
  job.lr = (float)lr;
  job.beta1 = (float)beta1;
  job.beta2 = (float)beta2;
  job.eps = (float)eps;
  job.decay = (float)(1.0 - lr * weight_decay);
  job.step_size = (float)(lr / (1.0 - pow(beta1, step)));
  job.correction2_sqrt = (float)sqrt(1.0 - pow(beta2, step));
  job.grad_scale = (float)grad_scale;
  parallel_elements(adamw_range, &job, n, 65536);
  return undefined_value(env);
}

static void sum_squares_range(void *context, long start, long end, int task) {
  optimizer_job *j = context;
  j->sums[task] = simd->sum_squares(j->x + start, end - start);
}

static napi_value sum_squares(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long n = arg_dim(&c, 1, "n");
  double sums[256] = {0};
  optimizer_job job = {.x = arg_floats(&c, 0, "x", "(n)", n, 0), .sums = sums};
  if (c.failed) return NULL;
  int tasks = tasks_for(n, 65536);
  if (n > 0) parallel_ranges(sum_squares_range, &job, n, tasks);
  double total = 0;
  for (int t = 0; t < tasks; t++) total += sums[t];
  napi_value result;
  napi_create_double(env, total, &result);
  return result;
}

/* ------------------------------------------------------------------ configuration */

static int simd_supported(const simd_table *table) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (table == &simd_avx512)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
  if (table == &simd_avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  if (table != &simd_generic) return 0;
#endif
  return 1;
}

static const simd_table *simd_by_name(const char *name) {
  if (strcmp(name, "avx512") == 0) return &simd_avx512;
  if (strcmp(name, "avx2") == 0) return &simd_avx2;
  if (strcmp(name, "generic") == 0) return &simd_generic;
  return NULL;
}

static const simd_table *best_simd(void) {
  if (simd_supported(&simd_avx512)) return &simd_avx512;
  if (simd_supported(&simd_avx2)) return &simd_avx2;
  return &simd_generic;
}

static napi_value configure(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  long threads = arg_dim(&c, 0, "threads");
  if (!c.failed && (threads < 1 || threads > 256)) fail(&c, 0, "threads must lie in [1, 256], got %ld", threads);
  if (c.failed) return NULL;
  napi_value result;
  napi_create_int32(env, pool_configure((int)threads), &result);
  return result;
}

static napi_value set_simd(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info)) return NULL;
  char name[32] = {0};
  size_t length = 0;
  if (napi_get_value_string_utf8(env, c.argv[0], name, sizeof name, &length) != napi_ok) fail(&c, 1, "level must be a string");
  const simd_table *table = c.failed ? NULL : simd_by_name(name);
  if (!c.failed && !table) fail(&c, 0, "unknown instruction set '%s' (expected avx512, avx2 or generic)", name);
  if (!c.failed && !simd_supported(table)) fail(&c, 0, "this CPU does not support %s", name);
  if (c.failed) return NULL;
  simd = table;
  napi_value result;
  napi_create_string_utf8(env, simd->name, NAPI_AUTO_LENGTH, &result);
  return result;
}

static napi_value info_value(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result, name, supported, threads;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, simd->name, NAPI_AUTO_LENGTH, &name);
  napi_set_named_property(env, result, "simd", name);
  napi_create_array(env, &supported);
  const simd_table *tables[] = {&simd_avx512, &simd_avx2, &simd_generic};
  uint32_t count = 0;
  for (int i = 0; i < 3; i++)
    if (simd_supported(tables[i])) {
      napi_value entry;
      napi_create_string_utf8(env, tables[i]->name, NAPI_AUTO_LENGTH, &entry);
      napi_set_element(env, supported, count++, entry);
    }
  napi_set_named_property(env, result, "supported", supported);
  napi_create_int32(env, pool_threads(), &threads);
  napi_set_named_property(env, result, "threads", threads);
  return result;
}

/* Everything the addon exports; each entry point finds its name and argument count here (begin). */
static const export_entry EXPORTS[] = {
    {"matmulForward", matmul_forward, 7},
    {"matmulBackward", matmul_backward, 9},
    {"embeddingForward", embedding_forward, 6},
    {"embeddingBackward", embedding_backward, 6},
    {"rmsnormForward", rmsnorm_forward, 7},
    {"rmsnormBackward", rmsnorm_backward, 8},
    {"rope", rope, 8},
    {"attentionForward", attention_forward, 10},
    {"attentionBackward", attention_backward, 14},
    {"kvCacheWrite", kv_cache_write, 11},
    {"attentionCached", attention_cached, 14},
    {"swigluForward", swiglu_forward, 4},
    {"swigluBackward", swiglu_backward, 6},
    {"add", add, 4},
    {"logprobsForward", logprobs_forward, 8},
    {"logprobsBackward", logprobs_backward, 8},
    {"sampleTokens", sample_tokens, 9},
    {"adamw", adamw, 12},
    {"sumSquares", sum_squares, 2},
    {"configure", configure, 1},
    {"setSimd", set_simd, 1},
    {"info", info_value, 0},
    {"packedAttentionForward", packed_attention_forward, 11},
    {"packedAttentionBackward", packed_attention_backward, 15},
};

static pthread_mutex_t environments_mutex = PTHREAD_MUTEX_INITIALIZER;
static int environments = 0;

static void cleanup(void *argument) {
  (void)argument;
  pthread_mutex_lock(&environments_mutex);
  if (--environments == 0) pool_shutdown();
  pthread_mutex_unlock(&environments_mutex);
}

NAPI_MODULE_INIT() {
  pthread_mutex_lock(&environments_mutex);
  if (environments++ == 0) {
    simd = best_simd();
    const char *forced = getenv("TURNWISE_SIMD");
    const simd_table *table = forced && *forced ? simd_by_name(forced) : NULL;
    if (table && simd_supported(table)) simd = table;
  }
  pthread_mutex_unlock(&environments_mutex);
  napi_add_env_cleanup_hook(env, cleanup, NULL);
  napi_property_descriptor properties[sizeof EXPORTS / sizeof EXPORTS[0]];
  for (size_t i = 0; i < sizeof EXPORTS / sizeof EXPORTS[0]; i++)
    properties[i] = (napi_property_descriptor){EXPORTS[i].name, NULL, EXPORTS[i].entry, NULL, NULL, NULL, napi_enumerable, (void *)&EXPORTS[i]};
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}
