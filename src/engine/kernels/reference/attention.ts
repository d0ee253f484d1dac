/**
 * Reference (TypeScript) causal self-attention with grouped KV heads: the forward saves the
 * log-sum-exp of each query's scaled scores, from which the backward recomputes the softmax
 * (flash-attention style). Query head h reads KV head floor(h / (H/KVH)); scores are scaled by
 * 1/sqrt(D). Sums are accumulated in float64. The packed ops run each sequence of a batch packed
 * without padding as a batch of its own.
 */

import type { FloatArray } from '../kernels.js';

/** q(B,T,H,D), k(B,T,KVH,D), v(B,T,KVH,D) -> out(B,T,H,D), lse(B,H,T). */
export function attentionForward(
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
): void {
  const scale = 1 / Math.sqrt(D);
  const group = H / KVH;
  const scores_T = new Float64Array(T);
  const acc_D = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qBase = ((b * T + t) * H + h) * D;
        let max = -Infinity;
        for (let j = 0; j <= t; j++) {
          const kBase = ((b * T + j) * KVH + kvh) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qBase + d]! * k[kBase + d]!;
          scores_T[j] = dot * scale;
          if (scores_T[j]! > max) max = scores_T[j]!;
        }
        let sum = 0;
        for (let j = 0; j <= t; j++) sum += Math.exp(scores_T[j]! - max);
        const rowLse = max + Math.log(sum);
        lse[(b * H + h) * T + t] = rowLse;
        acc_D.fill(0);
        for (let j = 0; j <= t; j++) {
          const p = Math.exp(scores_T[j]! - rowLse);
          const vBase = ((b * T + j) * KVH + kvh) * D;
          for (let d = 0; d < D; d++) acc_D[d]! += p * v[vBase + d]!;
        }
        for (let d = 0; d < D; d++) out[qBase + d] = acc_D[d]!;
      }
    }
  }
}

/** dq, dk, dv += gradients of attentionForward given dout(B,T,H,D) and the saved out and lse. */
export function attentionBackward(
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
): void {
  const scale = 1 / Math.sqrt(D);
  const group = H / KVH;
  const dq_D = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qBase = ((b * T + t) * H + h) * D;
        const rowLse = lse[(b * H + h) * T + t]!;
        // delta = sum_j p_j (dout . v_j) = dout . out
        let delta = 0;
        for (let d = 0; d < D; d++) delta += dout[qBase + d]! * out[qBase + d]!;
        dq_D.fill(0);
        for (let j = 0; j <= t; j++) {
          const kBase = ((b * T + j) * KVH + kvh) * D;
          let score = 0;
          let dp = 0;
          for (let d = 0; d < D; d++) {
            score += q[qBase + d]! * k[kBase + d]!;
            dp += dout[qBase + d]! * v[kBase + d]!;
          }
          const p = Math.exp(score * scale - rowLse);
          const ds = p * (dp - delta) * scale;
          for (let d = 0; d < D; d++) {
            dv[kBase + d]! += p * dout[qBase + d]!;
            dk[kBase + d]! += ds * q[qBase + d]!;
            dq_D[d]! += ds * k[kBase + d]!;
          }
        }
        for (let d = 0; d < D; d++) dq[qBase + d]! += dq_D[d]!;
      }
    }
  }
}

/** The rows of sequence b of a packed batch, as a one-sequence batch for attentionForward / attentionBackward. */
function packedSequence(offsets: Int32Array, b: number, H: number, D: number) {
  const start = offsets[b]!;
  const T = offsets[b + 1]! - start;
  const rows = (buffer: FloatArray, heads: number) => buffer.subarray(start * heads * D, (start + T) * heads * D);
  const lseBlock = (lse: FloatArray) => lse.subarray(start * H, (start + T) * H);
  return { T, rows, lseBlock };
}

/** q(N,H,D), k(N,KVH,D), v(N,KVH,D) -> out(N,H,D), lse(N*H): each packed sequence attends within itself. */
export function packedAttentionForward(
  out: FloatArray,
  lse: FloatArray,
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  offsets: Int32Array,
  B: number,
  _N: number,
  H: number,
  KVH: number,
  D: number,
): void {
  for (let b = 0; b < B; b++) {
    const { T, rows, lseBlock } = packedSequence(offsets, b, H, D);
    attentionForward(rows(out, H), lseBlock(lse), rows(q, H), rows(k, KVH), rows(v, KVH), 1, T, H, KVH, D);
  }
}

/** dq, dk, dv += gradients of packedAttentionForward given dout(N,H,D) and the saved out and lse. */
export function packedAttentionBackward(
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
  _N: number,
  H: number,
  KVH: number,
  D: number,
): void {
  for (let b = 0; b < B; b++) {
    const { T, rows, lseBlock } = packedSequence(offsets, b, H, D);
    attentionBackward(
      rows(dq, H),
      rows(dk, KVH),
      rows(dv, KVH),
      rows(dout, H),
      rows(q, H),
      rows(k, KVH),
      rows(v, KVH),
      rows(out, H),
      lseBlock(lse),
      1,
      T,
      H,
      KVH,
      D,
    );
  }
}
