/**
 * Helpers shared by the kernel tests: the native addon when it is built, seeded random buffers,
 * central finite differences of a scalar loss, and a max-relative-difference comparison.
 */

import type { Random } from '../../random.js';
import type { FloatArray } from './kernels.js';
import { loadNativeAddon, type NativeAddon } from './native.js';

/** The native addon, or why it could not be loaded (the native suites then skip, naming the reason). */
export function nativeAddonForTests(): { addon?: NativeAddon; unavailable: string } {
  try {
    return { addon: loadNativeAddon(), unavailable: '' };
  } catch (error) {
    return { unavailable: (error as Error).message };
  }
}

/** A Float64Array of n standard-normal values times `scale`. */
export function randomFloat64(random: Random, n: number, scale = 1): Float64Array {
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = random.normal() * scale;
  return values;
}

/** A Float32Array of n standard-normal values times `scale`. */
export function randomFloat32(random: Random, n: number, scale = 1): Float32Array {
  return Float32Array.from(randomFloat64(random, n, scale));
}

/** An Int32Array of n integers drawn uniformly from [0, limit). */
export function randomInts(random: Random, n: number, limit: number): Int32Array {
  const values = new Int32Array(n);
  for (let i = 0; i < n; i++) values[i] = random.int(limit);
  return values;
}

/** sum(out * weights): the scalar loss whose gradient with respect to out is `weights`. */
export function weightedSum(out: FloatArray, weights: FloatArray): number {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += out[i]! * weights[i]!;
  return sum;
}

/** Central finite differences of loss() with respect to every element of x (perturbed in place, then restored). */
export function numericGradient(loss: () => number, x: Float64Array, step = 1e-5): Float64Array {
  const gradient = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i]!;
    x[i] = saved + step;
    const plus = loss();
    x[i] = saved - step;
    const minus = loss();
    x[i] = saved;
    gradient[i] = (plus - minus) / (2 * step);
  }
  return gradient;
}

/** Element-wise a - b as a new Float64Array. */
export function difference(a: FloatArray, b: FloatArray): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! - b[i]!;
  return out;
}

/** max |a - b| / (atol + max|b|) over the first n elements: a scale-aware error. */
export function maxRelativeError(a: FloatArray, b: FloatArray, n = b.length, atol = 1e-6): number {
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(b[i]!));
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const error = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(error)) return Infinity;
    if (error > worst) worst = error;
  }
  return worst / (atol + scale);
}
