/**
 * Chooses the engine's Kernels: the native addon when it is built and loads, else the TypeScript
 * reference with a one-time warning that says why. `TURNWISE_KERNELS=reference` forces the
 * reference; `TURNWISE_KERNELS=native` makes a missing addon an error instead of a fallback.
 */

import { ConfigError } from '../../errors.js';
import type { Kernels } from './kernels.js';
import { createNativeKernels, defaultThreadCount, loadNativeAddon } from './native.js';
import { referenceKernels } from './reference/index.js';

/** Options of loadKernels. */
export interface LoadKernelsOptions {
  /** Which implementation to use when both are available (default 'native'). */
  prefer?: 'native' | 'reference';
  /** Worker threads of the native kernels (default `TURNWISE_THREADS`, else every core). */
  threads?: number;
}

let nativeKernels: Kernels | undefined;
let nativeFailure: string | undefined;
let warned = false;

function environmentChoice(): 'native' | 'reference' | undefined {
  const value = process.env['TURNWISE_KERNELS'];
  if (value === undefined || value === '') return undefined;
  if (value === 'native' || value === 'reference') return value;
  throw new ConfigError(`TURNWISE_KERNELS must be 'native' or 'reference', got '${value}'`);
}

/** The reason the native kernels are unavailable, or undefined when they load. */
export function nativeKernelsUnavailableReason(): string | undefined {
  tryLoadNative(defaultThreadCount());
  return nativeFailure;
}

function tryLoadNative(threads: number): Kernels | undefined {
  if (nativeKernels !== undefined && nativeKernels.threads === threads) return nativeKernels;
  if (nativeFailure !== undefined) return undefined;
  try {
    nativeKernels = createNativeKernels(loadNativeAddon(), threads);
    return nativeKernels;
  } catch (error) {
    nativeFailure = error instanceof Error ? error.message : String(error);
    return undefined;
  }
}

/** Returns the native kernels when available (and not overridden), else the reference kernels. */
export function loadKernels(options: LoadKernelsOptions = {}): Kernels {
  const forced = environmentChoice();
  const choice = forced ?? options.prefer ?? 'native';
  if (choice === 'reference') return referenceKernels;
  const kernels = tryLoadNative(options.threads ?? defaultThreadCount());
  if (kernels !== undefined) return kernels;
  if (forced === 'native') throw new ConfigError(`TURNWISE_KERNELS=native but ${nativeFailure}`);
  if (!warned) {
    warned = true;
    process.emitWarning(`turnwise: using the slow TypeScript reference kernels because ${nativeFailure}`, {
      code: 'TURNWISE_KERNELS_FALLBACK',
    });
  }
  return referenceKernels;
}
