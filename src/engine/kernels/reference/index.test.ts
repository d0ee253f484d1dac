// Finite-difference (float64) and golden-value tests of the reference kernels.
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../../errors.js';
import { Random } from '../../../random.js';
import { KEY_TILE, keyCacheIndex } from '../kernels.js';
import { referenceKernels as K } from './index.js';
import { RowSampler } from './sampling.js';
import {
  difference,
  maxRelativeError,
  numericGradient,
  randomFloat64,
  randomInts,
  weightedSum,
} from '../test-helpers.js';

const TOLERANCE = 1e-7;

/** Checks that backward's accumulated delta into `gradient` equals the numeric gradient of loss() w.r.t. x. */
function expectGradient(
  gradientAfter: Float64Array,
  gradientBefore: Float64Array,
  loss: () => number,
  x: Float64Array,
): void {
  const numeric = numericGradient(loss, x);
  expect(maxRelativeError(difference(gradientAfter, gradientBefore), numeric)).toBeLessThan(TOLERANCE);
}

describe('reference matmul', () => {
  for (const withBias of [true, false]) {
    it(`backward matches finite differences ${withBias ? 'with' : 'without'} bias`, () => {
      const random = new Random(1);
      const [N, C, OC] = [3, 5, 4];
      const inp = randomFloat64(random, N * C);
      const weight = randomFloat64(random, OC * C);
      const bias = withBias ? randomFloat64(random, OC) : null;
      const dout = randomFloat64(random, N * OC);
      const out = new Float64Array(N * OC);
      const loss = () => (K.matmulForward(out, inp, weight, bias, N, C, OC), weightedSum(out, dout));
      const dinp0 = randomFloat64(random, N * C);
      const dweight0 = randomFloat64(random, OC * C);
      const dbias0 = randomFloat64(random, OC);
      const [dinp, dweight, dbias] = [dinp0.slice(), dweight0.slice(), dbias0.slice()];
      K.matmulBackward(dinp, dweight, withBias ? dbias : null, dout, inp, weight, N, C, OC);
      expectGradient(dinp, dinp0, loss, inp);
      expectGradient(dweight, dweight0, loss, weight);
      if (bias) expectGradient(dbias, dbias0, loss, bias);
      else expect(dbias).toEqual(dbias0);
    });
  }

  it('skips the gradients passed as null', () => {
    const random = new Random(2);
    const dweight = new Float64Array(6);
    K.matmulBackward(
      null,
      dweight,
      null,
      randomFloat64(random, 4),
      randomFloat64(random, 6),
      randomFloat64(random, 6),
      2,
      3,
      2,
    );
    expect(dweight.some((x) => x !== 0)).toBe(true);
  });
});

describe('reference embedding', () => {
  it('gathers rows and scatter-adds repeated ids in the backward', () => {
    const random = new Random(3);
    const [N, C, V] = [5, 3, 4];
    const table = randomFloat64(random, V * C);
    const ids = Int32Array.from([1, 3, 1, 0, 1]);
    const dout = randomFloat64(random, N * C);
    const out = new Float64Array(N * C);
    const loss = () => (K.embeddingForward(out, ids, table, N, C, V), weightedSum(out, dout));
    const dtable0 = randomFloat64(random, V * C);
    const dtable = dtable0.slice();
    K.embeddingBackward(dtable, dout, ids, N, C, V);
    expectGradient(dtable, dtable0, loss, table);
    loss();
    expect(Array.from(out.subarray(3, 6))).toEqual(Array.from(table.subarray(9, 12)));
  });
});

describe('reference rmsnorm', () => {
  it('normalises to unit root mean square and matches finite differences', () => {
    const random = new Random(4);
    const [N, C, eps] = [3, 7, 1e-5];
    const inp = randomFloat64(random, N * C);
    const weight = randomFloat64(random, C);
    const dout = randomFloat64(random, N * C);
    const out = new Float64Array(N * C);
    const rstd = new Float64Array(N);
    const loss = () => (K.rmsnormForward(out, rstd, inp, weight, N, C, eps), weightedSum(out, dout));
    loss();
    let meanSquare = 0;
    for (let c = 0; c < C; c++) meanSquare += inp[c]! ** 2 / C;
    expect(rstd[0]).toBeCloseTo(1 / Math.sqrt(meanSquare + eps), 12);
    const dinp0 = randomFloat64(random, N * C);
    const dweight0 = randomFloat64(random, C);
    const [dinp, dweight] = [dinp0.slice(), dweight0.slice()];
    K.rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C);
    expectGradient(dinp, dinp0, loss, inp);
    expectGradient(dweight, dweight0, loss, weight);
  });
});

describe('reference rope', () => {
  it('rotates pairs (i, i + D/2) by position * theta^(-2i/D), the Hugging Face rotate_half convention', () => {
    const inp = Float64Array.from([1, 2, 3, 4]); // N=1, H=1, D=4: pairs (1,3) and (2,4)
    const out = new Float64Array(4);
    K.rope(out, inp, Int32Array.from([3]), 1, 1, 4, 100, false);
    const a0 = 3;
    const a1 = 3 * 100 ** (-2 / 4);
    const expected = [
      1 * Math.cos(a0) - 3 * Math.sin(a0),
      2 * Math.cos(a1) - 4 * Math.sin(a1),
      3 * Math.cos(a0) + 1 * Math.sin(a0),
      4 * Math.cos(a1) + 2 * Math.sin(a1),
    ];
    expect(maxRelativeError(out, Float64Array.from(expected))).toBeLessThan(1e-14);
  });

  it('is undone by its inverse, also in place, and its backward is the inverse', () => {
    const random = new Random(5);
    const [N, H, D, theta] = [4, 3, 8, 10000];
    const inp = randomFloat64(random, N * H * D);
    const positions = Int32Array.from([0, 5, 17, 255]);
    const rotated = new Float64Array(inp.length);
    K.rope(rotated, inp, positions, N, H, D, theta, false);
    const restored = rotated.slice();
    K.rope(restored, restored, positions, N, H, D, theta, true);
    expect(maxRelativeError(restored, inp)).toBeLessThan(1e-14);
    const dout = randomFloat64(random, N * H * D);
    const loss = () => (K.rope(rotated, inp, positions, N, H, D, theta, false), weightedSum(rotated, dout));
    const dinp = new Float64Array(inp.length);
    K.rope(dinp, dout, positions, N, H, D, theta, true);
    expectGradient(dinp, new Float64Array(inp.length), loss, inp);
  });
});

describe('reference attention', () => {
  const cases = [
    { B: 2, T: 5, H: 4, KVH: 2, D: 6 },
    { B: 1, T: 4, H: 2, KVH: 2, D: 4 },
    { B: 1, T: 3, H: 3, KVH: 1, D: 2 },
  ];
  for (const { B, T, H, KVH, D } of cases) {
    it(`backward matches finite differences (B=${B} T=${T} H=${H} KVH=${KVH} D=${D})`, () => {
      const random = new Random(6 + KVH);
      const q = randomFloat64(random, B * T * H * D);
      const k = randomFloat64(random, B * T * KVH * D);
      const v = randomFloat64(random, B * T * KVH * D);
      const dout = randomFloat64(random, B * T * H * D);
      const out = new Float64Array(q.length);
      const lse = new Float64Array(B * H * T);
      const loss = () => (K.attentionForward(out, lse, q, k, v, B, T, H, KVH, D), weightedSum(out, dout));
      loss();
      const dq0 = randomFloat64(random, q.length);
      const dk0 = randomFloat64(random, k.length);
      const dv0 = randomFloat64(random, v.length);
      const [dq, dk, dv] = [dq0.slice(), dk0.slice(), dv0.slice()];
      K.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, T, H, KVH, D);
      expectGradient(dq, dq0, loss, q);
      expectGradient(dk, dk0, loss, k);
      expectGradient(dv, dv0, loss, v);
    });
  }

  it('lets the first position see only itself and stores the log-sum-exp of the scaled scores', () => {
    const random = new Random(9);
    const [B, T, H, KVH, D] = [1, 2, 1, 1, 3];
    const q = randomFloat64(random, 6);
    const k = randomFloat64(random, 6);
    const v = randomFloat64(random, 6);
    const out = new Float64Array(6);
    const lse = new Float64Array(2);
    K.attentionForward(out, lse, q, k, v, B, T, H, KVH, D);
    expect(Array.from(out.subarray(0, 3))).toEqual(Array.from(v.subarray(0, 3)));
    const score = (t: number, j: number) =>
      (q[t * 3]! * k[j * 3]! + q[t * 3 + 1]! * k[j * 3 + 1]! + q[t * 3 + 2]! * k[j * 3 + 2]!) / Math.sqrt(3);
    expect(lse[1]).toBeCloseTo(Math.log(Math.exp(score(1, 0)) + Math.exp(score(1, 1))), 12);
  });

  it('packed attention equals the attention of each sequence alone; gradients match finite differences', () => {
    const random = new Random(11);
    const [H, KVH, D] = [4, 2, 3];
    const lengths = [4, 0, 1, 3];
    const offsets = Int32Array.from([0, 4, 4, 5, 8]);
    const [B, N] = [lengths.length, 8];
    const q = randomFloat64(random, N * H * D);
    const k = randomFloat64(random, N * KVH * D);
    const v = randomFloat64(random, N * KVH * D);
    const dout = randomFloat64(random, N * H * D);
    const out = new Float64Array(q.length);
    const lse = new Float64Array(N * H);
    const loss = () => (K.packedAttentionForward(out, lse, q, k, v, offsets, B, N, H, KVH, D), weightedSum(out, dout));
    loss();
    for (let b = 0; b < B; b++) {
      const [start, T] = [offsets[b]!, lengths[b]!];
      const rows = (x: Float64Array, heads: number) => x.slice(start * heads * D, (start + T) * heads * D);
      const [alone, aloneLse] = [new Float64Array(T * H * D), new Float64Array(H * T)];
      K.attentionForward(alone, aloneLse, rows(q, H), rows(k, KVH), rows(v, KVH), 1, T, H, KVH, D);
      expect(Array.from(rows(out, H))).toEqual(Array.from(alone));
      expect(Array.from(lse.subarray(start * H, (start + T) * H))).toEqual(Array.from(aloneLse));
    }
    const dq0 = randomFloat64(random, q.length);
    const dk0 = randomFloat64(random, k.length);
    const dv0 = randomFloat64(random, v.length);
    const [dq, dk, dv] = [dq0.slice(), dk0.slice(), dv0.slice()];
    K.packedAttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, offsets, B, N, H, KVH, D);
    expectGradient(dq, dq0, loss, q);
    expectGradient(dk, dk0, loss, k);
    expectGradient(dv, dv0, loss, v);
  });

  it('packed attention refuses offsets that do not split N rows in order', () => {
    const out = new Float64Array(16);
    expect(() => K.packedAttentionForward(out, out, out, out, out, Int32Array.from([1, 2]), 1, 2, 1, 1, 2)).toThrow(
      /packedAttentionForward.*offsets\[0\] must be 0, got 1/,
    );
    expect(() => K.packedAttentionForward(out, out, out, out, out, Int32Array.from([0, 3, 2]), 2, 2, 1, 1, 2)).toThrow(
      /offsets must not decrease/,
    );
  });

  it('attentionCached equals the attentionForward rows for the same keys and values', () => {
    const random = new Random(10);
    const [B, T, H, KVH, D, maxT] = [2, 20, 4, 2, 4, 32];
    const q = randomFloat64(random, B * T * H * D);
    const k = randomFloat64(random, B * T * KVH * D);
    const v = randomFloat64(random, B * T * KVH * D);
    const out = new Float64Array(q.length);
    K.attentionForward(out, new Float64Array(B * H * T), q, k, v, B, T, H, KVH, D);
    // Cache slots in reverse order (slot S-1-b holds sequence b), extra slot unused, the rest random.
    const S = 3;
    const kcache = randomFloat64(random, S * KVH * maxT * D);
    const vcache = randomFloat64(random, S * KVH * maxT * D);
    const slots = new Int32Array(B * T);
    const positions = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) [slots[b * T + t], positions[b * T + t]] = [S - 1 - b, t];
    K.kvCacheWrite(kcache, vcache, k, v, slots, positions, B * T, S, maxT, KVH, D);
    const cached = new Float64Array(q.length);
    K.attentionCached(cached, q, null, null, kcache, vcache, slots, positions, B * T, S, maxT, H, KVH, D);
    expect(maxRelativeError(cached, out)).toBeLessThan(1e-13);
  });

  it('kvCacheWrite stores keys transposed by tiles of KEY_TILE positions and values row-major', () => {
    const [S, maxT, KVH, D] = [2, 32, 2, 3];
    const kcache = new Float64Array(S * KVH * maxT * D);
    const vcache = new Float64Array(S * KVH * maxT * D);
    // Row 0 -> slot 1, position 17 (tile 1, lane 1); row 1 -> slot 0, position 2.
    const k = Float64Array.from({ length: 2 * KVH * D }, (_, i) => 1 + i);
    const v = Float64Array.from({ length: 2 * KVH * D }, (_, i) => -1 - i);
    K.kvCacheWrite(kcache, vcache, k, v, Int32Array.from([1, 0]), Int32Array.from([17, 2]), 2, S, maxT, KVH, D);
    for (const [row, slot, position] of [
      [0, 1, 17],
      [1, 0, 2],
    ] as const) {
      for (let h = 0; h < KVH; h++) {
        for (let d = 0; d < D; d++) {
          const key =
            ((slot * KVH + h) * maxT + position - (position % KEY_TILE)) * D + d * KEY_TILE + (position % KEY_TILE);
          expect(keyCacheIndex(slot, h, position, d, maxT, KVH, D)).toBe(key);
          expect(kcache[key]).toBe(k[(row * KVH + h) * D + d]);
          expect(vcache[((slot * KVH + h) * maxT + position) * D + d]).toBe(v[(row * KVH + h) * D + d]);
        }
      }
    }
    let written = 0;
    for (let i = 0; i < kcache.length; i++) written += (kcache[i] !== 0 ? 1 : 0) + (vcache[i] !== 0 ? 1 : 0);
    expect(written).toBe(2 * 2 * KVH * D);
    expect(() =>
      K.kvCacheWrite(kcache, vcache, k, v, Int32Array.from([0]), Int32Array.from([0]), 1, S, 24, KVH, D),
    ).toThrow(/kvCacheWrite.*maxT must be a multiple of the key tile 16, got 24/);
  });
});

describe('reference sampleTokens', () => {
  it('draws each row like TokenSampler at the same uniform and reports the logprobsForward logprob', () => {
    const random = new Random(13);
    const [N, V] = [20, 40];
    const logits = randomFloat64(random, N * V, 2);
    const uniforms = Float64Array.from({ length: N }, () => random.next());
    for (const filter of [
      { temperature: 1, topK: 0, topP: 1 },
      { temperature: 0.7, topK: 5, topP: 1 },
      { temperature: 1.3, topK: 0, topP: 0.8 },
    ]) {
      const tokens = new Int32Array(N);
      const logprobs = new Float64Array(N);
      K.sampleTokens(tokens, logprobs, logits, uniforms, N, V, 1 / filter.temperature, filter.topK, filter.topP);
      const rows = new RowSampler(V);
      for (let n = 0; n < N; n++) expect(tokens[n]).toBe(rows.draw(logits, n * V, filter, uniforms[n]!).token);
      const [expected, lse] = [new Float64Array(N), new Float64Array(N)];
      K.logprobsForward(expected, lse, null, logits, tokens, N, V, 1 / filter.temperature);
      expect(maxRelativeError(logprobs, expected)).toBeLessThan(1e-12);
      if (filter.topK > 0) {
        // Every draw is among the row's topK most likely tokens.
        for (let n = 0; n < N; n++) {
          const row = Array.from(logits.subarray(n * V, (n + 1) * V));
          const better = row.filter((x) => x > row[tokens[n]!]!).length;
          expect(better).toBeLessThan(filter.topK);
        }
      }
    }
  });

  it('never reports a logprob above 0, when the lse it is given is a float32 rounding low', () => {
    // A token of probability ~1: logit 30, the others 0. Its true logprob is -V e^-30 (about -1e-11),
    // and an lse from a float32 kernel can be a few ulps (2e-6 at 30) below the true one.
    const V = 16;
    const logits = new Float64Array(V);
    logits[3] = 30;
    const trueLse = 30 + Math.log1p((V - 1) * Math.exp(-30));
    const low = Math.fround(trueLse) - 2e-6;
    const draw = new RowSampler(V).draw(logits, 0, { temperature: 1, topK: 0, topP: 1 }, 0.5, low);
    expect(draw.token).toBe(3);
    expect(draw.logprob).toBe(0);
    const exact = new RowSampler(V).draw(logits, 0, { temperature: 1, topK: 0, topP: 1 }, 0.5, trueLse);
    expect(exact.logprob).toBeLessThan(0);
  });

  it('rejects uniforms outside [0, 1] and a topP outside (0, 1] with a ShapeError naming the kernel', () => {
    const out = new Float64Array(4);
    expect(() => K.sampleTokens(new Int32Array(1), out, out, Float64Array.from([-0.1]), 1, 4, 1, 0, 1)).toThrow(
      /sampleTokens\(N=1, V=4\): uniforms\[0\]=-0.1 is outside \[0, 1\]/,
    );
    expect(() => K.sampleTokens(new Int32Array(1), out, out, Float64Array.from([0.5]), 1, 4, 1, 0, 1.5)).toThrow(
      ShapeError,
    );
  });
});

describe('reference swiglu', () => {
  it('backward matches finite differences', () => {
    const random = new Random(11);
    const n = 9;
    const gate = randomFloat64(random, n, 2);
    const up = randomFloat64(random, n);
    const dout = randomFloat64(random, n);
    const out = new Float64Array(n);
    const loss = () => (K.swigluForward(out, gate, up, n), weightedSum(out, dout));
    const dgate0 = randomFloat64(random, n);
    const dup0 = randomFloat64(random, n);
    const [dgate, dup] = [dgate0.slice(), dup0.slice()];
    K.swigluBackward(dgate, dup, dout, gate, up, n);
    expectGradient(dgate, dgate0, loss, gate);
    expectGradient(dup, dup0, loss, up);
  });
});

describe('reference logprobs', () => {
  for (const temperature of [1, 0.7, 1.6]) {
    it(`gives normalised logprobs, the entropy and a finite-difference backward at temperature ${temperature}`, () => {
      const random = new Random(12);
      const [N, V] = [3, 6];
      const invT = 1 / temperature;
      const logits = randomFloat64(random, N * V, 3);
      const targets = randomInts(random, N, V);
      const logprobs = new Float64Array(N);
      const lse = new Float64Array(N);
      const entropy = new Float64Array(N);
      const dlogprobs = randomFloat64(random, N);
      const loss = () => (
        K.logprobsForward(logprobs, lse, null, logits, targets, N, V, invT), weightedSum(logprobs, dlogprobs)
      );
      K.logprobsForward(logprobs, lse, entropy, logits, targets, N, V, invT);
      for (let n = 0; n < N; n++) {
        let total = 0;
        let expectedEntropy = 0;
        for (let i = 0; i < V; i++) {
          const logp = logits[n * V + i]! * invT - lse[n]!;
          total += Math.exp(logp);
          expectedEntropy -= Math.exp(logp) * logp;
        }
        expect(total).toBeCloseTo(1, 12);
        expect(entropy[n]).toBeCloseTo(expectedEntropy, 12);
        expect(logprobs[n]).toBeCloseTo(logits[n * V + targets[n]!]! * invT - lse[n]!, 12);
      }
      const dlogits0 = randomFloat64(random, N * V);
      const dlogits = dlogits0.slice();
      K.logprobsBackward(dlogits, dlogprobs, logits, lse, targets, N, V, invT);
      expectGradient(dlogits, dlogits0, loss, logits);
    });
  }
});

describe('reference adamw and vector kernels', () => {
  it('matches two hand-computed torch.optim.AdamW steps', () => {
    // lr 0.1, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01; grads 0.5 then -0.25 with gradScale 2.
    const params = Float64Array.from([1]);
    const m = new Float64Array(1);
    const v = new Float64Array(1);
    K.adamw(params, Float64Array.from([0.5]), m, v, 1, 0.1, 0.9, 0.999, 1e-8, 0.01, 1, 1);
    // p = 1*(1-0.001) - 0.1 * (0.05/0.1) / (sqrt(0.00025/0.001) + 1e-8)
    expect(params[0]).toBeCloseTo(0.899000002, 14);
    expect(m[0]).toBeCloseTo(0.05, 14);
    expect(v[0]).toBeCloseTo(0.00025, 14);
    K.adamw(params, Float64Array.from([-0.25]), m, v, 1, 0.1, 0.9, 0.999, 1e-8, 0.01, 2, 2);
    // g = -0.5; m = -0.005; v = 0.00049975; p = p*0.999 - 0.1*(m/0.19)/(sqrt(v/0.001999) + 1e-8)
    expect(m[0]).toBeCloseTo(-0.005, 14);
    expect(v[0]).toBeCloseTo(0.00049975, 14);
    expect(params[0]).toBeCloseTo(0.9033641597874735, 14);
  });

  it('adds with the output aliasing an input and sums squares in float64', () => {
    const a = Float32Array.from([1, 2, 3]);
    K.add(a, a, Float32Array.from([10, 20, 30]), 3);
    expect(Array.from(a)).toEqual([11, 22, 33]);
    expect(K.sumSquares(Float32Array.from([3, 4, 100]), 2)).toBe(25);
  });
});

describe('reference shape checks', () => {
  it('throw a ShapeError naming the kernel and the shapes, and write nothing', () => {
    const out = new Float32Array(6).fill(7);
    expect(() => K.matmulForward(out, new Float32Array(5), new Float32Array(6), null, 2, 3, 3)).toThrow(ShapeError);
    expect(() => K.matmulForward(out, new Float32Array(5), new Float32Array(6), null, 2, 3, 3)).toThrow(
      /matmulForward\(N=2, C=3, OC=3\): inp \(N,C\) needs 6 elements, got a buffer of 5/,
    );
    expect(() => K.embeddingForward(out, Int32Array.from([0, 4]), new Float32Array(12), 2, 3, 4)).toThrow(
      /embeddingForward.*ids\[1\]=4 is outside \[0, V=4\)/,
    );
    expect(() => K.attentionForward(out, out, out, out, out, 1, 1, 3, 2, 2)).toThrow(
      /attentionForward.*H must be a multiple of KVH/,
    );
    expect(() => K.rope(out, out, new Int32Array(1), 1, 2, 3, 10000, false)).toThrow(/rope.*D must be even/);
    expect(() => K.logprobsForward(out, out, null, out, Int32Array.from([-1]), 1, 6, 1)).toThrow(
      /logprobsForward.*targets\[0\]=-1/,
    );
    expect(() =>
      K.attentionCached(
        out,
        out,
        null,
        null,
        new Float32Array(32),
        new Float32Array(32),
        Int32Array.from([0]),
        Int32Array.from([16]),
        1,
        1,
        16,
        1,
        1,
        2,
      ),
    ).toThrow(/attentionCached.*positions\[0\]=16 is outside \[0, maxT=16\)/);
    expect(() => K.add(out, out, out, 2.5)).toThrow(/add\(n=2.5\): n must be a non-negative integer/);
    expect(Array.from(out)).toEqual([7, 7, 7, 7, 7, 7]);
  });
});
