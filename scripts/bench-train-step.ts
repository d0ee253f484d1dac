/**
 * `npm run bench:train-step`: one RL-shaped training step of the demo's model (`small`: 3 layers,
 * hidden 128, vocabulary 1024), timed through `LocalBackend.forwardBackward` + `optimStep` exactly
 * as the RL loop calls them, split into forward, loss/gradient JavaScript (everything between the
 * model's passes: packing, the PPO loss, copies), backward and optimiser. The data is shaped like a
 * demo round: 64 sequences of 120-500 tokens (~19.7k in all), a weight-0 prompt, sampled turns of
 * weight 1 with weight-0 tool results between them, old logprobs near the current ones. Throughput
 * counts real (non-padding) tokens. In the same run it times a dense training step of the same
 * model on about the same token count (the training benchmark's workload: B x 256 random tokens,
 * forward + backward + AdamW) and prints the ratio RL step / dense step.
 *
 * With --ops it also prints each phase's time per kernel op (matmuls with their GFLOP/s) and the
 * GEMM-only bound of the dense step at the machine's peak (265 GFLOP/s a core, 2 cores): what is
 * left between a training step and its GEMMs. --model S or M runs the training benchmark's configs
 * (B x 256 dense step as in `npm run bench:engine`) instead of the demo's model.
 *
 * Options: --steps 5  --sequences 64  --tokens 19700  --micro-batch-tokens 16384  --model small|S|M  --ops
 */
import { loadavg } from 'node:os';
import { LocalBackend } from '../src/backends/local.js';
import { loadKernels } from '../src/engine/kernels/index.js';
import { parseModelConfig } from '../src/engine/model-config.js';
import { Transformer } from '../src/engine/transformer.js';
import { AdamW } from '../src/engine/adamw.js';
import { Random } from '../src/random.js';
import type { ChatRenderer } from '../src/rollout/chat-renderer.js';
import type { AdamParams, Datum, LossSpec } from '../src/training-types.js';
import { MODEL_PRESETS } from '../src/tasks/search-qa/config.js';
import type { Kernels } from '../src/engine/kernels/kernels.js';
import { BENCH_CONFIGS, cpuSeconds, idTokenizer } from './bench-engine.js';

const DENSE_T = 256;
const PEAK_GFLOPS = 530;
const PPO: LossSpec = { kind: 'ppo', clipLow: 0.2, clipHigh: 0.2, klBeta: 0, normalization: 'token-mean' };
const ADAM: AdamParams = { learningRate: 5e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, gradClipNorm: 1 };

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!(Number.isInteger(value) && value > 0)) {
    console.error(`--${name} must be a positive integer, got ${JSON.stringify(process.argv[index + 1])}`);
    process.exit(2);
  }
  return value;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Sequence lengths in [120, 500] summing to about `tokens` (seeded). */
function rlLengths(random: Random, sequences: number, tokens: number): number[] {
  const raw = Array.from({ length: sequences }, () => 0.3 + random.next());
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((value) => Math.max(120, Math.min(500, Math.round((value / total) * tokens))));
}

/** RL-shaped datums: a weight-0 prompt of ~100 tokens, then turns of 20-60 sampled tokens and 20-80 tool tokens. */
function rlData(random: Random, lengths: number[], V: number): Datum[] {
  return lengths.map((length) => {
    const tokens = Array.from({ length: length + 1 }, () => random.int(V));
    const weights = new Array<number>(length).fill(0);
    let t = 90 + random.int(20);
    while (t < length) {
      const turn = 20 + random.int(40);
      for (let i = t; i < Math.min(length, t + turn); i++) weights[i] = 1;
      t += turn + 20 + random.int(60);
    }
    return {
      inputTokens: tokens.slice(0, -1),
      targetTokens: tokens.slice(1),
      weights,
      oldLogprobs: new Array<number>(length).fill(0),
      advantages: weights.map((w) => (w ? random.normal() : 0)),
    };
  });
}

/** Time and floating-point work per kernel op, filled while `timeOps` wraps the kernels. */
type OpTimes = Map<string, { seconds: number; calls: number; flops: number }>;

/** Adds the entries of `from` into `into`. */
function addOps(into: OpTimes, from: OpTimes): void {
  for (const [name, entry] of from) {
    const sum = into.get(name) ?? { seconds: 0, calls: 0, flops: 0 };
    into.set(name, {
      seconds: sum.seconds + entry.seconds,
      calls: sum.calls + entry.calls,
      flops: sum.flops + entry.flops,
    });
  }
}

/** Wraps every op of `kernels` (in place) to add its wall time and, for matmuls, its flops to `times`. */
function timeOps(kernels: Kernels, times: OpTimes): void {
  const ops = kernels as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(ops)) {
    if (typeof value !== 'function') continue;
    const op = value as (...args: unknown[]) => unknown;
    ops[name] = (...args: unknown[]) => {
      const start = performance.now();
      const result = op(...args);
      const entry = times.get(name) ?? { seconds: 0, calls: 0, flops: 0 };
      entry.seconds += (performance.now() - start) / 1000;
      entry.calls += 1;
      entry.flops += matmulFlops(name, args);
      times.set(name, entry);
      return result;
    };
  }
}

/** 2*N*C*OC per product: one for the forward; the backward's dinp and dweight when each is given. */
function matmulFlops(name: string, args: unknown[]): number {
  if (name === 'matmulForward') return 2 * (args[4] as number) * (args[5] as number) * (args[6] as number);
  if (name !== 'matmulBackward') return 0;
  const products = (args[0] ? 1 : 0) + (args[1] ? 1 : 0);
  return products * 2 * (args[6] as number) * (args[7] as number) * (args[8] as number);
}

function printOps(title: string, times: OpTimes, steps: number, stepSeconds: number): void {
  const rows = [...times.entries()].sort((a, b) => b[1].seconds - a[1].seconds);
  const opSeconds = rows.reduce((sum, [, entry]) => sum + entry.seconds, 0) / steps;
  console.log(
    `\n${title}: per op, per step (ops ${(opSeconds * 1000).toFixed(1)} ms of ${(stepSeconds * 1000).toFixed(1)} ms)`,
  );
  console.log('op                           ms   share   calls   GFLOP/s');
  for (const [name, entry] of rows) {
    const seconds = entry.seconds / steps;
    const gflops = entry.flops > 0 ? (entry.flops / entry.seconds / 1e9).toFixed(0) : '';
    console.log(
      `${name.padEnd(24)}${(seconds * 1000).toFixed(1).padStart(8)}  ` +
        `${((100 * seconds) / stepSeconds).toFixed(1).padStart(5)}%` +
        `${String(entry.calls / steps).padStart(8)}  ${gflops.padStart(8)}`,
    );
  }
  const flops = rows.reduce((sum, [, entry]) => sum + entry.flops, 0) / steps;
  if (flops > 0)
    console.log(
      `GEMM ${(flops / 1e9).toFixed(1)} GFLOP a step: ${((flops / PEAK_GFLOPS / 1e9) * 1000).toFixed(1)} ms at the ` +
        `${PEAK_GFLOPS} GFLOP/s peak; the step takes ${(stepSeconds / (flops / PEAK_GFLOPS / 1e9)).toFixed(2)}x that`,
    );
}

/** Wraps `object[method]` so each call's wall time is added to `timer.seconds`. */
function timeMethod<T extends object>(object: T, method: keyof T & string, timer: { seconds: number }): void {
  const original = (object[method] as (...args: unknown[]) => unknown).bind(object);
  (object as Record<string, unknown>)[method] = (...args: unknown[]) => {
    const start = performance.now();
    try {
      return original(...args);
    } finally {
      timer.seconds += (performance.now() - start) / 1000;
    }
  };
}

async function main(): Promise<void> {
  const steps = argument('steps', 5);
  const sequences = argument('sequences', 64);
  const tokens = argument('tokens', 19700);
  const microBatchTokens = argument('micro-batch-tokens', 16384);
  const withOps = process.argv.includes('--ops');
  const modelIndex = process.argv.indexOf('--model');
  const modelName = modelIndex >= 0 ? process.argv[modelIndex + 1]! : 'small';
  const input =
    modelName === 'small'
      ? { ...MODEL_PRESETS.small, vocab_size: 1024, max_position_embeddings: 512 }
      : BENCH_CONFIGS[modelName];
  if (!input) {
    console.error(`--model must be small, S or M, got ${JSON.stringify(modelName)}`);
    process.exit(2);
  }
  const kernels = loadKernels();
  const opTimes: OpTimes = new Map();
  if (withOps) timeOps(kernels, opTimes);
  const config = parseModelConfig(input);
  const V = config.vocab_size;
  const model = new Transformer({ config, kernels, seed: 1 });
  const tokenizer = idTokenizer(V);
  const renderer: ChatRenderer = { renderPrompt: () => [1], renderReply: () => [2], stopTokenIds: [0] };
  const backend = new LocalBackend({
    model,
    tokenizer,
    renderer,
    checkpointDirectory: '/nonexistent',
    maxTokensPerMicroBatch: microBatchTokens,
  });
  const random = new Random(7);
  const lengths = rlLengths(random, sequences, tokens);
  const data = rlData(random, lengths, V);
  const realTokens = lengths.reduce((a, b) => a + b, 0);
  // Old logprobs near the current ones (ratios near 1, a few clipped), as after a round's sampling.
  const current = await backend.forward(data, { temperature: 1 });
  data.forEach((datum, b) => {
    datum.oldLogprobs = datum.weights.map((w, t) => (w ? current[b]![t]! + random.normal() * 0.1 : 0));
  });

  // The dense workload of the training benchmark on the same model and about the same token count.
  const denseModel = new Transformer({ config, kernels, seed: 1 });
  const denseOptimizer = new AdamW(denseModel);
  const B = modelName === 'small' ? Math.max(1, Math.round(realTokens / DENSE_T)) : 64;
  const inputIds = Int32Array.from({ length: B * DENSE_T }, () => random.int(V));
  const targets = Int32Array.from({ length: B * DENSE_T }, () => random.int(V));
  const dlogprobs = Float32Array.from({ length: B * DENSE_T }, () => -random.normal() / (B * DENSE_T));

  const timers = { forward: { seconds: 0 }, backward: { seconds: 0 }, optimizer: { seconds: 0 } };
  timeMethod(model, 'forward', timers.forward);
  timeMethod(model, 'backward', timers.backward);
  timeMethod(backend.optimizer, 'apply', timers.optimizer);
  const rows: Array<{
    forward: number;
    loss: number;
    backward: number;
    optimizer: number;
    total: number;
    cpu: number;
  }> = [];
  const denseTimes: number[] = [];
  const rlOps: OpTimes = new Map();
  const denseOps: OpTimes = new Map();
  // RL and dense steps alternate, so a change of the machine's load hits both alike; step 0 warms up.
  for (let step = 0; step <= steps; step++) {
    for (const timer of Object.values(timers)) timer.seconds = 0;
    opTimes.clear();
    const cpuStart = process.cpuUsage();
    let start = performance.now();
    await backend.forwardBackward(data, PPO, { temperature: 1 });
    const passEnd = performance.now();
    await backend.optimStep(ADAM);
    const total = (performance.now() - start) / 1000;
    const cpu = cpuSeconds(process.cpuUsage(cpuStart));
    const pass = (passEnd - start) / 1000;
    if (step > 0) {
      rows.push({
        forward: timers.forward.seconds,
        backward: timers.backward.seconds,
        loss: pass - timers.forward.seconds - timers.backward.seconds,
        optimizer: timers.optimizer.seconds,
        total,
        cpu,
      });
      addOps(rlOps, opTimes);
    }
    opTimes.clear();
    start = performance.now();
    denseModel.forward({ B, T: DENSE_T, inputIds, targets }, 1);
    denseModel.backward(dlogprobs);
    denseOptimizer.apply(ADAM);
    if (step > 0) {
      denseTimes.push((performance.now() - start) / 1000);
      addOps(denseOps, opTimes);
    }
  }

  const rlSeconds = median(rows.map((row) => row.total));
  const denseSeconds = median(denseTimes);
  const rlRate = realTokens / rlSeconds;
  const denseRate = (B * DENSE_T) / denseSeconds;
  const ms = (seconds: number) => (seconds * 1000).toFixed(1).padStart(8);
  console.log(
    `model ${modelName} (${config.num_hidden_layers} layers, hidden ${config.hidden_size}, V ${V}), ` +
      `kernels ${kernels.name} x${kernels.threads}, ` +
      `load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
  );
  console.log(
    `RL-shaped step: ${sequences} sequences, ${realTokens} tokens ` +
      `(lengths ${Math.min(...lengths)}-${Math.max(...lengths)}), ` +
      `micro-batch budget ${microBatchTokens}, median of ${steps} steps`,
  );
  console.log('phase              ms   share');
  for (const phase of ['forward', 'loss', 'backward', 'optimizer'] as const) {
    const value = median(rows.map((row) => row[phase]));
    console.log(`${phase.padEnd(12)}${ms(value)}  ${((100 * value) / rlSeconds).toFixed(1).padStart(5)}%`);
  }
  console.log(
    `${'cores busy'.padEnd(12)}${median(rows.map((row) => row.cpu / row.total))
      .toFixed(2)
      .padStart(8)}  (process CPU time / wall time of the RL step)`,
  );
  const range = (values: number[]) =>
    `(${(Math.min(...values) * 1000).toFixed(0)}-${(Math.max(...values) * 1000).toFixed(0)} ms)`;
  const totals = rows.map((row) => row.total);
  console.log(
    `${'total'.padEnd(12)}${ms(rlSeconds)}  ${(rlRate / 1000).toFixed(1)}k tok/s (real tokens) ${range(totals)}`,
  );
  console.log(
    `dense step  ${ms(denseSeconds)}  ${(denseRate / 1000).toFixed(1)}k tok/s (B ${B} x T ${DENSE_T}, same model) ` +
      range(denseTimes),
  );
  const ratios = totals.map((seconds, i) => realTokens / seconds / ((B * DENSE_T) / denseTimes[i]!));
  console.log(
    `ratio RL / dense tok/s: ${(rlRate / denseRate).toFixed(2)} (per step pair ${Math.min(...ratios).toFixed(2)}-` +
      `${Math.max(...ratios).toFixed(2)})`,
  );
  if (withOps) {
    printOps('RL-shaped step', rlOps, steps, rlSeconds);
    printOps('dense step', denseOps, steps, denseSeconds);
  }
}

await main();
