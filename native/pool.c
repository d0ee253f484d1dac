/*
 * Persistent thread pool: workers spin briefly after each job (small kernels arrive back to back),
 * then sleep on a condition variable. Jobs are serialised by a mutex so concurrent callers (several
 * JavaScript threads loading the addon) queue instead of interfering. Tasks are claimed with an
 * atomic counter by workers and the caller alike, so a job never waits on a worker that has not
 * started: no deadlock, and no wait longer than the slowest running task.
 */
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define MAX_THREADS 256
#ifndef SPIN_YIELD_EVERY
#define SPIN_YIELD_EVERY 64
#endif
#define SPIN_ITERATIONS 4000 /* ~50-100 us: covers the gap between back-to-back kernel calls */

static pthread_mutex_t job_mutex = PTHREAD_MUTEX_INITIALIZER;   /* one job at a time */
static pthread_mutex_t wake_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;

static pthread_t workers[MAX_THREADS];
static int worker_count = 0;                 /* threads besides the caller */
static atomic_int stopping = 0;

/* The current job. `generation` increases with every job; workers run a job once. */
static atomic_uint generation = 0;
static pool_task_fn job_fn = NULL;
static void *job_context = NULL;
static atomic_int job_tasks = 0;
/* (job number << 32) | next task index: claimed by compare-and-swap, so a late worker can never
 * claim a task of a job other than the one whose fields it reads. Index EXHAUSTED = being set up. */
static _Atomic unsigned long long job_word = 0;
static unsigned job_number = 0;
static atomic_int finished_tasks = 0;
#define EXHAUSTED 0xFFFFFFFFull

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static void run_tasks(void) {
  for (;;) {
    unsigned long long word = atomic_load_explicit(&job_word, memory_order_acquire);
    unsigned long long index = word & 0xFFFFFFFFull;
    if (index == EXHAUSTED || index >= (unsigned long long)atomic_load_explicit(&job_tasks, memory_order_relaxed)) return;
    if (!atomic_compare_exchange_weak_explicit(&job_word, &word, word + 1, memory_order_acq_rel, memory_order_acquire)) continue;
    /* The claimed task keeps this job alive, so its fields are stable until the task finishes. */
    int tasks = atomic_load_explicit(&job_tasks, memory_order_relaxed);
    job_fn(job_context, (int)index, tasks);
    if (atomic_fetch_add_explicit(&finished_tasks, 1, memory_order_acq_rel) + 1 == tasks) {
      pthread_mutex_lock(&wake_mutex);
      pthread_cond_broadcast(&done_cond);
      pthread_mutex_unlock(&wake_mutex);
    }
  }
}

static void *worker_main(void *argument) {
  (void)argument;
  unsigned seen = atomic_load(&generation);
  for (;;) {
    unsigned current = seen;
    for (int spin = 0; spin < SPIN_ITERATIONS; spin++) {
      current = atomic_load_explicit(&generation, memory_order_acquire);
      if (current != seen || atomic_load(&stopping)) break;
      cpu_relax();
      /* Every few spins give the core away: when the machine has more runnable threads than cores,
       * a spinning worker sharing a core with the caller would otherwise delay the caller. */
      if (spin % SPIN_YIELD_EVERY == SPIN_YIELD_EVERY - 1) sched_yield();
    }
    if (current == seen && !atomic_load(&stopping)) {
      pthread_mutex_lock(&wake_mutex);
      while ((current = atomic_load(&generation)) == seen && !atomic_load(&stopping)) pthread_cond_wait(&wake_cond, &wake_mutex);
      pthread_mutex_unlock(&wake_mutex);
    }
    if (atomic_load(&stopping)) return NULL;
    seen = current;
    run_tasks();
  }
}

static void stop_workers(void) {
  pthread_mutex_lock(&wake_mutex);
  atomic_store(&stopping, 1);
  pthread_cond_broadcast(&wake_cond);
  pthread_mutex_unlock(&wake_mutex);
  for (int i = 0; i < worker_count; i++) pthread_join(workers[i], NULL);
  worker_count = 0;
  atomic_store(&stopping, 0);
}

int pool_configure(int threads) {
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  pthread_mutex_lock(&job_mutex);
  if (threads - 1 != worker_count) {
    stop_workers();
    for (int i = 0; i < threads - 1; i++) {
      if (pthread_create(&workers[i], NULL, worker_main, NULL) != 0) break; /* fewer threads, still correct */
      worker_count++;
    }
  }
  int count = worker_count + 1;
  pthread_mutex_unlock(&job_mutex);
  return count;
}

int pool_threads(void) { return worker_count + 1; }

void pool_run(pool_task_fn fn, void *context, int tasks) {
  if (tasks <= 0) return;
  if (tasks == 1 || worker_count == 0) {
    for (int i = 0; i < tasks; i++) fn(context, i, tasks);
    return;
  }
  pthread_mutex_lock(&job_mutex);
  job_number++;
  atomic_store_explicit(&job_word, ((unsigned long long)job_number << 32) | EXHAUSTED, memory_order_release);
  job_fn = fn;
  job_context = context;
  atomic_store_explicit(&job_tasks, tasks, memory_order_relaxed);
  atomic_store(&finished_tasks, 0);
  atomic_store_explicit(&job_word, (unsigned long long)job_number << 32, memory_order_release);
  pthread_mutex_lock(&wake_mutex);
  atomic_fetch_add_explicit(&generation, 1, memory_order_release);
  pthread_cond_broadcast(&wake_cond);
  pthread_mutex_unlock(&wake_mutex);
  run_tasks();
  /* Only tasks already claimed by running workers remain: wait for them. */
  for (int spin = 0; spin < SPIN_ITERATIONS && atomic_load_explicit(&finished_tasks, memory_order_acquire) < tasks; spin++) {
    cpu_relax();
    if (spin % SPIN_YIELD_EVERY == SPIN_YIELD_EVERY - 1) sched_yield(); /* the worker may share this core */
  }
  if (atomic_load(&finished_tasks) < tasks) {
    pthread_mutex_lock(&wake_mutex);
    while (atomic_load(&finished_tasks) < tasks) pthread_cond_wait(&done_cond, &wake_mutex);
    pthread_mutex_unlock(&wake_mutex);
  }
  pthread_mutex_unlock(&job_mutex);
}

void pool_shutdown(void) {
  pthread_mutex_lock(&job_mutex);
  stop_workers();
  pthread_mutex_unlock(&job_mutex);
}
