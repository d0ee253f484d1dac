/**
 * `npm run bench:rl`: where the time of an RL round of `npm run demo` goes, and how far the round's
 * sampling and training are from the engine's own benchmarks on the same model.
 *
 * It builds or reuses the demo preset's data and warm-started base (the demo's cache; the first
 * run builds them, ~5 min), runs --warmup + --rounds rounds of the demo preset (MT-GRPO, same G,
 * questions per step, budgets, mu; no checkpoints) with the step profile on (src/step-profile.ts),
 * and prints one round's wall time split by phase (the mean of the measured rounds; idle is the
 * remainder), then in the same process the sampling and training benchmarks of bench:engine on
 * the same model (training on the RL step's token count: its sequences at their mean length, one
 * batch without padding), and the two ratios of issue 16: RL sampling tok/s over the sampling
 * benchmark's (target >= 0.60) and RL training tok/s over the training benchmark's (>= 0.80).
 * A second sampling row runs the benchmark from prompts of the round's mean first-prompt length
 * (bench:engine's --prompt-tokens workload: as many new tokens as the context leaves, <= 256), so
 * the gap splits into the workload's longer contexts and the loop around the model.
 *
 * Options: --rounds 4  --warmup 1  --bench-steps 3  --out DIR (default a temporary directory)
 *          --key.path=value (config overrides on top of the demo preset, as `turnwise demo` takes)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalBackend } from '../src/backends/local.js';
import { splitOverrides } from '../src/cli/cli-args.js';
import { TASKS, taskOf } from '../src/cli/tasks.js';
import { ConfigError, errorMessage } from '../src/errors.js';
import {
  type PHASE_NAMES,
  type RoundProfile,
  startProfile,
  stopProfile,
  THIN_DECODE_ROWS,
} from '../src/step-profile.js';
import { DEMO_PRESET } from '../src/tasks/search-qa/presets.js';
import { loadConfig } from '../src/train/config-load.js';
import { startingPoint, trainRun } from '../src/train/pipeline.js';
import { EnginePolicy } from '../src/engine/engine-policy.js';
import {
  longPromptWorkload,
  measureSampling,
  measureTraining,
  printTable,
  SAMPLE_SEQUENCES,
  SAMPLE_TOKENS,
} from './bench-engine.js';

const SAMPLING_TARGET = 0.6;
const TRAINING_TARGET = 0.8;

/** The rows of the split: the profile's phases (tool shown inside env) and the remainder. */
const PHASE_LABELS: Record<(typeof PHASE_NAMES)[number], string> = {
  admit: 'admit (copy a shared prompt into a slot: fork)',
  prefill: 'prefill (decoder rows of prompts and tool results)',
  decode: 'decode (decoder rows of drawn tokens)',
  sampler: 'sampler JS (draws, stop checks, bookkeeping)',
  render: 'render (chat template, detokenise)',
  env: 'environment (env.step, excluding tools)',
  tool: 'tool (wiki_search on the main thread; a worker only posts)',
  reward: 'reward (rubric)',
  advantage: 'advantage (+ credit checks, metrics)',
  datum: 'datum building',
  forwardBackward: 'forward/backward (+ loss)',
  optimizer: 'optimiser (AdamW)',
};

/**
 * Records the prompt length of every rollout's first sample request (a session not seen before,
 * or a request without one), and of every request, by wrapping EnginePolicy.sample during the run.
 */
function recordFirstPrompts(): { lengths: number[]; everyTurn: number[]; restore: () => void } {
  const original = EnginePolicy.prototype.sample;
  const sessions = new Set<string>();
  const lengths: number[] = [];
  const everyTurn: number[] = [];
  EnginePolicy.prototype.sample = function (this: EnginePolicy, ...args: Parameters<EnginePolicy['sample']>) {
    const session = args[0].sessionId;
    everyTurn.push(args[0].tokens.length);
    if (session === undefined || !sessions.has(session)) lengths.push(args[0].tokens.length);
    if (session !== undefined) sessions.add(session);
    return original.apply(this, args);
  };
  return { lengths, everyTurn, restore: () => Object.assign(EnginePolicy.prototype, { sample: original }) };
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
const kilo = (value: number) => `${(value / 1000).toFixed(1)}k`;

async function main(): Promise<number> {
  const { overrides, rest } = splitOverrides(process.argv.slice(2), ['rounds', 'warmup', 'out']);
  const { values } = parseArgs({
    args: rest,
    options: {
      rounds: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '1' },
      'bench-steps': { type: 'string', default: '3' },
      out: { type: 'string' },
    },
  });
  const count = (name: string, text: string, minimum: number) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < minimum)
      throw new ConfigError(`--${name} ${JSON.stringify(text)}: expected an integer >= ${minimum}`);
    return value;
  };
  const rounds = count('rounds', values.rounds, 1);
  const warmup = count('warmup', values.warmup, 0);
  const benchSteps = count('bench-steps', values['bench-steps'], 1);
  const out = values.out ?? mkdtempSync(join(tmpdir(), 'turnwise-bench-rl-'));
  const log = (message: string) => console.error(message);

  const preset = DEMO_PRESET as { rl: { mu: number } };
  const config = await loadConfig({
    base: { ...DEMO_PRESET, runDir: join(out, 'mt-grpo') } as Record<string, unknown>,
    overrides: [
      `--rl.steps=${(warmup + rounds) * preset.rl.mu}`,
      '--checkpoint.every=0',
      '--log.trajectoriesEvery=0',
      ...overrides,
    ],
    tasks: TASKS,
  });
  if (config.backend.kind !== 'local')
    throw new ConfigError(`bench:rl profiles the local engine; backend.kind ${config.backend.kind} is not local`);
  if (config.rl.maxStaleness !== 0)
    throw new ConfigError('bench:rl splits rounds that do not overlap; rl.maxStaleness must be 0');
  console.log(`load average at start: ${load()} (other processes share these cores; figures scale with it)`);
  const definition = taskOf(config);
  const task = await definition.open(config, { log });
  try {
    const { weightsFrom: baseDir } = await startingPoint(config, definition, task, { log });
    const { rl } = config;
    console.log(
      `demo preset: ${config.advantage.kind}, G ${rl.groupSize} x ${rl.questionsPerStep} questions, ` +
        `budget ${rl.maxCompletionTokens}, mu ${rl.mu}, concurrency ${rl.concurrency}; ` +
        `${warmup} warm-up + ${rounds} measured round(s); base ${baseDir}`,
    );
    const profile = startProfile();
    const firstPrompts = recordFirstPrompts();
    const run = await trainRun(config, task, baseDir, { quiet: true }).finally(firstPrompts.restore);
    stopProfile();
    const backend = run.backend;
    if (!(backend instanceof LocalBackend)) throw new ConfigError('bench:rl needs the local backend');
    const measured = profile.rounds.slice(warmup);
    if (measured.length === 0) throw new ConfigError(`the run ended after ${profile.rounds.length} round(s)`);
    printSplit(measured);

    // The engine's benchmarks on the same model (its weights as trained; the workloads are random tokens).
    const model = backend.model;
    const trainTokens = mean(measured.map((round) => round.counts.trainTokens / round.counts.trainSteps));
    const trainSequences = mean(measured.map((round) => round.counts.trainSequences / round.counts.trainSteps));
    const length = Math.max(1, Math.round(trainTokens / trainSequences));
    const batch = Math.max(1, Math.round(trainSequences));
    const sampling = await measureSampling(model);
    const promptTokens = Math.max(1, Math.round(mean(firstPrompts.lengths)));
    const longSampling = await measureSampling(model, longPromptWorkload(model, promptTokens));
    const training = measureTraining(model, batch, length, benchSteps);
    await backend.close();

    const rlSampling = mean(measured.map((round) => round.counts.sampledTokens / round.sampleSeconds));
    const rlTraining = mean(
      measured.map(
        (round) => round.counts.trainTokens / (round.seconds.forwardBackward + round.seconds.optimizer || Infinity),
      ),
    );
    console.log(`\nRL against the engine's benchmarks on the same model (${model.layout.parameterCount} parameters):`);
    printTable(
      ['', 'RL round', 'benchmark', 'ratio', 'target'],
      [
        [
          'sampling tok/s',
          kilo(rlSampling),
          `${kilo(sampling.tokensPerSecond)} (${SAMPLE_SEQUENCES} x ${SAMPLE_TOKENS} new)`,
          (rlSampling / sampling.tokensPerSecond).toFixed(2),
          `>= ${SAMPLING_TARGET.toFixed(2)}`,
        ],
        [
          'sampling tok/s, RL-length prompts',
          kilo(rlSampling),
          `${kilo(longSampling.tokensPerSecond)} (${SAMPLE_SEQUENCES} x ${longSampling.newTokens} new ` +
            `after ${promptTokens})`,
          (rlSampling / longSampling.tokensPerSecond).toFixed(2),
          '',
        ],
        [
          'training tok/s',
          kilo(rlTraining),
          `${kilo(training.tokensPerSecond)} (${batch} x ${length})`,
          (rlTraining / training.tokensPerSecond).toFixed(2),
          `>= ${TRAINING_TARGET.toFixed(2)}`,
        ],
      ],
    );
    // Per CPU second (both kernel threads counted): what other processes' load changes least.
    const rlSamplingCpu = mean(measured.map((round) => round.counts.sampledTokens / round.sampleCpuSeconds));
    const rlTrainingCpu = mean(
      measured.map((round) => round.counts.trainTokens / (round.cpuSeconds - round.sampleCpuSeconds)),
    );
    const trainingCpu = (batch * length) / training.cpuSeconds;
    console.log("\nThe same per process CPU second (all threads; less sensitive to the machine's other load):");
    printTable(
      ['', 'RL round', 'benchmark', 'ratio'],
      [
        [
          'sampling tok/CPU s',
          kilo(rlSamplingCpu),
          kilo(sampling.tokensPerCpuSecond),
          (rlSamplingCpu / sampling.tokensPerCpuSecond).toFixed(2),
        ],
        [
          'sampling tok/CPU s, RL-length prompts',
          kilo(rlSamplingCpu),
          kilo(longSampling.tokensPerCpuSecond),
          (rlSamplingCpu / longSampling.tokensPerCpuSecond).toFixed(2),
        ],
        ['training tok/CPU s', kilo(rlTrainingCpu), kilo(trainingCpu), (rlTrainingCpu / trainingCpu).toFixed(2)],
      ],
    );
    console.log(
      "\nRL sampling tok/s: sampled tokens / the round's sampling wall time (rollouts, tools and rewards: the " +
        "demo's time/sample_seconds); RL training tok/s: tokens given to forwardBackward / (forward/backward + " +
        `optimiser); training benchmark: one batch of ${batch} random sequences of ${length} tokens (the RL ` +
        "step's token count at its mean length, no padding), forward + backward + AdamW, median of " +
        `${benchSteps} steps; RL training CPU: the round's CPU time after its sampling; RL-length prompts: ` +
        `${promptTokens} tokens, the mean first prompt of the run's ${firstPrompts.lengths.length} rollouts ` +
        `(${promptTokens - 1} shared by the ${SAMPLE_SEQUENCES} sequences, prefilled once and forked); ` +
        `the prompt of every turn (earlier turns and tool results included) is ` +
        `${mean(firstPrompts.everyTurn).toFixed(0)} tokens on average`,
    );
    console.log(`load average at end: ${load()}`);
    return 0;
  } finally {
    task.close?.();
    if (values.out === undefined) rmSync(out, { recursive: true, force: true });
  }
}

/** One round's split: the mean of the measured rounds, per phase, then the counters. */
function printSplit(measured: RoundProfile[]): void {
  const wall = mean(measured.map((round) => round.wallSeconds));
  const phase = (name: (typeof PHASE_NAMES)[number]) => mean(measured.map((round) => round.seconds[name]));
  const rows: string[][] = [];
  let accounted = 0;
  for (const name of Object.keys(PHASE_LABELS) as Array<(typeof PHASE_NAMES)[number]>) {
    // The tool's time is a part of env.step's: shown on its own, env without it.
    const seconds = name === 'env' ? phase('env') - phase('tool') : phase(name);
    accounted += seconds;
    rows.push([PHASE_LABELS[name], seconds.toFixed(3), `${((100 * seconds) / wall).toFixed(1)}%`]);
  }
  const idle = wall - accounted;
  rows.push([
    'idle (event loop, rollout loop; the remainder)',
    idle.toFixed(3),
    `${((100 * idle) / wall).toFixed(1)}%`,
  ]);
  rows.push(['round (wall)', wall.toFixed(3), '100%']);
  console.log(`\nOne round (mean of ${measured.length} measured):`);
  printTable(['phase', 'seconds', 'share'], rows);

  const counter = (name: keyof RoundProfile['counts']) => mean(measured.map((round) => round.counts[name]));
  const sampleSeconds = mean(measured.map((round) => round.sampleSeconds));
  printTable(
    ['tokens and batches, per round', 'value'],
    [
      ['sampled tokens', counter('sampledTokens').toFixed(0)],
      ['sampling wall (s)', sampleSeconds.toFixed(3)],
      ['prefill rows', counter('prefillRows').toFixed(0)],
      ['prompt tokens reused (session, shared prefix)', counter('reusedTokens').toFixed(0)],
      ['decoder calls', counter('decoderSteps').toFixed(0)],
      ['decoding calls (feeding drawn tokens back)', counter('decodeSteps').toFixed(0)],
      ['mean decode rows per decoding call', (counter('decodeRows') / counter('decodeSteps')).toFixed(1)],
      [`decoding calls with < ${THIN_DECODE_ROWS} decode rows`, counter('thinDecodeSteps').toFixed(0)],
      ['tool calls', counter('toolCalls').toFixed(0)],
      ['tool seconds in a worker thread (overlap the phases)', (counter('workerToolMilliseconds') / 1000).toFixed(3)],
      ['training sequences per step', (counter('trainSequences') / counter('trainSteps')).toFixed(0)],
      ['training tokens per step', (counter('trainTokens') / counter('trainSteps')).toFixed(0)],
      ['optimiser steps', counter('trainSteps').toFixed(0)],
    ],
  );
}

process.exitCode = await main().catch((error: unknown) => {
  // parseArgs refuses an unknown or malformed flag with a TypeError carrying an ERR_PARSE_ARGS code.
  const badFlag = String((error as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS');
  if (!(error instanceof ConfigError) && !badFlag) throw error;
  const expected = badFlag ? '; expected --rounds N, --warmup N, --bench-steps N, --out DIR, --key.path=value' : '';
  console.error(`bench:rl: ${errorMessage(error)}${expected}`);
  return 2;
});
