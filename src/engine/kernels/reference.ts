/**
 * The pure-TypeScript implementation of the Kernels contract: exact (float64 accumulation),
 * single-threaded, accepting Float32Array and Float64Array. Tests check the native kernels and
 * finite differences against it, and the engine falls back to it when the addon is not built.
 */

import type { Kernels } from './kernels.js';
import { attentionCached, kvCacheWrite } from './reference/attention-cached.js';
import { attentionBackward, attentionForward } from './reference/attention.js';
import { embeddingBackward, embeddingForward } from './reference/embedding.js';
import { logprobsBackward, logprobsForward } from './reference/logprobs.js';
import { matmulBackward, matmulForward } from './reference/matmul.js';
import { adamw, add, sumSquares } from './reference/optimizer.js';
import { rmsnormBackward, rmsnormForward } from './reference/rmsnorm.js';
import { rope } from './reference/rope.js';
import { sampleTokens } from './reference/sampling.js';
import { swigluBackward, swigluForward } from './reference/swiglu.js';

/** The reference Kernels (TypeScript, one thread). */
export const referenceKernels: Kernels = {
  name: 'reference',
  threads: 1,
  matmulForward,
  matmulBackward,
  embeddingForward,
  embeddingBackward,
  rmsnormForward,
  rmsnormBackward,
  rope,
  attentionForward,
  attentionBackward,
  kvCacheWrite,
  attentionCached,
  swigluForward,
  swigluBackward,
  add,
  logprobsForward,
  logprobsBackward,
  sampleTokens,
  adamw,
  sumSquares,
};
