/**
 * A Policy that replies from a script instead of a model, for testing environments, rewards and the
 * training loop without weights or a network. Replies are encoded with the given tokenizer and
 * emitted token by token like a real sampler: generation stops after the token that completes a
 * stop string or is a stop token id (both kept), or at `maxTokens` (`length`). A reply that ends
 * without a stop string gets the request's first stop token id (the end-of-turn token a chat model
 * would emit), room permitting. Logprobs are deterministic fakes derived from the request's seed,
 * the token and its position, so seeded runs can be compared exactly.
 */
import { TurnwiseError } from '../errors.js';
import type { Policy, SampleRequest, SampleResult } from './policy.js';
import type { Tokenizer } from './tokenizer.js';

/** What a reply function is told about one sampling call. */
export interface ScriptCall {
  /** The request's session id (one per rollout in the rollout loop). */
  sessionId: string | undefined;
  /** 0-based index of this call within its session. */
  turn: number;
  /** 0-based index of the session, in order of first request. */
  rollout: number;
  /** The decoded request tokens (prompt and earlier turns). */
  text: string;
  request: SampleRequest;
}

/** Options of the scripted policy; give exactly one of `replies`, `rollouts`, `reply`. */
export interface ScriptedPolicyOptions {
  tokenizer: Tokenizer;
  /** Every rollout plays these replies in order: reply k answers its k-th turn. */
  replies?: string[];
  /** Rollout r (sessions numbered in order of first request) plays `rollouts[r % rollouts.length]`. */
  rollouts?: string[][];
  /** Full control: the reply text of one call. */
  reply?: (call: ScriptCall) => string | Promise<string>;
  /** Append the first stop token id when a reply ends without a stop string (default true). */
  endOfTurn?: boolean;
  /** Milliseconds to wait before answering each call, to exercise concurrency (default 0). */
  delayMs?: number;
}

/** Thrown when the script has no reply for a call. */
export class ScriptExhaustedError extends TurnwiseError {
  override name = 'ScriptExhaustedError';
}

/** A deterministic scripted policy. */
export class ScriptedPolicy implements Policy {
  readonly tokenizer: Tokenizer;
  /** Every request received, in arrival order. */
  readonly requests: SampleRequest[] = [];
  /** Session ids passed to `release`, in order. */
  readonly released: string[] = [];
  /** Most requests that were pending at the same time. */
  peakConcurrency = 0;
  private pending = 0;
  private readonly sessions = new Map<string, { rollout: number; turns: number }>();
  private readonly options: ScriptedPolicyOptions;

  constructor(options: ScriptedPolicyOptions) {
    const given = [options.replies, options.rollouts, options.reply].filter((value) => value !== undefined).length;
    if (given !== 1)
      throw new TurnwiseError(`ScriptedPolicy: give exactly one of 'replies', 'rollouts' or 'reply' (got ${given})`);
    if (options.rollouts !== undefined && options.rollouts.length === 0)
      throw new TurnwiseError('ScriptedPolicy: rollouts must not be empty');
    this.options = options;
    this.tokenizer = options.tokenizer;
  }

  async sample(request: SampleRequest): Promise<SampleResult> {
    this.requests.push(request);
    this.pending++;
    this.peakConcurrency = Math.max(this.peakConcurrency, this.pending);
    try {
      const key = request.sessionId ?? `#anonymous-${this.requests.length}`;
      let session = this.sessions.get(key);
      if (session === undefined) {
        session = { rollout: this.sessions.size, turns: 0 };
        this.sessions.set(key, session);
      }
      const call: ScriptCall = {
        sessionId: request.sessionId,
        turn: session.turns++,
        rollout: session.rollout,
        text: '',
        request,
      };
      if (this.options.delayMs) await new Promise((resolve) => setTimeout(resolve, this.options.delayMs));
      const text = await this.replyFor(call);
      return this.emit(text, request);
    } finally {
      this.pending--;
    }
  }

  release(sessionId: string): void {
    this.released.push(sessionId);
  }

  private async replyFor(call: ScriptCall): Promise<string> {
    const { replies, rollouts, reply } = this.options;
    if (reply !== undefined) {
      call.text = this.tokenizer.decode(call.request.tokens);
      return reply(call);
    }
    const script = replies ?? rollouts![call.rollout % rollouts!.length]!;
    const text = script[call.turn];
    if (text === undefined) {
      throw new ScriptExhaustedError(
        `ScriptedPolicy: session ${call.sessionId ?? '(none)'} asked for ` +
          `turn ${call.turn} but its script has ${script.length} replies`,
      );
    }
    return text;
  }

  // Emits the reply's tokens one by one, stopping as a real sampler would.
  private emit(text: string, request: SampleRequest): SampleResult {
    const { maxTokens, stop, stopTokenIds = [] } = request.params;
    const candidate = this.tokenizer.encode(text);
    const tokens: number[] = [];
    const window = 4 * Math.max(0, ...stop.map((stopString) => stopString.length)) + 4;
    let finishReason: SampleResult['finishReason'] | undefined;
    for (const token of candidate) {
      if (tokens.length >= maxTokens) {
        finishReason = 'length';
        break;
      }
      tokens.push(token);
      if (stopTokenIds.includes(token)) {
        finishReason = 'stop';
        break;
      }
      if (stop.length > 0) {
        // A stop string completed by this token lies in the last few tokens (each char <= 4 bytes).
        const decoded = this.tokenizer.decode(tokens.slice(-window));
        if (stop.some((stopString) => decoded.includes(stopString))) {
          finishReason = 'stop';
          break;
        }
      }
    }
    if (finishReason === undefined) {
      const endOfTurn = request.params.stopTokenIds?.[0] ?? this.tokenizer.eosTokenId;
      if (tokens.length >= maxTokens) finishReason = 'length';
      else {
        if ((this.options.endOfTurn ?? true) && endOfTurn !== undefined) tokens.push(endOfTurn);
        finishReason = 'stop';
      }
    }
    const offset = request.tokens.length;
    const logprobs = tokens.map((token, index) => fakeLogprob(request.seed, offset + index, token));
    return { tokens, logprobs, finishReason };
  }
}

/** A deterministic logprob in (-2.01, -0.01] from a seed, a position and a token id. */
export function fakeLogprob(seed: number, position: number, token: number): number {
  let x = (seed ^ Math.imul(position + 1, 0x9e3779b1) ^ Math.imul(token + 7, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return -(0.01 + (2 * x) / 4294967296);
}
