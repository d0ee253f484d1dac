/**
 * The model behind `BigramTestBackend`, the double of the protocol and training-loop tests: a
 * softmax bigram table (the next token's logits depend only on the current token, V x V) with
 * exact logprobs under a temperature, the gradient of any loss of src/loss through its
 * per-logprob derivative, AdamW with global-norm clipping, seeded ancestral draws with top-k /
 * top-p, and snapshots of weights and optimiser state. Everything is float64 and deterministic, so
 * tests can compare runs bit for bit.
 */
import type { AdamParams, Datum, ForwardBackwardResult, LossSpec } from '../training-types.js';
import { ShapeError } from '../errors.js';
import { policyLoss } from '../loss/policy-loss.js';
import { Random } from '../random.js';

/** Weights and optimiser state of a bigram model, as saved by a test backend. */
export interface BigramSnapshot {
  weights: Float64Array;
  adamM: Float64Array;
  adamV: Float64Array;
  adamStep: number;
}

/** A V x V softmax bigram model with its gradient and AdamW state. */
export class BigramModel {
  /** Logits table (V, V): row = current token, column = next token. */
  weights_V_V: Float64Array;
  /** Gradient accumulated since the last optimiser step (V, V). */
  readonly grad_V_V: Float64Array;
  private adamM: Float64Array;
  private adamV: Float64Array;
  private adamStep = 0;
  /** Log-softmax rows by `token/temperature`, valid until the weights change. */
  private rows = new Map<string, Float64Array>();

  constructor(
    readonly vocab: number,
    options: { seed?: number; initScale: number },
    /** Names the backend in shape errors. */
    private readonly label: string,
  ) {
    const random = new Random(options.seed ?? 0);
    this.weights_V_V = Float64Array.from({ length: vocab * vocab }, () => random.normal() * options.initScale);
    this.grad_V_V = new Float64Array(vocab * vocab);
    this.adamM = new Float64Array(vocab * vocab);
    this.adamV = new Float64Array(vocab * vocab);
  }

  /** Call after editing `weights_V_V` directly: drops the cached rows. */
  weightsChanged(): void {
    this.rows.clear();
  }

  /** Log-softmax of the row of `token` under `temperature` (V). */
  logSoftmax(token: number, temperature: number): Float64Array {
    const key = `${token}/${temperature}`;
    const cached = this.rows.get(key);
    if (cached) return cached;
    const row = new Float64Array(this.vocab);
    let max = -Infinity;
    for (let j = 0; j < this.vocab; j++) {
      row[j] = this.weights_V_V[token * this.vocab + j]! / temperature;
      if (row[j]! > max) max = row[j]!;
    }
    let sum = 0;
    for (let j = 0; j < this.vocab; j++) sum += Math.exp(row[j]! - max);
    const logZ = max + Math.log(sum);
    for (let j = 0; j < this.vocab; j++) row[j] = row[j]! - logZ;
    this.rows.set(key, row);
    return row;
  }

  /** Checks that every datum's arrays agree in length and its tokens are in the vocabulary. */
  check(data: Datum[]): void {
    data.forEach((datum, b) => {
      const length = datum.inputTokens.length;
      if (datum.targetTokens.length !== length || datum.weights.length !== length) {
        throw new ShapeError(
          `${this.label}: datum ${b} has ${length} inputs, ${datum.targetTokens.length} targets, ` +
            `${datum.weights.length} weights; expected equal lengths`,
        );
      }
      for (const token of [...datum.inputTokens, ...datum.targetTokens]) {
        if (!Number.isInteger(token) || token < 0 || token >= this.vocab)
          throw new ShapeError(`${this.label}: token ${token} outside [0, ${this.vocab})`);
      }
    });
  }

  /** Logprob of every target token under `temperature` (B, T). */
  logprobs(data: Datum[], temperature: number): number[][] {
    this.check(data);
    return data.map((datum) =>
      datum.inputTokens.map((input, t) => this.logSoftmax(input, temperature)[datum.targetTokens[t]!]!),
    );
  }

  /** Computes the loss (from src/loss) and adds its gradient to the accumulated gradient. */
  accumulate(data: Datum[], loss: LossSpec, temperature: number): ForwardBackwardResult {
    const logprobs = this.logprobs(data, temperature);
    const result = policyLoss({ data, logprobs_B_T: logprobs, loss });
    data.forEach((datum, b) => {
      datum.inputTokens.forEach((input, t) => {
        const dLoss_dLogp = result.gradient_B_T[b]![t]!;
        if (dLoss_dLogp === 0) return;
        // d logp / d logits_j = (onehot_j - p_j) / temperature, on the row of `input`.
        const row = this.logSoftmax(input, temperature);
        const target = datum.targetTokens[t]!;
        for (let j = 0; j < this.vocab; j++) {
          this.grad_V_V[input * this.vocab + j]! +=
            (dLoss_dLogp * ((j === target ? 1 : 0) - Math.exp(row[j]!))) / temperature;
        }
      });
    });
    return { logprobs, loss: result.loss, metrics: result.metrics };
  }

  /**
   * One AdamW step on the accumulated gradient (clipped to
   * `gradClipNorm`), which it then clears; returns the gradient norm.
   */
  adamw(params: AdamParams): number {
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
      this.weights_V_V[i] =
        this.weights_V_V[i]! * (1 - params.learningRate * params.weightDecay) - params.learningRate * update;
    }
    this.grad_V_V.fill(0);
    this.rows.clear();
    return norm;
  }

  /** A copy of the weights and optimiser state. */
  snapshot(): BigramSnapshot {
    return {
      weights: this.weights_V_V.slice(),
      adamM: this.adamM.slice(),
      adamV: this.adamV.slice(),
      adamStep: this.adamStep,
    };
  }

  /** Restores a snapshot; without `optimizer` the optimiser state starts fresh. */
  restore(snapshot: BigramSnapshot, options: { optimizer: boolean }): void {
    this.weights_V_V = snapshot.weights.slice();
    if (options.optimizer) {
      this.adamM = snapshot.adamM.slice();
      this.adamV = snapshot.adamV.slice();
      this.adamStep = snapshot.adamStep;
    } else {
      this.adamM.fill(0);
      this.adamV.fill(0);
      this.adamStep = 0;
    }
    this.grad_V_V.fill(0);
    this.rows.clear();
  }
}

/** Draws a token from a log-softmax row with top-k (0 = off) and top-p (1 = off) filtering. */
export function drawToken(row_V: Float64Array, topK: number, topP: number, random: Random): number {
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
