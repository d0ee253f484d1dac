/**
 * Shape validation shared by every Kernels implementation: `SHAPE_CHECKS` holds one check per op
 * that verifies the dimensions are non-negative integers and that every buffer holds at least the
 * elements its shape needs, throwing a `ShapeError` that names the kernel, the dimensions and the
 * offending buffer before anything is written; `checkedKernels` turns an implementation's ops into
 * Kernels that run the check first. Buffers may be longer than needed (scratch buffers sized for
 * the largest batch); only the leading elements are read or written.
 */

import { ShapeError } from '../../errors.js';
import { KEY_TILE, type FloatArray, type KernelOp, type KernelOps, type Kernels } from './kernels.js';

type Dims = Record<string, number>;
/** [buffer name, buffer (null = optional and absent), shape text like '(N,C)', elements needed]. */
type BufferSpec = [
  name: string,
  buffer: ArrayLike<number> | null | undefined,
  shape: string,
  needed: number,
  optional?: boolean,
];

function describe(kernel: string, dims: Dims): string {
  return `${kernel}(${Object.entries(dims)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ')})`;
}

/** Throws a ShapeError unless every dimension is a non-negative safe integer and every buffer is long enough. */
export function checkShapes(kernel: string, dims: Dims, buffers: BufferSpec[]): void {
  for (const [key, value] of Object.entries(dims)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ShapeError(`${describe(kernel, dims)}: ${key} must be a non-negative integer, got ${value}`);
    }
  }
  for (const [name, buffer, shape, needed, optional] of buffers) {
    if (buffer === null || buffer === undefined) {
      if (optional) continue;
      throw new ShapeError(`${describe(kernel, dims)}: ${name} ${shape} is required, got ${buffer}`);
    }
    if (typeof buffer.length !== 'number' || buffer.length < needed) {
      throw new ShapeError(
        `${describe(kernel, dims)}: ${name} ${shape} needs ${needed} elements, got a buffer of ${buffer.length}`,
      );
    }
  }
}

/** Throws a ShapeError naming the kernel unless `condition` holds. */
export function checkCondition(kernel: string, dims: Dims, condition: boolean, what: string): void {
  if (!condition) throw new ShapeError(`${describe(kernel, dims)}: ${what}`);
}

/** Throws a ShapeError unless every index in indices[0..count) lies in [0, limit). */
export function checkIndices(
  kernel: string,
  dims: Dims,
  name: string,
  indices: Int32Array,
  count: number,
  limit: number,
  limitName: string,
): void {
  for (let i = 0; i < count; i++) {
    const index = indices[i]!;
    if (index < 0 || index >= limit) {
      throw new ShapeError(`${describe(kernel, dims)}: ${name}[${i}]=${index} is outside [0, ${limitName}=${limit})`);
    }
  }
}

/** embeddingForward / embeddingBackward, ids included. */
function checkEmbedding(
  kernel: string,
  activations: FloatArray,
  ids: Int32Array,
  table: FloatArray,
  N: number,
  C: number,
  V: number,
): void {
  const dims = { N, C, V };
  const forward = kernel === 'embeddingForward';
  checkShapes(kernel, dims, [
    [forward ? 'out' : 'dout', activations, '(N,C)', N * C],
    ['ids', ids, '(N)', N],
    [forward ? 'table' : 'dtable', table, '(V,C)', V * C],
  ]);
  checkIndices(kernel, dims, 'ids', ids, N, V, 'V');
}

function checkHeads(kernel: string, dims: Dims, H: number, KVH: number): void {
  checkCondition(kernel, dims, KVH > 0 && H % KVH === 0, `H must be a multiple of KVH > 0, got H=${H} KVH=${KVH}`);
}

/** Sequence offsets of a packed batch: offsets[0] = 0, non-decreasing, offsets[B] = N. */
function checkOffsets(kernel: string, dims: Dims, offsets: Int32Array, B: number, N: number): void {
  checkCondition(kernel, dims, offsets[0] === 0, `offsets[0] must be 0, got ${offsets[0]}`);
  for (let b = 0; b < B; b++) {
    if (offsets[b + 1]! < offsets[b]!)
      throw new ShapeError(
        `${describe(kernel, dims)}: offsets must not decrease, ` +
          `got offsets[${b}]=${offsets[b]} > offsets[${b + 1}]=${offsets[b + 1]}`,
      );
  }
  checkCondition(kernel, dims, offsets[B] === N, `offsets[B] must be N=${N}, got ${offsets[B]}`);
}

function checkCacheLength(kernel: string, dims: Dims, maxT: number): void {
  checkCondition(
    kernel,
    dims,
    maxT % KEY_TILE === 0,
    `maxT must be a multiple of the key tile ${KEY_TILE}, got ${maxT}`,
  );
}

/** An elementwise kernel: every named buffer needs n elements. */
function checkElementwise(kernel: string, n: number, buffers: [string, FloatArray][]): void {
  checkShapes(
    kernel,
    { n },
    buffers.map(([name, buffer]) => [name, buffer, '(n)', n]),
  );
}

/** logprobsForward / logprobsBackward: their own buffers, then logits, targets and the temperature. */
function checkLogprobs(
  kernel: string,
  buffers: [string, FloatArray | null, string, number, boolean?][],
  logits: FloatArray,
  targets: Int32Array,
  N: number,
  V: number,
  invTemperature: number,
): void {
  const dims = { N, V };
  checkShapes(kernel, dims, [...buffers, ['logits', logits, '(N,V)', N * V], ['targets', targets, '(N)', N]]);
  checkCondition(
    kernel,
    dims,
    Number.isFinite(invTemperature) && invTemperature > 0,
    `invTemperature must be a positive finite number, got ${invTemperature}`,
  );
  checkIndices(kernel, dims, 'targets', targets, N, V, 'V');
}

/**
 * The shape check of every op, taking the op's own arguments: Kernels does not compile with an op
 * missing here, and `checkedKernels` runs the check before either implementation.
 */
export const SHAPE_CHECKS: { [Op in KernelOp]: (...args: Parameters<KernelOps[Op]>) => void } = {
  matmulForward(out, inp, weight, bias, N, C, OC) {
    checkShapes('matmulForward', { N, C, OC }, [
      ['out', out, '(N,OC)', N * OC],
      ['inp', inp, '(N,C)', N * C],
      ['weight', weight, '(OC,C)', OC * C],
      ['bias', bias, '(OC)', OC, true],
    ]);
  },

  matmulBackward(dinp, dweight, dbias, dout, inp, weight, N, C, OC) {
    checkShapes('matmulBackward', { N, C, OC }, [
      ['dinp', dinp, '(N,C)', N * C, true],
      ['dweight', dweight, '(OC,C)', OC * C, true],
      ['dbias', dbias, '(OC)', OC, true],
      ['dout', dout, '(N,OC)', N * OC],
      ['inp', inp, '(N,C)', N * C],
      ['weight', weight, '(OC,C)', OC * C],
    ]);
  },

  embeddingForward(out, ids, table, N, C, V) {
    checkEmbedding('embeddingForward', out, ids, table, N, C, V);
  },

  embeddingBackward(dtable, dout, ids, N, C, V) {
    checkEmbedding('embeddingBackward', dout, ids, dtable, N, C, V);
  },

  rmsnormForward(out, rstd, inp, weight, N, C, eps) {
    const dims = { N, C };
    checkShapes('rmsnormForward', dims, [
      ['out', out, '(N,C)', N * C],
      ['rstd', rstd, '(N)', N],
      ['inp', inp, '(N,C)', N * C],
      ['weight', weight, '(C)', C],
    ]);
    checkCondition(
      'rmsnormForward',
      dims,
      Number.isFinite(eps) && eps >= 0,
      `eps must be a finite number >= 0, got ${eps}`,
    );
  },

  rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C) {
    checkShapes('rmsnormBackward', { N, C }, [
      ['dinp', dinp, '(N,C)', N * C],
      ['dweight', dweight, '(C)', C],
      ['dout', dout, '(N,C)', N * C],
      ['inp', inp, '(N,C)', N * C],
      ['weight', weight, '(C)', C],
      ['rstd', rstd, '(N)', N],
    ]);
  },

  /** D must be even. */
  rope(out, inp, positions, N, H, D, theta) {
    const dims = { N, H, D };
    checkShapes('rope', dims, [
      ['out', out, '(N,H,D)', N * H * D],
      ['inp', inp, '(N,H,D)', N * H * D],
      ['positions', positions, '(N)', N],
    ]);
    checkCondition('rope', dims, D % 2 === 0, `D must be even, got ${D}`);
    checkCondition('rope', dims, Number.isFinite(theta) && theta > 0, `theta must be a positive number, got ${theta}`);
  },

  attentionForward(out, lse, q, k, v, B, T, H, KVH, D) {
    const dims = { B, T, H, KVH, D };
    checkShapes('attentionForward', dims, [
      ['out', out, '(B,T,H,D)', B * T * H * D],
      ['lse', lse, '(B,H,T)', B * H * T],
      ['q', q, '(B,T,H,D)', B * T * H * D],
      ['k', k, '(B,T,KVH,D)', B * T * KVH * D],
      ['v', v, '(B,T,KVH,D)', B * T * KVH * D],
    ]);
    checkHeads('attentionForward', dims, H, KVH);
  },

  attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, T, H, KVH, D) {
    const dims = { B, T, H, KVH, D };
    const queries = B * T * H * D;
    const keys = B * T * KVH * D;
    checkShapes('attentionBackward', dims, [
      ['dq', dq, '(B,T,H,D)', queries],
      ['dk', dk, '(B,T,KVH,D)', keys],
      ['dv', dv, '(B,T,KVH,D)', keys],
      ['dout', dout, '(B,T,H,D)', queries],
      ['q', q, '(B,T,H,D)', queries],
      ['k', k, '(B,T,KVH,D)', keys],
      ['v', v, '(B,T,KVH,D)', keys],
      ['out', out, '(B,T,H,D)', queries],
      ['lse', lse, '(B,H,T)', B * H * T],
    ]);
    checkHeads('attentionBackward', dims, H, KVH);
  },

  /** Offsets included: B+1 of them, non-decreasing from 0 to N. */
  packedAttentionForward(out, lse, q, k, v, offsets, B, N, H, KVH, D) {
    const dims = { B, N, H, KVH, D };
    checkShapes('packedAttentionForward', dims, [
      ['out', out, '(N,H,D)', N * H * D],
      ['lse', lse, '(N*H)', N * H],
      ['q', q, '(N,H,D)', N * H * D],
      ['k', k, '(N,KVH,D)', N * KVH * D],
      ['v', v, '(N,KVH,D)', N * KVH * D],
      ['offsets', offsets, '(B+1)', B + 1],
    ]);
    checkHeads('packedAttentionForward', dims, H, KVH);
    checkOffsets('packedAttentionForward', dims, offsets, B, N);
  },

  packedAttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, offsets, B, N, H, KVH, D) {
    const dims = { B, N, H, KVH, D };
    const queries = N * H * D;
    const keys = N * KVH * D;
    checkShapes('packedAttentionBackward', dims, [
      ['dq', dq, '(N,H,D)', queries],
      ['dk', dk, '(N,KVH,D)', keys],
      ['dv', dv, '(N,KVH,D)', keys],
      ['dout', dout, '(N,H,D)', queries],
      ['q', q, '(N,H,D)', queries],
      ['k', k, '(N,KVH,D)', keys],
      ['v', v, '(N,KVH,D)', keys],
      ['out', out, '(N,H,D)', queries],
      ['lse', lse, '(N*H)', N * H],
      ['offsets', offsets, '(B+1)', B + 1],
    ]);
    checkHeads('packedAttentionBackward', dims, H, KVH);
    checkOffsets('packedAttentionBackward', dims, offsets, B, N);
  },

  /** Slots and positions included. */
  kvCacheWrite(kcache, vcache, k, v, slots, positions, B, S, maxT, KVH, D) {
    const dims = { B, S, maxT, KVH, D };
    const cache = S * KVH * maxT * D;
    checkShapes('kvCacheWrite', dims, [
      ['kcache', kcache, '(S,KVH,maxT/16,D,16)', cache],
      ['vcache', vcache, '(S,KVH,maxT,D)', cache],
      ['k', k, '(B,KVH,D)', B * KVH * D],
      ['v', v, '(B,KVH,D)', B * KVH * D],
      ['slots', slots, '(B)', B],
      ['positions', positions, '(B)', B],
    ]);
    checkCacheLength('kvCacheWrite', dims, maxT);
    checkIndices('kvCacheWrite', dims, 'slots', slots, B, S, 'S');
    checkIndices('kvCacheWrite', dims, 'positions', positions, B, maxT, 'maxT');
  },

  /** Slots and positions included; k and v both given or both null. */
  attentionCached(out, q, k, v, kcache, vcache, slots, positions, B, S, maxT, H, KVH, D) {
    const dims = { B, S, maxT, H, KVH, D };
    const cache = S * KVH * maxT * D;
    checkShapes('attentionCached', dims, [
      ['out', out, '(B,H,D)', B * H * D],
      ['q', q, '(B,H,D)', B * H * D],
      ['k', k, '(B,KVH,D)', B * KVH * D, true],
      ['v', v, '(B,KVH,D)', B * KVH * D, true],
      ['kcache', kcache, '(S,KVH,maxT/16,D,16)', cache],
      ['vcache', vcache, '(S,KVH,maxT,D)', cache],
      ['slots', slots, '(B)', B],
      ['positions', positions, '(B)', B],
    ]);
    checkCondition(
      'attentionCached',
      dims,
      (k === null) === (v === null),
      'k and v must both be given or both be null',
    );
    checkHeads('attentionCached', dims, H, KVH);
    checkCacheLength('attentionCached', dims, maxT);
    checkIndices('attentionCached', dims, 'slots', slots, B, S, 'S');
    checkIndices('attentionCached', dims, 'positions', positions, B, maxT, 'maxT');
  },

  swigluForward(out, gate, up, n) {
    checkElementwise('swigluForward', n, [
      ['out', out],
      ['gate', gate],
      ['up', up],
    ]);
  },

  swigluBackward(dgate, dup, dout, gate, up, n) {
    checkElementwise('swigluBackward', n, [
      ['dgate', dgate],
      ['dup', dup],
      ['dout', dout],
      ['gate', gate],
      ['up', up],
    ]);
  },

  add(out, a, b, n) {
    checkElementwise('add', n, [
      ['out', out],
      ['a', a],
      ['b', b],
    ]);
  },

  /** Targets included. */
  logprobsForward(logprobs, lse, entropy, logits, targets, N, V, invTemperature) {
    checkLogprobs(
      'logprobsForward',
      [
        ['logprobs', logprobs, '(N)', N],
        ['lse', lse, '(N)', N],
        ['entropy', entropy, '(N)', N, true],
      ],
      logits,
      targets,
      N,
      V,
      invTemperature,
    );
  },

  /** Targets included. */
  logprobsBackward(dlogits, dlogprobs, logits, lse, targets, N, V, invTemperature) {
    checkLogprobs(
      'logprobsBackward',
      [
        ['dlogits', dlogits, '(N,V)', N * V],
        ['dlogprobs', dlogprobs, '(N)', N],
        ['lse', lse, '(N)', N],
      ],
      logits,
      targets,
      N,
      V,
      invTemperature,
    );
  },

  /** Uniforms in [0,1], topK an integer, topP in (0,1]. */
  sampleTokens(tokens, logprobs, logits, uniforms, N, V, invTemperature, topK, topP) {
    const dims = { N, V };
    checkShapes('sampleTokens', dims, [
      ['tokens', tokens, '(N)', N],
      ['logprobs', logprobs, '(N)', N],
      ['logits', logits, '(N,V)', N * V],
      ['uniforms', uniforms, '(N)', N],
    ]);
    checkCondition('sampleTokens', dims, N === 0 || V > 0, 'V must be > 0');
    checkCondition(
      'sampleTokens',
      dims,
      Number.isFinite(invTemperature) && invTemperature > 0,
      `invTemperature must be a positive finite number, got ${invTemperature}`,
    );
    checkCondition('sampleTokens', dims, Number.isSafeInteger(topK), `topK must be an integer, got ${topK}`);
    checkCondition('sampleTokens', dims, topP > 0 && topP <= 1, `topP must be in (0, 1], got ${topP}`);
    for (let n = 0; n < N; n++) {
      const u = uniforms[n]!;
      if (!(u >= 0 && u <= 1))
        throw new ShapeError(`sampleTokens(N=${N}, V=${V}): uniforms[${n}]=${u} is outside [0, 1]`);
    }
  },

  /** step >= 1, 0 <= beta < 1. */
  adamw(params, grads, m, v, n, _lr, beta1, beta2, _eps, _weightDecay, step) {
    checkElementwise('adamw', n, [
      ['params', params],
      ['grads', grads],
      ['m', m],
      ['v', v],
    ]);
    checkCondition(
      'adamw',
      { n },
      Number.isSafeInteger(step) && step >= 1,
      `step must be an integer >= 1, got ${step}`,
    );
    checkCondition(
      'adamw',
      { n },
      beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1,
      `betas must lie in [0, 1), got ${beta1}, ${beta2}`,
    );
  },

  sumSquares(x, n) {
    checkElementwise('sumSquares', n, [['x', x]]);
  },
};

type AnyOp = (...args: unknown[]) => unknown;

/**
 * Kernels named `name` from one implementation of every op: each op runs its SHAPE_CHECKS entry,
 * then `ops`' function of the same name. Throws when `ops` lacks one (e.g. an addon built before
 * the op was added).
 */
export function checkedKernels(name: string, threads: number, ops: KernelOps): Kernels {
  const kernels: Record<string, unknown> = { name, threads };
  for (const op of Object.keys(SHAPE_CHECKS) as KernelOp[]) {
    const check = SHAPE_CHECKS[op] as AnyOp;
    const run = ops[op] as AnyOp | undefined;
    if (typeof run !== 'function') throw new Error(`the ${name} kernels have no ${op}`);
    kernels[op] = (...args: unknown[]) => {
      check(...args);
      return run(...args);
    };
  }
  return kernels as unknown as Kernels;
}
