/**
 * Reference (TypeScript) attention of new tokens against a KV cache (prefill and decoding): each
 * query attends to positions 0..p of its cache slot, which already holds its own key and value.
 */

import type { FloatArray } from '../kernels.js';
import { checkAttentionCached } from '../shape-checks.js';

/** q(B,H,D) against kcache/vcache(S,maxT,KVH,D) at slots(B), positions(B) -> out(B,H,D). */
export function attentionCached(
  out: FloatArray,
  q: FloatArray,
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
): void {
  checkAttentionCached(out, q, kcache, vcache, slots, positions, B, S, maxT, H, KVH, D);
  const scale = 1 / Math.sqrt(D);
  const group = H / KVH;
  const scores_T = new Float64Array(maxT);
  const acc_D = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    const slot = slots[b]!;
    const position = positions[b]!;
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      const qBase = (b * H + h) * D;
      let max = -Infinity;
      for (let j = 0; j <= position; j++) {
        const kBase = ((slot * maxT + j) * KVH + kvh) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qBase + d]! * kcache[kBase + d]!;
        scores_T[j] = dot * scale;
        if (scores_T[j]! > max) max = scores_T[j]!;
      }
      let sum = 0;
      for (let j = 0; j <= position; j++) {
        scores_T[j] = Math.exp(scores_T[j]! - max);
        sum += scores_T[j]!;
      }
      acc_D.fill(0);
      for (let j = 0; j <= position; j++) {
        const p = scores_T[j]! / sum;
        const vBase = ((slot * maxT + j) * KVH + kvh) * D;
        for (let d = 0; d < D; d++) acc_D[d]! += p * vcache[vBase + d]!;
      }
      for (let d = 0; d < D; d++) out[qBase + d] = acc_D[d]!;
    }
  }
}
