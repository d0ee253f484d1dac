/**
 * The activation buffers of one training forward/backward over B sequences of T positions: what
 * the forward keeps for the backward, and the gradient scratch the backward reuses layer by layer.
 * Backing arrays grow to a quarter past the largest N = B*T seen and are reused; every field is an
 * exact-size view.
 * A packed batch (one row of T positions holding several sequences back to back, split by
 * `offsets`) restarts its positions at 0 with each sequence.
 */
import type { FloatArray } from './kernels/kernels.js';
import type { ModelDims } from './model-config.js';

/** Allocates a zeroed float buffer of the engine's dtype. */
export type Allocate = (length: number) => FloatArray;

/** What the forward saves for one layer. */
export interface LayerActivations {
  /** Input of the layer, the residual stream (N,C). */
  residual: FloatArray;
  /** RMSNorm before attention (N,C) and its reciprocal std (N). */
  norm1: FloatArray;
  rstd1: FloatArray;
  /** Queries (N,H,D), keys and values (N,KVH,D), after RoPE for q and k. */
  q: FloatArray;
  k: FloatArray;
  v: FloatArray;
  /** Attention output before o_proj (N,H,D) and the log-sum-exp of each query's scores (B,H,T). */
  attention: FloatArray;
  attentionLse: FloatArray;
  /** Residual stream after attention (N,C). */
  residual2: FloatArray;
  /** RMSNorm before the MLP (N,C) and its reciprocal std (N). */
  norm2: FloatArray;
  rstd2: FloatArray;
  /** gate_proj and up_proj outputs and silu(gate)*up (N,F). */
  gate: FloatArray;
  up: FloatArray;
  swiglu: FloatArray;
}

/** Every buffer of one forward/backward, sized for (B,T). */
export interface Activations {
  B: number;
  T: number;
  /** Packed batch (B = 1): start of each sequence in the row and the row's end (sequences + 1); null when padded. */
  offsets: Int32Array | null;
  /** Token ids, targets and positions (N). */
  ids: Int32Array;
  targets: Int32Array;
  positions: Int32Array;
  layers: LayerActivations[];
  /** Output of the last layer (N,C), final RMSNorm (N,C) and its rstd (N). */
  residualOut: FloatArray;
  normOut: FloatArray;
  rstdOut: FloatArray;
  /** LM-head output (N,V). */
  logits: FloatArray;
  /** Per-position logprob of the target, log-sum-exp and entropy under the temperature (N). */
  logprobs: FloatArray;
  lse: FloatArray;
  entropy: FloatArray;
  /** Output of o_proj / down_proj before the residual add (N,C). */
  projection: FloatArray;
  /** Backward scratch: residual gradient (N,C), norm-output gradient (N,C). */
  dResidual: FloatArray;
  dNorm: FloatArray;
  /** (N,H,D) */
  dAttention: FloatArray;
  dq: FloatArray;
  /** (N,KVH,D) */
  dk: FloatArray;
  dv: FloatArray;
  /** (N,F) */
  dSwiglu: FloatArray;
  dGate: FloatArray;
  dUp: FloatArray;
  /** (N,V) */
  dLogits: FloatArray;
}

/** Positions the arena's capacity is a multiple of, and its size over the batch that made it grow. */
const GROWTH_BLOCK = 256;
const HEADROOM = 1.25;

const roundUp = (value: number, block: number): number => Math.ceil(value / block) * block;

/** Grows-only storage of the activation buffers, handing out exact-size views for each (B,T). */
export class ActivationArena {
  private capacityN = 0;
  private storage = new Map<string, FloatArray | Int32Array>();
  private current: Activations | undefined;

  constructor(
    private readonly dims: ModelDims,
    private readonly allocate: Allocate,
  ) {}

  /**
   * Buffers for B sequences of T positions (reused when they fit), or, with `offsets`, for one
   * row of T positions packing the sequences [offsets[i], offsets[i+1]) (B must be 1).
   */
  get(B: number, T: number, offsets: ArrayLike<number> | null = null): Activations {
    if (!this.current || this.current.B !== B || this.current.T !== T) {
      const N = B * T;
      if (N > this.capacityN) {
        // A quarter of headroom (in whole blocks of positions): a fresh buffer costs a page fault
        // per 4 KiB on first touch, so regrowing by a few positions (packed micro-batches vary in
        // length from step to step) made the first forward after each new maximum ~4x slower.
        this.storage.clear();
        this.current = undefined;
        this.capacityN = roundUp(Math.ceil(N * HEADROOM), GROWTH_BLOCK);
      }
      this.current = this.build(B, T);
    }
    const { positions } = this.current;
    if (offsets) {
      for (let i = 0; i + 1 < offsets.length; i++)
        for (let n = offsets[i]!; n < offsets[i + 1]!; n++) positions[n] = n - offsets[i]!;
    } else {
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) positions[b * T + t] = t;
    }
    this.current.offsets = offsets ? Int32Array.from(offsets) : null;
    return this.current;
  }

  /** Frees all buffers (they are rebuilt on the next `get`). */
  clear(): void {
    this.storage.clear();
    this.current = undefined;
    this.capacityN = 0;
  }

  private float(key: string, perPosition: number, N: number): FloatArray {
    let buffer = this.storage.get(key) as FloatArray | undefined;
    if (!buffer) {
      buffer = this.allocate(this.capacityN * perPosition);
      this.storage.set(key, buffer);
    }
    return buffer.subarray(0, N * perPosition);
  }

  private int(key: string, N: number): Int32Array {
    let buffer = this.storage.get(key) as Int32Array | undefined;
    if (!buffer) {
      buffer = new Int32Array(this.capacityN);
      this.storage.set(key, buffer);
    }
    return buffer.subarray(0, N);
  }

  private build(B: number, T: number): Activations {
    const { L, C, H, KVH, D, F, V } = this.dims;
    const N = B * T;
    const layers: LayerActivations[] = [];
    for (let l = 0; l < L; l++) {
      const p = `layer${l}.`;
      layers.push({
        residual: this.float(`${p}residual`, C, N),
        norm1: this.float(`${p}norm1`, C, N),
        rstd1: this.float(`${p}rstd1`, 1, N),
        q: this.float(`${p}q`, H * D, N),
        k: this.float(`${p}k`, KVH * D, N),
        v: this.float(`${p}v`, KVH * D, N),
        attention: this.float(`${p}attention`, H * D, N),
        attentionLse: this.float(`${p}attentionLse`, H, N),
        residual2: this.float(`${p}residual2`, C, N),
        norm2: this.float(`${p}norm2`, C, N),
        rstd2: this.float(`${p}rstd2`, 1, N),
        gate: this.float(`${p}gate`, F, N),
        up: this.float(`${p}up`, F, N),
        swiglu: this.float(`${p}swiglu`, F, N),
      });
    }
    return {
      B,
      T,
      offsets: null,
      ids: this.int('ids', N),
      targets: this.int('targets', N),
      positions: this.int('positions', N),
      layers,
      residualOut: this.float('residualOut', C, N),
      normOut: this.float('normOut', C, N),
      rstdOut: this.float('rstdOut', 1, N),
      logits: this.float('logits', V, N),
      logprobs: this.float('logprobs', 1, N),
      lse: this.float('lse', 1, N),
      entropy: this.float('entropy', 1, N),
      projection: this.float('projection', C, N),
      dResidual: this.float('dResidual', C, N),
      dNorm: this.float('dNorm', C, N),
      dAttention: this.float('dAttention', H * D, N),
      dq: this.float('dq', H * D, N),
      dk: this.float('dk', KVH * D, N),
      dv: this.float('dv', KVH * D, N),
      dSwiglu: this.float('dSwiglu', F, N),
      dGate: this.float('dGate', F, N),
      dUp: this.float('dUp', F, N),
      dLogits: this.float('dLogits', V, N),
    };
  }
}
