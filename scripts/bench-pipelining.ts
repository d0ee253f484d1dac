/**
 * Step time of a short RL run against `turnwise serve` on loopback with injected network latency
 * (`--faults latency=MS`: every Tinker call answered MS later), in three modes:
 *
 *   sequential   forward_backward awaited before optim_step is sent, on-policy (as before pipelining)
 *   pipelined    optim_step submitted right after forward_backward (one round trip less a step)
 *   stale=1      pipelined, and rl.maxStaleness=1: the next round samples while this one trains
 *
 * Each mode gets a fresh server process (`turnwise serve --test-backend bigram`, whose compute is
 * negligible, so the table measures round trips). Prints seconds per optimiser step (steady state:
 * from step 1's end to the last step's end) and the ratio to sequential, then the same run on the
 * local engine in process (a small random transformer, no latency) on-policy and with
 * maxStaleness=1, where sampling and training share the CPU, then the machine load.
 *
 *   npx tsx scripts/bench-pipelining.ts [--latency-ms 200] [--steps 6] [--group-size 4] [--questions 2]
 *   npm run bench:pipelining
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Backend } from '../src/backends/backend.js';
import { createLocalBackend } from '../src/backends/create-local-backend.js';
import { TinkerBackend } from '../src/backends/tinker/tinker-backend.js';
import { resolveConfig } from '../src/train/config-load.js';
import { readJsonLines, type StepMetrics } from '../src/train/metrics-log.js';
import { runRl } from '../src/train/rl-loop.js';
import { BigramTestBackend } from '../src/testing/bigram-test-backend.js';
import { createToyTask } from '../src/testing/toy-task.js';

const { values } = parseArgs({
  options: {
    'latency-ms': { type: 'string', default: '200' },
    steps: { type: 'string', default: '6' },
    'group-size': { type: 'string', default: '4' },
    questions: { type: 'string', default: '2' },
  },
});
const LATENCY_MS = Number(values['latency-ms']);
const STEPS = Number(values.steps);
const MODEL = 'bench/bigram';

/** Starts `turnwise serve` as its own process; resolves with its URL. */
function startServe(): Promise<{ url: string; child: ChildProcess }> {
  const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const args = ['serve', '--test-backend', 'bigram', '--port', '0', '--model-name', MODEL];
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args, '--faults', `latency=${LATENCY_MS}`], {
    env: { ...process.env, TURNWISE_CLI: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (part: Buffer) => {
      output += part.toString();
      const match = / on (http:\/\/[^ ]+) /.exec(output);
      if (match) resolve({ url: match[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`turnwise serve exited with code ${code}: ${output}`)));
  });
}

interface Mode {
  name: string;
  pipelineSubmit: boolean;
  maxStaleness: number;
}

interface Measured {
  perStep: number;
  total: number;
  staleness: string;
}

/** One short run in `mode` through `turnwise serve`. */
async function measureServe(mode: Mode): Promise<Measured> {
  const { url, child } = await startServe();
  try {
    const tokens = new BigramTestBackend({ seed: 0 });
    const backend = await TinkerBackend.connect({
      baseUrl: url,
      baseModel: MODEL,
      tokenizer: tokens.tokenizer,
      renderer: tokens.renderer,
      pipelineSubmit: mode.pipelineSubmit,
      futureBackoffMs: 5,
    });
    return await measure(mode, backend);
  } finally {
    child.kill('SIGTERM');
  }
}

/** One short run in `mode` on the local engine in process (a small random transformer). */
async function measureLocal(mode: Mode): Promise<Measured> {
  const tokens = new BigramTestBackend({ seed: 0 });
  const directory = mkdtempSync(join(tmpdir(), 'turnwise-bench-pipelining-local-'));
  try {
    const backend = await createLocalBackend({
      modelConfig: {
        hidden_size: 256,
        num_hidden_layers: 4,
        num_attention_heads: 4,
        intermediate_size: 704,
        vocab_size: tokens.tokenizer.vocabSize,
        max_position_embeddings: 2048,
      },
      seed: 1,
      tokenizer: tokens.tokenizer,
      renderer: tokens.renderer,
      checkpointDirectory: directory,
    });
    return await measure(mode, backend);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Steady-state seconds per step, the whole run's seconds, and each step's staleness. */
async function measure(mode: Mode, backend: Backend): Promise<Measured> {
  const runDir = mkdtempSync(join(tmpdir(), 'turnwise-bench-pipelining-'));
  try {
    const config = resolveConfig({
      name: `bench-${mode.name}`,
      runDir,
      seed: 3,
      rl: {
        steps: STEPS,
        groupSize: Number(values['group-size']),
        questionsPerStep: Number(values.questions),
        mu: 1,
        maxCompletionTokens: 24,
        concurrency: 16,
        maxStaleness: mode.maxStaleness,
      },
      optim: { lr: 0.3, warmupSteps: 1, gradClip: 5 },
      checkpoint: { every: 0 },
      log: { trajectoriesEvery: 0 },
    });
    const started = performance.now();
    await runRl({ config, backend, task: createToyTask(), progress: null });
    const total = (performance.now() - started) / 1000;
    await backend.close();
    const metrics = readJsonLines<StepMetrics>(join(runDir, 'metrics.jsonl'));
    const perStep = (metrics.at(-1)!.elapsed - metrics[0]!.elapsed) / (metrics.length - 1);
    return { perStep, total, staleness: metrics.map((row) => row['rl/staleness']).join('') };
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

function printRow(name: string, result: Measured, baseline: number): void {
  console.log(
    `${name.padEnd(12)} ${result.perStep.toFixed(3).padStart(15)} ${result.total.toFixed(2).padStart(7)} ` +
      `${(baseline / result.perStep).toFixed(2).padStart(14)}x   ${result.staleness}`,
  );
}

const modes: Mode[] = [
  { name: 'sequential', pipelineSubmit: false, maxStaleness: 0 },
  { name: 'pipelined', pipelineSubmit: true, maxStaleness: 0 },
  { name: 'stale=1', pipelineSubmit: true, maxStaleness: 1 },
];
console.log(`turnwise serve (bigram test backend) with ${LATENCY_MS} ms per call; ${STEPS} steps of mu=1\n`);
console.log('mode         s/step (steady)   run s   vs sequential   staleness per step');
let baseline = 0;
for (const mode of modes) {
  const result = await measureServe(mode);
  if (baseline === 0) baseline = result.perStep;
  printRow(mode.name, result, baseline);
}
console.log('\nlocal engine in process (4 layers, hidden 256), no latency\n');
console.log('mode         s/step (steady)   run s     vs on-policy   staleness per step');
const onPolicy = await measureLocal({ name: 'on-policy', pipelineSubmit: false, maxStaleness: 0 });
printRow('on-policy', onPolicy, onPolicy.perStep);
printRow('stale=1', await measureLocal({ name: 'stale=1', pipelineSubmit: false, maxStaleness: 1 }), onPolicy.perStep);
console.log(`\nload: ${execFileSync('uptime').toString().trim()}`);
