import { describe, expect, it } from 'vitest';
import { ShapeError } from '../errors.js';
import { KvCache } from './kv-cache.js';

describe('KvCache', () => {
  const dims = { L: 2, KVH: 2, D: 64 } as ConstructorParameters<typeof KvCache>[0];
  const allocate = (length: number) => new Float32Array(length);

  it('allocates K and V for every layer', () => {
    const cache = new KvCache(dims, 3, 20, allocate);
    expect(cache.bytes).toBe(2 * 2 * 3 * 2 * 32 * 64 * 4);
  });

  it('refuses, naming slots and positions, a cache larger than one array holds (before allocating)', () => {
    const never = () => {
      throw new Error('allocated');
    };
    expect(() => new KvCache(dims, 1_000_000_032, 512, never)).toThrow(ShapeError);
    expect(() => new KvCache(dims, 1_000_000_032, 512, never)).toThrow(/1000000032 slots x 512 positions x 128/);
  });
});
