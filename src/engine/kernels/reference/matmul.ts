/**
 * Reference (TypeScript) linear layer: out = inp . weight^T + bias and its backward, with the
 * weight in the Hugging Face layout (OC,C). Sums are accumulated in float64.
 */

import type { FloatArray } from '../kernels.js';

/** out(N,OC) = inp(N,C) . weight(OC,C)^T (+ bias(OC)). */
export function matmulForward(
  out: FloatArray,
  inp: FloatArray,
  weight: FloatArray,
  bias: FloatArray | null,
  N: number,
  C: number,
  OC: number,
): void {
  for (let n = 0; n < N; n++) {
    const inpRow = n * C;
    for (let o = 0; o < OC; o++) {
      const weightRow = o * C;
      let sum = bias === null ? 0 : bias[o]!;
      for (let c = 0; c < C; c++) sum += inp[inpRow + c]! * weight[weightRow + c]!;
      out[n * OC + o] = sum;
    }
  }
}

/** dinp(N,C) += dout . weight; dweight(OC,C) += dout^T . inp; dbias(OC) += sum_N dout. */
export function matmulBackward(
  dinp: FloatArray | null,
  dweight: FloatArray | null,
  dbias: FloatArray | null,
  dout: FloatArray,
  inp: FloatArray,
  weight: FloatArray,
  N: number,
  C: number,
  OC: number,
): void {
  const row_C = new Float64Array(C);
  if (dinp !== null) {
    for (let n = 0; n < N; n++) {
      row_C.fill(0);
      for (let o = 0; o < OC; o++) {
        const d = dout[n * OC + o]!;
        if (d === 0) continue;
        const weightRow = o * C;
        for (let c = 0; c < C; c++) row_C[c]! += d * weight[weightRow + c]!;
      }
      for (let c = 0; c < C; c++) dinp[n * C + c]! += row_C[c]!;
    }
  }
  if (dweight !== null || dbias !== null) {
    for (let o = 0; o < OC; o++) {
      row_C.fill(0);
      let biasSum = 0;
      for (let n = 0; n < N; n++) {
        const d = dout[n * OC + o]!;
        biasSum += d;
        if (d === 0 || dweight === null) continue;
        const inpRow = n * C;
        for (let c = 0; c < C; c++) row_C[c]! += d * inp[inpRow + c]!;
      }
      if (dweight !== null) for (let c = 0; c < C; c++) dweight[o * C + c]! += row_C[c]!;
      if (dbias !== null) dbias[o]! += biasSum;
    }
  }
}
