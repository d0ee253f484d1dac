/**
 * A tiny but real Backend for tests of training code: a character-level bigram policy (the
 * `BigramModel` of the protocol tests' double over a 128-character vocabulary: exact gradients of
 * the cross-entropy and clipped policy-gradient losses, AdamW), seeded sampling with stop strings,
 * and save/load of weights and optimiser state as JSON files. It learns, deterministically, in
 * milliseconds, so the RL loop, checkpoints and resume can be tested without the engine.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backends/backend.js';
import type { AdamParams, Datum, ForwardBackwardResult, LossSpec } from '../training-types.js';
import type { ChatRenderer } from '../rollout/chat-renderer.js';
import type { Policy, SampleRequest, SampleResult } from '../rollout/policy.js';
import type { Tokenizer } from '../rollout/tokenizer.js';
import type { Message } from '../types.js';
import { CheckpointError } from '../errors.js';
import { Random } from '../random.js';
import { writeFileAtomicSync as writeFileAtomic } from '../engine/atomic-write.js';
import { BigramModel, drawToken } from './bigram-model.js';

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
  renderReply(reply: Message | Message[]): number[] {
    const replies = (Array.isArray(reply) ? reply : [reply]).map((message) => `\n[${message.role}]${message.content}`).join('');
    return this.tokenizer.encode(`${replies}\n[assistant]`);
  }
}

/** The bigram backend; `initScale` sets the spread of the initial logits; `save(name)` writes `checkpointDirectory/<name>.json`. */
export class TabularBackend implements Backend {
  readonly name = 'tabular';
  readonly tokenizer = new CharTokenizer();
  readonly renderer = new CharRenderer(this.tokenizer);
  private readonly model: BigramModel;

  /** Where `save(name)` writes `<name>.json`. */
  checkpointDirectory: string;

  constructor(options: { seed?: number; initScale?: number; checkpointDirectory?: string } = {}) {
    this.checkpointDirectory = options.checkpointDirectory ?? '.';
    this.model = new BigramModel(VOCAB, { seed: options.seed, initScale: options.initScale ?? 0.1 }, 'tabular backend');
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
      sample: async (request: SampleRequest): Promise<SampleResult> => {
        const random = new Random(request.seed);
        const { params } = request;
        const tokens: number[] = [];
        const logprobs: number[] = [];
        let previous = request.tokens[request.tokens.length - 1] ?? 0;
        let text = '';
        while (tokens.length < params.maxTokens) {
          const row = this.model.logSoftmax(previous, params.temperature);
          const chosen = drawToken(row, params.topK, params.topP, random);
          tokens.push(chosen);
          logprobs.push(row[chosen]!);
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

  async forward(data: Datum[], options: { temperature: number }): Promise<number[][]> {
    return this.model.logprobs(data, options.temperature);
  }

  async forwardBackward(data: Datum[], loss: LossSpec, options: { temperature: number }): Promise<ForwardBackwardResult> {
    // Supervised losses are taken at temperature 1, as the engine does.
    return this.model.accumulate(data, loss, loss.kind === 'cross_entropy' ? 1 : options.temperature);
  }

  async optimStep(params: AdamParams): Promise<Record<string, number>> {
    return { 'optim/grad_norm': this.model.adamw(params), 'optim/lr': params.learningRate };
  }

  async save(name: string): Promise<string> {
    const path = join(this.checkpointDirectory, `${name}.json`);
    const { weights, adamM, adamV, adamStep } = this.model.snapshot();
    writeFileAtomic(path, JSON.stringify({ weights: [...weights], m: [...adamM], v: [...adamV], step: adamStep }));
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
    const optimizer = options.optimizer && saved.m?.length === VOCAB * VOCAB && saved.v?.length === VOCAB * VOCAB;
    if (options.optimizer && !optimizer) throw new CheckpointError(`tabular checkpoint ${path} has no optimiser state of ${VOCAB * VOCAB} entries`);
    this.model.restore(
      { weights: Float64Array.from(saved.weights), adamM: Float64Array.from(saved.m ?? []), adamV: Float64Array.from(saved.v ?? []), adamStep: saved.step ?? 0 },
      { optimizer },
    );
  }

  async close(): Promise<void> {}
}
