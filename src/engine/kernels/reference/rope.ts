/**
 * Reference (TypeScript) rotary position embedding in the Hugging Face `rotate_half` convention:
 * dimension i pairs with i + D/2 and rotates by position * theta^(-2i/D).
 */

import type { FloatArray } from '../kernels.js';

/** out(N,H,D) = rope(inp(N,H,D), positions(N)); `inverse` rotates by the negative angle. `out` may alias `inp`. */
export function rope(
  out: FloatArray,
  inp: FloatArray,
  positions: Int32Array,
  N: number,
  H: number,
  D: number,
  theta: number,
  inverse: boolean,
): void {
  const half = D / 2;
  const cos_half = new Float64Array(half);
  const sin_half = new Float64Array(half);
  const sign = inverse ? -1 : 1;
  for (let n = 0; n < N; n++) {
    const position = positions[n]!;
    for (let i = 0; i < half; i++) {
      const angle = position * theta ** ((-2 * i) / D);
      cos_half[i] = Math.cos(angle);
      sin_half[i] = sign * Math.sin(angle);
    }
    for (let h = 0; h < H; h++) {
      const base = (n * H + h) * D;
      for (let i = 0; i < half; i++) {
        const x1 = inp[base + i]!;
        const x2 = inp[base + i + half]!;
        out[base + i] = x1 * cos_half[i]! - x2 * sin_half[i]!;
        out[base + i + half] = x2 * cos_half[i]! + x1 * sin_half[i]!;
      }
    }
  }
}
