/**
 * The decoder-only transformer of the Llama / Qwen2 family (token embedding, RMSNorm, RoPE,
 * grouped-query attention with optional QKV bias, SwiGLU MLP, tied or untied LM head), trained on
 * ONE flat parameter buffer and ONE flat gradient buffer (llm.c style). `forward` computes each
 * position's logprob of its target under a temperature and keeps the activations; `backward`
 * takes dLoss/dlogprob per position and accumulates the parameter gradient, every op through the
 * Kernels contract. Float64 buffers are allowed with the reference kernels (gradient checks).
 */
import { ShapeError } from '../errors.js';
import type { FloatArray, Kernels } from './kernels/kernels.js';
import { ActivationArena, type Activations } from './activations.js';
import { modelDims, type ModelConfig, type ModelDims } from './model-config.js';
import { initializeParameters, parameterLayout, tensorViews, type ParameterLayout } from './parameters.js';

/** Options of a new model. */
export interface TransformerOptions {
  config: ModelConfig;
  kernels: Kernels;
  /** Seed of the deterministic initialisation (default 0). */
  seed?: number;
  /** `float64` only with the reference kernels, for finite-difference checks (default float32). */
  dtype?: 'float32' | 'float64';
}

/** The weights of one layer (views into the parameter or gradient buffer). */
export interface LayerWeights {
  norm1: FloatArray; // (C)
  qWeight: FloatArray; // (H*D, C)
  qBias: FloatArray | null; // (H*D)
  kWeight: FloatArray; // (KVH*D, C)
  kBias: FloatArray | null; // (KVH*D)
  vWeight: FloatArray; // (KVH*D, C)
  vBias: FloatArray | null; // (KVH*D)
  oWeight: FloatArray; // (C, H*D)
  norm2: FloatArray; // (C)
  gateWeight: FloatArray; // (F, C)
  upWeight: FloatArray; // (F, C)
  downWeight: FloatArray; // (C, F)
}

/** All weights of the model as typed views. */
export interface ModelWeights {
  embedding: FloatArray; // (V, C)
  layers: LayerWeights[];
  finalNorm: FloatArray; // (C)
  lmHead: FloatArray; // (V, C), the embedding itself when tied
}

/**
 * One training batch: B right-padded sequences of T positions, or, with `offsets`, one row (B = 1)
 * of T positions holding sequences packed back to back without padding.
 */
export interface TokenBatch {
  B: number;
  T: number;
  /** Input token ids (B,T). */
  inputIds: ArrayLike<number>;
  /** Target token ids (B,T); any valid id on padding. */
  targets: ArrayLike<number>;
  /**
   * Packed batch: sequence i holds positions offsets[i]..offsets[i+1]-1 of the row (offsets from 0
   * to T, non-decreasing); its positions restart at 0 and it attends only within itself.
   */
  offsets?: ArrayLike<number>;
}

/** A Llama/Qwen2 transformer with its parameters, gradients and activation buffers. */
export class Transformer {
  readonly config: ModelConfig;
  readonly dims: ModelDims;
  readonly kernels: Kernels;
  readonly layout: ParameterLayout;
  /** All parameters, flat (layout.totalSize). */
  readonly params: FloatArray;
  /** Gradients, same layout as `params`; accumulated by `backward`. */
  readonly grads: FloatArray;
  readonly weights: ModelWeights;
  readonly gradients: ModelWeights;
  readonly allocate: (length: number) => FloatArray;
  private readonly arena: ActivationArena;
  private last: { activations: Activations; invTemperature: number } | undefined;

  constructor(options: TransformerOptions) {
    this.config = options.config;
    this.dims = modelDims(options.config);
    this.kernels = options.kernels;
    const dtype = options.dtype ?? 'float32';
    this.allocate = dtype === 'float64' ? (n) => new Float64Array(n) : (n) => new Float32Array(n);
    this.layout = parameterLayout(options.config);
    this.params = this.allocate(this.layout.totalSize);
    this.grads = this.allocate(this.layout.totalSize);
    initializeParameters(this.params, this.layout, options.config, options.seed ?? 0);
    this.weights = this.modelWeights(this.params);
    this.gradients = this.modelWeights(this.grads);
    this.arena = new ActivationArena(this.dims, this.allocate);
  }

  /** Sets every gradient to 0. */
  zeroGrad(): void {
    this.grads.fill(0);
  }

  /** Frees the activation buffers (rebuilt on the next forward). */
  releaseActivations(): void {
    this.arena.clear();
    this.last = undefined;
  }

  /**
   * Forward pass: returns each position's logprob of its target under softmax(logits / temperature),
   * the entropy of that distribution, and the logits (views valid until the next forward; the
   * backward reorders the logits).
   */
  forward(batch: TokenBatch, temperature = 1): { logprobs: FloatArray; entropy: FloatArray; logits: FloatArray } {
    const { B, T } = batch;
    const { L, C, H, KVH, D, F, V } = this.dims;
    const N = B * T;
    if (!(temperature > 0)) throw new ShapeError(`Transformer.forward: temperature must be > 0, got ${temperature}`);
    if (batch.inputIds.length !== N || batch.targets.length !== N) {
      throw new ShapeError(
        `Transformer.forward: inputIds (${batch.inputIds.length}) and targets ` +
          `(${batch.targets.length}) must both have B*T = ${B}*${T} = ${N} entries`,
      );
    }
    const offsets = batch.offsets ?? null;
    if (offsets) checkOffsets(offsets, B, T);
    const longest = offsets ? longestSequence(offsets) : T;
    if (longest > this.config.max_position_embeddings) {
      throw new ShapeError(
        `Transformer.forward: a sequence of ${longest} positions exceeds max_position_embeddings = ` +
          `${this.config.max_position_embeddings}`,
      );
    }
    const k = this.kernels;
    const w = this.weights;
    const a = this.arena.get(B, T, offsets);
    a.ids.set(batch.inputIds);
    a.targets.set(batch.targets);
    const theta = this.config.rope_theta;
    const eps = this.config.rms_norm_eps;

    k.embeddingForward(a.layers[0]?.residual ?? a.residualOut, a.ids, w.embedding, N, C, V);
    for (let l = 0; l < L; l++) {
      const act = a.layers[l]!;
      const lw = w.layers[l]!;
      const residualNext = l + 1 < L ? a.layers[l + 1]!.residual : a.residualOut;
      k.rmsnormForward(act.norm1, act.rstd1, act.residual, lw.norm1, N, C, eps);
      k.matmulForward(act.q, act.norm1, lw.qWeight, lw.qBias, N, C, H * D);
      k.matmulForward(act.k, act.norm1, lw.kWeight, lw.kBias, N, C, KVH * D);
      k.matmulForward(act.v, act.norm1, lw.vWeight, lw.vBias, N, C, KVH * D);
      k.rope(act.q, act.q, a.positions, N, H, D, theta, false);
      k.rope(act.k, act.k, a.positions, N, KVH, D, theta, false);
      if (a.offsets) {
        const S = a.offsets.length - 1;
        k.packedAttentionForward(act.attention, act.attentionLse, act.q, act.k, act.v, a.offsets, S, N, H, KVH, D);
      } else k.attentionForward(act.attention, act.attentionLse, act.q, act.k, act.v, B, T, H, KVH, D);
      k.matmulForward(a.projection, act.attention, lw.oWeight, null, N, H * D, C);
      k.add(act.residual2, act.residual, a.projection, N * C);
      k.rmsnormForward(act.norm2, act.rstd2, act.residual2, lw.norm2, N, C, eps);
      k.matmulForward(act.gate, act.norm2, lw.gateWeight, null, N, C, F);
      k.matmulForward(act.up, act.norm2, lw.upWeight, null, N, C, F);
      k.swigluForward(act.swiglu, act.gate, act.up, N * F);
      k.matmulForward(a.projection, act.swiglu, lw.downWeight, null, N, F, C);
      k.add(residualNext, act.residual2, a.projection, N * C);
    }
    k.rmsnormForward(a.normOut, a.rstdOut, a.residualOut, w.finalNorm, N, C, eps);
    k.matmulForward(a.logits, a.normOut, w.lmHead, null, N, C, V);
    const invTemperature = 1 / temperature;
    k.logprobsForward(a.logprobs, a.lse, a.entropy, a.logits, a.targets, N, V, invTemperature);
    this.last = { activations: a, invTemperature };
    return { logprobs: a.logprobs, entropy: a.entropy, logits: a.logits };
  }

  /**
   * Backward pass of the last `forward`: accumulates dLoss/dparams given dLoss/dlogprob (B*T).
   * Once per forward: it consumes the saved logits.
   */
  backward(dlogprobs: FloatArray): void {
    if (!this.last) throw new ShapeError('Transformer.backward: call forward first');
    const { activations: a, invTemperature } = this.last;
    const { B, T } = a;
    const { L, C, H, KVH, D, F, V } = this.dims;
    const N = B * T;
    if (dlogprobs.length !== N)
      throw new ShapeError(`Transformer.backward: dlogprobs has ${dlogprobs.length} entries, expected B*T = ${N}`);
    const k = this.kernels;
    const w = this.weights;
    const g = this.gradients;
    const theta = this.config.rope_theta;

    this.lmHeadBackward(a, dlogprobs, invTemperature);
    this.last = undefined; // the LM head's backward compacted the saved logits
    a.dResidual.fill(0);
    k.rmsnormBackward(a.dResidual, g.finalNorm, a.dNorm, a.residualOut, w.finalNorm, a.rstdOut, N, C);

    for (let l = L - 1; l >= 0; l--) {
      const act = a.layers[l]!;
      const lw = w.layers[l]!;
      const lg = g.layers[l]!;
      // residualNext = residual2 + down(swiglu): both receive dResidual.
      a.dSwiglu.fill(0);
      k.matmulBackward(a.dSwiglu, lg.downWeight, null, a.dResidual, act.swiglu, lw.downWeight, N, F, C);
      a.dGate.fill(0);
      a.dUp.fill(0);
      k.swigluBackward(a.dGate, a.dUp, a.dSwiglu, act.gate, act.up, N * F);
      a.dNorm.fill(0);
      k.matmulBackward(a.dNorm, lg.gateWeight, null, a.dGate, act.norm2, lw.gateWeight, N, C, F);
      k.matmulBackward(a.dNorm, lg.upWeight, null, a.dUp, act.norm2, lw.upWeight, N, C, F);
      k.rmsnormBackward(a.dResidual, lg.norm2, a.dNorm, act.residual2, lw.norm2, act.rstd2, N, C);
      // residual2 = residual + o_proj(attention): both receive dResidual.
      a.dAttention.fill(0);
      k.matmulBackward(a.dAttention, lg.oWeight, null, a.dResidual, act.attention, lw.oWeight, N, H * D, C);
      a.dq.fill(0);
      a.dk.fill(0);
      a.dv.fill(0);
      if (a.offsets) {
        const S = a.offsets.length - 1;
        k.packedAttentionBackward(
          a.dq,
          a.dk,
          a.dv,
          a.dAttention,
          act.q,
          act.k,
          act.v,
          act.attention,
          act.attentionLse,
          a.offsets,
          S,
          N,
          H,
          KVH,
          D,
        );
      } else {
        k.attentionBackward(
          a.dq,
          a.dk,
          a.dv,
          a.dAttention,
          act.q,
          act.k,
          act.v,
          act.attention,
          act.attentionLse,
          B,
          T,
          H,
          KVH,
          D,
        );
      }
      k.rope(a.dq, a.dq, a.positions, N, H, D, theta, true);
      k.rope(a.dk, a.dk, a.positions, N, KVH, D, theta, true);
      a.dNorm.fill(0);
      k.matmulBackward(a.dNorm, lg.qWeight, lg.qBias, a.dq, act.norm1, lw.qWeight, N, C, H * D);
      k.matmulBackward(a.dNorm, lg.kWeight, lg.kBias, a.dk, act.norm1, lw.kWeight, N, C, KVH * D);
      k.matmulBackward(a.dNorm, lg.vWeight, lg.vBias, a.dv, act.norm1, lw.vWeight, N, C, KVH * D);
      k.rmsnormBackward(a.dResidual, lg.norm1, a.dNorm, act.residual, lw.norm1, act.rstd1, N, C);
    }
    k.embeddingBackward(g.embedding, a.dResidual, a.ids, N, C, V);
  }

  /**
   * dNorm(N,C) from dlogprobs through the log-softmax and the LM head. Positions whose logprob gets
   * no gradient (prompt and tool tokens of RL sequences, prompts in SFT) add nothing there, so the
   * M positions that do are first moved to the front of logits, normOut, lse and targets (in
   * place: a row only ever moves down) and the LM head runs on M rows instead of N.
   */
  private lmHeadBackward(a: Activations, dlogprobs: FloatArray, invTemperature: number): void {
    const { C, V } = this.dims;
    const N = a.B * a.T;
    const k = this.kernels;
    let M = 0;
    for (let n = 0; n < N; n++) if (dlogprobs[n] !== 0) M++;
    a.dNorm.fill(0);
    if (M === N) {
      a.dLogits.fill(0);
      k.logprobsBackward(a.dLogits, dlogprobs, a.logits, a.lse, a.targets, N, V, invTemperature);
      k.matmulBackward(a.dNorm, this.gradients.lmHead, null, a.dLogits, a.normOut, this.weights.lmHead, N, C, V);
      return;
    }
    const rows = new Int32Array(M);
    const dlogprobsM = this.allocate(M);
    for (let n = 0, m = 0; n < N; n++) {
      if (dlogprobs[n] === 0) continue;
      rows[m] = n;
      dlogprobsM[m] = dlogprobs[n]!;
      if (n !== m) {
        a.logits.copyWithin(m * V, n * V, (n + 1) * V);
        a.normOut.copyWithin(m * C, n * C, (n + 1) * C);
        a.lse[m] = a.lse[n]!;
        a.targets[m] = a.targets[n]!;
      }
      m++;
    }
    if (M === 0) return;
    const dLogits = a.dLogits.subarray(0, M * V);
    const dNormM = a.projection.subarray(0, M * C); // free during the backward
    dLogits.fill(0);
    dNormM.fill(0);
    k.logprobsBackward(dLogits, dlogprobsM, a.logits, a.lse, a.targets, M, V, invTemperature);
    k.matmulBackward(dNormM, this.gradients.lmHead, null, dLogits, a.normOut, this.weights.lmHead, M, C, V);
    for (let m = 0; m < M; m++) a.dNorm.set(dNormM.subarray(m * C, (m + 1) * C), rows[m]! * C);
  }

  private modelWeights(buffer: FloatArray): ModelWeights {
    const views = tensorViews(buffer, this.layout);
    const get = (name: string): FloatArray => {
      const view = views.get(name);
      if (!view) throw new ShapeError(`Transformer: no parameter named ${name}`);
      return view;
    };
    const optional = (name: string): FloatArray | null => views.get(name) ?? null;
    const layers: LayerWeights[] = [];
    for (let l = 0; l < this.dims.L; l++) {
      const p = `model.layers.${l}.`;
      layers.push({
        norm1: get(`${p}input_layernorm.weight`),
        qWeight: get(`${p}self_attn.q_proj.weight`),
        qBias: optional(`${p}self_attn.q_proj.bias`),
        kWeight: get(`${p}self_attn.k_proj.weight`),
        kBias: optional(`${p}self_attn.k_proj.bias`),
        vWeight: get(`${p}self_attn.v_proj.weight`),
        vBias: optional(`${p}self_attn.v_proj.bias`),
        oWeight: get(`${p}self_attn.o_proj.weight`),
        norm2: get(`${p}post_attention_layernorm.weight`),
        gateWeight: get(`${p}mlp.gate_proj.weight`),
        upWeight: get(`${p}mlp.up_proj.weight`),
        downWeight: get(`${p}mlp.down_proj.weight`),
      });
    }
    const embedding = get('model.embed_tokens.weight');
    return {
      embedding,
      layers,
      finalNorm: get('model.norm.weight'),
      lmHead: this.config.tie_word_embeddings ? embedding : get('lm_head.weight'),
    };
  }
}

/** Throws a ShapeError unless offsets split a row of T positions in order, for a batch of B = 1. */
function checkOffsets(offsets: ArrayLike<number>, B: number, T: number): void {
  let ordered = offsets.length >= 2 && offsets[0] === 0 && offsets[offsets.length - 1] === T;
  for (let i = 0; ordered && i + 1 < offsets.length; i++)
    ordered = Number.isInteger(offsets[i + 1]) && offsets[i]! <= offsets[i + 1]!;
  if (B !== 1 || !ordered)
    throw new ShapeError(
      `Transformer.forward: a packed batch needs B = 1 (got ${B}) and offsets rising from 0 to T = ${T}, ` +
        `got [${Array.from(offsets).slice(0, 8).join(', ')}${offsets.length > 8 ? ', ...' : ''}]`,
    );
}

/** The length of the longest sequence of a packed row. */
function longestSequence(offsets: ArrayLike<number>): number {
  let longest = 0;
  for (let i = 0; i + 1 < offsets.length; i++) longest = Math.max(longest, offsets[i + 1]! - offsets[i]!);
  return longest;
}
