/**
 * TEST DOUBLE: a small but real Backend over a softmax bigram model (`BigramModel`: exact gradients
 * of the clipped policy-gradient, importance-sampling and cross-entropy losses, AdamW with
 * global-norm clipping), with seeded sampling with top-k / top-p and stops, top alternatives and
 * token streaming. It speaks bytes through the public `ByteTokenizer` and ChatML through the real
 * `ChatTemplateRenderer`, and learns, deterministically, in milliseconds. The protocol tests of
 * src/backends and `turnwise serve --test-backend` keep checkpoints in memory; the training-loop
 * tests give it a `checkpointDirectory`, where `save(name)` writes weights and optimiser state as
 * `<name>.json` (float64 bytes in base64), so a fresh backend (a restarted process) can resume from
 * them. With a `script`, it plays given completions instead of drawing them, still scored by the
 * model (real logprobs and alternatives): the gateway's tool-call tests use that, since a bigram
 * model never writes a valid tool call by chance.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backends/backend.js';
import type { AdamParams, Datum, ForwardBackwardResult, LossSpec } from '../training-types.js';
import type { GeneratedToken, Policy, SampleRequest, SampleResult, TokenLogprob } from '../rollout/policy.js';
import { ChatTemplateRenderer } from '../rollout/chat-template-renderer.js';
import { CheckpointError, ShapeError, errorMessage } from '../errors.js';
import { Random } from '../random.js';
import { writeFileAtomicSync } from '../engine/atomic-write.js';
import { StopChecker } from '../engine/stop-checker.js';
import { ByteTokenizer } from './byte-tokenizer.js';
import { BigramModel, drawToken, type BigramSnapshot } from './bigram-model.js';

const MEMORY_PREFIX = 'memory://bigram/';

/** Options of the test backend. */
export interface BigramTestBackendOptions {
  seed?: number;
  /** Spread of the initial logits; default 0.5. */
  initScale?: number;
  /** Where `save(name)` writes `<name>.json`; without it, checkpoints stay in memory (`memory://bigram/<name>`). */
  checkpointDirectory?: string;
  /** Busy-waits this long inside every forwardBackward (a synchronous CPU step), for responsiveness tests. */
  busyStepMs?: number;
  /**
   * Given the decoded prompt, the completion to play instead of drawing one (undefined: draw). The
   * text's tokens are emitted in order, cut by `maxTokens` and stop strings like drawn ones, then
   * the first stop token id when the text ran out; each token gets the model's logprob.
   */
  script?: (prompt: string) => string | undefined;
  /**
   * Declare the policy a coalescing sampler (`Policy.coalescesConsecutiveSeeds`):
   * a group's first turn gets consecutive seeds, as through a Tinker client.
   */
  coalescesConsecutiveSeeds?: boolean;
  /**
   * Given the 1-based number of a `sample` call, an error message to throw instead of sampling
   * (undefined: sample): a failing sampler, for tests of how failed rollouts are reported.
   */
  failSample?: (call: number) => string | undefined;
}

/** The bigram test double. */
export class BigramTestBackend implements Backend {
  readonly name = 'bigram-test';
  readonly tokenizer = new ByteTokenizer();
  readonly renderer = new ChatTemplateRenderer({ tokenizer: this.tokenizer });
  private readonly model: BigramModel;
  private readonly saved = new Map<string, BigramSnapshot>();
  private readonly checkpointDirectory: string | undefined;
  private readonly busyStepMs: number;
  private readonly script: BigramTestBackendOptions['script'];
  private readonly coalescing: boolean;
  private readonly failSample: BigramTestBackendOptions['failSample'];
  private sampleCalls = 0;

  constructor(options: BigramTestBackendOptions = {}) {
    this.model = new BigramModel(
      this.tokenizer.vocabSize,
      { seed: options.seed, initScale: options.initScale ?? 0.5 },
      'bigram test backend',
    );
    this.checkpointDirectory = options.checkpointDirectory;
    this.busyStepMs = options.busyStepMs ?? 0;
    this.script = options.script;
    this.coalescing = options.coalescesConsecutiveSeeds === true;
    this.failSample = options.failSample;
  }

  /** Logits table (V, V): row = current token, column = next token. */
  get weights_V_V(): Float64Array {
    return this.model.weights_V_V;
  }

  /** Gradient accumulated since the last optimiser step (V, V). */
  get grad_V_V(): Float64Array {
    return this.model.grad_V_V;
  }

  /** Call after editing `weights_V_V` directly (tests): drops cached rows. */
  weightsChanged(): void {
    this.model.weightsChanged();
  }

  policy(): Policy {
    return {
      tokenizer: this.tokenizer,
      coalescesConsecutiveSeeds: this.coalescing,
      sample: (request, onToken) => this.sample(request, onToken),
    };
  }

  async forward(data: Datum[], options: { temperature: number }): Promise<number[][]> {
    return this.model.logprobs(data, options.temperature);
  }

  async forwardBackward(
    data: Datum[],
    loss: LossSpec,
    options: { temperature: number },
  ): Promise<ForwardBackwardResult> {
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
    if (this.checkpointDirectory === undefined) {
      this.saved.set(name, this.model.snapshot());
      return `${MEMORY_PREFIX}${name}`;
    }
    const path = join(this.checkpointDirectory, `${name}.json`);
    const { weights, adamM, adamV, adamStep } = this.model.snapshot();
    writeFileAtomicSync(
      path,
      JSON.stringify({
        weights: encodeFloats(weights),
        m: encodeFloats(adamM),
        v: encodeFloats(adamV),
        step: adamStep,
      }),
    );
    return path;
  }

  async load(path: string, options: { optimizer: boolean }): Promise<void> {
    if (path.startsWith(MEMORY_PREFIX)) {
      const snapshot = this.saved.get(path.slice(MEMORY_PREFIX.length));
      if (!snapshot)
        throw new CheckpointError(`no checkpoint ${JSON.stringify(path)} was saved by this bigram test backend`);
      this.model.restore(snapshot, options);
      return;
    }
    let saved: { weights?: string; m?: string; v?: string; step?: number };
    try {
      saved = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new CheckpointError(`bigram test backend cannot read ${path}: ${errorMessage(error)}`);
    }
    const size = this.tokenizer.vocabSize ** 2;
    const weights = decodeFloats(saved.weights);
    const [adamM, adamV] = [decodeFloats(saved.m), decodeFloats(saved.v)];
    if (weights.length !== size)
      throw new CheckpointError(`bigram test checkpoint ${path} has ${weights.length} weights, expected ${size}`);
    const optimizer = options.optimizer && adamM.length === size && adamV.length === size;
    if (options.optimizer && !optimizer)
      throw new CheckpointError(`bigram test checkpoint ${path} has no optimiser state of ${size} entries`);
    this.model.restore({ weights, adamM, adamV, adamStep: saved.step ?? 0 }, { optimizer });
  }

  async close(): Promise<void> {}

  /**
   * Seeded ancestral sampling from the bigram table (or the script's completion); stops as the engine's sampler does.
   */
  async sample(request: SampleRequest, onToken?: (token: GeneratedToken) => void): Promise<SampleResult> {
    const failure = this.failSample?.(++this.sampleCalls);
    if (failure !== undefined) throw new Error(failure);
    const { params } = request;
    if (request.tokens.length === 0)
      throw new ShapeError('bigram test backend: sample needs at least one prompt token');
    const scripted = this.script?.(this.tokenizer.decode(request.tokens));
    const forced = scripted === undefined ? undefined : this.tokenizer.encode(scripted);
    const topCount = request.topLogprobs ?? 0;
    const random = new Random(request.seed);
    const tokens: number[] = [];
    const logprobs: number[] = [];
    const stop = new StopChecker(this.tokenizer, params.stop, params.stopTokenIds);
    const alternatives: TokenLogprob[][] = [];
    const finish = (finishReason: SampleResult['finishReason']): SampleResult =>
      topCount > 0 ? { tokens, logprobs, finishReason, topLogprobs: alternatives } : { tokens, logprobs, finishReason };
    let last = request.tokens[request.tokens.length - 1]!;
    for (let step = 0; step < params.maxTokens; step++) {
      const row = this.model.logSoftmax(last, params.temperature);
      const endOfScript = forced !== undefined && step >= forced.length;
      if (endOfScript && params.stopTokenIds?.[0] === undefined) return finish('stop');
      const next =
        forced === undefined
          ? drawToken(row, params.topK, params.topP, random)
          : endOfScript
            ? params.stopTokenIds![0]!
            : forced[step]!;
      tokens.push(next);
      logprobs.push(row[next]!);
      const top = topCount > 0 ? topOf(row, topCount) : undefined;
      if (top) alternatives.push(top);
      onToken?.(top ? { token: next, logprob: row[next]!, topLogprobs: top } : { token: next, logprob: row[next]! });
      last = next;
      if (stop.isStop(tokens)) return finish('stop');
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

/** Float64 values as base64 of their bytes: exact, and compact for a V x V table. */
function encodeFloats(values: Float64Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

/** The inverse of `encodeFloats`; anything else decodes to no values. */
function decodeFloats(text: unknown): Float64Array {
  if (typeof text !== 'string') return new Float64Array(0);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 8 !== 0) return new Float64Array(0);
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}
