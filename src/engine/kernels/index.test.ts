// loadKernels: the choice between the native and the reference kernels.
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.js';
import { loadKernels, nativeKernelsUnavailableReason } from './index.js';
import { referenceKernels } from './reference/index.js';

const saved = process.env['TURNWISE_KERNELS'];
afterEach(() => {
  if (saved === undefined) delete process.env['TURNWISE_KERNELS'];
  else process.env['TURNWISE_KERNELS'] = saved;
});

describe('loadKernels', () => {
  it('returns the reference when preferred or forced by TURNWISE_KERNELS=reference', () => {
    delete process.env['TURNWISE_KERNELS'];
    expect(loadKernels({ prefer: 'reference' })).toBe(referenceKernels);
    process.env['TURNWISE_KERNELS'] = 'reference';
    expect(loadKernels({ prefer: 'native' })).toBe(referenceKernels);
  });

  it('rejects an unknown TURNWISE_KERNELS value with a ConfigError', () => {
    process.env['TURNWISE_KERNELS'] = 'gpu';
    expect(() => loadKernels()).toThrow(ConfigError);
    expect(() => loadKernels()).toThrow(/TURNWISE_KERNELS must be 'native' or 'reference', got 'gpu'/);
  });

  it('returns the native kernels when the addon is built, else the reference', () => {
    delete process.env['TURNWISE_KERNELS'];
    const reason = nativeKernelsUnavailableReason();
    const kernels = loadKernels({ threads: 2 });
    expect(kernels.name).toBe(reason === undefined ? 'native' : 'reference');
    if (reason === undefined) expect(kernels.threads).toBe(2);
  });
});
