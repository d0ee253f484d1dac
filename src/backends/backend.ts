/**
 * The Backend contract: everything the training loop asks of the thing that holds the weights.
 * Shaped after the Tinker primitives (sample / forward_backward / optim_step / save / load) so the
 * same loop drives the in-process CPU engine (`local`), a remote Tinker-protocol service (`tinker`)
 * and `turnwise serve`. The client side (turnwise) computes per-token advantages; the backend only
 * computes logprobs, gradients and optimiser steps.
 */
import type { Policy } from '../rollout/policy.js';
import type { Tokenizer } from '../rollout/tokenizer.js';
import type { ChatRenderer } from '../rollout/chat-renderer.js';

/**
 * One training sequence. For a sequence of T tokens: `inputTokens` are tokens 0..T-2 and
 * `targetTokens` tokens 1..T-1, so every per-position array has length T-1.
 */
export interface Datum {
  /** Tokens fed to the model (T-1). */
  inputTokens: number[];
  /** The token each position predicts (T-1). */
  targetTokens: number[];
  /** 1 where the target is trained on (a sampled token), else 0 (T-1). */
  weights: number[];
  /** Sampling-time logprob of each target (T-1); 0 where weight is 0. Unused by cross_entropy. */
  oldLogprobs?: number[];
  /** Per-target advantage (T-1); 0 where weight is 0. Unused by cross_entropy. */
  advantages?: number[];
  /** Reference-policy logprob of each target, for the KL term (T-1). */
  refLogprobs?: number[];
}

/** The loss of one forward/backward call. */
export type LossSpec =
  /** PPO-style clipped policy gradient (paper section 4). */
  | {
      kind: 'ppo';
      clipLow: number;
      clipHigh: number;
      /** KL(k3) coefficient to the reference policy; 0 = off. */
      klBeta: number;
      /** How per-token losses are reduced: over all weighted tokens, or per sequence then mean. */
      normalization: 'token-mean' | 'sequence-mean';
    }
  /** Unclipped importance-sampling policy gradient. */
  | { kind: 'importance_sampling'; normalization: 'token-mean' | 'sequence-mean' }
  /** Weighted mean negative log-likelihood (pretraining, SFT). */
  | { kind: 'cross_entropy' };

/** Result of a forward/backward call (gradients are accumulated inside the backend). */
export interface ForwardBackwardResult {
  /** Current-policy logprob of each target, per datum (T-1 each). */
  logprobs: number[][];
  /** The loss value that was differentiated. */
  loss: number;
  /** Loss statistics named `namespace/metric` (clip fraction, approx KL, entropy, ...). */
  metrics: Record<string, number>;
}

/** AdamW hyperparameters of one optimiser step (torch.optim.AdamW semantics). */
export interface AdamParams {
  learningRate: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay. */
  weightDecay: number;
  /** Global gradient-norm clip; 0 = off. */
  gradClipNorm: number;
}

/** Where the weights live and how they are trained. */
export interface Backend {
  /** Short name for logs: `local`, `tinker`, ... */
  readonly name: string;
  readonly tokenizer: Tokenizer;
  readonly renderer: ChatRenderer;
  /** A sampler that uses the current weights. */
  policy(): Policy;
  /** Current-policy logprobs of every target under `temperature`, no gradient. */
  forward(data: Datum[], options: { temperature: number }): Promise<number[][]>;
  /** Computes the loss and accumulates its gradient; the next `optimStep` applies it. */
  forwardBackward(data: Datum[], loss: LossSpec, options: { temperature: number }): Promise<ForwardBackwardResult>;
  /** Applies the accumulated gradient and clears it; returns metrics such as `optim/grad_norm`. */
  optimStep(params: AdamParams): Promise<Record<string, number>>;
  /** Saves weights (and optimiser state) under `name`; returns the path or URI written. */
  save(name: string): Promise<string>;
  /** Loads weights saved by `save`, with the optimiser state when `optimizer` is true. */
  load(path: string, options: { optimizer: boolean }): Promise<void>;
  /** Releases processes, sockets and sessions. */
  close(): Promise<void>;
}
