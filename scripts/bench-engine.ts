/**
 * `npm run bench:engine`: the CPU engine's benchmark. For the reference configs S and M (and `demo`,
 * the model of `npm run demo`; batch 64 x 256 tokens) it measures the training step (forward +
 * backward + AdamW, a REINFORCE-style loss), sampling with the KV cache (64 sequences x 256 new
 * tokens), peak memory (each config runs in its own process) and GEMM GFLOP/s; when Debian's PyTorch
 * is importable by /usr/bin/python3 it runs the identical model and batch in PyTorch
 * (scripts/bench_torch.py; untied head) in the same run and prints our/PyTorch ratios. It ends with
 * the parity check against the PyTorch fixtures. `measureTraining` and `measureSampling` are the two
 * workloads, also run by `npm run bench:rl` on the demo's trained model.
 *
 * `--prompt-tokens N` samples from prompts of N tokens instead (N-1 shared by the 64 sequences, as a
 * group's system prompt is, then one of their own; 256 new tokens, fewer when the model's context
 * is shorter): the RL round's contexts, to tell the cost of the context length from the loop's.
 * PyTorch then samples nothing (its workload has one-token prompts only).
 *
 * Options: --configs S,M (or S,demo,M; --config demo = --configs demo)  --steps 3  --threads N
 *          --prompt-tokens N (default 1)  --no-torch  --openblas-coretype X (default SkylakeX)
 *          --keep-openblas-l2-size
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadKernels } from '../src/engine/kernels/index.js';
import type { Kernels } from '../src/engine/kernels/kernels.js';
import { parseModelConfig, type ModelConfigInput } from '../src/engine/model-config.js';
import { Transformer } from '../src/engine/transformer.js';
import { AdamW } from '../src/engine/adamw.js';
import { EnginePolicy } from '../src/engine/engine-policy.js';
import { torchParity } from '../src/engine/torch-parity.js';
import { ENGINE_GEMM_SHAPES, measureGemm } from '../src/engine/kernels/gemm-benchmark.js';
import { ConfigError, errorMessage } from '../src/errors.js';
import { Random } from '../src/random.js';
import type { Tokenizer } from '../src/rollout/tokenizer.js';
import { MODEL_PRESETS } from '../src/tasks/search-qa/config.js';
import { DEMO_PRESET } from '../src/tasks/search-qa/presets.js';

const DEMO_MODEL = (DEMO_PRESET.task as { model: { vocabSize: number; contextLength: number } }).model;

/** The reference configs of issue 3 (Llama layout; SwiGLU width 8C/3 rounded up to 32, untied head). */
export const BENCH_CONFIGS: Record<string, ModelConfigInput> = {
  S: {
    hidden_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 352,
    vocab_size: 256,
    max_position_embeddings: 1024,
  },
  M: {
    hidden_size: 256,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    intermediate_size: 704,
    vocab_size: 4096,
    max_position_embeddings: 1024,
  },
  /** The demo preset's own model (`small`, as its warm start builds it: tied head, 512 positions). */
  demo: {
    model_type: 'llama',
    ...MODEL_PRESETS.small,
    vocab_size: DEMO_MODEL.vocabSize,
    tie_word_embeddings: true,
    max_position_embeddings: DEMO_MODEL.contextLength,
  },
};
const B = 64;
const T = 256;
export const SAMPLE_SEQUENCES = 64;
export const SAMPLE_TOKENS = 256;
const PEAK_GFLOPS_PER_CORE = 265;
const ADAM = { learningRate: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClipNorm: 1 };

interface ConfigResult {
  config: string;
  parameters: number;
  kernels: string;
  threads: number;
  trainStepSeconds: number;
  /** Process CPU seconds (all threads) of the median-wall step. */
  trainCpuSeconds: number;
  trainTokensPerSecond: number;
  sampleTokensPerSecond: number;
  sampleTokensPerCpuSecond: number;
  /** New tokens per sampled sequence. */
  sampleNewTokens: number;
  peakRssMB: number;
}

interface TorchResult {
  config: string;
  threads: number;
  trainStepSeconds: number;
  trainCpuSeconds: number;
  trainTokensPerSecond: number;
  sampleTokensPerSecond: number;
  sampleTokensPerCpuSecond: number;
  sampleThreads: number;
  /** GFLOP/s of a 256^3 torch.mm, to catch a reference BLAS. */
  blasGflops: number;
  peakRssMB: number;
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/** User + system seconds of a `process.cpuUsage` difference. */
export function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** What the training workload measured: the median step's wall and CPU seconds. */
export interface TrainingMeasurement {
  stepSeconds: number;
  cpuSeconds: number;
  tokensPerSecond: number;
}

/**
 * The training workload: B x T random tokens in one batch, per-token "advantages",
 * loss = -mean(A * logprob), forward + backward + AdamW; the median of `steps` after a warm-up.
 */
export function measureTraining(model: Transformer, batch: number, length: number, steps: number): TrainingMeasurement {
  const optimizer = new AdamW(model);
  const random = new Random(2);
  const V = model.config.vocab_size;
  const N = batch * length;
  const inputIds = Int32Array.from({ length: N }, () => random.int(V));
  const targets = Int32Array.from({ length: N }, () => random.int(V));
  const dlogprobs = Float32Array.from({ length: N }, () => -random.normal() / N);
  const trainingStep = () => {
    model.forward({ B: batch, T: length, inputIds, targets }, 1);
    model.backward(dlogprobs);
    optimizer.apply(ADAM);
  };
  trainingStep(); // warm-up
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let step = 0; step < steps; step++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    trainingStep();
    times.push((performance.now() - start) / 1000);
    cpuTimes.push(cpuSeconds(process.cpuUsage(cpuStart)));
  }
  model.releaseActivations();
  const stepSeconds = median(times);
  return { stepSeconds, cpuSeconds: median(cpuTimes), tokensPerSecond: N / stepSeconds };
}

/** What the sampling workload measured. */
export interface SamplingMeasurement {
  /** Tokens sampled in the measured round, its wall and process CPU seconds. */
  tokens: number;
  seconds: number;
  cpuSeconds: number;
  tokensPerSecond: number;
  tokensPerCpuSecond: number;
  /** Prompt tokens of each sequence and new tokens asked of each (the workload's shape). */
  promptTokens: number;
  newTokens: number;
}

/** The one-token prompt of sampled sequence `i` (so another sampler can be given the same prompts). */
export const samplePrompt = (i: number, V: number): number => (i * 7 + 1) % V;

/** Token `t` of the prefix all long prompts share (as the RL round's prompts share a system prompt). */
const sharedPromptToken = (t: number, V: number): number => (t * 13 + 5) % V;

/** The prompt of sequence `i`: `promptTokens - 1` shared tokens, then its own samplePrompt token. */
export function longPrompt(i: number, V: number, promptTokens: number): number[] {
  return [...Array.from({ length: promptTokens - 1 }, (_, t) => sharedPromptToken(t, V)), samplePrompt(i, V)];
}

/** A tokenizer of bare ids for workloads that never read text (decode prints the ids). */
export function idTokenizer(vocabSize: number): Tokenizer {
  return {
    vocabSize,
    eosTokenId: undefined,
    encode: () => [],
    decode: (ids) => ids.join(' '),
    tokenId: () => undefined,
  };
}

/** Options of the sampling workload. */
export interface SamplingOptions {
  /**
   * Tokens of each prompt (default 1): the first promptTokens-1 shared by all sequences (prefilled
   * once and forked, as a group's prompt is), the last one each sequence's own.
   */
  promptTokens?: number;
  /** New tokens per sequence (default SAMPLE_TOKENS, at most the model's context minus the prompt). */
  newTokens?: number;
}

/**
 * The sampling workload: SAMPLE_SEQUENCES prompts (one token each by default, or `promptTokens`),
 * SAMPLE_TOKENS new tokens each, no stop, temperature 1, through an EnginePolicy (after one warm-up
 * round, as a training run reuses its policy). The measured wall time includes the prompts' prefill.
 */
export async function measureSampling(model: Transformer, options: SamplingOptions = {}): Promise<SamplingMeasurement> {
  const V = model.config.vocab_size;
  const context = model.config.max_position_embeddings;
  const promptTokens = options.promptTokens ?? 1;
  const newTokens = options.newTokens ?? SAMPLE_TOKENS;
  if (!(Number.isInteger(promptTokens) && promptTokens >= 1 && Number.isInteger(newTokens) && newTokens >= 1))
    throw new ConfigError(`sampling: prompt tokens ${promptTokens} and new tokens ${newTokens} must be integers >= 1`);
  if (promptTokens + newTokens > context)
    throw new ConfigError(
      `sampling: ${promptTokens} prompt + ${newTokens} new tokens exceed the model's context of ${context} positions`,
    );
  const policy = new EnginePolicy({
    model,
    tokenizer: idTokenizer(V),
    slots: SAMPLE_SEQUENCES,
    maxSequenceLength: Math.min(context, promptTokens + newTokens + 8),
  });
  const params = { temperature: 1, topK: 0, topP: 1, maxTokens: newTokens, stop: [] };
  const prompts = Array.from({ length: SAMPLE_SEQUENCES }, (_, i) =>
    promptTokens === 1 ? [samplePrompt(i, V)] : longPrompt(i, V, promptTokens),
  );
  const sampleAll = (seed: number) =>
    Promise.all(prompts.map((tokens, i) => policy.sample({ tokens, params, seed: seed + i })));
  // Warm-up round: a training run reuses one policy, so its KV-cache pages are already committed.
  await sampleAll(0);
  policy.invalidateCache();
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const results = await sampleAll(100);
  const sampleSeconds = (performance.now() - start) / 1000;
  const sampleCpuSeconds = cpuSeconds(process.cpuUsage(cpuStart));
  const sampled = results.reduce((sum, result) => sum + result.tokens.length, 0);
  return {
    tokens: sampled,
    seconds: sampleSeconds,
    cpuSeconds: sampleCpuSeconds,
    tokensPerSecond: sampled / sampleSeconds,
    tokensPerCpuSecond: sampled / sampleCpuSeconds,
    promptTokens,
    newTokens,
  };
}

/** The sampling workload of `--prompt-tokens N` on a model: N-token prompts, as many new tokens as fit (<= 256). */
export function longPromptWorkload(model: Transformer, promptTokens: number): SamplingOptions {
  const room = model.config.max_position_embeddings - promptTokens;
  if (room < 1)
    throw new ConfigError(
      `--prompt-tokens ${promptTokens}: expected fewer than the model's ${model.config.max_position_embeddings} positions`,
    );
  return { promptTokens, newTokens: Math.min(SAMPLE_TOKENS, room) };
}

async function benchConfig(name: string, kernels: Kernels, steps: number, promptTokens: number): Promise<ConfigResult> {
  const config = parseModelConfig(BENCH_CONFIGS[name]);
  const model = new Transformer({ config, kernels, seed: 1 });
  const training = measureTraining(model, B, T, steps);
  const sampling = await measureSampling(model, longPromptWorkload(model, promptTokens));
  return {
    config: name,
    parameters: model.layout.parameterCount,
    kernels: kernels.name,
    threads: kernels.threads,
    trainStepSeconds: training.stepSeconds,
    trainCpuSeconds: training.cpuSeconds,
    trainTokensPerSecond: training.tokensPerSecond,
    sampleTokensPerSecond: sampling.tokensPerSecond,
    sampleTokensPerCpuSecond: sampling.tokensPerCpuSecond,
    sampleNewTokens: sampling.newTokens,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  };
}

/** GFLOP/s of the engine's GEMM shapes, measured by the kernels' own helper (src/engine/kernels/gemm-benchmark.ts). */
function benchGemm(kernels: Kernels): Array<{ shape: string; gflops: number }> {
  return ENGINE_GEMM_SHAPES.map((shape) => {
    const measurement = measureGemm(kernels, shape);
    return { shape: `${shape.label} ${shape.product}`, gflops: measurement.gflops };
  });
}

function torchAvailable(): boolean {
  const check = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  return check.status === 0;
}

function runTorch(name: string, steps: number, threads: number, coretype: string, sample: boolean): TorchResult {
  const script = fileURLToPath(new URL('./bench_torch.py', import.meta.url));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENBLAS_NUM_THREADS: String(threads),
    OMP_NUM_THREADS: String(threads),
  };
  if (coretype === '') delete env['OPENBLAS_CORETYPE'];
  else env['OPENBLAS_CORETYPE'] = coretype;
  // An inherited OPENBLAS_L2_SIZE (this machine's environment sets 512) halves OpenBLAS's GEMM.
  if (!process.argv.includes('--keep-openblas-l2-size')) delete env['OPENBLAS_L2_SIZE'];
  const output = execFileSync(
    '/usr/bin/python3',
    [
      script,
      '--config',
      JSON.stringify(BENCH_CONFIGS[name]),
      '--name',
      name,
      '--steps',
      String(steps),
      '--threads',
      String(threads),
      '--batch',
      String(B),
      '--seq',
      String(T),
      '--sample-sequences',
      String(SAMPLE_SEQUENCES),
      '--sample-tokens',
      String(SAMPLE_TOKENS),
      ...(sample ? [] : ['--no-sample']),
    ],
    { env, encoding: 'utf-8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
  );
  return JSON.parse(output.trim().split('\n').pop()!) as TorchResult;
}

/** The run with the fastest training step and the one with the fastest sampling. */
function bestRun<R extends { threads: number; trainStepSeconds: number; sampleTokensPerSecond: number }>(
  runs: R[],
): { train: R; sample: R } {
  const train = runs.reduce((best, run) => (run.trainStepSeconds < best.trainStepSeconds ? run : best));
  const sampled = runs.filter((run) => run.sampleTokensPerSecond > 0);
  const sample = sampled.reduce(
    (best, run) => (run.sampleTokensPerSecond > best.sampleTokensPerSecond ? run : best),
    sampled[0] ?? train,
  );
  return { train, sample };
}

function runWorker(name: string, steps: number, threads: number | undefined, promptTokens: number): ConfigResult {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', name, '--steps', String(steps)];
  args.push('--prompt-tokens', String(promptTokens));
  if (threads !== undefined) args.push('--threads', String(threads));
  const output = execFileSync(process.execPath, args, {
    encoding: 'utf-8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(output.trim().split('\n').pop()!) as ConfigResult;
}

const fmt = (value: number, digits = 2) => value.toFixed(digits);
const kilo = (value: number) => `${(value / 1000).toFixed(1)}k`;

async function main(): Promise<void> {
  const steps = Number(argument('steps') ?? 3);
  const threadsArgument = argument('threads');
  const threads = threadsArgument === undefined ? undefined : Number(threadsArgument);
  const promptText = argument('prompt-tokens') ?? '1';
  const promptTokens = Number(promptText);
  if (!(Number.isInteger(promptTokens) && promptTokens >= 1))
    throw new ConfigError(`--prompt-tokens ${JSON.stringify(promptText)}: expected an integer >= 1`);
  const worker = argument('worker');
  if (worker) {
    const kernels = loadKernels(threads === undefined ? {} : { threads });
    console.log(JSON.stringify(await benchConfig(worker, kernels, steps, promptTokens)));
    return;
  }
  const configs = (argument('configs') ?? argument('config') ?? 'S,M').split(',');
  const kernels = loadKernels(threads === undefined ? {} : { threads });
  const withTorch = !process.argv.includes('--no-torch') && torchAvailable();
  // SkylakeX selects OpenBLAS's AVX-512 kernels, PyTorch's best setting on this CPU (engine-baseline.md).
  const coretype = argument('openblas-coretype') ?? 'SkylakeX';
  const inherited = process.env['OPENBLAS_CORETYPE'];
  console.log(
    `load average at start: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} (other processes share these cores; figures scale with it)`,
  );
  console.log(
    `engine kernels: ${kernels.name}, run on ${kernels.threads} and 1 thread(s); batch ${B} x ${T}; ` +
      `sampling ${SAMPLE_SEQUENCES} x ${SAMPLE_TOKENS} new tokens` +
      `${promptTokens > 1 ? ` (fewer if the context is shorter) from ${promptTokens}-token prompts` : ''}; ` +
      `median of ${steps} steps`,
  );
  console.log(
    withTorch
      ? `PyTorch: /usr/bin/python3, training on 1 and ${kernels.threads} thread(s) ` +
          `(OPENBLAS_NUM_THREADS and torch.set_num_threads), sampling on 1 thread (its fastest), ` +
          `OPENBLAS_CORETYPE=${coretype || '(unset)'}` +
          `${inherited === undefined ? '' : ` (the environment had ${inherited})`}`
      : 'PyTorch: not available (/usr/bin/python3 -c "import torch" failed) or --no-torch',
  );
  if (withTorch && process.env['OPENBLAS_L2_SIZE'] !== undefined && !process.argv.includes('--keep-openblas-l2-size')) {
    console.log(
      `PyTorch runs without the environment's OPENBLAS_L2_SIZE=${process.env['OPENBLAS_L2_SIZE']} ` +
        `(it halves OpenBLAS GEMM; --keep-openblas-l2-size keeps it)`,
    );
  }

  const rows: string[][] = [];
  const cpuRows: string[][] = [];
  const threadCounts = [...new Set([kernels.threads, 1])];
  for (const name of configs) {
    if (!BENCH_CONFIGS[name])
      throw new ConfigError(`unknown config ${name}; expected one of ${Object.keys(BENCH_CONFIGS).join(', ')}`);
    const oursRuns = threadCounts.map((count) => runWorker(name, steps, count, promptTokens));
    for (const run of oursRuns) console.log(`${name} engine: ${JSON.stringify(run)}`);
    // PyTorch samples fastest on 1 thread (engine-baseline.md); training is tried on 1 and N threads.
    const torchSamples = (count: number) => count === 1 && promptTokens === 1;
    const torchRuns = withTorch
      ? threadCounts.map((count) => runTorch(name, steps, count, coretype, torchSamples(count)))
      : [];
    for (const run of torchRuns) console.log(`${name} torch: ${JSON.stringify(run)}`);
    const slowBlas = torchRuns.find((run) => run.blasGflops < 20);
    if (slowBlas) {
      console.log(
        `WARNING: PyTorch's BLAS does ${fmt(slowBlas.blasGflops, 1)} GFLOP/s ` +
          `on 256^3 (${slowBlas.threads} thread): a reference BLAS, not OpenBLAS; ` +
          'install it with apt-get install -y --no-install-recommends libopenblas0-pthread',
      );
    }
    const ours = bestRun(oursRuns);
    const torch = withTorch ? bestRun(torchRuns) : undefined;
    const torchSampled = torch !== undefined && promptTokens === 1;
    rows.push([
      `${name} (${(oursRuns[0]!.parameters / 1e6).toFixed(2)}M)`,
      `${fmt(ours.train.trainStepSeconds, 3)} (${ours.train.threads}t)`,
      kilo(ours.train.trainTokensPerSecond),
      torch ? `${fmt(torch.train.trainStepSeconds, 3)} (${torch.train.threads}t)` : '-',
      torch ? `${fmt(torch.train.trainStepSeconds / ours.train.trainStepSeconds)}x` : '-',
      `${kilo(ours.sample.sampleTokensPerSecond)} (${ours.sample.threads}t, ${promptTokens}+${ours.sample.sampleNewTokens})`,
      torchSampled ? `${kilo(torch.sample.sampleTokensPerSecond)} (${torch.sample.threads}t)` : '-',
      torchSampled ? `${fmt(ours.sample.sampleTokensPerSecond / torch.sample.sampleTokensPerSecond)}x` : '-',
      `${fmt(Math.max(...oursRuns.map((run) => run.peakRssMB)), 0)} MB`,
      torch ? `${fmt(Math.max(...torchRuns.map((run) => run.peakRssMB)), 0)} MB` : '-',
    ]);
    const ours1 = oursRuns.find((run) => run.threads === 1)!;
    const torch1 = torchRuns.find((run) => run.threads === 1);
    cpuRows.push([
      name,
      fmt(ours1.trainCpuSeconds, 3),
      torch1 ? fmt(torch1.trainCpuSeconds, 3) : '-',
      torch1 ? `${fmt(torch1.trainCpuSeconds / ours1.trainCpuSeconds)}x` : '-',
      kilo(ours1.sampleTokensPerCpuSecond),
      torch1 && promptTokens === 1 ? kilo(torch1.sampleTokensPerCpuSecond) : '-',
      torch1 && promptTokens === 1 ? `${fmt(ours1.sampleTokensPerCpuSecond / torch1.sampleTokensPerCpuSecond)}x` : '-',
    ]);
  }
  console.log('\nWall clock (best thread count of each side; ratios > 1 mean the engine is faster):');
  printTable(
    [
      'config',
      'train s/step',
      'train tok/s',
      'torch s/step',
      'train ratio',
      'sample tok/s',
      'torch sample',
      'sample ratio',
      'peak RSS',
      'torch RSS',
    ],
    rows,
  );
  console.log('\nOne thread each, CPU time (less sensitive to other processes on the machine):');
  printTable(
    [
      'config',
      'train CPU s/step',
      'torch CPU s/step',
      'train ratio',
      'sample tok/CPU s',
      'torch tok/CPU s',
      'sample ratio',
    ],
    cpuRows,
  );
  console.log(
    `\nGEMM, engine kernels (${kernels.name}, ${kernels.threads} thread(s)); ` +
      `forward = inp . W^T, dinp = dout . W, dweight = dout^T . inp:`,
  );
  // Machine peak from engine-baseline.md: OpenBLAS SkylakeX reaches about 265 GFLOP/s a core here.
  const peak = PEAK_GFLOPS_PER_CORE * kernels.threads;
  printTable(
    ['shape', 'GFLOP/s', `% of peak (${peak})`],
    benchGemm(kernels).map((g) => [g.shape, fmt(g.gflops, 1), `${fmt((100 * g.gflops) / peak, 0)}%`]),
  );
  console.log('\nParity with PyTorch (committed fixtures of scripts/make-torch-fixture.py, float64 reference):');
  const parityRows: string[][] = [];
  for (const fixture of ['tiny-qwen2', 'tiny-llama']) {
    const directory = fileURLToPath(new URL(`../src/engine/__fixtures__/${fixture}`, import.meta.url));
    const parity = await torchParity(directory, kernels);
    parityRows.push([
      fixture,
      parity.logits.toExponential(2),
      parity.gradients.toExponential(2),
      parity.logits < 1e-4 && parity.gradients < 1e-4 ? 'ok' : 'FAIL',
    ]);
  }
  printTable(['fixture', 'logits max rel err', 'grads max rel err', '< 1e-4'], parityRows);
  console.log(
    `\nload average at end: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
}

/** Prints a Markdown table with padded columns. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main().catch((error: unknown) => {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`bench:engine: ${errorMessage(error)}`);
    process.exitCode = 2;
  });
}
