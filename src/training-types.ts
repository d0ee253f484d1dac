/**
 * The training vocabulary every layer shares: a training sequence (`Datum`), the loss of one
 * forward/backward call (`LossSpec`), its result, and the AdamW step (`AdamParams`). Built by the
 * loss module, consumed by every Backend and by the engine; shaped after the Tinker primitives.
 */

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
