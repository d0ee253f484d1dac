/**
 * A tiny but real Backend for tests of training code: a character-level bigram policy (the next
 * character's logits depend only on the current one, a V x V table) with exact gradients of the
 * cross-entropy and clipped policy-gradient losses, AdamW, seeded sampling with stop strings, and
 * save/load of weights and optimiser state. It learns, deterministically, in milliseconds, so the
 * RL loop, checkpoints and resume can be tested without the engine.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdamParams, Backend, Datum, ForwardBackwardResult, LossSpec } from '../backends/backend.js';
import type { ChatRenderer } from '../rollout/chat-renderer.js';
import type { Policy, SampleRequest, SampleResult } from '../rollout/policy.js';
import type { Tokenizer } from '../rollout/tokenizer.js';
import type { Message } from '../types.js';
import { CheckpointError, ShapeError } from '../errors.js';
import { Random } from '../random.js';
import { writeFileAtomicSync as writeFileAtomic } from '../engine/atomic-write.js';
import { policyLoss } from '../loss/policy-loss.js';

const VOCAB = 128;

/** Characters 0..127 as token ids (other characters map to `?`). */
export class CharTokenizer implements Tokenizer {
  readonly vocabSize = VOCAB;
  readonly eosTokenId = undefined;
  encode(text: string): number[] {
    return [...text].map((char) => {
      const code = char.charCodeAt(0);
      return code < VOCAB ? code : 63;
    });
  }
  decode(ids: number[]): string {
    return String.fromCharCode(...ids);
  }
  tokenId(): number | undefined {
    return undefined;
  }
}

/** Renders messages as `[role]content` lines; replies append without touching earlier tokens. */
export class CharRenderer implements ChatRenderer {
  readonly stopTokenIds: number[] = [];
  constructor(private readonly tokenizer: Tokenizer) {}
  renderPrompt(messages: Message[]): number[] {
    return this.tokenizer.encode(messages.map((message) => `[${message.role}]${message.content}\n`).join('') + '[assistant]');
  }
  renderReply(reply: Message): number[] {
    return this.tokenizer.encode(`\n[${reply.role}]${reply.content}\n[assistant]`);
  }
}

/** The bigram backend; `initScale` sets the spread of the initial logits; `save(name)` writes `checkpointDirectory/<name>.json`. */
export class TabularBackend implements Backend {
  readonly name = 'tabular';
  readonly tokenizer = new CharTokenizer();
  readonly renderer = new CharRenderer(this.tokenizer);
  /** Logits table (V, V): row = current token, column = next token. */
  weights_V_V: Float64Array;
  private grad_V_V = new Float64Array(VOCAB * VOCAB);
  private adamM = new Float64Array(VOCAB * VOCAB);
  private adamV = new Float64Array(VOCAB * VOCAB);
  private adamStep = 0;

  /** Where `save(name)` writes `<name>.json`. */
  checkpointDirectory: string;

  constructor(options: { seed?: number; initScale?: number; checkpointDirectory?: string } = {}) {
    this.checkpointDirectory = options.checkpointDirectory ?? '.';
    const random = new Random(options.seed ?? 0);
    this.weights_V_V = new Float64Array(VOCAB * VOCAB).map(() => random.normal() * (options.initScale ?? 0.1));
  }

  private rowCache = new Map<string, Float64Array>();

  /** Call after editing `weights_V_V` directly (tests): drops cached rows. */
  weightsChanged(): void {
    this.rowCache.clear();
  }

  /** Log-softmax of row `previous` under `temperature` (V), cached until the weights change. */
  private logSoftmax(previous: number, temperature: number): Float64Array {
    const key = `${previous}/${temperature}`;
    const cached = this.rowCache.get(key);
    if (cached) return cached;
    const row = new Float64Array(VOCAB);
    let max = -Infinity;
    for (let j = 0; j < VOCAB; j++) {
      row[j] = this.weights_V_V[previous * VOCAB + j]! / temperature;
      if (row[j]! > max) max = row[j]!;
    }
    let sum = 0;
    for (let j = 0; j < VOCAB; j++) sum += Math.exp(row[j]! - max);
    const logZ = max + Math.log(sum);
    for (let j = 0; j < VOCAB; j++) row[j] = row[j]! - logZ;
    this.rowCache.set(key, row);
    return row;
  }

  policy(): Policy {
    return {
      tokenizer: this.tokenizer,
      sample: async (request: SampleRequest): Promise<SampleResult> => {
        const random = new Random(request.seed);
        const { params } = request;
        const tokens: number[] = [];
        const logprobs: number[] = [];
        let previous = request.tokens[request.tokens.length - 1] ?? 0;
        let text = '';
        while (tokens.length < params.maxTokens) {
          const logp = this.logSoftmax(previous, params.temperature);
          const order = [...logp.keys()].sort((a, b) => logp[b]! - logp[a]!);
          const kept = params.topK > 0 ? order.slice(0, params.topK) : order;
          let mass = 0;
          for (const id of kept) mass += Math.exp(logp[id]!);
          let draw = random.next() * mass;
          let chosen = kept[kept.length - 1]!;
          for (const id of kept) {
            draw -= Math.exp(logp[id]!);
            if (draw <= 0) {
              chosen = id;
              break;
            }
          }
          tokens.push(chosen);
          logprobs.push(logp[chosen]!);
          previous = chosen;
          text += String.fromCharCode(chosen);
          if (params.stop.some((stop) => text.endsWith(stop)) || params.stopTokenIds?.includes(chosen)) {
            return { tokens, logprobs, finishReason: 'stop' };
          }
        }
        return { tokens, logprobs, finishReason: 'length' };
      },
    };
  }

  private check(data: Datum[]): void {
    for (const datum of data) {
      const n = datum.inputTokens.length;
      if (datum.targetTokens.length !== n || datum.weights.length !== n) {
        throw new ShapeError(`tabular forward: datum arrays must have equal length, got inputs ${n}, targets ${datum.targetTokens.length}, weights ${datum.weights.length}`);
      }
    }
  }

  async forward(data: Datum[], options: { temperature: number }): Promise<number[][]> {
    this.check(data);
    return data.map((datum) => datum.inputTokens.map((input, t) => this.logSoftmax(input, options.temperature)[datum.targetTokens[t]!]!));
  }

  async forwardBackward(data: Datum[], loss: LossSpec, options: { temperature: number }): Promise<ForwardBackwardResult> {
    this.check(data);
    const temperature = loss.kind === 'cross_entropy' ? 1 : options.temperature;
    const logprobs = data.map((datum) => datum.inputTokens.map((input, t) => this.logSoftmax(input, temperature)[datum.targetTokens[t]!]!));
    // The loss and its gradient per target logprob come from the reference in src/loss.
    const result = policyLoss({ data, logprobs_B_T: logprobs, loss });
    data.forEach((datum, b) => {
      datum.inputTokens.forEach((input, t) => {
        const dLoss_dLogp = result.gradient_B_T[b]![t]!;
        if (dLoss_dLogp === 0) return;
        // d logp / d logits_j = (onehot_j - p_j) / temperature, on the row of `input`.
        const row = this.logSoftmax(input, temperature);
        const target = datum.targetTokens[t]!;
        for (let j = 0; j < VOCAB; j++) {
          this.grad_V_V[input * VOCAB + j]! += (dLoss_dLogp * ((j === target ? 1 : 0) - Math.exp(row[j]!))) / temperature;
        }
      });
    });
    return { logprobs, loss: result.loss, metrics: result.metrics };
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
      this.weights_V_V[i] = this.weights_V_V[i]! * (1 - params.learningRate * params.weightDecay);
      this.weights_V_V[i] = this.weights_V_V[i]! - (params.learningRate * (this.adamM[i]! / correction1)) / (Math.sqrt(this.adamV[i]! / correction2) + params.eps);
    }
    this.grad_V_V.fill(0);
    this.rowCache.clear();
    return { 'optim/grad_norm': norm, 'optim/lr': params.learningRate };
  }

  async save(name: string): Promise<string> {
    const path = join(this.checkpointDirectory, `${name}.json`);
    writeFileAtomic(path, JSON.stringify({ weights: [...this.weights_V_V], m: [...this.adamM], v: [...this.adamV], step: this.adamStep }));
    return path;
  }

  async load(path: string, options: { optimizer: boolean }): Promise<void> {
    let saved: { weights: number[]; m: number[]; v: number[]; step: number };
    try {
      saved = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new CheckpointError(`tabular backend cannot read ${path}: ${(error as Error).message}`);
    }
    if (saved.weights?.length !== VOCAB * VOCAB) throw new CheckpointError(`tabular checkpoint ${path} has ${saved.weights?.length} weights, expected ${VOCAB * VOCAB}`);
    this.weights_V_V = Float64Array.from(saved.weights);
    if (options.optimizer) {
      this.adamM = Float64Array.from(saved.m);
      this.adamV = Float64Array.from(saved.v);
      this.adamStep = saved.step;
    } else {
      this.adamM.fill(0);
      this.adamV.fill(0);
      this.adamStep = 0;
    }
    this.grad_V_V.fill(0);
    this.rowCache.clear();
  }

  async close(): Promise<void> {}
}
