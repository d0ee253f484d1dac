/**
 * Reference (TypeScript) RMSNorm (Llama/Qwen2): out = inp * rstd * weight with
 * rstd = 1/sqrt(mean(inp^2) + eps), and its backward.
 */

import type { FloatArray } from '../kernels.js';

/** rstd(N) = 1/sqrt(mean(inp^2) + eps); out(N,C) = inp * rstd * weight(C). */
export function rmsnormForward(
  out: FloatArray,
  rstd: FloatArray,
  inp: FloatArray,
  weight: FloatArray,
  N: number,
  C: number,
  eps: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    let sumSquares = 0;
    for (let c = 0; c < C; c++) sumSquares += inp[row + c]! * inp[row + c]!;
    const r = 1 / Math.sqrt(sumSquares / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) out[row + c] = inp[row + c]! * r * weight[c]!;
  }
}

/**
 * dinp(N,C) += rstd * (dout*weight - inp * rstd^2/C * sum(dout*weight*inp));
 * dweight(C) += sum_N dout * inp * rstd.
 */
export function rmsnormBackward(
  dinp: FloatArray,
  dweight: FloatArray,
  dout: FloatArray,
  inp: FloatArray,
  weight: FloatArray,
  rstd: FloatArray,
  N: number,
  C: number,
): void {
  const dweight_C = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const row = n * C;
    const r = rstd[n]!;
    let dot = 0;
    for (let c = 0; c < C; c++) dot += dout[row + c]! * weight[c]! * inp[row + c]!;
    const coefficient = (r * r * dot) / C;
    for (let c = 0; c < C; c++) {
      dinp[row + c]! += r * (dout[row + c]! * weight[c]! - inp[row + c]! * coefficient);
      dweight_C[c]! += dout[row + c]! * inp[row + c]! * r;
    }
  }
  for (let c = 0; c < C; c++) dweight[c]! += dweight_C[c]!;
}
