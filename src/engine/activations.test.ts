import { describe, expect, it } from 'vitest';
import { ActivationArena } from './activations.js';
import type { ModelDims } from './model-config.js';

const dims = { L: 2, C: 8, H: 2, KVH: 1, D: 4, F: 16, V: 32 } as ModelDims;

describe('ActivationArena', () => {
  it('hands out exact-size views for each shape', () => {
    const arena = new ActivationArena(dims, (n) => new Float32Array(n));
    const a = arena.get(3, 5);
    expect(a.logits.length).toBe(15 * 32);
    expect(a.layers[1]!.gate.length).toBe(15 * 16);
    expect(Array.from(a.positions)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
    const packed = arena.get(1, 6, [0, 2, 6]);
    expect(Array.from(packed.positions)).toEqual([0, 1, 0, 1, 2, 3]);
  });

  it('grows ahead of the largest batch, so batches a little longer than the last reuse its buffers', () => {
    let allocations = 0;
    const arena = new ActivationArena(dims, (n) => {
      allocations++;
      return new Float32Array(n);
    });
    const first = arena.get(1, 16_259).logits.buffer;
    const perBuild = allocations;
    expect(perBuild).toBeGreaterThan(0);
    // Packed micro-batches vary by a few tokens from step to step: no new buffers for those.
    for (const N of [16_331, 16_198, 17_000, 20_224]) expect(arena.get(1, N).logits.buffer).toBe(first);
    expect(allocations).toBe(perBuild);
    // Past the capacity, it grows once (with headroom again) and then holds again.
    const grown = arena.get(1, 20_481).logits.buffer;
    expect(grown).not.toBe(first);
    expect(allocations).toBe(2 * perBuild);
    expect(arena.get(1, 25_000).logits.buffer).toBe(grown);
    arena.clear();
    expect(arena.get(1, 10).logits.buffer).not.toBe(grown);
  });
});
