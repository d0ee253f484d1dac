/**
 * TEST DOUBLE for the protocol tests of src/backends: a small but real Backend. A softmax bigram
 * model (the next token's logits depend only on the current token: a V x V table) with the exact
 * gradients of the clipped policy-gradient, importance-sampling and cross-entropy losses, AdamW
 * with global-norm clipping, seeded sampling with top-k / top-p and stops, and in-memory save/load.
 * It lets the client, server and equivalence tests run in milliseconds without the CPU engine.
 */
import type { AdamParams, Backend, Datum, ForwardBackwardResult, LossSpec } from '../backend.js';
import type { Policy, SampleRequest, SampleResult } from '../../rollout/policy.js';
import { CheckpointError, ShapeError } from '../../errors.js';
import { Random } from '../../random.js';
import { TestChatRenderer, TestTokenizer } from './test-tokenizer.js';
import { policyLoss } from '../../loss/policy-loss.js';

/** Options of the test backend. */
export interface BigramTestBackendOptions {
  seed?: number;
  /** Spread of the initial logits; default 0.5. */
  initScale?: number;
  /** Busy-waits this long inside every forwardBackward (a synchronous CPU step), for responsiveness tests. */
  busyStepMs?: number;
}

interface Snapshot {
  weights: Float64Array;
  adamM: Float64Array;
  adamV: Float64Array;
  adamStep: number;
}

/** The bigram test double. */
export class BigramTestBackend implements Backend {
  readonly name = 'bigram-test';
  readonly tokenizer = new TestTokenizer();
  readonly renderer = new TestChatRenderer(this.tokenizer);
  readonly vocab: number;
  /** Logits table (V, V): row = current token, column = next token. */
  weights_V_V: Float64Array;
  private grad_V_V: Float64Array;
  private adamM: Float64Array;
  private adamV: Float64Array;
  private adamStep = 0;
  private readonly saved = new Map<string, Snapshot>();
  private readonly busyStepMs: number;

  constructor(options: BigramTestBackendOptions = {}) {
    this.vocab = this.tokenizer.vocabSize;
    const size = this.vocab * this.vocab;
    const random = new Random(options.seed ?? 0);
    const scale = options.initScale ?? 0.5;
    this.weights_V_V = Float64Array.from({ length: size }, () => random.normal() * scale);
    this.grad_V_V = new Float64Array(size);
    this.adamM = new Float64Array(size);
    this.adamV = new Float64Array(size);
    this.busyStepMs = options.busyStepMs ?? 0;
  }

  policy(): Policy {
    return { tokenizer: this.tokenizer, sample: (request) => this.sample(request) };
  }

  async forward(data: Datum[], options: { temperature: number }): Promise<number[][]> {
    this.check(data);
    return data.map((datum) => datum.inputTokens.map((input, t) => this.logSoftmax(input, options.temperature)[datum.targetTokens[t]!]!));
  }

  async forwardBackward(data: Datum[], loss: LossSpec, options: { temperature: number }): Promise<ForwardBackwardResult> {
    this.check(data);
    if (this.busyStepMs > 0) {
      const until = performance.now() + this.busyStepMs;
      while (performance.now() < until);
    }
    const temperature = options.temperature;
    const logprobs_B_T = data.map((datum) => datum.inputTokens.map((input, t) => this.logSoftmax(input, temperature)[datum.targetTokens[t]!]!));
    // The loss and its gradient per target logprob come from the reference in src/loss.
    const result = policyLoss({ data, logprobs_B_T: logprobs_B_T, loss });
    data.forEach((datum, b) => {
      datum.inputTokens.forEach((input, t) => {
        const dLoss_dLogp = result.gradient_B_T[b]![t]!;
        if (dLoss_dLogp === 0) return;
        // d logp / d logits_j = (onehot_j - p_j) / temperature, on the row of `input`.
        const row = this.logSoftmax(input, temperature);
        const target = datum.targetTokens[t]!;
        for (let j = 0; j < this.vocab; j++) {
          this.grad_V_V[input * this.vocab + j]! += (dLoss_dLogp * ((j === target ? 1 : 0) - Math.exp(row[j]!))) / temperature;
        }
      });
    });
    return { logprobs: logprobs_B_T, loss: result.loss, metrics: result.metrics };
  }

  async optimStep(params: AdamParams): Promise<Record<string, number>> {
    let norm = 0;
    for (const g of this.grad_V_V) norm += g * g;
    norm = Math.sqrt(norm);
    const clip = params.gradClipNorm > 0 && norm > params.gradClipNorm ? params.gradClipNorm / norm : 1;
    this.adamStep++;
    const correction1 = 1 - params.beta1 ** this.adamStep;
    const correction2 = 1 - params.beta2 ** this.adamStep;
    for (let i = 0; i < this.weights_V_V.length; i++) {
      const g = this.grad_V_V[i]! * clip;
      this.adamM[i] = params.beta1 * this.adamM[i]! + (1 - params.beta1) * g;
      this.adamV[i] = params.beta2 * this.adamV[i]! + (1 - params.beta2) * g * g;
      const update = this.adamM[i]! / correction1 / (Math.sqrt(this.adamV[i]! / correction2) + params.eps);
      this.weights_V_V[i] = this.weights_V_V[i]! * (1 - params.learningRate * params.weightDecay) - params.learningRate * update;
    }
    this.grad_V_V.fill(0);
    return { 'optim/grad_norm': norm };
  }

  async save(name: string): Promise<string> {
    this.saved.set(name, { weights: this.weights_V_V.slice(), adamM: this.adamM.slice(), adamV: this.adamV.slice(), adamStep: this.adamStep });
    return `memory://bigram/${name}`;
  }

  async load(path: string, options: { optimizer: boolean }): Promise<void> {
    const snapshot = this.saved.get(path.replace(/^memory:\/\/bigram\//, ''));
    if (!snapshot) throw new CheckpointError(`no checkpoint ${JSON.stringify(path)} was saved by this bigram test backend`);
    this.weights_V_V = snapshot.weights.slice();
    if (options.optimizer) {
      this.adamM = snapshot.adamM.slice();
      this.adamV = snapshot.adamV.slice();
      this.adamStep = snapshot.adamStep;
    }
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
      const row = this.logSoftmax(last, params.temperature);
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

  private logSoftmax(input: number, temperature: number): Float64Array {
    const row = new Float64Array(this.vocab);
    let max = -Infinity;
    for (let j = 0; j < this.vocab; j++) {
      row[j] = this.weights_V_V[input * this.vocab + j]! / temperature;
      if (row[j]! > max) max = row[j]!;
    }
    let sum = 0;
    for (let j = 0; j < this.vocab; j++) sum += Math.exp(row[j]! - max);
    const logSum = max + Math.log(sum);
    for (let j = 0; j < this.vocab; j++) row[j] = row[j]! - logSum;
    return row;
  }

  private check(data: Datum[]): void {
    data.forEach((datum, b) => {
      const length = datum.inputTokens.length;
      if (datum.targetTokens.length !== length || datum.weights.length !== length) {
        throw new ShapeError(`bigram test backend: datum ${b} has ${length} inputs, ${datum.targetTokens.length} targets, ${datum.weights.length} weights`);
      }
      for (const token of [...datum.inputTokens, ...datum.targetTokens]) {
        if (!Number.isInteger(token) || token < 0 || token >= this.vocab) throw new ShapeError(`bigram test backend: token ${token} outside [0, ${this.vocab})`);
      }
    });
  }
}

function drawToken(row_V: Float64Array, topK: number, topP: number, random: Random): number {
  const order = Array.from(row_V.keys()).sort((a, b) => row_V[b]! - row_V[a]! || a - b);
  let kept = topK > 0 ? order.slice(0, topK) : order;
  if (topP < 1) {
    let mass = 0;
    const nucleus: number[] = [];
    for (const id of kept) {
      nucleus.push(id);
      mass += Math.exp(row_V[id]!);
      if (mass >= topP) break;
    }
    kept = nucleus;
  }
  const total = kept.reduce((sum, id) => sum + Math.exp(row_V[id]!), 0);
  let u = random.next() * total;
  for (const id of kept) {
    u -= Math.exp(row_V[id]!);
    if (u <= 0) return id;
  }
  return kept[kept.length - 1]!;
}

/** Factory export for `WorkerBackend` (builds the test double inside a worker thread). */
export function createBigramTestBackend(options: BigramTestBackendOptions = {}): BigramTestBackend {
  return new BigramTestBackend(options);
}
