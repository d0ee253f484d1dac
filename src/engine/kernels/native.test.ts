// Every native kernel against the reference on random inputs, for each instruction-set path the
// CPU supports and for 1 and 2 threads; shape errors and aliasing. Skipped (with the reason in
// the suite name) only when the addon is not built.
import { afterAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../errors.js';
import { Random } from '../../random.js';
import { KEY_TILE, type KernelOp, type Kernels } from './kernels.js';
import { createNativeKernels, type NativeAddon } from './native.js';
import { referenceKernels as R, referenceOps } from './reference/index.js';
import { SHAPE_CHECKS } from './shape-checks.js';
import { maxRelativeError, nativeAddonForTests, randomFloat32, randomInts } from './test-helpers.js';

const { addon, unavailable } = nativeAddonForTests();
if (addon === undefined) console.warn(`native kernel tests skipped: ${unavailable}`);

const TOLERANCE = 3e-5;
const memos = new Map<string, unknown>();
/** Computes a case's inputs and reference outputs once, shared by every native path. */
function memo<T>(key: string, compute: () => T): T {
  if (!memos.has(key)) memos.set(key, compute());
  return memos.get(key) as T;
}
const copy = (x: Float32Array) => x.slice();

/** Expects bitwise-identical buffers (a plain loop: deep equality of large typed arrays is slow). */
function expectIdentical(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  let firstDifference = -1;
  for (let i = 0; i < actual.length && firstDifference < 0; i++)
    if (!Object.is(actual[i], expected[i])) firstDifference = i;
  expect(firstDifference).toBe(-1);
}

/** Runs fn(native, reference-output-expectation helper) on random data; compares outputs buffers. */
function expectClose(actual: Float32Array, expected: Float32Array, tolerance = TOLERANCE): void {
  expect(maxRelativeError(actual, expected)).toBeLessThan(tolerance);
}

function kernelSuite(label: string, getKernels: () => Kernels) {
  describe(label, () => {
    const matmulShapes = [
      [1, 1, 1],
      [1, 7, 33],
      [3, 5, 7],
      [37, 129, 45],
      [128, 128, 128],
      [300, 300, 70], // several KC blocks and MC blocks
      [5, 17, 700], // few rows: split across columns
      [1100, 30, 20], // long reduction in the weight gradient: split across K
      [2, 9, 3100], // more columns than one NC block
      [200, 100, 600], // input gradient: dout (200x600) read in place by the row kernel, K=600 in several blocks
    ] as const;
    for (const [N, C, OC] of matmulShapes) {
      it(`matmul forward and backward match the reference (N=${N} C=${C} OC=${OC})`, () => {
        const K = getKernels();
        const c = memo(`matmul ${N} ${C} ${OC}`, () => {
          const random = new Random(N * 31 + C * 7 + OC);
          const inp = randomFloat32(random, N * C);
          const weight = randomFloat32(random, OC * C);
          const bias = randomFloat32(random, OC);
          const dout = randomFloat32(random, N * OC);
          const [outBias, outPlain] = [new Float32Array(N * OC), new Float32Array(N * OC)];
          R.matmulForward(outBias, inp, weight, bias, N, C, OC);
          R.matmulForward(outPlain, inp, weight, null, N, C, OC);
          const dinp0 = randomFloat32(random, N * C);
          const dweight0 = randomFloat32(random, OC * C);
          const dbias0 = randomFloat32(random, OC);
          const [dinp, dweight, dbias] = [copy(dinp0), copy(dweight0), copy(dbias0)];
          R.matmulBackward(dinp, dweight, dbias, dout, inp, weight, N, C, OC);
          const onlyWeight = new Float32Array(OC * C);
          R.matmulBackward(null, onlyWeight, null, dout, inp, weight, N, C, OC);
          return {
            inp,
            weight,
            bias,
            dout,
            outBias,
            outPlain,
            dinp0,
            dweight0,
            dbias0,
            dinp,
            dweight,
            dbias,
            onlyWeight,
          };
        });
        for (const [bias, expected] of [
          [c.bias, c.outBias],
          [null, c.outPlain],
        ] as const) {
          const out = new Float32Array(N * OC).fill(9);
          K.matmulForward(out, c.inp, c.weight, bias, N, C, OC);
          expectClose(out, expected);
        }
        const [dinp, dweight, dbias] = [copy(c.dinp0), copy(c.dweight0), copy(c.dbias0)];
        K.matmulBackward(dinp, dweight, dbias, c.dout, c.inp, c.weight, N, C, OC);
        expectClose(dinp, c.dinp);
        expectClose(dweight, c.dweight);
        expectClose(dbias, c.dbias);
        const onlyWeight = new Float32Array(OC * C);
        K.matmulBackward(null, onlyWeight, null, c.dout, c.inp, c.weight, N, C, OC);
        expectClose(onlyWeight, c.onlyWeight);
      });
    }

    it('matmul forward gives every row the same bits whatever the row count (few-row and blocked paths)', () => {
      const K = getKernels();
      const random = new Random(3);
      // OC = 2048: the output rows are a multiple of 1024 floats apart (the staged transpose).
      for (const [C, OC] of [
        [37, 45],
        [256, 100],
        [600, 70],
        [19, 2048],
      ] as const) {
        const N = 300;
        const inp = randomFloat32(random, N * C);
        const weight = randomFloat32(random, OC * C);
        const bias = randomFloat32(random, OC);
        const all = new Float32Array(N * OC);
        K.matmulForward(all, inp, weight, bias, N, C, OC);
        for (const [start, rows] of [
          [0, 1],
          [7, 5],
          [100, 64],
          [150, 130],
        ] as const) {
          const part = new Float32Array(rows * OC).fill(9);
          K.matmulForward(part, inp.subarray(start * C), weight, bias, rows, C, OC);
          expectIdentical(part, all.slice(start * OC, (start + rows) * OC));
        }
      }
    });

    it('embedding gathers and scatter-adds repeated ids like the reference', () => {
      const K = getKernels();
      const random = new Random(2);
      for (const [N, C, V] of [
        [1, 1, 1],
        [50, 37, 13],
        [9, 128, 256],
      ] as const) {
        const table = randomFloat32(random, V * C);
        const ids = randomInts(random, N, V);
        const out = new Float32Array(N * C);
        const expected = new Float32Array(N * C);
        K.embeddingForward(out, ids, table, N, C, V);
        R.embeddingForward(expected, ids, table, N, C, V);
        expectIdentical(out, expected);
        const dout = randomFloat32(random, N * C);
        const dtable = randomFloat32(random, V * C);
        const dtableR = copy(dtable);
        K.embeddingBackward(dtable, dout, ids, N, C, V);
        R.embeddingBackward(dtableR, dout, ids, N, C, V);
        expectClose(dtable, dtableR);
      }
    });

    it('rmsnorm forward and backward match the reference', () => {
      const K = getKernels();
      const random = new Random(3);
      for (const [N, C] of [
        [1, 1],
        [1, 5],
        [7, 33],
        [300, 128],
        [64, 257],
      ] as const) {
        const inp = randomFloat32(random, N * C, 2);
        const weight = randomFloat32(random, C);
        const [out, rstd, outR, rstdR] = [
          new Float32Array(N * C),
          new Float32Array(N),
          new Float32Array(N * C),
          new Float32Array(N),
        ];
        K.rmsnormForward(out, rstd, inp, weight, N, C, 1e-6);
        R.rmsnormForward(outR, rstdR, inp, weight, N, C, 1e-6);
        expectClose(out, outR);
        expectClose(rstd, rstdR);
        const dout = randomFloat32(random, N * C);
        const dinp = randomFloat32(random, N * C);
        const dweight = randomFloat32(random, C);
        const [dinpR, dweightR] = [copy(dinp), copy(dweight)];
        K.rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C);
        R.rmsnormBackward(dinpR, dweightR, dout, inp, weight, rstdR, N, C);
        expectClose(dinp, dinpR);
        expectClose(dweight, dweightR);
      }
    });

    it('rope matches the reference, in place and inverse', () => {
      const K = getKernels();
      const random = new Random(4);
      for (const [N, H, D] of [
        [1, 1, 2],
        [5, 3, 6],
        [40, 4, 32],
        [17, 2, 64],
      ] as const) {
        const inp = randomFloat32(random, N * H * D);
        const positions = randomInts(random, N, 5000);
        for (const inverse of [false, true]) {
          const out = new Float32Array(inp.length);
          const expected = new Float32Array(inp.length);
          K.rope(out, inp, positions, N, H, D, 10000, inverse);
          R.rope(expected, inp, positions, N, H, D, 10000, inverse);
          expectClose(out, expected, 1e-5);
          const inPlace = copy(inp);
          K.rope(inPlace, inPlace, positions, N, H, D, 10000, inverse);
          expectIdentical(inPlace, out);
        }
      }
    });

    it('rope matches the reference for positions past the shared cos/sin table', () => {
      const K = getKernels();
      const random = new Random(41);
      const [N, H, D] = [6, 2, 8];
      const inp = randomFloat32(random, N * H * D);
      const positions = Int32Array.from([0, 3, 70000, 65535, 65536, 1_000_000]);
      const out = new Float32Array(inp.length);
      const expected = new Float32Array(inp.length);
      K.rope(out, inp, positions, N, H, D, 10000, false);
      R.rope(expected, inp, positions, N, H, D, 10000, false);
      expectClose(out, expected, 1e-5);
    });

    it('attention with a head dimension above the native limit falls back to the reference code', () => {
      const K = getKernels();
      const random = new Random(42);
      const [B, T, H, KVH, D] = [1, 3, 2, 1, 260];
      const q = randomFloat32(random, B * T * H * D, 0.2);
      const k = randomFloat32(random, B * T * KVH * D, 0.2);
      const v = randomFloat32(random, B * T * KVH * D);
      const [out, lse, outR, lseR] = [
        new Float32Array(q.length),
        new Float32Array(B * H * T),
        new Float32Array(q.length),
        new Float32Array(B * H * T),
      ];
      K.attentionForward(out, lse, q, k, v, B, T, H, KVH, D);
      R.attentionForward(outR, lseR, q, k, v, B, T, H, KVH, D);
      expectClose(out, outR);
    });

    const packedShapes = [
      { lengths: [3, 0, 1], H: 2, KVH: 1, D: 4 },
      { lengths: [70, 37, 5, 1], H: 4, KVH: 2, D: 32 },
      { lengths: [20, 9], H: 2, KVH: 2, D: 130 },
    ];
    for (const { lengths, H, KVH, D } of packedShapes) {
      it(`packed attention matches the reference (lengths ${lengths} H=${H} KVH=${KVH} D=${D})`, () => {
        const K = getKernels();
        const B = lengths.length;
        const offsets = Int32Array.from([0, ...lengths.map((_, b) => lengths.slice(0, b + 1).reduce((x, y) => x + y))]);
        const N = offsets[B]!;
        const c = memo(`packed attention ${lengths} ${H} ${KVH} ${D}`, () => {
          const random = new Random(N * 10 + D);
          const q = randomFloat32(random, N * H * D, 1.5);
          const k = randomFloat32(random, N * KVH * D, 1.5);
          const v = randomFloat32(random, N * KVH * D);
          const [out, lse] = [new Float32Array(q.length), new Float32Array(N * H)];
          R.packedAttentionForward(out, lse, q, k, v, offsets, B, N, H, KVH, D);
          const dout = randomFloat32(random, q.length);
          const dq0 = randomFloat32(random, q.length);
          const dk0 = randomFloat32(random, k.length);
          const dv0 = randomFloat32(random, v.length);
          const [dq, dk, dv] = [copy(dq0), copy(dk0), copy(dv0)];
          R.packedAttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, offsets, B, N, H, KVH, D);
          return { q, k, v, out, lse, dout, dq0, dk0, dv0, dq, dk, dv };
        });
        const [out, lse] = [new Float32Array(c.q.length), new Float32Array(N * H)];
        K.packedAttentionForward(out, lse, c.q, c.k, c.v, offsets, B, N, H, KVH, D);
        expectClose(out, c.out);
        expectClose(lse, c.lse);
        const [dq, dk, dv] = [copy(c.dq0), copy(c.dk0), copy(c.dv0)];
        K.packedAttentionBackward(dq, dk, dv, c.dout, c.q, c.k, c.v, out, lse, offsets, B, N, H, KVH, D);
        expectClose(dq, c.dq, 1e-4);
        expectClose(dk, c.dk, 1e-4);
        expectClose(dv, c.dv, 1e-4);
      });
    }

    const attentionShapes = [
      { B: 1, T: 1, H: 1, KVH: 1, D: 2 },
      { B: 2, T: 5, H: 4, KVH: 2, D: 6 },
      { B: 1, T: 37, H: 3, KVH: 1, D: 40 },
      { B: 2, T: 70, H: 4, KVH: 4, D: 32 },
      { B: 1, T: 20, H: 2, KVH: 2, D: 130 },
    ];
    for (const { B, T, H, KVH, D } of attentionShapes) {
      it(`attention forward, backward and cached match the reference (B=${B} T=${T} H=${H} KVH=${KVH} D=${D})`, () => {
        const K = getKernels();
        const c = memo(`attention ${B} ${T} ${H} ${KVH} ${D}`, () => {
          const random = new Random(B * 100 + T * 10 + D);
          const q = randomFloat32(random, B * T * H * D, 1.5);
          const k = randomFloat32(random, B * T * KVH * D, 1.5);
          const v = randomFloat32(random, B * T * KVH * D);
          const [out, lse] = [new Float32Array(q.length), new Float32Array(B * H * T)];
          R.attentionForward(out, lse, q, k, v, B, T, H, KVH, D);
          const dout = randomFloat32(random, q.length);
          const dq0 = randomFloat32(random, q.length);
          const dk0 = randomFloat32(random, k.length);
          const dv0 = randomFloat32(random, v.length);
          const [dq, dk, dv] = [copy(dq0), copy(dk0), copy(dv0)];
          R.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, T, H, KVH, D);
          return { q, k, v, out, lse, dout, dq0, dk0, dv0, dq, dk, dv };
        });
        const [out, lse] = [new Float32Array(c.q.length), new Float32Array(B * H * T)];
        K.attentionForward(out, lse, c.q, c.k, c.v, B, T, H, KVH, D);
        expectClose(out, c.out);
        expectClose(lse, c.lse);
        const [dq, dk, dv] = [copy(c.dq0), copy(c.dk0), copy(c.dv0)];
        K.attentionBackward(dq, dk, dv, c.dout, c.q, c.k, c.v, out, lse, B, T, H, KVH, D);
        expectClose(dq, c.dq, 1e-4);
        expectClose(dk, c.dk, 1e-4);
        expectClose(dv, c.dv, 1e-4);
        // The cache holds sequence b in slot B-1-b (maxT: T rounded up to whole key tiles, plus one
        // more when T fills its tiles; the rest random); every position queries it.
        const maxT = (Math.floor(T / KEY_TILE) + 1) * KEY_TILE;
        const random = new Random(T);
        const slots = new Int32Array(B * T);
        const positions = new Int32Array(B * T);
        for (let i = 0; i < B * T; i++) [slots[i], positions[i]] = [B - 1 - Math.floor(i / T), i % T];
        const kcache = randomFloat32(random, B * KVH * maxT * D);
        const vcache = randomFloat32(random, B * KVH * maxT * D);
        const [kcacheR, vcacheR] = [copy(kcache), copy(vcache)];
        const [kcacheFused, vcacheFused] = [copy(kcache), copy(vcache)];
        K.kvCacheWrite(kcache, vcache, c.k, c.v, slots, positions, B * T, B, maxT, KVH, D);
        R.kvCacheWrite(kcacheR, vcacheR, c.k, c.v, slots, positions, B * T, B, maxT, KVH, D);
        expectIdentical(kcache, kcacheR);
        expectIdentical(vcache, vcacheR);
        const cached = new Float32Array(c.q.length);
        K.attentionCached(cached, c.q, null, null, kcache, vcache, slots, positions, B * T, B, maxT, H, KVH, D);
        expectClose(cached, c.out);
        // Fused writes: a prefill call (rows sharing slots) writes every row first...
        const prefilled = new Float32Array(c.q.length);
        const [kcachePrefill, vcachePrefill] = [copy(kcacheFused), copy(vcacheFused)];
        K.attentionCached(
          prefilled,
          c.q,
          c.k,
          c.v,
          kcachePrefill,
          vcachePrefill,
          slots,
          positions,
          B * T,
          B,
          maxT,
          H,
          KVH,
          D,
        );
        expectIdentical(kcachePrefill, kcache);
        expectIdentical(vcachePrefill, vcache);
        expectIdentical(prefilled, cached);
        // ...and a decoding call (one row per slot: each sequence's last position) writes each row in its own task.
        const [lastRows, kLast, vLast, qLast] = [
          new Int32Array(B),
          new Float32Array(B * KVH * D),
          new Float32Array(B * KVH * D),
          new Float32Array(B * H * D),
        ];
        for (let b = 0; b < B; b++) {
          const row = b * T + T - 1;
          lastRows[b] = row;
          kLast.set(c.k.subarray(row * KVH * D, (row + 1) * KVH * D), b * KVH * D);
          vLast.set(c.v.subarray(row * KVH * D, (row + 1) * KVH * D), b * KVH * D);
          qLast.set(c.q.subarray(row * H * D, (row + 1) * H * D), b * H * D);
        }
        const earlier = Int32Array.from({ length: B * T }, (_, i) => i).filter((i) => i % T !== T - 1);
        const pick = (x: Float32Array, i: number, width: number) => x.subarray(i * width, (i + 1) * width);
        const gather = (x: Float32Array, rows: Int32Array, width: number) => {
          const result = new Float32Array(rows.length * width);
          rows.forEach((row, i) => result.set(pick(x, row, width), i * width));
          return result;
        };
        K.kvCacheWrite(
          kcacheFused,
          vcacheFused,
          gather(c.k, earlier, KVH * D),
          gather(c.v, earlier, KVH * D),
          slots.filter((_, i) => i % T !== T - 1),
          positions.filter((_, i) => i % T !== T - 1),
          earlier.length,
          B,
          maxT,
          KVH,
          D,
        );
        const decoded = new Float32Array(B * H * D);
        K.attentionCached(
          decoded,
          qLast,
          kLast,
          vLast,
          kcacheFused,
          vcacheFused,
          Int32Array.from(lastRows, (row) => slots[row]!),
          Int32Array.from(lastRows, (row) => positions[row]!),
          B,
          B,
          maxT,
          H,
          KVH,
          D,
        );
        expectIdentical(kcacheFused, kcache);
        expectIdentical(vcacheFused, vcache);
        expectIdentical(decoded, gather(cached, lastRows, H * D));
      });
    }

    it('gives each cached-attention row the same bits whatever else its call holds', () => {
      // Rows of one slot are scored together in blocks: a row's output must not depend on its block.
      const K = getKernels();
      for (const { H, KVH, D } of [
        { H: 4, KVH: 4, D: 32 },
        { H: 4, KVH: 2, D: 6 },
        { H: 3, KVH: 1, D: 40 },
        { H: 2, KVH: 2, D: 130 },
      ]) {
        const random = new Random(H * 1000 + D);
        const [S, maxT] = [3, 5 * KEY_TILE];
        const kcache = randomFloat32(random, S * KVH * maxT * D);
        const vcache = randomFloat32(random, S * KVH * maxT * D);
        // Slot 0: a prefill chunk of 11 rows; slot 1: 3 scattered rows; slot 2: one decode row.
        const rows: Array<[number, number]> = [
          ...Array.from({ length: 11 }, (_, i): [number, number] => [0, 40 + i]),
          [1, 3],
          [1, 70],
          [1, 17],
          [2, maxT - 1],
        ];
        const B = rows.length;
        const q = randomFloat32(random, B * H * D, 1.5);
        const call = (order: number[]) => {
          const out = new Float32Array(order.length * H * D);
          const slots = Int32Array.from(order, (i) => rows[i]![0]);
          const positions = Int32Array.from(order, (i) => rows[i]![1]);
          const queries = new Float32Array(order.length * H * D);
          order.forEach((i, at) => queries.set(q.subarray(i * H * D, (i + 1) * H * D), at * H * D));
          K.attentionCached(
            out,
            queries,
            null,
            null,
            kcache,
            vcache,
            slots,
            positions,
            order.length,
            S,
            maxT,
            H,
            KVH,
            D,
          );
          return out;
        };
        const together = call(rows.map((_, i) => i));
        const expected = new Float32Array(B * H * D);
        R.attentionCached(
          expected,
          q,
          null,
          null,
          kcache,
          vcache,
          Int32Array.from(rows, (r) => r[0]),
          Int32Array.from(rows, (r) => r[1]),
          B,
          S,
          maxT,
          H,
          KVH,
          D,
        );
        expectClose(together, expected);
        const reversed = call(rows.map((_, i) => B - 1 - i));
        for (let i = 0; i < B; i++) {
          const row = (x: Float32Array, at: number) => x.subarray(at * H * D, (at + 1) * H * D);
          expectIdentical(call([i]), row(together, i));
          expectIdentical(row(reversed, B - 1 - i), row(together, i));
        }
      }
    });

    it('swiglu, add and sumSquares match the reference at every length', () => {
      const K = getKernels();
      for (const n of [1, 3, 16, 31, 1000, 100003]) {
        const c = memo(`elementwise ${n}`, () => {
          const random = new Random(n);
          const gate = randomFloat32(random, n, 4);
          const up = randomFloat32(random, n);
          const out = new Float32Array(n);
          R.swigluForward(out, gate, up, n);
          const dout = randomFloat32(random, n);
          const dgate0 = randomFloat32(random, n);
          const dup0 = randomFloat32(random, n);
          const [dgate, dup] = [copy(dgate0), copy(dup0)];
          R.swigluBackward(dgate, dup, dout, gate, up, n);
          const sum = new Float32Array(n);
          R.add(sum, gate, up, n);
          return { gate, up, out, dout, dgate0, dup0, dgate, dup, sum, squares: R.sumSquares(gate, n) };
        });
        const out = new Float32Array(n);
        K.swigluForward(out, c.gate, c.up, n);
        expectClose(out, c.out);
        const [dgate, dup] = [copy(c.dgate0), copy(c.dup0)];
        K.swigluBackward(dgate, dup, c.dout, c.gate, c.up, n);
        expectClose(dgate, c.dgate);
        expectClose(dup, c.dup);
        const sum = new Float32Array(n);
        K.add(sum, c.gate, c.up, n);
        expectIdentical(sum, c.sum);
        const aliasedA = copy(c.gate);
        K.add(aliasedA, aliasedA, c.up, n);
        expectIdentical(aliasedA, c.sum);
        const aliasedB = copy(c.up);
        K.add(aliasedB, c.gate, aliasedB, n);
        expectIdentical(aliasedB, c.sum);
        expect(Math.abs(K.sumSquares(c.gate, n) - c.squares)).toBeLessThan(1e-9 * c.squares);
      }
    });

    it('logprobs forward and backward match the reference at several temperatures', () => {
      const K = getKernels();
      const random = new Random(6);
      for (const [N, V] of [
        [1, 1],
        [1, 7],
        [5, 33],
        [64, 256],
        [9, 4099],
      ] as const) {
        for (const invT of [1, 1 / 0.7, 0.5]) {
          const logits = randomFloat32(random, N * V, 4);
          const targets = randomInts(random, N, V);
          const [logprobs, lse, entropy] = [new Float32Array(N), new Float32Array(N), new Float32Array(N)];
          const [logprobsR, lseR, entropyR] = [new Float32Array(N), new Float32Array(N), new Float32Array(N)];
          K.logprobsForward(logprobs, lse, entropy, logits, targets, N, V, invT);
          R.logprobsForward(logprobsR, lseR, entropyR, logits, targets, N, V, invT);
          expectClose(logprobs, logprobsR);
          expectClose(lse, lseR);
          expectClose(entropy, entropyR, 1e-4);
          const dlogprobs = randomFloat32(random, N);
          const dlogits = randomFloat32(random, N * V);
          const dlogitsR = copy(dlogits);
          K.logprobsBackward(dlogits, dlogprobs, logits, lse, targets, N, V, invT);
          R.logprobsBackward(dlogitsR, dlogprobs, logits, lseR, targets, N, V, invT);
          expectClose(dlogits, dlogitsR);
        }
      }
    });

    it('sampleTokens draws the reference tokens with the logprobs of logprobsForward, filtered or not', () => {
      const K = getKernels();
      const random = new Random(12);
      const settings = [
        { invT: 1, topK: 0, topP: 1 },
        { invT: 1 / 0.9, topK: 50, topP: 1 },
        { invT: 1, topK: 0, topP: 0.9 },
        { invT: 0.5, topK: 5, topP: 0.5 },
        { invT: 1, topK: 1, topP: 1 },
      ];
      for (const [N, V] of [
        [1, 1],
        [3, 7],
        [64, 256],
        [9, 4099],
      ] as const) {
        for (const { invT, topK, topP } of settings) {
          const logits = randomFloat32(random, N * V, 3);
          const uniforms = Float64Array.from({ length: N }, (_, n) => (n === 0 ? 0 : n === 1 ? 1 : random.next()));
          const [tokens, tokensR] = [new Int32Array(N), new Int32Array(N)];
          const [logprobs, logprobsR] = [new Float32Array(N), new Float32Array(N)];
          K.sampleTokens(tokens, logprobs, logits, uniforms, N, V, invT, topK, topP);
          R.sampleTokens(tokensR, logprobsR, logits, uniforms, N, V, invT, topK, topP);
          expect(Array.from(tokens)).toEqual(Array.from(tokensR));
          const [expected, lse] = [new Float32Array(N), new Float32Array(N)];
          R.logprobsForward(expected, lse, null, logits, tokensR, N, V, invT);
          for (let n = 0; n < N; n++) expect(Math.abs(logprobs[n]! - expected[n]!)).toBeLessThan(1e-5);
        }
      }
    });

    it('adamw matches the reference over several steps', () => {
      const K = getKernels();
      const random = new Random(7);
      for (const n of [1, 17, 70001]) {
        const params = randomFloat32(random, n);
        const m = new Float32Array(n);
        const v = new Float32Array(n);
        const [paramsR, mR, vR] = [copy(params), copy(m), copy(v)];
        for (let step = 1; step <= 3; step++) {
          const grads = randomFloat32(random, n);
          K.adamw(params, grads, m, v, n, 1e-2, 0.9, 0.95, 1e-8, 0.1, step, 0.5);
          R.adamw(paramsR, grads, mR, vR, n, 1e-2, 0.9, 0.95, 1e-8, 0.1, step, 0.5);
        }
        expectClose(params, paramsR, 1e-5);
        expectClose(m, mR, 1e-5);
        expectClose(v, vR, 1e-5);
      }
    });
  });
}

describe.skipIf(addon === undefined)(addon ? 'native kernels' : `native kernels (skipped: ${unavailable})`, () => {
  const native = addon!;
  const supported = addon ? native.info().supported : [];
  const initial = addon ? native.info().simd : 'generic';
  afterAll(() => {
    native.setSimd(initial);
    native.configure(2);
  });
  let kernels: Kernels;
  // Every instruction-set path with 2 threads, and the best one with 1 thread too.
  const paths = supported.flatMap(
    (level, index) =>
      (index === 0
        ? [
            [level, 2],
            [level, 1],
          ]
        : [[level, 2]]) as [string, number][],
  );
  for (const [level, threads] of paths) {
    describe(`${level}, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
      it('selects the path', () => {
        expect(native.setSimd(level)).toBe(level);
        kernels = createNativeKernels(native, threads);
        expect(kernels.threads).toBe(threads);
      });
      kernelSuite('matches the reference', () => kernels);
    });
  }

  describe('errors', () => {
    it('the wrapper throws a ShapeError naming the op and the shapes before the addon runs', () => {
      const K = createNativeKernels(native, 2);
      const out = new Float32Array(6).fill(7);
      expect(() => K.matmulForward(out, new Float32Array(5), new Float32Array(6), null, 2, 3, 3)).toThrow(ShapeError);
      expect(() =>
        K.attentionCached(
          out,
          out,
          null,
          null,
          new Float32Array(32),
          new Float32Array(32),
          Int32Array.from([1]),
          Int32Array.from([0]),
          1,
          1,
          16,
          1,
          1,
          2,
        ),
      ).toThrow(/attentionCached.*slots\[0\]=1 is outside \[0, S=1\)/);
      expect(() =>
        K.kvCacheWrite(
          new Float32Array(32),
          new Float32Array(32),
          out,
          out,
          Int32Array.from([0]),
          Int32Array.from([0]),
          1,
          1,
          8,
          1,
          2,
        ),
      ).toThrow(/kvCacheWrite.*maxT must be a multiple of the key tile 16, got 8/);
      expect(Array.from(out)).toEqual([7, 7, 7, 7, 7, 7]);
    });

    it('the addon exports every op of the contract, each needing as many arguments as the reference takes', () => {
      for (const op of Object.keys(SHAPE_CHECKS) as KernelOp[]) {
        const call = native[op] as unknown as () => void;
        expect(call).toThrow(`${op}(): expects ${referenceOps[op].length} arguments, got 0`);
      }
    });

    it('the wrapper refuses an addon that lacks an op of the contract (an addon built before the op was added)', () => {
      const stale = { ...native, sumSquares: undefined } as unknown as NativeAddon;
      expect(() => createNativeKernels(stale, 2)).toThrow(/the native kernels have no sumSquares/);
    });

    it('the addon itself rejects bad shapes, types and indices with errors naming the op, and writes nothing', () => {
      const out = new Float32Array(6).fill(7);
      expect(() => native.matmulForward(out, new Float32Array(5), new Float32Array(6), null, 2, 3, 3)).toThrow(
        /matmulForward\(N=2, C=3, OC=3\): inp \(N,C\) needs 6 elements, got a buffer of 5/,
      );
      expect(() =>
        native.matmulForward(out, new Float64Array(6) as unknown as Float32Array, new Float32Array(9), null, 2, 3, 3),
      ).toThrow(/matmulForward.*inp \(N,C\) must be a Float32Array/);
      expect(() => native.matmulBackward(out, null, null, out, out, out, 2, 3, 4)).toThrow(
        /matmulBackward.*dout \(N,OC\) needs 8 elements/,
      );
      expect(() => native.embeddingForward(out, Int32Array.from([0, 5]), new Float32Array(15), 2, 3, 5)).toThrow(
        /embeddingForward.*ids\[1\]=5 is outside \[0, V=5\)/,
      );
      expect(() => native.rope(out, out, new Int32Array(1), 1, 2, 3, 10000, false)).toThrow(/rope.*D must be even/);
      expect(() => native.attentionForward(out, out, out, out, out, 1, 1, 3, 2, 2)).toThrow(
        /attentionForward.*H must be a multiple of KVH/,
      );
      expect(() =>
        native.packedAttentionForward(out, out, out, out, out, Int32Array.from([0, 2, 1]), 2, 1, 1, 1, 2),
      ).toThrow(/packedAttentionForward.*offsets must not decrease, got offsets\[1\]=2 > offsets\[2\]=1/);
      expect(() =>
        native.packedAttentionForward(out, out, out, out, out, Int32Array.from([0, 2]), 1, 3, 1, 1, 2),
      ).toThrow(/packedAttentionForward.*offsets\[B\] must be N=3, got 2/);
      expect(() =>
        native.attentionCached(
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
      expect(() =>
        native.attentionCached(
          out,
          out,
          null,
          null,
          new Float32Array(48),
          new Float32Array(48),
          Int32Array.from([0]),
          Int32Array.from([0]),
          1,
          1,
          24,
          1,
          1,
          2,
        ),
      ).toThrow(/attentionCached.*maxT must be a multiple of the key tile 16, got 24/);
      expect(() =>
        native.kvCacheWrite(
          new Float32Array(32),
          new Float32Array(32),
          out,
          out,
          Int32Array.from([0]),
          Int32Array.from([16]),
          1,
          1,
          16,
          1,
          2,
        ),
      ).toThrow(/kvCacheWrite.*positions\[0\]=16 is outside \[0, maxT=16\)/);
      expect(() => native.logprobsForward(out, out, null, out, Int32Array.from([6]), 1, 6, 1)).toThrow(
        /logprobsForward.*targets\[0\]=6/,
      );
      const tokens = new Int32Array(1);
      expect(() => native.sampleTokens(tokens, out, out, Float64Array.from([1.5]), 1, 6, 1, 0, 1)).toThrow(
        /sampleTokens\(N=1, V=6\): uniforms\[0\]=1.5 is outside \[0, 1\]/,
      );
      expect(() => native.sampleTokens(tokens, out, out, Float64Array.from([0.5]), 1, 6, 1, 0, 0)).toThrow(
        /sampleTokens.*topP must be in \(0, 1\], got 0/,
      );
      expect(() => native.sampleTokens(tokens, out, out, Float64Array.from([0.5]), 1, 6, 1, 2.5, 1)).toThrow(
        /sampleTokens.*topK must be an integer/,
      );
      expect(() =>
        native.sampleTokens(tokens, out, out, new Float32Array(1) as unknown as Float64Array, 1, 6, 1, 0, 1),
      ).toThrow(/sampleTokens.*uniforms \(N\) must be a Float64Array/);
      expect(() => native.swigluForward(out, out, out, -1)).toThrow(/swigluForward\(n=-1\): n must be an integer/);
      expect(() => native.add(out, out, out, 1e300)).toThrow(/add\(n=1e\+300\): n must be an integer/);
      expect(() => native.adamw(out, out, out, out, 6, 0.1, 0.9, 0.999, 1e-8, 0, 0, 1)).toThrow(
        /adamw.*step must be an integer >= 1/,
      );
      expect(() => native.rmsnormForward(out, out, out, out, 1, 6, Number.NaN)).toThrow(/rmsnormForward.*eps/);
      expect(() => (native.add as (...args: unknown[]) => void)(out, out)).toThrow(
        /add\(\): expects 4 arguments, got 2/,
      );
      expect(Array.from(out)).toEqual([7, 7, 7, 7, 7, 7]);
    });
  });
});
