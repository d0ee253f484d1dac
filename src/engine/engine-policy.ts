/**
 * The engine's Policy: batched decoding with a KV cache (continuous batching). Every `sample` call
 * pending at the same time joins one decoding batch; new calls join between decoding steps. A
 * session's cache survives across turns (only the new tokens are prefilled), and the shared prompt
 * of a group of rollouts is computed once and forked: a request whose prompt another request is
 * still prefilling waits one step and then copies that prefix. Each request draws from its own
 * seeded generator, so its tokens do not depend on what else is in the batch.
 */
import { ConfigError, ShapeError, errorMessage } from '../errors.js';
import type { FloatArray } from './kernels/kernels.js';
import { Random } from '../random.js';
import type { Policy, SampleRequest, SampleResult } from '../rollout/policy.js';
import type { Tokenizer } from '../rollout/tokenizer.js';
import { Decoder } from './decoder.js';
import { commonPrefixLength, SlotPool, type Slot } from './slot-pool.js';
import { StopChecker } from './stop-checker.js';
import { TokenSampler } from './token-sampler.js';
import type { Transformer } from './transformer.js';

/** Options of an EnginePolicy. */
export interface EnginePolicyOptions {
  model: Transformer;
  tokenizer: Tokenizer;
  /** KV-cache slots: sequences decoded at once plus sessions kept between turns (default 64). */
  slots?: number;
  /** Positions per slot (default min(max_position_embeddings, 2048)). */
  maxSequenceLength?: number;
  /** Most token rows per decoder call; longer prefills are split (default 1024). */
  maxRowsPerStep?: number;
  /** A request waits for a prefix another request is prefilling when it would reuse at least this many more tokens (default 8). */
  forkMinimumTokens?: number;
}

/** Counters of the work done, for tests and benchmarks. */
export interface EnginePolicyStats {
  /** Decoder calls. */
  steps: number;
  /** Token rows computed (prefill and decoding). */
  computedTokens: number;
  /** Prompt tokens not recomputed because a session or a fork already held them. */
  reusedTokens: number;
  /** Tokens sampled. */
  sampledTokens: number;
}

interface Pending {
  request: SampleRequest;
  resolve: (result: SampleResult) => void;
  reject: (error: Error) => void;
}

interface Active extends Pending {
  slot: Slot;
  /** Tokens still to feed before the next draw. */
  feed: number[];
  generated: number[];
  logprobs: number[];
  random: Random;
  stop: StopChecker;
}

/** A Policy backed by the CPU engine. */
export class EnginePolicy implements Policy {
  readonly tokenizer: Tokenizer;
  readonly stats: EnginePolicyStats = { steps: 0, computedTokens: 0, reusedTokens: 0, sampledTokens: 0 };
  private readonly model: Transformer;
  private readonly decoder: Decoder;
  private readonly pool: SlotPool;
  private readonly sampler: TokenSampler;
  private readonly maxRows: number;
  private readonly forkMinimum: number;
  private pending: Pending[] = [];
  private active: Active[] = [];
  private running = false;
  private lseScratch = new Float32Array(128);
  private targetScratch = new Int32Array(64);

  constructor(options: EnginePolicyOptions) {
    this.model = options.model;
    this.tokenizer = options.tokenizer;
    const maxT = options.maxSequenceLength ?? Math.min(options.model.config.max_position_embeddings, 2048);
    this.maxRows = options.maxRowsPerStep ?? 1024;
    this.decoder = new Decoder(options.model, options.slots ?? 64, maxT, this.maxRows);
    this.pool = new SlotPool(this.decoder.cache);
    this.sampler = new TokenSampler(options.model.dims.V);
    this.forkMinimum = options.forkMinimumTokens ?? 8;
  }

  /** Positions per cache slot: the longest sequence this policy can hold. */
  get maxSequenceLength(): number {
    return this.decoder.cache.maxT;
  }

  sample(request: SampleRequest): Promise<SampleResult> {
    return new Promise<SampleResult>((resolve, reject) => {
      try {
        this.validate(request);
      } catch (error) {
        reject(error as Error);
        return;
      }
      if (request.params.maxTokens <= 0) {
        resolve({ tokens: [], logprobs: [], finishReason: 'length' });
        return;
      }
      this.pending.push({ request, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drive());
      }
    });
  }

  release(sessionId: string): void {
    this.pool.release(sessionId);
  }

  /**
   * Drops every cached prefix and session cache that is not being decoded, so later samples use
   * the current weights only (call after an optimiser step or a weight load).
   */
  invalidateCache(): void {
    this.pool.invalidateIdle();
  }

  private validate(request: SampleRequest): void {
    const { tokens, params } = request;
    const V = this.model.dims.V;
    if (tokens.length === 0) throw new ShapeError('sample: request.tokens is empty; expected at least one token');
    if (tokens.length > this.maxSequenceLength) {
      throw new ShapeError(`sample: request has ${tokens.length} tokens; this policy holds at most ${this.maxSequenceLength} (maxSequenceLength)`);
    }
    for (const token of tokens) {
      if (!Number.isInteger(token) || token < 0 || token >= V) throw new ShapeError(`sample: token id ${token} is outside [0, ${V})`);
    }
    if (!(params.temperature > 0)) throw new ConfigError(`sample: temperature must be > 0, got ${params.temperature}`);
    if (!(params.topP > 0 && params.topP <= 1)) throw new ConfigError(`sample: topP must be in (0, 1], got ${params.topP}`);
    if (!Number.isInteger(params.maxTokens)) throw new ConfigError(`sample: maxTokens must be an integer, got ${params.maxTokens}`);
    if (request.sessionId !== undefined && this.isSessionInUse(request.sessionId)) {
      throw new ConfigError(`sample: session ${request.sessionId} already has a sample in progress; await it before the next turn`);
    }
  }

  private isSessionInUse(session: string): boolean {
    return this.pending.some((p) => p.request.sessionId === session) || this.active.some((a) => a.request.sessionId === session);
  }

  /** The decoding loop: runs while anything is pending or active, yielding to the event loop between steps. */
  private async drive(): Promise<void> {
    try {
      while (this.pending.length > 0 || this.active.length > 0) {
        try {
          this.admit();
          if (this.active.length > 0) this.step();
        } catch (error) {
          this.failActive(error);
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.running = false;
    }
  }

  /** Moves pending requests into slots, reusing cached prefixes; defers a request whose prefix is being prefilled. */
  private admit(): void {
    const waiting: Pending[] = [];
    for (const pending of this.pending) {
      const tokens = pending.request.tokens;
      const limit = tokens.length - 1; // the last token is always fed, to get its logits
      const session = pending.request.sessionId;
      const sessionSlot = session === undefined ? undefined : this.pool.sessionSlot(session);
      if (!sessionSlot) {
        const cached = this.pool.longestCachedPrefix(tokens, limit).length;
        const planned = this.longestPlannedPrefix(tokens, limit);
        if (planned >= cached + this.forkMinimum) {
          waiting.push(pending);
          continue;
        }
      }
      const assignment = this.pool.acquire(tokens, limit, session);
      if (!assignment) {
        waiting.push(pending);
        continue;
      }
      this.stats.reusedTokens += assignment.reused;
      this.active.push({
        ...pending,
        slot: assignment.slot,
        feed: tokens.slice(assignment.reused),
        generated: [],
        logprobs: [],
        random: new Random(pending.request.seed),
        stop: new StopChecker(this.tokenizer, pending.request.params.stop, pending.request.params.stopTokenIds),
      });
    }
    this.pending = waiting;
  }

  /** Rejects every active sequence after an unexpected failure; their caches are dropped. */
  private failActive(error: unknown): void {
    for (const sequence of this.active) {
      this.pool.invalidate(sequence.slot);
      sequence.reject(asError(error));
    }
    this.active = [];
  }

  /** logsumexp(logits/temperature) of each drawing row (R2), by the logprobs kernel: one call per distinct temperature. */
  private rowLogSumExp(logits: FloatArray, drawing: Active[]): Float64Array {
    const V = this.model.dims.V;
    const R2 = drawing.length;
    const result = new Float64Array(R2);
    if (this.lseScratch.length < 2 * R2) this.lseScratch = new Float32Array(2 * Math.max(R2, 64));
    if (this.targetScratch.length < R2) this.targetScratch = new Int32Array(Math.max(R2, 64));
    const temperatures = new Set(drawing.map((sequence) => sequence.request.params.temperature));
    for (const temperature of temperatures) {
      if (temperatures.size === 1) {
        const logprobs = this.lseScratch.subarray(0, R2);
        const lse = this.lseScratch.subarray(R2, 2 * R2);
        this.model.kernels.logprobsForward(logprobs, lse, null, logits, this.targetScratch, R2, V, 1 / temperature);
        result.set(lse);
        break;
      }
      drawing.forEach((sequence, row) => {
        if (sequence.request.params.temperature !== temperature) return;
        const lse = this.lseScratch.subarray(1, 2);
        this.model.kernels.logprobsForward(this.lseScratch.subarray(0, 1), lse, null, logits.subarray(row * V, (row + 1) * V), this.targetScratch, 1, V, 1 / temperature);
        result[row] = lse[0]!;
      });
    }
    return result;
  }

  /** Longest prefix of `tokens` that an active sequence is still prefilling. */
  private longestPlannedPrefix(tokens: readonly number[], limit: number): number {
    let best = 0;
    for (const active of this.active) {
      if (active.generated.length > 0) continue;
      const planned = active.request.tokens;
      best = Math.max(best, Math.min(commonPrefixLength(planned, tokens), limit));
    }
    return best;
  }

  /** One decoder call over all active sequences (decoding rows first, then prefill chunks). */
  private step(): void {
    const order = [...this.active].sort((a, b) => a.feed.length - b.feed.length);
    const tokens: number[] = [];
    const slots: number[] = [];
    const positions: number[] = [];
    const logitRows: number[] = [];
    const fed = new Map<Active, number>();
    const drawing: Active[] = [];
    for (const sequence of order) {
      const room = this.maxRows - tokens.length;
      if (room <= 0) break;
      const count = Math.min(room, sequence.feed.length);
      const start = sequence.slot.tokens.length;
      for (let i = 0; i < count; i++) {
        tokens.push(sequence.feed[i]!);
        slots.push(sequence.slot.index);
        positions.push(start + i);
      }
      fed.set(sequence, count);
      if (count === sequence.feed.length) {
        logitRows.push(tokens.length - 1);
        drawing.push(sequence);
      }
    }
    const logits = this.decoder.run({
      R: tokens.length,
      tokens: Int32Array.from(tokens),
      slots: Int32Array.from(slots),
      positions: Int32Array.from(positions),
      logitRows: Int32Array.from(logitRows),
    });
    this.stats.steps += 1;
    this.stats.computedTokens += tokens.length;
    for (const [sequence, count] of fed) {
      sequence.slot.tokens.push(...sequence.feed.slice(0, count));
      sequence.feed = sequence.feed.slice(count);
    }
    const V = this.model.dims.V;
    const lse = this.rowLogSumExp(logits, drawing);
    const finished = new Set<Active>();
    drawing.forEach((sequence, row) => {
      const params = sequence.request.params;
      const draw = this.sampler.draw(logits, row * V, params, sequence.random, lse[row]);
      sequence.generated.push(draw.token);
      sequence.logprobs.push(draw.logprob);
      this.stats.sampledTokens += 1;
      let stopped: boolean;
      try {
        stopped = sequence.stop.isStop(sequence.generated);
      } catch (error) {
        // The tokenizer failed on this sequence's text: fail it alone.
        finished.add(sequence);
        this.pool.finish(sequence.slot);
        sequence.reject(asError(error));
        return;
      }
      const full = sequence.generated.length >= params.maxTokens || sequence.slot.tokens.length >= this.maxSequenceLength;
      if (stopped || full) {
        finished.add(sequence);
        this.pool.finish(sequence.slot);
        sequence.resolve({ tokens: sequence.generated, logprobs: sequence.logprobs, finishReason: stopped ? 'stop' : 'length' });
      } else {
        sequence.feed = [draw.token];
      }
    });
    if (finished.size > 0) this.active = this.active.filter((sequence) => !finished.has(sequence));
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(errorMessage(error));
}
