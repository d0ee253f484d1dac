import { describe, expect, it } from 'vitest';
import { Random } from './random.js';

describe('Random', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = new Random(42),
      b = new Random(42),
      c = new Random(43);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(xs);
  });

  it('resumes exactly from a saved state', () => {
    const a = new Random(7);
    for (let i = 0; i < 10; i++) a.next();
    const state = a.getState();
    const expected = Array.from({ length: 5 }, () => a.next());
    const b = new Random(state);
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(expected);
  });

  it('draws uniform floats in [0, 1) and integers in range with roughly uniform frequency', () => {
    const r = new Random(1);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const x = r.next();
      expect(x >= 0 && x < 1).toBe(true);
      counts[r.int(10)]++;
    }
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  it('draws normals with mean 0 and variance 1', () => {
    const r = new Random(3);
    let s = 0,
      s2 = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.01);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
  });

  it('rejects malformed states and bad int bounds', () => {
    expect(() => new Random([1, 2, 3] as never)).toThrow(/four 32-bit/);
    expect(() => new Random(1).int(0)).toThrow(/positive integer/);
  });
});
