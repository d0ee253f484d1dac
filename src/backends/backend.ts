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
import type { AdamParams, Datum, ForwardBackwardResult, LossSpec } from '../training-types.js';
import type { LoraSpec } from '../engine/lora/lora-config.js';

/** Where the weights live and how they are trained. */
export interface Backend {
  /** Short name for logs: `local`, `tinker`, ... */
  readonly name: string;
  /**
   * True when `optimStep` may be called right after `forwardBackward`, before its result: the
   * backend runs them in call order (Tinker: `seq_id`), so a step costs one round trip less.
   */
  readonly submitsInOrder?: boolean;
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
  /**
   * Trains a fresh LoRA adapter over the current weights from now on (`undefined`: back to full
   * weights, the base restored). Only backends that can train adapters have it (the engine).
   */
  configureLora?(spec: LoraSpec | undefined): Promise<void>;
  /** Releases processes, sockets and sessions. */
  close(): Promise<void>;
  /** The base model's sampler, when the weights live on a service that serves it (Tinker): the KL reference. */
  baseReference?(): ReferencePolicy;
}

/** The frozen base policy of the KL term: a Backend on the base weights, or a base-model sampler. */
export interface ReferencePolicy {
  /** Base-policy logprobs of every target (as `Backend.forward`). */
  forward(data: Datum[], options: { temperature: number }): Promise<number[][]>;
  /**
   * Where the KL term goes: `loss` (the k3 term of the loss; default) or `advantages` (folded into
   * them, as tinker-cookbook does for services whose losses have no KL term).
   */
  readonly klPenalty?: 'loss' | 'advantages';
  close(): Promise<void>;
}
