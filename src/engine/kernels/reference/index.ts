/**
 * The pure-TypeScript implementation of the Kernels contract: exact (float64 accumulation),
 * single-threaded, accepting Float32Array and Float64Array. Tests check the native kernels and
 * finite differences against it, and the engine falls back to it when the addon is not built.
 * Each file of this folder exports its ops under their Kernels names; the shared shape checks
 * run before them (`checkedKernels`).
 */

import type { KernelOps, Kernels } from '../kernels.js';
import { checkedKernels } from '../shape-checks.js';
import * as attentionCachedOps from './attention-cached.js';
import * as attentionOps from './attention.js';
import * as embeddingOps from './embedding.js';
import * as logprobsOps from './logprobs.js';
import * as matmulOps from './matmul.js';
import * as optimizerOps from './optimizer.js';
import * as rmsnormOps from './rmsnorm.js';
import * as ropeOps from './rope.js';
import * as samplingOps from './sampling.js';
import * as swigluOps from './swiglu.js';

/** Every op of the files above, unchecked (their other exports, such as RowSampler, are not ops and are ignored). */
export const referenceOps: KernelOps = {
  ...attentionCachedOps,
  ...attentionOps,
  ...embeddingOps,
  ...logprobsOps,
  ...matmulOps,
  ...optimizerOps,
  ...rmsnormOps,
  ...ropeOps,
  ...samplingOps,
  ...swigluOps,
};

/** The reference Kernels (TypeScript, one thread). */
export const referenceKernels: Kernels = checkedKernels('reference', 1, referenceOps);
