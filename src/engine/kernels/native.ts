/**
 * The native Kernels: the C addon built by node-gyp at install (`build/Release/turnwise_kernels.node`),
 * wrapped so every call is validated by the shared shape checks (throwing `ShapeError`) before the
 * addon runs; the addon validates again itself and never writes past a buffer. Native kernels take
 * Float32Array buffers only; attention with a head dimension above 256 runs the reference code.
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../errors.js';
import type { KernelOps, Kernels } from './kernels.js';
import { attentionCached } from './reference/attention-cached.js';
import {
  attentionBackward,
  attentionForward,
  packedAttentionBackward,
  packedAttentionForward,
} from './reference/attention.js';
import { checkedKernels } from './shape-checks.js';

/** The functions the C addon exports (same argument order as Kernels) plus its configuration calls. */
export interface NativeAddon extends KernelOps {
  /** Starts (or resizes) the thread pool; returns the number of threads in use. */
  configure(threads: number): number;
  /** The instruction set in use and the ones this CPU supports. */
  info(): { simd: string; supported: string[]; threads: number };
  /** Forces an instruction-set path ('avx512', 'avx2' or 'generic'); returns the one now in use. */
  setSimd(level: string): string;
}

/**
 * The largest head dimension the C attention handles (MAX_HEAD_DIM in native/simd.h); larger ones run the reference.
 */
export const NATIVE_MAX_HEAD_DIM = 256;

/** Where node-gyp puts the addon, relative to the package root. */
export const NATIVE_ADDON_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'build',
  'Release',
  'turnwise_kernels.node',
);

/** Loads the addon, throwing an Error that says why when it is missing or does not load. */
export function loadNativeAddon(path = NATIVE_ADDON_PATH): NativeAddon {
  if (!existsSync(path))
    throw new Error(
      `the native addon is not built (no ${path}; build it with \`npm rebuild turnwise\` in a project that ` +
        'installed turnwise, `npm run install` in a checkout of turnwise)',
    );
  const require = createRequire(import.meta.url);
  try {
    return require(path) as NativeAddon;
  } catch (error) {
    throw new Error(
      `the native addon at ${path} failed to load: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Threads from `TURNWISE_THREADS` when set, else every core. */
export function defaultThreadCount(): number {
  const value = process.env['TURNWISE_THREADS'];
  if (value === undefined || value === '') return availableParallelism();
  const threads = Number(value);
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new ConfigError(`TURNWISE_THREADS must be an integer in [1, 256], got '${value}'`);
  }
  return threads;
}

/** Wraps the addon as Kernels, validating every call with the shared shape checks first. */
export function createNativeKernels(addon: NativeAddon, threads = defaultThreadCount()): Kernels {
  const used = addon.configure(threads);
  return checkedKernels('native', used, { ...addon, ...headDimFallbacks(addon) });
}

/** The addon's attention ops, except that a head dimension above NATIVE_MAX_HEAD_DIM runs the reference code. */
function headDimFallbacks(
  addon: NativeAddon,
): Pick<
  KernelOps,
  'attentionForward' | 'attentionBackward' | 'attentionCached' | 'packedAttentionForward' | 'packedAttentionBackward'
> {
  return {
    attentionForward(out, lse, q, k, v, B, T, H, KVH, D) {
      if (D > NATIVE_MAX_HEAD_DIM) return attentionForward(out, lse, q, k, v, B, T, H, KVH, D);
      addon.attentionForward(out, lse, q, k, v, B, T, H, KVH, D);
    },
    attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, T, H, KVH, D) {
      if (D > NATIVE_MAX_HEAD_DIM) return attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, T, H, KVH, D);
      addon.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, T, H, KVH, D);
    },
    packedAttentionForward(out, lse, q, k, v, offsets, B, N, H, KVH, D) {
      if (D > NATIVE_MAX_HEAD_DIM) return packedAttentionForward(out, lse, q, k, v, offsets, B, N, H, KVH, D);
      addon.packedAttentionForward(out, lse, q, k, v, offsets, B, N, H, KVH, D);
    },
    packedAttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, offsets, B, N, H, KVH, D) {
      if (D > NATIVE_MAX_HEAD_DIM)
        return packedAttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, offsets, B, N, H, KVH, D);
      addon.packedAttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, offsets, B, N, H, KVH, D);
    },
    attentionCached(out, q, k, v, kcache, vcache, slots, positions, B, S, maxT, H, KVH, D) {
      if (D > NATIVE_MAX_HEAD_DIM)
        return attentionCached(out, q, k, v, kcache, vcache, slots, positions, B, S, maxT, H, KVH, D);
      addon.attentionCached(out, q, k, v, kcache, vcache, slots, positions, B, S, maxT, H, KVH, D);
    },
  };
}
