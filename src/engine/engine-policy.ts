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
import { activeProfile, COUNTER, PHASE, THIN_DECODE_ROWS } from '../step-profile.js';
import type { GeneratedToken, Policy, SampleRequest, SampleResult, TokenLogprob } from '../rollout/policy.js';
import type { Tokenizer } from '../rollout/tokenizer.js';
import { Decoder } from './decoder.js';
import { commonPrefixLength, SlotPool, type Slot } from './slot-pool.js';
import { StopChecker } from './stop-checker.js';
import { topLogprobs } from './top-logprobs.js';
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
  /**
   * A request waits for a prefix another request is prefilling when
   * it would reuse at least this many more tokens (default 8).
   */
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
  onToken: ((token: GeneratedToken) => void) | undefined;
  resolve: (result: SampleResult) => void;
  reject: (error: Error) => void;
}

interface Active extends Pending {
  slot: Slot;
  /** Tokens still to feed before the next draw. */
  feed: number[];
  generated: number[];
  logprobs: number[];
  /** The top alternatives of each generated token, when the request asked for them. */
  alternatives: TokenLogprob[][] | undefined;
  random: Random;
  stop: StopChecker;
}

/** The per-step row buffers of the decoder call and the draws. */
interface StepRows {
  tokens: Int32Array;
  slots: Int32Array;
  positions: Int32Array;
  logitRows: Int32Array;
  uniforms: Float64Array;
  drawn: Int32Array;
  drawnLogprobs: Float32Array;
}

/** A Policy backed by the CPU engine. */
export class EnginePolicy implements Policy {
  readonly tokenizer: Tokenizer;
  readonly stats: EnginePolicyStats = { steps: 0, computedTokens: 0, reusedTokens: 0, sampledTokens: 0 };
  private readonly model: Transformer;
  private readonly decoder: Decoder;
  private readonly pool: SlotPool;
  private readonly maxRows: number;
  private readonly forkMinimum: number;
  private pending: Pending[] = [];
  private active: Active[] = [];
  private running = false;
  /** Reused per-step buffers: the decoder's rows (maxRows) and the draws (maxRows). */
  private readonly rows: StepRows;

  constructor(options: EnginePolicyOptions) {
    this.model = options.model;
    this.tokenizer = options.tokenizer;
    const maxT = options.maxSequenceLength ?? Math.min(options.model.config.max_position_embeddings, 2048);
    this.maxRows = options.maxRowsPerStep ?? 1024;
    this.decoder = new Decoder(options.model, options.slots ?? 64, maxT, this.maxRows);
    this.pool = new SlotPool(this.decoder.cache);
    this.rows = {
      tokens: new Int32Array(this.maxRows),
      slots: new Int32Array(this.maxRows),
      positions: new Int32Array(this.maxRows),
      logitRows: new Int32Array(this.maxRows),
      uniforms: new Float64Array(this.maxRows),
      drawn: new Int32Array(this.maxRows),
      drawnLogprobs: new Float32Array(this.maxRows),
    };
    this.forkMinimum = options.forkMinimumTokens ?? 8;
  }

  /** Positions per cache slot: the longest sequence this policy can hold. */
  get maxSequenceLength(): number {
    return this.decoder.cache.maxT;
  }

  sample(request: SampleRequest, onToken?: (token: GeneratedToken) => void): Promise<SampleResult> {
    return new Promise<SampleResult>((resolve, reject) => {
      try {
        this.validate(request);
      } catch (error) {
        reject(error as Error);
        return;
      }
      if (request.params.maxTokens <= 0) {
        resolve({
          tokens: [],
          logprobs: [],
          finishReason: 'length',
          ...((request.topLogprobs ?? 0) > 0 ? { topLogprobs: [] } : {}),
        });
        return;
      }
      this.pending.push({ request, onToken, resolve, reject });
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
      throw new ShapeError(
        `sample: request has ${tokens.length} tokens; this policy ` +
          `holds at most ${this.maxSequenceLength} (maxSequenceLength)`,
      );
    }
    for (const token of tokens) {
      if (!Number.isInteger(token) || token < 0 || token >= V)
        throw new ShapeError(`sample: token id ${token} is outside [0, ${V})`);
    }
    if (!(params.temperature > 0 && Number.isFinite(1 / params.temperature) && Number.isFinite(params.temperature))) {
      throw new ConfigError(`sample: temperature must be a finite number > 0, got ${params.temperature}`);
    }
    if (!Number.isSafeInteger(params.topK))
      throw new ConfigError(`sample: topK must be an integer (0 or less = off), got ${params.topK}`);
    if (!(params.topP > 0 && params.topP <= 1))
      throw new ConfigError(`sample: topP must be in (0, 1], got ${params.topP}`);
    if (!Number.isInteger(params.maxTokens))
      throw new ConfigError(`sample: maxTokens must be an integer, got ${params.maxTokens}`);
    const top = request.topLogprobs ?? 0;
    if (!Number.isInteger(top) || top < 0)
      throw new ConfigError(`sample: topLogprobs must be a non-negative integer, got ${top}`);
    if (request.sessionId !== undefined && this.isSessionInUse(request.sessionId)) {
      throw new ConfigError(
        `sample: session ${request.sessionId} already has a sample in progress; await it before the next turn`,
      );
    }
  }

  private isSessionInUse(session: string): boolean {
    return (
      this.pending.some((p) => p.request.sessionId === session) ||
      this.active.some((a) => a.request.sessionId === session)
    );
  }

  /** The decoding loop: runs while anything is pending or active, yielding to the event loop between steps. */
  private async drive(): Promise<void> {
    try {
      while (this.pending.length > 0 || this.active.length > 0) {
        try {
          const profile = activeProfile();
          const start = profile ? performance.now() : 0;
          this.admit();
          profile?.add(PHASE.admit, start);
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
      activeProfile()?.count(COUNTER.reusedTokens, assignment.reused);
      this.active.push({
        ...pending,
        slot: assignment.slot,
        feed: tokens.slice(assignment.reused),
        generated: [],
        logprobs: [],
        alternatives: (pending.request.topLogprobs ?? 0) > 0 ? [] : undefined,
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
    const profile = activeProfile();
    const order = this.active.length > 1 ? [...this.active].sort((a, b) => a.feed.length - b.feed.length) : this.active;
    const rows = this.rows;
    let R = 0;
    const drawing: Active[] = [];
    const fed: number[] = []; // rows fed per sequence of `order`, in order
    let decodeRows = 0; // rows feeding back a token just drawn (the rest are prefill)
    for (const sequence of order) {
      const room = this.maxRows - R;
      if (room <= 0) break;
      const count = Math.min(room, sequence.feed.length);
      if (sequence.generated.length > 0) decodeRows += count;
      const start = sequence.slot.tokens.length;
      for (let i = 0; i < count; i++) {
        rows.tokens[R] = sequence.feed[i]!;
        rows.slots[R] = sequence.slot.index;
        rows.positions[R] = start + i;
        R++;
      }
      fed.push(count);
      if (count === sequence.feed.length) {
        rows.logitRows[drawing.length] = R - 1;
        drawing.push(sequence);
      }
    }
    const R2 = drawing.length;
    const decoderStart = profile ? performance.now() : 0;
    const logits = this.decoder.run({
      R,
      tokens: rows.tokens.subarray(0, R),
      slots: rows.slots.subarray(0, R),
      positions: rows.positions.subarray(0, R),
      logitRows: rows.logitRows.subarray(0, R2),
    });
    this.stats.steps += 1;
    this.stats.computedTokens += R;
    const samplerStart = profile ? performance.now() : 0;
    if (profile) {
      // A mixed step's decoder time is split between prefill and decode by rows.
      const seconds = (samplerStart - decoderStart) / 1000;
      profile.addSeconds(PHASE.decode, (seconds * decodeRows) / R);
      profile.addSeconds(PHASE.prefill, (seconds * (R - decodeRows)) / R);
      profile.count(COUNTER.decoderSteps, 1);
      if (decodeRows > 0) profile.count(COUNTER.decodeSteps, 1);
      if (decodeRows > 0 && decodeRows < THIN_DECODE_ROWS) profile.count(COUNTER.thinDecodeSteps, 1);
      profile.count(COUNTER.decodeRows, decodeRows);
      profile.count(COUNTER.prefillRows, R - decodeRows);
      profile.count(COUNTER.sampledTokens, R2);
    }
    fed.forEach((count, i) => {
      const sequence = order[i]!;
      const feed = sequence.feed;
      if (count === 1) sequence.slot.tokens.push(feed[0]!);
      else sequence.slot.tokens.push(...feed.slice(0, count));
      if (count === feed.length) feed.length = 0;
      else sequence.feed = feed.slice(count);
    });
    this.draw(logits, drawing);
    const finished = new Set<Active>();
    drawing.forEach((sequence, row) => {
      const params = sequence.request.params;
      const token = rows.drawn[row]!;
      const logprob = rows.drawnLogprobs[row]!;
      sequence.generated.push(token);
      sequence.logprobs.push(logprob);
      let top: TokenLogprob[] | undefined;
      if (sequence.alternatives) {
        top = topLogprobs(
          logits,
          row * this.model.dims.V,
          this.model.dims.V,
          1 / params.temperature,
          sequence.request.topLogprobs!,
        );
        sequence.alternatives.push(top);
      }
      this.stats.sampledTokens += 1;
      let stopped: boolean;
      try {
        sequence.onToken?.(top ? { token, logprob, topLogprobs: top } : { token, logprob });
        stopped = sequence.stop.isStop(sequence.generated);
      } catch (error) {
        // The tokenizer (or the caller's token callback) failed on this sequence: fail it alone.
        finished.add(sequence);
        this.pool.finish(sequence.slot);
        sequence.reject(asError(error));
        return;
      }
      const full =
        sequence.generated.length >= params.maxTokens || sequence.slot.tokens.length >= this.maxSequenceLength;
      if (stopped || full) {
        finished.add(sequence);
        this.pool.finish(sequence.slot);
        const result: SampleResult = {
          tokens: sequence.generated,
          logprobs: sequence.logprobs,
          finishReason: stopped ? 'stop' : 'length',
        };
        if (sequence.alternatives) result.topLogprobs = sequence.alternatives;
        sequence.resolve(result);
      } else {
        sequence.feed.push(token);
      }
    });
    if (finished.size > 0) this.active = this.active.filter((sequence) => !finished.has(sequence));
    profile?.add(PHASE.sampler, samplerStart);
  }

  /**
   * Draws the next token of each drawing row of `logits` (R2,V) into rows.drawn / rows.drawnLogprobs
   * with the sampling kernel: one uniform of each sequence's own generator per draw, one kernel call
   * for all rows when they share their sampling parameters (the usual case), else one per row.
   */
  private draw(logits: FloatArray, drawing: Active[]): void {
    const V = this.model.dims.V;
    const R2 = drawing.length;
    const { uniforms, drawn, drawnLogprobs } = this.rows;
    for (let row = 0; row < R2; row++) uniforms[row] = drawing[row]!.random.next();
    const first = drawing[0]?.request.params;
    const same = drawing.every(
      ({ request: { params } }) =>
        params.temperature === first?.temperature && params.topK === first.topK && params.topP === first.topP,
    );
    const kernels = this.model.kernels;
    if (first && same) {
      kernels.sampleTokens(
        drawn,
        drawnLogprobs,
        logits,
        uniforms,
        R2,
        V,
        1 / first.temperature,
        first.topK,
        first.topP,
      );
      return;
    }
    drawing.forEach(({ request: { params } }, row) => {
      const [from, to] = [row, row + 1];
      kernels.sampleTokens(
        drawn.subarray(from, to),
        drawnLogprobs.subarray(from, to),
        logits.subarray(from * V, to * V),
        uniforms.subarray(from, to),
        1,
        V,
        1 / params.temperature,
        params.topK,
        params.topP,
      );
    });
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(errorMessage(error));
}
