/**
 * `seq_id` ordering of one training client's mutating requests (tinker-protocol.md section 1.3):
 * requests run in `seq_id` order starting at 1; one that arrives early waits for its predecessor
 * (and fails after a timeout); a resend of a known `seq_id` with the same payload gets the original
 * future (SkyRL's idempotency rule) and a different payload is refused with 409.
 */
import { HttpError } from './http-io.js';

/** What `SeqOrdering.admit` needs from the host. */
export interface Admission {
  /** Digest of the request body, to tell a resend from a reused `seq_id`. */
  hash: string;
  /** Creates the request's future and returns its id. */
  createFuture: () => string;
  /** Starts the request (called in `seq_id` order). */
  start: (requestId: string) => void;
  /** Fails a request whose predecessor never arrived. */
  fail: (requestId: string, message: string) => void;
}

const REMEMBERED = 4096;

/** The `seq_id` book-keeping of one model. */
export class SeqOrdering {
  private nextSeqId = 1;
  private readonly parked = new Map<number, () => void>();
  private readonly seen = new Map<number, { hash: string; requestId: string }>();

  constructor(
    private readonly label: string,
    private readonly gapTimeoutMs: number,
  ) {}

  /** Admits a request and returns its future id (the original one for a resend). */
  admit(seqId: number | undefined, admission: Admission): string {
    if (seqId === undefined) {
      const requestId = admission.createFuture();
      admission.start(requestId);
      return requestId;
    }
    const previous = this.seen.get(seqId);
    if (previous) {
      if (previous.hash !== admission.hash)
        throw new HttpError(
          409,
          `Training request sequence number was reused: ` +
            `seq_id ${seqId} of ${this.label} already holds a different request`,
        );
      return previous.requestId;
    }
    if (seqId < this.nextSeqId)
      throw new HttpError(409, `seq_id ${seqId} of ${this.label} is behind the next expected seq_id ${this.nextSeqId}`);
    const requestId = admission.createFuture();
    this.seen.set(seqId, { hash: admission.hash, requestId });
    if (this.seen.size > REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
    if (seqId === this.nextSeqId) {
      admission.start(requestId);
      this.nextSeqId++;
      for (let next = this.parked.get(this.nextSeqId); next; next = this.parked.get(this.nextSeqId)) {
        this.parked.delete(this.nextSeqId);
        next();
        this.nextSeqId++;
      }
      return requestId;
    }
    const timer = setTimeout(() => {
      if (!this.parked.delete(seqId)) return;
      admission.fail(
        requestId,
        `seq_id ${seqId} waited ${this.gapTimeoutMs} ms for seq_id ${this.nextSeqId}, which never arrived`,
      );
    }, this.gapTimeoutMs);
    timer.unref();
    this.parked.set(seqId, () => {
      clearTimeout(timer);
      admission.start(requestId);
    });
    return requestId;
  }
}
