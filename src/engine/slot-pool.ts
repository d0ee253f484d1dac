/**
 * Bookkeeping of the KV-cache slots of the sampler: which tokens each slot holds, which session
 * (multi-turn rollout) owns it, and which slot a new request should use. A request reuses the
 * longest cached prefix of its tokens: its own session's slot (earlier turns), or any slot holding
 * the same prompt (a group of G rollouts), copied into a free slot (a fork).
 */
import type { KvCache } from './kv-cache.js';

/** The state of one cache slot. */
export interface Slot {
  index: number;
  /** Tokens whose keys and values are in the cache, positions 0..tokens.length-1. */
  tokens: number[];
  /** Session that keeps this slot between turns. */
  session: string | undefined;
  /** True while a sequence is being decoded in this slot. */
  busy: boolean;
  /** Logical time of the last use, for least-recently-used eviction. */
  lastUsed: number;
}

/** A slot assigned to a request and how much of its prefix is already cached. */
export interface SlotAssignment {
  slot: Slot;
  /** Leading tokens of the request already in the slot's cache. */
  reused: number;
}

function rank(slot: Slot): number {
  return (slot.tokens.length > 0 ? 2 ** 40 : 0) + slot.lastUsed;
}

/** Number of leading elements `a` and `b` share. */
export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** The slots of one KV cache. */
export class SlotPool {
  readonly slots: Slot[];
  private readonly sessions = new Map<string, Slot>();
  private clock = 0;

  constructor(private readonly cache: KvCache) {
    this.slots = Array.from({ length: cache.slots }, (_, index) => ({
      index,
      tokens: [],
      session: undefined,
      busy: false,
      lastUsed: 0,
    }));
  }

  /** The slot kept for `session`, if any. */
  sessionSlot(session: string): Slot | undefined {
    return this.sessions.get(session);
  }

  /** The longest prefix of `tokens` (at most `limit`) held by any slot, and where. */
  longestCachedPrefix(tokens: readonly number[], limit: number): { slot: Slot | undefined; length: number } {
    let best: Slot | undefined;
    let length = 0;
    for (const slot of this.slots) {
      const shared = Math.min(commonPrefixLength(slot.tokens, tokens), limit);
      if (shared > length) {
        best = slot;
        length = shared;
      }
    }
    return { slot: best, length };
  }

  /**
   * A slot for a request of `tokens` (reusing at most `limit` cached tokens), or undefined when
   * every slot is busy. Keys and values of the reused prefix are in the slot on return.
   */
  acquire(tokens: readonly number[], limit: number, session: string | undefined): SlotAssignment | undefined {
    const own = session === undefined ? undefined : this.sessions.get(session);
    if (own && !own.busy) {
      const reused = Math.min(commonPrefixLength(own.tokens, tokens), limit);
      own.tokens.length = reused;
      return this.take(own, reused);
    }
    const source = this.longestCachedPrefix(tokens, limit);
    const target = this.freeSlot(source.slot);
    if (!target) return undefined;
    if (target.session !== undefined) this.sessions.delete(target.session);
    target.session = session;
    if (session !== undefined) this.sessions.set(session, target);
    if (source.slot && source.length > 0) {
      this.cache.copyPrefix(source.slot.index, target.index, source.length);
      target.tokens = tokens.slice(0, source.length);
    } else {
      target.tokens = [];
    }
    return this.take(target, target.tokens.length);
  }

  /** Marks a slot idle after its sequence finished (a session keeps it). */
  finish(slot: Slot): void {
    slot.busy = false;
    slot.lastUsed = ++this.clock;
  }

  /** Forgets a session; its slot becomes free (its tokens stay usable as a cached prefix). */
  release(session: string): void {
    const slot = this.sessions.get(session);
    if (!slot) return;
    this.sessions.delete(session);
    slot.session = undefined;
  }

  /**
   * Forgets every idle slot's cached tokens (after the weights changed); sessions keep their slot
   * but recompute it on their next turn. Busy slots finish with what they hold.
   */
  invalidateIdle(): void {
    for (const slot of this.slots) if (!slot.busy) slot.tokens = [];
  }

  /** Drops a slot's cached tokens (after a failure left its cache undefined). */
  invalidate(slot: Slot): void {
    slot.tokens = [];
    slot.busy = false;
    if (slot.session !== undefined) this.sessions.delete(slot.session);
    slot.session = undefined;
  }

  private take(slot: Slot, reused: number): SlotAssignment {
    slot.busy = true;
    slot.lastUsed = ++this.clock;
    return { slot, reused };
  }

  /**
   * A free slot: the prefix source itself when free, else the
   * least recently used free one, else the LRU idle session's.
   */
  private freeSlot(preferred: Slot | undefined): Slot | undefined {
    if (preferred && !preferred.busy && preferred.session === undefined) return preferred;
    let best: Slot | undefined;
    for (const slot of this.slots) {
      if (slot.busy || slot.session !== undefined) continue;
      // Empty slots first, then the least recently used.
      if (!best || rank(slot) < rank(best)) best = slot;
    }
    if (best) return best;
    for (const slot of this.slots) {
      if (slot.busy) continue;
      if (!best || slot.lastUsed < best.lastUsed) best = slot;
    }
    return best;
  }
}
