/**
 * Runs backend work in arrival order with a readers-writer discipline: sampling jobs (`shared`) run
 * concurrently with each other, so a backend can batch them; training jobs (`exclusive`:
 * forward_backward, optim_step, save, load) run alone. Every job starts from `setImmediate`, so
 * the event loop answers health checks and polls between jobs.
 */

interface Job {
  exclusive: boolean;
  run: () => Promise<void>;
}

/** The job queue of one backend. */
export class JobScheduler {
  private readonly queue: Job[] = [];
  private shared = 0;
  private exclusive = false;
  private scheduled = false;

  constructor(private readonly maxShared = 256) {}

  /** Jobs waiting to start. */
  get queued(): number {
    return this.queue.length;
  }

  /** Jobs running now. */
  get running(): number {
    return this.shared + (this.exclusive ? 1 : 0);
  }

  /** Queues a job; the promise settles with the job. */
  enqueue<T>(exclusive: boolean, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ exclusive, run: () => work().then(resolve, reject) });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.exclusive ? this.exclusive || this.shared > 0 : this.exclusive || this.shared >= this.maxShared) return;
      this.queue.shift();
      if (head.exclusive) this.exclusive = true;
      else this.shared++;
      head
        .run()
        .catch(() => undefined)
        .finally(() => {
          if (head.exclusive) this.exclusive = false;
          else this.shared--;
          this.schedule();
        });
    }
  }
}
