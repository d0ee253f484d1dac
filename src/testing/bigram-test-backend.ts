/**
 * TEST DOUBLE for the protocol tests of src/backends: a small but real Backend over a softmax
 * bigram model (`BigramModel`: exact gradients of the clipped policy-gradient, importance-sampling
 * and cross-entropy losses, AdamW with global-norm clipping), with seeded sampling with top-k /
 * top-p and stops, top alternatives, token streaming, and in-memory save/load. It lets the client,
 * server and equivalence tests run in milliseconds without the CPU engine. With a `script`, it plays
 * given completions instead of drawing them, still scored by the model (real logprobs and
 * alternatives): the gateway's tool-call tests use that, since a bigram model never writes a valid
 * tool call by chance.
 */
import type { Backend } from '../backends/backend.js';
import type { AdamParams, Datum, ForwardBackwardResult, LossSpec } from '../training-types.js';
import type { GeneratedToken, Policy, SampleRequest, SampleResult, TokenLogprob } from '../rollout/policy.js';
import { CheckpointError, ShapeError } from '../errors.js';
import { Random } from '../random.js';
import { TestChatRenderer, TestTokenizer } from './test-tokenizer.js';
import { BigramModel, drawToken, type BigramSnapshot } from './bigram-model.js';

/** Options of the test backend. */
export interface BigramTestBackendOptions {
  seed?: number;
  /** Spread of the initial logits; default 0.5. */
  initScale?: number;
  /** Busy-waits this long inside every forwardBackward (a synchronous CPU step), for responsiveness tests. */
  busyStepMs?: number;
  /**
   * Given the decoded prompt, the completion to play instead of drawing one (undefined: draw). The
   * text's tokens are emitted in order, cut by `maxTokens` and stop strings like drawn ones, then
   * the first stop token id when the text ran out; each token gets the model's logprob.
   */
  script?: (prompt: string) => string | undefined;
}

/** The bigram test double. */
export class BigramTestBackend implements Backend {
  readonly name = 'bigram-test';
  readonly tokenizer = new TestTokenizer();
  readonly renderer = new TestChatRenderer(this.tokenizer);
  readonly vocab: number;
  private readonly model: BigramModel;
  private readonly saved = new Map<string, BigramSnapshot>();
  private readonly busyStepMs: number;
  private readonly script: BigramTestBackendOptions['script'];

  constructor(options: BigramTestBackendOptions = {}) {
    this.vocab = this.tokenizer.vocabSize;
    this.model = new BigramModel(this.vocab, { seed: options.seed, initScale: options.initScale ?? 0.5 }, 'bigram test backend');
    this.busyStepMs = options.busyStepMs ?? 0;
    this.script = options.script;
  }

  /** Logits table (V, V): row = current token, column = next token. */
  get weights_V_V(): Float64Array {
    return this.model.weights_V_V;
  }

  policy(): Policy {
    return { tokenizer: this.tokenizer, sample: (request, onToken) => this.sample(request, onToken) };
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

  /** Seeded ancestral sampling from the bigram table (or the script's completion). */
  async sample(request: SampleRequest, onToken?: (token: GeneratedToken) => void): Promise<SampleResult> {
    const { params } = request;
    if (request.tokens.length === 0) throw new ShapeError('bigram test backend: sample needs at least one prompt token');
    const scripted = this.script?.(this.tokenizer.decode(request.tokens));
    const forced = scripted === undefined ? undefined : this.tokenizer.encode(scripted);
    const topCount = request.topLogprobs ?? 0;
    const random = new Random(request.seed);
    const tokens: number[] = [];
    const logprobs: number[] = [];
    const alternatives: TokenLogprob[][] = [];
    const finish = (finishReason: SampleResult['finishReason']): SampleResult =>
      topCount > 0 ? { tokens, logprobs, finishReason, topLogprobs: alternatives } : { tokens, logprobs, finishReason };
    let last = request.tokens[request.tokens.length - 1]!;
    for (let step = 0; step < params.maxTokens; step++) {
      const row = this.model.logSoftmax(last, params.temperature);
      const endOfScript = forced !== undefined && step >= forced.length;
      if (endOfScript && params.stopTokenIds?.[0] === undefined) return finish('stop');
      const next = forced === undefined ? drawToken(row, params.topK, params.topP, random) : endOfScript ? params.stopTokenIds![0]! : forced[step]!;
      tokens.push(next);
      logprobs.push(row[next]!);
      const top = topCount > 0 ? topOf(row, topCount) : undefined;
      if (top) alternatives.push(top);
      onToken?.(top ? { token: next, logprob: row[next]!, topLogprobs: top } : { token: next, logprob: row[next]! });
      last = next;
      if (params.stopTokenIds?.includes(next)) return finish('stop');
      if (params.stop.length > 0) {
        const text = this.tokenizer.decode(tokens);
        if (params.stop.some((stop) => text.includes(stop))) return finish('stop');
      }
    }
    return finish('length');
  }
}

/** The `count` most likely tokens of a log-softmax row, most likely first (ties: lower id first). */
function topOf(row_V: Float64Array, count: number): TokenLogprob[] {
  return Array.from(row_V.keys())
    .sort((a, b) => row_V[b]! - row_V[a]! || a - b)
    .slice(0, count)
    .map((token) => ({ token, logprob: row_V[token]! }));
}

/** Factory export for `WorkerBackend` (builds the test double inside a worker thread). */
export function createBigramTestBackend(options: BigramTestBackendOptions = {}): BigramTestBackend {
  return new BigramTestBackend(options);
}
