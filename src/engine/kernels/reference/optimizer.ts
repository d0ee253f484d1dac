/**
 * Reference (TypeScript) AdamW step with torch.optim.AdamW semantics, plus the small vector
 * kernels the trainer needs around it (sum of squares for global-norm clipping, add for residuals).
 */

import type { FloatArray } from '../kernels.js';

/** One bias-corrected AdamW step with decoupled weight decay over n parameters; g is scaled by gradScale first. */
export function adamw(
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
): void {
  const correction1 = 1 - beta1 ** step;
  const correction2Sqrt = Math.sqrt(1 - beta2 ** step);
  const stepSize = lr / correction1;
  const decay = 1 - lr * weightDecay;
  for (let i = 0; i < n; i++) {
    const g = grads[i]! * gradScale;
    const mi = beta1 * m[i]! + (1 - beta1) * g;
    const vi = beta2 * v[i]! + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] = params[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) / correction2Sqrt + eps);
  }
}

/** Sum of squares of x(n), accumulated in float64. */
export function sumSquares(x: FloatArray, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i]! * x[i]!;
  return sum;
}

/** out(n) = a(n) + b(n); `out` may alias `a` or `b`. */
export function add(out: FloatArray, a: FloatArray, b: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
}
