/**
 * `npm run bench:kernels`: GEMM GFLOP/s of the engine's real matmul shapes (forward, input- and
 * weight-gradient products) for the reference kernels and the native kernels on 1 and 2 threads,
 * and, when Debian's PyTorch is importable by /usr/bin/python3, numpy and torch matmul of the same
 * shapes measured in the same run (OpenBLAS with OPENBLAS_CORETYPE=SkylakeX by default, the
 * setting that is best for it here, and without this environment's OPENBLAS_L2_SIZE, which halves
 * OpenBLAS GEMM; printed). Then the throughput of the other kernels, decoding's included (cached
 * attention in GB/s of keys and values read, the 64-row forward, token sampling).
 * Every figure is the best of repeated timed calls after a warm-up (`--median` for medians): the
 * cores are shared with other processes, and the best run is the one they disturbed least. The
 * reference runs a slice of the rows (shown) to stay short.
 *
 * Options: --no-torch  --openblas-coretype X (default SkylakeX; 'unset' leaves it unset)  --quick  --median
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { createNativeKernels, loadNativeAddon } from '../src/engine/kernels/native.js';
import type { Kernels } from '../src/engine/kernels/kernels.js';
import { referenceKernels } from '../src/engine/kernels/reference/index.js';
import {
  ENGINE_GEMM_SHAPES,
  measureGemm,
  timeCall,
  type GemmShape,
  type TimingStatistic,
} from '../src/engine/kernels/gemm-benchmark.js';
import { Random } from '../src/random.js';

const PYTHON = '/usr/bin/python3';
const REFERENCE_ROWS = 64;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => {
    const padded = cells.map((cell, column) =>
      column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
    );
    return `| ${padded.join(' | ')} |`;
  };
  console.log(line(header));
  const rule = widths.map((width, column) => (column === 0 ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`));
  console.log(`|${rule.join('|')}|`);
  for (const row of rows) console.log(line(row));
}

const fmt = (value: number | undefined, digits = 1) =>
  value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);

// The Python side: numpy and torch matmul of the same products, one process per thread count.
const PYTHON_GEMM = `
import json, sys, time
import numpy as np
import torch
shapes = json.loads(sys.argv[1]); threads = int(sys.argv[2]); min_seconds = float(sys.argv[3]); statistic = sys.argv[4]
torch.set_num_threads(threads)
def timed(fn):
    fn(); times = []; start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
        if len(times) >= 1000: break
    times.sort(); return times[len(times) // 2] if statistic == 'median' else times[0]
results = []
rng = np.random.default_rng(0)
for s in shapes:
    N, C, OC, product = s['N'], s['C'], s['OC'], s['product']
    inp = (rng.random((N, C), dtype=np.float32) - 0.5); weight = (rng.random((OC, C), dtype=np.float32) - 0.5)
    dout = (rng.random((N, OC), dtype=np.float32) - 0.5)
    ti, tw, td = torch.from_numpy(inp), torch.from_numpy(weight), torch.from_numpy(dout)
    if product == 'forward':
        np_fn = lambda: inp @ weight.T; torch_fn = lambda: torch.nn.functional.linear(ti, tw)
    elif product == 'dinp':
        np_fn = lambda: dout @ weight; torch_fn = lambda: td @ tw
    else:
        np_fn = lambda: dout.T @ inp; torch_fn = lambda: td.t() @ ti
    flops = 2.0 * N * C * OC
    results.append({'numpy': flops / timed(np_fn) / 1e9, 'torch': flops / timed(torch_fn) / 1e9})
print(json.dumps(results))
`;

interface PythonGemm {
  numpy: number;
  torch: number;
}

function torchAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
}

function pythonGemm(
  shapes: GemmShape[],
  threads: number,
  coretype: string,
  minSeconds: number,
  statistic: TimingStatistic,
): PythonGemm[] | string {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENBLAS_NUM_THREADS: String(threads),
    OMP_NUM_THREADS: String(threads),
  };
  delete env['OPENBLAS_L2_SIZE']; // a cache-size override in this environment that halves OpenBLAS GEMM
  if (coretype === 'unset') delete env['OPENBLAS_CORETYPE'];
  else env['OPENBLAS_CORETYPE'] = coretype;
  const run = spawnSync(
    PYTHON,
    ['-c', PYTHON_GEMM, JSON.stringify(shapes), String(threads), String(minSeconds), statistic],
    { env, encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (run.status !== 0) return `python failed: ${run.stderr.trim().split('\n').slice(-1)[0]}`;
  return JSON.parse(run.stdout.trim().split('\n').slice(-1)[0]!) as PythonGemm[];
}

/** A kernel throughput case: runs `work` units per call (elements, or FLOPs for attention). */
interface KernelCase {
  name: string;
  unit: 'Melem/s' | 'GFLOP/s' | 'GB/s';
  /** Builds the call for a size scale in (0,1] (the reference runs a smaller scale). */
  build(kernels: Kernels, scale: number): { run: () => void; work: number };
}

function randomBuffer(random: Random, n: number, scale = 1): Float32Array {
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = (random.next() - 0.5) * 2 * scale;
  return values;
}

function kernelCases(): KernelCase[] {
  const random = new Random(1);
  const rows = (scale: number, N: number) => Math.max(1, Math.round(N * scale));
  return [
    {
      name: 'rmsnormForward 16384x128',
      unit: 'Melem/s',
      build(K, scale) {
        const N = rows(scale, 16384),
          C = 128;
        const inp = randomBuffer(random, N * C),
          weight = randomBuffer(random, C),
          out = new Float32Array(N * C),
          rstd = new Float32Array(N);
        return { run: () => K.rmsnormForward(out, rstd, inp, weight, N, C, 1e-6), work: N * C };
      },
    },
    {
      name: 'rmsnormBackward 16384x128',
      unit: 'Melem/s',
      build(K, scale) {
        const N = rows(scale, 16384),
          C = 128;
        const inp = randomBuffer(random, N * C),
          weight = randomBuffer(random, C),
          dout = randomBuffer(random, N * C),
          rstd = new Float32Array(N).fill(1);
        const dinp = new Float32Array(N * C),
          dweight = new Float32Array(C);
        return { run: () => K.rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C), work: N * C };
      },
    },
    {
      name: 'rope 16384x4x32',
      unit: 'Melem/s',
      build(K, scale) {
        const N = rows(scale, 16384),
          H = 4,
          D = 32;
        const inp = randomBuffer(random, N * H * D),
          positions = Int32Array.from({ length: N }, (_, i) => i % 256);
        return { run: () => K.rope(inp, inp, positions, N, H, D, 10000, false), work: N * H * D };
      },
    },
    {
      name: 'swigluForward 16384x704',
      unit: 'Melem/s',
      build(K, scale) {
        const n = rows(scale, 16384) * 704;
        const gate = randomBuffer(random, n, 4),
          up = randomBuffer(random, n),
          out = new Float32Array(n);
        return { run: () => K.swigluForward(out, gate, up, n), work: n };
      },
    },
    {
      name: 'swigluBackward 16384x704',
      unit: 'Melem/s',
      build(K, scale) {
        const n = rows(scale, 16384) * 704;
        const gate = randomBuffer(random, n, 4),
          up = randomBuffer(random, n),
          dout = randomBuffer(random, n);
        const dgate = new Float32Array(n),
          dup = new Float32Array(n);
        return { run: () => K.swigluBackward(dgate, dup, dout, gate, up, n), work: n };
      },
    },
    {
      name: 'add 16384x256',
      unit: 'Melem/s',
      build(K, scale) {
        const n = rows(scale, 16384) * 256;
        const a = randomBuffer(random, n),
          b = randomBuffer(random, n);
        return { run: () => K.add(a, a, b, n), work: n };
      },
    },
    ...[256, 4096].flatMap((V): KernelCase[] => [
      {
        name: `logprobsForward 16384x${V}`,
        unit: 'Melem/s',
        build(K, scale) {
          const N = rows(scale, 16384);
          const logits = randomBuffer(random, N * V, 5),
            targets = Int32Array.from({ length: N }, (_, i) => (i * 7) % V);
          const logprobs = new Float32Array(N),
            lse = new Float32Array(N),
            entropy = new Float32Array(N);
          return { run: () => K.logprobsForward(logprobs, lse, entropy, logits, targets, N, V, 1 / 0.7), work: N * V };
        },
      },
      {
        name: `logprobsBackward 16384x${V}`,
        unit: 'Melem/s',
        build(K, scale) {
          const N = rows(scale, 16384);
          const logits = randomBuffer(random, N * V, 5),
            targets = Int32Array.from({ length: N }, (_, i) => (i * 7) % V);
          const lse = new Float32Array(N).fill(8),
            dlogprobs = randomBuffer(random, N),
            dlogits = new Float32Array(N * V);
          return {
            run: () => K.logprobsBackward(dlogits, dlogprobs, logits, lse, targets, N, V, 1 / 0.7),
            work: N * V,
          };
        },
      },
    ]),
    {
      name: 'adamw 5.3M params',
      unit: 'Melem/s',
      build(K, scale) {
        const n = rows(scale, 5_300_000);
        const params = randomBuffer(random, n),
          grads = randomBuffer(random, n),
          m = new Float32Array(n),
          v = new Float32Array(n);
        return { run: () => K.adamw(params, grads, m, v, n, 1e-4, 0.9, 0.95, 1e-8, 0.1, 1, 1), work: n };
      },
    },
    ...(
      [
        ['S', 2, 32],
        ['M', 4, 64],
      ] as const
    ).map(
      ([config, layers, D]): KernelCase => ({
        name: `attentionCached decoding ${config}: B=64 H=4 D=${D} p=255, ${layers} layers`,
        unit: 'GB/s',
        build(K, scale) {
          // One call per layer of a 64-slot cache at position 255: every key and value of a slot read once.
          const B = rows(scale, 64),
            S = 64,
            maxT = 272,
            H = 4,
            KVH = 4,
            p = 255;
          const caches = Array.from(
            { length: layers },
            () => [randomBuffer(random, S * KVH * maxT * D), randomBuffer(random, S * KVH * maxT * D)] as const,
          );
          const q = randomBuffer(random, B * H * D),
            k = randomBuffer(random, B * KVH * D),
            v = randomBuffer(random, B * KVH * D),
            out = new Float32Array(B * H * D);
          const slots = Int32Array.from({ length: B }, (_, i) => i),
            positions = new Int32Array(B).fill(p);
          const run = () => {
            for (const [kcache, vcache] of caches)
              K.attentionCached(out, q, k, v, kcache, vcache, slots, positions, B, S, maxT, H, KVH, D);
          };
          return { run, work: layers * B * KVH * (p + 1) * D * 4 * 2 };
        },
      }),
    ),
    ...(
      [
        [256, 704],
        [256, 4096],
      ] as const
    ).map(
      ([C, OC]): KernelCase => ({
        name: `matmulForward decoding 64x${C}->${OC}`,
        unit: 'GFLOP/s',
        build(K, scale) {
          const N = rows(scale, 64);
          const inp = randomBuffer(random, N * C),
            weight = randomBuffer(random, OC * C),
            out = new Float32Array(N * OC);
          return { run: () => K.matmulForward(out, inp, weight, null, N, C, OC), work: 2 * N * C * OC };
        },
      }),
    ),
    ...[0, 50].map(
      (topK): KernelCase => ({
        name: `sampleTokens 64x4096${topK ? ` topK ${topK}` : ''}`,
        unit: 'Melem/s',
        build(K, scale) {
          const N = rows(scale, 64),
            V = 4096;
          const logits = randomBuffer(random, N * V, 5),
            uniforms = Float64Array.from({ length: N }, () => random.next());
          const tokens = new Int32Array(N),
            logprobs = new Float32Array(N);
          return { run: () => K.sampleTokens(tokens, logprobs, logits, uniforms, N, V, 1 / 0.9, topK, 1), work: N * V };
        },
      }),
    ),
    ...(['forward', 'backward'] as const).map(
      (direction): KernelCase => ({
        name: `attention ${direction} B=64 T=256 H=4 D=32`,
        unit: 'GFLOP/s',
        build(K, scale) {
          const B = rows(scale, 64),
            T = 256,
            H = 4,
            KVH = 4,
            D = 32;
          const q = randomBuffer(random, B * T * H * D),
            k = randomBuffer(random, B * T * KVH * D),
            v = randomBuffer(random, B * T * KVH * D);
          const out = new Float32Array(q.length),
            lse = new Float32Array(B * H * T);
          K.attentionForward(out, lse, q, k, v, B, T, H, KVH, D);
          // causal: T(T+1)/2 scores; forward 2 products (QK, PV), backward 4 (+ the recomputed QK)
          const pairs = (B * H * T * (T + 1)) / 2;
          if (direction === 'forward')
            return { run: () => K.attentionForward(out, lse, q, k, v, B, T, H, KVH, D), work: pairs * D * 4 };
          const dq = new Float32Array(q.length),
            dk = new Float32Array(k.length),
            dv = new Float32Array(v.length),
            dout = randomBuffer(random, q.length);
          return {
            run: () => K.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, T, H, KVH, D),
            work: pairs * D * 10,
          };
        },
      }),
    ),
  ];
}

function main(): void {
  const quick = process.argv.includes('--quick');
  const minSeconds = quick ? 0.1 : 0.3;
  const coretype = argument('openblas-coretype') ?? 'SkylakeX';
  const statistic: TimingStatistic = process.argv.includes('--median') ? 'median' : 'best';
  const addon = (() => {
    try {
      return loadNativeAddon();
    } catch (error) {
      console.log(`native kernels unavailable: ${(error as Error).message}`);
      return undefined;
    }
  })();
  // createNativeKernels sizes the addon's one shared pool: build the wrapper right before each use.
  const nativeWith = (threads: number) => (addon ? createNativeKernels(addon, threads) : undefined);
  const withTorch = !process.argv.includes('--no-torch') && torchAvailable();
  const nativeInfo = addon
    ? `${addon.info().simd} (supported: ${addon.info().supported.join(', ')}), 1 and 2 threads`
    : 'not built';
  console.log(`native: ${nativeInfo}`);
  console.log(
    `machine: ${cpus().length} CPUs, load average ${loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')} (other processes share the cores: figures vary +-15%)`,
  );
  console.log(
    withTorch
      ? `numpy/torch: ${PYTHON}, OPENBLAS_NUM_THREADS = threads, ` +
          `OPENBLAS_CORETYPE=${coretype === 'unset' ? '(unset)' : coretype}, OPENBLAS_L2_SIZE unset` +
          `${process.env['OPENBLAS_L2_SIZE'] ? ` (was ${process.env['OPENBLAS_L2_SIZE']} here)` : ''}; ` +
          `torch runs nn.functional.linear for the forward`
      : 'numpy/torch: not measured (--no-torch, or /usr/bin/python3 cannot import torch)',
  );

  const shapes = ENGINE_GEMM_SHAPES;
  const python = withTorch ? [1, 2].map((threads) => pythonGemm(shapes, threads, coretype, minSeconds, statistic)) : [];
  for (const result of python) if (typeof result === 'string') console.log(result);
  const rows = shapes.map((shape, index) => {
    const reference = measureGemm(referenceKernels, shape, { maxRows: REFERENCE_ROWS, minSeconds: 0.1, statistic });
    const ours = [1, 2].map((threads) => {
      const kernels = nativeWith(threads);
      return kernels ? measureGemm(kernels, shape, { minSeconds, statistic }).gflops : undefined;
    });
    const torch = python.map((result) => (typeof result === 'string' ? undefined : result[index]));
    const ratio = ours[1] !== undefined && torch[1]?.torch ? ours[1] / torch[1].torch : undefined;
    return [
      `${shape.label} ${shape.product}`,
      `${fmt(reference.gflops, 2)} (${reference.rows} rows)`,
      fmt(ours[0]),
      fmt(ours[1]),
      fmt(torch[0]?.numpy),
      fmt(torch[1]?.numpy),
      fmt(torch[0]?.torch),
      fmt(torch[1]?.torch),
      ratio === undefined ? '-' : `${ratio.toFixed(2)}x`,
    ];
  });
  console.log(
    `\nGEMM GFLOP/s, ${statistic} of the timed calls (forward: ` +
      `out = inp . W^T; dinp = dout . W; dweight = dout^T . inp):`,
  );
  printTable(
    [
      'shape (N x C -> OC) product',
      'reference',
      'native 1t',
      'native 2t',
      'numpy 1t',
      'numpy 2t',
      'torch 1t',
      'torch 2t',
      'native/torch 2t',
    ],
    rows,
  );

  console.log(`\nOther kernels (${statistic} of the timed calls; reference on 1/16 of the size):`);
  const table: string[][] = [];
  for (const kernelCase of kernelCases()) {
    const measure = (kernels: Kernels, scale: number) => {
      const { run, work } = kernelCase.build(kernels, scale);
      const seconds = timeCall(
        run,
        kernels.name === 'reference' ? 0.1 : minSeconds,
        kernels.name === 'reference' ? 1 : 3,
        statistic,
      );
      return { rate: work / seconds / (kernelCase.unit === 'Melem/s' ? 1e6 : 1e9), milliseconds: seconds * 1000 };
    };
    const reference = measure(referenceKernels, 1 / 16);
    const ours = [1, 2].map((threads) => {
      const kernels = nativeWith(threads);
      return kernels ? measure(kernels, 1) : undefined;
    });
    table.push([
      kernelCase.name,
      kernelCase.unit,
      fmt(reference.rate),
      fmt(ours[0]?.rate),
      fmt(ours[1]?.rate),
      fmt(ours[1]?.milliseconds, 2),
    ]);
  }
  printTable(['kernel', 'unit', 'reference', 'native 1t', 'native 2t', 'ms/call 2t'], table);
}

main();
