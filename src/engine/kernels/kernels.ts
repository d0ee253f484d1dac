/**
 * The Kernels contract of the CPU engine: the hot loops of every op, forward and backward, on flat
 * float32 buffers (llm.c style). Two implementations exist: `reference` (TypeScript, used by tests
 * and as the fallback when the native addon cannot be built) and `native` (C with AVX2/AVX-512 and
 * a thread pool, built by node-gyp at install). The model code calls only this interface.
 *
 * Conventions, for every kernel:
 * - Buffers are row-major and contiguous; shapes are given in the comments, e.g. `(N,C)`.
 *   N = number of token positions (B*T), C = channels, OC = output channels, H = query heads,
 *   KVH = key/value heads (H % KVH == 0), D = head dimension, F = MLP hidden size, V = vocabulary.
 * - Linear weights use the Hugging Face layout `(out_features, in_features)`.
 * - Forward kernels overwrite their outputs. Backward kernels ACCUMULATE (+=) into every gradient
 *   buffer they receive, activation gradients included; the caller zeroes what must start at 0.
 * - Shape errors throw a `ShapeError` naming the kernel and the shapes; nothing is written then.
 * - The reference implementation also accepts Float64Array (for finite-difference checks).
 */

/** A float buffer: Float32Array in the engine, Float64Array allowed in reference-kernel tests. */
export type FloatArray = Float32Array | Float64Array;

/** Positions per key tile of the KV cache: keys are stored transposed, (D, KEY_TILE) per tile. */
export const KEY_TILE = 16;

/** Index of key (slot, kvHead, position, d) in a kcache of maxT positions per slot (see attentionCached). */
export function keyCacheIndex(
  slot: number,
  kvHead: number,
  position: number,
  d: number,
  maxT: number,
  KVH: number,
  D: number,
): number {
  const within = position % KEY_TILE;
  return ((slot * KVH + kvHead) * maxT + position - within) * D + d * KEY_TILE + within;
}

export interface Kernels {
  /** `reference` or `native`. */
  readonly name: string;
  /** Worker threads used by the kernels (1 for the reference). */
  readonly threads: number;

  /** out(N,OC) = inp(N,C) . weight(OC,C)^T (+ bias(OC)). */
  matmulForward(
    out: FloatArray,
    inp: FloatArray,
    weight: FloatArray,
    bias: FloatArray | null,
    N: number,
    C: number,
    OC: number,
  ): void;
  /** dinp(N,C) += dout(N,OC) . weight(OC,C); dweight(OC,C) += dout^T . inp; dbias(OC) += sum_N dout. */
  matmulBackward(
    dinp: FloatArray | null,
    dweight: FloatArray | null,
    dbias: FloatArray | null,
    dout: FloatArray,
    inp: FloatArray,
    weight: FloatArray,
    N: number,
    C: number,
    OC: number,
  ): void;

  /** out(N,C) = table(V,C)[ids(N)]. Ids outside [0,V) throw. */
  embeddingForward(out: FloatArray, ids: Int32Array, table: FloatArray, N: number, C: number, V: number): void;
  /** dtable(V,C)[ids[n]] += dout(N,C)[n]. */
  embeddingBackward(dtable: FloatArray, dout: FloatArray, ids: Int32Array, N: number, C: number, V: number): void;

  /** rstd(N) = 1/sqrt(mean(inp^2) + eps); out(N,C) = inp * rstd * weight(C). */
  rmsnormForward(
    out: FloatArray,
    rstd: FloatArray,
    inp: FloatArray,
    weight: FloatArray,
    N: number,
    C: number,
    eps: number,
  ): void;
  /** dinp(N,C) += ...; dweight(C) += ... (uses rstd saved by the forward). */
  rmsnormBackward(
    dinp: FloatArray,
    dweight: FloatArray,
    dout: FloatArray,
    inp: FloatArray,
    weight: FloatArray,
    rstd: FloatArray,
    N: number,
    C: number,
  ): void;

  /**
   * Rotary embedding, Hugging Face `rotate_half` convention (dimension i pairs with i + D/2),
   * angle = position * theta^(-2i/D). out(N,H,D) = rope(inp(N,H,D), positions(N)); `inverse`
   * rotates by the negative angle (the backward). `out` may alias `inp`.
   */
  rope(
    out: FloatArray,
    inp: FloatArray,
    positions: Int32Array,
    N: number,
    H: number,
    D: number,
    theta: number,
    inverse: boolean,
  ): void;

  /**
   * Causal self-attention over B sequences of T positions, scaled by 1/sqrt(D), with grouped KV
   * heads (query head h reads KV head floor(h / (H/KVH))).
   * q(B,T,H,D), k(B,T,KVH,D), v(B,T,KVH,D) -> out(B,T,H,D); lse(B,H,T) receives the log-sum-exp
   * of each query's scaled scores, for the backward.
   */
  attentionForward(
    out: FloatArray,
    lse: FloatArray,
    q: FloatArray,
    k: FloatArray,
    v: FloatArray,
    B: number,
    T: number,
    H: number,
    KVH: number,
    D: number,
  ): void;
  /** dq(B,T,H,D), dk(B,T,KVH,D), dv(B,T,KVH,D) += gradients of attentionForward given dout(B,T,H,D). */
  attentionBackward(
    dq: FloatArray,
    dk: FloatArray,
    dv: FloatArray,
    dout: FloatArray,
    q: FloatArray,
    k: FloatArray,
    v: FloatArray,
    out: FloatArray,
    lse: FloatArray,
    B: number,
    T: number,
    H: number,
    KVH: number,
    D: number,
  ): void;

  /**
   * Causal self-attention over B sequences packed back to back without padding: sequence b holds
   * the rows offsets[b]..offsets[b+1]-1 (offsets(B+1) non-decreasing from 0 to N) and attends only
   * within itself, as attentionForward over that sequence alone. q(N,H,D), k(N,KVH,D), v(N,KVH,D)
   * -> out(N,H,D); lse(N*H) holds sequence b's (H,T_b) block at offsets[b]*H.
   */
  packedAttentionForward(
    out: FloatArray,
    lse: FloatArray,
    q: FloatArray,
    k: FloatArray,
    v: FloatArray,
    offsets: Int32Array,
    B: number,
    N: number,
    H: number,
    KVH: number,
    D: number,
  ): void;
  /** dq(N,H,D), dk(N,KVH,D), dv(N,KVH,D) += gradients of packedAttentionForward given dout(N,H,D). */
  packedAttentionBackward(
    dq: FloatArray,
    dk: FloatArray,
    dv: FloatArray,
    dout: FloatArray,
    q: FloatArray,
    k: FloatArray,
    v: FloatArray,
    out: FloatArray,
    lse: FloatArray,
    offsets: Int32Array,
    B: number,
    N: number,
    H: number,
    KVH: number,
    D: number,
  ): void;

  /**
   * Writes B new rows of keys k(B,KVH,D) and values v(B,KVH,D) into a KV cache at (slots[b],
   * positions[b]), in the layout attentionCached reads (see KEY_TILE). maxT must be a multiple of
   * KEY_TILE. Rows naming the same (slot, position) are written in order (the last one stays).
   */
  kvCacheWrite(
    kcache: FloatArray,
    vcache: FloatArray,
    k: FloatArray,
    v: FloatArray,
    slots: Int32Array,
    positions: Int32Array,
    B: number,
    S: number,
    maxT: number,
    KVH: number,
    D: number,
  ): void;

  /**
   * Attention of new tokens against a KV cache (prefill and decoding). The cache holds S slots of
   * maxT positions (a multiple of KEY_TILE) per KV head: values vcache(S,KVH,maxT,D) and keys
   * kcache(S,KVH,maxT/KEY_TILE,D,KEY_TILE), i.e. transposed in tiles of KEY_TILE positions (key
   * (s,h,t,d) at ((s*KVH + h)*maxT + t - t%KEY_TILE)*D + d*KEY_TILE + t%KEY_TILE). When k(B,KVH,D)
   * and v(B,KVH,D) are given, the new rows' keys and values are first written at (slots[b],
   * positions[b]) exactly as kvCacheWrite does (fused: each row's cache lines are then read while
   * hot); when they are null the cache must already hold them. For each of the B queries: slots(B)
   * names its cache slot and positions(B) its position p; it attends to cache positions 0..p of its
   * slot. q(B,H,D) -> out(B,H,D).
   */
  attentionCached(
    out: FloatArray,
    q: FloatArray,
    k: FloatArray | null,
    v: FloatArray | null,
    kcache: FloatArray,
    vcache: FloatArray,
    slots: Int32Array,
    positions: Int32Array,
    B: number,
    S: number,
    maxT: number,
    H: number,
    KVH: number,
    D: number,
  ): void;

  /** out(N,F) = silu(gate(N,F)) * up(N,F), over n = N*F elements. */
  swigluForward(out: FloatArray, gate: FloatArray, up: FloatArray, n: number): void;
  /** dgate += dout * up * silu'(gate); dup += dout * silu(gate); over n elements. */
  swigluBackward(
    dgate: FloatArray,
    dup: FloatArray,
    dout: FloatArray,
    gate: FloatArray,
    up: FloatArray,
    n: number,
  ): void;

  /** out(n) = a(n) + b(n). `out` may alias `a` or `b`. */
  add(out: FloatArray, a: FloatArray, b: FloatArray, n: number): void;

  /**
   * Logprob of each target under softmax(logits / temperature), with invTemperature = 1/temperature:
   * logprobs(N) = logits[n,target]*invT - lse[n], lse(N) = logsumexp(logits[n,:]*invT).
   * `entropy`, when given, receives each row's entropy (N). Targets outside [0,V) throw.
   */
  logprobsForward(
    logprobs: FloatArray,
    lse: FloatArray,
    entropy: FloatArray | null,
    logits: FloatArray,
    targets: Int32Array,
    N: number,
    V: number,
    invTemperature: number,
  ): void;
  /**
   * Draws one token per row of logits(N,V) from softmax(logits * invTemperature), filtered the way
   * Hugging Face does it: top-k first (topK <= 0 or >= V: off), then top-p on what is left (the
   * smallest set of most likely tokens whose mass reaches topP of it; topP >= 1: off). The draw is
   * the inverse CDF at uniforms[n] (in [0,1]), over the vocabulary in index order when nothing is
   * filtered, else over the kept tokens from most to least likely (ties: lower id first). tokens(N)
   * receive the ids; logprobs(N) each token's logprob under softmax(logits * invTemperature) over
   * the WHOLE vocabulary (what logprobsForward computes), whatever the filtering.
   */
  sampleTokens(
    tokens: Int32Array,
    logprobs: FloatArray,
    logits: FloatArray,
    uniforms: Float64Array,
    N: number,
    V: number,
    invTemperature: number,
    topK: number,
    topP: number,
  ): void;
  /** dlogits(N,V) += dlogprobs[n] * invT * (onehot(target) - softmax(logits*invT)). */
  logprobsBackward(
    dlogits: FloatArray,
    dlogprobs: FloatArray,
    logits: FloatArray,
    lse: FloatArray,
    targets: Int32Array,
    N: number,
    V: number,
    invTemperature: number,
  ): void;

  /**
   * One AdamW step (torch.optim.AdamW semantics, bias-corrected, decoupled weight decay) over n
   * parameters: p -= lr*wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
   * p -= lr * (m/(1-b1^step)) / (sqrt(v/(1-b2^step)) + eps). `step` starts at 1. `gradScale`
   * multiplies g first (global-norm clipping, gradient-accumulation averaging).
   */
  adamw(
    params: FloatArray,
    grads: FloatArray,
    m: FloatArray,
    v: FloatArray,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
    gradScale: number,
  ): void;

  /** Sum of squares of x(n), accumulated in float64. */
  sumSquares(x: FloatArray, n: number): number;
}

/** The ops of the contract: every member of Kernels except its name and thread count. */
export type KernelOps = Omit<Kernels, 'name' | 'threads'>;

/** The name of one op. */
export type KernelOp = keyof KernelOps;
