/**
 * Reference (TypeScript) SwiGLU gate of the Llama MLP: out = silu(gate) * up, and its backward.
 */

import type { FloatArray } from '../kernels.js';

/** out(n) = silu(gate(n)) * up(n). */
export function swigluForward(out: FloatArray, gate: FloatArray, up: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i]!;
    out[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
}

/** dgate += dout * up * silu'(gate); dup += dout * silu(gate). */
export function swigluBackward(
  dgate: FloatArray,
  dup: FloatArray,
  dout: FloatArray,
  gate: FloatArray,
  up: FloatArray,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i]!;
    const sigmoid = 1 / (1 + Math.exp(-g));
    const d = dout[i]!;
    dgate[i]! += d * up[i]! * sigmoid * (1 + g * (1 - sigmoid));
    dup[i]! += d * g * sigmoid;
  }
}
