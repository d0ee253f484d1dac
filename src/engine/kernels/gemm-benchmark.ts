/**
 * GEMM throughput measurement for the engine's real matmul shapes (forward, input-gradient and
 * weight-gradient products), callable by `npm run bench:kernels` and by the engine benchmark.
 * Times are the median (or best) of repeated runs after a warm-up; GFLOP/s counts 2*N*C*OC per product.
 */

import { Random } from '../../random.js';
import type { Kernels } from './kernels.js';

/** Which of the three products of a linear layer is timed. */
export type GemmProduct = 'forward' | 'dinp' | 'dweight';

/** One linear layer shape: inp(N,C) . weight(OC,C)^T, and the product timed. */
export interface GemmShape {
  label: string;
  product: GemmProduct;
  N: number;
  C: number;
  OC: number;
}

/** One measurement. */
export interface GemmMeasurement {
  shape: GemmShape;
  kernels: string;
  threads: number;
  /** Rows actually used (the reference runs a slice of N to keep the benchmark short). */
  rows: number;
  seconds: number;
  gflops: number;
}

/** The engine's matmul shapes: the square references and the S/M-config layers at 64x256 tokens. */
export const ENGINE_GEMM_SHAPES: GemmShape[] = [
  { label: '128^3', product: 'forward', N: 128, C: 128, OC: 128 },
  { label: '512^3', product: 'forward', N: 512, C: 512, OC: 512 },
  ...(['forward', 'dinp', 'dweight'] as const).map((product) => ({
    label: '16384x128->384',
    product,
    N: 16384,
    C: 128,
    OC: 384,
  })),
  ...(['forward', 'dinp', 'dweight'] as const).map((product) => ({
    label: '16384x256->4096',
    product,
    N: 16384,
    C: 256,
    OC: 4096,
  })),
];

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** How repeated timings are summarised: the median, or the best (least disturbed by other processes). */
export type TimingStatistic = 'median' | 'best';

/**
 * Times fn: one warm-up call, then calls until `minSeconds` have passed (at least `minRuns`); returns seconds per call.
 */
export function timeCall(
  fn: () => void,
  minSeconds = 0.25,
  minRuns = 3,
  statistic: TimingStatistic = 'median',
): number {
  fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || (performance.now() - start) / 1000 < minSeconds) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
    if (times.length >= 1000) break;
  }
  return statistic === 'best' ? Math.min(...times) : median(times);
}

/** Measures one GEMM product with the given kernels; `maxRows` limits N (for the slow reference). */
export function measureGemm(
  kernels: Kernels,
  shape: GemmShape,
  options: { maxRows?: number; minSeconds?: number; statistic?: TimingStatistic } = {},
): GemmMeasurement {
  const rows = Math.min(shape.N, options.maxRows ?? shape.N);
  const { C, OC } = shape;
  const random = new Random(rows + C + OC);
  const fill = (n: number) => {
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = random.next() - 0.5;
    return values;
  };
  const inp = fill(rows * C);
  const weight = fill(OC * C);
  const dout = fill(rows * OC);
  const out = new Float32Array(rows * OC);
  const gradient = new Float32Array(shape.product === 'dinp' ? rows * C : OC * C);
  const run =
    shape.product === 'forward'
      ? () => kernels.matmulForward(out, inp, weight, null, rows, C, OC)
      : shape.product === 'dinp'
        ? () => kernels.matmulBackward(gradient, null, null, dout, inp, weight, rows, C, OC)
        : () => kernels.matmulBackward(null, gradient, null, dout, inp, weight, rows, C, OC);
  const seconds = timeCall(run, options.minSeconds, 3, options.statistic);
  return {
    shape,
    kernels: kernels.name,
    threads: kernels.threads,
    rows,
    seconds,
    gflops: (2 * rows * C * OC) / seconds / 1e9,
  };
}
