/**
 * The pure-TypeScript implementation of the Kernels contract: exact (float64 accumulation),
 * single-threaded, accepting Float32Array and Float64Array. Tests check the native kernels and
 * finite differences against it, and the engine falls back to it when the addon is not built.
 */

import type { Kernels } from '../kernels.js';
import { attentionCached, kvCacheWrite } from './attention-cached.js';
import { attentionBackward, attentionForward } from './attention.js';
import { embeddingBackward, embeddingForward } from './embedding.js';
import { logprobsBackward, logprobsForward } from './logprobs.js';
import { matmulBackward, matmulForward } from './matmul.js';
import { adamw, add, sumSquares } from './optimizer.js';
import { rmsnormBackward, rmsnormForward } from './rmsnorm.js';
import { rope } from './rope.js';
import { sampleTokens } from './sampling.js';
import { swigluBackward, swigluForward } from './swiglu.js';

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
