/**
 * `npm run bench:attention`: attention at the RL round's context lengths, on the demo model's
 * heads (H 4, KV heads 4, D 32). Cached attention (`attentionCached`, one call per layer of 3) for
 * decode rows (64 sequences, one row each) and prefill rows (8 sequences x 32 consecutive rows) at
 * 128, 400 and 650 positions, in GFLOP/s (4*H*D FLOPs per row and attended position: QK and PV),
 * and 64 decode rows reading one shared slot (what sequences sharing one cached prompt could reach);
 * then `Decoder.run` of the demo model with 64 decode rows, in microseconds per row, at the same
 * contexts and at 58 (the sampling benchmark's mean context); then the training attention
 * (`attentionForward/Backward`, `packedAttention*`) at T 300. Native kernels on 1 and 2 threads;
 * every figure is the best of repeated timed calls (the cores are shared: the best call is the one
 * other processes disturbed least), so compare rows of one run only (ratios).
 *
 * With `--baseline PATH` (another build of the addon, e.g. main's build/Release/turnwise_kernels.node
 * copied aside) the cached-attention and decoder figures are measured for both addons in the same
 * process, side by side, with their ratio.
 *
 * Options: --threads 1,2  --quick  --baseline PATH
 */
import { loadavg } from 'node:os';
import { Decoder } from '../src/engine/decoder.js';
import { timeCall } from '../src/engine/kernels/gemm-benchmark.js';
import type { Kernels } from '../src/engine/kernels/kernels.js';
import { createNativeKernels, loadNativeAddon } from '../src/engine/kernels/native.js';
import { parseModelConfig } from '../src/engine/model-config.js';
import { Transformer } from '../src/engine/transformer.js';
import { Random } from '../src/random.js';
import { BENCH_CONFIGS, printTable } from './bench-engine.js';

const H = 4;
const KVH = 4;
const D = 32;
const LAYERS = 3;
const CONTEXTS = [128, 400, 650];
const MAX_T = 720;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const random = new Random(7);
function randomBuffer(n: number): Float32Array {
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = random.next() - 0.5;
  return values;
}

/**
 * Rows of one attentionCached call: `sequences` slots, `rowsEach` consecutive rows each, the last
 * at position p; `shared`: every row in slot 0 at position p (64 decode rows reading one copy of
 * their context, the bound for sequences that would share a cached prompt instead of copying it).
 */
function cachedRows(
  sequences: number,
  rowsEach: number,
  p: number,
  shared: boolean,
): { slots: Int32Array; positions: Int32Array } {
  const slots = new Int32Array(sequences * rowsEach);
  const positions = new Int32Array(sequences * rowsEach);
  for (let s = 0; s < sequences; s++)
    for (let r = 0; r < rowsEach; r++) {
      slots[s * rowsEach + r] = shared ? 0 : s;
      positions[s * rowsEach + r] = shared ? p : p - rowsEach + 1 + r;
    }
  return { slots, positions };
}

/** GFLOP/s of attentionCached over LAYERS caches of 64 slots (distinct memory per layer, as in the decoder). */
function cachedGflops(
  kernels: Kernels,
  sequences: number,
  rowsEach: number,
  p: number,
  minSeconds: number,
  shared = false,
): number {
  const S = 64;
  const caches = Array.from({ length: LAYERS }, () => [
    randomBuffer(S * KVH * MAX_T * D),
    randomBuffer(S * KVH * MAX_T * D),
  ]);
  const { slots, positions } = cachedRows(sequences, rowsEach, p, shared);
  const B = slots.length;
  const q = randomBuffer(B * H * D);
  const k = randomBuffer(B * KVH * D);
  const v = randomBuffer(B * KVH * D);
  const out = new Float32Array(B * H * D);
  const seconds = timeCall(
    () => {
      for (const [kcache, vcache] of caches)
        kernels.attentionCached(out, q, k, v, kcache!, vcache!, slots, positions, B, S, MAX_T, H, KVH, D);
    },
    minSeconds,
    3,
    'best',
  );
  let flops = 0;
  for (let i = 0; i < B; i++) flops += LAYERS * 4 * H * D * (positions[i]! + 1);
  return flops / seconds / 1e9;
}

/** Microseconds per row of Decoder.run on the demo model: 64 decode rows at position p. */
function decoderMicroseconds(kernels: Kernels, p: number, minSeconds: number): number {
  const config = parseModelConfig({ ...BENCH_CONFIGS['demo'], max_position_embeddings: MAX_T });
  const model = new Transformer({ config, kernels, seed: 1 });
  const R = 64;
  const decoder = new Decoder(model, R, MAX_T);
  for (const layer of decoder.cache.layers) {
    layer.keys.set(randomBuffer(layer.keys.length));
    layer.values.set(randomBuffer(layer.values.length));
  }
  const rows = {
    R,
    tokens: Int32Array.from({ length: R }, (_, i) => (i * 7 + 1) % config.vocab_size),
    slots: Int32Array.from({ length: R }, (_, i) => i),
    positions: new Int32Array(R).fill(p),
    logitRows: Int32Array.from({ length: R }, (_, i) => i),
  };
  return (timeCall(() => decoder.run(rows), minSeconds, 3, 'best') / R) * 1e6;
}

/** GFLOP/s of the training attention at B sequences of T (padded) or packed into one row. */
function trainingGflops(kernels: Kernels, T: number, minSeconds: number): string[] {
  const B = 8;
  const N = B * T;
  const q = randomBuffer(N * H * D);
  const k = randomBuffer(N * KVH * D);
  const v = randomBuffer(N * KVH * D);
  const dout = randomBuffer(N * H * D);
  const out = new Float32Array(N * H * D);
  const lse = new Float32Array(N * H);
  const dq = new Float32Array(N * H * D);
  const dk = new Float32Array(N * KVH * D);
  const dv = new Float32Array(N * KVH * D);
  const offsets = Int32Array.from({ length: B + 1 }, (_, b) => b * T);
  const pairs = (B * H * T * (T + 1)) / 2;
  const forward = pairs * D * 4;
  const backward = pairs * D * 10;
  const cases: Array<[() => void, number]> = [
    [() => kernels.attentionForward(out, lse, q, k, v, B, T, H, KVH, D), forward],
    [() => kernels.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, T, H, KVH, D), backward],
    [() => kernels.packedAttentionForward(out, lse, q, k, v, offsets, B, N, H, KVH, D), forward],
    [() => kernels.packedAttentionBackward(dq, dk, dv, dout, q, k, v, out, lse, offsets, B, N, H, KVH, D), backward],
  ];
  kernels.attentionForward(out, lse, q, k, v, B, T, H, KVH, D);
  return cases.map(([run, flops]) => (flops / timeCall(run, minSeconds, 3, 'best') / 1e9).toFixed(1));
}

function main(): void {
  const minSeconds = process.argv.includes('--quick') ? 0.15 : 0.4;
  const threadCounts = (argument('threads') ?? '1,2').split(',').map(Number);
  const baselinePath = argument('baseline');
  const addons = [{ label: 'this', addon: loadNativeAddon() }];
  if (baselinePath) addons.unshift({ label: 'baseline', addon: loadNativeAddon(baselinePath) });
  console.log(
    `native: ${addons[0]!.addon.info().simd}; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(`heads H ${H}, KV heads ${KVH}, D ${D}; cached attention: ${LAYERS} layers a call, 64-slot caches`);
  if (baselinePath) console.log(`baseline addon: ${baselinePath}`);
  const labels = addons.map((entry) => entry.label);
  const ratioHeader = baselinePath ? ['ratio'] : [];
  const ratio = (values: number[], higherIsBetter: boolean): string[] =>
    values.length === 2 ? [`${(higherIsBetter ? values[1]! / values[0]! : values[0]! / values[1]!).toFixed(2)}x`] : [];

  const rows: string[][] = [];
  for (const threads of threadCounts) {
    for (const [name, sequences, rowsEach, shared] of [
      ['decode', 64, 1, false],
      ['prefill', 8, 32, false],
      ['decode, one shared slot', 64, 1, true],
    ] as const) {
      for (const p of CONTEXTS) {
        const values = addons.map(({ addon }) =>
          cachedGflops(createNativeKernels(addon, threads), sequences, rowsEach, p, minSeconds, shared),
        );
        rows.push([`${threads}`, name, `${p}`, ...values.map((value) => value.toFixed(1)), ...ratio(values, true)]);
      }
    }
  }
  console.log(
    '\nattentionCached GFLOP/s (decode: 64 sequences x 1 row; prefill: 8 sequences x 32 rows; ' +
      'one shared slot: 64 decode rows reading the same slot, the bound of a shared cached prompt):',
  );
  printTable(['threads', 'rows', 'positions', ...labels, ...ratioHeader], rows);

  const decoderRows: string[][] = [];
  for (const threads of threadCounts) {
    for (const p of [58, ...CONTEXTS]) {
      const values = addons.map(({ addon }) => decoderMicroseconds(createNativeKernels(addon, threads), p, minSeconds));
      decoderRows.push([`${threads}`, `${p}`, ...values.map((value) => value.toFixed(1)), ...ratio(values, false)]);
    }
  }
  console.log('\nDecoder.run, demo model, 64 decode rows a call, microseconds per row:');
  printTable(['threads', 'context', ...labels, ...ratioHeader], decoderRows);

  const trainingRows: string[][] = [];
  for (const threads of threadCounts) {
    const kernels = createNativeKernels(addons[addons.length - 1]!.addon, threads);
    trainingRows.push([`${threads}`, ...trainingGflops(kernels, 300, minSeconds)]);
  }
  console.log('\ntraining attention GFLOP/s, 8 sequences x T 300 (forward 4*D, backward 10*D FLOPs a causal pair):');
  printTable(['threads', 'forward', 'backward', 'packed fwd', 'packed bwd'], trainingRows);
}

main();
