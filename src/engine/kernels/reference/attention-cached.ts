/**
 * Reference (TypeScript) attention of new tokens against a KV cache (prefill and decoding): the
 * write of new keys and values into the cache layout (keys transposed in tiles of KEY_TILE
 * positions, values row-major per slot and KV head), and each query's attention to positions 0..p
 * of its cache slot, which already holds its own key and value.
 */

import { keyCacheIndex, type FloatArray } from '../kernels.js';

/**
 * Writes k(B,KVH,D) and v(B,KVH,D) into kcache(S,KVH,maxT/16,D,16) and vcache(S,KVH,maxT,D) at slots(B), positions(B).
 */
export function kvCacheWrite(
  kcache: FloatArray,
  vcache: FloatArray,
  k: FloatArray,
  v: FloatArray,
  slots: Int32Array,
  positions: Int32Array,
  B: number,
  _S: number,
  maxT: number,
  KVH: number,
  D: number,
): void {
  for (let b = 0; b < B; b++) {
    const slot = slots[b]!;
    const position = positions[b]!;
    for (let h = 0; h < KVH; h++) {
      const row = (b * KVH + h) * D;
      const vBase = ((slot * KVH + h) * maxT + position) * D;
      for (let d = 0; d < D; d++) {
        kcache[keyCacheIndex(slot, h, position, d, maxT, KVH, D)] = k[row + d]!;
        vcache[vBase + d] = v[row + d]!;
      }
    }
  }
}

/**
 * Writes k, v (when given) into the cache, then q(B,H,D) against kcache(S,KVH,maxT/16,D,16)
 * and vcache(S,KVH,maxT,D) at slots(B), positions(B) -> out(B,H,D).
 */
export function attentionCached(
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
): void {
  if (k && v) kvCacheWrite(kcache, vcache, k, v, slots, positions, B, S, maxT, KVH, D);
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
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[qBase + d]! * kcache[keyCacheIndex(slot, kvh, j, d, maxT, KVH, D)]!;
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
        const vBase = ((slot * KVH + kvh) * maxT + j) * D;
        for (let d = 0; d < D; d++) acc_D[d]! += p * vcache[vBase + d]!;
      }
      for (let d = 0; d < D; d++) out[qBase + d] = acc_D[d]!;
    }
  }
}
