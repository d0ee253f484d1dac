/**
 * TEST DOUBLE for the protocol tests of src/backends: a small but real Backend over a softmax
 * bigram model (`BigramModel`: exact gradients of the clipped policy-gradient, importance-sampling
 * and cross-entropy losses, AdamW with global-norm clipping), with seeded sampling with top-k /
 * top-p and stops, and in-memory save/load. It speaks bytes through the public `ByteTokenizer` and
 * ChatML through the real `ChatTemplateRenderer`. It lets the client, server and equivalence tests
 * run in milliseconds without the CPU engine.
 */
import type { Backend } from '../backends/backend.js';
import type { AdamParams, Datum, ForwardBackwardResult, LossSpec } from '../training-types.js';
import type { Policy, SampleRequest, SampleResult } from '../rollout/policy.js';
import { ChatTemplateRenderer } from '../rollout/chat-template-renderer.js';
import { CheckpointError, ShapeError } from '../errors.js';
import { Random } from '../random.js';
import { ByteTokenizer } from './byte-tokenizer.js';
import { BigramModel, drawToken, type BigramSnapshot } from './bigram-model.js';

/** Options of the test backend. */
export interface BigramTestBackendOptions {
  seed?: number;
  /** Spread of the initial logits; default 0.5. */
  initScale?: number;
  /** Busy-waits this long inside every forwardBackward (a synchronous CPU step), for responsiveness tests. */
  busyStepMs?: number;
}

/** The bigram test double. */
export class BigramTestBackend implements Backend {
  readonly name = 'bigram-test';
  readonly tokenizer = new ByteTokenizer();
  readonly renderer = new ChatTemplateRenderer({ tokenizer: this.tokenizer });
  private readonly model: BigramModel;
  private readonly saved = new Map<string, BigramSnapshot>();
  private readonly busyStepMs: number;

  constructor(options: BigramTestBackendOptions = {}) {
    this.model = new BigramModel(this.tokenizer.vocabSize, { seed: options.seed, initScale: options.initScale ?? 0.5 }, 'bigram test backend');
    this.busyStepMs = options.busyStepMs ?? 0;
  }

  /** Logits table (V, V): row = current token, column = next token. */
  get weights_V_V(): Float64Array {
    return this.model.weights_V_V;
  }

  policy(): Policy {
    return { tokenizer: this.tokenizer, sample: (request) => this.sample(request) };
  }

  async forward(data: Datum[], options: { temperature: number }): Promise<number[][]> {
    return this.model.logprobs(data, options.temperature);
  }

  async forwardBackward(data: Datum[], loss: LossSpec, options: { temperature: number }): Promise<ForwardBackwardResult> {
    this.model.check(data);
    if (this.busyStepMs > 0) {
      const until = performance.now() + this.busyStepMs;
      while (performance.now() < until);
    }
    return this.model.accumulate(data, loss, options.temperature);
  }

  async optimStep(params: AdamParams): Promise<Record<string, number>> {
    return { 'optim/grad_norm': this.model.adamw(params) };
  }

  async save(name: string): Promise<string> {
    this.saved.set(name, this.model.snapshot());
    return `memory://bigram/${name}`;
  }

  async load(path: string, options: { optimizer: boolean }): Promise<void> {
    const snapshot = this.saved.get(path.replace(/^memory:\/\/bigram\//, ''));
    if (!snapshot) throw new CheckpointError(`no checkpoint ${JSON.stringify(path)} was saved by this bigram test backend`);
    this.model.restore(snapshot, options);
  }

  async close(): Promise<void> {}

  /** Seeded ancestral sampling from the bigram table. */
  async sample(request: SampleRequest): Promise<SampleResult> {
    const { params } = request;
    if (request.tokens.length === 0) throw new ShapeError('bigram test backend: sample needs at least one prompt token');
    const random = new Random(request.seed);
    const tokens: number[] = [];
    const logprobs: number[] = [];
    let last = request.tokens[request.tokens.length - 1]!;
    for (let step = 0; step < params.maxTokens; step++) {
      const row = this.model.logSoftmax(last, params.temperature);
      const next = drawToken(row, params.topK, params.topP, random);
      tokens.push(next);
      logprobs.push(row[next]!);
      last = next;
      if (params.stopTokenIds?.includes(next)) return { tokens, logprobs, finishReason: 'stop' };
      if (params.stop.length > 0) {
        const text = this.tokenizer.decode(tokens);
        if (params.stop.some((stop) => text.includes(stop))) return { tokens, logprobs, finishReason: 'stop' };
      }
    }
    return { tokens, logprobs, finishReason: 'length' };
  }
}

/** Factory export for `WorkerBackend` (builds the test double inside a worker thread). */
export function createBigramTestBackend(options: BigramTestBackendOptions = {}): BigramTestBackend {
  return new BigramTestBackend(options);
}
