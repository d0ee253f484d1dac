/**
 * Reference (TypeScript) token embedding: a row gather from the (V,C) table and its scatter-add
 * backward.
 */

import type { FloatArray } from '../kernels.js';

/** out(N,C) = table(V,C)[ids(N)]. */
export function embeddingForward(
  out: FloatArray,
  ids: Int32Array,
  table: FloatArray,
  N: number,
  C: number,
  _V: number,
): void {
  for (let n = 0; n < N; n++) {
    const tableRow = ids[n]! * C;
    for (let c = 0; c < C; c++) out[n * C + c] = table[tableRow + c]!;
  }
}

/** dtable(V,C)[ids[n]] += dout(N,C)[n]. */
export function embeddingBackward(
  dtable: FloatArray,
  dout: FloatArray,
  ids: Int32Array,
  N: number,
  C: number,
  _V: number,
): void {
  for (let n = 0; n < N; n++) {
    const tableRow = ids[n]! * C;
    for (let c = 0; c < C; c++) dtable[tableRow + c]! += dout[n * C + c]!;
  }
}
