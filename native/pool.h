/*
 * A persistent thread pool for the kernels. A job is a function run over task indices
 * 0..tasks-1; the calling thread claims tasks too, so a job always finishes even if no worker
 * ever wakes up, and the caller waits only for tasks a worker has already started.
 */
#ifndef TURNWISE_POOL_H
#define TURNWISE_POOL_H

typedef void (*pool_task_fn)(void *context, int task, int tasks);

/* Starts or resizes the pool to `threads` threads in total (caller included); returns the count in use. */
int pool_configure(int threads);
/* Threads in use (caller included), at least 1. */
int pool_threads(void);
/* Runs fn(context, i, tasks) for every i in [0, tasks) across the pool and returns when all are done. */
void pool_run(pool_task_fn fn, void *context, int tasks);
/* Stops and joins the workers (process exit / addon unload). */
void pool_shutdown(void);

#endif
